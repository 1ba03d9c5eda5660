//! The simulated CRM API (v2 and v8) of each data center and environment: token and scope
//! checks, users, org, module metadata, records (list, get, write, upsert, search, deleted),
//! pagination, 204, 304, and Zoho's error envelopes. What differs in v8 (shapes, required
//! `fields`, page tokens, count, COQL) lives in `crm_v8` and `coql`.

use serde_json::{Map, Value, json};

use crate::dc::{DataCenter, Environment};

use super::criteria;
use super::seed::FieldDef;
use super::server::{Req, Resp};
use super::state::{self, CrmUser, Org, Rec, TokenRejection};
use super::time::{format_iso, parse_if_modified_since, parse_iso};
use super::{Route, Shared};

/// Most records (or users) one write may carry.
const MAX_WRITE: usize = 100;
/// Largest `per_page`.
const MAX_PER_PAGE: usize = 200;

/// What a CRM request asks for.
enum Op {
    ListUsers,
    GetUser(String),
    AddUsers,
    UpdateUsers,
    UpdateUser(String),
    DeleteUser(String),
    Org,
    ListModules,
    GetModule(String),
    Fields(Option<String>),
    Layouts(Option<String>),
    ListRecords(String),
    GetRecord(String, String),
    Insert(String),
    UpdateRecords(String),
    UpdateRecord(String, String),
    DeleteRecords(String),
    DeleteRecord(String, String),
    Upsert(String),
    Search(String),
    Deleted(String),
    /// v8: `GET /{module}/actions/count`.
    Count(String),
    /// v8: `POST /coql`.
    Coql,
}

/// Record operation kinds, for scopes and permissions.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Create,
    Update,
    Delete,
}

impl Kind {
    fn scope(self) -> &'static str {
        match self {
            Kind::Read => "READ",
            Kind::Create => "CREATE",
            Kind::Update => "UPDATE",
            Kind::Delete => "DELETE",
        }
    }
    fn permission(self) -> &'static str {
        match self {
            Kind::Read => "View",
            Kind::Create => "Create",
            Kind::Update => "Edit",
            Kind::Delete => "Delete",
        }
    }
}

const RESERVED: &[&str] = &["users", "org", "settings"];

/// Parses the path after `/crm/v2/` or `/crm/v8/`. `Err(true)`: known path, wrong method;
/// `Err(false)`: unknown path.
fn parse_op(method: &http::Method, segs: &[&str], v8: bool) -> Result<Op, bool> {
    let m = method.as_str();
    let s = |i: usize| segs.get(i).map(|x| (*x).to_owned()).unwrap_or_default();
    let op = match (segs, m) {
        (["coql"], "POST") if v8 => Op::Coql,
        (["coql"], _) if v8 => return Err(true),
        ([module, "actions", "count"], _) if v8 && !RESERVED.contains(module) => match m {
            "GET" => Op::Count(s(0)),
            _ => return Err(true),
        },
        (["users"], "GET") => Op::ListUsers,
        (["users"], "POST") => Op::AddUsers,
        (["users"], "PUT") => Op::UpdateUsers,
        (["users"], _) => return Err(true),
        (["users", _], "GET") => Op::GetUser(s(1)),
        (["users", _], "PUT") => Op::UpdateUser(s(1)),
        (["users", _], "DELETE") => Op::DeleteUser(s(1)),
        (["users", _], _) => return Err(true),
        (["org"], "GET") => Op::Org,
        (["org"], _) => return Err(true),
        (["settings", "modules"], "GET") => Op::ListModules,
        (["settings", "modules", _], "GET") => Op::GetModule(s(2)),
        (["settings", "fields"], "GET") => Op::Fields(None),
        (["settings", "fields", _], "GET") => Op::Fields(Some(s(2))),
        (["settings", "layouts"], "GET") => Op::Layouts(None),
        (["settings", "layouts", _], "GET") => Op::Layouts(Some(s(2))),
        (["settings", "modules" | "fields" | "layouts", ..], _) if segs.len() <= 3 => {
            return Err(true);
        }
        ([module], _) if !RESERVED.contains(module) => match m {
            "GET" => Op::ListRecords(s(0)),
            "POST" => Op::Insert(s(0)),
            "PUT" => Op::UpdateRecords(s(0)),
            "DELETE" => Op::DeleteRecords(s(0)),
            _ => return Err(true),
        },
        ([module, "upsert"], _) if !RESERVED.contains(module) => match m {
            "POST" => Op::Upsert(s(0)),
            _ => return Err(true),
        },
        ([module, "search"], _) if !RESERVED.contains(module) => match m {
            "GET" => Op::Search(s(0)),
            _ => return Err(true),
        },
        ([module, "deleted"], _) if !RESERVED.contains(module) => match m {
            "GET" => Op::Deleted(s(0)),
            _ => return Err(true),
        },
        ([module, _], _) if !RESERVED.contains(module) => match m {
            "GET" => Op::GetRecord(s(0), s(1)),
            "PUT" => Op::UpdateRecord(s(0), s(1)),
            "DELETE" => Op::DeleteRecord(s(0), s(1)),
            _ => return Err(true),
        },
        _ => return Err(false),
    };
    Ok(op)
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

fn settings_scopes(part: &str) -> Vec<String> {
    ["ZohoCRM.settings.ALL", "ZohoCRM.settings.READ"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([format!("ZohoCRM.settings.{part}.ALL"), format!("ZohoCRM.settings.{part}.READ")])
        .collect()
}

fn users_scopes(kind: Kind) -> Vec<String> {
    vec!["ZohoCRM.users.ALL".to_owned(), format!("ZohoCRM.users.{}", kind.scope())]
}

/// Whether the granted scopes cover the operation.
fn scope_ok(op: &Op, scopes: &[String]) -> bool {
    match op {
        Op::ListUsers | Op::GetUser(_) => has_scope(scopes, &users_scopes(Kind::Read)),
        Op::AddUsers => has_scope(scopes, &users_scopes(Kind::Create)),
        Op::UpdateUsers | Op::UpdateUser(_) => has_scope(scopes, &users_scopes(Kind::Update)),
        Op::DeleteUser(_) => has_scope(scopes, &users_scopes(Kind::Delete)),
        Op::Org => has_scope(scopes, &["ZohoCRM.org.ALL".to_owned(), "ZohoCRM.org.READ".to_owned()]),
        Op::ListModules | Op::GetModule(_) => has_scope(scopes, &settings_scopes("modules")),
        Op::Fields(_) => has_scope(scopes, &settings_scopes("fields")),
        Op::Layouts(_) => has_scope(scopes, &settings_scopes("layouts")),
        Op::ListRecords(m) | Op::GetRecord(m, _) | Op::Deleted(m) | Op::Count(m) => {
            has_scope(scopes, &record_scopes(m, Kind::Read))
        }
        // The module's read scope is checked once the query names its module.
        Op::Coql => has_scope(scopes, &super::coql::SCOPES.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()),
        Op::Search(m) => {
            has_scope(scopes, &record_scopes(m, Kind::Read))
                && has_scope(
                    scopes,
                    &["ZohoSearch.securesearch.READ".to_owned(), "ZohoSearch.securesearch.ALL".to_owned()],
                )
        }
        Op::Insert(m) => has_scope(scopes, &record_scopes(m, Kind::Create)),
        // Zoho's upsert page lists ALL, WRITE and CREATE.
        Op::Upsert(m) => has_scope(scopes, &record_scopes(m, Kind::Create)),
        Op::UpdateRecords(m) | Op::UpdateRecord(m, _) => has_scope(scopes, &record_scopes(m, Kind::Update)),
        Op::DeleteRecords(m) | Op::DeleteRecord(m, _) => has_scope(scopes, &record_scopes(m, Kind::Delete)),
    }
}

fn invalid_url() -> Resp {
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

fn limit_exceeded(limit: usize) -> Resp {
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

/// Answers one CRM request.
pub(crate) fn handle(shared: &Shared, req: &Req, _route: Route, dc: DataCenter, env: Environment) -> Resp {
    let prefix = format!("/api/{}/{}", dc.location(), env.as_str());
    let rest = req.path.strip_prefix(&prefix).unwrap_or_default().trim_end_matches('/');
    let (rest, v8) = match (rest.strip_prefix("/crm/v2/"), rest.strip_prefix("/crm/v8/")) {
        (Some(r), _) => (r, false),
        (None, Some(r)) => (r, true),
        (None, None) => return invalid_url(),
    };
    let segs: Vec<&str> = rest.split('/').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return invalid_url();
    }
    let op = match parse_op(&req.method, &segs, v8) {
        Ok(op) => op,
        Err(true) => {
            return Resp::zoho_error(
                400,
                "INVALID_REQUEST_METHOD",
                "The HTTP request method type is not a valid one.",
                json!({}),
            );
        }
        Err(false) => return invalid_url(),
    };

    // Authentication: `Zoho-oauthtoken <token>` (Zoho also accepts `Bearer <token>`).
    let auth = req.header("authorization").unwrap_or_default();
    let token = auth
        .strip_prefix("Zoho-oauthtoken ")
        .or_else(|| auth.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Resp::zoho_error(401, "AUTHENTICATION_FAILURE", "Authentication failed", json!({}));
    };
    let now_ms = shared.now_ms();
    let mut st = shared.lock();
    let (email, scopes) = match st.check_access_token(token, dc, env, now_ms) {
        Ok(a) => (a.email.clone(), a.scopes.clone()),
        Err(TokenRejection::Invalid) => {
            return Resp::zoho_error(401, "INVALID_TOKEN", "invalid oauth token", json!({}));
        }
        // Invalidated by the 15-active-tokens rule (docs/zoho-facts.md §3); the message is unverified.
        Err(TokenRejection::Superseded) => {
            return Resp::zoho_error(401, "INVALID_OAUTHTOKEN", "invalid oauth token", json!({}));
        }
    };
    if !scope_ok(&op, &scopes) {
        return Resp::zoho_error(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({}))
            .with_user(Some(email));
    }
    let org = st.org(dc, env);
    let Some(me) = org.user_by_email(&email).map(|u| Me {
        name: u.full_name(),
        id: u.id.clone(),
        email: u.email.clone(),
        admin: u.json.get("profile").and_then(|p| p.get("name")).and_then(Value::as_str) == Some("Administrator"),
        denied: u.denied_modules.clone(),
    }) else {
        return Resp::zoho_error(401, "INVALID_TOKEN", "invalid oauth token", json!({}));
    };
    let ctx = Ctx { req, now_s: now_ms.div_euclid(1000), now_ms, me, v8, scopes };
    let resp = match op {
        Op::ListUsers => list_users(org, &ctx),
        Op::GetUser(id) => get_user(org, &ctx, &id),
        Op::Org if v8 => Resp::json(200, &json!({"org": [super::crm_v8::org_shape(&org.org_json)]})),
        Op::ListModules if v8 => super::crm_v8::list_modules(org, &ctx),
        Op::GetModule(name) if v8 => super::crm_v8::get_module(org, &name),
        Op::ListRecords(m) if v8 => with_module(org, &ctx, &m, Kind::Read, super::crm_v8::list_records),
        Op::Count(m) => with_module(org, &ctx, &m, Kind::Read, super::crm_v8::count_records),
        Op::Coql => super::coql::handle(org, &ctx),
        Op::AddUsers => add_users(org, &ctx),
        Op::UpdateUsers => update_users(org, &ctx, None),
        Op::UpdateUser(id) => update_users(org, &ctx, Some(id)),
        Op::DeleteUser(id) => delete_user(org, &ctx, &id),
        Op::Org => Resp::json(200, &json!({"org": [org.org_json.clone()]})),
        Op::ListModules => list_modules(org, &ctx),
        Op::GetModule(name) => match org.module(&name) {
            Some(m) => Resp::json(200, &json!({"modules": [m.json.clone()]})),
            None => invalid_module(json!({"resource_path_index": 2})),
        },
        Op::Fields(id) => metadata(org, &ctx, "fields", id),
        Op::Layouts(id) => metadata(org, &ctx, "layouts", id),
        Op::ListRecords(m) => with_module(org, &ctx, &m, Kind::Read, list_records),
        Op::GetRecord(m, id) => with_module(org, &ctx, &m, Kind::Read, |o, c, m| get_record(o, c, m, &id)),
        Op::Insert(m) => with_module(org, &ctx, &m, Kind::Create, insert_records),
        Op::UpdateRecords(m) => with_module(org, &ctx, &m, Kind::Update, |o, c, m| update_records(o, c, m, None)),
        Op::UpdateRecord(m, id) => {
            with_module(org, &ctx, &m, Kind::Update, |o, c, m| update_records(o, c, m, Some(&id)))
        }
        Op::DeleteRecords(m) => with_module(org, &ctx, &m, Kind::Delete, |o, c, m| {
            let Some(ids) = c.req.query_param("ids").filter(|s| !s.trim().is_empty()) else {
                return required_param("ids");
            };
            let ids: Vec<String> = ids.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            delete_records(o, c, m, &ids)
        }),
        Op::DeleteRecord(m, id) => {
            with_module(org, &ctx, &m, Kind::Delete, |o, c, m| delete_records(o, c, m, std::slice::from_ref(&id)))
        }
        Op::Upsert(m) => with_module(org, &ctx, &m, Kind::Create, upsert_records),
        Op::Search(m) => with_module(org, &ctx, &m, Kind::Read, search_records),
        Op::Deleted(m) => with_module(org, &ctx, &m, Kind::Read, deleted_records),
    };
    drop(st);
    resp.with_user(Some(email))
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
    fn out(&self, org: &Org, kind: super::crm_v8::Shape, v: &Map<String, Value>) -> Value {
        if self.v8 { super::crm_v8::shape(org, kind, v) } else { Value::Object(v.clone()) }
    }

    fn me_ref(&self) -> Value {
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
    let start = (page - 1).saturating_mul(per_page);
    if start >= items.len() {
        return Resp::empty(204);
    }
    let end = (start + per_page).min(items.len());
    let more = end < items.len();
    let slice: Vec<Value> = items[start..end].to_vec();
    let count = slice.len();
    Resp::json(
        200,
        &json!({key: slice, "info": {"per_page": per_page, "count": count, "page": page, "more_records": more}}),
    )
}

/// HTTP status of a write: every item succeeded → `ok`, some → 207, none → 400.
fn write_status(results: &[Value], ok: u16) -> u16 {
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

// ---------------------------------------------------------------- users

fn user_matches(u: &CrmUser, kind: &str, me: &str) -> Option<bool> {
    let status = u.str_field("status");
    let confirm = u.json.get("confirm").and_then(Value::as_bool).unwrap_or(false);
    let admin = u.json.get("profile").and_then(|p| p.get("name")).and_then(Value::as_str) == Some("Administrator");
    let live = status != "deleted";
    Some(match kind {
        "AllUsers" => live,
        "ActiveUsers" => status == "active",
        "DeactiveUsers" => status == "disabled",
        "ConfirmedUsers" => live && confirm,
        "NotConfirmedUsers" => live && !confirm,
        "DeletedUsers" => !live,
        "ActiveConfirmedUsers" => status == "active" && confirm,
        "AdminUsers" => live && admin,
        "ActiveConfirmedAdmins" => status == "active" && confirm && admin,
        "CurrentUser" => u.email.eq_ignore_ascii_case(me),
        _ => return None,
    })
}

fn list_users(org: &Org, ctx: &Ctx<'_>) -> Resp {
    let kind = ctx.req.query_param("type").unwrap_or_else(|| "AllUsers".to_owned());
    let (page, per_page) = match ctx.paging() {
        Ok(p) => p,
        Err(r) => return r,
    };
    let ims = match ctx.if_modified_since() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let mut users = Vec::new();
    for u in &org.users {
        match user_matches(u, &kind, &ctx.me.email) {
            None => return invalid_param("type", "invalid data"),
            Some(true) => users.push(u),
            Some(false) => {}
        }
    }
    if let Some(t) = ims {
        users.retain(|u| u.modified_s > t);
        if users.is_empty() {
            return Resp::empty(304);
        }
    }
    let users = users.into_iter().map(|u| ctx.out(org, super::crm_v8::Shape::User, &u.json)).collect();
    page_of("users", users, page, per_page)
}

fn get_user(org: &Org, ctx: &Ctx<'_>, id: &str) -> Resp {
    let ims = match ctx.if_modified_since() {
        Ok(v) => v,
        Err(r) => return r,
    };
    match org.users.iter().find(|u| u.id == id) {
        None => Resp::empty(204),
        Some(u) if ims.is_some_and(|t| u.modified_s <= t) => Resp::empty(304),
        Some(u) => Resp::json(200, &json!({"users": [ctx.out(org, super::crm_v8::Shape::User, &u.json)]})),
    }
}

/// The `{name, id}` of a role or profile given as an id string or `{id}`.
fn resolve_ref(list: &[(String, String)], v: &Value) -> Option<Value> {
    let id = v.as_str().or_else(|| v.get("id").and_then(Value::as_str))?;
    list.iter().find(|(_, i)| i == id).map(|(n, i)| json!({"name": n, "id": i}))
}

/// The array under `key` of a write body, or the error to answer.
fn write_items(ctx: &Ctx<'_>, key: &str) -> Result<Vec<Value>, Resp> {
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

fn add_users(org: &mut Org, ctx: &Ctx<'_>) -> Resp {
    if !ctx.me.admin {
        return no_permission("Crm_Implied_Manage_Users".to_owned());
    }
    let items = match write_items(ctx, "users") {
        Ok(i) => i,
        Err(r) => return r,
    };
    let mut results = Vec::new();
    for item in items {
        results.push(add_one_user(org, ctx, &item));
    }
    let status = write_status(&results, 201);
    Resp::json(status, &json!({"users": results}))
}

fn add_one_user(org: &mut Org, ctx: &Ctx<'_>, item: &Value) -> Value {
    let get = |k: &str| item.get(k).filter(|v| !v.is_null() && v.as_str() != Some(""));
    for key in ["role", "profile", "last_name", "email"] {
        if get(key).is_none() {
            return item_error("MANDATORY_NOT_FOUND", "required field not found", json!({"api_name": key}));
        }
    }
    let email = get("email").and_then(Value::as_str).unwrap_or_default().to_owned();
    if !email.contains('@') {
        return item_error("INVALID_DATA", "invalid data", json!({"api_name": "email", "expected_data_type": "email"}));
    }
    if org.users.iter().any(|u| u.email.eq_ignore_ascii_case(&email) && u.str_field("status") != "deleted") {
        return item_error("DUPLICATE_DATA", "duplicate data", json!({"api_name": "email"}));
    }
    let Some(role) = get("role").and_then(|v| resolve_ref(&org.roles, v)) else {
        return item_error("INVALID_DATA", "invalid data", json!({"api_name": "role"}));
    };
    let Some(profile) = get("profile").and_then(|v| resolve_ref(&org.profiles, v)) else {
        return item_error("INVALID_DATA", "invalid data", json!({"api_name": "profile"}));
    };
    let account = state::Account {
        email: email.clone(),
        first_name: get("first_name").and_then(Value::as_str).unwrap_or_default().to_owned(),
        last_name: get("last_name").and_then(Value::as_str).unwrap_or_default().to_owned(),
        zuid: String::new(),
        dc: org.dc,
    };
    let mut user = super::server::new_crm_user(org, &account, "CEO", "Administrator", "active", false, ctx.now_s);
    user.json.insert("role".into(), role);
    user.json.insert("profile".into(), profile);
    user.json.insert("zuid".into(), Value::Null);
    user.json.insert("created_by".into(), ctx.me_ref());
    user.json.insert("Modified_By".into(), ctx.me_ref());
    for (k, v) in item.as_object().into_iter().flatten() {
        if !["role", "profile", "email", "id", "zuid", "status", "confirm"].contains(&k.as_str())
            && user.json.contains_key(k)
            && !v.is_object()
        {
            user.json.insert(k.clone(), v.clone());
        }
    }
    let id = user.id.clone();
    org.users.push(user);
    json!({"code": "SUCCESS", "details": {"id": id}, "message": "User added", "status": "success"})
}

fn update_users(org: &mut Org, ctx: &Ctx<'_>, path_id: Option<String>) -> Resp {
    if !ctx.me.admin {
        return no_permission("Crm_Implied_Manage_Users".to_owned());
    }
    let mut items = match write_items(ctx, "users") {
        Ok(i) => i,
        Err(r) => return r,
    };
    if let Some(id) = &path_id {
        items.truncate(1);
        if let Some(Value::Object(o)) = items.first_mut() {
            o.insert("id".into(), Value::String(id.clone()));
        }
    }
    let mut results = Vec::new();
    for item in items {
        results.push(update_one_user(org, ctx, &item));
    }
    let status = write_status(&results, 200);
    Resp::json(status, &json!({"users": results}))
}

fn update_one_user(org: &mut Org, ctx: &Ctx<'_>, item: &Value) -> Value {
    let Some(id) = item.get("id").and_then(Value::as_str).map(str::to_owned) else {
        return item_error("MANDATORY_NOT_FOUND", "required field not found", json!({"api_name": "id"}));
    };
    let mut changes: Vec<(String, Value)> = Vec::new();
    for (k, v) in item.as_object().into_iter().flatten() {
        match k.as_str() {
            "id" | "email" | "zuid" | "confirm" | "full_name" | "created_time" | "created_by" | "Modified_Time"
            | "Modified_By" => {}
            "role" => match resolve_ref(&org.roles, v) {
                Some(r) => changes.push((k.clone(), r)),
                None => {
                    return item_error("INVALID_DATA", "invalid data", json!({"api_name": "role"}));
                }
            },
            "profile" => match resolve_ref(&org.profiles, v) {
                Some(r) => changes.push((k.clone(), r)),
                None => {
                    return item_error("INVALID_DATA", "invalid data", json!({"api_name": "profile"}));
                }
            },
            "status" => match v.as_str() {
                Some("active" | "disabled") => changes.push((k.clone(), v.clone())),
                _ => {
                    return item_error("INVALID_DATA", "invalid data", json!({"api_name": "status"}));
                }
            },
            _ => changes.push((k.clone(), v.clone())),
        }
    }
    let me = ctx.me_ref();
    let stamp = format_iso(ctx.now_s, org.offset_secs);
    let Some(user) = org.users.iter_mut().find(|u| u.id == id && u.str_field("status") != "deleted") else {
        return item_error("INVALID_DATA", "the id given seems to be invalid", json!({"api_name": "id", "id": id}));
    };
    for (k, v) in changes {
        user.json.insert(k, v);
    }
    let full = format!("{} {}", user.str_field("first_name"), user.str_field("last_name")).trim().to_owned();
    user.json.insert("full_name".into(), Value::String(full));
    user.json.insert("Modified_Time".into(), Value::String(stamp));
    user.json.insert("Modified_By".into(), me);
    user.modified_s = ctx.now_s;
    json!({"code": "SUCCESS", "details": {"id": id}, "message": "User updated", "status": "success"})
}

fn delete_user(org: &mut Org, ctx: &Ctx<'_>, id: &str) -> Resp {
    if !ctx.me.admin {
        return no_permission("Crm_Implied_Manage_Users".to_owned());
    }
    if id == ctx.me.id {
        return Resp::json(
            400,
            &json!({"users": [item_error("INVALID_DATA", "the current user cannot be deleted", json!({"id": id}))]}),
        );
    }
    let stamp = format_iso(ctx.now_s, org.offset_secs);
    let me = ctx.me_ref();
    match org.users.iter_mut().find(|u| u.id == id && u.str_field("status") != "deleted") {
        None => Resp::json(
            400,
            &json!({"users": [item_error("INVALID_DATA", "the id given seems to be invalid", json!({"id": id}))]}),
        ),
        Some(u) => {
            u.json.insert("status".into(), json!("deleted"));
            u.json.insert("Modified_Time".into(), Value::String(stamp));
            u.json.insert("Modified_By".into(), me);
            u.modified_s = ctx.now_s;
            Resp::json(
                200,
                &json!({"users": [{"code": "SUCCESS", "details": {}, "message": "User deleted", "status": "success"}]}),
            )
        }
    }
}

// ---------------------------------------------------------------- metadata

fn list_modules(org: &Org, ctx: &Ctx<'_>) -> Resp {
    match ctx.if_modified_since() {
        Err(r) => r,
        Ok(Some(t)) if org.metadata_modified_s <= t => Resp::empty(304),
        Ok(_) => Resp::json(200, &json!({"modules": org.modules.iter().map(|m| m.json.clone()).collect::<Vec<_>>()})),
    }
}

/// `settings/fields` and `settings/layouts` (`?module=`, optionally one by id).
fn metadata(org: &Org, ctx: &Ctx<'_>, what: &str, id: Option<String>) -> Resp {
    let Some(name) = ctx.req.query_param("module").filter(|m| !m.is_empty()) else {
        return required_param("module");
    };
    let Some(module) = org.module(&name) else {
        return invalid_module(json!({"param_name": "module"}));
    };
    let items = if what == "fields" { &module.fields } else { &module.layouts };
    if module.def.fields.is_empty() {
        // Zoho answers 204 for the metadata of modules without fields.
        return Resp::empty(204);
    }
    let mut items: Vec<Value> = match &id {
        None => items.clone(),
        Some(id) => {
            items.iter().filter(|v| v.get("id").and_then(Value::as_str) == Some(id.as_str())).cloned().collect()
        }
    };
    if ctx.v8 {
        let kind = if what == "fields" { super::crm_v8::Shape::Field } else { super::crm_v8::Shape::Layout };
        items = items.iter().map(|v| super::crm_v8::shape_value(org, kind, v)).collect();
    }
    if items.is_empty() {
        return Resp::empty(204);
    }
    Resp::json(200, &json!({what: items}))
}

// ---------------------------------------------------------------- records

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
    match fields {
        None => Value::Object(rec.data.clone()),
        Some(names) => {
            let mut m = Map::new();
            m.insert("id".into(), Value::String(rec.id.clone()));
            for (k, v) in &rec.data {
                if names.iter().any(|n| n.eq_ignore_ascii_case(k)) {
                    m.insert(k.clone(), v.clone());
                }
            }
            Value::Object(m)
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
    Ok(move |r: &Rec| {
        let conv = r.data.get("$converted").and_then(Value::as_bool).unwrap_or(false);
        let appr = r.data.get("$approved").and_then(Value::as_bool).unwrap_or(true);
        converted.is_none_or(|c| c == conv) && approved.is_none_or(|a| a == appr)
    })
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

fn list_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let (page, per_page) = match ctx.paging() {
        Ok(p) => p,
        Err(r) => return r,
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
    let empty = Vec::new();
    let mut recs: Vec<&Rec> = org
        .records
        .get(module)
        .unwrap_or(&empty)
        .iter()
        .filter(|r| keep(r))
        .filter(|r| ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
        .collect();
    if let Some(sort_by) = ctx.req.query_param("sort_by") {
        let desc = match ctx.req.query_param("sort_order").as_deref() {
            None | Some("desc") => true,
            Some("asc") => false,
            Some(_) => return invalid_param("sort_order", "invalid data"),
        };
        if sort_by != "id" && org.field(module, &sort_by).is_none() {
            return invalid_param("sort_by", "invalid data");
        }
        let key = org.field(module, &sort_by).map(|f| f.api_name).unwrap_or("id");
        recs.sort_by(|a, b| {
            let o = compare_values(a.data.get(key), b.data.get(key));
            if desc { o.reverse() } else { o }
        });
    }
    if let Some(t) = ims {
        recs.retain(|r| r.modified_s > t);
        if recs.is_empty() {
            return Resp::empty(304);
        }
    }
    let fields = fields_param(ctx);
    page_of("data", recs.into_iter().map(|r| project(r, fields.as_deref())).collect(), page, per_page)
}

fn get_record(org: &mut Org, ctx: &Ctx<'_>, module: &'static str, id: &str) -> Resp {
    let ims = match ctx.if_modified_since() {
        Ok(v) => v,
        Err(r) => return r,
    };
    let fields = fields_param(ctx);
    match org.records.get(module).and_then(|v| v.iter().find(|r| r.id == id)) {
        None => Resp::empty(204),
        Some(r) if ims.is_some_and(|t| r.modified_s <= t) => Resp::empty(304),
        Some(r) if ctx.v8 && fields.is_none() => {
            Resp::json(200, &json!({"data": [ctx.out(org, super::crm_v8::Shape::Record(module), &r.data)]}))
        }
        Some(r) => Resp::json(200, &json!({"data": [project(r, fields.as_deref())]})),
    }
}

/// Checks and normalizes one input value against its field's data type.
fn check_value(org: &Org, fd: &FieldDef, v: &Value) -> Result<Value, Value> {
    let bad = || {
        item_error("INVALID_DATA", "invalid data", json!({"api_name": fd.api_name, "expected_data_type": fd.data_type}))
    };
    if v.is_null() {
        return Ok(Value::Null);
    }
    match fd.data_type {
        "text" | "textarea" | "website" | "picklist" | "phone" => v.as_str().map(|_| v.clone()).ok_or_else(bad),
        "email" => v
            .as_str()
            .filter(|s| s.is_empty() || (s.contains('@') && !s.starts_with('@') && !s.ends_with('@')))
            .map(|_| v.clone())
            .ok_or_else(bad),
        "integer" | "bigint" => {
            v.as_i64().or_else(|| v.as_str().and_then(|s| s.trim().parse().ok())).map(Value::from).ok_or_else(bad)
        }
        "double" | "currency" => v
            .as_f64()
            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            .filter(|_| !v.is_boolean())
            .map(|_| {
                if v.is_number() {
                    v.clone()
                } else {
                    v.as_str().and_then(|s| s.trim().parse::<f64>().ok()).map(Value::from).unwrap_or(Value::Null)
                }
            })
            .ok_or_else(bad),
        "boolean" => v.as_bool().map(Value::Bool).ok_or_else(bad),
        "date" => v
            .as_str()
            .filter(|s| s.len() == 10 && parse_iso(&format!("{s}T00:00:00Z")).is_some())
            .map(|_| v.clone())
            .ok_or_else(bad),
        "datetime" => v.as_str().filter(|s| parse_iso(s).is_some()).map(|_| v.clone()).ok_or_else(bad),
        "ownerlookup" => {
            let id = v.as_str().or_else(|| v.get("id").and_then(Value::as_str)).ok_or_else(bad)?;
            let u = org.users.iter().find(|u| u.id == id && u.str_field("status") == "active").ok_or_else(|| {
                item_error(
                    "INVALID_DATA",
                    "the related id given seems to be invalid",
                    json!({"api_name": fd.api_name, "id": id}),
                )
            })?;
            Ok(json!({"name": u.full_name(), "id": u.id}))
        }
        "lookup" => {
            let id = v.as_str().or_else(|| v.get("id").and_then(Value::as_str)).ok_or_else(bad)?;
            let name = org.records.values().flatten().find(|r| r.id == id).map(|r| display_name(org, r));
            Ok(json!({"name": name, "id": id}))
        }
        _ => Ok(v.clone()),
    }
}

fn display_name(org: &Org, r: &Rec) -> String {
    for m in &org.modules {
        if org.records.get(m.def.api_name).is_some_and(|v| v.iter().any(|x| x.id == r.id)) {
            return m
                .def
                .display
                .iter()
                .filter_map(|k| r.data.get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    String::new()
}

/// Validates an input record's fields; returns the normalized values to set.
fn validate(
    org: &Org,
    module: &'static str,
    item: &Map<String, Value>,
    insert: bool,
) -> Result<Vec<(&'static str, Value)>, Value> {
    let Some(m) = org.module(module) else {
        return Err(item_error("INVALID_MODULE", "the module name given seems to be invalid", json!({})));
    };
    let mut out = Vec::new();
    for fd in m.def.fields {
        let given = item.iter().find(|(k, _)| k.as_str() == fd.api_name).map(|(_, v)| v);
        let empty = given.is_none_or(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()));
        // Inserts need every mandatory field; updates may not blank one out.
        if fd.mandatory && empty && (insert || given.is_some()) {
            return Err(item_error(
                "MANDATORY_NOT_FOUND",
                "required field not found",
                json!({"api_name": fd.api_name}),
            ));
        }
        if fd.read_only {
            continue;
        }
        if let Some(v) = given {
            out.push((fd.api_name, check_value(org, fd, v)?));
        }
    }
    Ok(out)
}

fn write_details(r: &Rec) -> Value {
    json!({
        "Modified_Time": r.data.get("Modified_Time"),
        "Modified_By": r.data.get("Modified_By"),
        "Created_Time": r.data.get("Created_Time"),
        "id": r.id,
        "Created_By": r.data.get("Created_By"),
        "$approval_state": "approved"
    })
}

fn create_record(org: &mut Org, ctx: &Ctx<'_>, module: &'static str, values: Vec<(&'static str, Value)>) -> Rec {
    let mut data = org.blank_record(module);
    let id = org.new_id();
    data.insert("id".into(), Value::String(id.clone()));
    if data.contains_key("Owner") {
        data.insert("Owner".into(), ctx.me_ref());
    }
    for (k, v) in values {
        data.insert(k.to_owned(), v);
    }
    let stamp = format_iso(ctx.now_s, org.offset_secs);
    for k in ["Created_Time", "Modified_Time"] {
        data.insert(k.into(), Value::String(stamp.clone()));
    }
    for k in ["Created_By", "Modified_By"] {
        data.insert(k.into(), ctx.me_ref());
    }
    state::derive_fields(module, &mut data);
    let rec = Rec { id, data, modified_s: ctx.now_s, created_s: ctx.now_s };
    org.push_record(module, rec.clone());
    rec
}

fn apply_update(
    org: &mut Org,
    ctx: &Ctx<'_>,
    module: &'static str,
    id: &str,
    values: Vec<(&'static str, Value)>,
) -> Option<Rec> {
    let stamp = format_iso(ctx.now_s, org.offset_secs);
    let me = ctx.me_ref();
    let rec = org.records.get_mut(module)?.iter_mut().find(|r| r.id == id)?;
    for (k, v) in values {
        rec.data.insert(k.to_owned(), v);
    }
    rec.data.insert("Modified_Time".into(), Value::String(stamp));
    rec.data.insert("Modified_By".into(), me);
    state::derive_fields(module, &mut rec.data);
    rec.modified_s = ctx.now_s;
    Some(rec.clone())
}

fn insert_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let items = match write_items(ctx, "data") {
        Ok(i) => i,
        Err(r) => return r,
    };
    let mut results = Vec::new();
    for item in items {
        let Some(obj) = item.as_object() else {
            results.push(item_error("INVALID_DATA", "invalid data", json!({})));
            continue;
        };
        match validate(org, module, obj, true) {
            Err(e) => results.push(e),
            Ok(values) => {
                let rec = create_record(org, ctx, module, values);
                results.push(json!({"code": "SUCCESS", "details": write_details(&rec), "message": "record added", "status": "success"}));
            }
        }
    }
    let status = write_status(&results, 201);
    Resp::json(status, &json!({"data": results}))
}

fn update_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str, path_id: Option<&str>) -> Resp {
    let mut items = match write_items(ctx, "data") {
        Ok(i) => i,
        Err(r) => return r,
    };
    if let Some(id) = path_id {
        items.truncate(1);
        if let Some(Value::Object(o)) = items.first_mut() {
            o.insert("id".into(), Value::String(id.to_owned()));
        }
    }
    let mut results = Vec::new();
    for item in items {
        let Some(obj) = item.as_object() else {
            results.push(item_error("INVALID_DATA", "invalid data", json!({})));
            continue;
        };
        let Some(id) = obj.get("id").and_then(Value::as_str).map(str::to_owned) else {
            results.push(item_error("MANDATORY_NOT_FOUND", "required field not found", json!({"api_name": "id"})));
            continue;
        };
        let values = match validate(org, module, obj, false) {
            Ok(v) => v,
            Err(e) => {
                results.push(e);
                continue;
            }
        };
        match apply_update(org, ctx, module, &id, values) {
            Some(rec) => results.push(json!({"code": "SUCCESS", "details": write_details(&rec), "message": "record updated", "status": "success"})),
            None => results.push(item_error("INVALID_DATA", "the related id given seems to be invalid", json!({"api_name": "id", "id": id}))),
        }
    }
    let status = write_status(&results, 200);
    Resp::json(status, &json!({"data": results}))
}

fn delete_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str, ids: &[String]) -> Resp {
    if ids.len() > MAX_WRITE {
        return limit_exceeded(MAX_WRITE);
    }
    let mut results = Vec::new();
    for id in ids {
        let pos = org.records.get(module).and_then(|v| v.iter().position(|r| r.id == *id));
        match pos {
            None => {
                results.push(item_error("INVALID_DATA", "the related id given seems to be invalid", json!({"id": id})))
            }
            Some(p) => {
                let Some(rec) = org.records.get_mut(module).map(|v| v.remove(p)) else {
                    continue;
                };
                let entry = json!({
                    "deleted_by": ctx.me_ref(),
                    "id": rec.id,
                    "display_name": display_name_of(org, module, &rec),
                    "type": "recycle",
                    "created_by": rec.data.get("Created_By").cloned().unwrap_or(Value::Null),
                    "deleted_time": format_iso(ctx.now_s, org.offset_secs)
                });
                org.deleted.entry(module).or_default().push((ctx.now_s, entry));
                results.push(
                    json!({"code": "SUCCESS", "details": {"id": id}, "message": "record deleted", "status": "success"}),
                );
            }
        }
    }
    let status = write_status(&results, 200);
    Resp::json(status, &json!({"data": results}))
}

fn display_name_of(org: &Org, module: &str, r: &Rec) -> String {
    org.module(module)
        .map(|m| {
            m.def.display.iter().filter_map(|k| r.data.get(*k).and_then(Value::as_str)).collect::<Vec<_>>().join(" ")
        })
        .unwrap_or_default()
}

fn upsert_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let items = match write_items(ctx, "data") {
        Ok(i) => i,
        Err(r) => return r,
    };
    let body = ctx.body().unwrap_or(Value::Null);
    let dup_fields: Vec<&'static str> = match body.get("duplicate_check_fields") {
        None | Some(Value::Null) => org.module(module).map(|m| m.def.dup_check.to_vec()).unwrap_or_default(),
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for f in a {
                match f.as_str().and_then(|n| org.field(module, n)) {
                    Some(fd) => out.push(fd.api_name),
                    None => {
                        return Resp::zoho_error(
                            400,
                            "INVALID_DATA",
                            "invalid data",
                            json!({"api_name": "duplicate_check_fields"}),
                        );
                    }
                }
            }
            out
        }
        Some(_) => {
            return Resp::zoho_error(
                400,
                "INVALID_DATA",
                "invalid data",
                json!({"api_name": "duplicate_check_fields"}),
            );
        }
    };
    let mut results = Vec::new();
    for item in items {
        let Some(obj) = item.as_object() else {
            results.push(item_error("INVALID_DATA", "invalid data", json!({})));
            continue;
        };
        // The first duplicate-check field whose value matches an existing record.
        let mut found: Option<(String, &'static str)> = None;
        for f in &dup_fields {
            let Some(want) = obj.get(*f).filter(|v| !v.is_null()) else {
                continue;
            };
            let want = criteria::value_strings(want).into_iter().next().unwrap_or_default().to_lowercase();
            let hit = org.records.get(module).and_then(|v| {
                v.iter().find(|r| {
                    r.data
                        .get(*f)
                        .map(criteria::value_strings)
                        .unwrap_or_default()
                        .iter()
                        .any(|h| h.to_lowercase() == want)
                })
            });
            if let Some(r) = hit {
                found = Some((r.id.clone(), f));
                break;
            }
        }
        let insert = found.is_none();
        let values = match validate(org, module, obj, insert) {
            Ok(v) => v,
            Err(e) => {
                results.push(e);
                continue;
            }
        };
        match found {
            Some((id, field)) => {
                if let Some(rec) = apply_update(org, ctx, module, &id, values) {
                    results.push(json!({"code": "SUCCESS", "duplicate_field": field, "action": "update", "details": write_details(&rec), "message": "record updated", "status": "success"}));
                }
            }
            None => {
                let rec = create_record(org, ctx, module, values);
                results.push(json!({"code": "SUCCESS", "duplicate_field": null, "action": "insert", "details": write_details(&rec), "message": "record added", "status": "success"}));
            }
        }
    }
    let status = write_status(&results, 200);
    Resp::json(status, &json!({"data": results}))
}

/// A record test.
pub(crate) type Matcher = Box<dyn Fn(&Rec) -> bool>;

/// The search parameters of a request (`criteria`, else `email`, else `phone`, else `word`) as a
/// record test; `Ok(None)` when none is given.
pub(crate) fn search_matcher(org: &Org, ctx: &Ctx<'_>, module: &'static str) -> Result<Option<Matcher>, Resp> {
    let Some(m) = org.module(module) else {
        return Err(invalid_module(json!({"resource_path_index": 0})));
    };
    let fields = m.def.fields;
    let q = |k: &str| ctx.req.query_param(k).filter(|v| !v.trim().is_empty());
    let matcher: Matcher = if let Some(c) = q("criteria") {
        let expr = match criteria::parse(&c) {
            Ok(e) => e,
            Err(e) => {
                return Err(Resp::zoho_error(
                    400,
                    "INVALID_QUERY",
                    "invalid query formed",
                    json!({"reason": e.reason, "api_name": e.api_name}),
                ));
            }
        };
        for f in criteria::fields(&expr) {
            if !f.eq_ignore_ascii_case("id") && !fields.iter().any(|fd| fd.api_name.eq_ignore_ascii_case(f)) {
                return Err(Resp::zoho_error(
                    400,
                    "INVALID_QUERY",
                    "invalid query formed",
                    json!({"reason": "the field is not available for search", "api_name": f}),
                ));
            }
        }
        Box::new(move |r: &Rec| {
            criteria::matches(&expr, &|name: &str| {
                r.data.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
            })
        })
    } else if let Some(email) = q("email") {
        let email = email.to_lowercase();
        Box::new(move |r: &Rec| {
            fields
                .iter()
                .filter(|f| f.data_type == "email")
                .any(|f| r.data.get(f.api_name).and_then(Value::as_str).is_some_and(|v| v.to_lowercase() == email))
        })
    } else if let Some(phone) = q("phone") {
        Box::new(move |r: &Rec| {
            fields
                .iter()
                .filter(|f| f.data_type == "phone")
                .any(|f| r.data.get(f.api_name).and_then(Value::as_str).is_some_and(|v| v == phone))
        })
    } else if let Some(word) = q("word") {
        let word = word.to_lowercase();
        Box::new(move |r: &Rec| r.data.values().any(|v| v.as_str().is_some_and(|s| s.to_lowercase().contains(&word))))
    } else {
        return Ok(None);
    };
    Ok(Some(matcher))
}

fn search_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let (page, per_page) = match ctx.paging() {
        Ok(p) => p,
        Err(r) => return r,
    };
    let keep = match state_filter(ctx) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let matcher = match search_matcher(org, ctx, module) {
        Ok(Some(m)) => m,
        Ok(None) => return required_param("criteria"),
        Err(r) => return r,
    };
    let fields = fields_param(ctx);
    let empty = Vec::new();
    let hits: Vec<Value> = org
        .records
        .get(module)
        .unwrap_or(&empty)
        .iter()
        .filter(|r| keep(r) && matcher(r))
        .map(|r| match (&fields, ctx.v8) {
            (Some(f), true) => project(r, Some(f)),
            _ => ctx.out(org, super::crm_v8::Shape::Record(module), &r.data),
        })
        .collect();
    if ctx.v8 {
        return super::crm_v8::search_page(hits, page, per_page);
    }
    page_of("data", hits, page, per_page)
}

fn deleted_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let (page, per_page) = match ctx.paging() {
        Ok(p) => p,
        Err(r) => return r,
    };
    let kind = ctx.req.query_param("type").unwrap_or_else(|| "all".to_owned());
    if !["all", "recycle", "permanent"].contains(&kind.as_str()) {
        return invalid_param("type", "invalid data");
    }
    let items: Vec<Value> = org
        .deleted
        .get(module)
        .into_iter()
        .flatten()
        .filter(|(_, e)| kind == "all" || e.get("type").and_then(Value::as_str) == Some(kind.as_str()))
        .rev()
        .map(|(_, e)| e.clone())
        .collect();
    page_of("data", items, page, per_page)
}
