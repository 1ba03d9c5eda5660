//! The simulator's CRM v2 side over real HTTP: authentication, scopes, users, org, metadata,
//! records (list, get, write, upsert, search, deleted), pagination, 204/304 and error envelopes.
#![cfg(feature = "testkit")]

mod testkit_common;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use testkit_common::*;
use zohocrm::SecretString;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{Route, Simulator};

const PATRICIA: &str = "patricia.boyle@zylker.example";

#[tokio::test]
async fn current_user_is_the_tokens_user_in_every_dc_and_environment() {
    let sim = Simulator::start().await.unwrap();
    for (email, env) in [
        (PATRICIA, Environment::Production),
        ("eu.user@zylker.example", Environment::Sandbox),
        ("cn.user@zylker.example", Environment::Developer),
    ] {
        let t = login(&sim, email, env, "ZohoCRM.users.READ").await;
        let (status, body) = crm_json(&t.api_domain, &t.access, "/users?type=CurrentUser").await;
        assert_eq!(status, 200, "{body}");
        let users = body["users"].as_array().unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!(users[0]["email"], email);
        assert_eq!(
            keys(&users[0]),
            keys(&fixture("users_list.json")["users"][0])
        );
        assert_eq!(
            keys(&body["info"]),
            keys(&fixture("users_list.json")["info"])
        );
        assert_eq!(
            body["info"],
            json!({"per_page": 200, "count": 1, "page": 1, "more_records": false})
        );
    }
    // The SimUser id is the production CRM id.
    let t = login(
        &sim,
        PATRICIA,
        Environment::Production,
        "ZohoCRM.users.READ",
    )
    .await;
    let (_, body) = crm_json(&t.api_domain, &t.access, "/users?type=CurrentUser").await;
    assert_eq!(
        body["users"][0]["id"],
        json!(sim.user(PATRICIA).unwrap().id)
    );
    assert_eq!(
        body["users"][0]["zuid"],
        json!(sim.user(PATRICIA).unwrap().zuid)
    );
    // Bearer works too.
    let resp = client()
        .get(format!("{}/crm/v2/users?type=CurrentUser", t.api_domain))
        .bearer_auth(&t.access)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn invalid_token_for_expired_revoked_unknown_other_dc_or_environment() {
    let sim = Simulator::start().await.unwrap();
    let expected = fixture("error_invalid_token.json");
    let t = login(
        &sim,
        "eu.user@zylker.example",
        Environment::Production,
        "ZohoCRM.users.READ",
    )
    .await;
    let path = "/users?type=CurrentUser";
    assert_eq!(crm_get(&t.api_domain, &t.access, path).await.0, 200);
    // Other DC, other environment, unknown token.
    for base in [
        sim.api_url(DataCenter::Us, Environment::Production),
        sim.api_url(DataCenter::Eu, Environment::Sandbox),
    ] {
        assert_eq!(
            crm_json(&base, &t.access, path).await,
            (401, expected.clone())
        );
    }
    assert_eq!(
        crm_json(&t.api_domain, "1000.nope.nope", path).await,
        (401, expected.clone())
    );
    // Exactly Zoho's bytes.
    assert_eq!(
        crm_get(&t.api_domain, "1000.nope.nope", path).await.1,
        r#"{"code":"INVALID_TOKEN","details":{},"message":"invalid oauth token","status":"error"}"#
    );
    // Expiry follows the simulated clock: fine at 59:59, dead at 60:00.
    sim.advance(Duration::from_secs(3599));
    assert_eq!(crm_get(&t.api_domain, &t.access, path).await.0, 200);
    sim.advance(Duration::from_secs(1));
    assert_eq!(
        crm_json(&t.api_domain, &t.access, path).await,
        (401, expected.clone())
    );
    // Revoked behind the SDK's back.
    let t = login(
        &sim,
        "eu.user@zylker.example",
        Environment::Production,
        "ZohoCRM.users.READ",
    )
    .await;
    assert_eq!(
        sim.invalidate_access_tokens_for("eu.user@zylker.example"),
        1
    );
    assert_eq!(
        crm_json(&t.api_domain, &t.access, path).await,
        (401, expected.clone())
    );
    assert_eq!(
        refresh(&sim, DataCenter::Eu, &t.refresh).await.0,
        200,
        "the refresh token still works"
    );
    // No header at all.
    let resp = client()
        .get(format!("{}/crm/v2/users", t.api_domain))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.json::<Value>().await.unwrap()["code"],
        "AUTHENTICATION_FAILURE"
    );
    let _ = SecretString::new("");
    let _ = Route::Users;
    let _ = Method::GET;
}
