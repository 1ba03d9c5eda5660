//! [`MemoryStore`]: tokens in process memory, for tests and short-lived tools; leases are
//! per-key async mutexes (single flight within the process only). Tokens are kept behind an
//! `Arc` and shared with the manager's cache ([`TokenStore::get_shared`]).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use super::locks::{KeyGuard, KeyLocks, check_lease_key};
use super::{RefreshLease, StoreError, TokenStore};
use crate::token::{Token, TokenKey};

/// A store in process memory, for tests and short-lived tools. Clones share the same tokens.
///
/// Leases are per-key async mutexes, so refreshes are single-flight within the process.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    rows: Mutex<BTreeMap<TokenKey, Arc<Token>>>,
    locks: KeyLocks,
}

impl MemoryInner {
    fn rows(&self) -> MutexGuard<'_, BTreeMap<TokenKey, Arc<Token>>> {
        self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores `token` (keeping the first `created_at_ms` of an existing row); returns the
    /// stored handle.
    fn upsert(&self, token: Token) -> Arc<Token> {
        let mut rows = self.rows();
        let mut stored = token;
        if let Some(old) = rows.get(&stored.key) {
            stored.created_at_ms = old.created_at_ms;
        }
        let stored = Arc::new(stored);
        rows.insert(stored.key.clone(), Arc::clone(&stored));
        stored
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore").field("tokens", &self.inner.rows().len()).finish()
    }
}

#[async_trait::async_trait]
impl TokenStore for MemoryStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        Ok(self.inner.rows().get(key).map(|token| Token::clone(token)))
    }

    async fn get_shared(&self, key: &TokenKey) -> Result<Option<Arc<Token>>, StoreError> {
        Ok(self.inner.rows().get(key).cloned())
    }

    async fn put(&self, token: &Token) -> Result<(), StoreError> {
        self.inner.upsert(token.clone());
        Ok(())
    }

    async fn delete(&self, key: &TokenKey) -> Result<bool, StoreError> {
        Ok(self.inner.rows().remove(key).is_some())
    }

    async fn list(&self) -> Result<Vec<TokenKey>, StoreError> {
        Ok(self.inner.rows().keys().cloned().collect())
    }

    async fn begin_refresh(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        let guard = self.inner.locks.lock(key).await;
        let current = self.inner.rows().get(key).cloned();
        Ok(Box::new(MemoryLease { inner: Arc::clone(&self.inner), key: key.clone(), current, _guard: guard }))
    }
}

struct MemoryLease {
    inner: Arc<MemoryInner>,
    key: TokenKey,
    /// The stored token's handle (no copy of its secrets).
    current: Option<Arc<Token>>,
    _guard: KeyGuard,
}

#[async_trait::async_trait]
impl RefreshLease for MemoryLease {
    fn current(&self) -> Option<&Token> {
        self.current.as_deref()
    }

    async fn commit(self: Box<Self>, token: &Token) -> Result<(), StoreError> {
        check_lease_key(&self.key, token)?;
        self.inner.upsert(token.clone());
        Ok(())
    }

    async fn commit_shared(self: Box<Self>, token: Token) -> Result<Arc<Token>, StoreError> {
        check_lease_key(&self.key, &token)?;
        Ok(self.inner.upsert(token))
    }

    async fn delete(self: Box<Self>) -> Result<bool, StoreError> {
        Ok(self.inner.rows().remove(&self.key).is_some())
    }

    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}
