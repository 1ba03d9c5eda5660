//! Fault injection and the `/_sim` HTTP controls of the simulator.
#![cfg(feature = "testkit")]

mod testkit_common;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use testkit_common::*;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, Fault, MAX_LATENCY, Route, Simulator};

const PATRICIA: &str = "patricia.boyle@zylker.example";

async fn users_call(t: &Tokens) -> reqwest::Result<reqwest::Response> {
    client()
        .get(format!("{}/crm/v2/users?type=CurrentUser", t.api_domain))
        .header("Authorization", format!("Zoho-oauthtoken {}", t.access))
        .send()
        .await
}

#[tokio::test]
async fn too_many_requests_with_retry_after_for_the_next_n_requests() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, PATRICIA, Environment::Production, ALL_SCOPES).await;
    sim.inject(Route::Users, Fault::TooManyRequests { retry_after_secs: 7 }, 2);
    for _ in 0..2 {
        let resp = users_call(&t).await.unwrap();
        assert_eq!(resp.status(), 429);
        assert_eq!(resp.headers()["retry-after"], "7");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["code"], "TOO_MANY_REQUESTS");
        assert_eq!(keys(&body), keys(&fixture("error_invalid_token.json")));
    }
    assert_eq!(users_call(&t).await.unwrap().status(), 200);
    let statuses: Vec<u16> = sim.requests().iter().filter(|r| r.route == Route::Users).map(|r| r.status).collect();
    assert_eq!(statuses, [429, 429, 200]);
}

#[tokio::test]
async fn too_many_requests_without_retry_after() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, PATRICIA, Environment::Production, ALL_SCOPES).await;
    sim.inject(Route::Users, Fault::TooManyRequestsWithoutRetryAfter, 1);
    let resp = users_call(&t).await.unwrap();
    assert_eq!(resp.status(), 429);
    assert!(resp.headers().get("retry-after").is_none(), "no Retry-After header");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "TOO_MANY_REQUESTS");
    assert_eq!(users_call(&t).await.unwrap().status(), 200);
}

#[tokio::test]
async fn status_faults_answer_500_envelopes_and_gateway_pages_without_processing() {
    let sim = Simulator::start().await.unwrap();
    let q = consent(&sim, "eu.user@zylker.example", Environment::Production, "ZohoCRM.users.READ", "offline", "").await;
    sim.inject(Route::Token, Fault::Status(503), 1);
    sim.inject(Route::Token, Fault::Status(500), 1);
    let (status, _) = {
        let resp = client()
            .post(format!("{}/oauth/v2/token", sim.accounts_url(DataCenter::Eu)))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", DEFAULT_CLIENT_ID),
                ("client_secret", "sim-secret-eu"),
                ("redirect_uri", DEFAULT_REDIRECT_URI),
                ("code", q["code"].as_str()),
            ])
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        (status, resp.text().await.unwrap())
    };
    assert_eq!(status, 503);
    let (status, body) = exchange(&sim, DataCenter::Eu, &q["code"]).await;
    assert_eq!(
        (status, body),
        (500, json!({"code": "INTERNAL_ERROR", "details": {}, "message": "Internal Server Error", "status": "error"}))
    );
    // Neither faulted request used the code.
    assert_eq!(exchange(&sim, DataCenter::Eu, &q["code"]).await.0, 200);
    assert_eq!(sim.count_grant("authorization_code"), 3);
}

#[tokio::test]
async fn latency_delays_for_real_and_then_answers() {
    let sim = Simulator::start().await.unwrap();
    sim.inject(Route::ServerInfo, Fault::Latency(Duration::from_millis(300)), 1);
    let url = format!("{}/oauth/serverinfo", sim.accounts_url(DataCenter::Us));
    let started = Instant::now();
    let resp = client().get(&url).send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300), "{:?}", started.elapsed());
    assert_eq!(resp.status(), 200);
    let started = Instant::now();
    client().get(&url).send().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300));
    assert_eq!(MAX_LATENCY, Duration::from_secs(30));
}

#[tokio::test]
async fn dropped_connections_give_the_client_no_response() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, PATRICIA, Environment::Production, ALL_SCOPES).await;
    sim.inject(Route::Users, Fault::DropConnection, 1);
    let err = users_call(&t).await.unwrap_err();
    assert!(err.status().is_none() && !err.is_timeout(), "{err:?}");
    assert_eq!(users_call(&t).await.unwrap().status(), 200);
    let statuses: Vec<u16> = sim.requests().iter().filter(|r| r.route == Route::Users).map(|r| r.status).collect();
    assert_eq!(statuses, [0, 200]);
    // A pooled keep-alive connection is dropped the same way (no silent retry).
    let pooled = reqwest::Client::builder().no_proxy().build().unwrap();
    let url = format!("{}/crm/v2/users?type=CurrentUser", t.api_domain);
    let call = || pooled.get(&url).header("Authorization", format!("Zoho-oauthtoken {}", t.access)).send();
    assert_eq!(call().await.unwrap().status(), 200);
    sim.inject(Route::Users, Fault::DropConnection, 1);
    assert!(call().await.is_err());
    assert_eq!(call().await.unwrap().status(), 200);
    // Also at the token endpoint.
    sim.inject(Route::Token, Fault::DropConnection, 1);
    let err = client()
        .post(format!("{}/oauth/v2/token", sim.accounts_url(DataCenter::Us)))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", t.refresh.as_str())])
        .send()
        .await
        .unwrap_err();
    assert!(err.status().is_none());
}

#[tokio::test]
async fn truncated_bodies_fail_while_reading_the_body() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, PATRICIA, Environment::Production, ALL_SCOPES).await;
    sim.inject(Route::Records, Fault::TruncatedBody, 1);
    let resp = client()
        .get(format!("{}/crm/v2/Leads", t.api_domain))
        .header("Authorization", format!("Zoho-oauthtoken {}", t.access))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let announced: usize = resp.headers()["content-length"].to_str().unwrap().parse().unwrap();
    assert!(announced > 0);
    let err = resp.bytes().await.unwrap_err();
    assert!(err.is_body() || err.is_decode(), "{err:?}");
    assert_eq!(crm_get(&t.api_domain, &t.access, "/Leads?per_page=1").await.0, 200);
}

#[tokio::test]
async fn non_json_bodies_are_html_with_status_200() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, PATRICIA, Environment::Production, ALL_SCOPES).await;
    sim.inject(Route::Org, Fault::NonJsonBody, 1);
    let (status, text) = crm_get(&t.api_domain, &t.access, "/org").await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&text).is_err() && text.contains("<html>"), "{text}");
    assert_eq!(crm_json(&t.api_domain, &t.access, "/org").await.0, 200);
}

#[tokio::test]
async fn faults_are_per_route_and_any_matches_every_route() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, PATRICIA, Environment::Production, ALL_SCOPES).await;
    sim.inject(Route::Modules, Fault::Status(502), 1);
    // Other routes are untouched.
    assert_eq!(crm_get(&t.api_domain, &t.access, "/org").await.0, 200);
    assert_eq!(crm_get(&t.api_domain, &t.access, "/settings/fields?module=Leads").await.0, 200);
    assert_eq!(crm_get(&t.api_domain, &t.access, "/settings/modules").await.0, 502);
    assert_eq!(crm_get(&t.api_domain, &t.access, "/settings/modules").await.0, 200);
    // Any: every route, after the route's own faults.
    sim.inject(Route::Any, Fault::Status(503), 2);
    sim.inject(Route::Layouts, Fault::Status(500), 1);
    assert_eq!(crm_get(&t.api_domain, &t.access, "/settings/layouts?module=Leads").await.0, 500);
    assert_eq!(
        client().get(format!("{}/oauth/serverinfo", sim.accounts_url(DataCenter::Jp))).send().await.unwrap().status(),
        503
    );
    assert_eq!(crm_get(&t.api_domain, &t.access, "/users").await.0, 503);
    assert_eq!(crm_get(&t.api_domain, &t.access, "/users").await.0, 200);
    // Clearing.
    sim.inject(Route::Any, Fault::Status(500), 10);
    sim.clear_faults();
    assert_eq!(crm_get(&t.api_domain, &t.access, "/users").await.0, 200);
    // Authorization pages too.
    sim.inject(Route::Authorize, Fault::Status(500), 1);
    let url = sim.authorize_url(DataCenter::Us, "ZohoCRM.users.READ", "offline", None);
    assert!(sim.consent(&url, PATRICIA, Environment::Production, zohocrm::testkit::Decision::Accept).await.is_err());
}

const JP: &str = "jp.user@zylker.example";

/// `POST {control}{path}` with a JSON body.
async fn control_post(sim: &Simulator, path: &str, body: Value) -> reqwest::Response {
    client().post(format!("{}{path}", sim.control_url())).json(&body).send().await.unwrap()
}

/// Consents as the JP user to the sandbox through `POST /_sim/consent`; the redirect's query.
async fn control_consent(sim: &Simulator) -> std::collections::BTreeMap<String, String> {
    let url = sim.authorize_url(DataCenter::Us, "ZohoCRM.users.READ", "offline", Some("s1"));
    let resp =
        control_post(sim, "/consent", json!({"authorize_url": url, "email": JP, "environment": "sandbox"})).await;
    assert_eq!(resp.status(), 200);
    query(resp.json::<Value>().await.unwrap()["redirect"].as_str().unwrap())
}

/// Mints tokens for the JP user in the sandbox through `POST /_sim/tokens`.
async fn control_tokens(sim: &Simulator) -> Value {
    let body = json!({"email": JP, "environment": "sandbox", "scopes": ["ZohoCRM.users.READ"]});
    control_post(sim, "/tokens", body).await.json().await.unwrap()
}

#[tokio::test]
async fn control_info_is_the_zoho_sim_line_and_unknown_controls_answer_404() {
    let sim = Simulator::start().await.unwrap();
    let http = client();
    let control = sim.control_url();
    let info: Value = http.get(format!("{control}/info")).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["accounts"]["us"], json!(sim.accounts_url(DataCenter::Us)));
    assert_eq!(info["client"]["client_id"], DEFAULT_CLIENT_ID);
    assert_eq!(info["client"]["client_secret"]["eu"], "sim-secret-eu");
    assert_eq!(info["control"], json!(control));
    assert_eq!(http.get(format!("{control}/nothing")).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn control_consent_accepts_rejects_and_reports_error_pages() {
    let sim = Simulator::start().await.unwrap();
    let q = control_consent(&sim).await;
    assert_eq!((q["location"].as_str(), q["state"].as_str()), ("jp", "s1"));
    let (_, body) = exchange(&sim, DataCenter::Jp, &q["code"]).await;
    assert_eq!(body["api_domain"], json!(sim.api_url(DataCenter::Jp, Environment::Sandbox)));
    let url = sim.authorize_url(DataCenter::Us, "ZohoCRM.users.READ", "offline", Some("s1"));
    let resp =
        control_post(&sim, "/consent", json!({"authorize_url": url.replace("callback", "x"), "email": JP})).await;
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"error": "invalid_redirect_uri"}));
    let resp = control_post(&sim, "/consent", json!({"authorize_url": url, "email": JP, "decision": "reject"})).await;
    assert!(resp.json::<Value>().await.unwrap()["redirect"].as_str().unwrap().contains("error=access_denied"));
}

#[tokio::test]
async fn control_clock_advance_expires_tokens_and_control_tokens_are_fresh() {
    let sim = Simulator::start().await.unwrap();
    let http = client();
    let control = sim.control_url();
    let q = control_consent(&sim).await;
    let (_, body) = exchange(&sim, DataCenter::Jp, &q["code"]).await;
    let before = sim.clock();
    let now: Value = http.get(format!("{control}/clock")).send().await.unwrap().json().await.unwrap();
    let after: Value =
        http.post(format!("{control}/clock/advance?seconds=3600")).send().await.unwrap().json().await.unwrap();
    assert_eq!(after["now_ms"].as_i64().unwrap() - now["now_ms"].as_i64().unwrap(), 3_600_000);
    assert_eq!(zohocrm::clock::Clock::now_ms(&before), after["now_ms"].as_i64().unwrap());
    // The token minted before the advance has expired; one from the control works.
    let tokens = control_tokens(&sim).await;
    assert_eq!(
        crm_get(tokens["api_domain"].as_str().unwrap(), body["access_token"].as_str().unwrap(), "/users").await.0,
        401
    );
    assert_eq!(
        crm_get(
            tokens["api_domain"].as_str().unwrap(),
            tokens["access_token"].as_str().unwrap(),
            "/users?type=CurrentUser"
        )
        .await
        .0,
        200
    );
}

#[tokio::test]
async fn control_faults_are_injected_and_unknown_routes_refused() {
    let sim = Simulator::start().await.unwrap();
    let http = client();
    let resp =
        control_post(&sim, "/faults", json!({"route": "server_info", "fault": "status", "status": 502, "times": 1}))
            .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        http.get(format!("{}/oauth/serverinfo", sim.accounts_url(DataCenter::Us))).send().await.unwrap().status(),
        502
    );
    assert_eq!(control_post(&sim, "/faults", json!({"route": "nowhere", "fault": "status"})).await.status(), 400);
}

#[tokio::test]
async fn control_request_log_is_redacted_then_cleared() {
    let sim = Simulator::start().await.unwrap();
    let http = client();
    let control = sim.control_url();
    let q = control_consent(&sim).await;
    exchange(&sim, DataCenter::Jp, &q["code"]).await;
    control_post(&sim, "/faults", json!({"route": "server_info", "fault": "status", "status": 502, "times": 1})).await;
    http.get(format!("{}/oauth/serverinfo", sim.accounts_url(DataCenter::Us))).send().await.unwrap();
    let log: Value = http.get(format!("{control}/requests")).send().await.unwrap().json().await.unwrap();
    let log = log.as_array().unwrap();
    assert!(log.iter().any(|r| r["route"] == "server_info" && r["status"] == 502));
    assert!(log.iter().all(|r| r.get("grant_type").is_some() && r.get("environment").is_some()));
    assert!(!serde_json::to_string(log).unwrap().contains(q["code"].as_str()));
    // The OAuth state (the app's CSRF secret) stays out of the log too.
    let authorize = log.iter().find(|r| r["query"].as_str().is_some_and(|q| q.contains("state="))).unwrap();
    assert!(authorize["query"].as_str().unwrap().contains("state=[redacted]"), "{authorize}");
    assert!(!authorize["query"].as_str().unwrap().contains("state=s1"), "{authorize}");
    http.delete(format!("{control}/requests")).send().await.unwrap();
    assert_eq!(sim.requests().len(), 0);
}

#[tokio::test]
async fn control_invalidates_access_tokens_and_revokes_refresh_tokens_out_of_band() {
    let sim = Simulator::start().await.unwrap();
    let tokens = control_tokens(&sim).await;
    let inv: Value = control_post(&sim, "/invalidate_access_tokens", json!({"email": JP})).await.json().await.unwrap();
    assert_eq!(inv["invalidated"], 1);
    let rev: Value = control_post(&sim, "/revoke_out_of_band", json!({"refresh_token": tokens["refresh_token"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rev["revoked"], true);
    assert_eq!(
        refresh(&sim, DataCenter::Jp, tokens["refresh_token"].as_str().unwrap()).await.1,
        json!({"error": "invalid_code"})
    );
}

#[tokio::test]
async fn issue_tokens_skips_the_browser_flow() {
    let sim = Simulator::start().await.unwrap();
    let t = sim.issue_tokens("ca.user@zylker.example", Environment::Developer, &["ZohoCRM.users.READ"]).unwrap();
    assert_eq!(t.api_domain, sim.api_url(DataCenter::Ca, Environment::Developer));
    assert_eq!(t.accounts_server, sim.accounts_url(DataCenter::Ca));
    assert!(!format!("{t:?}").contains(t.access_token.expose()));
    let (status, body) = crm_json(&t.api_domain, t.access_token.expose(), "/users?type=CurrentUser").await;
    assert_eq!((status, body["users"][0]["email"].as_str()), (200, Some("ca.user@zylker.example")));
    assert_eq!(refresh(&sim, DataCenter::Ca, t.refresh_token.expose()).await.0, 200);
    assert!(sim.issue_tokens("nobody@zylker.example", Environment::Production, &[]).is_err());
    // add_user: a new account that can sign in and has a CRM user.
    let u = sim.add_user("new.au@zylker.example", "New Aussie", DataCenter::Au).unwrap();
    assert!(sim.add_user("new.au@zylker.example", "Again", DataCenter::Au).is_err());
    let t = login(&sim, "new.au@zylker.example", Environment::Production, "ZohoCRM.users.READ").await;
    let (_, body) = crm_json(&t.api_domain, &t.access, "/users?type=CurrentUser").await;
    assert_eq!(
        (body["users"][0]["full_name"].as_str(), body["users"][0]["id"].as_str()),
        (Some("New Aussie"), Some(u.id.as_str()))
    );
}
