//! Zoho's v8 payloads (`tests/fixtures/zoho_v8`, sources in its `SOURCES.md`) decode into the
//! types generated from Zoho's own v8 OpenAPI files and re-encode to the same JSON: nothing is
//! lost, custom and `$`-prefixed fields included.
#![cfg(feature = "v8-core")]

use serde::Serialize;
use serde::de::DeserializeOwned;
use zohocrm::crm_v8::core::types;

fn fixture(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/zoho_v8/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Decodes `name` as `T` and checks the round trip.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) {
    let original = fixture(name);
    let text = original.to_string();
    let mut de = serde_json::Deserializer::from_str(&text);
    let typed: T =
        serde_path_to_error::deserialize(&mut de).unwrap_or_else(|e| panic!("{name}: {} at {}", e.inner(), e.path()));
    assert_eq!(
        serde_json::to_value(&typed).unwrap(),
        without_empty_arrays(original),
        "{name} re-encodes to the same JSON"
    );
}

/// The generated types leave an empty typed list out when encoding (progenitor's
/// `skip_serializing_if = "Vec::is_empty"`): `"Tag": []` comes back as no `Tag`. That is the
/// only difference allowed.
fn without_empty_arrays(mut value: serde_json::Value) -> serde_json::Value {
    match &mut value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !matches!(v, serde_json::Value::Array(a) if a.is_empty()));
            for v in map.values_mut() {
                *v = without_empty_arrays(v.take());
            }
        }
        serde_json::Value::Array(items) => {
            for v in items.iter_mut() {
                *v = without_empty_arrays(v.take());
            }
        }
        _ => {}
    }
    value
}

#[test]
fn record_payloads_round_trip_through_the_generated_v8_types() {
    round_trip::<types::RecordResponseWrapper>("records_leads_search.json");
    round_trip::<types::RecordResponseWrapper>("records_list_page_token.json");
    round_trip::<types::CoqlResponseWrapper>("coql_response.json");
    round_trip::<types::ActionWrapper>("records_insert_response.json");
}

#[test]
fn the_page_token_info_is_typed() {
    let page: types::RecordResponseWrapper = serde_json::from_value(fixture("records_list_page_token.json")).unwrap();
    let info = page.info.expect("info");
    assert!(info.next_page_token.is_some() && info.page_token_expiry.is_some());
    assert_eq!(info.more_records, Some(true));
}
