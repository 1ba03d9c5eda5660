//! The JSON payloads of seeded users, org, modules, fields and layouts, shaped like Zoho's own
//! (tests/fixtures/zoho/*.json).

use serde_json::{Map, Value, json};

use crate::testkit::schema::{FieldDef, ModuleDef};
use crate::testkit::state::Org;

/// The inputs of one user object.
pub(crate) struct UserFields<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub first: &'a str,
    pub last: &'a str,
    pub zuid: Option<&'a str>,
    pub role: Value,
    pub profile: Value,
    pub status: &'a str,
    pub confirm: bool,
    pub country: &'a str,
    pub currency: &'a str,
    pub time_zone: &'a str,
    pub offset_secs: i32,
    pub created: &'a str,
    pub creator: &'a (String, String),
}

/// A v2 user object with the full key set of users_list.json.
pub(crate) fn user_json(u: &UserFields<'_>) -> Map<String, Value> {
    let full_name = format!("{} {}", u.first, u.last).trim().to_owned();
    let by = json!({"name": u.creator.0, "id": u.creator.1});
    let v = json!({
        "country": u.country,
        "customize_info": {"notes_desc": null, "show_right_panel": null, "bc_view": null, "show_home": false, "show_detail_view": true, "unpin_recent_item": null},
        "role": u.role,
        "signature": null,
        "city": null,
        "name_format": "Salutation,First Name,Last Name",
        "language": "en_US",
        "locale": "en_US",
        "microsoft": false,
        "personal_account": false,
        "default_tab_group": "0",
        "Isonline": false,
        "Modified_By": by,
        "street": null,
        "Currency": u.currency,
        "alias": null,
        "theme": {
            "normal_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "selected_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "new_background": null,
            "background": "#F3F0EB",
            "screen": "fixed",
            "type": "default"
        }
    });
    let rest = json!({
        "id": u.id,
        "state": null,
        "fax": null,
        "country_locale": u.country,
        "first_name": u.first,
        "email": u.email,
        "Reporting_To": null,
        "decimal_separator": "Comma",
        "zip": null,
        "created_time": u.created,
        "website": null,
        "Modified_Time": u.created,
        "time_format": "hh:mm a",
        "offset": i64::from(u.offset_secs) * 1000,
        "profile": u.profile,
        "mobile": null,
        "last_name": u.last,
        "time_zone": u.time_zone,
        "created_by": by,
        "zuid": u.zuid,
        "confirm": u.confirm,
        "full_name": full_name,
        "territories": [],
        "phone": null,
        "dob": null,
        "date_format": "MM/dd/yyyy",
        "status": u.status
    });
    let mut out = match v {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    if let Value::Object(m) = rest {
        out.extend(m);
    }
    out
}

/// What an org's JSON says about the company besides the org's own fields.
pub(super) struct OrgProfile<'a> {
    pub company: &'a str,
    /// Country code.
    pub country: &'a str,
    pub currency: &'a str,
    pub symbol: &'a str,
    pub time_zone: &'a str,
    pub primary_zuid: Option<&'a str>,
}

/// The `GET /crm/v2/org` object of `org`.
pub(super) fn org_json(org: &Org, p: &OrgProfile<'_>) -> Value {
    let OrgProfile { company, country, currency, symbol, time_zone: tz, primary_zuid } = *p;
    let email = org.users.first().map(|u| u.email.clone());
    json!({
        "country": country,
        "photo_id": null,
        "city": null,
        "description": null,
        "mc_status": false,
        "gapps_enabled": false,
        "domain_name": format!("org{}", org.prefix),
        "translation_enabled": true,
        "street": null,
        "alias": null,
        "currency": currency,
        "id": org.id,
        "state": null,
        "fax": null,
        "employee_count": "25",
        "zip": null,
        "website": "www.zylker.example",
        "currency_symbol": symbol,
        "mobile": null,
        "currency_locale": format!("en_{country}"),
        "primary_zuid": primary_zuid,
        "zia_portal_id": null,
        "time_zone": tz,
        "zgid": format!("{}", org.prefix * 100 + 7),
        "country_code": country,
        "license_details": {
            "paid_expiry": null,
            "users_license_purchased": 10,
            "trial_type": null,
            "trial_expiry": null,
            "paid": true,
            "paid_type": "enterprise"
        },
        "phone": null,
        "company_name": company,
        "privacy_settings": false,
        "primary_email": email,
        "iso_code": currency
    })
}

pub(super) fn module_json(
    def: &ModuleDef,
    id: &str,
    modified: Option<&str>,
    owner: &(String, String),
    profiles: &[(String, String)],
) -> Value {
    let supported = def.api_supported;
    json!({
        "has_more_profiles": false,
        "access_type": "org_based",
        "private_profile": null,
        "global_search_supported": supported,
        "deletable": supported,
        "description": null,
        "creatable": supported,
        "recycle_bin_on_delete": supported,
        "modified_time": modified,
        "plural_label": def.plural,
        "presence_sub_menu": supported,
        "actual_plural_label": def.plural,
        "lookupable": supported,
        "id": id,
        "isBlueprintSupported": supported,
        "visibility": 1,
        "convertable": def.api_name == "Leads",
        "sub_menu_available": supported,
        "editable": supported,
        "actual_singular_label": def.singular,
        "profiles": profiles.iter().map(|(n, i)| json!({"name": n, "id": i})).collect::<Vec<_>>(),
        "show_as_tab": def.status == "visible",
        "web_link": null,
        "sequence_number": def.sequence,
        "singular_label": def.singular,
        "viewable": true,
        "api_supported": supported,
        "api_name": def.api_name,
        "quick_create": supported,
        "modified_by": modified.map(|_| json!({"name": owner.0, "id": owner.1})),
        "generated_type": "default",
        "feeds_required": false,
        "public_fields_configured": false,
        "arguments": [],
        "module_name": def.api_name,
        "profile_count": profiles.len(),
        "business_card_field_limit": 5,
        "parent_module": {},
        "status": def.status
    })
}

fn json_type(data_type: &str) -> &'static str {
    match data_type {
        "integer" | "bigint" => "integer",
        "double" | "currency" => "double",
        "boolean" => "boolean",
        "lookup" | "ownerlookup" => "jsonobject",
        "multiselectlookup" => "jsonarray",
        _ => "string",
    }
}

/// A v2 field object (settings/fields).
pub(crate) fn field_json(fd: &FieldDef, id: &str) -> Value {
    let length = match fd.data_type {
        "textarea" => 32_000,
        "email" | "website" | "phone" => 100,
        "integer" => 9,
        "bigint" => 18,
        "currency" | "double" => 16,
        "picklist" => 120,
        _ => 255,
    };
    json!({
        "system_mandatory": fd.mandatory,
        "webhook": true,
        "json_type": json_type(fd.data_type),
        "crypt": null,
        "field_label": fd.label,
        "tooltip": null,
        "created_source": "default",
        "field_read_only": fd.read_only,
        "display_label": fd.label,
        "read_only": fd.read_only,
        "association_details": null,
        "businesscard_supported": !fd.read_only,
        "multi_module_lookup": {},
        "currency": if fd.data_type == "currency" { json!({"rounding_option": "normal", "precision": 2}) } else { json!({}) },
        "id": id,
        "custom_field": false,
        "lookup": {},
        "visible": true,
        "length": length,
        "view_type": {"view": true, "edit": !fd.read_only, "quick_create": fd.mandatory, "create": !fd.read_only},
        "subform": null,
        "api_name": fd.api_name,
        "unique": {},
        "history_tracking": false,
        "data_type": fd.data_type,
        "formula": {},
        "decimal_place": if matches!(fd.data_type, "currency" | "double") { json!(2) } else { Value::Null },
        "mass_update": !fd.read_only,
        "blueprint_supported": false,
        "multiselectlookup": {},
        "pick_list_values": fd.picklist.iter().enumerate().map(|(i, v)| json!({"display_value": v, "sequence_number": i + 1, "actual_value": v, "maps": []})).collect::<Vec<_>>(),
        "auto_number": {},
        "default_value": null,
        "validation_rule": null,
        "convert_mapping": {}
    })
}

/// What a module's standard layout is made of.
pub(super) struct LayoutParts<'a> {
    pub def: &'a ModuleDef,
    pub id: &'a str,
    pub fields: &'a [Value],
    pub owner: &'a (String, String),
    pub profiles: &'a [(String, String)],
    pub time: &'a str,
}

/// The module's one layout, `Standard`, with every field in one section.
pub(super) fn layout_json(p: &LayoutParts<'_>) -> Value {
    let LayoutParts { def, id, fields, owner, profiles, time } = *p;
    let section = format!("{} Information", def.singular);
    json!({
        "created_time": time,
        "convert_mapping": {},
        "visible": true,
        "created_for": null,
        "profiles": profiles.iter().map(|(n, i)| json!({"default": true, "name": n, "id": i})).collect::<Vec<_>>(),
        "name": "Standard",
        "modified_time": time,
        "modified_by": {"name": owner.0, "id": owner.1},
        "id": id,
        "created_by": {"name": owner.0, "id": owner.1},
        "sections": [{
            "display_label": section,
            "sequence_number": 1,
            "issubformsection": false,
            "tab_traversal": 1,
            "api_name": section,
            "column_count": 2,
            "name": section,
            "generated_type": "default",
            "fields": fields
        }],
        "status": 1
    })
}
