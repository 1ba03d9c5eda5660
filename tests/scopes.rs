//! The scope of every CRM operation is written down once and agrees everywhere: the SDK's
//! table (`zohocrm::scopes`), the spec's `x-zohocrm-scopes` (and each generated method's docs),
//! and the simulator, which grants an operation with exactly its narrowest documented scope and
//! refuses it without — with an error that names the scope.
#![cfg(feature = "testkit")]

mod common;

use serde_json::json;
use zohocrm::crm::types;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::{CrmClient, Error, scopes};

fn spec_scopes() -> Vec<(String, Vec<Vec<String>>)> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/spec/crm-v2.yaml")).unwrap();
    let spec: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let mut out = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values().filter(|v| v.get("operationId").is_some()) {
            let id = op["operationId"].as_str().unwrap().to_owned();
            let needs = serde_json::from_value(op["x-zohocrm-scopes"].clone())
                .unwrap_or_else(|_| panic!("{id}: no x-zohocrm-scopes"));
            let description = op["description"].as_str().unwrap_or_default();
            assert!(description.starts_with("Scopes: "), "{id}: the generated docs state the scopes");
            out.push((id, needs));
        }
    }
    out.sort();
    out
}

#[test]
fn the_spec_and_the_sdk_table_agree() {
    let spec = spec_scopes();
    let mut table: Vec<_> = scopes::operations()
        .map(|op| {
            let needs = scopes::required(op).unwrap();
            (op.to_owned(), needs.iter().map(|any| any.iter().map(|s| (*s).to_owned()).collect()).collect())
        })
        .collect::<Vec<(String, Vec<Vec<String>>)>>();
    table.sort();
    assert_eq!(spec, table);
}

/// Runs `operation` once through the raw client; `Ok` unless Zoho refused it.
async fn call(crm: &CrmClient, operation: &str) -> zohocrm::Result<()> {
    let users = || {
        serde_json::from_value::<types::UsersWrite>(
            json!({"users": [{"id": "1", "last_name": "X", "email": "x@zylker.example"}]}),
        )
        .unwrap()
    };
    let records =
        || serde_json::from_value::<types::RecordsWrite>(json!({"data": [{"id": "1", "Last_Name": "X"}]})).unwrap();
    let r = match operation {
        "list_users" => crm.send(|c| async move { c.list_users().send().await }).await.map(drop),
        "get_user" => crm.send(|c| async move { c.get_user().user_id("1").send().await }).await.map(drop),
        "add_users" => crm.send(|c| async move { c.add_users().body(users()).send().await }).await.map(drop),
        "update_users" => crm.send(|c| async move { c.update_users().body(users()).send().await }).await.map(drop),
        "update_user" => {
            crm.send(|c| async move { c.update_user().user_id("1").body(users()).send().await }).await.map(drop)
        }
        "delete_user" => crm.send(|c| async move { c.delete_user().user_id("1").send().await }).await.map(drop),
        "get_org" => crm.send(|c| async move { c.get_org().send().await }).await.map(drop),
        "list_modules" => crm.send(|c| async move { c.list_modules().send().await }).await.map(drop),
        "get_module" => {
            crm.send(|c| async move { c.get_module().module_api_name("Leads").send().await }).await.map(drop)
        }
        "list_fields" => crm.send(|c| async move { c.list_fields().module("Leads").send().await }).await.map(drop),
        "list_layouts" => crm.send(|c| async move { c.list_layouts().module("Leads").send().await }).await.map(drop),
        "list_records" => crm.send(|c| async move { c.list_records().module("Leads").send().await }).await.map(drop),
        "get_record" => {
            crm.send(|c| async move { c.get_record().module("Leads").record_id("1").send().await }).await.map(drop)
        }
        "list_deleted_records" => {
            crm.send(|c| async move { c.list_deleted_records().module("Leads").send().await }).await.map(drop)
        }
        "search_records" => {
            crm.send(|c| async move { c.search_records().module("Leads").word("Zylker").send().await }).await.map(drop)
        }
        "insert_records" => {
            crm.send(|c| async move { c.insert_records().module("Leads").body(records()).send().await }).await.map(drop)
        }
        "upsert_records" => {
            crm.send(|c| async move { c.upsert_records().module("Leads").body(records()).send().await }).await.map(drop)
        }
        "update_records" => {
            crm.send(|c| async move { c.update_records().module("Leads").body(records()).send().await }).await.map(drop)
        }
        "update_record" => crm
            .send(|c| async move { c.update_record().module("Leads").record_id("1").body(records()).send().await })
            .await
            .map(drop),
        "delete_records" => {
            crm.send(|c| async move { c.delete_records().module("Leads").ids("1").send().await }).await.map(drop)
        }
        "delete_record" => {
            crm.send(|c| async move { c.delete_record().module("Leads").record_id("1").send().await }).await.map(drop)
        }
        other => panic!("no call for {other}"),
    };
    match r {
        Err(e @ Error::Api { .. }) if e.zoho_code() == Some("OAUTH_SCOPE_MISMATCH") => Err(e),
        _ => Ok(()), // any other answer means the scope check passed
    }
}

async fn client_with(h: &common::Harness, user: &str, granted: &[&str]) -> CrmClient {
    let email = common::user_in(&h.sim, DataCenter::Us);
    let issued = h.sim.issue_tokens(&email, Environment::Production, granted).unwrap();
    let token = h
        .zoho
        .connect_with_refresh_token(user, DataCenter::Us, Environment::Production, issued.refresh_token)
        .await
        .unwrap();
    h.zoho.client(&token.key).await.unwrap()
}

#[tokio::test]
async fn the_simulator_grants_each_operation_its_documented_scope_and_no_less() {
    let h = common::harness().await;
    for (i, operation) in scopes::operations().enumerate() {
        let needs = scopes::required(operation).unwrap();
        // The narrowest alternative of each requirement (module-specific where there is one).
        let narrow: Vec<String> = needs.iter().map(|any| any.last().unwrap().replace("{module}", "Leads")).collect();
        let narrow: Vec<&str> = narrow.iter().map(String::as_str).collect();
        let crm = client_with(&h, &format!("granted-{i}"), &narrow).await;
        call(&crm, operation).await.unwrap_or_else(|e| panic!("{operation} with {narrow:?}: {e}"));

        let crm = client_with(&h, &format!("refused-{i}"), &["ZohoCRM.unrelated.READ"]).await;
        let err = call(&crm, operation).await.expect_err(operation);
        let text = err.to_string();
        assert!(text.contains(needs[0][0]), "{operation}: the error names the scope it needs: {text}");
    }
}

/// The v8 client's errors name the scope too (they went out with Zoho's bare message), and
/// `scopes::required` knows the v8 calls' names.
#[cfg(feature = "v8-core")]
#[tokio::test]
async fn v8_scope_errors_name_the_scope() {
    use zohocrm::client::Record;
    use zohocrm::client_v8::CrmV8Client;
    let h = common::harness().await;
    let crm = client_with(&h, "v8-reader", &["ZohoCRM.modules.READ"]).await;
    let v8 = CrmV8Client::from(crm);
    let err = v8.insert_records("Leads", &[Record::new().set("Last_Name", "X")]).await.unwrap_err();
    assert_eq!(err.zoho_code(), Some("OAUTH_SCOPE_MISMATCH"), "{err}");
    let text = err.to_string();
    assert!(text.contains("create_records needs ZohoCRM.modules.ALL"), "{text}");
    let err = v8.coql_text::<Record>("select Last_Name from Leads where Last_Name is not null").await.unwrap_err();
    assert!(err.to_string().contains("ZohoCRM.coql"), "{err}");
    for (v8, v2) in [("get_records", "list_records"), ("create_records", "insert_records"), ("get_users", "list_users")]
    {
        assert_eq!(scopes::required(v8), scopes::required(v2), "{v8}");
    }
}
