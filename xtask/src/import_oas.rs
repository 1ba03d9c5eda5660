//! `cargo xtask import-oas`: turns Zoho's own CRM v8 OpenAPI files (`zoho/crm-oas`, `v8.0/`)
//! into one self-contained, progenitor-0.15-ready spec per feature group under `spec/crm-v8/`,
//! plus `spec/crm-v8/IMPORT-REPORT.md` saying what was changed, what was left out and why.
//!
//! Every step is a pure function on `serde_json::Value`s (sorted maps), so the same input gives
//! byte-identical output. The steps, each unit-tested below:
//!
//! 1. every `$ref` is made absolute (`file.json#/components/...`): local refs and Zoho's
//!    `https://raw.githubusercontent.com/.../v8.0/<file>.json#...` URLs alike;
//! 2. parameters, request bodies and responses are inlined into the operations; only schemas
//!    stay under `components`, renamed to names that are unique once typify turns them into
//!    Rust types (a collision is qualified with the file it comes from);
//! 3. each operation gets a unique snake_case `operationId`, one success schema (204/304 are
//!    dropped: `zohocrm::nocontent` handles them), one error envelope for all 4XX/5XX answers,
//!    a schema for schema-less bodies, path parameters that match its path;
//! 4. schemas reachable from a success response are opened: `additionalProperties: {}`, no
//!    `required`, no enums, no value constraints, so a field or value Zoho adds never breaks a
//!    response; request enums whose values collide as Rust identifiers become plain strings;
//! 5. what progenitor 0.15.1 cannot generate (multipart bodies, two operations on one route) is
//!    left out with its reason.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

/// One cargo feature's worth of Zoho files, generated into one client.
#[derive(Debug)]
pub struct Group {
    /// Short name: `spec/crm-v8/<name>.json`, `generated/crm_v8_<name>.rs`, `zohocrm::crm_v8::<name>`.
    pub name: &'static str,
    /// The cargo feature that generates it.
    pub feature: &'static str,
    /// What it covers, for the spec's `info.description`.
    pub about: &'static str,
    /// Zoho's files, in priority order: on a route declared twice, the earlier file wins.
    pub files: &'static [&'static str],
}

/// The groups. Every file of `v8.0/` belongs to exactly one (checked on import).
pub const GROUPS: &[Group] = &[
    Group {
        name: "core",
        feature: "v8-core",
        about: "users, modules, fields, layouts, org, records (get, list, insert, update, upsert, delete, search, deleted, count) and COQL",
        files: &[
            "record.json",
            "users.json",
            "modules.json",
            "fields.json",
            "layouts.json",
            "org.json",
            "coql.json",
            "record_count.json",
            "module_search.json",
        ],
    },
    Group {
        name: "records",
        feature: "v8-records",
        about: "notes, attachments, related records, tags, photos, conversion, owners, sharing, locking, timelines, recycle bin, enrichment",
        files: &[
            "notes.json",
            "contact_roles.json",
            "attachments.json",
            "related_records.json",
            "tags.json",
            "mass_delete_tags.json",
            "record_photo.json",
            "record_locking.json",
            "convert_lead.json",
            "inventory_convert.json",
            "change_owner.json",
            "share_records.json",
            "timelines.json",
            "blueprint.json",
            "cadences_execution.json",
            "entity_scores.json",
            "find_and_merge.json",
            "fetch_full_data.json",
            "field_attachments.json",
            "download_attachments.json",
            "download_inline_images.json",
            "files.json",
            "reschedule_history.json",
            "cancel_meetings.json",
            "recycle_bin.json",
            "zia_org_enrichment.json",
            "zia_people_enrichment.json",
        ],
    },
    Group {
        name: "settings",
        feature: "v8-settings",
        about: "setup metadata: views, related lists, profiles, roles, territories, groups, picklists, pipelines, currencies, hours, variables, rules, portals and preferences",
        files: &[
            "custom_views.json",
            "related_lists.json",
            "profiles.json",
            "roles.json",
            "territories.json",
            "territory_users.json",
            "users_territories.json",
            "user_groups.json",
            "user_type_users.json",
            "users_transfer_delete.json",
            "users_unavailability.json",
            "pick_list_values.json",
            "global_picklists.json",
            "pipeline.json",
            "currencies.json",
            "available_currencies.json",
            "business_hours.json",
            "holidays.json",
            "shift_hours.json",
            "fiscal_year.json",
            "features.json",
            "variables.json",
            "variable_groups.json",
            "wizards.json",
            "sharing_rules.json",
            "assignment_rules.json",
            "scoring_rules.json",
            "duplicate_check_preference.json",
            "field_map_dependency.json",
            "conversion_option.json",
            "record_locking_configuration.json",
            "call_preferences.json",
            "service_preference.json",
            "appointment_preference.json",
            "services.json",
            "inventory_templates.json",
            "cadences.json",
            "portals.json",
            "portals_meta.json",
            "portal_invite.json",
            "portal_user_type.json",
            "notifications.json",
            "apis.json",
            "common.json",
        ],
    },
    Group {
        name: "bulk",
        feature: "v8-bulk",
        about: "bulk read and write, mass update, convert, delete and owner change, composite requests, backup, audit log export",
        files: &[
            "bulk_read.json",
            "bulk_write.json",
            "mass_update.json",
            "mass_convert.json",
            "mass_change_owner.json",
            "mass_delete_cvid.json",
            "inventory_mass_convert.json",
            "composite_requests.json",
            "backup.json",
            "audit_log_export.json",
        ],
    },
    Group {
        name: "email",
        feature: "v8-email",
        about: "send mail, drafts, templates, compose, from addresses, related emails, sharing, unsubscribe links, mail merge",
        files: &[
            "send_mail.json",
            "email_compose.json",
            "email_drafts.json",
            "email_related_records.json",
            "email_sharing_details.json",
            "email_templates.json",
            "from_addresses.json",
            "associate_email.json",
            "unblock_email.json",
            "unsubscribe_links.json",
            "record_share_email.json",
            "mail_merge.json",
        ],
    },
];

/// Name of the one error schema every operation declares for its 4XX/5XX answers.
pub const ERROR_ENVELOPE: &str = "ErrorEnvelope";

/// Known defects of Zoho's files, fixed by pointing a dangling reference at the same definition
/// elsewhere: (file, dangling ref, replacement).
const DANGLING_FIXES: &[(&str, &str, &str)] = &[(
    "notes.json",
    "#/components/parameters/If-Modified-Since",
    "record.json#/components/parameters/If-Modified-Since",
)];

/// Known defects of Zoho's files where a reference points at the wrong definition: (file, JSON
/// pointer of the `$ref`, the right reference, why).
const WRONG_REF_FIXES: &[(&str, &str, &str, &str)] = &[(
    "user_groups.json",
    "/paths/~1crm~1v8~1settings~1user_groups/get/responses/200/$ref",
    "#/components/responses/UserGroups",
    "Get Groups' 200 pointed at UnsupportedVersionResponse; its list is the file's UserGroups response",
)];

const METHODS: &[&str] = &["get", "put", "post", "delete", "patch"];

/// Zoho's files by name, as parsed JSON, plus the order their operations are written in.
#[derive(Debug, Default)]
pub struct Source {
    /// `v8.0/<name>.json` → document, every `$ref` made absolute.
    pub files: BTreeMap<String, Value>,
    /// `(file, operationId)` → position in the file as Zoho wrote it (serde_json sorts keys).
    pub order: BTreeMap<(String, String), usize>,
    /// Commit of the source checkout.
    pub commit: String,
}

impl Source {
    /// Parses files given as `(name, text)`.
    pub fn from_texts(texts: &[(String, String)], commit: &str) -> Result<Self, String> {
        let mut source = Source { commit: commit.to_owned(), ..Source::default() };
        let names: BTreeSet<String> = texts.iter().map(|(n, _)| n.clone()).collect();
        for (name, text) in texts {
            let mut doc: Value = serde_json::from_str(text).map_err(|e| format!("v8.0/{name}: not JSON: {e}"))?;
            fix_wrong_refs(&mut doc, name);
            absolutize(&mut doc, name, &names)?;
            for (i, id) in operation_ids_in_text(text).into_iter().enumerate() {
                source.order.entry((name.clone(), id)).or_insert(i);
            }
            source.files.insert(name.clone(), doc);
        }
        Ok(source)
    }

    /// Reads `<dir>/v8.0/*.json` and the source commit.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let v8 = dir.join("v8.0");
        let entries = std::fs::read_dir(&v8).map_err(|e| format!("{}: {e}", v8.display()))?;
        let mut texts = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", v8.display()))?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                texts.push((name, text));
            }
        }
        texts.sort();
        if texts.is_empty() {
            return Err(format!("{}: no .json files; pass --from <checkout of zoho/crm-oas>", v8.display()));
        }
        Self::from_texts(&texts, &source_commit(dir)?)
    }
}

/// Applies [`WRONG_REF_FIXES`] to one file (a fix whose ref is gone is skipped: the defect was
/// fixed upstream).
fn fix_wrong_refs(doc: &mut Value, name: &str) {
    for (file, pointer, to, _) in WRONG_REF_FIXES {
        if *file == name
            && let Some(r) = doc.pointer_mut(pointer)
        {
            *r = json!(to);
        }
    }
}

/// The commit of a `zoho/crm-oas` checkout: `git rev-parse HEAD`, else the 40-hex commit named
/// in its `SOURCES.md`.
fn source_commit(dir: &Path) -> Result<String, String> {
    if dir.join(".git").exists()
        && let Ok(out) = std::process::Command::new("git").arg("-C").arg(dir).args(["rev-parse", "HEAD"]).output()
        && out.status.success()
    {
        return Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned());
    }
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap_or_default();
    find_commit(&sources).ok_or_else(|| {
        format!("{}: not a git checkout and no commit in SOURCES.md; cannot record the source commit", dir.display())
    })
}

/// The first 40-hex-digit word of a text.
fn find_commit(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .find(|w| w.len() == 40 && w.chars().any(|c| c.is_ascii_digit()))
        .map(str::to_owned)
}

/// `operationId` values in the order they appear in a file's text.
fn operation_ids_in_text(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("\"operationId\"") {
        rest = &rest[at + "\"operationId\"".len()..];
        let value = rest.trim_start().strip_prefix(':').map(str::trim_start).and_then(|v| v.strip_prefix('"'));
        if let Some(v) = value
            && let Some(end) = v.find('"')
        {
            out.push(v[..end].to_owned());
        }
    }
    out
}

/// Rewrites every `$ref` of `doc` (from file `name`) to `<file>#<pointer>`.
pub fn absolutize(doc: &mut Value, name: &str, known: &BTreeSet<String>) -> Result<(), String> {
    match doc {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref") {
                let fixed = DANGLING_FIXES.iter().find(|(f, from, _)| *f == name && from == r).map(|(_, _, to)| to);
                let absolute = match fixed {
                    Some(to) => (*to).to_owned(),
                    None => absolute_ref(r, name)?,
                };
                let file = absolute.split('#').next().unwrap_or_default();
                if !known.contains(file) {
                    return Err(format!("v8.0/{name}: `$ref: {r}` points to {file}, which is not in v8.0/"));
                }
                *r = absolute;
            }
            for v in map.values_mut() {
                absolutize(v, name, known)?;
            }
        }
        Value::Array(items) => {
            for v in items {
                absolutize(v, name, known)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `#/x` in `file` → `file#/x`; `https://…/v8.0/other.json#/x` → `other.json#/x`.
fn absolute_ref(r: &str, file: &str) -> Result<String, String> {
    let (location, pointer) =
        r.split_once('#').ok_or_else(|| format!("v8.0/{file}: `$ref: {r}` has no `#/` pointer"))?;
    if location.is_empty() {
        return Ok(format!("{file}#{pointer}"));
    }
    let target = location.rsplit('/').next().unwrap_or_default();
    if !target.ends_with(".json") || (!location.starts_with("https://") && location.contains('/')) {
        return Err(format!("v8.0/{file}: `$ref: {r}` is neither local nor a v8.0 file"));
    }
    Ok(format!("{target}#{pointer}"))
}

/// Resolves an absolute ref to its value.
fn resolve<'a>(source: &'a Source, r: &str) -> Result<&'a Value, String> {
    let (file, pointer) = r.split_once('#').unwrap_or((r, ""));
    source
        .files
        .get(file)
        .and_then(|doc| doc.pointer(pointer))
        .ok_or_else(|| format!("dangling `$ref: {r}` (a defect in Zoho's file; add it to DANGLING_FIXES)"))
}

/// Follows `$ref`s (parameters, bodies, responses) until a definition.
fn deref(source: &Source, value: &Value) -> Result<Value, String> {
    let mut current = value.clone();
    for _ in 0..16 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) if !r.contains("/components/schemas/") => current = resolve(source, r)?.clone(),
            _ => return Ok(current),
        }
    }
    Err("reference cycle".to_owned())
}

/// `Get Records` → `get_records`; `getRecordsById` → `get_records_by_id`.
pub fn snake_case(text: &str) -> String {
    let mut out = String::new();
    let mut prev: Option<char> = None;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            let boundary = c.is_ascii_uppercase() && prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit());
            if boundary && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
        prev = Some(c);
    }
    let out = out.trim_end_matches('_').to_owned();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) { format!("op_{out}") } else { out }
}

/// The Rust type name typify derives from a schema name or enum value (case and separators
/// ignored): two names with the same key collide.
pub fn type_key(text: &str) -> String {
    text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// What was done to one operation.
#[derive(Debug, Clone, Default)]
pub struct OpReport {
    /// Zoho's file.
    pub file: String,
    /// `GET /crm/v8/...`.
    pub route: String,
    /// Zoho's `operationId`.
    pub zoho_id: String,
    /// The Rust method (`None` when left out).
    pub rust: Option<String>,
    /// Changes made, or the reason it was left out.
    pub notes: Vec<String>,
}

/// The result of importing one group.
#[derive(Debug)]
pub struct Imported {
    /// The OpenAPI 3.0.3 document.
    pub spec: Value,
    /// One entry per Zoho operation of the group's files.
    pub ops: Vec<OpReport>,
    /// Schema-level changes (renames, opened responses, dropped enums).
    pub schema_notes: Vec<String>,
}

/// Imports one group.
pub fn import_group(source: &Source, group: &Group) -> Result<Imported, String> {
    // 1. Collect operations in priority order.
    struct Candidate {
        file: String,
        path: String,
        method: String,
        op: Value,
    }
    let mut candidates = Vec::new();
    for file in group.files {
        let doc = source.files.get(*file).ok_or_else(|| format!("v8.0/{file} is missing (group {})", group.name))?;
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else { continue };
        let mut ops = Vec::new();
        for (path, item) in paths {
            let item = deref(source, item)?;
            let shared: Vec<Value> = item.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
            for method in METHODS {
                let Some(op) = item.get(*method) else { continue };
                let mut op = op.clone();
                if !shared.is_empty() {
                    let own = op.get("parameters").and_then(Value::as_array).cloned().unwrap_or_default();
                    op["parameters"] = Value::Array(shared.iter().chain(own.iter()).cloned().collect());
                }
                let id = op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
                let rank = source.order.get(&(file.to_string(), id)).copied().unwrap_or(usize::MAX);
                ops.push((rank, path.clone(), method.to_string(), op));
            }
        }
        ops.sort_by(|a, b| (a.0, &a.1, &a.2).cmp(&(b.0, &b.1, &b.2)));
        for (_, path, method, op) in ops {
            candidates.push(Candidate { file: file.to_string(), path, method, op });
        }
    }

    // 2. Normalize operations, leaving out what cannot be generated.
    let mut reports = Vec::new();
    let mut kept: Vec<(String, String, Value)> = Vec::new();
    let mut routes: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut hoisted: Vec<(String, Value)> = Vec::new();
    for c in candidates {
        let zoho_id = c.op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned();
        let mut report = OpReport {
            file: c.file.clone(),
            route: format!("{} {}", c.method.to_uppercase(), c.path),
            zoho_id: zoho_id.clone(),
            ..OpReport::default()
        };
        let route_key = (c.method.clone(), route_shape(&c.path));
        if let Some(first) = routes.get(&route_key) {
            report.notes.push(format!(
                "left out: same method and path template as `{first}` (a defect in Zoho's file: OpenAPI treats paths that differ only in parameter names as one path, and one route cannot be two generated methods); call that operation with the other value (an external id with its `X-EXTERNAL` header, an API name)"
            ));
            reports.push(report);
            continue;
        }
        match normalize_operation(source, &c.file, &c.path, &c.op, &mut report.notes) {
            Ok(mut op) => {
                let path = snake_path_params(&c.path, &mut op, &mut report.notes);
                let mut rust = snake_case(&zoho_id);
                if names.contains(&rust) {
                    let stem = c.file.trim_end_matches(".json");
                    let qualified = format!("{stem}_{rust}");
                    report.notes.push(format!("renamed `{rust}` → `{qualified}`: `{rust}` is taken by another file"));
                    rust = qualified;
                    let mut n = 2;
                    while names.contains(&rust) {
                        rust = format!("{stem}_{}_{n}", snake_case(&zoho_id));
                        n += 1;
                    }
                }
                names.insert(rust.clone());
                op["operationId"] = json!(rust);
                if let Some(schema) = hoist_success(&mut op, &rust) {
                    hoisted.push((pascal(&format!("{rust}_response")), schema));
                    report.notes.push("several success statuses: one shared response schema".to_owned());
                }
                routes.insert(route_key, format!("{} {} ({})", c.method.to_uppercase(), c.path, c.file));
                report.rust = Some(rust);
                kept.push((path, c.method, op));
            }
            Err(reason) => report.notes.push(format!("left out: {reason}")),
        }
        reports.push(report);
    }

    // 3. Gather the schemas the kept operations reach, name them, rewrite refs.
    let mut paths = Map::new();
    for (path, method, op) in &kept {
        let entry = paths.entry(path.clone()).or_insert_with(|| json!({}));
        entry[method.as_str()] = op.clone();
    }
    let mut paths = Value::Object(paths);
    let mut reachable = BTreeSet::new();
    let mut work = Vec::new();
    collect_refs(&paths, &mut work);
    for (_, schema) in &hoisted {
        collect_refs(schema, &mut work);
    }
    while let Some(r) = work.pop() {
        // `#/...` refs are the importer's own (the error envelope, hoisted responses).
        if !r.starts_with('#') && reachable.insert(r.clone()) {
            collect_refs(resolve(source, &r)?, &mut work);
        }
    }
    let mut schema_notes = Vec::new();
    let reserved: Vec<String> =
        std::iter::once(ERROR_ENVELOPE.to_owned()).chain(hoisted.iter().map(|(n, _)| n.clone())).collect();
    let naming = name_schemas(&reachable, &reserved, &mut schema_notes);
    rewrite_refs(&mut paths, &naming);
    let mut schemas = Map::new();
    for r in &reachable {
        let mut schema = resolve(source, r)?.clone();
        rewrite_refs(&mut schema, &naming);
        schemas.insert(naming[r].clone(), schema);
    }
    let hoisted_names: BTreeSet<String> = hoisted.iter().map(|(n, _)| n.clone()).collect();
    for (name, mut schema) in hoisted {
        rewrite_refs(&mut schema, &naming);
        schemas.insert(name, schema);
    }
    schemas.insert(ERROR_ENVELOPE.to_owned(), error_envelope());

    // 4. Open what responses reach; make request enums safe; strip what typify mis-reads.
    let mut in_responses = BTreeSet::new();
    let mut work = Vec::new();
    for item in paths.as_object().into_iter().flat_map(|p| p.values()) {
        for op in item.as_object().into_iter().flat_map(|i| i.values()) {
            if let Some(responses) = op.get("responses") {
                collect_refs(responses, &mut work);
            }
        }
    }
    for (name, schema) in &schemas {
        // Hoisted success schemas are response schemas by construction.
        if name.ends_with("Response") && hoisted_names.contains(name) {
            collect_refs(schema, &mut work);
            in_responses.insert(name.clone());
        }
    }
    while let Some(r) = work.pop() {
        let name = r.trim_start_matches("#/components/schemas/").to_owned();
        if in_responses.insert(name.clone())
            && let Some(s) = schemas.get(&name)
        {
            collect_refs(s, &mut work);
        }
    }
    let mut opened = 0;
    let mut enums_opened = BTreeSet::new();
    for (name, schema) in schemas.iter_mut() {
        if in_responses.contains(name) {
            opened += 1;
            open_schema(schema);
        } else {
            for dropped in make_enums_safe(schema) {
                enums_opened.insert(format!("`{name}`: {dropped}"));
            }
        }
        tidy_schema(schema);
    }
    if let Value::Object(paths) = &mut paths {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for op in item.values_mut() {
                if let Some(responses) = op.get_mut("responses") {
                    open_schema(responses);
                    tidy_schema(responses);
                }
                let id = op_id(op);
                for key in ["parameters", "requestBody"] {
                    if let Some(v) = op.get_mut(key) {
                        for dropped in make_enums_safe(v) {
                            enums_opened.insert(format!("`{id}`: {dropped}"));
                        }
                        tidy_schema(v);
                    }
                }
            }
        }
    }
    schema_notes.push(format!(
        "{opened} schemas reached from success responses opened (`additionalProperties: {{}}`, no `required`, no enums, no value constraints)"
    ));
    for e in enums_opened {
        schema_notes
            .push(format!("request enum made a plain value (values collide as Rust names, or are not strings): {e}"));
    }

    let files: Vec<Value> = group.files.iter().map(|f| json!(format!("v8.0/{f}"))).collect();
    let spec = json!({
        "openapi": "3.0.3",
        "info": {
            "title": format!("Zoho CRM API v8 ({})", group.name),
            "version": "8.0",
            "description": format!(
                "Zoho CRM v8, group `{}` (cargo feature `{}`): {}. Imported by `cargo xtask import-oas` from Zoho's own OpenAPI files, zoho/crm-oas commit {}. DO NOT EDIT: change the importer and re-import; see IMPORT-REPORT.md.",
                group.name, group.feature, group.about, source.commit
            ),
            "x-zoho-source": {"repository": "https://github.com/zoho/crm-oas", "commit": source.commit, "files": files},
        },
        "paths": paths,
        "components": {"schemas": schemas},
    });
    Ok(Imported { spec, ops: reports, schema_notes })
}

fn op_id(op: &Value) -> String {
    op.get("operationId").and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// Renames camelCase path parameters to snake_case (`{recordId}` → `{record_id}`), in the
/// template and the parameter: progenitor names the builder setter in snake_case, and the
/// name never goes on the wire. Returns the new path.
pub fn snake_path_params(path: &str, op: &mut Value, notes: &mut Vec<String>) -> String {
    let mut path = path.to_owned();
    for p in op.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
        if p["in"] != "path" {
            continue;
        }
        let Some(name) = p["name"].as_str().map(str::to_owned) else { continue };
        let snake = snake_case(&name);
        if snake != name {
            path = path.replace(&format!("{{{name}}}"), &format!("{{{snake}}}"));
            p["name"] = json!(snake);
            notes.push(format!("path parameter `{name}` renamed `{snake}` (the builder setter's name)"));
        }
    }
    path
}

/// `/crm/v8/{module}/{id}` → `/crm/v8/{}/{}`: two paths with one shape are one route.
pub fn route_shape(path: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '{' => {
                depth += 1;
                out.push('{');
            }
            '}' => {
                depth -= 1;
                out.push('}');
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// `get_records_response` → `GetRecordsResponse`.
fn pascal(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            cs.next().map(|f| f.to_ascii_uppercase().to_string() + cs.as_str()).unwrap_or_default()
        })
        .collect()
}

/// Normalizes one operation (parameters, body, responses), all refs still absolute.
pub fn normalize_operation(
    source: &Source,
    file: &str,
    path: &str,
    op: &Value,
    notes: &mut Vec<String>,
) -> Result<Value, String> {
    let mut out = Map::new();
    for key in ["summary", "description"] {
        if let Some(v) = op.get(key).and_then(Value::as_str).filter(|s| !s.trim().is_empty()) {
            out.insert(key.to_owned(), json!(v));
        }
    }
    // Parameters: inlined, deduplicated, path parameters matching the template.
    let mut params: Vec<Value> = Vec::new();
    for p in op.get("parameters").and_then(Value::as_array).into_iter().flatten() {
        let mut p = deref(source, p).map_err(|e| format!("{file}: {e}"))?;
        let (Some(name), Some(location)) = (
            p.get("name").and_then(Value::as_str).map(str::to_owned),
            p.get("in").and_then(Value::as_str).map(str::to_owned),
        ) else {
            return Err("a parameter without `name` or `in` (a defect in Zoho's file)".to_owned());
        };
        if location == "cookie" {
            return Err(format!("cookie parameter `{name}` (progenitor 0.15.1 has no cookie parameters)"));
        }
        if let Some(style) = p.get("style").and_then(Value::as_str) {
            let fine = matches!((location.as_str(), style), ("path" | "header", "simple") | ("query", "form"));
            if !fine {
                return Err(format!(
                    "{location} parameter `{name}` has style `{style}` (progenitor 0.15.1 supports simple path/header and form query parameters only)"
                ));
            }
        }
        if p.get("schema").is_none() {
            let from_content = p
                .get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|m| m.get("schema"))
                .cloned();
            p.as_object_mut().map(|m| m.remove("content"));
            p["schema"] = from_content.unwrap_or_else(|| json!({"type": "string"}));
            notes.push(format!("parameter `{name}`: given a schema (it had none)"));
        }
        if let Some(schema) = p.get("schema").cloned()
            && scalar_schema(source, &schema).is_none()
        {
            p["schema"] = json!({"type": "string"});
            notes.push(format!(
                "{location} parameter `{name}` typed as a string (pass the JSON or comma-joined text Zoho expects): progenitor 0.15.1 sends parameters as scalars"
            ));
        } else if let Some(schema) = p.get("schema").and_then(|s| scalar_schema(source, s)) {
            p["schema"] = schema;
        }
        if location == "path" && !path.contains(&format!("{{{name}}}")) {
            notes.push(format!("path parameter `{name}` dropped: not in the path (a defect in Zoho's file)"));
            continue;
        }
        if location == "path" && p.get("required") != Some(&json!(true)) {
            p["required"] = json!(true);
            notes.push(format!("path parameter `{name}` made required"));
        }
        if let Some(existing) = params.iter().position(|q| q["name"] == p["name"] && q["in"] == p["in"]) {
            notes.push(format!("{location} parameter `{name}` declared twice: the operation's own declaration kept"));
            params[existing] = p;
            continue;
        }
        params.push(p);
    }
    for name in path_names(path) {
        if !params.iter().any(|p| p["in"] == "path" && p["name"] == name.as_str()) {
            notes.push(format!("path parameter `{name}` declared (it was missing, a defect in Zoho's file)"));
            params.push(json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}));
        }
    }
    if !params.is_empty() {
        out.insert("parameters".to_owned(), Value::Array(params));
    }
    // Request body: one media type, always with a schema.
    if let Some(body) = op.get("requestBody") {
        let mut body = deref(source, body).map_err(|e| format!("{file}: {e}"))?;
        let content = body.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
        let mut types: Vec<&String> = content.keys().collect();
        types.sort_by_key(|t| media_rank(t));
        match types.first() {
            None => notes.push("request body without content dropped".to_owned()),
            Some(t) if t.starts_with("multipart/") => {
                return Err(format!("request body is `{t}` (progenitor 0.15.1 cannot send multipart bodies)"));
            }
            Some(t) => {
                let t = (*t).clone();
                if types.len() > 1 {
                    notes.push(format!(
                        "request body: kept `{t}` of {} media types (progenitor allows one)",
                        types.len()
                    ));
                }
                let mut media = content.get(&t).cloned().unwrap_or_else(|| json!({}));
                let base = t.split(';').next().unwrap_or_default().trim();
                let forced = match base {
                    "application/json" | "application/x-www-form-urlencoded" => None,
                    "application/octet-stream" => Some(json!({"type": "string", "format": "binary"})),
                    "text/plain" => Some(json!({"type": "string"})),
                    other => return Err(format!("request body is `{other}` (progenitor 0.15.1 cannot send it)")),
                };
                if let Some(schema) = forced {
                    media["schema"] = schema;
                } else if media.get("schema").is_none() {
                    media["schema"] = json!({"type": "object", "additionalProperties": {}});
                    notes.push("request body given a schema (open object; it had none)".to_owned());
                }
                if let Some(m) = media.as_object_mut() {
                    m.retain(|k, _| k == "schema");
                }
                body["content"] = json!({ base: media });
                if let Some(m) = body.as_object_mut() {
                    m.retain(|k, _| matches!(k.as_str(), "content" | "required" | "description"));
                }
                out.insert("requestBody".to_owned(), body);
            }
        }
    }
    out.insert("responses".to_owned(), normalize_responses(source, op, notes)?);
    Ok(Value::Object(out))
}

/// The schema of a scalar parameter (string, integer, number, boolean), refs resolved; `None`
/// for objects, arrays and compositions.
fn scalar_schema(source: &Source, schema: &Value) -> Option<Value> {
    let mut current = schema.clone();
    for _ in 0..16 {
        match current.get("$ref").and_then(Value::as_str) {
            Some(r) => current = resolve(source, r).ok()?.clone(),
            None => break,
        }
    }
    let ty = current.get("type").and_then(Value::as_str)?;
    let scalar = matches!(ty, "string" | "integer" | "number" | "boolean")
        && !["properties", "oneOf", "anyOf", "allOf", "items"].iter().any(|k| current.get(*k).is_some());
    scalar.then_some(current)
}

/// `{module_api_name}` names of a path template.
fn path_names(path: &str) -> Vec<String> {
    path.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(n, _)| n.to_owned())).collect()
}

/// Preference among request media types: JSON, form, octet stream, text, others.
fn media_rank(media: &str) -> usize {
    let base = media.split(';').next().unwrap_or_default().trim();
    ["application/json", "application/x-www-form-urlencoded", "application/octet-stream", "text/plain"]
        .iter()
        .position(|m| *m == base)
        .unwrap_or(9)
}

/// One success schema (204/304 left to `zohocrm::nocontent`) and one error envelope.
pub fn normalize_responses(source: &Source, op: &Value, notes: &mut Vec<String>) -> Result<Value, String> {
    let declared = op.get("responses").and_then(Value::as_object).cloned().unwrap_or_default();
    let mut success: BTreeMap<String, Value> = BTreeMap::new();
    let mut errors: BTreeSet<String> = BTreeSet::new();
    for (code, response) in &declared {
        let response = deref(source, response)?;
        if code == "default" {
            notes.push("`default` response dropped (progenitor counts it as a second success type)".to_owned());
        } else if code.starts_with('2') {
            success.insert(code.clone(), response);
        } else if code.starts_with('4') || code.starts_with('5') {
            errors.insert(code.clone());
        } else if code != "304" {
            notes.push(format!("`{code}` response dropped"));
        }
    }
    if declared.contains_key("304") {
        notes.push("304 dropped (no body: `zohocrm::nocontent` turns it into `NotModified`)".to_owned());
    }
    if success.len() > 1 && success.contains_key("204") {
        success.remove("204");
        notes.push("204 dropped (no body: `zohocrm::nocontent` turns it into an empty result)".to_owned());
    }
    // The chosen body: the lowest status that has content; JSON preferred.
    let chosen = success.values().find_map(|r| {
        let content = r.get("content").and_then(Value::as_object)?;
        let media = content.keys().find(|k| k.starts_with("application/json")).or_else(|| content.keys().next())?;
        let mut m = content.get(media).cloned().unwrap_or_else(|| json!({}));
        if media.starts_with("application/json") && m.get("schema").is_none() {
            m["schema"] = json!({"type": "object", "additionalProperties": {}});
        }
        if let Some(obj) = m.as_object_mut() {
            obj.retain(|k, _| k == "schema");
        }
        Some(json!({ media.clone(): m }))
    });
    let distinct: BTreeSet<String> = success
        .values()
        .map(|r| serde_json::to_string(r.get("content").unwrap_or(&Value::Null)).unwrap_or_default())
        .collect();
    if distinct.len() > 1 {
        notes.push(format!(
            "success statuses {} declared different bodies: all decode into the first one (progenitor allows one success type)",
            success.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    let mut out = Map::new();
    for (code, response) in &success {
        let description =
            response.get("description").and_then(Value::as_str).filter(|d| !d.is_empty()).unwrap_or("Success");
        let mut r = json!({ "description": description });
        if let (Some(content), false) = (&chosen, code == "204") {
            r["content"] = content.clone();
        }
        out.insert(code.clone(), r);
    }
    let distinct_errors: BTreeSet<String> = errors
        .iter()
        .filter_map(|c| declared.get(c))
        .map(|r| {
            serde_json::to_string(&deref(source, r).ok().and_then(|r| r.get("content").cloned())).unwrap_or_default()
        })
        .collect();
    if distinct_errors.len() > 1 {
        notes.push(format!(
            "error statuses {} declared different bodies: unified into `{ERROR_ENVELOPE}`",
            errors.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
    for code in errors {
        out.insert(
            code,
            json!({"description": "Zoho's error envelope", "content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/{ERROR_ENVELOPE}")}}}}),
        );
    }
    Ok(Value::Object(out))
}

/// With several success statuses, moves an inline success schema to `components` so every status
/// decodes into the same type. Returns the schema to add (named `<Operation>Response`).
fn hoist_success(op: &mut Value, rust: &str) -> Option<Value> {
    let responses = op.get_mut("responses")?.as_object_mut()?;
    let with_body: Vec<String> = responses
        .iter()
        .filter(|(c, r)| c.starts_with('2') && r.pointer("/content/application~1json/schema").is_some())
        .map(|(c, _)| c.clone())
        .collect();
    if with_body.len() < 2 {
        return None;
    }
    let schema = responses.get(&with_body[0])?.pointer("/content/application~1json/schema")?.clone();
    if schema.get("$ref").is_some() && schema.as_object().is_some_and(|m| m.len() == 1) {
        return None;
    }
    let name = pascal(&format!("{rust}_response"));
    for code in with_body {
        if let Some(s) = responses.get_mut(&code).and_then(|r| r.pointer_mut("/content/application~1json/schema")) {
            *s = json!({"$ref": format!("#/components/schemas/{name}")});
        }
    }
    Some(schema)
}

/// Zoho's error answers in one open shape: the top-level envelope (`code`, `message`, `status`,
/// `details`) or per-item results (`data`).
fn error_envelope() -> Value {
    json!({
        "description": "Zoho's error answer: the top-level envelope (`code`, `message`, `status`, `details`) or per-record results under `data`. Fields Zoho adds are kept.",
        "type": "object",
        "properties": {
            "code": {"type": "string"},
            "message": {"type": "string"},
            "status": {"type": "string"},
            "details": {"type": "object", "additionalProperties": {}},
            "data": {"type": "array", "items": {"type": "object", "additionalProperties": {}}},
        },
        "additionalProperties": {},
    })
}

/// Absolute `$ref`s of a value (any depth), schema refs only.
fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Global names for schemas: Zoho's name where it is unique in the group (as a Rust type
/// name), `<File>_<Name>` where two files use it.
pub fn name_schemas(refs: &BTreeSet<String>, reserved: &[String], notes: &mut Vec<String>) -> BTreeMap<String, String> {
    let mut by_key: BTreeMap<String, Vec<&String>> = BTreeMap::new();
    for r in refs {
        by_key.entry(type_key(short_name(r))).or_default().push(r);
    }
    let mut taken: BTreeSet<String> = reserved.iter().map(|n| type_key(n)).collect();
    let mut out = BTreeMap::new();
    // Unique names first, so a qualified name never takes a plain one.
    for (key, group) in &by_key {
        if group.len() == 1 && !taken.contains(key) {
            taken.insert(key.clone());
            out.insert(group[0].clone(), sanitize_name(short_name(group[0])));
        }
    }
    for group in by_key.values() {
        for r in group {
            if out.contains_key(*r) {
                continue;
            }
            let file = r.split('#').next().unwrap_or_default().trim_end_matches(".json");
            let base = format!("{}_{}", pascal(file), sanitize_name(short_name(r)));
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&type_key(&name)) {
                name = format!("{base}{n}");
                n += 1;
            }
            taken.insert(type_key(&name));
            notes.push(format!(
                "schema `{}` renamed `{name}`: its name collides with another schema in the group",
                short_name(r)
            ));
            out.insert((*r).clone(), name);
        }
    }
    out
}

fn short_name(r: &str) -> &str {
    r.rsplit('/').next().unwrap_or(r)
}

/// Component names may hold `A-Za-z0-9._-` only.
fn sanitize_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') { c } else { '_' }).collect()
}

/// Points every absolute schema ref at its global name.
fn rewrite_refs(value: &mut Value, naming: &BTreeMap<String, String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(name) = naming.get(r.as_str())
            {
                *r = format!("#/components/schemas/{name}");
            }
            map.values_mut().for_each(|v| rewrite_refs(v, naming));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rewrite_refs(v, naming)),
        _ => {}
    }
}

/// Keys under which a value is a schema (or a map/list of them).
const SCHEMA_KEYS: &[&str] = &["schema", "items", "additionalProperties", "not"];
const SCHEMA_LIST_KEYS: &[&str] = &["oneOf", "anyOf", "allOf"];

/// Applies `f` to every schema object in `value` (depth first, children before the parent).
fn for_each_schema(value: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            items.iter_mut().for_each(|v| for_each_schema(v, f));
        }
        return;
    };
    for (k, v) in map.iter_mut() {
        if k == "properties" {
            if let Value::Object(props) = v {
                props.values_mut().for_each(|p| for_each_schema(p, f));
            }
        } else if k == "example" || k == "examples" || k == "enum" || k == "default" {
        } else {
            for_each_schema(v, f);
        }
    }
    let is_schema = map.contains_key("type")
        || map.contains_key("properties")
        || SCHEMA_LIST_KEYS.iter().any(|k| map.contains_key(*k))
        || map.contains_key("enum")
        || SCHEMA_KEYS[1..].iter().any(|k| map.contains_key(*k));
    if is_schema {
        f(map);
    }
}

/// Opens every schema in a response: objects keep unknown fields, nothing is required, no
/// closed enums, no value constraints.
pub fn open_schema(value: &mut Value) {
    for_each_schema(value, &mut |s| {
        for k in [
            "required",
            "enum",
            "pattern",
            "minLength",
            "maxLength",
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "minItems",
            "maxItems",
            "uniqueItems",
            "multipleOf",
            "minProperties",
            "maxProperties",
        ] {
            s.remove(k);
        }
        let is_object = s.get("type") == Some(&json!("object")) || s.contains_key("properties");
        if is_object {
            let closed = !matches!(s.get("additionalProperties"), Some(Value::Object(_)));
            if closed {
                s.insert("additionalProperties".to_owned(), json!({}));
            }
        }
    });
}

/// Turns request enums whose values collide as Rust identifiers (or make none) into plain
/// strings. Returns a description of each change.
pub fn make_enums_safe(value: &mut Value) -> Vec<String> {
    let mut changed = Vec::new();
    for_each_schema(value, &mut |s| {
        let Some(Value::Array(values)) = s.get("enum") else { return };
        // typify turns a non-string enum into a constrained newtype whose schemars code uses
        // `gen` as an identifier, a reserved word in edition 2024: keep the plain number.
        if !values.iter().all(|v| v.is_string() || v.is_null()) {
            let shown: Vec<String> = values.iter().map(Value::to_string).collect();
            changed.push(format!("[{}] (not strings)", shown.join(", ")));
            s.remove("enum");
            return;
        }
        let mut seen = BTreeSet::new();
        let mut clash = None;
        for v in values {
            let key = match v {
                Value::String(t) => type_key(t),
                Value::Null => continue,
                other => type_key(&other.to_string()),
            };
            if key.is_empty() || !seen.insert(key) {
                clash = Some(v.to_string());
                break;
            }
        }
        if let Some(v) = clash {
            let shown: Vec<String> = values.iter().map(Value::to_string).collect();
            changed.push(format!("[{}] ({v} collides)", shown.join(", ")));
            s.remove("enum");
        }
    });
    changed
}

/// Removes what typify would turn into extra dependencies or mis-typed values: string formats
/// (`date-time` → chrono, `uuid` → uuid), `default`s that do not match their type,
/// discriminators; gives `items` to arrays, `type: object` to bare property lists and unwraps
/// one-element `oneOf`/`anyOf`.
pub fn tidy_schema(value: &mut Value) {
    for_each_schema(value, &mut |s| {
        for k in ["default", "discriminator", "example", "examples", "readOnly", "writeOnly", "xml", "externalDocs"] {
            s.remove(k);
        }
        let ty = s.get("type").and_then(Value::as_str).map(str::to_owned);
        match ty.as_deref() {
            Some("string") if s.get("format") != Some(&json!("binary")) => {
                s.remove("format");
            }
            Some("integer") if !matches!(s.get("format").and_then(Value::as_str), Some("int32" | "int64")) => {
                s.remove("format");
            }
            Some("number") if !matches!(s.get("format").and_then(Value::as_str), Some("float" | "double")) => {
                s.remove("format");
            }
            Some("array") if !s.contains_key("items") => {
                s.insert("items".to_owned(), json!({}));
            }
            None if s.contains_key("properties") => {
                s.insert("type".to_owned(), json!("object"));
            }
            _ => {}
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(items)) = s.get(key)
                && items.len() == 1
            {
                let only = items[0].clone();
                s.remove(key);
                if let Value::Object(inner) = only {
                    let description = s.remove("description");
                    if inner.contains_key("$ref") {
                        s.clear();
                    }
                    for (k, v) in inner {
                        s.insert(k, v);
                    }
                    if !s.contains_key("$ref")
                        && let Some(d) = description
                    {
                        s.insert("description".to_owned(), d);
                    }
                }
            }
        }
        if s.contains_key("$ref") {
            s.retain(|k, _| k == "$ref");
        }
    });
}

/// Sorts every map (serde_json's default map already is) and renders pretty JSON with a newline.
pub fn render(value: &Value) -> Result<String, String> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| format!("cannot render the spec: {e}"))?;
    text.push('\n');
    Ok(text)
}

/// The per-file and per-operation report.
pub fn report(source: &Source, results: &[(&Group, Imported)]) -> String {
    let mut out = String::new();
    let total: usize = results.iter().map(|(_, r)| r.ops.len()).sum();
    let imported: usize = results.iter().map(|(_, r)| r.ops.iter().filter(|o| o.rust.is_some()).count()).sum();
    let _ = writeln!(out, "# CRM v8 import report\n");
    let _ = writeln!(
        out,
        "Generated by `cargo xtask import-oas` from Zoho's own OpenAPI files: https://github.com/zoho/crm-oas, commit `{}`, folder `v8.0/`. DO NOT EDIT: change `xtask/src/import_oas.rs` and re-import.\n",
        source.commit
    );
    let _ = writeln!(
        out,
        "**{imported} of {total} operations imported**; every imported operation is generated by `build.rs` (progenitor 0.15.1) when its group's feature is on (checked by `tests/contract_v8.rs`).\n"
    );
    let _ = writeln!(
        out,
        "Applied to every operation: `operationId` made a unique snake_case Rust name; parameters, request bodies and responses inlined; 204/304 dropped where a body-carrying success exists (`zohocrm::nocontent`); every 4XX/5XX answer declared as `{ERROR_ENVELOPE}`; string formats, defaults, examples and discriminators removed (no chrono/uuid types, no mismatched defaults); `servers`, `security` and `tags` dropped (hosts come from the SDK's data-center table).\n"
    );
    let _ = writeln!(
        out,
        "## Coverage per file\n\n| file | group | operations | imported | left out |\n|---|---|---:|---:|---:|"
    );
    let mut per_file: BTreeMap<&str, (&str, usize, usize)> = BTreeMap::new();
    for (group, r) in results {
        for op in &r.ops {
            let e = per_file.entry(op.file.as_str()).or_insert((group.feature, 0, 0));
            e.1 += 1;
            if op.rust.is_some() {
                e.2 += 1;
            }
        }
    }
    for (group, _) in results {
        for f in group.files {
            per_file.entry(f).or_insert((group.feature, 0, 0));
        }
    }
    for (file, (feature, ops, ok)) in &per_file {
        let _ = writeln!(out, "| {file} | {feature} | {ops} | {ok} | {} |", ops - ok);
    }
    let _ = writeln!(out, "\n## Left out, and why\n");
    for (_, r) in results {
        for op in r.ops.iter().filter(|o| o.rust.is_none()) {
            let _ = writeln!(out, "- `{}` {} ({:?}): {}", op.file, op.route, op.zoho_id, op.notes.join("; "));
        }
    }
    for (group, r) in results {
        let _ = writeln!(
            out,
            "\n## Group `{}` (feature `{}`, `spec/crm-v8/{}.json`)\n",
            group.name, group.feature, group.name
        );
        for note in &r.schema_notes {
            let _ = writeln!(out, "- {note}");
        }
        let _ = writeln!(out, "\n| file | route | Zoho operationId | Rust method | changes |\n|---|---|---|---|---|");
        for op in &r.ops {
            let rust = op.rust.as_deref().map(|r| format!("`{r}`")).unwrap_or_else(|| "—".to_owned());
            let notes = if op.notes.is_empty() { "—".to_owned() } else { op.notes.join("; ").replace('|', "\\|") };
            let _ = writeln!(out, "| {} | `{}` | {} | {rust} | {notes} |", op.file, op.route, op.zoho_id);
        }
    }
    out
}

/// Checks that every file of the source belongs to exactly one group.
pub fn check_groups(source: &Source) -> Result<(), String> {
    let mut seen = BTreeMap::new();
    for g in GROUPS {
        for f in g.files {
            if let Some(other) = seen.insert(*f, g.name) {
                return Err(format!("{f} is in groups {other} and {}", g.name));
            }
        }
    }
    for f in source.files.keys() {
        if !seen.contains_key(f.as_str()) {
            return Err(format!("v8.0/{f} belongs to no group; add it to GROUPS in xtask/src/import_oas.rs"));
        }
    }
    Ok(())
}

/// Imports the given groups (all when empty) and renders `(relative path, contents)` files.
pub fn import_all(source: &Source, only: &[String]) -> Result<Vec<(String, String)>, String> {
    check_groups(source)?;
    for name in only {
        if !GROUPS.iter().any(|g| g.name == name || g.feature == name) {
            let known: Vec<&str> = GROUPS.iter().map(|g| g.name).collect();
            return Err(format!("unknown group `{name}`; known: {}", known.join(", ")));
        }
    }
    let mut results = Vec::new();
    let mut files = Vec::new();
    for group in GROUPS {
        let wanted = only.is_empty() || only.iter().any(|n| n == group.name || n == group.feature);
        let imported = import_group(source, group).map_err(|e| format!("group {}: {e}", group.name))?;
        if wanted {
            files.push((format!("{}.json", group.name), render(&imported.spec)?));
        }
        results.push((group, imported));
    }
    files.push(("IMPORT-REPORT.md".to_owned(), report(source, &results)));
    Ok(files)
}

/// `cargo xtask import-oas [--from <dir>] [--groups a,b] [--out <dir>] [--check]`.
pub fn run(root: &Path, args: &[String]) -> Result<String, String> {
    const USAGE: &str =
        "usage: cargo xtask import-oas [--from <dir with v8.0/>] [--groups core,settings,...] [--out <dir>] [--check]";
    let mut from: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut groups = Vec::new();
    let mut check = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--from" => from = Some(PathBuf::from(it.next().ok_or("--from needs a directory")?)),
            "--out" => out = Some(PathBuf::from(it.next().ok_or("--out needs a directory")?)),
            "--groups" => {
                groups.extend(it.next().ok_or("--groups needs a list")?.split(',').map(|s| s.trim().to_owned()))
            }
            "--check" => check = true,
            other => return Err(format!("unknown argument `{other}`; {USAGE}")),
        }
    }
    let from = match from {
        Some(dir) => dir,
        None => {
            let default = root.join("../shared/zoho/crm-oas");
            if !default.exists() {
                return Err(format!("{} does not exist; pass --from <checkout of zoho/crm-oas>", default.display()));
            }
            default
        }
    };
    let source = Source::load(&from)?;
    let out_dir = out.unwrap_or_else(|| root.join("spec/crm-v8"));
    let files = import_all(&source, &groups)?;
    let mut changed = Vec::new();
    for (name, text) in &files {
        let path = out_dir.join(name);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        changed.push(path.display().to_string());
        if !check {
            std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
            std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    match (check, changed.is_empty()) {
        (_, true) => {
            Ok(format!("{} is up to date with {} (commit {})", out_dir.display(), from.display(), source.commit))
        }
        (true, false) => Err(format!(
            "{} differ from a fresh import; run `cargo xtask import-oas`, then `cargo xtask codegen`",
            changed.join(", ")
        )),
        (false, false) => Ok(format!("imported {}; now run `cargo xtask codegen`", changed.join(", "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "https://raw.githubusercontent.com/Zohocorp-Pvt-Ltd/crm-oas/refs/heads/main/v8.0";

    fn source(files: &[(&str, Value)]) -> Source {
        let texts: Vec<(String, String)> = files.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
        Source::from_texts(&texts, "0123456789abcdef0123456789abcdef01234567").expect("source")
    }

    fn doc(paths: Value, schemas: Value) -> Value {
        json!({"openapi": "3.0.0", "info": {"title": "t", "version": "v8.0"}, "paths": paths, "components": {"schemas": schemas}})
    }

    fn op(id: &str, responses: Value) -> Value {
        json!({"operationId": id, "responses": responses})
    }

    fn ok(schema: Value) -> Value {
        json!({"description": "", "content": {"application/json": {"schema": schema}}})
    }

    static AB: Group = Group { name: "t", feature: "v8-t", about: "test", files: &["a.json", "b.json"] };
    static A: Group = Group { name: "t", feature: "v8-t", about: "test", files: &["a.json"] };

    fn one_op(o: Value, schemas: Value) -> Imported {
        let s = source(&[("a.json", doc(json!({"/crm/v8/x": {"get": o}}), schemas))]);
        import_group(&s, &A).expect("import")
    }

    #[test]
    fn refs_become_absolute_and_cross_file_urls_local() {
        assert_eq!(absolute_ref("#/components/schemas/X", "a.json").unwrap(), "a.json#/components/schemas/X");
        assert_eq!(
            absolute_ref(&format!("{RAW}/common.json#/components/schemas/Y"), "a.json").unwrap(),
            "common.json#/components/schemas/Y"
        );
        assert!(absolute_ref("https://example.com/x.yaml#/a", "a.json").is_err());
        assert!(absolute_ref("no-pointer.json", "a.json").is_err());
        // A ref to a file that is not in the folder is an error naming both.
        let texts = vec![("a.json".to_owned(), json!({"$ref": format!("{RAW}/gone.json#/x")}).to_string())];
        let err = Source::from_texts(&texts, "c").unwrap_err();
        assert!(err.contains("gone.json") && err.contains("a.json"), "{err}");
    }

    #[test]
    fn cross_file_schemas_are_bundled_under_one_name() {
        let a = doc(
            json!({"/crm/v8/x": {"get": op("Get X", json!({"200": ok(json!({"$ref": format!("{RAW}/b.json#/components/schemas/Thing")}))}))}}),
            json!({}),
        );
        let b = doc(
            json!({}),
            json!({"Thing": {"type": "object", "properties": {"n": {"$ref": "#/components/schemas/Leaf"}}}, "Leaf": {"type": "string"}}),
        );
        let imported = import_group(&source(&[("a.json", a), ("b.json", b)]), &AB).unwrap();
        let schemas = &imported.spec["components"]["schemas"];
        assert_eq!(
            imported.spec["paths"]["/crm/v8/x"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Thing"
        );
        assert_eq!(schemas["Thing"]["properties"]["n"]["$ref"], "#/components/schemas/Leaf");
        assert!(schemas.get("Leaf").is_some());
        assert!(!imported.spec.to_string().contains("raw.githubusercontent"));
    }

    #[test]
    fn dangling_if_modified_since_in_notes_is_fixed() {
        let notes = json!({"paths": {"/crm/v8/Notes": {"get": {"operationId": "Get Notes", "parameters": [{"$ref": "#/components/parameters/If-Modified-Since"}], "responses": {"200": ok(json!({"type": "object"}))}}}}});
        let record = json!({"components": {"parameters": {"If-Modified-Since": {"name": "If-Modified-Since", "in": "header", "schema": {"type": "string", "format": "date-time"}}}}});
        let s = source(&[("notes.json", notes), ("record.json", record)]);
        static G: Group = Group { name: "t", feature: "v8-t", about: "", files: &["notes.json", "record.json"] };
        let imported = import_group(&s, &G).unwrap();
        let param = &imported.spec["paths"]["/crm/v8/Notes"]["get"]["parameters"][0];
        assert_eq!(param["name"], "If-Modified-Since");
        assert_eq!(param["in"], "header");
        assert_eq!(param["schema"], json!({"type": "string"}), "date-time format removed (no chrono)");
        // Without the fix table entry the operation is left out, the reason in the report.
        let other = json!({"paths": {"/x": {"get": {"operationId": "X", "parameters": [{"$ref": "#/components/parameters/If-Modified-Since"}], "responses": {}}}}});
        let imported = import_group(&source(&[("a.json", other)]), &A).unwrap();
        assert!(imported.ops[0].rust.is_none());
        assert!(imported.ops[0].notes[0].contains("dangling"), "{:?}", imported.ops[0].notes);
    }

    #[test]
    fn operation_ids_are_unique_snake_case() {
        assert_eq!(snake_case("Get Records"), "get_records");
        assert_eq!(snake_case("getRecordsById"), "get_records_by_id");
        assert_eq!(snake_case("Get Variable By APIName"), "get_variable_by_apiname");
        assert_eq!(snake_case("Update  Note (v2)"), "update_note_v2");
        assert_eq!(snake_case("2fa"), "op_2fa");
        let a = doc(json!({"/crm/v8/a": {"get": op("Get Records", json!({"200": ok(json!({}))}))}}), json!({}));
        let b = doc(json!({"/crm/v8/b": {"post": op("Get Records", json!({"200": ok(json!({}))}))}}), json!({}));
        let imported = import_group(&source(&[("a.json", a), ("b.json", b)]), &AB).unwrap();
        assert_eq!(imported.spec["paths"]["/crm/v8/a"]["get"]["operationId"], "get_records");
        assert_eq!(imported.spec["paths"]["/crm/v8/b"]["post"]["operationId"], "b_get_records");
        assert!(imported.ops[1].notes.iter().any(|n| n.contains("renamed")));
    }

    #[test]
    fn one_success_schema_and_one_error_envelope() {
        let imported = one_op(
            op(
                "Get X",
                json!({
                    "200": ok(json!({"$ref": "#/components/schemas/List"})),
                    "204": {"description": "none"},
                    "304": {"description": "not modified"},
                    "400": ok(json!({"$ref": "#/components/schemas/BadRequest"})),
                    "500": ok(json!({"type": "object", "properties": {"other": {"type": "string"}}})),
                    "default": ok(json!({})),
                }),
            ),
            json!({"List": {"type": "object"}, "BadRequest": {"type": "object"}}),
        );
        let responses = imported.spec["paths"]["/crm/v8/x"]["get"]["responses"].as_object().unwrap().clone();
        let codes: Vec<&String> = responses.keys().collect();
        assert_eq!(codes, ["200", "400", "500"]);
        for code in ["400", "500"] {
            assert_eq!(
                responses[code]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorEnvelope"
            );
        }
        assert!(
            imported.spec["components"]["schemas"].get("BadRequest").is_none(),
            "unused error schemas are not bundled"
        );
        let notes = imported.ops[0].notes.join("\n");
        assert!(
            notes.contains("204 dropped")
                && notes.contains("304 dropped")
                && notes.contains("`default`")
                && notes.contains("unified"),
            "{notes}"
        );
    }

    #[test]
    fn a_lone_204_stays_without_body() {
        let imported = one_op(op("Delete X", json!({"204": ok(json!({"type": "object"}))})), json!({}));
        assert_eq!(imported.spec["paths"]["/crm/v8/x"]["get"]["responses"], json!({"204": {"description": "Success"}}));
    }

    #[test]
    fn several_success_statuses_share_one_schema() {
        let imported = one_op(
            op(
                "Create X",
                json!({"201": ok(json!({"type": "object", "properties": {"data": {"type": "array"}}})), "207": ok(json!({"type": "object"}))}),
            ),
            json!({}),
        );
        let responses = &imported.spec["paths"]["/crm/v8/x"]["get"]["responses"];
        for code in ["201", "207"] {
            assert_eq!(
                responses[code]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/CreateXResponse"
            );
        }
        assert_eq!(imported.spec["components"]["schemas"]["CreateXResponse"]["properties"]["data"]["items"], json!({}));
    }

    #[test]
    fn bodies_get_a_schema_and_multipart_is_left_out() {
        let mut o = op("Update X", json!({"200": ok(json!({}))}));
        o["requestBody"] = json!({"content": {"application/json": {}}});
        let imported = one_op(o, json!({}));
        let body = &imported.spec["paths"]["/crm/v8/x"]["get"]["requestBody"]["content"];
        assert_eq!(body, &json!({"application/json": {"schema": {"type": "object", "additionalProperties": {}}}}));

        let mut o = op("Upload X", json!({"200": ok(json!({}))}));
        o["requestBody"] = json!({"content": {"multipart/form-data": {"schema": {"type": "object"}}}});
        let imported = one_op(o, json!({}));
        assert!(imported.spec["paths"].as_object().unwrap().is_empty());
        assert!(imported.ops[0].rust.is_none());
        assert!(imported.ops[0].notes[0].contains("multipart"));
    }

    #[test]
    fn parameters_match_the_path_and_are_scalars() {
        let o = json!({"operationId": "Get Y", "parameters": [
            {"name": "module", "in": "path", "schema": {"type": "string"}},
            {"name": "ghost", "in": "path", "required": true, "schema": {"type": "string"}},
            {"name": "filters", "in": "query", "schema": {"$ref": "#/components/schemas/Criteria"}},
            {"name": "ids", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "page", "in": "query", "schema": {"type": "integer", "format": "int32"}},
        ], "responses": {"200": ok(json!({}))}});
        let s = source(&[(
            "a.json",
            doc(json!({"/crm/v8/{module}/{id}": {"get": o}}), json!({"Criteria": {"type": "object"}})),
        )]);
        let imported = import_group(&s, &A).unwrap();
        let params = imported.spec["paths"]["/crm/v8/{module}/{id}"]["get"]["parameters"].as_array().unwrap().clone();
        let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["module", "filters", "ids", "page", "id"]);
        assert_eq!(params[0]["required"], true);
        assert_eq!(params[1]["schema"], json!({"type": "string"}));
        assert_eq!(params[2]["schema"], json!({"type": "string"}));
        assert_eq!(params[3]["schema"], json!({"type": "integer", "format": "int32"}));
        assert!(imported.spec["components"]["schemas"].get("Criteria").is_none());
        let notes = imported.ops[0].notes.join("\n");
        assert!(
            notes.contains("`ghost` dropped") && notes.contains("`id` declared") && notes.contains("made required"),
            "{notes}"
        );
    }

    #[test]
    fn camel_case_path_parameters_become_snake_case() {
        let mut o = json!({"parameters": [{"name": "recordId", "in": "path"}, {"name": "pageToken", "in": "query"}]});
        let mut notes = Vec::new();
        assert_eq!(
            snake_path_params("/crm/v8/{module}/{recordId}/x", &mut o, &mut notes),
            "/crm/v8/{module}/{record_id}/x"
        );
        assert_eq!(o["parameters"][0]["name"], "record_id");
        assert_eq!(o["parameters"][1]["name"], "pageToken", "query names go on the wire");
        assert_eq!(notes.len(), 1);
    }

    #[test]
    fn response_schemas_reached_through_components_are_opened() {
        let a = doc(
            json!({"/crm/v8/x": {"get": op("Get X", json!({"200": ok(json!({"oneOf": [{"$ref": "#/components/schemas/Wrapper"}, {"$ref": "#/components/schemas/Other"}]}))}))}}),
            json!({
                "Wrapper": {"type": "object", "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}}},
                "Record": {"type": "object", "additionalProperties": true, "required": ["id"], "properties": {"id": {"type": "string"}, "kind": {"type": "string", "enum": ["a"]}}},
                "Other": {"type": "object", "additionalProperties": false},
            }),
        );
        let imported = import_group(&source(&[("a.json", a)]), &A).unwrap();
        let schemas = &imported.spec["components"]["schemas"];
        for name in ["Wrapper", "Record", "Other"] {
            assert_eq!(schemas[name]["additionalProperties"], json!({}), "{name}");
        }
        assert!(schemas["Record"].get("required").is_none());
        assert!(schemas["Record"]["properties"]["kind"].get("enum").is_none());
    }

    #[test]
    fn colliding_schema_names_are_qualified_by_file() {
        let refs: BTreeSet<String> = [
            "a.json#/components/schemas/Body_Wrapper",
            "b.json#/components/schemas/BodyWrapper",
            "a.json#/components/schemas/Solo",
            "b.json#/components/schemas/ErrorEnvelope",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect();
        let mut notes = Vec::new();
        let names = name_schemas(&refs, &[ERROR_ENVELOPE.to_owned()], &mut notes);
        assert_eq!(names["a.json#/components/schemas/Body_Wrapper"], "A_Body_Wrapper");
        assert_eq!(names["b.json#/components/schemas/BodyWrapper"], "B_BodyWrapper");
        assert_eq!(names["a.json#/components/schemas/Solo"], "Solo");
        assert_eq!(names["b.json#/components/schemas/ErrorEnvelope"], "B_ErrorEnvelope");
        assert_eq!(notes.len(), 3);
        let keys: BTreeSet<String> = names.values().map(|n| type_key(n)).collect();
        assert_eq!(keys.len(), names.len());
    }

    #[test]
    fn responses_are_opened() {
        let mut schema = json!({"type": "object", "required": ["a"], "additionalProperties": false, "properties": {
            "a": {"type": "string", "enum": ["x", "y"], "maxLength": 3},
            "b": {"type": "array", "items": {"type": "object", "properties": {"c": {"type": "integer", "minimum": 1}}}},
        }});
        open_schema(&mut schema);
        assert_eq!(
            schema,
            json!({"type": "object", "additionalProperties": {}, "properties": {
                "a": {"type": "string"},
                "b": {"type": "array", "items": {"type": "object", "additionalProperties": {}, "properties": {"c": {"type": "integer"}}}},
            }})
        );
    }

    #[test]
    fn colliding_request_enums_become_strings() {
        let mut schema = json!({"type": "object", "properties": {
            "ok": {"type": "string", "enum": ["Open", "Closed"]},
            "clash": {"type": "string", "enum": ["read-only", "read_only", "hidden"]},
            "empty": {"type": "string", "enum": ["-", "x"]},
            "number": {"type": "integer", "enum": [1, 2]},
        }});
        let changed = make_enums_safe(&mut schema);
        assert_eq!(changed.len(), 3, "{changed:?}");
        assert!(schema["properties"]["number"].get("enum").is_none());
        assert_eq!(schema["properties"]["ok"]["enum"], json!(["Open", "Closed"]));
        assert!(schema["properties"]["clash"].get("enum").is_none());
        assert!(schema["properties"]["empty"].get("enum").is_none());
    }

    #[test]
    fn tidy_unwraps_single_one_of_and_drops_formats() {
        let mut schema = json!({"type": "object", "properties": {
            "a": {"oneOf": [{"$ref": "#/components/schemas/A"}], "description": "d"},
            "t": {"type": "string", "format": "date-time", "default": "now"},
            "l": {"type": "array"},
            "p": {"properties": {"q": {"type": "string", "format": "uuid"}}},
        }});
        tidy_schema(&mut schema);
        assert_eq!(schema["properties"]["a"], json!({"$ref": "#/components/schemas/A"}));
        assert_eq!(schema["properties"]["t"], json!({"type": "string"}));
        assert_eq!(schema["properties"]["l"], json!({"type": "array", "items": {}}));
        assert_eq!(schema["properties"]["p"]["type"], "object");
        assert_eq!(schema["properties"]["p"]["properties"]["q"], json!({"type": "string"}));
    }

    #[test]
    fn a_route_declared_twice_is_left_out_once() {
        assert_eq!(route_shape("/crm/v8/{module_api_name}/{id}"), route_shape("/crm/v8/{m}/{external_field_value}"));
        let a = doc(
            json!({
                "/crm/v8/{m}/{id}": {"get": op("Get Record", json!({"200": ok(json!({}))}))},
                "/crm/v8/{m}/{ext}": {"get": op("Get Record Using External ID", json!({"200": ok(json!({}))}))},
            }),
            json!({}),
        );
        // Zoho's order decides (the text order), not the sorted keys: `{ext}` sorts first.
        let text = a.to_string().replace("\"/crm/v8/{m}/{ext}\"", "\"/crm/v8/{m}/{zext}\"");
        let texts = vec![("a.json".to_owned(), text)];
        let s = Source::from_texts(&texts, "c").unwrap();
        let imported = import_group(&s, &A).unwrap();
        let kept: Vec<&String> = imported.spec["paths"].as_object().unwrap().keys().collect();
        assert_eq!(kept.len(), 1);
        let left_out: Vec<&OpReport> = imported.ops.iter().filter(|o| o.rust.is_none()).collect();
        assert_eq!(left_out.len(), 1);
        assert!(left_out[0].notes[0].contains("same method and path template"));
    }

    #[test]
    fn wrong_ref_fix_points_get_groups_at_its_list() {
        let mut d = json!({"paths": {"/crm/v8/settings/user_groups": {"get": {"responses": {"200": {"$ref": "#/components/responses/UnsupportedVersionResponse"}}}}}});
        fix_wrong_refs(&mut d, "user_groups.json");
        assert_eq!(
            d.pointer("/paths/~1crm~1v8~1settings~1user_groups/get/responses/200/$ref").unwrap(),
            "#/components/responses/UserGroups"
        );
        let mut other = d.clone();
        other["paths"]["/crm/v8/settings/user_groups"]["get"]["responses"]["200"]["$ref"] = json!("#/x");
        fix_wrong_refs(&mut other, "roles.json");
        assert_eq!(other["paths"]["/crm/v8/settings/user_groups"]["get"]["responses"]["200"]["$ref"], "#/x");
    }

    #[test]
    fn import_is_deterministic_and_records_the_commit() {
        let a = doc(
            json!({"/crm/v8/x": {"get": op("Get X", json!({"200": ok(json!({"$ref": "#/components/schemas/Z"}))}))}}),
            json!({"Z": {"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "string"}}}}),
        );
        let s = source(&[("a.json", a.clone())]);
        let first = render(&import_group(&s, &A).unwrap().spec).unwrap();
        let second = render(&import_group(&source(&[("a.json", a)]), &A).unwrap().spec).unwrap();
        assert_eq!(first, second);
        assert!(first.contains("0123456789abcdef0123456789abcdef01234567"));
        assert!(first.find("\"a\"").unwrap() < first.find("\"b\"").unwrap(), "maps are sorted");
        assert!(first.ends_with("}\n"));
    }

    #[test]
    fn every_file_needs_a_group() {
        let s = source(&[("record.json", json!({})), ("brand_new.json", json!({}))]);
        let err = check_groups(&s).unwrap_err();
        assert!(err.contains("brand_new.json") && err.contains("GROUPS"), "{err}");
        let err = import_all(&source(&[]), &["nope".to_owned()]).unwrap_err();
        assert!(err.contains("unknown group"), "{err}");
    }

    #[test]
    fn commit_comes_from_sources_md() {
        assert_eq!(
            find_commit("commit `45dff2cc9c69403c85b8a3642e7056528dc668d5` (2025)").as_deref(),
            Some("45dff2cc9c69403c85b8a3642e7056528dc668d5")
        );
        assert_eq!(find_commit("no commit here, deadbeef"), None);
        assert_eq!(operation_ids_in_text(r#"{"b": {"operationId": "B"}, "a": {"operationId" : "A"}}"#), ["B", "A"]);
    }

    /// The committed spec/crm-v8 is exactly what the importer makes of the shared checkout.
    #[test]
    fn committed_spec_is_a_fresh_import() {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        // xtask/, or the workspace root when compiled into tests/contract_v8_import.rs.
        let root = if here.join("spec").exists() { here } else { here.join("..") };
        let from = root.join("../shared/zoho/crm-oas");
        if !from.join("v8.0").exists() {
            println!("skipped: {} is absent", from.display());
            return;
        }
        let source = Source::load(&from).unwrap();
        for (name, text) in import_all(&source, &[]).unwrap() {
            let committed = std::fs::read_to_string(root.join("spec/crm-v8").join(&name)).unwrap_or_default();
            assert!(committed == text, "spec/crm-v8/{name} differs from a fresh import: run `cargo xtask import-oas`");
        }
    }
}
