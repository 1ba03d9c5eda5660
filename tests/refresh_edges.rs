//! The token manager at the edges of a refresh: what a refresher or Zoho's throttle answers,
//! and callers that arrive just after a flight failed. A stub refresher counts what would have
//! been token requests; the store is the in-memory one (its lease semantics are the same).

mod store_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use store_support::*;
use zohocrm::clock::ManualClock;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::error::RateLimitScope;
use zohocrm::manager::{RefreshPolicy, TokenManager};
use zohocrm::store::{MemoryStore, TokenStore};
use zohocrm::{Error, Token};

/// What the stub answers each refresh with.
#[derive(Debug, Clone)]
enum Answer {
    /// A new access token, and this refresh token (`None`: none at all).
    Mint(Option<&'static str>),
    /// Zoho's throttle, with this `Retry-After`.
    Throttled(Duration),
    /// An outage (HTTP 503 without Zoho's envelope).
    Outage,
    /// Zoho refusing the app itself (`invalid_client`: a wrong DC secret, Multi-DC off).
    BadClient,
}

#[derive(Debug)]
struct StubRefresher {
    answer: Answer,
    calls: AtomicUsize,
}

impl StubRefresher {
    fn new(answer: Answer) -> Arc<Self> {
        Arc::new(Self { answer, calls: AtomicUsize::new(0) })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl zohocrm::refresh::Refresher for StubRefresher {
    async fn refresh(&self, token: &Token) -> zohocrm::Result<Token> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(_) = &token.refresh_token else {
            return Err(Error::ReauthorizationRequired {
                key: token.key.clone(),
                reason: "an online grant has no refresh token".into(),
                zoho_error: None,
            });
        };
        match &self.answer {
            Answer::Mint(refresh) => {
                let mut fresh = token.clone();
                fresh.access_token = Some(zohocrm::AccessToken::new(format!("1000.minted.{n}")));
                fresh.refresh_token = refresh.map(zohocrm::RefreshToken::new);
                fresh.expires_at_ms = token.expires_at_ms + 3_600_000 * 10;
                Ok(fresh)
            }
            Answer::Throttled(wait) => {
                Err(Error::RateLimited { scope: RateLimitScope::TokenEndpoint, retry_after: *wait })
            }
            Answer::BadClient => Err(Error::OAuth {
                dc: token.key.dc,
                accounts_server: "https://accounts.zoho.eu".into(),
                error: "invalid_client".into(),
                description: None,
                hint: String::new(),
            }),
            Answer::Outage => Err(Error::Decode {
                operation: "token".into(),
                status: 503,
                body: String::new(),
                reason: "HTTP 503 without Zoho's error envelope".into(),
            }),
        }
    }

    async fn revoke(&self, _token: &Token) -> zohocrm::Result<()> {
        Ok(())
    }
}

const NOW: i64 = 1_800_000_000_000;

/// A manager over `store` at `NOW`, and the key of its one connection, stored with an access
/// token that expired a minute ago.
async fn expired_connection(
    store: Arc<dyn TokenStore>,
    refresher: Arc<StubRefresher>,
) -> (TokenManager, Arc<ManualClock>, zohocrm::TokenKey) {
    let k = key("ann", DataCenter::Eu, Environment::Production);
    store.put(&token(&k, "1000.at.old", "1000.rt.kept", NOW - 60_000)).await.unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let manager = TokenManager::new(store, refresher, clock.clone(), RefreshPolicy::default(), 10);
    (manager, clock, k)
}

/// A refresher that answers without a refresh token (Zoho's refresh answer carries none; a
/// custom refresher may forget to keep it) must not wipe the stored one.
#[tokio::test]
async fn a_refresh_answer_without_a_refresh_token_keeps_the_stored_one() {
    for answer in [None, Some("")] {
        let store = MemoryStore::new();
        let (manager, _, k) =
            expired_connection(Arc::new(store.clone()), StubRefresher::new(Answer::Mint(answer))).await;
        let access = manager.access_token(&k).await.unwrap();
        assert_eq!(access.secret().expose(), "1000.minted.1");
        let stored = store.get(&k).await.unwrap().unwrap();
        let kept = stored.refresh_token.expect("the refresh token was dropped");
        assert_eq!(kept.expose(), "1000.rt.kept", "answer {answer:?}");
    }
}

/// `Retry-After: 0` on a throttled token request must not let every later caller ask again at
/// once: the failure is remembered at least as long as any other failure.
#[tokio::test]
async fn a_zero_retry_after_from_the_token_endpoint_is_still_remembered() {
    let refresher = StubRefresher::new(Answer::Throttled(Duration::ZERO));
    let (manager, _, k) = expired_connection(Arc::new(MemoryStore::new()), refresher.clone()).await;
    for _ in 0..3 {
        let error = manager.access_token(&k).await.unwrap_err();
        assert!(matches!(error, Error::RateLimited { .. }), "{error}");
    }
    assert_eq!(refresher.calls(), 1, "each caller asked Zoho again");
}

/// A `Retry-After` of a day (a proxy's) blocks the connection no longer than the policy's
/// throttle back-off.
#[tokio::test]
async fn a_huge_retry_after_is_capped_at_the_throttle_back_off() {
    let refresher = StubRefresher::new(Answer::Throttled(Duration::from_secs(86_400)));
    let (manager, clock, k) = expired_connection(Arc::new(MemoryStore::new()), refresher.clone()).await;
    let error = manager.access_token(&k).await.unwrap_err();
    let Error::RateLimited { retry_after, .. } = error else { panic!("{error}") };
    let backoff = RefreshPolicy::default().throttle_backoff;
    assert_eq!(retry_after, backoff, "the caller is told the wait that applies");
    clock.advance(backoff + Duration::from_secs(1));
    manager.access_token(&k).await.unwrap_err();
    assert_eq!(refresher.calls(), 2, "the connection was still blocked after the back-off");
}

/// An online grant (no refresh token) keeps serving its access token until it expires, instead
/// of being refused a minute or more early when the refresh buffer begins.
#[tokio::test]
async fn an_online_grant_serves_its_token_until_it_expires() {
    let store = MemoryStore::new();
    let k = key("ann", DataCenter::Eu, Environment::Production);
    let mut online = token(&k, "1000.at.online", "unused", NOW + 30_000);
    online.refresh_token = None;
    store.put(&online).await.unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let refresher = StubRefresher::new(Answer::Outage);
    let manager = TokenManager::new(Arc::new(store), refresher, clock.clone(), RefreshPolicy::default(), 10);
    for _ in 0..2 {
        let access = manager.access_token(&k).await.unwrap();
        assert_eq!(access.secret().expose(), "1000.at.online");
    }
    clock.advance(Duration::from_secs(31));
    let error = manager.access_token(&k).await.unwrap_err();
    assert!(matches!(error, Error::ReauthorizationRequired { .. }), "{error}");
}

/// A store whose first `get_shared` takes 50 ms and its second 200 ms: a caller whose cache
/// fill is still reading when another caller's refresh has failed.
#[derive(Debug, Default)]
struct SlowSecondRead {
    inner: MemoryStore,
    reads: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenStore for SlowSecondRead {
    async fn get(&self, key: &zohocrm::TokenKey) -> Result<Option<Token>, zohocrm::store::StoreError> {
        self.inner.get(key).await
    }
    async fn get_shared(&self, key: &zohocrm::TokenKey) -> Result<Option<Arc<Token>>, zohocrm::store::StoreError> {
        match self.reads.fetch_add(1, Ordering::SeqCst) {
            0 => tokio::time::sleep(Duration::from_millis(50)).await,
            1 => tokio::time::sleep(Duration::from_millis(200)).await,
            _ => {}
        }
        self.inner.get_shared(key).await
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

/// A caller that checked the failure memory before another caller's refresh failed, and
/// reaches the flight after it ended, must get that failure, not ask Zoho again.
#[tokio::test]
async fn a_caller_arriving_after_a_failed_flight_does_not_ask_again() {
    let refresher = StubRefresher::new(Answer::Outage);
    let (manager, _, k) = expired_connection(Arc::new(SlowSecondRead::default()), refresher.clone()).await;
    let (first, second) = tokio::join!(manager.access_token(&k), manager.access_token(&k));
    assert!(first.is_err() && second.is_err());
    assert_eq!(refresher.calls(), 1, "the late caller started a second token request");
}

/// Zoho refusing the application itself (`invalid_client`, `invalid_client_secret`) is not a
/// passing fault: asking again every 5 s, for every connection in every instance, floods Zoho
/// Accounts. It is remembered for the throttle back-off, like a data-center mismatch.
#[tokio::test]
async fn a_refused_client_is_remembered_for_the_back_off() {
    let refresher = StubRefresher::new(Answer::BadClient);
    let store = MemoryStore::new();
    let (manager, clock, k) = expired_connection(Arc::new(store.clone()), refresher.clone()).await;
    let error = manager.access_token(&k).await.unwrap_err();
    assert_eq!(error.zoho_code(), Some("invalid_client"), "{error}");
    clock.advance(Duration::from_secs(60));
    let again = manager.access_token(&k).await.unwrap_err();
    assert_eq!(again.zoho_code(), Some("invalid_client"), "{again}");
    assert_eq!(refresher.calls(), 1, "Zoho was asked again a minute later");
    clock.advance(RefreshPolicy::default().throttle_backoff);
    manager.access_token(&k).await.unwrap_err();
    assert_eq!(refresher.calls(), 2, "asked again after the back-off");
    // A reconnect stored by another instance (a new grant, perhaps of another client) ends it.
    let now = NOW + 61_000 + RefreshPolicy::default().throttle_backoff.as_millis() as i64;
    store.put(&token(&k, "1000.at.reconnected", "1000.rt.new", now + 3_600_000)).await.unwrap();
    let access = manager.access_token(&k).await.unwrap();
    assert_eq!(access.secret().expose(), "1000.at.reconnected");
    assert_eq!(refresher.calls(), 2);
}
