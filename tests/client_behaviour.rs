//! The CRM client and the token manager against the simulator: pagination, empty results,
//! typed errors, refresh timing, failure handling, the bounded cache, timeouts, proxy and
//! redirects.
#![cfg(feature = "testkit")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{connect, harness, harness_with, user_in};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use zohocrm::client::{Criteria, Record, RecordQuery, Search, UserType};
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::error::{RateLimitScope, TransportKind};
use zohocrm::manager::RefreshPolicy;
use zohocrm::store::{MemoryStore, RefreshLease, StoreError, TokenStore};
use zohocrm::testkit::{Fault, Route};
use zohocrm::{Error, Token, TokenKey, Zoho};

async fn us_client(h: &common::Harness) -> (zohocrm::CrmClient, Token) {
    let token = connect(h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    (h.zoho.client(&token.key).await.unwrap(), token)
}

#[tokio::test]
async fn records_stream_walks_every_page_until_more_records_is_false() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let first = crm.records_page("Leads", &RecordQuery::default(), 1).await.unwrap();
    assert_eq!(first.items.len(), 200);
    assert!(first.more_records);
    h.sim.clear_requests();
    let all: Vec<_> = crm.records("Leads", RecordQuery::default()).collect().await;
    let all: Vec<_> = all.into_iter().collect::<Result<_, _>>().unwrap();
    let pages = h.sim.count(Route::Records);
    assert!(all.len() > 200, "more than one page of Leads ({})", all.len());
    assert_eq!(pages, all.len().div_ceil(200), "one request per page");
    let mut ids: Vec<_> = all.iter().map(|r| r.id.clone().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "no record twice");
}

#[tokio::test]
async fn users_stream_and_users_by_type() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let all: Vec<_> = crm.users(UserType::AllUsers).map(|u| u.unwrap()).collect().await;
    let active: Vec<_> = crm.users(UserType::ActiveUsers).map(|u| u.unwrap()).collect().await;
    assert!(all.len() > 1);
    // Exactly the active users of the whole list: an empty stream would not pass.
    let ids = |users: &[zohocrm::client::User]| {
        let mut ids: Vec<String> = users.iter().filter_map(|u| u.id.clone()).collect();
        ids.sort();
        ids
    };
    let expected: Vec<_> = all.iter().filter(|u| u.status.as_deref() == Some("active")).cloned().collect();
    assert!(!expected.is_empty() && expected.len() < all.len(), "the seed org has active and inactive users");
    assert_eq!(ids(&active), ids(&expected));
}

#[tokio::test]
async fn empty_results_are_empty_not_errors() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    // 204 No Content from search.
    let none = crm
        .search_page("Leads", &Search::Criteria(Criteria::equals("Last_Name", "no-such-name-anywhere")), 1, 200)
        .await
        .unwrap();
    assert!(none.items.is_empty() && !none.more_records);
    let statuses: Vec<_> = h.sim.requests().iter().filter(|r| r.route == Route::Records).map(|r| r.status).collect();
    assert_eq!(statuses.last(), Some(&204));
    // 304 Not Modified for a conditional listing far in the future.
    let query = RecordQuery { if_modified_since: Some("2999-01-01T00:00:00+00:00".into()), ..Default::default() };
    let page = crm.records_page("Leads", &query, 1).await.unwrap();
    assert!(page.items.is_empty());
    let statuses: Vec<_> = h.sim.requests().iter().filter(|r| r.route == Route::Records).map(|r| r.status).collect();
    assert_eq!(statuses.last(), Some(&304));
}

#[tokio::test]
async fn search_criteria_and_writes_round_trip() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let mut record = zohocrm::client::Record::default();
    record.extra.insert("Last_Name".into(), "Tour (EU), Ltd".into());
    record.extra.insert("Company".into(), "Zylker".into());
    let results = crm.insert_records("Leads", vec![record]).await.unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].status, "success");
    let id = results[0].details.as_ref().and_then(|d| d.get("id")).and_then(|v| v.as_str()).unwrap().to_owned();
    let found: Vec<_> = crm
        .search("Leads", Search::Criteria(Criteria::equals("Last_Name", "Tour (EU), Ltd")))
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(found.len(), 1, "escaped criteria match exactly one record");
    assert_eq!(found[0].id.as_deref(), Some(id.as_str()));
    let deleted = crm.delete_records("Leads", &[&id]).await.unwrap();
    assert_eq!(deleted[0].status, "success");
    // Zoho answers a deleted record's GET with 204: the SDK says `None`, not an error.
    assert!(crm.record("Leads", &id).await.unwrap().is_none(), "a deleted record is gone");
}

#[tokio::test]
async fn zoho_error_envelopes_become_typed_api_errors() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let err = crm.records_page("NoSuchModule", &RecordQuery::default(), 1).await.unwrap_err();
    match &err {
        Error::Api { status, code, operation, .. } => {
            assert_eq!((*status, code.as_str(), operation.as_str()), (400, "INVALID_MODULE", "list_records"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!err.is_retryable());
    let too_many = (0..101).map(|_| zohocrm::client::Record::default()).collect();
    let err = crm.insert_records("Leads", too_many).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { parameter, .. } if parameter == "records"), "{err:?}");
    assert_eq!(h.sim.count(Route::Records), 1, "an oversized batch is refused before sending");
}

#[tokio::test]
async fn crm_429_is_a_typed_rate_limit_with_retry_after() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    h.sim.inject(Route::Org, Fault::TooManyRequests { retry_after_secs: 7 }, 1);
    let err = crm.org().await.unwrap_err();
    match err {
        Error::RateLimited { scope: RateLimitScope::Api, retry_after } => {
            assert_eq!(retry_after, Duration::from_secs(7))
        }
        other => panic!("{other:?}"),
    }
    crm.org().await.unwrap();
}

#[tokio::test]
async fn refresh_happens_inside_the_buffer_and_never_on_every_call() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    for _ in 0..50 {
        crm.org().await.unwrap();
    }
    assert_eq!(h.zoho.tokens().refresh_count(), 0, "a valid token is reused");
    // 3600 s token, 60 s buffer + up to 30 s jitter: at 3400 s nothing happens, at 3545 s it refreshes.
    h.sim.advance(Duration::from_secs(3400));
    crm.org().await.unwrap();
    assert_eq!(h.zoho.tokens().refresh_count(), 0);
    h.sim.advance(Duration::from_secs(145));
    crm.org().await.unwrap();
    assert_eq!(h.zoho.tokens().refresh_count(), 1, "refreshed before expiry, within the buffer");
    for _ in 0..50 {
        crm.org().await.unwrap();
    }
    assert_eq!(h.zoho.tokens().refresh_count(), 1);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_old_token_and_the_next_call_recovers() {
    let h = harness().await;
    let (crm, token) = us_client(&h).await;
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::Status(503), 1);
    let err = crm.org().await.unwrap_err();
    // Zoho's accounts server answered 503 without its envelope: the real status, retryable.
    assert!(matches!(err, Error::Decode { status: 503, .. }), "{err:?}");
    assert!(err.is_retryable(), "{err:?}");
    let stored = h.zoho.tokens().store().get(&token.key).await.unwrap().unwrap();
    assert!(stored.refresh_token.as_ref().unwrap().ct_eq(token.refresh_token.as_ref().unwrap()));
    assert!(
        stored.access_token.as_ref().unwrap().ct_eq(token.access_token.as_ref().unwrap()),
        "old token kept as it was"
    );
    h.sim.clear_requests();
    let again = crm.org().await.unwrap_err();
    assert_eq!(again.to_string(), err.to_string(), "the failure is remembered briefly");
    assert_eq!(h.sim.count(Route::Token), 0, "no token request while the failure is remembered");
    h.sim.advance(RefreshPolicy::default().failure_memory + Duration::from_secs(1));
    crm.org().await.unwrap();
}

/// A store whose lease commits fail on demand.
#[derive(Debug, Default)]
struct FlakyStore {
    inner: MemoryStore,
    fail_commits: Arc<AtomicBool>,
}

struct FlakyLease {
    inner: Box<dyn RefreshLease>,
    fail: bool,
}

#[async_trait::async_trait]
impl RefreshLease for FlakyLease {
    fn current(&self) -> Option<&Token> {
        self.inner.current()
    }
    async fn commit(self: Box<Self>, token: &Token) -> Result<(), StoreError> {
        if self.fail {
            self.inner.release().await?;
            return Err(StoreError::Busy { backend: "flaky", action: "commit", waited: Duration::ZERO });
        }
        self.inner.commit(token).await
    }
    async fn delete(self: Box<Self>) -> Result<bool, StoreError> {
        self.inner.delete().await
    }
    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        self.inner.release().await
    }
}

#[async_trait::async_trait]
impl TokenStore for FlakyStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        self.inner.get(key).await
    }
    async fn put(&self, token: &Token) -> Result<(), StoreError> {
        self.inner.put(token).await
    }
    async fn delete(&self, key: &TokenKey) -> Result<bool, StoreError> {
        self.inner.delete(key).await
    }
    async fn list(&self) -> Result<Vec<TokenKey>, StoreError> {
        self.inner.list().await
    }
    async fn begin_refresh(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        let inner = self.inner.begin_refresh(key).await?;
        Ok(Box::new(FlakyLease { inner, fail: self.fail_commits.load(Ordering::SeqCst) }))
    }
}

#[tokio::test]
async fn a_refreshed_token_that_cannot_be_stored_is_never_used() {
    let fail = Arc::new(AtomicBool::new(false));
    let store = Arc::new(FlakyStore { inner: MemoryStore::new(), fail_commits: fail.clone() });
    let h = harness_with(store.clone()).await;
    let (crm, token) = us_client(&h).await;
    h.sim.advance(Duration::from_secs(3600));
    fail.store(true, Ordering::SeqCst);
    h.sim.clear_requests();
    let err = crm.org().await.unwrap_err();
    assert!(matches!(err, Error::Store(_)), "{err:?}");
    assert_eq!(h.sim.count_grant("refresh_token"), 1);
    assert_eq!(h.sim.count(Route::Org), 0, "the unsaved token was not used for the call");
    let stored = store.get(&token.key).await.unwrap().unwrap();
    assert!(stored.access_token.as_ref().unwrap().ct_eq(token.access_token.as_ref().unwrap()));
    fail.store(false, Ordering::SeqCst);
    h.sim.advance(RefreshPolicy::default().failure_memory + Duration::from_secs(1));
    crm.org().await.unwrap();
}

#[tokio::test]
async fn the_token_cache_is_bounded_and_evicted_connections_reload_from_the_store() {
    let h = harness().await;
    let zoho = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .shared_store(h.zoho.tokens().store().clone())
        .cache_capacity(3)
        .build()
        .unwrap();
    let email = user_in(&h.sim, DataCenter::Us);
    let mut keys = Vec::new();
    for i in 0..10 {
        keys.push(connect(&h, &format!("user-{i}"), &email, Environment::Production).await.key);
    }
    for key in &keys {
        zoho.client(key).await.unwrap().org().await.unwrap();
        assert!(zoho.tokens().cached_len() <= 3);
    }
    let loads = zoho.tokens().store_load_count();
    assert!(loads >= 10, "every connection was loaded from the store ({loads})");
    for key in &keys {
        zoho.client(key).await.unwrap().org().await.unwrap();
    }
    assert!(zoho.tokens().store_load_count() > loads, "evicted entries reload from the store");
    assert_eq!(zoho.tokens().refresh_count(), 0);
}

#[tokio::test]
async fn read_timeout_applies_to_api_and_token_calls() {
    let h = harness().await;
    let zoho = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .shared_store(h.zoho.tokens().store().clone())
        .read_timeout(Duration::from_millis(200))
        .total_timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = zoho.client(&token.key).await.unwrap();
    h.sim.inject(Route::Org, Fault::Latency(Duration::from_secs(2)), 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(err, Error::Transport { kind: TransportKind::Timeout, may_have_been_sent: true, .. }), "{err:?}");
    h.sim.advance(Duration::from_secs(3600));
    h.sim.inject(Route::Token, Fault::Latency(Duration::from_secs(2)), 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(err, Error::Transport { kind: TransportKind::Timeout, .. }), "{err:?}");
    assert!(err.to_string().contains("token"), "{err}");
    h.sim.advance(RefreshPolicy::default().failure_memory + Duration::from_secs(1));
    crm.org().await.unwrap();
}

#[tokio::test]
async fn a_dropped_connection_is_a_transport_error_that_may_have_been_sent() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    h.sim.inject(Route::Org, Fault::DropConnection, 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(err, Error::Transport { may_have_been_sent: true, .. }), "{err:?}");
    assert!(err.is_retryable());
    h.sim.inject(Route::Org, Fault::NonJsonBody, 1);
    let err = crm.org().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

/// A loopback HTTP proxy that counts requests and forwards them (plain HTTP only).
async fn counting_proxy() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut read = 0;
                // Read the head to find the absolute-form target.
                let head_end = loop {
                    let n = client.read(&mut buf[read..]).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    read += n;
                    if let Some(i) = buf[..read].windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                seen.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                let authority = target.trim_start_matches("http://").split('/').next().unwrap_or_default().to_owned();
                let path =
                    format!("/{}", target.trim_start_matches("http://").split_once('/').map(|x| x.1).unwrap_or(""));
                // One request per connection, so every request is counted.
                let rewritten = head
                    .replacen(&target, &path, 1)
                    .trim_end_matches("\r\n")
                    .lines()
                    .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
                    .collect::<Vec<_>>()
                    .join("\r\n")
                    + "\r\nConnection: close\r\n\r\n";
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&authority).await else { return };
                let _ = upstream.write_all(rewritten.as_bytes()).await;
                let _ = upstream.write_all(&buf[head_end..read]).await;
                let (mut cr, mut cw) = client.split();
                let (mut ur, mut uw) = upstream.split();
                tokio::select! {
                    _ = tokio::io::copy(&mut cr, &mut uw) => {}
                    _ = tokio::io::copy(&mut ur, &mut cw) => {}
                }
            });
        }
    });
    (url, count)
}

#[tokio::test]
async fn the_proxy_carries_every_request_including_the_token_endpoint() {
    let h = harness().await;
    let (proxy, count) = counting_proxy().await;
    let zoho = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .proxy(proxy)
        .build()
        .unwrap();
    let email = user_in(&h.sim, DataCenter::Eu);
    let (url, pending) =
        zoho.authorization_request(zohocrm::testkit::DEFAULT_REDIRECT_URI, common::SCOPES.iter().copied()).unwrap();
    let redirect =
        h.sim.consent(&url, &email, Environment::Production, zohocrm::testkit::Decision::Accept).await.unwrap();
    let token = zoho.complete_authorization("u", &redirect, &pending).await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1, "the code exchange went through the proxy");
    zoho.client(&token.key).await.unwrap().org().await.unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 2, "the CRM call went through the proxy");
}

/// A stand-in EU accounts server that answers every request with `response`, counting them.
async fn fake_eu_accounts(response: Vec<u8>) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/accounts/eu", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let seen = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(&response).await;
        }
    });
    (base, hits)
}

/// Exchanges a made-up code for an EU user whose accounts server is `accounts` (the rest of
/// the table is the simulator's).
async fn exchange_at(h: &common::Harness, accounts: &str) -> Error {
    let mut table = h.sim.endpoints();
    table.accounts.insert(DataCenter::Eu, accounts.to_owned());
    let table: zohocrm::dc::EndpointTable = serde_json::from_value(serde_json::to_value(table).unwrap()).unwrap();
    let zoho = Zoho::builder(common::credentials())
        .endpoints(zohocrm::Endpoints::from_table(&table).unwrap())
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .build()
        .unwrap();
    let (_, pending) =
        zoho.authorization_request(zohocrm::testkit::DEFAULT_REDIRECT_URI, ["ZohoCRM.users.READ"]).unwrap();
    let redirect = format!(
        "code=abc&location=eu&accounts-server={}&state={}",
        url::form_urlencoded::byte_serialize(accounts.as_bytes()).collect::<String>(),
        pending.state().expose()
    );
    zoho.complete_authorization("u", &redirect, &pending).await.unwrap_err()
}

#[tokio::test]
async fn the_token_endpoint_never_follows_a_redirect() {
    let (accounts, hits) = fake_eu_accounts(
        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:9/steal\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    )
    .await;
    let h = harness().await;
    let err = exchange_at(&h, &accounts).await;
    assert!(matches!(err, Error::Decode { status: 307, .. }), "{err:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1, "exactly one request, the redirect was not followed");
}

#[tokio::test]
async fn the_raw_generated_client_carries_the_hooks() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    h.sim.advance(Duration::from_secs(3600));
    let org = crm.raw().get_org().send().await.unwrap().into_inner();
    assert_eq!(org.org.len(), 1);
    assert_eq!(h.zoho.tokens().refresh_count(), 1, "the hook refreshed the expired token");
}

#[tokio::test]
async fn policy_is_configurable() {
    let h = harness().await;
    let zoho = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(zohocrm::retry::RetryPolicy::disabled())
        .shared_store(h.zoho.tokens().store().clone())
        .refresh_policy(RefreshPolicy {
            buffer: Duration::from_secs(600),
            jitter: Duration::ZERO,
            ..Default::default()
        })
        .build()
        .unwrap();
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = zoho.client(&token.key).await.unwrap();
    h.sim.advance(Duration::from_secs(2999));
    crm.org().await.unwrap();
    assert_eq!(zoho.tokens().refresh_count(), 0);
    h.sim.advance(Duration::from_secs(1));
    crm.org().await.unwrap();
    assert_eq!(zoho.tokens().refresh_count(), 1, "refreshed 600 s before expiry");
}

#[tokio::test]
async fn a_token_answer_that_fails_to_decode_keeps_no_token_in_the_error() {
    const LEAKY: &str = "1000.this-token-must-never-be-printed.0123456789";
    let body = format!(r#"{{"access_token":"{LEAKY}","expires_in":[1],"api_domain":"x"}}"#);
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (accounts, _) = fake_eu_accounts(response.into_bytes()).await;
    let h = harness().await;
    let err = exchange_at(&h, &accounts).await;
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(LEAKY), "{text}");
        assert!(text.contains("`expires_in`"), "names the field that did not decode: {text}");
    }
}

#[tokio::test]
async fn deleted_records_are_listed_after_a_delete() {
    let h = harness().await;
    let (crm, _) = us_client(&h).await;
    let first =
        crm.records_page("Contacts", &RecordQuery { per_page: Some(2), ..Default::default() }, 1).await.unwrap();
    let id = first.items[0].id.clone().unwrap();
    assert_eq!(crm.delete_record("Contacts", &id).await.unwrap().unwrap().status, "success");
    let deleted: Vec<_> = crm
        .deleted_records("Contacts", zohocrm::client::DeletedKind::All)
        .map(|r| r.unwrap().id.unwrap_or_default())
        .collect()
        .await;
    assert!(deleted.contains(&id), "{deleted:?}");
}

#[tokio::test]
async fn building_a_client_sends_nothing_and_never_refreshes() {
    let h = harness().await;
    let (_, token) = us_client(&h).await;
    h.sim.advance(Duration::from_secs(7200));
    h.sim.clear_requests();
    let crm = h.zoho.client(&token.key).await.unwrap();
    assert!(h.sim.requests().is_empty(), "no request until a call is made");
    crm.org().await.unwrap();
    assert_eq!(h.sim.count_grant("refresh_token"), 1, "the first call refreshed");
}

/// A DELETE whose answer is lost (a timeout after Zoho deleted) is not repeated: a repeat
/// finds the records gone and Zoho answers their ids as invalid, which read as "N of N
/// failed" for records that were deleted. The caller gets the timeout, marked as possibly
/// performed, and decides (as for any write; `with_retry_writes(true)` opts in).
#[tokio::test]
async fn a_delete_whose_answer_is_lost_is_not_repeated_into_false_failures() {
    let h = harness().await;
    let zoho = Zoho::builder(common::credentials())
        .endpoints(common::endpoints(&h.sim))
        .clock(h.sim.clock())
        .retry_policy(
            zohocrm::retry::RetryPolicy::default().with_backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .shared_store(h.zoho.tokens().store().clone())
        .read_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let token = connect(&h, "u", &user_in(&h.sim, DataCenter::Us), Environment::Production).await;
    let crm = zoho.client(&token.key).await.unwrap();
    let created = crm.insert_records("Leads", vec![Record::new().set("Last_Name", "Gone")]).await.unwrap();
    let id = created[0].id().unwrap().to_owned();
    let deletes = |h: &common::Harness| h.sim.requests().iter().filter(|r| r.method == "DELETE").count();

    h.sim.inject(Route::Records, Fault::Latency(Duration::from_millis(800)), 1);
    let err = crm.delete_records("Leads", &[&id]).await.unwrap_err();
    assert!(matches!(err, Error::Transport { kind: TransportKind::Timeout, may_have_been_sent: true, .. }), "{err:?}");
    tokio::time::sleep(Duration::from_millis(700)).await; // the delayed request lands
    assert_eq!(deletes(&h), 1, "not repeated");
    assert!(crm.record("Leads", &id).await.unwrap().is_none(), "the first attempt deleted it");

    // A DELETE that surely did not happen (HTTP 429) is still retried.
    let other = crm.insert_records("Leads", vec![Record::new().set("Last_Name", "Kept")]).await.unwrap();
    let other_id = other[0].id().unwrap().to_owned();
    h.sim.inject(Route::Records, Fault::TooManyRequests { retry_after_secs: 0 }, 1);
    let deleted = crm.delete_records("Leads", &[&other_id]).await.unwrap();
    assert!(deleted[0].is_success(), "{deleted:?}");
}
