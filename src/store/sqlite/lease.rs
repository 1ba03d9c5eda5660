//! The SQLite refresh lease: a row in `<table>_leases` per leased key, with an owner token
//! unique to the lease (`pid:start time:random`), taken and given back in short immediate
//! transactions; plus the in-process key lock in front of it.

use std::sync::Arc;
use std::time::Duration;

use rusqlite::{OptionalExtension, params};

use super::owner::{alive, now_ms};
use super::{BACKEND, Inner, LEASE_TTL, SqliteStore, blocking, busy_or_db, key_row};
use crate::store::locks::KeyGuard;
use crate::store::sql::{Ending, Finish, LeaseRead, SqlLease, key_params, lease_lost, lease_read, still_as_leased};
use crate::store::{RefreshLease, StoreError};
use crate::token::{Token, TokenKey};

impl SqliteStore {
    /// Waits for the in-process key lock, then polls for the lease row up to the busy timeout.
    pub(super) async fn begin_lease(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        // In-process waiters queue on an async mutex; other processes (and other store
        // instances) on the lease row, polled with back-off up to the busy timeout.
        let guard = self.inner.locks.lock(key).await;
        let owner = self.inner.new_owner();
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(5);
        loop {
            let inner = Arc::clone(&self.inner);
            let (k, o) = (key.clone(), owner.clone());
            match blocking(move || inner.try_take_lease(&k, &o)).await? {
                Some((current, unreadable)) => {
                    return Ok(Box::new(Ending(Box::new(SqliteLease {
                        inner: Arc::clone(&self.inner),
                        key: key.clone(),
                        owner,
                        current,
                        saw_unreadable: unreadable.is_some(),
                        unreadable,
                        done: false,
                        guard: Some(guard),
                    }))));
                }
                None if started.elapsed() >= self.inner.busy_timeout => {
                    return Err(StoreError::Busy {
                        backend: BACKEND,
                        action: "take the refresh lease",
                        waited: started.elapsed(),
                    });
                }
                None => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(100));
                }
            }
        }
    }
}

impl Inner {
    /// A new lease owner token: `pid:start:random`, unique to one lease.
    pub(super) fn new_owner(&self) -> String {
        format!("{}:{}:{}", std::process::id(), self.process_start, crate::encoding::random_hex(16))
    }

    /// Takes the lease of `key` for `owner` unless a live holder has it; returns the token as
    /// stored now (or why its row cannot be read).
    pub(super) fn try_take_lease(&self, key: &TokenKey, owner: &str) -> Result<Option<LeaseRead>, StoreError> {
        let mut conn = self.take()?;
        let result = (|| {
            let busy = |e| busy_or_db("take the refresh lease", e, self.busy_timeout);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(busy)?;
            let now = now_ms();
            let holder: Option<(String, i64, i64)> = tx
                .prepare_cached(&self.sql.lease_get)
                .and_then(|mut st| st.query_row(key_row(key), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional())
                .map_err(busy)?;
            let held =
                holder.is_some_and(|(holder, pid, expires)| holder != owner && expires > now && alive(pid, &holder));
            if held {
                return Ok(None);
            }
            let ttl = i64::try_from(LEASE_TTL.as_millis()).unwrap_or(i64::MAX / 4);
            let (user, dc, env) = key_params(key);
            let pid = i64::from(std::process::id());
            tx.prepare_cached(&self.sql.lease_take)
                .and_then(|mut st| st.execute(params![user, dc, env, owner, pid, now + ttl]))
                .map_err(busy)?;
            let current = lease_read(self.read(&tx, key))?;
            tx.commit().map_err(busy)?;
            Ok(Some(current))
        })();
        self.give(conn);
        result
    }

    /// Does `finish` (write, delete or nothing) and gives `owner`'s lease back, in one
    /// transaction. Only `owner`'s lease row is removed: a lease that expired and was taken
    /// over belongs to its new holder. Returns whether a token row was deleted.
    ///
    /// A lease whose row is no longer `owner`'s (it expired and another holder took it over)
    /// writes or deletes only if the token row is still the one it read (`then`), and is
    /// refused with [`StoreError::LeaseLost`] otherwise: a late result cannot undo a newer
    /// consent or a disconnect.
    pub(super) fn finish_lease(
        &self,
        key: &TokenKey,
        owner: &str,
        then: Option<&Token>,
        then_unreadable: bool,
        finish: &Finish<Token>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.take()?;
        let result = (|| {
            let busy = |e| busy_or_db(finish.action(), e, self.busy_timeout);
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(busy)?;
            if !matches!(finish, Finish::Release) {
                let holder: Option<String> = tx
                    .prepare_cached(&self.sql.lease_get)
                    .and_then(|mut st| st.query_row(key_row(key), |r| r.get(0)).optional())
                    .map_err(busy)?;
                if holder.as_deref() != Some(owner) && !still_as_leased(self.read(&tx, key), then, then_unreadable)? {
                    tracing::warn!(key = %key, "an SQLite refresh lease that expired ended after another writer changed the token; nothing written");
                    return Err(lease_lost(BACKEND, key, finish));
                }
            }
            let deleted = match finish {
                Finish::Write(token) => {
                    self.write(&tx, token)?;
                    false
                }
                Finish::Delete => {
                    tx.prepare_cached(&self.sql.tokens.delete)
                        .and_then(|mut s| s.execute(key_row(key)))
                        .map_err(busy)?
                        > 0
                }
                Finish::Release => false,
            };
            let (user, dc, env) = key_params(key);
            tx.prepare_cached(&self.sql.lease_drop)
                .and_then(|mut st| st.execute(params![user, dc, env, owner]))
                .map_err(busy)?;
            tx.commit().map_err(busy)?;
            Ok(deleted)
        })();
        self.give(conn);
        result
    }
}

/// A refresh lease: its own row in the lease table (owner token unique to this lease), plus
/// the in-process key lock.
struct SqliteLease {
    inner: Arc<Inner>,
    key: TokenKey,
    owner: String,
    current: Option<Token>,
    unreadable: Option<StoreError>,
    /// Whether the row could not be read when the lease was taken (kept for the late-end fence).
    saw_unreadable: bool,
    done: bool,
    /// Released only after the lease row is gone (also on the drop path).
    guard: Option<KeyGuard>,
}

#[async_trait::async_trait]
impl SqlLease for SqliteLease {
    fn key(&self) -> &TokenKey {
        &self.key
    }

    fn current(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    fn take_unreadable(&mut self) -> Option<StoreError> {
        self.unreadable.take()
    }

    async fn finish(mut self: Box<Self>, finish: Finish<&Token>) -> Result<bool, StoreError> {
        self.done = true;
        let inner = Arc::clone(&self.inner);
        let (key, owner) = (self.key.clone(), self.owner.clone());
        // The statement runs on a blocking thread: it takes its own copy of the token.
        let finish = match finish {
            Finish::Write(token) => Finish::Write(token.clone()),
            Finish::Delete => Finish::Delete,
            Finish::Release => Finish::Release,
        };
        let (then, then_unreadable) = (self.current.take(), self.saw_unreadable);
        let result = blocking(move || inner.finish_lease(&key, &owner, then.as_ref(), then_unreadable, &finish)).await;
        drop(self); // releases the in-process lock only after the lease row is gone
        result
    }
}

impl Drop for SqliteLease {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Dropped without commit/release: give the lease back (best effort; it expires anyway).
        // The in-process lock goes with it, so the next lease of this store waits until the row
        // is gone; and only this lease's own row is removed.
        let (inner, key, owner, guard) =
            (Arc::clone(&self.inner), self.key.clone(), self.owner.clone(), self.guard.take());
        let give_back = move || {
            if let Err(e) = inner.finish_lease(&key, &owner, None, false, &Finish::Release) {
                tracing::debug!(error = %e, "could not give back a dropped SQLite refresh lease; it will expire");
            }
            drop(guard);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => drop(handle.spawn_blocking(give_back)),
            Err(_) => give_back(),
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    use super::*;
    use crate::dc::{DataCenter, Environment};

    /// A dropped lease gives its row back on the blocking pool, after the in-process lock is
    /// free: by then the next lease of the same store may hold the row. The late give-back must
    /// not remove it.
    #[tokio::test]
    async fn a_late_give_back_never_removes_the_next_holders_lease() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let store = SqliteStore::open(&path).await.unwrap();
        let inner = &store.inner;
        let k = TokenKey::new("ann", DataCenter::Us, Environment::Production);
        let (first, second) = (inner.new_owner(), inner.new_owner());
        assert!(inner.try_take_lease(&k, &first).unwrap().is_some(), "lease 1");
        let conn = Connection::open(&path).unwrap();
        // Lease 1 outlived its expiry: lease 2 takes the row over.
        conn.execute("UPDATE zohocrm_tokens_leases SET expires_at_ms = 1", []).unwrap();
        assert!(inner.try_take_lease(&k, &second).unwrap().is_some(), "lease 2");
        inner.finish_lease(&k, &first, None, false, &Finish::Release).unwrap(); // lease 1's late give-back
        let held: i64 = conn.query_row("SELECT count(*) FROM zohocrm_tokens_leases", [], |r| r.get(0)).unwrap();
        assert_eq!(held, 1, "lease 1's give-back removed lease 2's row");
    }

    /// A lease taken over an unreadable row (a new consent replacing it) that outlives its
    /// expiry still writes late if the row is unreadable as before; one that saw no row does
    /// not write over a row that appeared meanwhile, readable or not.
    #[tokio::test]
    async fn a_late_commit_over_a_row_still_unreadable_writes() {
        use crate::store::TokenStore;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let store = SqliteStore::open(&path).await.unwrap();
        let inner = &store.inner;
        let k = TokenKey::new("ann", DataCenter::Us, Environment::Production);
        let token = Token {
            key: k.clone(),
            access_token: Some(crate::AccessToken::new("1000.a")),
            refresh_token: Some(crate::RefreshToken::new("1000.r")),
            expires_at_ms: 9_000_000,
            api_domain: "https://www.zohoapis.com".into(),
            accounts_server: "https://accounts.zoho.com".into(),
            scopes: vec!["ZohoCRM.modules.ALL".into()],
            created_at_ms: 1,
            updated_at_ms: 1,
        };
        store.put(&token).await.unwrap();
        let conn = Connection::open(&path).unwrap();
        conn.execute("UPDATE zohocrm_tokens SET scopes = 'not json'", []).unwrap();
        let (first, second) = (inner.new_owner(), inner.new_owner());
        let (current, unreadable) = inner.try_take_lease(&k, &first).unwrap().expect("lease 1");
        assert!(current.is_none() && unreadable.is_some_and(|e| e.is_unreadable_row()));
        // Lease 1 expires; lease 2 comes and goes without writing.
        conn.execute("UPDATE zohocrm_tokens_leases SET expires_at_ms = 1", []).unwrap();
        assert!(inner.try_take_lease(&k, &second).unwrap().is_some(), "lease 2");
        inner.finish_lease(&k, &second, None, false, &Finish::Release).unwrap();
        // A lease that saw no row is refused over the unreadable one.
        let refused = inner.finish_lease(&k, &first, None, false, &Finish::Write(token.clone())).unwrap_err();
        assert!(matches!(refused, StoreError::LeaseLost { .. }), "{refused:?}");
        // Lease 1 saw it unreadable, and it still is: the late commit replaces it.
        inner.finish_lease(&k, &first, None, true, &Finish::Write(token.clone())).unwrap();
        assert_eq!(store.get(&k).await.unwrap().unwrap().scopes, token.scopes);
    }
}
