//! Contract: the exact HTTP request each call of the hand-written CRM v8 layer sends (method,
//! path, query, headers, body), captured by a loopback server and snapshotted with secrets
//! redacted — listing by page number and by page token, count, get, COQL, writes.
#![cfg(feature = "v8-core")]

mod support;

use std::sync::Arc;

use serde_json::json;
use support::capture::{Canned, CaptureServer, Shape};
use zohocrm::client_v8::{CrmV8Client, PageAt, V8Query};
use zohocrm::coql::{Condition, Coql, Order};
use zohocrm::dc::{DataCenter, Endpoints, Environment};
use zohocrm::retry::RetryPolicy;
use zohocrm::store::{MemoryStore, TokenStore};
use zohocrm::{AccessToken, ClientCredentials, RefreshToken, Token, TokenKey, Zoho};

/// A v8 client of a stored, fresh connection whose API domain is the capture server.
async fn client(server: &CaptureServer) -> CrmV8Client {
    let endpoints =
        Endpoints::zoho().with_api_domain(DataCenter::Us, Environment::Production, server.base_url()).unwrap();
    let store = Arc::new(MemoryStore::new());
    let key = TokenKey::new("contract", DataCenter::Us, Environment::Production);
    let far = 4_102_444_800_000; // 2100-01-01: never refreshed during the test
    store
        .put(&Token {
            key: key.clone(),
            access_token: Some(AccessToken::new("1000.at-v8-contract.SECRET")),
            refresh_token: Some(RefreshToken::new("1000.rt-v8-contract.SECRET")),
            expires_at_ms: far,
            api_domain: server.base_url().to_owned(),
            accounts_server: "https://accounts.zoho.com".into(),
            scopes: vec![],
            created_at_ms: 0,
            updated_at_ms: 0,
        })
        .await
        .unwrap();
    let zoho = Zoho::builder(ClientCredentials::new("1000.CLIENT", "secret"))
        .endpoints(endpoints)
        .shared_store(store)
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    zoho.client_v8(&key).await.unwrap()
}

fn answer(request: &support::capture::Captured) -> Canned {
    if request.path().ends_with("/actions/count") {
        return Canned::json(200, r#"{"count":3}"#);
    }
    if request.path().ends_with("/coql") || request.raw_query().is_some_and(|q| q.contains("fields=")) {
        return Canned::json(
            200,
            r#"{"data":[{"id":"1","Last_Name":"Boyle"}],"info":{"count":1,"more_records":false}}"#,
        );
    }
    if request.method == "GET" && request.path().contains("/Leads/") {
        return Canned::json(200, r#"{"data":[{"id":"3652397000000190367","Last_Name":"Boyle"}]}"#);
    }
    Canned::json(200, r#"{"data":[{"code":"SUCCESS","details":{"id":"1"},"message":"done","status":"success"}]}"#)
}

#[tokio::test]
async fn v8_layer_request_shapes() {
    let server = CaptureServer::start(answer).await;
    let crm = client(&server).await;
    let query = V8Query::fields(["Last_Name", "Company"]).sort_by("Created_Time", false).per_page(100);

    crm.records_page("Leads", &query, &PageAt::Number(2)).await.unwrap();
    insta::assert_yaml_snapshot!("v8_records_page_number", Shape::of(&server.take_one()));
    crm.records_page("Leads", &query, &PageAt::Token("tok-1+/=".into())).await.unwrap();
    insta::assert_yaml_snapshot!("v8_records_page_token", Shape::of(&server.take_one()));
    assert_eq!(crm.count("Leads").await.unwrap(), 3);
    insta::assert_yaml_snapshot!("v8_count", Shape::of(&server.take_one()));
    crm.record("Leads", "3652397000000190367").await.unwrap().unwrap();
    insta::assert_yaml_snapshot!("v8_get_record", Shape::of(&server.take_one()));
    crm.coql(
        &Coql::select(["Last_Name", "Owner.last_name"])
            .from("Leads")
            .filter(Condition::eq("Company", "O'Brien").and(Condition::is_in("Lead_Status", ["New", "Contacted"])))
            .order_by("Created_Time", Order::Desc)
            .limit(50)
            .offset(100),
    )
    .await
    .unwrap();
    insta::assert_yaml_snapshot!("v8_coql", Shape::of(&server.take_one()));
    crm.insert_records("Leads", &[json!({"Last_Name": "Okafor", "Company": "Zylker"})]).await.unwrap();
    insta::assert_yaml_snapshot!("v8_insert", Shape::of(&server.take_one()));
    crm.upsert_records("Leads", &[json!({"Last_Name": "Okafor", "Email": "o@zylker.example"})], &["Email"])
        .await
        .unwrap();
    insta::assert_yaml_snapshot!("v8_upsert", Shape::of(&server.take_one()));
    crm.delete_records("Leads", &["1", "2"]).await.unwrap();
    insta::assert_yaml_snapshot!("v8_delete", Shape::of(&server.take_one()));
}
