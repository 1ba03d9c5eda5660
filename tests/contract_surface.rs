//! Contract: the API surface of the generated clients (every operation's method, path, Rust
//! method, parameters and response types), read from the generated code with `syn`. Any spec
//! change that alters the surface shows up as a reviewable snapshot diff.

mod support;

use quote::ToTokens;
use support::surface::{self, CLIENTS};

#[test]
fn accounts_surface() {
    let ops = surface::operations(surface::compiled_source("accounts"));
    insta::assert_yaml_snapshot!("accounts_surface", ops);
}

#[test]
fn crm_surface() {
    let ops = surface::operations(surface::compiled_source("crm"));
    insta::assert_yaml_snapshot!("crm_surface", ops);
}

/// Every `operationId` of the spec (except browser-only ones) is a generated operation, and
/// the generated client has no operation the spec does not declare.
#[test]
fn every_spec_operation_is_generated() {
    for client in CLIENTS {
        let mut generated: Vec<String> =
            surface::operations(surface::compiled_source(client)).into_iter().map(|op| op.operation_id).collect();
        generated.sort();
        assert_eq!(generated, surface::spec_operation_ids(surface::spec_source(client)), "{client}");
    }
    // The one browser-only operation is documented in the spec but never generated.
    assert!(surface::spec_source("accounts").contains("operationId: authorize"));
    assert!(!surface::spec_operation_ids(surface::spec_source("accounts")).contains(&"authorize".to_owned()));
}

/// Operation names are unique and each Rust method is the snake_case `operationId`.
#[test]
fn rust_methods_are_the_operation_ids() {
    for client in CLIENTS {
        let ops = surface::operations(surface::compiled_source(client));
        assert!(!ops.is_empty(), "{client}: no operations found");
        for op in &ops {
            assert_eq!(op.rust_method, op.operation_id, "{client}");
        }
        let mut routes: Vec<_> = ops.iter().map(|op| (op.method.clone(), op.path.clone())).collect();
        routes.dedup();
        assert_eq!(routes.len(), ops.len(), "{client}: duplicate routes");
    }
}

/// Fields that carry secrets are typed `crate::secret::SecretString` in every generated type.
#[test]
fn secret_fields_have_their_role_types() {
    const SECRET_FIELDS: &[&str] = &["client_secret", "code", "refresh_token", "access_token", "token", "id_token"];
    let file = syn::parse_file(surface::compiled_source("accounts")).expect("parses");
    let types = file
        .items
        .iter()
        .find_map(|i| match i {
            syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|(_, items)| items),
            _ => None,
        })
        .expect("mod types");
    let mut checked = Vec::new();
    for item in types {
        let syn::Item::Struct(s) = item else { continue };
        for field in &s.fields {
            let Some(name) = field.ident.as_ref().map(|i| i.to_string()) else {
                continue;
            };
            if SECRET_FIELDS.contains(&name.as_str()) {
                let ty = field.ty.to_token_stream().to_string().replace(' ', "");
                // Each role has its own secret type; the revoke body and the ID token take any.
                let role = match name.as_str() {
                    "client_secret" => "ClientSecret",
                    "code" => "AuthorizationCode",
                    "refresh_token" => "RefreshToken",
                    "access_token" => "AccessToken",
                    _ => "SecretString",
                };
                let plain = format!("crate::secret::{role}");
                let optional = format!("::std::option::Option<crate::secret::{role}>");
                assert!(
                    ty == plain || ty == optional,
                    "{}.{name} is `{ty}`, expected {role}: type it `$ref: \"#/components/schemas/{}\"` in spec/accounts.yaml",
                    s.ident,
                    if role == "SecretString" { "Secret" } else { role }
                );
                checked.push(format!("{}.{name}", s.ident));
            }
        }
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "RevokeRequest.token",
            "TokenRequest.client_secret",
            "TokenRequest.code",
            "TokenRequest.refresh_token",
            "TokenResponse.access_token",
            "TokenResponse.id_token",
            "TokenResponse.refresh_token",
        ]
    );
}

/// `generated/` is exactly what the build generates, so reviewing it reviews the build.
#[cfg(feature = "codegen")]
#[test]
fn committed_copy_is_what_the_build_generates() {
    for client in CLIENTS {
        let built = surface::compiled_source(client);
        let committed = surface::committed_source(client);
        let fix = "run `cargo xtask codegen` and commit generated/";
        if cfg!(feature = "schemars") {
            // `schemars` adds `schemars::JsonSchema` to every derive, which the committed copy
            // (made with default features) does not have. Everything else must be identical:
            // the stamp lines byte for byte, the code token for token.
            let stamp = |s: &str| s.lines().take(3).collect::<Vec<_>>().join("\n");
            assert_eq!(stamp(built), stamp(committed), "{client}: spec stamp differs; {fix}");
            let tokens = |s: &str| {
                syn::parse_file(s)
                    .expect("parses")
                    .to_token_stream()
                    .to_string()
                    .replace(" , schemars :: JsonSchema", "")
            };
            assert!(tokens(built) == tokens(committed), "generated/{client}.rs differs from OUT_DIR; {fix}");
        } else {
            assert!(built == committed, "generated/{client}.rs differs from OUT_DIR/{client}.rs; {fix}");
        }
    }
}

/// With the `schemars` feature, generated types describe themselves as JSON Schema, secrets
/// included (as plain strings, never with an example value).
#[cfg(feature = "schemars")]
#[test]
fn generated_types_derive_json_schema() {
    let user = serde_json::to_value(schemars::schema_for!(zohocrm::crm::types::User)).unwrap();
    assert!(user["properties"]["email"].is_object(), "{user}");
    assert!(user["additionalProperties"].is_object() || user["additionalProperties"] == true, "open object: {user}");
    let token = serde_json::to_value(schemars::schema_for!(zohocrm::accounts::types::TokenResponse)).unwrap();
    assert!(token.to_string().contains("access_token"), "{token}");
}
