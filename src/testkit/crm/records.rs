//! Records of any module: list, get, insert, update, delete, upsert and the deleted-records list,
//! with field validation against the module's definition.

use serde_json::{Map, Value, json};

use super::ctx::{
    Ctx, MAX_WRITE, compare_values, fields_param, invalid_param, item_error, limit_exceeded, listed, page_of_with,
    project, projected, state_filter, write_items, write_status,
};
use super::shape::Shape;
use crate::testkit::criteria;
use crate::testkit::schema::FieldDef;
use crate::testkit::state::{self, Org, Rec};
use crate::testkit::time::{format_iso, parse_iso};
use crate::testkit::wire::Resp;

pub(super) fn list_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let (page, per_page) = or_answer!(ctx.paging());
    let ims = or_answer!(ctx.if_modified_since());
    let keep = or_answer!(state_filter(ctx));
    let ids: Option<Vec<String>> =
        ctx.req.query_param("ids").map(|s| s.split(',').map(|x| x.trim().to_owned()).collect());
    let mut recs = listed(org, module, keep, ids.as_deref());
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
            let o = compare_values(a.data().get(key), b.data().get(key));
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
    page_of_with("data", recs, page, per_page, |r| projected(r, fields.as_deref()))
}

pub(super) fn get_record(org: &mut Org, ctx: &Ctx<'_>, module: &'static str, id: &str) -> Resp {
    let ims = or_answer!(ctx.if_modified_since());
    let fields = fields_param(ctx);
    match org.records.get(module).and_then(|v| v.iter().find(|r| r.id == id)) {
        None => Resp::empty(204),
        Some(r) if ims.is_some_and(|t| r.modified_s <= t) => Resp::empty(304),
        Some(r) if ctx.v8 && fields.is_none() => {
            Resp::json(200, &json!({"data": [ctx.out(org, Shape::Record(module), r.data())]}))
        }
        Some(r) => Resp::json(200, &json!({"data": [project(r, fields.as_deref())]})),
    }
}

/// Checks and normalizes one input value against its field's data type.
pub(super) fn check_value(org: &Org, fd: &FieldDef, v: &Value) -> Result<Value, Value> {
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

pub(super) fn display_name(org: &Org, r: &Rec) -> String {
    for m in &org.modules {
        if org.records.get(m.def.api_name).is_some_and(|v| v.iter().any(|x| x.id == r.id)) {
            return m
                .def
                .display
                .iter()
                .filter_map(|k| r.data().get(*k).and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    String::new()
}

/// Validates an input record's fields; returns the normalized values to set.
pub(super) fn validate(
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

pub(super) fn write_details(r: &Rec) -> Value {
    json!({
        "Modified_Time": r.data().get("Modified_Time"),
        "Modified_By": r.data().get("Modified_By"),
        "Created_Time": r.data().get("Created_Time"),
        "id": r.id,
        "Created_By": r.data().get("Created_By"),
        "$approval_state": "approved"
    })
}

pub(super) fn create_record(
    org: &mut Org,
    ctx: &Ctx<'_>,
    module: &'static str,
    values: Vec<(&'static str, Value)>,
) -> Rec {
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
    let rec = Rec::new(id, data, ctx.now_s);
    org.push_record(module, rec.clone());
    rec
}

pub(super) fn apply_update(
    org: &mut Org,
    ctx: &Ctx<'_>,
    module: &'static str,
    id: &str,
    values: Vec<(&'static str, Value)>,
) -> Option<Rec> {
    let stamp = format_iso(ctx.now_s, org.offset_secs);
    let me = ctx.me_ref();
    let rec = org.records.get_mut(module)?.iter_mut().find(|r| r.id == id)?;
    rec.update(|data| {
        for (k, v) in values {
            data.insert(k.to_owned(), v);
        }
        data.insert("Modified_Time".into(), Value::String(stamp));
        data.insert("Modified_By".into(), me);
        state::derive_fields(module, data);
    });
    rec.modified_s = ctx.now_s;
    Some(rec.clone())
}

pub(super) fn insert_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let items = or_answer!(write_items(ctx, "data"));
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

pub(super) fn update_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str, path_id: Option<&str>) -> Resp {
    let mut items = or_answer!(write_items(ctx, "data"));
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

pub(super) fn delete_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str, ids: &[String]) -> Resp {
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
                    "created_by": rec.data().get("Created_By").cloned().unwrap_or(Value::Null),
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

pub(super) fn display_name_of(org: &Org, module: &str, r: &Rec) -> String {
    org.module(module)
        .map(|m| {
            m.def.display.iter().filter_map(|k| r.data().get(*k).and_then(Value::as_str)).collect::<Vec<_>>().join(" ")
        })
        .unwrap_or_default()
}

pub(super) fn upsert_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let items = or_answer!(write_items(ctx, "data"));
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
                    r.data()
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

pub(super) fn deleted_records(org: &mut Org, ctx: &Ctx<'_>, module: &'static str) -> Resp {
    let (page, per_page) = or_answer!(ctx.paging());
    let kind = ctx.req.query_param("type").unwrap_or_else(|| "all".to_owned());
    if !["all", "recycle", "permanent"].contains(&kind.as_str()) {
        return invalid_param("type", "invalid data");
    }
    let items: Vec<&Value> = org
        .deleted
        .get(module)
        .into_iter()
        .flatten()
        .filter(|(_, e)| kind == "all" || e.get("type").and_then(Value::as_str) == Some(kind.as_str()))
        .rev()
        .map(|(_, e)| e)
        .collect();
    page_of_with("data", items, page, per_page, |e| e)
}
