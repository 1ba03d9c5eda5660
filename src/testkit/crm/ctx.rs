//! What every CRM handler shares (the bottom of `crm`): the request context [`Ctx`] (caller,
//! clock, API version, scopes), paging and `If-Modified-Since`, scope and permission checks,
//! record projection and filters, and Zoho's error envelopes.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::shape::{Shape, shape};
use crate::testkit::criteria;
use crate::testkit::state::{Org, Rec};
use crate::testkit::time::parse_if_modified_since;
use crate::testkit::wire::{Req, Resp};

/// Most records (or users) one write may carry.
pub(super) const MAX_WRITE: usize = 100;

/// Largest `per_page`.
pub(super) const MAX_PER_PAGE: usize = 200;

/// Record operation kinds, for scopes and permissions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Create,
    Update,
    Delete,
}

impl Kind {
    pub(super) fn scope(self) -> &'static str {
        match self {
            Kind::Read => "READ",
            Kind::Create => "CREATE",
            Kind::Update => "UPDATE",
            Kind::Delete => "DELETE",
        }
    }
    pub(super) fn permission(self) -> &'static str {
        match self {
            Kind::Read => "View",
            Kind::Create => "Create",
            Kind::Update => "Edit",
            Kind::Delete => "Delete",
        }
    }
}

pub(crate) fn has_scope(scopes: &[String], wanted: &[String]) -> bool {
    scopes.iter().any(|s| wanted.iter().any(|w| s.eq_ignore_ascii_case(w)))
}

pub(crate) fn record_scopes(module: &str, kind: Kind) -> Vec<String> {
    let mut v = vec![
        "ZohoCRM.modules.ALL".to_owned(),
        format!("ZohoCRM.modules.{}", kind.scope()),
        format!("ZohoCRM.modules.{module}.ALL"),
        format!("ZohoCRM.modules.{module}.{}", kind.scope()),
    ];
    if kind != Kind::Read {
        v.push("ZohoCRM.modules.WRITE".to_owned());
        v.push(format!("ZohoCRM.modules.{module}.WRITE"));
    }
    v
}

pub(super) fn invalid_url() -> Resp {
    Resp::zoho_error(404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one", json!({}))
}

pub(crate) fn invalid_module(details: Value) -> Resp {
    Resp::zoho_error(400, "INVALID_MODULE", "the module name given seems to be invalid", details)
}

pub(crate) fn required_param(name: &str) -> Resp {
    Resp::zoho_error(
        400,
        "REQUIRED_PARAM_MISSING",
        "One of the expected parameter is missing",
        json!({"param_name": name}),
    )
}

pub(crate) fn invalid_param(name: &str, message: &str) -> Resp {
    Resp::zoho_error(400, "INVALID_DATA", message, json!({"param_name": name}))
}

pub(super) fn limit_exceeded(limit: usize) -> Resp {
    Resp::zoho_error(
        400,
        "LIMIT_EXCEEDED",
        "count of records in your request exceeds the limit",
        json!({"limit": limit}),
    )
}

pub(crate) fn no_permission(permission: String) -> Resp {
    Resp::zoho_error(403, "NO_PERMISSION", "Permission denied", json!({"permissions": [permission]}))
}

/// The caller, as a user of the org.
pub(crate) struct Me {
    pub name: String,
    pub id: String,
    pub email: String,
    pub admin: bool,
    pub denied: Vec<String>,
}

/// One CRM request being answered.
pub(crate) struct Ctx<'a> {
    pub req: &'a Req,
    pub now_s: i64,
    pub now_ms: i64,
    pub me: Me,
    /// Answering `/crm/v8/…` (v8 shapes and rules).
    pub v8: bool,
    /// The access token's scopes.
    pub scopes: Vec<String>,
}

impl Ctx<'_> {
    /// A stored object (user, record) as this API version answers it.
    pub(super) fn out(&self, org: &Org, kind: Shape, v: &Map<String, Value>) -> Value {
        if self.v8 { shape(org, kind, v) } else { Value::Object(v.clone()) }
    }

    pub(super) fn me_ref(&self) -> Value {
        json!({"name": self.me.name, "id": self.me.id})
    }

    /// `If-Modified-Since` as epoch seconds; `Err` when present but unreadable.
    pub(crate) fn if_modified_since(&self) -> Result<Option<i64>, Resp> {
        match self.req.header("if-modified-since") {
            None => Ok(None),
            Some(v) => parse_if_modified_since(v).map(Some).ok_or_else(|| {
                Resp::zoho_error(
                    400,
                    "INVALID_DATA",
                    "the If-Modified-Since header is not an ISO 8601 date-time with offset",
                    json!({"header_name": "If-Modified-Since"}),
                )
            }),
        }
    }

    /// `page` and `per_page` (≤ 200).
    pub(crate) fn paging(&self) -> Result<(usize, usize), Resp> {
        let page = match self.req.query_param("page") {
            None => 1,
            Some(p) => p
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|p| *p >= 1)
                .ok_or_else(|| invalid_param("page", "invalid data"))?,
        };
        let per_page = match self.req.query_param("per_page") {
            None => MAX_PER_PAGE,
            Some(p) => {
                let n = p
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| invalid_param("per_page", "invalid data"))?;
                if n > MAX_PER_PAGE {
                    return Err(Resp::zoho_error(
                        400,
                        "INVALID_DATA",
                        "per_page must not exceed 200",
                        json!({"param_name": "per_page", "maximum_length": MAX_PER_PAGE}),
                    ));
                }
                n
            }
        };
        Ok((page, per_page))
    }

    /// The JSON body.
    pub(crate) fn body(&self) -> Result<Value, Resp> {
        serde_json::from_slice(&self.req.body)
            .map_err(|_| Resp::zoho_error(400, "INVALID_DATA", "the request body is not valid JSON", json!({})))
    }
}

/// One page of `items` under `key`, with `info`; 204 when the page is empty.
pub(crate) fn page_of(key: &str, items: Vec<Value>, page: usize, per_page: usize) -> Resp {
    page_of_with(key, items, page, per_page, |item| item)
}

/// [`page_of`], turning into JSON only the items on the page (a listing of N records
/// projects 200 of them per page, not N), and writing them out as they are (borrowed items
/// are not copied into a JSON tree first).
pub(crate) fn page_of_with<T, J: Serialize>(
    key: &str,
    items: Vec<T>,
    page: usize,
    per_page: usize,
    to_json: impl FnMut(T) -> J,
) -> Resp {
    let start = (page - 1).saturating_mul(per_page);
    if start >= items.len() {
        return Resp::empty(204);
    }
    let end = (start + per_page).min(items.len());
    let more = end < items.len();
    let slice: Vec<J> = items.into_iter().skip(start).take(end - start).map(to_json).collect();
    let info = json!({"per_page": per_page, "count": slice.len(), "page": page, "more_records": more});
    Resp::json(200, &Listing { key, items: &slice, info: &info })
}

/// `{key: items, "info": info}`, keys in the order a JSON object of this crate writes them
/// (sorted), as `json!` would have built it.
struct Listing<'a, J> {
    key: &'a str,
    items: &'a [J],
    info: &'a Value,
}

impl<J: Serialize> Serialize for Listing<'_, J> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(2))?;
        if self.key < "info" {
            map.serialize_entry(self.key, self.items)?;
            map.serialize_entry("info", self.info)?;
        } else {
            map.serialize_entry("info", self.info)?;
            map.serialize_entry(self.key, self.items)?;
        }
        map.end()
    }
}

/// HTTP status of a write: every item succeeded → `ok`, some → 207, none → 400.
pub(super) fn write_status(results: &[Value], ok: u16) -> u16 {
    let good = results.iter().filter(|r| r.get("status").and_then(Value::as_str) == Some("success")).count();
    if good == results.len() {
        ok
    } else if good == 0 {
        400
    } else {
        207
    }
}

pub(crate) fn item_error(code: &str, message: &str, details: Value) -> Value {
    json!({"code": code, "details": details, "message": message, "status": "error"})
}

/// The array under `key` of a write body, or the error to answer.
pub(super) fn write_items(ctx: &Ctx<'_>, key: &str) -> Result<Vec<Value>, Resp> {
    let body = ctx.body()?;
    let items = match body.get(key) {
        Some(Value::Array(a)) if !a.is_empty() => a.clone(),
        Some(Value::Array(_)) | None => return Err(required_param(key)),
        Some(_) => {
            return Err(Resp::zoho_error(400, "INVALID_DATA", "invalid data", json!({"api_name": key})));
        }
    };
    if items.len() > MAX_WRITE {
        return Err(limit_exceeded(MAX_WRITE));
    }
    Ok(items)
}

/// Resolves the module (INVALID_MODULE), checks the caller's profile (NO_PERMISSION), runs `f`.
pub(crate) fn with_module(
    org: &mut Org,
    ctx: &Ctx<'_>,
    module: &str,
    kind: Kind,
    f: impl FnOnce(&mut Org, &Ctx<'_>, &'static str) -> Resp,
) -> Resp {
    let Some(def) = org.module(module).map(|m| m.def).filter(|d| d.api_supported) else {
        return invalid_module(json!({"resource_path_index": 0}));
    };
    if ctx.me.denied.iter().any(|d| d.eq_ignore_ascii_case(def.api_name)) {
        return no_permission(format!("Crm_Implied_{}_{}", kind.permission(), def.api_name));
    }
    f(org, ctx, def.api_name)
}

/// A record as returned: every field, or only `fields=` (plus `id`).
pub(crate) fn project(rec: &Rec, fields: Option<&[String]>) -> Value {
    Value::Object(projected(rec, fields).into_owned())
}

/// [`project`] for an answer that is only written out: a whole record is borrowed from the
/// store, not copied first.
pub(crate) fn projected<'a>(rec: &'a Rec, fields: Option<&[String]>) -> Cow<'a, Map<String, Value>> {
    match fields {
        None => Cow::Borrowed(rec.data()),
        Some(names) => {
            let mut m = Map::new();
            m.insert("id".into(), Value::String(rec.id.clone()));
            for (k, v) in rec.data() {
                if names.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    m.insert(k.clone(), v.clone());
                }
            }
            Cow::Owned(m)
        }
    }
}

pub(crate) fn fields_param(ctx: &Ctx<'_>) -> Option<Vec<String>> {
    ctx.req.query_param("fields").map(|f| f.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
}

/// `converted` and `approved` filters (defaults: not converted, approved).
pub(crate) fn state_filter(ctx: &Ctx<'_>) -> Result<impl Fn(&Rec) -> bool, Resp> {
    let read = |name: &str, default: &str| -> Result<Option<bool>, Resp> {
        match ctx.req.query_param(name).unwrap_or_else(|| default.to_owned()).to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            "both" => Ok(None),
            _ => Err(invalid_param(name, "invalid data")),
        }
    };
    let converted = read("converted", "false")?;
    let approved = read("approved", "true")?;
    Ok(move |r: &Rec| converted.is_none_or(|c| c == r.converted()) && approved.is_none_or(|a| a == r.approved()))
}

pub(crate) fn compare_values(a: Option<&Value>, b: Option<&Value>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(x), Some(y)) if !x.is_null() && !y.is_null() => {
            let xs = criteria::value_strings(x).into_iter().next().unwrap_or_default();
            let ys = criteria::value_strings(y).into_iter().next().unwrap_or_default();
            xs.to_lowercase().cmp(&ys.to_lowercase())
        }
        (Some(x), _) if !x.is_null() => Ordering::Greater,
        (_, Some(y)) if !y.is_null() => Ordering::Less,
        _ => Ordering::Equal,
    }
}

/// The records of `module` a listing shows: those `keep` accepts, limited to `ids` if given.
pub(crate) fn listed<'a>(
    org: &'a Org,
    module: &str,
    keep: impl Fn(&Rec) -> bool,
    ids: Option<&[String]>,
) -> Vec<&'a Rec> {
    org.records
        .get(module)
        .map(|records| {
            records.iter().filter(|r| keep(r)).filter(|r| ids.is_none_or(|ids| ids.contains(&r.id))).collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::page_of;
    use crate::testkit::wire::RespBody;

    /// A listing is written straight from its items, byte for byte what the JSON tree of the
    /// same answer writes (sorted keys: `data` before `info`, `info` before `users`).
    #[test]
    fn listings_write_what_their_json_tree_would() {
        for key in ["data", "users"] {
            let items: Vec<Value> = (1..=3).map(|i| json!({"id": i.to_string(), "b": [i], "a": null})).collect();
            let resp = page_of(key, items.clone(), 1, 2);
            let RespBody::Json(body) = resp.body else { panic!("not JSON") };
            let tree = json!({key: items[..2], "info": {"per_page": 2, "count": 2, "page": 1, "more_records": true}});
            assert_eq!(String::from_utf8(body).unwrap(), serde_json::to_string(&tree).unwrap(), "{key}");
        }
    }
}
