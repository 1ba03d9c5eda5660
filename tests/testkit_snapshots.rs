//! Snapshot contract of the simulator's payloads, with a fixed clock so that every id and
//! timestamp is stable (tokens are redacted, the port is replaced by `SIM`).
#![cfg(feature = "testkit")]

mod testkit_common;

use reqwest::Method;
use serde_json::{Value, json};
use testkit_common::*;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{SimConfig, Simulator};

/// 2024-05-10T08:00:00Z.
const START_MS: i64 = 1_715_328_000_000;

async fn fixed_sim() -> Simulator {
    Simulator::start_with(SimConfig { clock_start_ms: Some(START_MS), ..SimConfig::default() }).await.unwrap()
}

/// Replaces the simulator's port so snapshots do not depend on it.
fn portless(sim: &Simulator, v: &Value) -> Value {
    let text = v.to_string().replace(&format!("127.0.0.1:{}", sim.port()), "SIM");
    serde_json::from_str(&text).unwrap()
}

#[tokio::test]
async fn token_and_user_payloads() {
    let sim = fixed_sim().await;
    let q = consent(
        &sim,
        "patricia.boyle@zylker.example",
        Environment::Production,
        "ZohoCRM.users.READ,ZohoCRM.modules.ALL",
        "offline",
        "",
    )
    .await;
    let (_, token) = exchange(&sim, DataCenter::Us, &q["code"]).await;
    insta::assert_json_snapshot!("token_authorization_code", portless(&sim, &token), {".access_token" => "[access_token]", ".refresh_token" => "[refresh_token]"});
    let (_, refreshed) = refresh(&sim, DataCenter::Us, token["refresh_token"].as_str().unwrap()).await;
    insta::assert_json_snapshot!("token_refresh", portless(&sim, &refreshed), {".access_token" => "[access_token]"});
    let (_, me) = crm_json(
        token["api_domain"].as_str().unwrap(),
        token["access_token"].as_str().unwrap(),
        "/users?type=CurrentUser",
    )
    .await;
    insta::assert_json_snapshot!("users_current_user", me);
}

#[tokio::test]
async fn record_payloads() {
    let sim = fixed_sim().await;
    let t = login(&sim, "patricia.boyle@zylker.example", Environment::Production, ALL_SCOPES).await;
    let (_, mary) = crm_json(&t.api_domain, &t.access, "/Leads/search?email=burns.mary@xyz.com").await;
    insta::assert_json_snapshot!("leads_search_mary_burns", mary);
    let (_, insert) = crm_send(
        Method::POST,
        &t.api_domain,
        &t.access,
        "/Leads",
        Some(json!({"data": [{"Last_Name": "Snap", "Company": "Shot"}, {"Company": "No last name"}]})),
    )
    .await;
    insta::assert_json_snapshot!("leads_insert_mixed", insert);
    let (_, upsert) = crm_send(
        Method::POST,
        &t.api_domain,
        &t.access,
        "/Leads/upsert",
        Some(json!({"data": [{"Last_Name": "Burns", "Email": "burns.mary@xyz.com"}]})),
    )
    .await;
    insta::assert_json_snapshot!("leads_upsert_update", upsert);
    let id = insert["data"][0]["details"]["id"].as_str().unwrap();
    let (_, delete) = crm_send(Method::DELETE, &t.api_domain, &t.access, &format!("/Leads?ids={id},1"), None).await;
    insta::assert_json_snapshot!("leads_delete_mixed", delete);
    let (_, deleted) = crm_json(&t.api_domain, &t.access, "/Leads/deleted").await;
    insta::assert_json_snapshot!("leads_deleted", deleted);
}

#[tokio::test]
async fn metadata_payloads() {
    let sim = fixed_sim().await;
    let t = login(&sim, "eu.user@zylker.example", Environment::Production, ALL_SCOPES).await;
    let (_, org) = crm_json(&t.api_domain, &t.access, "/org").await;
    insta::assert_json_snapshot!("org_eu", org);
    let (_, modules) = crm_json(&t.api_domain, &t.access, "/settings/modules/Leads").await;
    insta::assert_json_snapshot!("module_leads_eu", modules);
    let (_, fields) = crm_json(&t.api_domain, &t.access, "/settings/fields?module=Deals").await;
    let few: Vec<Value> = fields["fields"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| ["Deal_Name", "Stage", "Amount"].contains(&f["api_name"].as_str().unwrap()))
        .cloned()
        .collect();
    insta::assert_json_snapshot!("fields_deals_eu", few);
}

#[tokio::test]
async fn error_payloads() {
    let sim = fixed_sim().await;
    let t = login(&sim, "patricia.boyle@zylker.example", Environment::Production, "ZohoCRM.users.READ").await;
    let mut out = Vec::new();
    for (method, path) in [
        (Method::GET, "/users?per_page=500"),
        (Method::GET, "/Leads"),
        (Method::GET, "/Nope/1/2/3"),
        (Method::PATCH, "/users"),
        (Method::GET, "/users?type=Weird"),
    ] {
        let (status, body) = crm_send(method.clone(), &t.api_domain, &t.access, path, None).await;
        out.push(json!({"request": format!("{method} {path}"), "status": status, "body": body}));
    }
    let (status, body) = crm_json(&t.api_domain, "1000.bad.token", "/users").await;
    out.push(json!({"request": "GET /users (unknown token)", "status": status, "body": body}));
    let (status, body) = token_request(
        &sim,
        DataCenter::Eu,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", "1000.SIMULATORCLIENT"),
            ("client_secret", "sim-secret-eu"),
            ("code", "1000.x.y"),
        ],
    )
    .await;
    out.push(json!({"request": "POST token (unknown code)", "status": status, "body": body}));
    insta::assert_json_snapshot!("errors", out);
}

#[tokio::test]
async fn authorization_pages() {
    let sim = fixed_sim().await;
    let url = sim.authorize_url(DataCenter::Cn, "ZohoCRM.users.READ", "offline", Some("st"));
    let page = client().get(&url).send().await.unwrap().text().await.unwrap();
    insta::assert_snapshot!("signin_page_cn", page.replace(&format!("127.0.0.1:{}", sim.port()), "SIM"));
    let bad = client().get(url.replace("callback", "nope")).send().await.unwrap().text().await.unwrap();
    insta::assert_snapshot!("error_page_invalid_redirect_uri", bad);
}
