//! Helpers shared by the simulator's own tests: a plain reqwest client, the consent-and-exchange
//! flow over HTTP, fixture loading and key-set comparison.
#![allow(dead_code, reason = "shared by several test crates; each uses a part of it")]

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, Decision, Simulator, default_client_secret};

/// A plain HTTP client: no redirects followed, no proxy, no pooled connections (so a client
/// shared by tests never reuses a connection of another test's runtime).
pub fn client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            #[cfg(feature = "rustls")]
            let _ = rustls::crypto::ring::default_provider().install_default();
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap()
        })
        .clone()
}

/// Query parameters of a URL.
pub fn query(url: &str) -> BTreeMap<String, String> {
    url::Url::parse(url).unwrap().query_pairs().into_owned().collect()
}

/// Authorization URL at `start` with extra raw query text (e.g. `&prompt=consent`).
pub fn auth_url(sim: &Simulator, start: DataCenter, scope: &str, access_type: &str, extra: &str) -> String {
    format!("{}{extra}", sim.authorize_url(start, scope, access_type, Some("st4te")))
}

/// Where the user starts: the US server, or CN for China.
pub fn start_dc(dc: DataCenter) -> DataCenter {
    if dc == DataCenter::Cn { DataCenter::Cn } else { DataCenter::Us }
}

/// Consents for `email` and returns the code's redirect parameters.
pub async fn consent(
    sim: &Simulator,
    email: &str,
    env: Environment,
    scope: &str,
    access_type: &str,
    extra: &str,
) -> BTreeMap<String, String> {
    let dc = sim.user(email).unwrap().dc;
    let url = auth_url(sim, start_dc(dc), scope, access_type, extra);
    let back = sim.consent(&url, email, env, Decision::Accept).await.unwrap();
    assert!(back.starts_with(DEFAULT_REDIRECT_URI), "{back}");
    query(&back)
}

/// POSTs a form to the token endpoint of `dc`; returns (status, body).
pub async fn token_request(sim: &Simulator, dc: DataCenter, form: &[(&str, &str)]) -> (u16, Value) {
    let resp = client().post(format!("{}/oauth/v2/token", sim.accounts_url(dc))).form(form).send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

/// Exchanges a code at `dc` with the default client.
pub async fn exchange(sim: &Simulator, dc: DataCenter, code: &str) -> (u16, Value) {
    let secret = default_client_secret(dc);
    token_request(
        sim,
        dc,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", secret.expose()),
            ("redirect_uri", DEFAULT_REDIRECT_URI),
            ("code", code),
        ],
    )
    .await
}

/// Refreshes at `dc` with the default client.
pub async fn refresh(sim: &Simulator, dc: DataCenter, refresh_token: &str) -> (u16, Value) {
    let secret = default_client_secret(dc);
    token_request(
        sim,
        dc,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", DEFAULT_CLIENT_ID),
            ("client_secret", secret.expose()),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Tokens for `email` through the whole HTTP flow (consent, code exchange).
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub api_domain: String,
    pub dc: DataCenter,
}

pub async fn login(sim: &Simulator, email: &str, env: Environment, scope: &str) -> Tokens {
    let q = consent(sim, email, env, scope, "offline", "&prompt=consent").await;
    let dc = sim.user(email).unwrap().dc;
    let (status, body) = exchange(sim, dc, &q["code"]).await;
    assert_eq!(status, 200, "{body}");
    Tokens {
        access: body["access_token"].as_str().unwrap().to_owned(),
        refresh: body["refresh_token"].as_str().unwrap_or_default().to_owned(),
        api_domain: body["api_domain"].as_str().unwrap().to_owned(),
        dc,
    }
}

/// Every scope the CRM API checks.
pub const ALL_SCOPES: &str =
    "ZohoCRM.users.ALL,ZohoCRM.org.ALL,ZohoCRM.settings.ALL,ZohoCRM.modules.ALL,ZohoSearch.securesearch.READ";

/// GET `{api_domain}/crm/v2{path}` with the token; returns (status, body text).
pub async fn crm_get(api_domain: &str, token: &str, path: &str) -> (u16, String) {
    let resp = client()
        .get(format!("{api_domain}/crm/v2{path}"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"))
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

/// Like [`crm_get`], decoding JSON (Null for an empty body).
pub async fn crm_json(api_domain: &str, token: &str, path: &str) -> (u16, Value) {
    let (s, t) = crm_get(api_domain, token, path).await;
    (s, if t.is_empty() { Value::Null } else { serde_json::from_str(&t).unwrap_or_else(|e| panic!("{e}: {t}")) })
}

/// Sends `method` with a JSON body.
pub async fn crm_send(
    method: reqwest::Method,
    api_domain: &str,
    token: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut rb = client()
        .request(method, format!("{api_domain}/crm/v2{path}"))
        .header("Authorization", format!("Zoho-oauthtoken {token}"));
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (
        status,
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
        },
    )
}

/// A fixture from tests/fixtures/zoho/.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/zoho/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// The keys of a JSON object.
pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect()
}

/// Asserts that `actual` has the same shape as `expected`: the same keys in every object (arrays
/// compared element by element against the expected array's first element), and JSON types
/// that agree where the expected value is not null.
pub fn assert_same_shape(actual: &Value, expected: &Value, at: &str) {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => {
            let ak: BTreeSet<_> = a.keys().collect();
            let ek: BTreeSet<_> = e.keys().collect();
            assert_eq!(ak, ek, "keys differ at {at}");
            for (k, ev) in e {
                assert_same_shape(&a[k], ev, &format!("{at}.{k}"));
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if let Some(first) = e.first() {
                for (i, av) in a.iter().enumerate() {
                    assert_same_shape(av, first, &format!("{at}[{i}]"));
                }
            }
        }
        (_, Value::Null) | (Value::Null, _) => {}
        (Value::Number(_), Value::Number(_))
        | (Value::String(_), Value::String(_))
        | (Value::Bool(_), Value::Bool(_)) => {}
        (a, e) => panic!("type differs at {at}: {a} vs {e}"),
    }
}

/// Starts the `zoho-sim` binary with `args` (on a free port unless they say otherwise) and
/// reads the JSON line it prints first: (the child, killed on drop; that line).
pub async fn spawn_sim(args: &[&str]) -> (tokio::process::Child, Value) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zoho-sim"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    tokio::time::timeout(std::time::Duration::from_secs(20), tokio::io::BufReader::new(stdout).read_line(&mut line))
        .await
        .expect("zoho-sim printed nothing")
        .unwrap();
    (child, serde_json::from_str(line.trim_end()).unwrap_or_else(|e| panic!("{e}: {line}")))
}
