//! Module metadata: `settings/modules`, `settings/fields` and `settings/layouts` in the v2 and
//! v8 shapes.

use serde_json::{Value, json};

use super::ctx::{Ctx, invalid_module, required_param};
use super::shape::{Shape, module_shape, shape_value};
use crate::testkit::state::Org;
use crate::testkit::wire::Resp;

pub(super) fn list_modules(org: &Org, ctx: &Ctx<'_>) -> Resp {
    match ctx.if_modified_since() {
        Err(r) => r,
        Ok(Some(t)) if org.metadata_modified_s <= t => Resp::empty(304),
        Ok(_) => Resp::json(200, &json!({"modules": org.modules.iter().map(|m| m.json.clone()).collect::<Vec<_>>()})),
    }
}

/// `settings/fields` and `settings/layouts` (`?module=`, optionally one by id).
pub(super) fn metadata(org: &Org, ctx: &Ctx<'_>, what: &str, id: Option<String>) -> Resp {
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
        let kind = if what == "fields" { Shape::Field } else { Shape::Layout };
        items = items.iter().map(|v| shape_value(org, kind, v)).collect();
    }
    if items.is_empty() {
        return Resp::empty(204);
    }
    Resp::json(200, &json!({what: items}))
}

/// `GET /crm/v8/settings/modules` (304 with `If-Modified-Since` as in v2).
pub(super) fn list_modules_v8(org: &Org, ctx: &Ctx<'_>) -> Resp {
    match ctx.if_modified_since() {
        Err(r) => r,
        Ok(Some(t)) if org.metadata_modified_s <= t => Resp::empty(304),
        Ok(_) => {
            Resp::json(200, &json!({"modules": org.modules.iter().map(|m| module_shape(m, false)).collect::<Vec<_>>()}))
        }
    }
}

/// `GET /crm/v8/settings/modules/{api_name}`.
pub(super) fn get_module_v8(org: &Org, name: &str) -> Resp {
    match org.module(name) {
        Some(m) => Resp::json(200, &json!({"modules": [module_shape(m, true)]})),
        None => invalid_module(json!({"resource_path_index": 2})),
    }
}
