//! Secrets (client secrets, codes, access and refresh tokens, state) never appear in `Debug`,
//! `Display`, errors or TRACE-level tracing output, across the full set of flows.
#![cfg(feature = "testkit")]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SCOPES, harness, user_in};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::testkit::{self, Decision};
use zohocrm::{ClientCredentials, Error, Zoho};

/// Collects everything the tracing subscriber writes.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(!secret.is_empty());
        assert!(!text.contains(secret.as_str()), "{what} leaks a secret ({} chars): {text}", secret.len());
    }
}

#[tokio::test]
async fn no_secret_in_debug_display_errors_or_trace_output() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = harness().await;
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut secrets: Vec<String> =
        DataCenter::ALL.iter().map(|dc| testkit::default_client_secret(*dc).expose().to_owned()).collect();

    // Full connect flow, with every intermediate value formatted.
    let email = user_in(&h.sim, DataCenter::Eu);
    let (url, pending) = h.zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    secrets.push(pending.state().expose().to_owned());
    texts.push(("PendingAuthorization".into(), format!("{pending:?}")));
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    let code = url::Url::parse(&redirect)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    secrets.push(code.clone());
    let callback = zohocrm::oauth::Callback::parse(&redirect).unwrap();
    texts.push(("Callback".into(), format!("{callback:?}")));
    let verified = callback.verify(&pending, h.zoho.endpoints()).unwrap();
    texts.push(("AuthorizationCode".into(), format!("{verified:?}")));
    let token = h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap();
    secrets.push(token.access_token.as_ref().unwrap().expose().to_owned());
    secrets.push(token.refresh_token.as_ref().unwrap().expose().to_owned());
    texts.push(("Token".into(), format!("{token:?}")));
    texts.push(("Zoho".into(), format!("{:?}", h.zoho)));
    let proxied =
        Zoho::builder(common::credentials()).proxy("http://proxy-user:pr0xy-pa55word@127.0.0.1:1").build().unwrap();
    secrets.push("pr0xy-pa55word".into());
    texts.push(("Zoho with a proxy".into(), format!("{proxied:?}")));
    texts.push(("Endpoints".into(), format!("{:?}", h.zoho.endpoints())));
    texts.push(("ClientCredentials".into(), format!("{:?}", common::credentials())));

    // Calls, a refresh, a replay after rejection.
    let crm = h.zoho.client(&token.key).await.unwrap();
    texts.push(("CrmClient".into(), format!("{crm:?}")));
    crm.current_user().await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    crm.current_user().await.unwrap();
    let refreshed = h.zoho.tokens().token(&token.key).await.unwrap();
    secrets.push(refreshed.access_token.as_ref().unwrap().expose().to_owned());
    h.sim.invalidate_access_tokens_for(&email);
    crm.org().await.unwrap();
    let replayed = h.zoho.tokens().token(&token.key).await.unwrap();
    secrets.push(replayed.access_token.as_ref().unwrap().expose().to_owned());
    let access = h.zoho.tokens().access_token(&token.key).await.unwrap();
    texts.push(("AccessToken".into(), format!("{access:?}")));

    // Errors: every kind we can provoke.
    let mut errors: Vec<Error> = Vec::new();
    errors.push(h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap_err()); // reused code
    errors.push(crm.records_page("NoSuchModule", &Default::default(), 1).await.unwrap_err());
    let bad = Zoho::builder(ClientCredentials::new(testkit::DEFAULT_CLIENT_ID, "wrong-secret-value-123"))
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .build()
        .unwrap();
    secrets.push("wrong-secret-value-123".into());
    let (url2, pending2) = bad.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let redirect2 = h.sim.consent(&url2, &email, Environment::Production, Decision::Accept).await.unwrap();
    errors.push(bad.complete_authorization("u", &redirect2, &pending2).await.unwrap_err());
    errors.push(
        h.zoho
            .complete_authorization("u", &format!("{redirect}&x=1").replace("state=", "state=x"), &pending)
            .await
            .unwrap_err(),
    );
    for e in &errors {
        texts.push(("Error Display".into(), e.to_string()));
        texts.push(("Error Debug".into(), format!("{e:?}")));
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            texts.push(("Error source".into(), s.to_string()));
            source = s.source();
        }
    }
    h.zoho.disconnect(&token.key).await.unwrap();

    drop(_guard);
    let trace = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(trace.contains("zoho.token") && trace.contains("zoho.api"), "tracing spans were recorded: {trace}");
    texts.push(("TRACE output".into(), trace));
    for (what, text) in &texts {
        assert_clean(what, text, &secrets);
    }
    // The request log of the simulator redacts too (the CSRF state is not a credential: it is
    // in the browser's address bar by design, so the log may show it).
    let log = format!("{:?}", h.sim.requests());
    let state = pending.state().expose().to_owned();
    let credentials: Vec<String> = secrets.iter().filter(|s| **s != state).cloned().collect();
    assert_clean("simulator request log", &log, &credentials);
}
