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
