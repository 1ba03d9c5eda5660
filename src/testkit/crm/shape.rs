//! The CRM v8 shapes of users, org, modules, fields, layouts and records: every property of
//! Zoho's v8 OpenAPI schemas, `$`-prefixed record metadata as in Zoho's v7/v8 samples.
//!
//! The schema templates (`src/testkit/v8_shapes.json`) list every property of Zoho's `users`,
//! `modules`, `fields`, `layouts` and `Org` schemas (crm-oas `v8.0/*.json`, nested objects two
//! levels deep); a key the simulator has no value for answers `null` (`false` for booleans, `[]`
//! for arrays): Zoho's own answer for an unset property, as far as its samples show.

use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use crate::testkit::state::{Org, OrgModule};

/// What kind of object is being shaped.
#[derive(Clone, Copy)]
pub(crate) enum Shape {
    User,
    Field,
    Layout,
    /// A record of this module.
    Record(&'static str),
}

pub(super) fn templates() -> &'static Map<String, Value> {
    static T: OnceLock<Map<String, Value>> = OnceLock::new();
    T.get_or_init(|| serde_json::from_str(include_str!("../v8_shapes.json")).unwrap_or_default())
}

pub(super) fn template(name: &str) -> Option<&'static Map<String, Value>> {
    templates().get(name).and_then(Value::as_object)
}

/// Adds every key of `template` missing from `target`, recursing into objects both have.
pub(super) fn merge_missing(target: &mut Map<String, Value>, template: &Map<String, Value>) {
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
pub(super) fn user_ref(org: &Org, v: &Value) -> Value {
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

pub(super) fn layout_id(org: &Org, module: &str) -> Value {
    org.module(module).and_then(|m| m.layouts.first()).and_then(|l| l.get("id")).cloned().unwrap_or(Value::Null)
}

/// A record key and how to make its default value.
pub(super) type MetaKey = (&'static str, fn() -> Value);

/// The `$`-keys every v8 record carries (Zoho's v7/v8 search and get-records samples).
pub(super) const RECORD_META: &[MetaKey] = &[
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
pub(super) fn module_shape(m: &OrgModule, detail: bool) -> Value {
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
