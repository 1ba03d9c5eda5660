//! Build script: turns `spec/*.yaml` (OpenAPI 3.0.x) into typed Rust clients.
//!
//! With the default `codegen` feature, each spec is parsed with `openapiv3`, generated with
//! `progenitor` and formatted with `prettyplease` into `$OUT_DIR/<name>.rs`. Without it, the
//! committed copies in `generated/` are compiled instead (see `src/lib.rs`), and this script
//! does nothing. `cargo xtask codegen` copies `$OUT_DIR/*.rs` into `generated/`, so the
//! committed copy and the build can never come from two different generators.
//!
//! A spec that does not parse, is not OpenAPI 3.0.x, or makes the generator fail stops the
//! build with one line naming the file and the problem.

/// The specs to generate: (spec file, output module file, cargo feature that enables it).
/// The v8 groups come from `cargo xtask import-oas` (Zoho's own files, normalized).
const SPECS: &[(&str, &str, Option<&str>)] = &[
    ("spec/accounts.yaml", "accounts.rs", None),
    ("spec/crm-v2.yaml", "crm.rs", None),
    ("spec/crm-v8/core.json", "crm_v8_core.rs", Some("v8-core")),
    ("spec/crm-v8/records.json", "crm_v8_records.rs", Some("v8-records")),
    ("spec/crm-v8/settings.json", "crm_v8_settings.rs", Some("v8-settings")),
    ("spec/crm-v8/bulk.json", "crm_v8_bulk.rs", Some("v8-bulk")),
    ("spec/crm-v8/email.json", "crm_v8_email.rs", Some("v8-email")),
];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    for (spec, _, _) in SPECS {
        println!("cargo::rerun-if-changed={spec}");
    }
    #[cfg(feature = "codegen")]
    codegen::run(SPECS);
}

#[cfg(feature = "codegen")]
mod codegen {
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle, TypeImpl};
    use sha2::{Digest, Sha256};

    /// Types whose fields are all optional, which derive `Default`.
    const DEFAULTABLE: &[&str] = &[
        "Record",
        "User",
        "Org",
        "Module",
        "Field",
        "Layout",
        "NamedRef",
        "Info",
        "DeletedRecord",
        "TokenResponse",
        "RevokeResponse",
        "ServerInfo",
    ];

    /// Extension that marks browser-only operations (documented, never generated).
    const BROWSER_ONLY: &str = "x-zohocrm-browser-only";

    pub fn run(specs: &[(&str, &str, Option<&str>)]) {
        let out_dir = match std::env::var_os("OUT_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => fail("build.rs", "OUT_DIR is not set; run through cargo"),
        };
        let root = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
        for (spec, out_name, feature) in specs {
            // A v8 group is generated only when its feature is on (`CARGO_FEATURE_V8_CORE`, ...).
            if let Some(feature) = feature {
                let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
                if std::env::var_os(var).is_none() {
                    continue;
                }
            }
            match generate(&root, spec, feature.is_none()) {
                Ok(code) => {
                    if let Err(e) = std::fs::write(out_dir.join(out_name), code) {
                        fail(spec, &format!("cannot write {}: {e}", out_dir.join(out_name).display()));
                    }
                }
                Err(message) => fail(spec, &message),
            }
        }
    }

    /// Reports one readable line and stops the build, without a panic backtrace.
    fn fail(spec: &str, message: &str) -> ! {
        let one_line = message.replace('\n', " ");
        println!("cargo::error={spec}: {one_line}");
        std::process::exit(1);
    }

    /// Generates the formatted, stamped client for one spec file. `hand_written` specs (v2,
    /// accounts) get the `Default` patches and the `Secret` replacement their schemas are
    /// written for; imported v8 specs get neither (their schema names are Zoho's).
    fn generate(root: &Path, spec_path: &str, hand_written: bool) -> Result<String, String> {
        let text = std::fs::read_to_string(root.join(spec_path)).map_err(|e| format!("cannot read: {e}"))?;
        let raw: serde_json::Value = serde_norway::from_str(&text).map_err(|e| format!("invalid YAML: {e}"))?;
        let version = raw.get("openapi").and_then(|v| v.as_str()).unwrap_or("");
        if !version.starts_with("3.0.") {
            return Err(format!(
                "`openapi: {version}` is not supported; progenitor reads OpenAPI 3.0.x only (write `openapi: 3.0.3`)"
            ));
        }
        let mut api: openapiv3::OpenAPI =
            serde_json::from_value(raw).map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
        strip_browser_only(&mut api);
        reject_external_refs(&text)?;
        let templates = path_templates(&api);

        let mut settings = GenerationSettings::default();
        // Each generated client carries its own context: the accounts client the OAuth one,
        // every CRM client (v2 and v8) the CRM one.
        let context = if spec_path.ends_with("accounts.yaml") {
            "crate::oauth::AccountsContext"
        } else {
            "crate::client::CrmContext"
        };
        settings
            .with_interface(InterfaceStyle::Builder)
            .with_tag(TagStyle::Merged)
            .with_inner_type(context.parse::<proc_macro2::TokenStream>().map_err(|e| format!("{e}"))?);
        if hand_written {
            // Each secret role of the spec becomes its own redacting, zeroizing type.
            for (schema, rust) in [
                ("Secret", "crate::secret::SecretString"),
                ("ClientSecret", "crate::secret::ClientSecret"),
                ("AuthorizationCode", "crate::secret::AuthorizationCode"),
                ("RefreshToken", "crate::secret::RefreshToken"),
                ("AccessToken", "crate::secret::AccessToken"),
            ] {
                settings.with_replacement(schema, rust, [TypeImpl::Display].into_iter());
            }
            // Open objects whose fields are all optional get `Default`, so callers can write
            // `Record { id: None, extra }` or `Record::default()` and add fields.
            let mut default = progenitor::TypePatch::default();
            default.with_derive("Default");
            for name in DEFAULTABLE {
                settings.with_patch(name, &default);
            }
        }
        if std::env::var_os("CARGO_FEATURE_SCHEMARS").is_some() {
            settings.with_derive("schemars::JsonSchema");
        }

        // progenitor reports some unsupported constructs by panicking: turn that into one line.
        let previous_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let generated = std::panic::catch_unwind(move || {
            let mut generator = Generator::new(&settings);
            generator.generate_tokens(&api).map_err(|e| e.to_string())
        });
        std::panic::set_hook(previous_hook);
        let tokens = match generated {
            Ok(Ok(tokens)) => tokens,
            Ok(Err(e)) => return Err(format!("progenitor rejected the spec: {e}")),
            Err(panic) => {
                let why = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown reason".to_string());
                return Err(format!("progenitor cannot generate this spec: {why}"));
            }
        };
        let code = drop_api_version_header(&tokens.to_string())?;
        let (code, rewritten) = check_path_segments(&code)?;
        let mut file: syn::File = syn::parse_str(&code).map_err(|e| format!("generated code does not parse: {e}"))?;
        if rewritten > 0 {
            file.items.push(templates_item(&templates)?);
        }
        one_pass_open_objects(&mut file)?;
        let body = prettyplease::unparse(&file);

        let digest = Sha256::digest(text.as_bytes());
        let mut hash = String::with_capacity(64);
        for byte in digest {
            let _ = write!(hash, "{byte:02x}");
        }
        Ok(format!(
            "// @generated by zohocrm's build.rs (progenitor) from {spec_path}\n\
             // spec sha256: {hash}\n\
             // DO NOT EDIT. Change {spec_path}, then run `cargo xtask codegen`.\n\n{body}"
        ))
    }

    /// Gives every open object (a struct whose unknown fields go to a `#[serde(flatten)]` map)
    /// a one-pass `Deserialize`: the JSON object is streamed once, each known key decoded into
    /// its field and every other key into the map (`crate::open_object::Key` borrows the key). serde's derived `flatten` first buffers the
    /// whole object (and every nested open object, again) in its private `Content` tree, which
    /// made the SDK's decode of a 200-record page 1.13× a plain `serde_json` map. Structs with
    /// any other serde attribute keep the derive.
    fn one_pass_open_objects(file: &mut syn::File) -> Result<usize, String> {
        let mut count = 0;
        for item in &mut file.items {
            let syn::Item::Mod(module) = item else { continue };
            if module.ident != "types" {
                continue;
            }
            let Some((_, items)) = module.content.as_mut() else { continue };
            let mut impls = Vec::new();
            for item in items.iter_mut() {
                if let syn::Item::Struct(s) = item
                    && let Some(code) = one_pass_impl(s)
                {
                    impls.push(syn::parse_str::<syn::Item>(&code).map_err(|e| format!("one-pass Deserialize: {e}"))?);
                }
            }
            count += impls.len();
            items.extend(impls);
        }
        Ok(count)
    }

    /// The one-pass `Deserialize` of `s` (removing its derived one), or `None` to keep the derive.
    fn one_pass_impl(s: &mut syn::ItemStruct) -> Option<String> {
        use syn::punctuated::Punctuated;
        if !s.generics.params.is_empty() || s.attrs.iter().any(|a| a.path().is_ident("serde")) {
            return None;
        }
        let syn::Fields::Named(fields) = &s.fields else { return None };
        // Per field: its local, how it is set from the next value, and how it ends up in `Self`.
        let mut locals = Vec::new();
        let mut arms = Vec::new();
        let mut inits = Vec::new();
        let mut flattened = None;
        for field in &fields.named {
            let ident = field.ident.as_ref()?;
            let (mut rename, mut default, mut flatten) = (None, false, false);
            for attr in field.attrs.iter().filter(|a| a.path().is_ident("serde")) {
                let mut unsupported = false;
                attr.parse_nested_meta(|meta| {
                    if meta.path.is_ident("rename") {
                        rename = Some(meta.value()?.parse::<syn::LitStr>()?.value());
                    } else if meta.path.is_ident("default") {
                        default = true;
                    } else if meta.path.is_ident("flatten") {
                        flatten = true;
                    } else if meta.path.is_ident("skip_serializing_if") {
                        meta.value()?.parse::<syn::LitStr>()?;
                    } else {
                        unsupported = true;
                    }
                    Ok(())
                })
                .ok()?;
                if unsupported {
                    return None;
                }
            }
            let ty = quote_type(&field.ty);
            if flatten {
                if flattened.is_some() || !ty.replace(' ', "").contains("serde_json::Map<") {
                    return None;
                }
                flattened = Some(ident.clone());
                continue;
            }
            let bare = ident.to_string().trim_start_matches("r#").to_owned();
            let key = rename.unwrap_or_else(|| bare.clone());
            // Locals are prefixed so that no field name can shadow `access`, `key` or another local.
            let local = format!("f_{bare}");
            let optional = ty.replace(' ', "").starts_with("::std::option::Option<");
            if optional || default {
                // Absent is `None` (or the default); a JSON `null` for an `Option` is `None`.
                locals.push(format!("let mut {local}: {ty} = ::std::default::Default::default();"));
                arms.push(format!("{key:?} => {local} = access.next_value()?,"));
                inits.push(format!("{ident}: {local}"));
            } else {
                locals.push(format!("let mut {local}: ::std::option::Option<{ty}> = None;"));
                arms.push(format!("{key:?} => {local} = Some(access.next_value()?),"));
                inits.push(format!(
                    "{ident}: {local}.ok_or_else(|| <A::Error as ::serde::de::Error>::missing_field({key:?}))?"
                ));
            }
        }
        let extra = flattened?;
        // Drop the derived `Deserialize`.
        let mut found = false;
        for attr in s.attrs.iter_mut().filter(|a| a.path().is_ident("derive")) {
            let Ok(paths) = attr.parse_args_with(Punctuated::<syn::Path, syn::Token![,]>::parse_terminated) else {
                return None;
            };
            let kept: Vec<syn::Path> = paths
                .iter()
                .filter(|p| {
                    let is_de = p.segments.last().is_some_and(|seg| seg.ident == "Deserialize");
                    found |= is_de;
                    !is_de
                })
                .cloned()
                .collect();
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
        if !found {
            return None;
        }
        let name = &s.ident;
        // Streams the object once, like a derive without `flatten`: known keys decode straight
        // into their fields (so serde_path_to_error still names `users[1].confirm`), every other
        // key goes to the map. An unknown key is copied into its `String` before its value is
        // decoded, as serde_json's own map does: copied after, right before the insert compares
        // it, the same instructions ran 4-7 % slower per 200-record page (sdk_overhead's decode).
        Some(format!(
            "impl<'de> ::serde::Deserialize<'de> for {name} {{\n\
                 fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {{\n\
                     struct Visitor;\n\
                     impl<'de> ::serde::de::Visitor<'de> for Visitor {{\n\
                         type Value = {name};\n\
                         fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {{\n\
                             f.write_str(\"a {name} object\")\n\
                         }}\n\
                         fn visit_map<A: ::serde::de::MapAccess<'de>>(self, mut access: A) -> ::std::result::Result<{name}, A::Error> {{\n\
                             {locals}\n\
                             let mut f_extra_fields = ::serde_json::Map::new();\n\
                             while let Some(key) = access.next_key::<crate::open_object::Key<'de>>()? {{\n\
                                 match key.as_str() {{\n\
                                     {arms}\n\
                                     _ => {{\n\
                                         let key = key.into_string();\n\
                                         let value: ::serde_json::Value = access.next_value()?;\n\
                                         f_extra_fields.insert(key, value);\n\
                                     }}\n\
                                 }}\n\
                             }}\n\
                             Ok({name} {{ {inits}{sep}{extra}: f_extra_fields }})\n\
                         }}\n\
                     }}\n\
                     deserializer.deserialize_map(Visitor)\n\
                 }}\n\
             }}",
            locals = locals.join("\n"),
            arms = arms.join("\n"),
            inits = inits.join(", "),
            sep = if inits.is_empty() { "" } else { ", " },
        ))
    }

    fn quote_type(ty: &syn::Type) -> String {
        use quote::ToTokens;
        ty.to_token_stream().to_string()
    }

    /// `operationId` → path template of every generated operation, in spec order.
    fn path_templates(api: &openapiv3::OpenAPI) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (path, item) in &api.paths.paths {
            let openapiv3::ReferenceOr::Item(item) = item else { continue };
            for (_, op) in item.iter() {
                if let Some(id) = &op.operation_id {
                    out.push((id.clone(), path.clone()));
                }
            }
        }
        out
    }

    /// `pub(crate) const PATH_TEMPLATES`, the table the CRM `pre` hook checks request paths with.
    fn templates_item(templates: &[(String, String)]) -> Result<syn::Item, String> {
        let entries: Vec<String> = templates.iter().map(|(id, path)| format!("({id:?}, {path:?})")).collect();
        let code = format!(
            "/// `operationId` → path template of every operation, for the request-path check of the SDK's `pre` hook.\n\
             pub(crate) const PATH_TEMPLATES: &[(&str, &str)] = &[{}];",
            entries.join(", ")
        );
        syn::parse_str(&code).map_err(|e| format!("path template table does not parse: {e}"))
    }

    /// progenitor's `encode_path` leaves `\` and `.` alone, so a path parameter such as
    /// `..\Contacts\1` leaves its segment. Every call becomes
    /// `crate::path::segment(client, "<name>", ..)?`, which refuses empty and dot-segment
    /// values with a typed error and percent-encodes everything but unreserved characters.
    /// Returns the code and how many calls were rewritten; an unexpected call shape (a newer
    /// progenitor) stops the build instead of silently keeping the old encoder.
    fn check_path_segments(code: &str) -> Result<(String, usize), String> {
        const CALL: &str = "encode_path (& ";
        const END: &str = " . to_string ())";
        let mut out = String::with_capacity(code.len());
        let mut rest = code;
        let mut count = 0;
        while let Some(at) = rest.find(CALL) {
            out.push_str(&rest[..at]);
            let after = &rest[at + CALL.len()..];
            let name_len = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
            let name = &after[..name_len];
            if name.is_empty() || !after[name_len..].starts_with(END) {
                let shown: String = rest[at..].chars().take(60).collect();
                return Err(format!("unexpected path-parameter encoding in the generated code: `{shown}`"));
            }
            let _ = write!(out, "crate :: path :: segment (client , {name:?} , & {name} . to_string ()) ?");
            rest = &after[name_len + END.len()..];
            count += 1;
        }
        out.push_str(rest);
        Ok((out, count))
    }

    /// progenitor gives every request an `api-version` header carrying the spec's
    /// `info.version`. Zoho defines no such header (the API version is in the path), so it is
    /// noise on every call, to Zoho and through the proxies in between, and it made each
    /// request allocate a header map. This drops it: the per-request map starts empty and
    /// allocates only when an operation's own header parameter (`If-Modified-Since`, ...) is
    /// set. Fails the build if progenitor's output no longer has the expected shape.
    fn drop_api_version_header(code: &str) -> Result<String, String> {
        const LET: &str = "let mut header_map = :: reqwest :: header :: HeaderMap :: with_capacity (";
        const APPEND: &str =
            "header_map . append (:: reqwest :: header :: HeaderName :: from_static (\"api-version\") ,";
        let mut out = String::with_capacity(code.len());
        let mut rest = code;
        let (mut maps, mut appends) = (0, 0);
        loop {
            let next_let = rest.find(LET);
            let next_append = rest.find(APPEND);
            match (next_let, next_append) {
                (Some(at), append) if append.is_none_or(|a| at < a) => {
                    out.push_str(&rest[..at]);
                    let after = &rest[at + LET.len()..];
                    let Some(end) = after.find(") ;") else {
                        return Err("unexpected header map in the generated code".to_owned());
                    };
                    // Not mutated at all when the operation has no header parameter.
                    out.push_str(
                        "# [allow (unused_mut)] let mut header_map = :: reqwest :: header :: HeaderMap :: new () ;",
                    );
                    rest = &after[end + 3..];
                    maps += 1;
                }
                (_, Some(at)) => {
                    out.push_str(&rest[..at]);
                    let Some(end) = rest[at..].find(") ;") else {
                        return Err("unexpected `api-version` header in the generated code".to_owned());
                    };
                    rest = &rest[at + end + 3..];
                    appends += 1;
                }
                (_, None) => break,
            }
        }
        out.push_str(rest);
        if maps != appends {
            return Err(format!(
                "progenitor's output changed: {maps} request header maps but {appends} `api-version` headers"
            ));
        }
        Ok(out)
    }

    /// Removes operations marked browser-only (documented in the spec, not callable over HTTP).
    fn strip_browser_only(api: &mut openapiv3::OpenAPI) {
        api.paths.paths.retain(|_, item| match item {
            openapiv3::ReferenceOr::Item(path) => {
                let ops = [&path.get, &path.put, &path.post, &path.delete, &path.patch];
                !ops.iter().any(|op| op.as_ref().is_some_and(|op| op.extensions.contains_key(BROWSER_ONLY)))
            }
            openapiv3::ReferenceOr::Reference { .. } => true,
        });
    }

    /// progenitor resolves only local `#/...` references.
    fn reject_external_refs(text: &str) -> Result<(), String> {
        for (n, line) in text.lines().enumerate() {
            let t = line.trim_start();
            if let Some(rest) = t.strip_prefix("$ref:") {
                let target = rest.trim().trim_matches(['"', '\'']);
                if !target.starts_with("#/") {
                    return Err(format!(
                        "line {}: external $ref `{target}` is not supported; inline it under components",
                        n + 1
                    ));
                }
            }
        }
        Ok(())
    }
}
