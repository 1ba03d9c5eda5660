//! The OAuth scopes each CRM operation needs, and the scope sets applications usually ask for.
//!
//! Zoho answers `401 OAUTH_SCOPE_MISMATCH` when the token lacks a scope, without saying which;
//! the SDK adds the missing requirement to that error's message (see [`required`]). The same
//! table is written into `spec/crm-v2.yaml` as `x-zohocrm-scopes` on every operation (and into
//! each generated method's documentation); a test keeps the spec, this table and the simulator in
//! agreement.
//!
//! ```
//! use zohocrm::scopes::{self, Scopes};
//! // Ask for what the app does: here, read everything and search.
//! let asked = Scopes::READ_ONLY;
//! assert!(asked.contains(&"ZohoSearch.securesearch.READ"));
//! // search_records needs a records READ scope *and* the search scope.
//! let needs = scopes::required("search_records").unwrap();
//! assert_eq!(needs.len(), 2);
//! assert!(scopes::satisfied("search_records", "Leads", asked));
//! assert!(!scopes::satisfied("insert_records", "Leads", asked));
//! ```

/// One requirement: any one of these scopes meets it. `{module}` stands for the module's API name
/// (`ZohoCRM.modules.{module}.READ` → `ZohoCRM.modules.Leads.READ`).
pub type AnyOf = &'static [&'static str];

/// Scope sets for [`crate::Zoho::authorization_request`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Scopes;

impl Scopes {
    /// Read everything the CRM client reads: users, org, metadata, records, search.
    pub const READ_ONLY: &'static [&'static str] = &[
        "ZohoCRM.users.READ",
        "ZohoCRM.org.READ",
        "ZohoCRM.settings.READ",
        "ZohoCRM.modules.READ",
        "ZohoSearch.securesearch.READ",
    ];
    /// Everything the CRM client does: read and write users and records, read org and metadata,
    /// search.
    pub const FULL_CRM: &'static [&'static str] = &[
        "ZohoCRM.users.ALL",
        "ZohoCRM.org.ALL",
        "ZohoCRM.settings.ALL",
        "ZohoCRM.modules.ALL",
        "ZohoSearch.securesearch.READ",
    ];
    /// Find records: read records and use Zoho's search.
    pub const SEARCH: &'static [&'static str] = &["ZohoCRM.modules.READ", "ZohoSearch.securesearch.READ"];
}

const USERS_READ: AnyOf = &["ZohoCRM.users.ALL", "ZohoCRM.users.READ"];
const USERS_CREATE: AnyOf = &["ZohoCRM.users.ALL", "ZohoCRM.users.CREATE"];
const USERS_UPDATE: AnyOf = &["ZohoCRM.users.ALL", "ZohoCRM.users.UPDATE"];
const USERS_DELETE: AnyOf = &["ZohoCRM.users.ALL", "ZohoCRM.users.DELETE"];
const ORG_READ: AnyOf = &["ZohoCRM.org.ALL", "ZohoCRM.org.READ"];
const MODULES_META: AnyOf =
    &["ZohoCRM.settings.ALL", "ZohoCRM.settings.READ", "ZohoCRM.settings.modules.ALL", "ZohoCRM.settings.modules.READ"];
const FIELDS_META: AnyOf =
    &["ZohoCRM.settings.ALL", "ZohoCRM.settings.READ", "ZohoCRM.settings.fields.ALL", "ZohoCRM.settings.fields.READ"];
const LAYOUTS_META: AnyOf =
    &["ZohoCRM.settings.ALL", "ZohoCRM.settings.READ", "ZohoCRM.settings.layouts.ALL", "ZohoCRM.settings.layouts.READ"];
const RECORDS_READ: AnyOf =
    &["ZohoCRM.modules.ALL", "ZohoCRM.modules.READ", "ZohoCRM.modules.{module}.ALL", "ZohoCRM.modules.{module}.READ"];
const RECORDS_CREATE: AnyOf = &[
    "ZohoCRM.modules.ALL",
    "ZohoCRM.modules.CREATE",
    "ZohoCRM.modules.WRITE",
    "ZohoCRM.modules.{module}.ALL",
    "ZohoCRM.modules.{module}.CREATE",
    "ZohoCRM.modules.{module}.WRITE",
];
const RECORDS_UPDATE: AnyOf = &[
    "ZohoCRM.modules.ALL",
    "ZohoCRM.modules.UPDATE",
    "ZohoCRM.modules.WRITE",
    "ZohoCRM.modules.{module}.ALL",
    "ZohoCRM.modules.{module}.UPDATE",
    "ZohoCRM.modules.{module}.WRITE",
];
const RECORDS_DELETE: AnyOf = &[
    "ZohoCRM.modules.ALL",
    "ZohoCRM.modules.DELETE",
    "ZohoCRM.modules.WRITE",
    "ZohoCRM.modules.{module}.ALL",
    "ZohoCRM.modules.{module}.DELETE",
    "ZohoCRM.modules.{module}.WRITE",
];
const SEARCH: AnyOf = &["ZohoSearch.securesearch.ALL", "ZohoSearch.securesearch.READ"];

/// Every CRM v2 operation (its `operationId`) and what it needs.
const TABLE: &[(&str, &[AnyOf])] = &[
    ("list_users", &[USERS_READ]),
    ("get_user", &[USERS_READ]),
    ("add_users", &[USERS_CREATE]),
    ("update_users", &[USERS_UPDATE]),
    ("update_user", &[USERS_UPDATE]),
    ("delete_user", &[USERS_DELETE]),
    ("get_org", &[ORG_READ]),
    ("list_modules", &[MODULES_META]),
    ("get_module", &[MODULES_META]),
    ("list_fields", &[FIELDS_META]),
    ("list_layouts", &[LAYOUTS_META]),
    ("list_records", &[RECORDS_READ]),
    ("get_record", &[RECORDS_READ]),
    ("list_deleted_records", &[RECORDS_READ]),
    ("search_records", &[RECORDS_READ, SEARCH]),
    ("insert_records", &[RECORDS_CREATE]),
    ("upsert_records", &[RECORDS_CREATE]),
    ("update_records", &[RECORDS_UPDATE]),
    ("update_record", &[RECORDS_UPDATE]),
    ("delete_records", &[RECORDS_DELETE]),
    ("delete_record", &[RECORDS_DELETE]),
];

const COQL: AnyOf = &["ZohoCRM.coql.ALL", "ZohoCRM.coql.READ"];

/// The calls of the hand-written CRM v8 client (`zohocrm::client_v8::CrmV8Client`, named by
/// their v8 `operationId`) and what each needs: the same as its v2 counterpart in [`TABLE`].
const V8_SAME_AS: &[(&str, &str)] = &[
    ("get_records", "list_records"),
    ("get_record", "get_record"),
    ("record_count", "list_records"),
    ("create_records", "insert_records"),
    ("update_records", "update_records"),
    ("upsert_records", "upsert_records"),
    ("delete_records", "delete_records"),
    ("get_users", "list_users"),
    ("get_modules", "list_modules"),
    ("get_fields", "list_fields"),
];

/// The scopes a CRM operation (its `operationId`, e.g. `list_records`, or a v8 call of
/// `zohocrm::client_v8::CrmV8Client` such as `create_records` or `coql`) needs: every
/// requirement must be met by one of its scopes. `None` for an unknown operation.
pub fn required(operation: &str) -> Option<&'static [AnyOf]> {
    if operation == "coql" {
        return Some(&[COQL, RECORDS_READ]);
    }
    let operation = V8_SAME_AS.iter().find(|(v8, _)| *v8 == operation).map_or(operation, |(_, v2)| *v2);
    TABLE.iter().find(|(op, _)| *op == operation).map(|(_, needs)| *needs)
}

/// Every CRM v2 operation in the table.
pub fn operations() -> impl Iterator<Item = &'static str> {
    TABLE.iter().map(|(op, _)| *op)
}

/// Whether `granted` scopes (case-insensitive, as Zoho compares them) let `operation` run on
/// `module` (ignored by operations that take none).
pub fn satisfied(operation: &str, module: &str, granted: &[&str]) -> bool {
    let Some(needs) = required(operation) else {
        return false;
    };
    needs.iter().all(|any| {
        any.iter().any(|scope| {
            let scope = scope.replace("{module}", module);
            granted.iter().any(|g| g.eq_ignore_ascii_case(&scope))
        })
    })
}

/// `a, b or c`.
fn one_of(any: AnyOf) -> String {
    match any {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What `operation` needs, in words (`ZohoCRM.users.ALL or ZohoCRM.users.READ`).
pub fn describe(operation: &str) -> Option<String> {
    let needs = required(operation)?;
    Some(needs.iter().map(|any| one_of(any)).collect::<Vec<_>>().join("; and "))
}

/// Adds the needed scopes to Zoho's `OAUTH_SCOPE_MISMATCH`, which names none.
pub(crate) fn explain(operation: &str, error: crate::Error) -> crate::Error {
    match error {
        crate::Error::Api { operation: op, status, code, message, details } if code == "OAUTH_SCOPE_MISMATCH" => {
            let message = match describe(operation) {
                Some(needs) => format!(
                    "{message}; {operation} needs {needs} — ask for it in the authorization request (see zohocrm::scopes::Scopes) and have the user consent again"
                ),
                None => message,
            };
            crate::Error::Api { operation: op, status, code, message, details }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_cover_what_they_promise() {
        for op in operations() {
            assert!(satisfied(op, "Leads", Scopes::FULL_CRM), "{op}");
        }
        for op in ["list_users", "get_org", "list_modules", "list_fields", "list_records", "search_records"] {
            assert!(satisfied(op, "Leads", Scopes::READ_ONLY), "{op}");
        }
        assert!(!satisfied("insert_records", "Leads", Scopes::READ_ONLY));
        assert!(satisfied("search_records", "Leads", Scopes::SEARCH));
        assert!(satisfied("list_records", "Leads", &["zohocrm.modules.leads.read"]), "case-insensitive");
        assert!(!satisfied("list_records", "Contacts", &["ZohoCRM.modules.Leads.READ"]));
        assert!(!satisfied("no_such_op", "Leads", Scopes::FULL_CRM));
    }

    #[test]
    fn descriptions_read_as_sentences() {
        assert_eq!(describe("get_org").unwrap(), "ZohoCRM.org.ALL or ZohoCRM.org.READ");
        assert!(describe("search_records").unwrap().contains("; and ZohoSearch.securesearch.ALL or"));
    }
}
