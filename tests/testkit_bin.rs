//! The `zoho-sim` binary: one JSON line on stdout, then Zoho over HTTP until SIGINT/SIGTERM.
#![cfg(feature = "testkit")]

mod testkit_common;

use std::time::Duration;

use serde_json::{Value, json};
use testkit_common::{client, keys, query, spawn_sim};
use tokio::process::{Child, Command};

async fn signal(child: &mut Child, sig: &str) {
    let pid = child.id().unwrap().to_string();
    let status = std::process::Command::new("kill").args([sig, pid.as_str()]).status().unwrap();
    assert!(status.success());
    let exit =
        tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("zoho-sim did not stop").unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn prints_one_json_line_then_serves_zoho_until_sigterm() {
    let (mut child, info) = spawn_sim(&[]).await;
    assert_eq!(
        keys(&info),
        ["accounts", "api", "client", "control", "users"].iter().map(|s| (*s).to_owned()).collect()
    );
    assert_eq!(info["accounts"].as_object().unwrap().len(), 8);
    assert_eq!(info["api"]["eu"].as_object().unwrap().len(), 3);
    assert_eq!(info["client"]["client_id"], "1000.SIMULATORCLIENT");
    assert_eq!(info["client"]["redirect_uri"], "http://127.0.0.1:9/callback");
    assert!(
        info["users"].as_array().unwrap().iter().any(|u| u == &json!({"email": "eu.user@zylker.example", "dc": "eu"}))
    );
    let http = client();
    // serverinfo.
    let us = info["accounts"]["us"].as_str().unwrap();
    let si: Value = http.get(format!("{us}/oauth/serverinfo")).send().await.unwrap().json().await.unwrap();
    assert_eq!(si["locations"]["eu"], info["accounts"]["eu"]);
    // code -> token -> CurrentUser, with plain HTTP only.
    let control = info["control"].as_str().unwrap();
    let redirect_uri = info["client"]["redirect_uri"].as_str().unwrap();
    let authorize = format!(
        "{us}/oauth/v2/auth?scope=ZohoCRM.users.READ&client_id=1000.SIMULATORCLIENT&response_type=code&access_type=offline&redirect_uri={}&state=abc",
        url::form_urlencoded::byte_serialize(redirect_uri.as_bytes()).collect::<String>()
    );
    let consent: Value = http.post(format!("{control}/consent")).json(&json!({"authorize_url": authorize, "email": "eu.user@zylker.example", "environment": "production", "decision": "accept"})).send().await.unwrap().json().await.unwrap();
    let q = query(consent["redirect"].as_str().unwrap());
    assert_eq!((q["location"].as_str(), q["state"].as_str()), ("eu", "abc"));
    let secret = info["client"]["client_secret"][q["location"].as_str()].as_str().unwrap();
    let token: Value = http
        .post(format!("{}/oauth/v2/token", q["accounts-server"]))
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", "1000.SIMULATORCLIENT"),
            ("client_secret", secret),
            ("redirect_uri", redirect_uri),
            ("code", q["code"].as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["api_domain"], info["api"]["eu"]["production"]);
    let me: Value = http
        .get(format!("{}/crm/v2/users?type=CurrentUser", token["api_domain"].as_str().unwrap()))
        .header("Authorization", format!("Zoho-oauthtoken {}", token["access_token"].as_str().unwrap()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["users"][0]["email"], "eu.user@zylker.example");
    signal(&mut child, "-TERM").await;
}

#[tokio::test]
async fn listens_on_the_given_port_and_stops_on_sigint() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (mut child, info) = spawn_sim(&["--port", &port.to_string()]).await;
    assert_eq!(info["control"], json!(format!("http://127.0.0.1:{port}/_sim")));
    assert_eq!(
        client().get(format!("http://127.0.0.1:{port}/_sim/info")).send().await.unwrap().json::<Value>().await.unwrap(),
        info
    );
    signal(&mut child, "-INT").await;
}

#[tokio::test]
async fn refuses_unknown_arguments() {
    let out = Command::new(env!("CARGO_BIN_EXE_zoho-sim")).arg("--bogus").output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage: zoho-sim"));
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn keeps_the_last_requests_it_is_told_to_and_counts_them_all() {
    let (mut child, info) = spawn_sim(&["--request-log=2"]).await;
    let (http, control) = (client(), info["control"].as_str().unwrap().to_owned());
    let us = info["accounts"]["us"].as_str().unwrap();
    for _ in 0..5 {
        assert!(http.get(format!("{us}/oauth/serverinfo")).send().await.unwrap().status().is_success());
    }
    let log: Value = http.get(format!("{control}/requests")).send().await.unwrap().json().await.unwrap();
    assert_eq!(log.as_array().map(Vec::len), Some(2), "{log}");
    assert!(log.as_array().unwrap().iter().all(|r| r["route"] == "server_info"), "{log}");
    signal(&mut child, "-TERM").await;
    let out = Command::new(env!("CARGO_BIN_EXE_zoho-sim")).arg("--request-log=many").output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--request-log expects a number, got `many`"));
}
