//! MemoryStore: the shared conformance suite, single flight, and that Debug shows no secrets.

mod store_support;

use std::sync::Arc;

use store_support::*;
use zohocrm::dc::{DataCenter, Environment};
use zohocrm::store::{MemoryStore, TokenStore};

#[tokio::test]
async fn memory_conformance() {
    let store = MemoryStore::new();
    let same = store.clone();
    conformance(&store, &same).await;
}

#[tokio::test]
async fn memory_single_flight() {
    let store = MemoryStore::new();
    single_flight(Arc::new(store.clone()), Arc::new(store)).await;
}

#[tokio::test]
async fn memory_debug_shows_no_tokens() {
    let store = MemoryStore::new();
    let k = key("ann", DataCenter::Us, Environment::Production);
    store.put(&token(&k, "1000.secret-access", "1000.secret-refresh", 1)).await.unwrap();
    let shown = format!("{store:?} {:?}", store.get(&k).await.unwrap());
    assert!(!shown.contains("secret-access") && !shown.contains("secret-refresh"), "{shown}");
    assert!(shown.contains("MemoryStore { tokens: 1 }"), "{shown}");
}

/// Mints `1000.at.<n>` on the n-th refresh, keeping everything else.
#[derive(Debug, Default)]
struct CountingRefresher(std::sync::atomic::AtomicUsize);

#[async_trait::async_trait]
impl zohocrm::refresh::Refresher for CountingRefresher {
    async fn refresh(&self, token: &zohocrm::Token) -> zohocrm::Result<zohocrm::Token> {
        let n = self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 2;
        let mut fresh = token.clone();
        fresh.access_token = Some(zohocrm::AccessToken::new(format!("1000.at.{n}")));
        fresh.created_at_ms = 999_999; // a refresher that gets this column wrong
        Ok(fresh)
    }

    async fn revoke(&self, _token: &zohocrm::Token) -> zohocrm::Result<()> {
        Ok(())
    }
}

/// The manager caches the memory store's own token (one copy between them, not two), also
/// after a refresh and a new consent, and a later write to the store leaves the copy the cache
/// handed out intact.
#[tokio::test]
async fn the_manager_shares_the_memory_stores_token() {
    use zohocrm::clock::ManualClock;
    use zohocrm::manager::{RefreshPolicy, TokenManager};

    let store = MemoryStore::new();
    let k = key("ann", DataCenter::Eu, Environment::Production);
    store.put(&token(&k, "1000.at.1", "1000.rt.1", i64::MAX / 2)).await.unwrap();
    let manager = TokenManager::new(
        Arc::new(store.clone()),
        Arc::new(CountingRefresher::default()),
        Arc::new(ManualClock::new(1_000)),
        RefreshPolicy::default(),
        10,
    );
    let same = |cached: &Arc<zohocrm::Token>, stored: &Arc<zohocrm::Token>| Arc::ptr_eq(cached, stored);

    let cached = manager.load(&k).await.unwrap();
    let stored = store.get_shared(&k).await.unwrap().unwrap();
    assert!(same(&cached, &stored), "one copy, shared by the store and the cache");
    let handed_out = manager.access_token(&k).await.unwrap();
    assert!(std::ptr::eq(handed_out.token(), &*stored));

    // A refresh (Zoho rejected the token): the cache holds what the store now holds.
    let renewed = manager.refresh_after_rejection(&k, handed_out.secret()).await.unwrap();
    assert_eq!(access(renewed.token()), "1000.at.2");
    let (cached, stored) = (manager.load(&k).await.unwrap(), store.get_shared(&k).await.unwrap().unwrap());
    assert!(same(&cached, &stored), "shared after a refresh");
    assert_eq!(cached.created_at_ms, 1_000, "the cache shows the row's first-stored time, as the store does");

    // A new consent through the manager: shared too, and returned as stored.
    let inserted = manager.insert(token(&k, "1000.at.9", "1000.rt.1", i64::MAX / 2)).await.unwrap();
    let (cached, stored) = (manager.load(&k).await.unwrap(), store.get_shared(&k).await.unwrap().unwrap());
    assert!(same(&cached, &stored), "shared after a new consent");
    assert_eq!((access(&inserted), access(&cached)), ("1000.at.9", "1000.at.9"));

    // A direct write replaces the store's handle; what was handed out stays as it was.
    store.put(&token(&k, "1000.at.3", "1000.rt.2", i64::MAX / 2)).await.unwrap();
    assert_eq!(access(handed_out.token()), "1000.at.1");
    assert_eq!(access(&cached), "1000.at.9");
    assert_eq!(access(&store.get_shared(&k).await.unwrap().unwrap()), "1000.at.3");
}
