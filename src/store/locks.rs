//! In-process lease plumbing shared by every store: per-key async locks ([`KeyLocks`]) that
//! queue a process's own refreshes in front of any cross-process lock, and the check that a
//! lease commits its own key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::StoreError;
use crate::token::{Token, TokenKey};

/// [`StoreError::KeyMismatch`] unless `token` is for the lease's key.
pub(crate) fn check_lease_key(lease: &TokenKey, token: &Token) -> Result<(), StoreError> {
    if &token.key == lease {
        Ok(())
    } else {
        Err(StoreError::KeyMismatch { lease: lease.to_string(), token: token.key.to_string() })
    }
}

type LockMap = Arc<Mutex<HashMap<TokenKey, Arc<tokio::sync::Mutex<()>>>>>;

/// Per-key async locks: in-process single flight, in front of any cross-process lock.
#[derive(Default)]
pub(crate) struct KeyLocks {
    map: LockMap,
}

impl KeyLocks {
    /// Waits for and takes the lock of `key`.
    pub(crate) async fn lock(&self, key: &TokenKey) -> KeyGuard {
        let mutex = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(map.entry(key.clone()).or_default())
        };
        let guard = mutex.lock_owned().await;
        KeyGuard { guard: Some(guard), map: Arc::clone(&self.map), key: key.clone() }
    }
}

/// Holds one key's in-process lock; removes the map entry when nobody else wants it.
pub(crate) struct KeyGuard {
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
    map: LockMap,
    key: TokenKey,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        drop(self.guard.take());
        if map.get(&self.key).is_some_and(|m| Arc::strong_count(m) == 1) {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dc::{DataCenter, Environment};

    #[tokio::test]
    async fn key_locks_clean_up() {
        let locks = KeyLocks::default();
        let k = TokenKey::new("u", DataCenter::Eu, Environment::Sandbox);
        let g = locks.lock(&k).await;
        assert_eq!(locks.map.lock().unwrap().len(), 1);
        drop(g);
        assert_eq!(locks.map.lock().unwrap().len(), 0);
    }
}
