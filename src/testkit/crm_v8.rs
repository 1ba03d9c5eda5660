//! What CRM v8 answers differently from v2: the v8 shapes of users, org, modules, fields,
//! layouts and records (every property of Zoho's v8 OpenAPI schemas, `$`-prefixed record
//! metadata as in Zoho's v7/v8 samples), `GET /{module}` with mandatory `fields`, the
//! 2,000-record limit of `page` and the page tokens past it, `actions/count`, and search's v8
//! `info`.
//!
//! The schema templates (`v8_shapes.json`) list every property of Zoho's `users`, `modules`,
//! `fields`, `layouts` and `Org` schemas (crm-oas `v8.0/*.json`, nested objects two levels
//! deep); a key the simulator has no value for answers `null` (`false` for booleans, `[]` for
//! arrays): Zoho's own answer for an unset property, as far as its samples show.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::crm::{Ctx, compare_values, fields_param, invalid_param, required_param, search_matcher, state_filter};
use super::server::Resp;
use super::state::{Org, PageToken, Rec};
use super::time::format_iso;

/// Most field API names one `GET /{module}` may ask for (Zoho: 50).
pub(crate) const MAX_FIELDS: usize = 50;
/// Records reachable with `page` alone (Zoho: 2,000); past it only `page_token` works.
pub(crate) const DISCRETE_LIMIT: usize = 2000;
/// How long a page token lives (Zoho: 24 hours).
pub(crate) const PAGE_TOKEN_MS: i64 = 24 * 3600 * 1000;

/// What kind of object is being shaped.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    User,
    Field,
    Layout,
    /// A record of this module.
    Record(&'static str),
}

fn templates() -> &'static Map<String, Value> {
    static T: OnceLock<Map<String, Value>> = OnceLock::new();
    T.get_or_init(|| serde_json::from_str(include_str!("v8_shapes.json")).unwrap_or_default())
}

fn template(name: &str) -> Option<&'static Map<String, Value>> {
    templates().get(name).and_then(Value::as_object)
}

/// Adds every key of `template` missing from `target`, recursing into objects both have.
fn merge_missing(target: &mut Map<String, Value>, template: &Map<String, Value>) {
    for (k, tv) in template {
        match (target.get_mut(k), tv) {
            (None, _) => {
                target.insert(k.clone(), tv.clone());
            }
            (Some(Value::Object(t)), Value::Object(tm)) => merge_missing(t, tm),
            _ => {}
        }
    }
}

/// `{name, id}` plus the user's `email`, as v8 answers user references.
fn user_ref(org: &Org, v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        let email = m
            .get("id")
            .and_then(Value::as_str)
            .and_then(|id| org.users.iter().find(|u| u.id == id))
            .map(|u| Value::String(u.email.clone()))
            .unwrap_or(Value::Null);
        m.entry("email").or_insert(email);
    }
    v
}

fn layout_id(org: &Org, module: &str) -> Value {
    org.module(module).and_then(|m| m.layouts.first()).and_then(|l| l.get("id")).cloned().unwrap_or(Value::Null)
}

/// A record key and how to make its default value.
type MetaKey = (&'static str, fn() -> Value);

/// The `$`-keys every v8 record carries (Zoho's v7/v8 search and get-records samples).
const RECORD_META: &[MetaKey] = &[
    ("$field_states", || Value::Null),
    ("$sharing_permission", || json!("full_access")),
    ("$locked_for_me", || json!(false)),
    ("$wizard_connection_path", || Value::Null),
    ("$zia_owner_assignment", || json!("owner_recommendation_unavailable")),
    ("$review_process", || json!({"approve": false, "reject": false, "resubmit": false})),
    ("$review", || Value::Null),
    ("$zia_visions", || Value::Null),
    ("$orchestration", || json!(false)),
    ("$in_merge", || json!(false)),
    ("$approval_state", || json!("approved")),
    ("$pathfinder", || json!(false)),
    ("$state", || json!("save")),
    ("$canvas_id", || Value::Null),
    ("$followers", || Value::Null),
    ("$followed", || json!(false)),
    ("Record_Status__s", || json!("Available")),
    ("Locked__s", || json!(false)),
];

/// A stored object as v8 answers it.
pub(crate) fn shape(org: &Org, kind: Shape, v: &Map<String, Value>) -> Value {
    let mut m = v.clone();
    match kind {
        Shape::User => {
            m.entry("name_format__s").or_insert_with(|| json!("Salutation,First Name,Last Name"));
            m.entry("number_separator").or_insert_with(|| json!("Comma"));
            m.entry("sort_order_preference__s").or_insert_with(|| json!("First Name,Last Name"));
            m.entry("status_reason__s").or_insert(Value::Null);
            m.entry("category").or_insert_with(|| json!("regular_user"));
            m.entry("sandboxDeveloper").or_insert(json!(false));
            if let Some(t) = template("user") {
                merge_missing(&mut m, t);
            }
        }
        Shape::Field => {
            if let Some(t) = template("field") {
                merge_missing(&mut m, t);
            }
        }
        Shape::Layout => {
            let name = m.get("name").cloned().unwrap_or(Value::Null);
            m.entry("display_label").or_insert_with(|| name.clone());
            m.entry("api_name").or_insert(name);
            m.entry("generated_type").or_insert_with(|| json!("default"));
            m.entry("mode").or_insert_with(|| json!("default"));
            m.entry("source").or_insert_with(|| json!("crm"));
            m.entry("show_business_card").or_insert(json!(false));
            if let Some(t) = template("layout") {
                merge_missing(&mut m, t);
            }
        }
        Shape::Record(module) => {
            for key in ["Owner", "Created_By", "Modified_By"] {
                if let Some(v) = m.get(key).filter(|v| v.is_object()) {
                    let r = user_ref(org, v);
                    m.insert(key.to_owned(), r);
                }
            }
            for (k, make) in RECORD_META {
                m.entry(*k).or_insert_with(make);
            }
            if m.contains_key("Email_Opt_Out") {
                m.entry("Unsubscribed_Mode").or_insert(Value::Null);
                m.entry("Unsubscribed_Time").or_insert(Value::Null);
            }
            if module == "Leads" {
                for k in ["Converted_Account", "Converted_Contact", "Converted_Deal", "Lead_Conversion_Time"] {
                    m.entry(k).or_insert(Value::Null);
                }
            }
            m.entry("Layout").or_insert_with(|| json!({"name": "Standard", "id": layout_id(org, module)}));
        }
    }
    Value::Object(m)
}

/// [`shape`] of a JSON value (non-objects are returned as they are).
pub(crate) fn shape_value(org: &Org, kind: Shape, v: &Value) -> Value {
    match v.as_object() {
        Some(m) => shape(org, kind, m),
        None => v.clone(),
    }
}

/// The org object as v8 answers it.
pub(crate) fn org_shape(org_json: &Value) -> Value {
    let mut m = org_json.as_object().cloned().unwrap_or_default();
    m.entry("max_per_page").or_insert(json!(200));
    m.entry("hipaa_compliance_enabled").or_insert(json!(false));
    m.entry("lite_users_enabled").or_insert(json!(false));
    m.entry("deletable_org_account").or_insert(json!(false));
    if let Some(zgid) = m.get("zgid").cloned() {
        m.entry("ezgid").or_insert(zgid);
    }
    if let Some(t) = template("org") {
        merge_missing(&mut m, t);
    }
    Value::Object(m)
}

/// A module object as v8 answers it; `detail`: the single-module answer (with its layouts).
fn module_shape(m: &super::state::OrgModule, detail: bool) -> Value {
    let mut v = m.json.as_object().cloned().unwrap_or_default();
    let supported = m.def.api_supported;
    let props: Vec<&str> = if supported {
        let mut p: Vec<&str> = RECORD_META.iter().map(|(k, _)| *k).filter(|k| k.starts_with('$')).collect();
        p.extend(m.def.system_keys.iter().copied().filter(|k| k.starts_with('$')));
        p
    } else {
        Vec::new()
    };
    v.insert("$properties".into(), json!(props));
    v.entry("$field_states").or_insert_with(|| json!([]));
    v.entry("per_page").or_insert(json!(200));
    v.entry("visible").or_insert(json!(m.def.status == "visible"));
    v.entry("filter_supported").or_insert(json!(supported));
    v.entry("kanban_view_supported").or_insert(json!(supported));
    v.entry("webform_supported").or_insert(json!(supported));
    v.entry("triggers_supported").or_insert(json!(supported));
    v.entry("activity_badge").or_insert_with(|| json!(if supported { "Enabled" } else { "Not_Supported" }));
    let display = m
        .def
        .display
        .first()
        .and_then(|d| m.fields.iter().find(|f| f.get("api_name").and_then(Value::as_str) == Some(*d)));
    v.entry("display_field").or_insert_with(|| match display {
        Some(f) => json!({"api_name": f.get("api_name"), "id": f.get("id")}),
        None => Value::Null,
    });
    if detail {
        let layouts: Vec<Value> = m
            .layouts
            .iter()
            .map(|l| json!({"display_label": l.get("name"), "name": l.get("name"), "id": l.get("id")}))
            .collect();
        v.insert("layouts".into(), json!(layouts));
    }
    if let Some(t) = template("module") {
        merge_missing(&mut v, t);
    }
    Value::Object(v)
}

/// `GET /crm/v8/settings/modules` (304 with `If-Modified-Since` as in v2).
pub(crate) fn list_modules(org: &Org, ctx: &Ctx<'_>) -> Resp {
    match ctx.if_modified_since() {
        Err(r) => r,
        Ok(Some(t)) if org.metadata_modified_s <= t => Resp::empty(304),
        Ok(_) => {
            Resp::json(200, &json!({"modules": org.modules.iter().map(|m| module_shape(m, false)).collect::<Vec<_>>()}))
        }
    }
}

/// `GET /crm/v8/settings/modules/{api_name}`.
pub(crate) fn get_module(org: &Org, name: &str) -> Resp {
    match org.module(name) {
        Some(m) => Resp::json(200, &json!({"modules": [module_shape(m, true)]})),
        None => super::crm::invalid_module(json!({"resource_path_index": 2})),
    }
}

fn discrete_limit() -> Resp {
    Resp::zoho_error(
        400,
        "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "You can only get the first 2000 records without using page_token param",
        json!({"limit": DISCRETE_LIMIT}),
    )
}

/// A refused page token. Zoho's exact answer is not documented: the simulator answers
/// `INVALID_DATA` naming the parameter, with why in `details.reason`.
fn bad_page_token(reason: &str, message: &str) -> Resp {
    Resp::zoho_error(400, "INVALID_DATA", message, json!({"param_name": "page_token", "reason": reason}))
}

/// Sort fields v8's Get Records accepts (Zoho: `id`, `Created_Time`, `Modified_Time`).
const SORTABLE: &[&str] = &["id", "Created_Time", "Modified_Time"];

/// `GET /crm/v8/{module}`: `fields` required (≤ 50), `per_page` ≤ 200, `page` for the first
/// 2,000 records, `page_token` past them.
pub(crate) fn list_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let Some(fields) = fields_param(ctx).filter(|f| !f.is_empty()) else {
        return required_param("fields");
    };
    if fields.len() > MAX_FIELDS {
        return Resp::zoho_error(
            400,
            "LIMIT_EXCEEDED",
            "Max field limit exceeded",
            json!({"param_name": "fields", "limit": MAX_FIELDS}),
        );
    }
    for f in &fields {
        if !f.eq_ignore_ascii_case("id") && org.field(module, f).is_none() {
            return Resp::zoho_error(
                400,
                "INVALID_DATA",
                "invalid data",
                json!({"param_name": "fields", "api_name": f}),
            );
        }
    }
    let token = ctx.req.query_param("page_token").filter(|t| !t.trim().is_empty());
    if token.is_some() && ctx.req.query_param("page").is_some() {
        return invalid_param("page_token", "page and page_token cannot be used together");
    }
    let (page, per_page) = match ctx.paging() {
        Ok(p) => p,
        Err(r) => return r,
    };
    let sort_by = match ctx.req.query_param("sort_by") {
        None => "id",
        Some(s) => match SORTABLE.iter().find(|k| k.eq_ignore_ascii_case(&s)) {
            Some(k) => k,
            None => return invalid_param("sort_by", "invalid data"),
        },
    };
    let desc = match ctx.req.query_param("sort_order").as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return invalid_param("sort_order", "invalid data"),
    };
    let ims = match ctx.if_modified_since() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let keep = match state_filter(ctx) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let ids: Option<Vec<String>> =
        ctx.req.query_param("ids").map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let mut sorted_fields: Vec<String> = fields.iter().map(|f| f.to_ascii_lowercase()).collect();
    sorted_fields.sort();
    sorted_fields.dedup();
    let q = |k: &str| ctx.req.query_param(k).unwrap_or_default();
    let query = format!(
        "{module}|{}|{sort_by}|{desc}|{per_page}|{}|{}|{}|{}",
        sorted_fields.join(","),
        q("converted"),
        q("approved"),
        q("ids"),
        ctx.req.header("if-modified-since").unwrap_or_default()
    );
    let offset = match &token {
        Some(t) => match org.page_tokens.get(t.trim()) {
            None => return bad_page_token("invalid", "the page token given seems to be invalid"),
            Some(pt) if pt.expires_ms <= ctx.now_ms => {
                return bad_page_token("expired", "the page token has expired");
            }
            Some(pt) if pt.query != query || !pt.email.eq_ignore_ascii_case(&ctx.me.email) => {
                return bad_page_token(
                    "mismatch",
                    "the page token belongs to another query; repeat the query it came from",
                );
            }
            Some(pt) => pt.offset,
        },
        None => {
            if page.saturating_mul(per_page) > DISCRETE_LIMIT {
                return discrete_limit();
            }
            (page - 1) * per_page
        }
    };
    let empty = Vec::new();
    let mut recs: Vec<&Rec> = org
        .records
        .get(module)
        .unwrap_or(&empty)
        .iter()
        .filter(|r| keep(r))
        .filter(|r| ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
        .collect();
    recs.sort_by(|a, b| {
        let o = if sort_by == "id" {
            a.id.len().cmp(&b.id.len()).then_with(|| a.id.cmp(&b.id))
        } else {
            compare_values(a.data.get(sort_by), b.data.get(sort_by)).then_with(|| a.id.cmp(&b.id))
        };
        if desc { o.reverse() } else { o }
    });
    if let Some(t) = ims {
        recs.retain(|r| r.modified_s > t);
        if recs.is_empty() {
            return Resp::empty(304);
        }
    }
    if offset >= recs.len() {
        return Resp::empty(204);
    }
    let end = (offset + per_page).min(recs.len());
    let more = end < recs.len();
    let data: Vec<Value> = recs[offset..end].iter().map(|r| super::crm::project(r, Some(&fields))).collect();
    let count = data.len();
    // Mint the tokens (and forget the ones a day past their expiry).
    let now = ctx.now_ms;
    org.page_tokens.retain(|_, t| t.expires_ms + PAGE_TOKEN_MS > now);
    let expires_ms = now + PAGE_TOKEN_MS;
    let mut mint = |offset: usize| {
        let value = super::state::random_hex(24);
        org.page_tokens
            .insert(value.clone(), PageToken { email: ctx.me.email.clone(), query: query.clone(), offset, expires_ms });
        value
    };
    let next = if more { Some(mint(end)) } else { None };
    let previous = if offset > 0 { Some(mint(offset.saturating_sub(per_page))) } else { None };
    let expiry = if next.is_some() || previous.is_some() {
        json!(format_iso(expires_ms.div_euclid(1000), org.offset_secs))
    } else {
        Value::Null
    };
    Resp::json(
        200,
        &json!({"data": data, "info": {
            "per_page": per_page,
            "next_page_token": next,
            "count": count,
            "sort_by": sort_by,
            "page": offset / per_page + 1,
            "previous_page_token": previous,
            "page_token_expiry": expiry,
            "sort_order": if desc { "desc" } else { "asc" },
            "more_records": more
        }}),
    )
}

/// One page of v8 search hits, `info` with `sort_by`/`sort_order` as Zoho's v7/v8 sample shows.
pub(crate) fn search_page(items: Vec<Value>, page: usize, per_page: usize) -> Resp {
    let start = (page - 1).saturating_mul(per_page);
    if start >= items.len() {
        return Resp::empty(204);
    }
    let end = (start + per_page).min(items.len());
    let slice = items[start..end].to_vec();
    Resp::json(
        200,
        &json!({"data": slice, "info": {
            "per_page": per_page,
            "count": end - start,
            "sort_by": "id",
            "page": page,
            "sort_order": "desc",
            "more_records": end < items.len()
        }}),
    )
}

/// `GET /crm/v8/{module}/actions/count`: `{"count": N}` of the records `criteria`, `email`,
/// `phone` or `word` select (all of them without one). `cvid` together with a search parameter
/// answers Zoho's `AMBIGUITY_DURING_PROCESSING`; `cvid` alone counts every record (the
/// simulator has no custom views).
pub(crate) fn count_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let matcher = match search_matcher(org, ctx, module) {
        Ok(m) => m,
        Err(r) => return r,
    };
    if matcher.is_some() && ctx.req.query_param("cvid").is_some() {
        let given: Vec<Value> = ["cvid", "criteria", "email", "phone", "word"]
            .iter()
            .filter(|p| ctx.req.query_param(p).is_some())
            .map(|p| json!({"param_name": p}))
            .collect();
        return Resp::zoho_error(
            400,
            "AMBIGUITY_DURING_PROCESSING",
            "Please use either Cvid or Search Params. Combination of both the params is not allowed",
            json!({"ambiguity_due_to": given}),
        );
    }
    let keep = match state_filter(ctx) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let n = org
        .records
        .get(module)
        .map(|v| v.iter().filter(|r| keep(r) && matcher.as_ref().is_none_or(|m| m(r))).count())
        .unwrap_or(0);
    Resp::json(200, &json!({"count": n}))
}
