//! The simulated CRM API (v2 and v8) of each data center and environment: token and scope
//! checks, users, org, module metadata, records (list, get, write, upsert, search, deleted),
//! pagination, 204, 304, and Zoho's error envelopes.
//!
//! This module is the router: it parses the path into an operation, checks the token, the
//! scopes and the caller, and hands the request to the handler of its concern. Layers inside
//! `crm` (a module imports only from the ones below it):
//!
//! 1. `ctx` (request context, paging, scopes, error envelopes) and `shape` (v8's payload shapes);
//! 2. `users`, `metadata`, `records`, `search`: the handlers v2 and v8 share;
//! 3. `v8` (what v8 answers differently for records: mandatory `fields`, page tokens,
//!    `actions/count`; uses `search`) and `coql` (`POST /crm/v8/coql`);
//! 4. this router.

/// The value of a `Result<T, Resp>`, or returns its error answer from the handler.
macro_rules! or_answer {
    ($result:expr) => {
        match $result {
            Ok(value) => value,
            Err(answer) => return answer,
        }
    };
}

mod coql;
mod ctx;
mod metadata;
mod records;
mod search;
mod shape;
mod users;
mod v8;

use serde_json::{Value, json};

use crate::dc::{DataCenter, Environment};

use super::seed;
use super::shared::Shared;
use super::state::TokenRejection;
use super::types::Route;
use super::wire::{Req, Resp};
use ctx::{Ctx, Kind, Me, has_scope, invalid_module, invalid_url, record_scopes, required_param, with_module};
use metadata::{list_modules, metadata};
use records::{
    delete_records, deleted_records, get_record, insert_records, list_records, update_records, upsert_records,
};
use search::search_records;
use users::{add_users, delete_user, get_user, list_users, update_users};

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
        Op::Coql => has_scope(scopes, &coql::SCOPES.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()),
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
    let org = seed::org(&mut st, dc, env);
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
        Op::Org if v8 => Resp::json(200, &json!({"org": [shape::org_shape(&org.org_json)]})),
        Op::ListModules if v8 => metadata::list_modules_v8(org, &ctx),
        Op::GetModule(name) if v8 => metadata::get_module_v8(org, &name),
        Op::ListRecords(m) if v8 => with_module(org, &ctx, &m, Kind::Read, v8::list_records),
        Op::Count(m) => with_module(org, &ctx, &m, Kind::Read, v8::count_records),
        Op::Coql => coql::handle(org, &ctx),
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
