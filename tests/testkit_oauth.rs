//! The simulator's Zoho Accounts side over real HTTP: endpoints, authorization pages (incl. the
//! move to the user's data center), the token endpoint and its errors, revoke, serverinfo,
//! Zoho's token limits, and the request log.
#![cfg(feature = "testkit")]

mod testkit_common;

use std::time::Duration;

use serde_json::{Value, json};
use testkit_common::*;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{
    ClientRegistration, DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, Decision, Route, SimConfig, SimError, Simulator,
    default_client_secret,
};

const USERS_READ: &str = "ZohoCRM.users.READ";

#[tokio::test]
async fn endpoints_cover_every_dc_and_environment() {
    let sim = Simulator::start().await.unwrap();
    let ep = sim.endpoints();
    let base = format!("http://127.0.0.1:{}", sim.port());
    assert_eq!(ep.accounts.len(), 8);
    assert_eq!(ep.api.len(), 8);
    for dc in DataCenter::ALL {
        assert_eq!(ep.accounts[&dc], format!("{base}/accounts/{}", dc.location()));
        for env in Environment::ALL {
            assert_eq!(ep.api[&dc][&env], format!("{base}/api/{}/{}", dc.location(), env.as_str()));
        }
    }
    let v = serde_json::to_value(&ep).unwrap();
    assert_eq!(v["accounts"]["eu"], json!(format!("{base}/accounts/eu")));
    assert_eq!(v["api"]["ca"]["developer"], json!(format!("{base}/api/ca/developer")));
    assert_eq!(sim.control_url(), format!("{base}/_sim"));
}

#[tokio::test]
async fn default_client_and_users_are_seeded() {
    let sim = Simulator::start().await.unwrap();
    let c = sim.default_client();
    assert_eq!(c.client_id, DEFAULT_CLIENT_ID);
    assert_eq!(c.redirect_uris, vec![DEFAULT_REDIRECT_URI.to_owned()]);
    for dc in DataCenter::ALL {
        assert_eq!(c.secrets[&dc].expose(), format!("sim-secret-{}", dc.location()));
        let email = format!("{}.user@zylker.example", dc.location());
        assert_eq!(sim.user(&email).unwrap().dc, dc, "{email}");
    }
    let users = sim.users();
    let patricia = users.iter().find(|u| u.email == "patricia.boyle@zylker.example").unwrap();
    assert_eq!((patricia.dc, patricia.full_name.as_str()), (DataCenter::Us, "Patricia Boyle"));
    assert!(!patricia.id.is_empty() && !patricia.zuid.is_empty());
    assert!(users.iter().filter(|u| u.dc == DataCenter::Us).count() >= 5);
    // Debug never shows secrets.
    let debug = format!("{c:?} {sim:?}");
    assert!(!debug.contains("sim-secret"), "{debug}");
}

#[tokio::test]
async fn consent_redirects_with_code_location_accounts_server_and_state() {
    let sim = Simulator::start().await.unwrap();
    let url = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "");
    let back =
        sim.consent(&url, "patricia.boyle@zylker.example", Environment::Production, Decision::Accept).await.unwrap();
    assert!(back.starts_with("http://127.0.0.1:9/callback?code="), "{back}");
    // accounts-server is URL-encoded on the wire.
    assert!(
        back.contains(&format!("accounts-server=http%3A%2F%2F127.0.0.1%3A{}%2Faccounts%2Fus", sim.port())),
        "{back}"
    );
    let q = query(&back);
    assert_eq!(q["location"], "us");
    assert_eq!(q["accounts-server"], sim.accounts_url(DataCenter::Us));
    assert_eq!(q["state"], "st4te");
    assert!(q["code"].starts_with("1000."));
}

#[tokio::test]
async fn users_of_other_dcs_are_moved_to_their_accounts_server() {
    let sim = Simulator::start().await.unwrap();
    let http = client();
    let url = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "");
    // The sign-in page at the US server...
    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<form id=\"sim-signin\"") && html.contains("eu.user@zylker.example"));
    assert!(!html.contains("cn.user@zylker.example"), "CN users sign in at the CN server");
    // ...posts the sign-in form; Zoho answers with a 302 to the user's own DC.
    let mut form: Vec<(String, String)> = query(&url).into_iter().collect();
    form.push(("email".into(), "eu.user@zylker.example".into()));
    let resp = http
        .post(format!("{}/oauth/v2/auth/signin", sim.accounts_url(DataCenter::Us)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/oauth/v2/auth?", sim.accounts_url(DataCenter::Eu))), "{location}");
    // The consent page is served by the EU server.
    let page = http.get(&location).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("<form id=\"sim-consent\"") && page.contains("/accounts/eu/oauth/v2/auth/consent"));

    for dc in
        [DataCenter::Eu, DataCenter::In, DataCenter::Au, DataCenter::Jp, DataCenter::Ca, DataCenter::Sa, DataCenter::Cn]
    {
        let q = consent(
            &sim,
            &format!("{}.user@zylker.example", dc.location()),
            Environment::Production,
            USERS_READ,
            "offline",
            "",
        )
        .await;
        assert_eq!(q["location"], dc.location());
        assert_eq!(q["accounts-server"], sim.accounts_url(dc));
    }
    assert!(sim.requests().iter().any(|r| r.route == Route::Authorize && r.dc == DataCenter::Eu && r.status == 200));
}

#[tokio::test]
async fn china_is_a_separate_realm() {
    let sim = Simulator::start().await.unwrap();
    let at_us = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "");
    let err =
        sim.consent(&at_us, "cn.user@zylker.example", Environment::Production, Decision::Accept).await.unwrap_err();
    assert!(matches!(&err, SimError::ErrorPage { code } if code == "user_not_found"), "{err}");
    let at_cn = auth_url(&sim, DataCenter::Cn, USERS_READ, "offline", "");
    let err =
        sim.consent(&at_cn, "eu.user@zylker.example", Environment::Production, Decision::Accept).await.unwrap_err();
    assert!(matches!(&err, SimError::ErrorPage { code } if code == "user_not_found"), "{err}");
    let back = sim.consent(&at_cn, "cn.user@zylker.example", Environment::Production, Decision::Accept).await.unwrap();
    assert_eq!(query(&back)["location"], "cn");
}

#[tokio::test]
async fn reject_redirects_with_access_denied_and_state() {
    let sim = Simulator::start().await.unwrap();
    let url = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "");
    let back = sim.consent(&url, "eu.user@zylker.example", Environment::Production, Decision::Reject).await.unwrap();
    let q = query(&back);
    assert_eq!(q.get("error").map(String::as_str), Some("access_denied"));
    assert_eq!(q["state"], "st4te");
    assert!(!q.contains_key("code"));
}

#[tokio::test]
async fn bad_client_or_redirect_uri_shows_an_error_page_and_never_redirects() {
    let sim = Simulator::start().await.unwrap();
    let http = client();
    let good = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "");
    let bad_redirect = good.replace("callback", "elsewhere");
    let bad_client = good.replace(DEFAULT_CLIENT_ID, "1000.UNKNOWN");
    let no_scope = good.replace("scope=ZohoCRM.users.READ", "scope=");
    for (url, code) in
        [(&bad_redirect, "invalid_redirect_uri"), (&bad_client, "invalid_client"), (&no_scope, "invalid_scope")]
    {
        let resp = http.get(url.as_str()).send().await.unwrap();
        assert!(resp.headers().get("location").is_none());
        assert_eq!(resp.status(), 400);
        let html = resp.text().await.unwrap();
        assert!(html.contains(code), "{html}");
        let err = sim
            .consent(url, "patricia.boyle@zylker.example", Environment::Production, Decision::Accept)
            .await
            .unwrap_err();
        assert!(matches!(&err, SimError::ErrorPage { code: c } if c == code), "{err}");
    }
    // The form posts check the same things.
    let mut form: Vec<(String, String)> = query(&bad_redirect).into_iter().collect();
    form.push(("email".into(), "eu.user@zylker.example".into()));
    let resp = http
        .post(format!("{}/oauth/v2/auth/signin", sim.accounts_url(DataCenter::Us)))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert!(resp.headers().get("location").is_none());
}

#[tokio::test]
async fn code_exchange_returns_zoho_token_shape_with_simulator_api_domain() {
    let sim = Simulator::start().await.unwrap();
    for env in Environment::ALL {
        let q = consent(
            &sim,
            "eu.user@zylker.example",
            env,
            "ZohoCRM.users.READ,ZohoCRM.org.READ",
            "offline",
            "&prompt=consent",
        )
        .await;
        let (status, body) = exchange(&sim, DataCenter::Eu, &q["code"]).await;
        assert_eq!(status, 200, "{body}");
        let mut expected = keys(&fixture("token_authorization_code.json"));
        expected.insert("scope".into());
        assert_eq!(keys(&body), expected, "{body}");
        assert_eq!(body["api_domain"], json!(sim.api_url(DataCenter::Eu, env)));
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        assert_eq!(body["scope"], "ZohoCRM.users.READ ZohoCRM.org.READ");
        assert!(body["access_token"].as_str().unwrap().starts_with("1000."));
        assert!(body["refresh_token"].as_str().unwrap().starts_with("1000."));
    }
}

#[tokio::test]
async fn codes_are_single_use_expire_after_60s_and_work_only_at_the_users_dc() {
    let sim = Simulator::start().await.unwrap();
    let email = "eu.user@zylker.example";
    let q = consent(&sim, email, Environment::Production, USERS_READ, "offline", "").await;
    // Wrong DC first (the code stays valid at the right one).
    let (status, body) = exchange(&sim, DataCenter::Us, &q["code"]).await;
    assert_eq!((status, body), (200, fixture("token_error_invalid_code.json")));
    assert_eq!(exchange(&sim, DataCenter::Eu, &q["code"]).await.0, 200);
    // Single use.
    let (status, body) = exchange(&sim, DataCenter::Eu, &q["code"]).await;
    assert_eq!((status, body), (200, json!({"error": "invalid_code"})));
    // 59 s: still good; 61 s: expired.
    let q = consent(&sim, email, Environment::Production, USERS_READ, "offline", "").await;
    sim.advance(Duration::from_secs(59));
    assert!(exchange(&sim, DataCenter::Eu, &q["code"]).await.1.get("access_token").is_some());
    let q = consent(&sim, email, Environment::Production, USERS_READ, "offline", "").await;
    sim.advance(Duration::from_secs(61));
    assert_eq!(exchange(&sim, DataCenter::Eu, &q["code"]).await.1, json!({"error": "invalid_code"}));
    // Unknown code.
    assert_eq!(exchange(&sim, DataCenter::Eu, "1000.nope.nope").await.1, json!({"error": "invalid_code"}));
}

#[tokio::test]
async fn client_errors_answer_http_200_with_zoho_error_bodies() {
    let sim = Simulator::start().await.unwrap();
    // A client with Multi-DC enabled only in the US.
    sim.register_client(ClientRegistration {
        client_id: "1000.USONLY".into(),
        secrets: [(DataCenter::Us, zohocrm::ClientSecret::new("us-only-secret"))].into_iter().collect(),
        redirect_uris: vec![DEFAULT_REDIRECT_URI.into()],
    });
    let q = consent(&sim, "eu.user@zylker.example", Environment::Production, USERS_READ, "offline", "").await;
    let code = q["code"].as_str();
    let eu_secret = default_client_secret(DataCenter::Eu);
    let base = |client_id: &'static str, secret: &'static str| {
        vec![
            ("grant_type", "authorization_code"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
        ]
    };
    type Form<'a> = Vec<(&'a str, &'a str)>;
    let cases: Vec<(DataCenter, Form<'_>, Value)> = vec![
        (DataCenter::Eu, base("1000.UNKNOWN", "x"), fixture("token_error_invalid_client.json")),
        // docs/zoho-facts.md §2.3: a wrong secret is `invalid_client_secret`.
        (DataCenter::Eu, base(DEFAULT_CLIENT_ID, "sim-secret-us"), json!({"error": "invalid_client_secret"})),
        // Multi-DC not enabled in the EU for this client.
        (DataCenter::Eu, base("1000.USONLY", "us-only-secret"), json!({"error": "invalid_client"})),
    ];
    for (dc, mut form, expected) in cases {
        form.push(("code", code));
        assert_eq!(token_request(&sim, dc, &form).await, (200, expected));
    }
    // Missing secret.
    assert_eq!(
        token_request(
            &sim,
            DataCenter::Eu,
            &[("grant_type", "authorization_code"), ("client_id", DEFAULT_CLIENT_ID), ("code", code)]
        )
        .await
        .1,
        json!({"error": "invalid_client"})
    );
    // redirect_uri mismatch.
    let form = [
        ("grant_type", "authorization_code"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", eu_secret.expose()),
        ("redirect_uri", "http://127.0.0.1:9/other"),
        ("code", code),
    ];
    assert_eq!(token_request(&sim, DataCenter::Eu, &form).await, (200, json!({"error": "invalid_redirect_uri"})));
    // Unknown grant type.
    let form = [("grant_type", "password"), ("client_id", DEFAULT_CLIENT_ID), ("client_secret", eu_secret.expose())];
    assert_eq!(token_request(&sim, DataCenter::Eu, &form).await.1, json!({"error": "unsupported_grant_type"}));
    // None of this consumed the code.
    assert_eq!(exchange(&sim, DataCenter::Eu, code).await.0, 200);
}

#[tokio::test]
async fn refresh_tokens_follow_access_type_and_prompt() {
    let sim = Simulator::start().await.unwrap();
    let email = "in.user@zylker.example";
    // online: never a refresh token.
    let q = consent(&sim, email, Environment::Production, USERS_READ, "online", "").await;
    let body = exchange(&sim, DataCenter::In, &q["code"]).await.1;
    assert!(body.get("access_token").is_some() && body.get("refresh_token").is_none(), "{body}");
    // offline, first consent: a refresh token.
    let q = consent(&sim, email, Environment::Production, USERS_READ, "offline", "").await;
    assert!(exchange(&sim, DataCenter::In, &q["code"]).await.1.get("refresh_token").is_some());
    // offline again: none...
    let q = consent(&sim, email, Environment::Production, USERS_READ, "offline", "").await;
    assert!(exchange(&sim, DataCenter::In, &q["code"]).await.1.get("refresh_token").is_none());
    // ...unless prompt=consent.
    let q = consent(&sim, email, Environment::Production, USERS_READ, "offline", "&prompt=consent").await;
    assert!(exchange(&sim, DataCenter::In, &q["code"]).await.1.get("refresh_token").is_some());
    // Another environment is another first consent.
    let q = consent(&sim, email, Environment::Sandbox, USERS_READ, "offline", "").await;
    assert!(exchange(&sim, DataCenter::In, &q["code"]).await.1.get("refresh_token").is_some());
}

#[tokio::test]
async fn refresh_grant_mints_access_tokens_without_a_new_refresh_token() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, "au.user@zylker.example", Environment::Sandbox, USERS_READ).await;
    let (status, body) = refresh(&sim, DataCenter::Au, &t.refresh).await;
    assert_eq!(status, 200);
    let mut expected = keys(&fixture("token_refresh.json"));
    expected.insert("scope".into());
    assert_eq!(keys(&body), expected, "{body}");
    assert_eq!(body["api_domain"], json!(sim.api_url(DataCenter::Au, Environment::Sandbox)));
    assert_ne!(body["access_token"], json!(t.access));
    // Wrong DC, unknown token, revoked token: invalid_code.
    assert_eq!(refresh(&sim, DataCenter::Us, &t.refresh).await, (200, json!({"error": "invalid_code"})));
    assert_eq!(refresh(&sim, DataCenter::Au, "1000.unknown.token").await, (200, json!({"error": "invalid_code"})));
    assert!(sim.revoke_refresh_token_out_of_band(&zohocrm::RefreshToken::new(t.refresh.clone())));
    assert_eq!(refresh(&sim, DataCenter::Au, &t.refresh).await, (200, json!({"error": "invalid_code"})));
}

#[tokio::test]
async fn token_endpoint_accepts_query_string_multipart_and_basic_auth() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, "jp.user@zylker.example", Environment::Production, USERS_READ).await;
    let http = client();
    let token_url = format!("{}/oauth/v2/token", sim.accounts_url(DataCenter::Jp));
    // Query string (the old SDK and several integrations do this).
    let resp = http
        .post(&token_url)
        .query(&[
            ("grant_type", "refresh_token"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", "sim-secret-jp"),
            ("refresh_token", t.refresh.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert!(resp.json::<Value>().await.unwrap().get("access_token").is_some());
    // multipart/form-data.
    let boundary = "XyZ";
    let mut body = String::new();
    for (k, v) in [
        ("grant_type", "refresh_token"),
        ("client_id", DEFAULT_CLIENT_ID),
        ("client_secret", "sim-secret-jp"),
        ("refresh_token", t.refresh.as_str()),
    ] {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    let resp = http
        .post(&token_url)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(resp.json::<Value>().await.unwrap().get("access_token").is_some());
    // Client credentials in a Basic header.
    let resp = http
        .post(&token_url)
        .basic_auth(DEFAULT_CLIENT_ID, Some("sim-secret-jp"))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", t.refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert!(resp.json::<Value>().await.unwrap().get("access_token").is_some());
    // GET is refused.
    assert_eq!(http.get(&token_url).send().await.unwrap().status(), 405);
}

#[tokio::test]
async fn revoke_kills_the_refresh_token_and_its_access_tokens() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, "patricia.boyle@zylker.example", Environment::Production, USERS_READ).await;
    let http = client();
    let revoke_url = format!("{}/oauth/v2/token/revoke", sim.accounts_url(DataCenter::Us));
    assert_eq!(crm_get(&t.api_domain, &t.access, "/users?type=CurrentUser").await.0, 200);
    // Unknown token (also: another DC's server does not know it): HTTP 400.
    let resp = http
        .post(format!("{}/oauth/v2/token/revoke", sim.accounts_url(DataCenter::Eu)))
        .form(&[("token", t.refresh.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"error": "invalid_token", "status": "failure"}));
    // Form body.
    let resp = http.post(&revoke_url).form(&[("token", t.refresh.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.json::<Value>().await.unwrap(), fixture("token_revoke_success.json"));
    let (status, body) = crm_json(&t.api_domain, &t.access, "/users?type=CurrentUser").await;
    assert_eq!((status, body), (401, fixture("error_invalid_token.json")));
    assert_eq!(refresh(&sim, DataCenter::Us, &t.refresh).await.1, json!({"error": "invalid_code"}));
    // Twice: now unknown.
    assert_eq!(http.post(&revoke_url).form(&[("token", t.refresh.as_str())]).send().await.unwrap().status(), 400);
    // Query string form.
    let t2 = login(&sim, "patricia.boyle@zylker.example", Environment::Production, USERS_READ).await;
    let resp = http.post(&revoke_url).query(&[("token", t2.refresh.as_str())]).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(crm_get(&t2.api_domain, &t2.access, "/users?type=CurrentUser").await.0, 401);
    // The log never shows the token.
    let log = format!("{:?}", sim.requests());
    assert!(!log.contains(&t2.refresh) && log.contains("token=[redacted]"), "{log}");
}

#[tokio::test]
async fn serverinfo_lists_every_dc_but_china() {
    let sim = Simulator::start().await.unwrap();
    for dc in [DataCenter::Us, DataCenter::Eu] {
        let resp = client().get(format!("{}/oauth/serverinfo", sim.accounts_url(dc))).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(keys(&body), keys(&fixture("serverinfo.json")));
        assert_eq!(body["result"], "success");
        let locations = body["locations"].as_object().unwrap();
        assert_eq!(locations.len(), 7);
        assert!(!locations.contains_key("cn"));
        for d in DataCenter::ALL.into_iter().filter(|d| *d != DataCenter::Cn) {
            assert_eq!(locations[d.location()], json!(sim.accounts_url(d)));
        }
    }
    assert_eq!(sim.count(Route::ServerInfo), 2);
}

#[tokio::test]
async fn ten_refreshes_per_refresh_token_per_ten_minutes_then_throttle() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, "ca.user@zylker.example", Environment::Production, USERS_READ).await;
    for i in 0..10 {
        let (status, body) = refresh(&sim, DataCenter::Ca, &t.refresh).await;
        assert_eq!(status, 200, "refresh {i}: {body}");
        sim.advance(Duration::from_secs(5));
    }
    let (status, body) = refresh(&sim, DataCenter::Ca, &t.refresh).await;
    assert_eq!((status, body), (400, fixture("token_error_too_many_requests.json")));
    // The window slides: 10 minutes after the first refresh, one more is allowed.
    sim.advance(Duration::from_secs(600 - 50 + 1));
    assert_eq!(refresh(&sim, DataCenter::Ca, &t.refresh).await.0, 200);
    assert_eq!(refresh(&sim, DataCenter::Ca, &t.refresh).await.0, 400);
    assert_eq!(sim.count_grant("refresh_token"), 13);
}

#[tokio::test]
async fn the_log_keeps_the_latest_requests_and_counts_every_one() {
    let sim = Simulator::start_with(SimConfig { request_log: 4, ..SimConfig::default() }).await.unwrap();
    let t = login(&sim, "ca.user@zylker.example", Environment::Production, USERS_READ).await;
    let before = sim.count(Route::Any);
    for _ in 0..3 {
        assert_eq!(refresh(&sim, DataCenter::Ca, &t.refresh).await.0, 200);
    }
    for _ in 0..3 {
        assert_eq!(crm_get(&t.api_domain, &t.access, "/users?type=CurrentUser").await.0, 200);
    }
    // Counted, kept or not.
    assert_eq!(sim.count(Route::Any), before + 6);
    assert_eq!((sim.count(Route::Token), sim.count(Route::Users)), (4, 3));
    assert_eq!((sim.count_grant("authorization_code"), sim.count_grant("refresh_token")), (1, 3));
    // Kept: the last four, oldest first.
    let kept: Vec<(Route, Option<String>)> = sim.requests().into_iter().map(|r| (r.route, r.grant_type)).collect();
    assert_eq!(
        kept,
        [
            (Route::Token, Some("refresh_token".to_owned())),
            (Route::Users, None),
            (Route::Users, None),
            (Route::Users, None),
        ]
    );
    sim.clear_requests();
    assert_eq!((sim.count(Route::Any), sim.count_grant("refresh_token"), sim.requests().len()), (0, 0, 0));
}

#[tokio::test]
async fn the_sixteenth_active_access_token_invalidates_the_oldest() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, "sa.user@zylker.example", Environment::Production, USERS_READ).await;
    let mut tokens = vec![t.access.clone()];
    for i in 0..15 {
        if i == 10 {
            sim.advance(Duration::from_secs(601));
        }
        let (_, body) = refresh(&sim, DataCenter::Sa, &t.refresh).await;
        tokens.push(body["access_token"].as_str().unwrap_or_else(|| panic!("{body}")).to_owned());
    }
    // 16 minted within the hour: the first one was invalidated when the 16th was minted.
    let (status, body) = crm_json(&t.api_domain, &tokens[0], "/users?type=CurrentUser").await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "INVALID_OAUTHTOKEN");
    assert_eq!(keys(&body), keys(&fixture("error_invalid_token.json")));
    for tok in &tokens[1..] {
        assert_eq!(crm_get(&t.api_domain, tok, "/users?type=CurrentUser").await.0, 200);
    }
}

#[tokio::test]
async fn the_twenty_first_refresh_token_deletes_the_oldest_with_its_access_tokens() {
    let sim = Simulator::start().await.unwrap();
    let email = "eu.user@zylker.example";
    let first = login(&sim, email, Environment::Production, USERS_READ).await;
    let mut last = None;
    for _ in 0..19 {
        last = Some(login(&sim, email, Environment::Production, USERS_READ).await);
    }
    // 20 refresh tokens: all alive.
    assert_eq!(crm_get(&first.api_domain, &first.access, "/users?type=CurrentUser").await.0, 200);
    let twenty_first = login(&sim, email, Environment::Sandbox, USERS_READ).await;
    assert_eq!(refresh(&sim, DataCenter::Eu, &first.refresh).await.1, json!({"error": "invalid_code"}));
    assert_eq!(crm_get(&first.api_domain, &first.access, "/users?type=CurrentUser").await.0, 401);
    assert_eq!(refresh(&sim, DataCenter::Eu, &last.unwrap().refresh).await.0, 200);
    assert_eq!(refresh(&sim, DataCenter::Eu, &twenty_first.refresh).await.0, 200);
}

#[tokio::test]
async fn request_log_records_routes_grants_users_and_redacts_secrets() {
    let sim = Simulator::start().await.unwrap();
    let t = login(&sim, "patricia.boyle@zylker.example", Environment::Production, USERS_READ).await;
    client()
        .post(format!(
            "{}/oauth/v2/token?client_secret=topsecret&code=abc&grant_type=authorization_code&client_id=x",
            sim.accounts_url(DataCenter::Us)
        ))
        .send()
        .await
        .unwrap();
    let _ = crm_get(&t.api_domain, &t.access, "/users?type=CurrentUser").await;
    let log = sim.requests();
    let token = log
        .iter()
        .find(|r| r.route == Route::Token && r.grant_type.as_deref() == Some("authorization_code") && r.status == 200)
        .unwrap();
    assert_eq!(
        (token.dc, token.method.as_str(), token.user.as_deref()),
        (DataCenter::Us, "POST", Some("patricia.boyle@zylker.example"))
    );
    let q = log.iter().find(|r| r.query.contains("client_secret")).unwrap();
    assert_eq!(q.query, "client_secret=[redacted]&code=[redacted]&grant_type=authorization_code&client_id=x");
    let crm = log.iter().find(|r| r.route == Route::Users).unwrap();
    assert_eq!(
        (crm.environment, crm.status, crm.path.as_str(), crm.query.as_str()),
        (Some(Environment::Production), 200, "/api/us/production/crm/v2/users", "type=CurrentUser")
    );
    assert_eq!(crm.user.as_deref(), Some("patricia.boyle@zylker.example"));
    let all = format!("{log:?}");
    for secret in [t.access.as_str(), t.refresh.as_str(), "topsecret", "sim-secret-us"] {
        assert!(!all.contains(secret), "log leaks {secret}");
    }
    assert_eq!(sim.count_grant("authorization_code"), 2);
    assert!(sim.count(Route::Authorize) >= 3);
    sim.clear_requests();
    assert_eq!(sim.count(Route::Any), 0);
}

#[tokio::test]
async fn without_access_type_zoho_defaults_to_online() {
    let sim = Simulator::start().await.unwrap();
    let url = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "").replace("&access_type=offline", "");
    assert!(!url.contains("access_type"));
    let back =
        sim.consent(&url, "patricia.boyle@zylker.example", Environment::Production, Decision::Accept).await.unwrap();
    let body = exchange(&sim, DataCenter::Us, &query(&back)["code"]).await.1;
    assert!(body.get("access_token").is_some() && body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn a_simulator_without_the_default_client_knows_no_client() {
    let sim =
        Simulator::start_with(zohocrm::testkit::SimConfig { register_default_client: false, ..Default::default() })
            .await
            .unwrap();
    let url = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "");
    let err = sim
        .consent(&url, "patricia.boyle@zylker.example", Environment::Production, Decision::Accept)
        .await
        .unwrap_err();
    assert!(matches!(&err, SimError::ErrorPage { code } if code == "invalid_client"), "{err}");
    assert_eq!(exchange(&sim, DataCenter::Us, "1000.x.y").await.1, json!({"error": "invalid_client"}));
    let info: Value = serde_json::from_str(&sim.info_line()).unwrap();
    assert_eq!(info["client"], Value::Null);
    // Registering it (or any client) makes it work.
    sim.register_client(sim.default_client());
    assert!(
        sim.consent(&url, "patricia.boyle@zylker.example", Environment::Production, Decision::Accept).await.is_ok()
    );
}

#[tokio::test]
async fn a_client_without_a_secret_in_the_users_dc_cannot_get_consent_there() {
    let sim = Simulator::start().await.unwrap();
    sim.register_client(ClientRegistration {
        client_id: "1000.USONLY".into(),
        secrets: [(DataCenter::Us, zohocrm::ClientSecret::new("s"))].into_iter().collect(),
        redirect_uris: vec![DEFAULT_REDIRECT_URI.into()],
    });
    let url = auth_url(&sim, DataCenter::Us, USERS_READ, "offline", "").replace(DEFAULT_CLIENT_ID, "1000.USONLY");
    assert!(
        sim.consent(&url, "patricia.boyle@zylker.example", Environment::Production, Decision::Accept).await.is_ok()
    );
    let err = sim.consent(&url, "eu.user@zylker.example", Environment::Production, Decision::Accept).await.unwrap_err();
    assert!(matches!(&err, SimError::ErrorPage { code } if code == "invalid_client"), "{err}");
}
