//! Regression tests for the defects found in review (issue #9): reconnects that dropped the
//! refresh token, refresh failures that stampeded, refreshes owned by a cancellable caller,
//! connection writes racing a refresh, error pages that lost their status, and the missing
//! server-to-server ways in (Self Client codes, existing refresh tokens).
#![cfg(feature = "testkit")]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{SCOPES, connect, harness, user_in};
use zohocrm::dc::{DataCenter, DcError, Environment};
use zohocrm::error::RateLimitScope;
use zohocrm::manager::RefreshPolicy;
use zohocrm::oauth::CodeGrant;
use zohocrm::testkit::{self, Decision, Fault, Route};
use zohocrm::{Error, Token};

/// Consents again for `email` (optionally with `prompt=consent`) and completes the callback.
async fn reconnect(h: &common::Harness, user_key: &str, email: &str, prompt_consent: bool) -> Token {
    let mut request = h.zoho.authorization(testkit::DEFAULT_REDIRECT_URI).scopes(SCOPES.iter().copied());
    if prompt_consent {
        request = request.prompt_consent();
    }
    let (url, pending) = request.build(h.zoho.endpoints()).unwrap();
    let redirect = h.sim.consent(&url, email, Environment::Production, Decision::Accept).await.unwrap();
    h.zoho.complete_authorization(user_key, &redirect, &pending).await.unwrap()
}

/// Another SDK instance (no retries) on the simulator and `store`, with nothing cached.
fn another_instance(h: &common::Harness, store: Arc<dyn zohocrm::store::TokenStore>) -> zohocrm::Zoho {
    zohocrm::Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .shared_store(store)
        .build()
        .unwrap()
}

fn past_failure_memory() -> Duration {
    RefreshPolicy::default().failure_memory + Duration::from_secs(1)
}

#[tokio::test]
async fn a_reconnect_without_a_new_refresh_token_keeps_the_stored_one() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Us);
    let first = connect(&h, "u", &email, Environment::Production).await;
    let first_rt = first.refresh_token.clone().expect("first offline consent issues a refresh token");

    // Zoho issues no refresh token on a second offline consent without prompt=consent.
    let again = reconnect(&h, "u", &email, false).await;
    let kept = again.refresh_token.as_ref().expect("the stored refresh token is kept");
    assert!(kept.ct_eq(&first_rt));
    let stored = h.zoho.tokens().store().get(&first.key).await.unwrap().unwrap();
    assert!(stored.refresh_token.as_ref().unwrap().ct_eq(&first_rt), "the store kept it too");

    // Two hours later the connection still works: it refreshes with the kept token.
    h.sim.advance(Duration::from_secs(2 * 3600));
    let crm = h.zoho.client(&first.key).await.unwrap();
    crm.current_user().await.unwrap().expect("a current user");
    assert_eq!(h.sim.count_grant("refresh_token"), 1);

    // And disconnect can still revoke it at Zoho.
    h.zoho.disconnect(&first.key).await.unwrap();
    assert!(!h.sim.revoke_refresh_token_out_of_band(&first_rt), "already revoked by disconnect");
}

#[tokio::test]
async fn a_new_refresh_token_replaces_the_old_one_which_is_revoked() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Us);
    let first = connect(&h, "u", &email, Environment::Production).await;
    let old_rt = first.refresh_token.clone().unwrap();
    let second = reconnect(&h, "u", &email, true).await;
    let new_rt = second.refresh_token.clone().unwrap();
    assert!(!new_rt.ct_eq(&old_rt), "prompt=consent issues a new refresh token");
    assert!(!h.sim.revoke_refresh_token_out_of_band(&old_rt), "the replaced refresh token was revoked at Zoho");
    let stored = h.zoho.tokens().store().get(&first.key).await.unwrap().unwrap();
    assert!(stored.refresh_token.unwrap().ct_eq(&new_rt));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_is_shared_by_every_waiter_and_remembered() {
    let h = harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::Status(503), 10_000);
    h.sim.clear_requests();

    let calls = (0..300).map(|_| {
        let crm = crm.clone();
        tokio::spawn(async move { crm.org().await })
    });
    for call in calls {
        let err = call.await.unwrap().unwrap_err();
        assert!(err.is_retryable(), "{err:?}");
        assert!(!err.may_have_been_sent(), "the CRM request was never sent: {err:?}");
    }
    assert_eq!(h.sim.count(Route::Token), 1, "300 callers, one token request");
    assert_eq!(h.sim.count(Route::Org), 0);

    // Within the failure memory: no new token request.
    crm.org().await.unwrap_err();
    assert_eq!(h.sim.count(Route::Token), 1);

    // After it: one new attempt, which succeeds once Zoho is back.
    h.sim.clear_faults();
    h.sim.advance(past_failure_memory());
    crm.org().await.unwrap();
    assert_eq!(h.sim.count(Route::Token), 2);
}

#[tokio::test]
async fn a_transient_refresh_failure_inside_the_buffer_uses_the_still_valid_token() {
    let h = harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    // 30 s before expiry: inside the refresh buffer, the access token still valid.
    h.sim.advance(Duration::from_secs(3600 - 30));
    h.sim.inject(Route::Token, Fault::Status(502), 1);
    h.sim.clear_requests();
    crm.org().await.expect("the still-valid access token is used");
    assert_eq!(h.sim.count(Route::Token), 1);
    assert_eq!(h.sim.count(Route::Org), 1);
    // Once it has expired, the remembered failure no longer hides behind it.
    h.sim.advance(Duration::from_secs(60));
    crm.org().await.expect("a new refresh after the memory and the expiry");
    assert_eq!(h.sim.count(Route::Token), 2);
}

#[tokio::test]
async fn reauthorization_required_is_remembered_until_the_connection_is_replaced() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Us);
    let token = connect(&h, "u", &email, Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    assert!(h.sim.revoke_refresh_token_out_of_band(token.refresh_token.as_ref().unwrap()));
    h.sim.advance(Duration::from_secs(3600));
    h.sim.clear_requests();
    for _ in 0..20 {
        let err = crm.org().await.unwrap_err();
        assert!(matches!(err, Error::ReauthorizationRequired { .. }), "{err:?}");
    }
    h.sim.advance(Duration::from_secs(3 * 3600));
    assert!(matches!(crm.org().await.unwrap_err(), Error::ReauthorizationRequired { .. }));
    assert_eq!(h.sim.count(Route::Token), 1, "one refusal, then no more token requests");

    // A new consent replaces the connection: the same client works again.
    reconnect(&h, "u", &email, true).await;
    crm.org().await.unwrap();
}

#[tokio::test]
async fn a_replacement_stored_by_another_process_lifts_the_remembered_refusal() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Us);
    let token = connect(&h, "u", &email, Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    assert!(h.sim.revoke_refresh_token_out_of_band(token.refresh_token.as_ref().unwrap()));
    h.sim.advance(Duration::from_secs(3600));
    assert!(matches!(crm.org().await.unwrap_err(), Error::ReauthorizationRequired { .. }));

    // Another instance (its own manager, same store) handles the user's reconnect.
    let other = zohocrm::Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .shared_store(h.zoho.tokens().store().clone())
        .build()
        .unwrap();
    let (url, pending) = other
        .authorization(testkit::DEFAULT_REDIRECT_URI)
        .scopes(SCOPES.iter().copied())
        .prompt_consent()
        .build(other.endpoints())
        .unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    other.complete_authorization("u", &redirect, &pending).await.unwrap();

    crm.org().await.expect("this instance notices the replaced connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_caller_does_not_cancel_the_refresh() {
    let h = harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::Latency(Duration::from_millis(400)), 1);
    h.sim.clear_requests();

    // A handler timeout drops the call while the token request is in flight.
    let cancelled = tokio::time::timeout(Duration::from_millis(50), crm.org()).await;
    assert!(cancelled.is_err(), "the call was cancelled");

    // The refresh finishes on its own and stores what Zoho minted.
    let store = h.zoho.tokens().store().clone();
    let mut stored = None;
    for _ in 0..200 {
        let t = store.get(&token.key).await.unwrap().unwrap();
        if !t.access_token.as_ref().unwrap().ct_eq(token.access_token.as_ref().unwrap()) {
            stored = Some(t);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let stored = stored.expect("the refreshed token was stored although its caller went away");
    assert!(stored.refresh_token.unwrap().ct_eq(token.refresh_token.as_ref().unwrap()));

    crm.org().await.unwrap();
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "exactly one token request");
}

/// A harness over a real SQLite file (whose lease does not hold the write lock, so plain
/// writes do not wait for it).
async fn sqlite_harness() -> (common::Harness, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = zohocrm::store::SqliteStore::open(dir.path().join("tokens.sqlite3")).await.unwrap();
    (common::harness_with(Arc::new(store)).await, dir)
}

/// Expires `token`, starts a call whose refresh Zoho answers slowly, and returns once that
/// refresh is at Zoho (the call's handle, and the client).
async fn refresh_in_flight(
    h: &common::Harness,
    token: &Token,
) -> (tokio::task::JoinHandle<zohocrm::Result<Option<zohocrm::client::Org>>>, zohocrm::CrmClient) {
    let crm = h.zoho.client(&token.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::Latency(Duration::from_millis(300)), 1);
    let call = tokio::spawn({
        let crm = crm.clone();
        async move { crm.org().await }
    });
    while h.sim.count_grant("refresh_token") == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (call, crm)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconsent_during_a_refresh_is_not_overwritten() {
    let (h, _dir) = sqlite_harness().await;
    let email = user_in(&h.sim, DataCenter::Us);
    let token = connect(&h, "u", &email, Environment::Production).await;
    let (call, _crm) = refresh_in_flight(&h, &token).await;
    // The refresh is at Zoho: the user reconnects with new consent.
    let fresh = reconnect(&h, "u", &email, true).await;
    call.await.unwrap().unwrap();
    let stored = h.zoho.tokens().store().get(&token.key).await.unwrap().unwrap();
    assert!(
        stored.refresh_token.as_ref().unwrap().ct_eq(fresh.refresh_token.as_ref().unwrap()),
        "the re-consent's refresh token is stored, not the refresh's"
    );
    assert!(stored.access_token.as_ref().unwrap().ct_eq(fresh.access_token.as_ref().unwrap()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_during_a_refresh_is_not_undone() {
    let (h, _dir) = sqlite_harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let (call, crm) = refresh_in_flight(&h, &token).await;
    h.zoho.disconnect(&token.key).await.unwrap();
    let _ = call.await.unwrap();
    assert!(h.zoho.tokens().store().get(&token.key).await.unwrap().is_none(), "the refresh did not write it back");
    assert!(matches!(crm.org().await.unwrap_err(), Error::NotConnected { .. }));
}

#[tokio::test]
async fn html_error_pages_keep_their_status_and_classification() {
    let h = harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    for status in [502, 503, 504] {
        h.sim.inject(Route::Org, Fault::Status(status), 1);
        let err = crm.org().await.unwrap_err();
        assert!(matches!(&err, Error::Decode { status: s, .. } if *s == status), "{status}: {err:?}");
        assert!(err.is_retryable(), "{err:?}");
        assert!(err.to_string().contains(&status.to_string()), "{err}");
    }
    h.sim.inject(Route::Org, Fault::Status(429), 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { scope: RateLimitScope::Api, .. }), "{err:?}");
    assert!(err.is_retryable());
    h.sim.inject(Route::Org, Fault::Status(404), 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(&err, Error::Decode { status: 404, .. }), "{err:?}");
    assert!(!err.is_retryable());

    // The token endpoint too: an HTML 503 during a refresh keeps its status.
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::Status(503), 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(&err, Error::Decode { status: 503, .. }), "{err:?}");
    assert!(err.is_retryable());
}

#[tokio::test]
async fn errors_raised_before_sending_say_so() {
    let h = harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    // A refresh that cannot reach the accounts server: the CRM request never left.
    h.sim.inject(Route::Token, Fault::DropConnection, 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(!err.may_have_been_sent(), "{err:?}");
}

#[tokio::test]
async fn an_explicit_environment_is_checked_against_what_zoho_returns() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let (url, pending) = h
        .zoho
        .authorization(testkit::DEFAULT_REDIRECT_URI)
        .scopes(SCOPES.iter().copied())
        .environment(Environment::Sandbox)
        .build(h.zoho.endpoints())
        .unwrap();
    // The user picks production on Zoho's page instead.
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    let err = h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::DataCenter(DcError::EnvironmentMismatch {
                requested: Environment::Sandbox,
                granted: Environment::Production
            })
        ),
        "{err:?}"
    );
    assert!(h.zoho.tokens().store().list().await.unwrap().is_empty(), "nothing stored");
    // The grant minted for the wrong environment is revoked, not left to count toward Zoho's
    // 20 refresh tokens per user.
    assert_eq!(h.sim.count(Route::Revoke), 1, "the unusable grant was not revoked");

    let (url, pending) = h
        .zoho
        .authorization(testkit::DEFAULT_REDIRECT_URI)
        .scopes(SCOPES.iter().copied())
        .environment(Environment::Sandbox)
        .build(h.zoho.endpoints())
        .unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Sandbox, Decision::Accept).await.unwrap();
    let token = h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap();
    assert_eq!(token.key.environment, Environment::Sandbox);
}

#[tokio::test]
async fn a_self_client_code_connects_at_the_chosen_data_center() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Jp);
    let code = h.sim.self_client_code(&email, Environment::Production, SCOPES, Duration::from_secs(180)).unwrap();
    let token = h
        .zoho
        .connect_self_client(
            "integration",
            &CodeGrant::self_client(DataCenter::Jp, code.clone(), SCOPES.iter().copied()),
        )
        .await
        .unwrap();
    assert_eq!((token.key.dc, token.key.environment), (DataCenter::Jp, Environment::Production));
    assert!(token.refresh_token.is_some());
    let crm = h.zoho.client(&token.key).await.unwrap();
    crm.current_user().await.unwrap().unwrap();

    // Single use, and only at its own data center.
    let again = h
        .zoho
        .connect_self_client("integration", &CodeGrant::self_client(DataCenter::Jp, code, SCOPES.iter().copied()))
        .await
        .unwrap_err();
    assert_eq!(again.zoho_code(), Some("invalid_code"), "{again:?}");
    let code = h.sim.self_client_code(&email, Environment::Production, SCOPES, Duration::from_secs(180)).unwrap();
    let wrong_dc = h
        .zoho
        .connect_self_client("x", &CodeGrant::self_client(DataCenter::Eu, code, SCOPES.iter().copied()))
        .await
        .unwrap_err();
    assert_eq!(wrong_dc.zoho_code(), Some("invalid_code"), "{wrong_dc:?}");
    assert_eq!(h.zoho.tokens().store().list().await.unwrap().len(), 1, "nothing stored for the failures");
}

#[tokio::test]
async fn an_existing_refresh_token_connects_after_one_validating_refresh() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Au);
    let issued = h.sim.issue_tokens(&email, Environment::Sandbox, SCOPES).unwrap();
    h.sim.clear_requests();
    let token = h
        .zoho
        .connect_with_refresh_token("imported", DataCenter::Au, Environment::Sandbox, issued.refresh_token.clone())
        .await
        .unwrap();
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "validated by one token call");
    assert!(token.refresh_token.as_ref().unwrap().ct_eq(&issued.refresh_token));
    let crm = h.zoho.client(&token.key).await.unwrap();
    crm.current_user().await.unwrap().unwrap();
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "the fresh access token is used");

    // The wrong environment, a revoked token, an empty one: typed errors, nothing stored.
    let err = h
        .zoho
        .connect_with_refresh_token("other", DataCenter::Au, Environment::Production, issued.refresh_token.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::DataCenter(DcError::EnvironmentMismatch { .. })), "{err:?}");
    assert!(h.sim.revoke_refresh_token_out_of_band(&issued.refresh_token));
    let err = h
        .zoho
        .connect_with_refresh_token("gone", DataCenter::Au, Environment::Sandbox, issued.refresh_token.clone())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReauthorizationRequired { .. }), "{err:?}");
    assert!(h.zoho.connect_with_refresh_token("empty", DataCenter::Au, Environment::Sandbox, "").await.is_err());
    assert_eq!(h.zoho.tokens().store().list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn the_throttle_back_off_survives_cache_eviction() {
    let h = harness().await;
    let zoho = zohocrm::Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .shared_store(h.zoho.tokens().store().clone())
        .cache_capacity(1)
        .build()
        .unwrap();
    let a = connect(&h, "a", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let b = connect(&h, "b", &user_in(&h.sim, DataCenter::Eu), Environment::Production).await;
    let crm_a = zoho.client(&a.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::TooManyRequests { retry_after_secs: 30 }, 1);
    let err = crm_a.org().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    // b's traffic evicts a's cache entry.
    let crm_b = zoho.client(&b.key).await.unwrap();
    crm_b.org().await.unwrap();
    assert_eq!(zoho.tokens().cached_len(), 1);
    h.sim.clear_requests();
    let err = crm_a.org().await.unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert_eq!(h.sim.count(Route::Token), 0, "the back-off was not forgotten with the cache entry");
}

#[tokio::test]
async fn the_builder_debug_hides_proxy_credentials() {
    let builder = zohocrm::Zoho::builder(common::credentials()).proxy("http://ops:hunter2-secret@proxy.internal:3128");
    let shown = format!("{builder:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("ops:"), "{shown}");
    assert!(shown.contains("proxy.internal:3128"), "{shown}");
    let _ = Arc::new(builder);
}

/// An accounts server on loopback that answers every request with `body` (HTTP 200); its base
/// URL and how many requests it got.
async fn fake_accounts(body: String) -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/accounts/us", listener.local_addr().unwrap());
    let asked = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(response.as_bytes()).await;
        }
    });
    (base, asked)
}

/// A refresh that Zoho answers with the `api_domain` of another data center says the stored
/// connection is in the wrong place, and will most likely say so again: the error is
/// remembered for the throttle back-off or until the connection is replaced, instead of a new
/// token request after every `failure_memory` (Zoho allows about ten per ten minutes).
#[tokio::test]
async fn a_refresh_answered_for_another_data_center_is_remembered_until_a_reconnect() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Us);
    let token = connect(&h, "u", &email, Environment::Production).await;
    let eu_api = h.sim.api_url(DataCenter::Eu, Environment::Production);
    let (base, asked) =
        fake_accounts(format!(r#"{{"access_token":"1000.eu-access","expires_in":3600,"api_domain":"{eu_api}"}}"#))
            .await;
    let zoho = zohocrm::Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim).with_accounts_server(DataCenter::Us, &base).unwrap())
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .shared_store(h.zoho.tokens().store().clone())
        .build()
        .unwrap();
    let crm = zoho.client(&token.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3600));
    for round in 0..3 {
        let err = crm.org().await.unwrap_err();
        assert!(matches!(err, Error::DataCenter(DcError::ApiDomainMismatch { .. })), "round {round}: {err:?}");
        h.sim.advance(past_failure_memory());
    }
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 1, "token requests for one wrong answer");
    // After the throttle back-off it is asked again (the answer could have been a passing fault).
    h.sim.advance(RefreshPolicy::default().throttle_backoff);
    assert!(matches!(crm.org().await.unwrap_err(), Error::DataCenter(DcError::ApiDomainMismatch { .. })));
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);

    // The user connects again (through the simulator's accounts server): the refusal is lifted.
    reconnect(&h, "u", &email, true).await;
    crm.org().await.expect("the replaced connection works");
    assert_eq!(asked.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_empty_refresh_token_in_a_refresh_answer_does_not_replace_ours() {
    let h = harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let api = h.sim.api_url(DataCenter::Us, Environment::Production);
    let (base, _) = fake_accounts(format!(
        r#"{{"access_token":"1000.new-access","refresh_token":"","expires_in":3600,"api_domain":"{api}"}}"#
    ))
    .await;
    let endpoints = common::endpoints(&h.sim).with_accounts_server(DataCenter::Us, &base).unwrap();
    let oauth = zohocrm::oauth::OAuthClient::new(
        zohocrm::transport::http_client_builder().build().unwrap(),
        Arc::new(endpoints),
        Arc::new(common::credentials()),
        Arc::new(h.sim.clock()),
    );
    let fresh = oauth.refresh(&token).await.unwrap();
    assert!(fresh.refresh_token.unwrap().ct_eq(token.refresh_token.as_ref().unwrap()));
    assert_eq!(fresh.access_token.unwrap().expose(), "1000.new-access");
}

/// A store whose next `get_shared`, once armed, reads and then waits for a go-ahead: the
/// window between a cache fill's store read and its caching, held open.
#[derive(Debug, Default)]
struct GatedStore {
    inner: zohocrm::store::MemoryStore,
    armed: std::sync::atomic::AtomicBool,
    read: tokio::sync::Notify,
    go: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl zohocrm::store::TokenStore for GatedStore {
    async fn get(&self, key: &zohocrm::TokenKey) -> Result<Option<Token>, zohocrm::store::StoreError> {
        self.inner.get(key).await
    }
    async fn get_shared(&self, key: &zohocrm::TokenKey) -> Result<Option<Arc<Token>>, zohocrm::store::StoreError> {
        let token = self.inner.get_shared(key).await;
        if self.armed.swap(false, std::sync::atomic::Ordering::SeqCst) {
            self.read.notify_one();
            self.go.notified().await;
        }
        token
    }
    async fn put(&self, token: &Token) -> Result<(), zohocrm::store::StoreError> {
        self.inner.put(token).await
    }
    async fn delete(&self, key: &zohocrm::TokenKey) -> Result<bool, zohocrm::store::StoreError> {
        self.inner.delete(key).await
    }
    async fn list(&self) -> Result<Vec<zohocrm::TokenKey>, zohocrm::store::StoreError> {
        self.inner.list().await
    }
    async fn begin_refresh(
        &self,
        key: &zohocrm::TokenKey,
    ) -> Result<Box<dyn zohocrm::store::RefreshLease>, zohocrm::store::StoreError> {
        self.inner.begin_refresh(key).await
    }
}

/// A cache fill (`TokenManager::load`, behind `Zoho::client`) that read the store just before
/// a new consent was stored and cached must not put the older token back over it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_fill_never_puts_an_older_token_over_a_new_consent() {
    let store = Arc::new(GatedStore::default());
    let h = common::harness_with(store.clone()).await;
    let email = user_in(&h.sim, DataCenter::Us);
    let old = connect(&h, "u", &email, Environment::Production).await;
    // Another instance on the same store, with nothing cached yet.
    let other = another_instance(&h, store.clone());
    store.armed.store(true, std::sync::atomic::Ordering::SeqCst);
    let fill = tokio::spawn({
        let other = other.clone();
        let key = old.key.clone();
        async move { other.tokens().load(&key).await }
    });
    store.read.notified().await; // the fill has read the old token
    let mut consent = old.clone();
    consent.access_token = Some(zohocrm::AccessToken::new("1000.consented-meanwhile"));
    other.tokens().insert(consent).await.unwrap();
    store.go.notify_one();
    fill.await.unwrap().unwrap();
    let cached = other.tokens().load(&old.key).await.unwrap();
    assert_eq!(
        cached.access_token.as_ref().unwrap().expose(),
        "1000.consented-meanwhile",
        "the cache fill put the older token back"
    );
}

/// A code exchange that Zoho answers with a grant this connection cannot use (its api_domain
/// in another data center) fails with the typed error, and the grant Zoho minted is revoked:
/// it would otherwise stay live and count toward Zoho's 20 refresh tokens per user and client.
#[tokio::test]
async fn a_grant_minted_for_an_unusable_api_domain_is_revoked() {
    use axum::routing::post;
    let h = harness().await;
    let eu_api = h.sim.api_url(DataCenter::Eu, Environment::Production);
    let revoked = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = revoked.clone();
    let app = axum::Router::new()
        .route(
            "/accounts/us/oauth/v2/token",
            post(move || async move {
                axum::Json(serde_json::json!({
                    "access_token": "1000.minted-access", "refresh_token": "1000.minted-refresh",
                    "expires_in": 3600, "api_domain": eu_api, "token_type": "Bearer"
                }))
            }),
        )
        .route(
            "/accounts/us/oauth/v2/token/revoke",
            post(move |form: axum::extract::Form<std::collections::HashMap<String, String>>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(form.get("token").cloned().unwrap_or_default());
                    axum::Json(serde_json::json!({"status": "success"}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/accounts/us", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let zoho = zohocrm::Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim).with_accounts_server(DataCenter::Us, &base).unwrap())
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .build()
        .unwrap();
    let code = CodeGrant::self_client(DataCenter::Us, "1000.a-self-client-code", SCOPES.iter().copied());
    let err = zoho.connect_self_client("u", &code).await.unwrap_err();
    assert!(matches!(err, Error::DataCenter(DcError::ApiDomainMismatch { .. })), "{err:?}");
    assert_eq!(*revoked.lock().unwrap(), vec!["1000.minted-refresh".to_owned()], "the minted grant is revoked");
    assert!(zoho.tokens().store().list().await.unwrap().is_empty(), "nothing stored");
}

/// A stored row nobody can read (here: sealed with a key the store no longer has, as after a
/// key rotation gone wrong) is reported as that error by calls, but does not lock the user
/// out: a new consent replaces it, a disconnect removes it. Both used to fail on the row, so
/// every retried reconnect left one more live grant at Zoho.
#[cfg(all(feature = "sqlite", feature = "encryption"))]
#[tokio::test]
async fn a_connection_nobody_can_read_can_be_replaced_or_removed() {
    use zohocrm::store::{SqliteOptions, SqliteStore, StoreError, TokenCipher, TokenStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.sqlite3");
    let sealed = |b: u8| SqliteOptions { cipher: Some(TokenCipher::new([b; 32])), ..SqliteOptions::default() };
    let first: Arc<dyn TokenStore> = Arc::new(SqliteStore::open_with(&path, sealed(1)).await.unwrap());
    let h = common::harness_with(first).await;
    let email = user_in(&h.sim, DataCenter::Us);
    let ann = connect(&h, "ann", &email, Environment::Production).await;
    let bob = connect(&h, "bob", &email, Environment::Production).await;
    let cat = connect(&h, "cat", &email, Environment::Production).await;

    // Another instance seals Cat's row with another key. Here the row no longer opens, but
    // the cached token, due for a refresh and still valid, keeps serving meanwhile.
    let crm = h.zoho.client(&cat.key).await.unwrap();
    SqliteStore::open_with(&path, sealed(3)).await.unwrap().put(&cat).await.unwrap();
    h.sim.advance(Duration::from_secs(3600 - 40));
    crm.org().await.expect("the still-valid token serves while the row cannot be read");

    // The store is opened with another key: neither row opens.
    let store: Arc<dyn TokenStore> = Arc::new(SqliteStore::open_with(&path, sealed(2)).await.unwrap());
    let zoho = another_instance(&h, store.clone());
    let err = zoho.client(&ann.key).await.unwrap_err();
    assert!(matches!(err, Error::Store(StoreError::WrongKey { .. })), "{err:?}");

    // Ann consents again: the new grant replaces the row, and calls work.
    let request = zoho.authorization(testkit::DEFAULT_REDIRECT_URI).scopes(SCOPES.iter().copied()).prompt_consent();
    let (url, pending) = request.build(zoho.endpoints()).unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    let renewed =
        zoho.complete_authorization("ann", &redirect, &pending).await.expect("the new consent replaces the row");
    assert!(renewed.refresh_token.is_some());
    zoho.client(&ann.key).await.unwrap().org().await.unwrap();
    assert!(store.get(&ann.key).await.unwrap().is_some());

    // Bob disconnects: the row goes (its grant cannot be revoked: nobody can read it).
    let revokes = h.sim.count(Route::Revoke);
    zoho.disconnect(&bob.key).await.expect("the unreadable row is removed");
    assert!(store.get(&bob.key).await.unwrap().is_none());
    assert_eq!(h.sim.count(Route::Revoke), revokes);
}
