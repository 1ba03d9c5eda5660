//! End-to-end OAuth and token-lifecycle tests of the SDK against the local Zoho simulator.
#![cfg(feature = "testkit")]

mod common;

use std::time::Duration;

use common::{SCOPES, connect, harness, user_in};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::error::{CallbackError, RateLimitScope};
use zohocrm::testkit::{self, Decision, Route};
use zohocrm::{ClientCredentials, Error, Zoho};

#[tokio::test]
async fn connects_a_user_in_every_data_center_and_calls_current_user() {
    let h = harness().await;
    for dc in DataCenter::ALL {
        let email = user_in(&h.sim, dc);
        let token = connect(&h, &format!("app-user-{dc}"), &email, Environment::Production).await;
        assert_eq!(token.key.dc, dc, "{email}");
        assert_eq!(token.key.environment, Environment::Production);
        assert_eq!(token.api_domain, h.sim.endpoints().api[&dc][&Environment::Production]);
        let crm = h.zoho.client(&token.key).await.unwrap();
        let me = crm.current_user().await.unwrap().expect("CurrentUser answers one user");
        assert_eq!(me.email.as_deref(), Some(email.as_str()), "DC {dc}");
    }
    // Authorization started at the US server for everyone but CN, and each code was exchanged
    // at the user's own DC.
    let token_calls: Vec<_> = h.sim.requests().into_iter().filter(|r| r.route == Route::Token).collect();
    assert_eq!(token_calls.len(), DataCenter::ALL.len());
    for dc in DataCenter::ALL {
        assert_eq!(token_calls.iter().filter(|r| r.dc == dc).count(), 1, "one exchange at {dc}");
    }
}

#[tokio::test]
async fn sandbox_and_developer_connections_use_their_own_api_domain() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Eu);
    for env in [Environment::Sandbox, Environment::Developer] {
        let token = connect(&h, "u1", &email, env).await;
        assert_eq!(token.key.environment, env);
        let crm = h.zoho.client(&token.key).await.unwrap();
        assert_eq!(crm.api_domain(), h.sim.endpoints().api[&DataCenter::Eu][&env]);
        assert!(crm.current_user().await.unwrap().is_some());
    }
}

#[tokio::test]
async fn wrong_per_dc_secret_is_a_typed_invalid_client_naming_the_dc() {
    let h = harness().await;
    let zoho = Zoho::builder(
        ClientCredentials::new(testkit::DEFAULT_CLIENT_ID, testkit::default_client_secret(DataCenter::Us))
            .with_dc_secret(DataCenter::Eu, "not-the-eu-secret"),
    )
    .endpoints(common::endpoints(&h.sim))
    .clock(h.sim.clock())
    .build()
    .unwrap();
    let (url, pending) = zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let redirect =
        h.sim.consent(&url, &user_in(&h.sim, DataCenter::Eu), Environment::Production, Decision::Accept).await.unwrap();
    let err = zoho.complete_authorization("u", &redirect, &pending).await.unwrap_err();
    match &err {
        // Zoho answers `invalid_client` (docs/zoho-facts.md §2.3, observed) or `invalid_client_secret`
        // (observed on Cliq) for a wrong secret; both must name the DC that was tried.
        Error::OAuth { dc, error, .. } => {
            assert_eq!(*dc, DataCenter::Eu);
            assert!(error == "invalid_client" || error == "invalid_client_secret", "{error}");
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("Europe") && text.contains("secret"), "{text}");
    assert!(!text.contains("not-the-eu-secret"));
}

#[tokio::test]
async fn a_code_is_single_use_and_expires_by_the_clock() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::In);
    let (url, pending) = h.zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap();
    let reused = h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap_err();
    assert_eq!(reused.zoho_code(), Some("invalid_code"), "{reused}");
    assert!(reused.to_string().contains("already used"));

    let (url, pending) = h.zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    h.sim.advance(Duration::from_secs(61));
    let expired = h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap_err();
    assert_eq!(expired.zoho_code(), Some("invalid_code"), "{expired}");
}

#[tokio::test]
async fn denied_consent_and_state_mismatch_are_typed_and_send_nothing() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Au);
    let (url, pending) = h.zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let denied = h.sim.consent(&url, &email, Environment::Production, Decision::Reject).await.unwrap();
    let err = h.zoho.complete_authorization("u", &denied, &pending).await.unwrap_err();
    assert!(matches!(err, Error::Callback(CallbackError::Denied { ref error }) if error == "access_denied"), "{err:?}");

    let (url, _) = h.zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let (_, other_pending) =
        h.zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    let err = h.zoho.complete_authorization("u", &redirect, &other_pending).await.unwrap_err();
    assert!(matches!(err, Error::Callback(CallbackError::StateMismatch)), "{err:?}");
    assert_eq!(h.sim.count(Route::Token), 0, "no code exchange may be attempted");
}

/// A pending authorization is accepted for a limited time (10 minutes by default): a redirect
/// that arrives later, with the right `state` (leaked from a log or a history) and any code, is
/// refused before anything is sent. Bound to an application user, it completes for that user
/// only.
#[tokio::test]
async fn a_stale_or_foreign_pending_authorization_is_refused_before_any_exchange() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let request = h.zoho.authorization(testkit::DEFAULT_REDIRECT_URI).scopes(SCOPES.iter().copied());
    let (url, pending) = request.build(h.zoho.endpoints()).unwrap();
    let deadline = pending.expires_at_ms().expect("a deadline");
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    assert!((9 * 60_000..=10 * 60_000).contains(&(deadline - now_ms)), "about ten minutes: {}", deadline - now_ms);
    // The same pending authorization, as kept in a session eleven minutes ago.
    let mut kept = serde_json::to_value(&pending).unwrap();
    kept["expires_at_ms"] = serde_json::json!(now_ms - 60_000);
    let stale: zohocrm::oauth::PendingAuthorization = serde_json::from_value(kept).unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    let err = h.zoho.complete_authorization("u", &redirect, &stale).await.unwrap_err();
    assert!(matches!(err, Error::Callback(CallbackError::Expired)), "{err:?}");
    assert_eq!(h.sim.count(Route::Token), 0, "no code exchange may be attempted");
    h.zoho.complete_authorization("u", &redirect, &pending).await.expect("in time, it completes");

    let request = h.zoho.authorization(testkit::DEFAULT_REDIRECT_URI).scopes(SCOPES.iter().copied()).for_user("alice");
    let (url, pending) = request.build(h.zoho.endpoints()).unwrap();
    assert_eq!(pending.user(), Some("alice"));
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    let tokens_before = h.sim.count(Route::Token);
    let err = h.zoho.complete_authorization("mallory", &redirect, &pending).await.unwrap_err();
    assert!(matches!(err, Error::Callback(CallbackError::WrongUser)), "{err:?}");
    assert_eq!(h.sim.count(Route::Token), tokens_before, "no code exchange for the wrong user");
    let token = h.zoho.complete_authorization("alice", &redirect, &pending).await.unwrap();
    assert_eq!(token.key.user, "alice");

    // Sessions stored before these fields existed are accepted as before.
    let mut old = serde_json::to_value(&pending).unwrap();
    old.as_object_mut().unwrap().retain(|k, _| k != "expires_at_ms" && k != "user");
    let old: zohocrm::oauth::PendingAuthorization = serde_json::from_value(old).unwrap();
    assert!(old.expires_at_ms().is_none() && old.user().is_none());
}

#[tokio::test]
async fn look_alike_accounts_server_is_rejected_before_any_secret_is_sent() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let (url, pending) = h.zoho.authorization_request(testkit::DEFAULT_REDIRECT_URI, SCOPES.iter().copied()).unwrap();
    let redirect = h.sim.consent(&url, &email, Environment::Production, Decision::Accept).await.unwrap();
    let real = h.sim.endpoints().accounts[&DataCenter::Eu].clone();
    for hostile in [
        "https://accounts.zoho.eu.evil.com",
        "https://evil.com/?accounts.zoho.eu",
        "https://accounts.zoho.eu@evil.com",
        "http://127.0.0.2:1/accounts/eu",
    ] {
        let forged = redirect.replace(
            &url::form_urlencoded::byte_serialize(real.as_bytes()).collect::<String>(),
            &url::form_urlencoded::byte_serialize(hostile.as_bytes()).collect::<String>(),
        );
        assert_ne!(forged, redirect, "the redirect carries the accounts server");
        let forged = forged.replace("location=eu", "");
        let err = h.zoho.complete_authorization("u", &forged, &pending).await.unwrap_err();
        assert!(matches!(err, Error::DataCenter(_)), "{hostile}: {err:?}");
    }
    assert_eq!(h.sim.count(Route::Token), 0);
}

#[tokio::test]
async fn a_thousand_concurrent_calls_with_an_expired_token_refresh_exactly_once() {
    let h = harness().await;
    let token = connect(&h, "busy", &user_in(&h.sim, DataCenter::Jp), Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    h.sim.advance(Duration::from_secs(3601));
    h.sim.clear_requests();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let crm = crm.clone();
        tasks.spawn(async move { crm.org().await });
    }
    let mut ok = 0;
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 1000);
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "single-flight refresh");
    assert_eq!(h.zoho.tokens().refresh_count(), 1);
}

#[tokio::test]
async fn an_access_token_revoked_behind_our_back_is_refreshed_and_replayed_once() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Ca);
    let token = connect(&h, "u", &email, Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    assert!(crm.current_user().await.unwrap().is_some());
    h.sim.invalidate_access_tokens_for(&email);
    h.sim.clear_requests();
    let me = crm.current_user().await.unwrap();
    assert!(me.is_some());
    assert_eq!(h.sim.count_grant("refresh_token"), 1);
    let users_calls =
        h.sim.requests().into_iter().filter(|r| r.route == Route::Users).map(|r| r.status).collect::<Vec<_>>();
    assert_eq!(users_calls, vec![401, 200], "one rejected call, one replay");
}

/// The replay uses the unsent copy the retry layer hands back: it must exist when retries are
/// off (no copy is needed for a retry) and when the 401 answers the last attempt allowed.
#[tokio::test]
async fn the_replay_after_a_rejected_token_works_without_retries_and_on_the_last_attempt() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let token = connect(&h, "u", &email, Environment::Production).await;
    let client = |policy: zohocrm::retry::RetryPolicy| {
        Zoho::builder(common::credentials())
            .endpoints(common::endpoints(&h.sim))
            .clock(h.sim.clock())
            .retry_policy(policy.with_backoff(Duration::from_millis(1), Duration::from_millis(1)))
            .shared_store(h.zoho.tokens().store().clone())
            .build()
            .unwrap()
    };
    let cases = [
        ("retries off", zohocrm::retry::RetryPolicy::disabled(), 0, vec![401, 200]),
        (
            "401 on the last of two attempts",
            zohocrm::retry::RetryPolicy::default().with_max_attempts(2),
            1,
            vec![503, 401, 200],
        ),
    ];
    for (case, policy, failures, statuses) in cases {
        let zoho = client(policy);
        let crm = zoho.client(&token.key).await.unwrap();
        assert!(crm.current_user().await.unwrap().is_some(), "{case}: warm");
        h.sim.invalidate_access_tokens_for(&email);
        if failures > 0 {
            h.sim.inject(Route::Users, testkit::Fault::Status(503), failures);
        }
        h.sim.clear_requests();
        let me = crm.current_user().await.unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(me.and_then(|u| u.email).as_deref(), Some(email.as_str()), "{case}");
        let users_calls =
            h.sim.requests().into_iter().filter(|r| r.route == Route::Users).map(|r| r.status).collect::<Vec<_>>();
        assert_eq!(users_calls, statuses, "{case}: the rejected call, then one replay");
    }
}

#[tokio::test]
async fn a_revoked_refresh_token_is_a_clear_error_without_a_loop() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Sa);
    let token = connect(&h, "u", &email, Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    assert!(h.sim.revoke_refresh_token_out_of_band(token.refresh_token.as_ref().unwrap()));
    h.sim.clear_requests();
    let err = crm.current_user().await.unwrap_err();
    assert!(matches!(err, Error::ReauthorizationRequired { .. }), "{err:?}");
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "exactly one refresh attempt");
    assert!(h.sim.count(Route::Users) <= 1, "no replay loop");
    // The stored token was not thrown away: the app decides when to reconnect.
    assert!(h.zoho.tokens().store().get(&token.key).await.unwrap().is_some());
}

#[tokio::test]
async fn the_token_throttle_stops_further_token_requests_until_retry_after() {
    let h = harness().await;
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = h.zoho.client(&token.key).await.unwrap();
    // Zoho allows 10 access tokens per refresh token per 10 minutes.
    let mut throttled = None;
    for _ in 0..12 {
        h.sim.advance(Duration::from_secs(1));
        h.zoho.tokens().forget(&token.key);
        force_stale(&h, &token.key).await;
        match crm.org().await {
            Ok(_) => {}
            Err(e) => {
                throttled = Some(e);
                break;
            }
        }
    }
    let err = throttled.expect("the 11th token in 10 minutes is throttled");
    assert!(matches!(err, Error::RateLimited { scope: RateLimitScope::TokenEndpoint, .. }), "{err:?}");
    let before = h.sim.count_grant("refresh_token");
    for _ in 0..5 {
        let again = crm.org().await.unwrap_err();
        assert!(matches!(again, Error::RateLimited { .. }));
    }
    assert_eq!(h.sim.count_grant("refresh_token"), before, "no token request while backing off");
    h.sim.advance(Duration::from_secs(11 * 60));
    crm.org().await.unwrap();
    assert_eq!(h.sim.count_grant("refresh_token"), before + 1);
}

/// Marks the stored token as expired so the next call refreshes.
async fn force_stale(h: &common::Harness, key: &zohocrm::TokenKey) {
    let store = h.zoho.tokens().store();
    let mut token = store.get(key).await.unwrap().unwrap();
    token.expires_at_ms = 0;
    store.put(&token).await.unwrap();
}

#[tokio::test]
async fn disconnect_revokes_at_the_dc_and_deletes_the_token() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Eu);
    let token = connect(&h, "u", &email, Environment::Production).await;
    h.zoho.disconnect(&token.key).await.unwrap();
    let revokes = h.sim.requests().into_iter().filter(|r| r.route == Route::Revoke).collect::<Vec<_>>();
    assert_eq!(revokes.len(), 1);
    assert_eq!(revokes[0].dc, DataCenter::Eu);
    assert!(h.zoho.tokens().store().get(&token.key).await.unwrap().is_none());
    let err = h.zoho.client(&token.key).await.unwrap_err();
    assert!(matches!(err, Error::NotConnected { .. }), "{err:?}");
}

/// The browser flow with `access_type=online` for `email`, stored as user `u`.
async fn online_login(h: &common::Harness, email: &str) -> zohocrm::Token {
    let (url, pending) = h
        .zoho
        .authorization(testkit::DEFAULT_REDIRECT_URI)
        .scopes(SCOPES.iter().copied())
        .access_type(zohocrm::oauth::AccessType::Online)
        .build(h.zoho.endpoints())
        .unwrap();
    let redirect = h.sim.consent(&url, email, Environment::Production, Decision::Accept).await.unwrap();
    h.zoho.complete_authorization("u", &redirect, &pending).await.unwrap()
}

#[tokio::test]
async fn an_online_grant_has_no_refresh_token_and_is_not_an_error() {
    let h = harness().await;
    let email = user_in(&h.sim, DataCenter::Us);
    let token = online_login(&h, &email).await;
    assert!(token.refresh_token.is_none());
    let crm = h.zoho.client(&token.key).await.unwrap();
    assert!(crm.current_user().await.unwrap().is_some());
    h.sim.advance(Duration::from_secs(3601));
    let err = crm.current_user().await.unwrap_err();
    assert!(matches!(err, Error::ReauthorizationRequired { .. }), "{err:?}");
}

/// Two instances of an app share the store. An online grant (no refresh token) expires; the
/// second instance is told to authorize again and remembers that. The user logs in again
/// through the first instance: the second must use the new token, not stay refused until it
/// restarts.
#[tokio::test]
async fn a_connection_refused_in_one_instance_comes_back_when_another_reconnects_it() {
    use std::sync::Arc;
    use zohocrm::store::{MemoryStore, TokenStore};
    let store: Arc<dyn TokenStore> = Arc::new(MemoryStore::new());
    let h = common::harness_with(store.clone()).await;
    let other = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .shared_store(store)
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .build()
        .unwrap();
    let email = user_in(&h.sim, DataCenter::Us);
    let token = online_login(&h, &email).await;
    assert!(other.client(&token.key).await.unwrap().current_user().await.unwrap().is_some());
    h.sim.advance(Duration::from_secs(3601));
    let err = other.tokens().access_token(&token.key).await.unwrap_err();
    assert!(matches!(err, Error::ReauthorizationRequired { .. }), "{err:?}");
    // The user logs in again, through the first instance.
    let again = online_login(&h, &email).await;
    let served = other.tokens().access_token(&token.key).await.expect("the new login is used");
    assert_eq!(served.secret().expose(), again.access_token.as_ref().unwrap().expose());
}
