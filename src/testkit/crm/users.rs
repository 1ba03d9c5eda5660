//! `/crm/v2/users` and `/crm/v8/users`: list (by `type`), get, add, update and delete CRM users.

use serde_json::{Value, json};

use super::ctx::{Ctx, invalid_param, item_error, no_permission, page_of, write_items, write_status};
use super::shape::Shape;
use crate::testkit::seed::{self, NewCrmUser};
use crate::testkit::state::{self, CrmUser, Org};
use crate::testkit::time::format_iso;
use crate::testkit::wire::Resp;

pub(super) fn user_matches(u: &CrmUser, kind: &str, me: &str) -> Option<bool> {
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

pub(super) fn list_users(org: &Org, ctx: &Ctx<'_>) -> Resp {
    let kind = ctx.req.query_param("type").unwrap_or_else(|| "AllUsers".to_owned());
    let (page, per_page) = or_answer!(ctx.paging());
    let ims = or_answer!(ctx.if_modified_since());
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
    let users = users.into_iter().map(|u| ctx.out(org, Shape::User, &u.json)).collect();
    page_of("users", users, page, per_page)
}

pub(super) fn get_user(org: &Org, ctx: &Ctx<'_>, id: &str) -> Resp {
    let ims = or_answer!(ctx.if_modified_since());
    match org.users.iter().find(|u| u.id == id) {
        None => Resp::empty(204),
        Some(u) if ims.is_some_and(|t| u.modified_s <= t) => Resp::empty(304),
        Some(u) => Resp::json(200, &json!({"users": [ctx.out(org, Shape::User, &u.json)]})),
    }
}

/// The `{name, id}` of a role or profile given as an id string or `{id}`.
pub(super) fn resolve_ref(list: &[(String, String)], v: &Value) -> Option<Value> {
    let id = v.as_str().or_else(|| v.get("id").and_then(Value::as_str))?;
    list.iter().find(|(_, i)| i == id).map(|(n, i)| json!({"name": n, "id": i}))
}

pub(super) fn add_users(org: &mut Org, ctx: &Ctx<'_>) -> Resp {
    if !ctx.me.admin {
        return no_permission("Crm_Implied_Manage_Users".to_owned());
    }
    let items = or_answer!(write_items(ctx, "users"));
    let mut results = Vec::new();
    for item in items {
        results.push(add_one_user(org, ctx, &item));
    }
    let status = write_status(&results, 201);
    Resp::json(status, &json!({"users": results}))
}

pub(super) fn add_one_user(org: &mut Org, ctx: &Ctx<'_>, item: &Value) -> Value {
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
    let new = NewCrmUser { role: "CEO", profile: "Administrator", status: "active", confirm: false };
    let mut user = seed::new_crm_user(org, &account, &new, ctx.now_s);
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

pub(super) fn update_users(org: &mut Org, ctx: &Ctx<'_>, path_id: Option<String>) -> Resp {
    if !ctx.me.admin {
        return no_permission("Crm_Implied_Manage_Users".to_owned());
    }
    let mut items = or_answer!(write_items(ctx, "users"));
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

pub(super) fn update_one_user(org: &mut Org, ctx: &Ctx<'_>, item: &Value) -> Value {
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

pub(super) fn delete_user(org: &mut Org, ctx: &Ctx<'_>, id: &str) -> Resp {
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
