//! Hostile input to the spawned `zoho-sim` binary: deeply nested search criteria and COQL, and
//! an absurd clock advance. Each is refused with a 400, and the simulator keeps answering. The
//! binary runs in its own process so that a stack overflow would not abort this test binary.
#![cfg(feature = "testkit")]

mod testkit_common;

use serde_json::{Value, json};
use testkit_common::{client, spawn_sim};

const EU: &str = "eu.user@zylker.example";

/// Mints tokens for the EU user in production through `POST /_sim/tokens`.
async fn tokens(info: &Value) -> Value {
    let control = info["control"].as_str().unwrap();
    let body = json!({"email": EU, "environment": "production", "scopes": ["ZohoCRM.modules.ALL", "ZohoSearch.securesearch.READ", "ZohoCRM.coql.READ"]});
    let t: Value = client().post(format!("{control}/tokens")).json(&body).send().await.unwrap().json().await.unwrap();
    assert!(t["access_token"].is_string(), "{t}");
    t
}

/// Sends a request and answers (status, JSON or Null); a dead simulator fails the test clearly.
async fn send(rb: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = rb.send().await.unwrap_or_else(|e| panic!("the simulator did not answer: {}", e.without_url()));
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET {api}/crm/v2/Leads/search?criteria=…`.
async fn search(t: &Value, criteria: &str) -> (u16, Value) {
    let api = t["api_domain"].as_str().unwrap();
    let token = t["access_token"].as_str().unwrap();
    send(
        client()
            .get(format!("{api}/crm/v2/Leads/search?criteria={criteria}"))
            .header("Authorization", format!("Zoho-oauthtoken {token}")),
    )
    .await
}

/// `POST {api}/crm/v8/coql`.
async fn coql(t: &Value, q: &str) -> (u16, Value) {
    let api = t["api_domain"].as_str().unwrap();
    let token = t["access_token"].as_str().unwrap();
    send(
        client()
            .post(format!("{api}/crm/v8/coql"))
            .header("Authorization", format!("Zoho-oauthtoken {token}"))
            .json(&json!({ "select_query": q })),
    )
    .await
}

/// `n` opening parentheses, a condition, `n` closing ones.
fn nested(n: usize, inner: &str) -> String {
    format!("{}{inner}{}", "(".repeat(n), ")".repeat(n))
}

#[tokio::test]
async fn deeply_nested_search_criteria_is_invalid_query_and_the_simulator_keeps_answering() {
    let (child, info) = spawn_sim(&[]).await;
    let t = tokens(&info).await;
    // URIs are at most 64 KiB; 30,000 `(` and `)` fit, and used to overflow the stack.
    let (status, body) = search(&t, &nested(30_000, "Last_Name:equals:Burns")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "INVALID_QUERY", "{body}");
    assert_eq!(body["status"], "error", "{body}");
    // Past the limit, however little, is refused the same way; at the limit it is a search.
    let (status, body) = search(&t, &nested(33, "Last_Name:equals:Burns")).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("INVALID_QUERY")), "{body}");
    let (status, body) = search(&t, &nested(32, "Last_Name:equals:Burns")).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    drop(child);
}

#[tokio::test]
async fn deeply_nested_coql_is_a_syntax_error_and_the_simulator_keeps_answering() {
    let (child, info) = spawn_sim(&[]).await;
    let t = tokens(&info).await;
    let q = format!("select Last_Name from Leads where {}", nested(100_000, "Last_Name = 'Burns'"));
    let (status, body) = coql(&t, &q).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "SYNTAX_ERROR", "{body}");
    let q = format!("select Last_Name from Leads where {}", nested(33, "Last_Name = 'Burns'"));
    let (status, body) = coql(&t, &q).await;
    assert_eq!((status, body["code"].as_str()), (400, Some("SYNTAX_ERROR")), "{body}");
    let q = format!("select Last_Name from Leads where {}", nested(32, "Last_Name = 'Burns'"));
    let (status, body) = coql(&t, &q).await;
    assert!(status == 200 || status == 204, "{status} {body}");
    drop(child);
}

#[tokio::test]
async fn an_absurd_clock_advance_is_refused_and_tokens_still_refresh() {
    let (child, info) = spawn_sim(&[]).await;
    let control = info["control"].as_str().unwrap();
    let t = tokens(&info).await;
    let (_, before) = send(client().get(format!("{control}/clock"))).await;
    for absurd in ["9223372036854775", "18446744073709551"] {
        let (status, body) = send(client().post(format!("{control}/clock/advance?seconds={absurd}"))).await;
        assert_eq!(status, 400, "{absurd}: {body}");
        assert_eq!(body["error"], "bad_request", "{body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("seconds")), "{body}");
    }
    let (status, body) =
        send(client().post(format!("{control}/clock/advance")).json(&json!({"seconds": 9_223_372_036_854_775_u64})))
            .await;
    assert_eq!(status, 400, "{body}");
    // The clock did not move, and a refresh-token grant is served.
    let (_, after) = send(client().get(format!("{control}/clock"))).await;
    assert_eq!(after, before);
    let secret = info["client"]["client_secret"]["eu"].as_str().unwrap();
    let refresh = || {
        client().post(format!("{}/oauth/v2/token", t["accounts_server"].as_str().unwrap())).form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "1000.SIMULATORCLIENT"),
            ("client_secret", secret),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ])
    };
    let (status, body) = send(refresh()).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
    // A sensible advance still works.
    let (status, body) = send(client().post(format!("{control}/clock/advance?seconds=3600"))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["now_ms"].as_i64(), after["now_ms"].as_i64().map(|n| n + 3_600_000));
    let (status, body) = send(refresh()).await;
    assert_eq!(status, 200, "{body}");
    drop(child);
}
