//! The PostgreSQL refresh lease: a pooled connection holding the key's session-level advisory
//! lock outside any transaction, a watchdog that hands it back after `lease_max_hold`, and
//! commits that fall back to a fresh connection when the lease's session is gone.

use std::sync::Arc;

use deadpool_postgres::{GenericClient, Object};

use super::pool::{MayHoldLock, discard, reset_or_discard};
use super::{BACKEND, Inner, PostgresStore};
use crate::store::locks::KeyGuard;
use crate::store::sql::{Ending, Finish, LeaseRead, SqlLease, lease_lost, lease_read, still_as_leased};
use crate::store::{RefreshLease, StoreError};
use crate::token::{Token, TokenKey};

impl Inner {
    fn lock_id(&self, key: &TokenKey) -> i64 {
        lock_id(&["zohocrm-refresh", &self.schema, &self.table, &key.user, key.dc.location(), key.environment.as_str()])
    }

    /// Lets the statements of `tx` wait up to `lock_timeout` for a lock (another instance's
    /// lease), beyond the sessions' `statement_timeout`.
    async fn bound_lock_wait(&self, tx: &impl GenericClient, action: &'static str) -> Result<(), StoreError> {
        let lock_wait = self.lock_timeout.as_millis().max(1);
        let statement = lock_wait.saturating_add(self.statement_timeout.as_millis());
        let (lock_wait, statement) = (format!("{lock_wait}ms"), format!("{statement}ms"));
        tx.execute(
            "SELECT set_config('lock_timeout', $1, true), set_config('statement_timeout', $2, true)",
            &[&lock_wait, &statement],
        )
        .await
        .map(drop)
        .map_err(self.err(action))
    }

    /// Takes the key's session-level advisory lock (waiting at most `lock_timeout`) and reads
    /// the row, in one short transaction; the session is outside any transaction afterwards.
    async fn lock_and_read(&self, conn: &mut Object, key: &TokenKey) -> Result<LeaseRead, StoreError> {
        let err = self.err("take the refresh lock");
        let tx = conn.transaction().await.map_err(&err)?;
        self.bound_lock_wait(&tx, "take the refresh lock").await?;
        tx.execute("SELECT pg_advisory_lock($1)", &[&self.lock_id(key)]).await.map_err(&err)?;
        let current = lease_read(self.read(&tx, key).await)?;
        tx.commit().await.map_err(&err)?;
        Ok(current)
    }

    /// Gives back the key's session lock and returns the connection to the pool; a connection
    /// whose unlock fails, or is abandoned mid-way, is closed instead (PostgreSQL then
    /// releases the lock).
    pub(super) async fn unlock(&self, mut conn: MayHoldLock, key: &TokenKey) {
        let Ok(client) = conn.conn() else { return };
        match client.query_one("SELECT pg_advisory_unlock($1)", &[&self.lock_id(key)]).await.map(|r| r.try_get(0)) {
            Ok(Ok(true)) => conn.release(),
            // The session does not hold the lock it took: the statements ran on different server
            // sessions (a pooler in transaction mode, such as PgBouncer's `pool_mode =
            // transaction`), which leaves the lock on whichever session took it.
            Ok(Ok(false)) => tracing::warn!(
                "a PostgreSQL refresh lock was not held by the session that took it: the store needs session-level connections (direct, or a pooler in session mode); closing the connection"
            ),
            Ok(Err(e)) | Err(e) => {
                tracing::debug!(error = %e, "could not release a PostgreSQL refresh lock; closing its connection");
            }
        }
    }
}

impl PostgresStore {
    /// Takes the in-process key lock, then the key's session advisory lock on a pooled
    /// connection, and starts the `lease_max_hold` watchdog.
    pub(super) async fn begin_lease(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        let guard = self.inner.locks.lock(key).await;
        // Closed, not pooled, if this future is dropped while the lock is being taken.
        let mut conn = MayHoldLock::new(self.inner.take("take the refresh lock").await?);
        let (current, unreadable) = match self.inner.lock_and_read(conn.conn()?, key).await {
            Ok(current) => current,
            Err(e) => {
                // The session may hold the lock (a session lock survives a rollback).
                reset_or_discard(conn).await;
                return Err(e);
            }
        };
        let slot = Arc::new(tokio::sync::Mutex::new(conn.keep()));
        let watchdog = {
            let (inner, slot, key) = (Arc::clone(&self.inner), Arc::clone(&slot), key.clone());
            tokio::spawn(async move {
                tokio::time::sleep(inner.lease_max_hold).await;
                let held = slot.lock().await.take();
                if let Some(conn) = held {
                    tracing::warn!(
                        key = %key,
                        max_hold = ?inner.lease_max_hold,
                        "PostgreSQL refresh lease held past lease_max_hold; its lock and connection are handed back (a later commit writes only if nobody changed the token meanwhile)"
                    );
                    inner.unlock(MayHoldLock::new(conn), &key).await;
                }
            })
        };
        Ok(Box::new(Ending(Box::new(PgLease {
            inner: Arc::clone(&self.inner),
            key: key.clone(),
            current,
            saw_unreadable: unreadable.is_some(),
            unreadable,
            slot,
            watchdog: Some(watchdog),
            guard: Some(guard),
        }))))
    }
}

/// A refresh lease: a pooled connection holding the key's session advisory lock (until the
/// watchdog hands it back after `lease_max_hold`), plus the in-process key lock.
struct PgLease {
    inner: Arc<Inner>,
    key: TokenKey,
    current: Option<Token>,
    unreadable: Option<StoreError>,
    /// Whether the row could not be read when the lease was taken (kept for the late-end fence).
    saw_unreadable: bool,
    /// The lease's connection; `None` once handed back.
    slot: Arc<tokio::sync::Mutex<Option<Object>>>,
    watchdog: Option<tokio::task::JoinHandle<()>>,
    guard: Option<KeyGuard>,
}

#[async_trait::async_trait]
impl SqlLease for PgLease {
    fn key(&self) -> &TokenKey {
        &self.key
    }

    fn current(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    fn take_unreadable(&mut self) -> Option<StoreError> {
        self.unreadable.take()
    }

    /// Runs `finish` as one atomic statement, on the lease's connection if its session is
    /// alive, else on a fresh pooled connection, then releases the lock.
    async fn finish(mut self: Box<Self>, finish: Finish<&Token>) -> Result<bool, StoreError> {
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.abort();
        }
        let inner = Arc::clone(&self.inner);
        // Closed, not pooled, if this future is dropped before the lock is given back.
        let held = self.slot.lock().await.take().map(MayHoldLock::new);
        let result = match held {
            Some(mut conn) if !conn.is_closed() => {
                let (result, ended) = match conn.conn() {
                    Ok(client) => {
                        let result = run(&inner, client, &self.key, &finish).await;
                        let ended = result.is_err() && session_ended(client).await;
                        (result, ended)
                    }
                    Err(e) => (Err(e), true),
                };
                if ended {
                    // The session died under the statement; PostgreSQL rolled it back.
                    drop(conn);
                    fresh(&inner, &self.key, self.current.as_ref(), self.saw_unreadable, &finish).await
                } else {
                    inner.unlock(conn, &self.key).await;
                    result
                }
            }
            Some(dead) => {
                drop(dead);
                fresh(&inner, &self.key, self.current.as_ref(), self.saw_unreadable, &finish).await
            }
            None => fresh(&inner, &self.key, self.current.as_ref(), self.saw_unreadable, &finish).await,
        };
        drop(self.guard.take());
        result
    }
}

async fn run(
    inner: &Inner,
    client: &impl GenericClient,
    key: &TokenKey,
    finish: &Finish<&Token>,
) -> Result<bool, StoreError> {
    match finish {
        Finish::Write(token) => inner.write(client, token).await.map(|()| false),
        Finish::Delete => inner.remove(client, key).await,
        Finish::Release => Ok(false),
    }
}

/// The lease's session is gone (and with it the lock): end the lease on another connection,
/// under the key's lock again, and only if nobody changed the row since the lease read it
/// ([`StoreError::LeaseLost`] otherwise).
async fn fresh(
    inner: &Inner,
    key: &TokenKey,
    then: Option<&Token>,
    then_unreadable: bool,
    finish: &Finish<&Token>,
) -> Result<bool, StoreError> {
    if matches!(finish, Finish::Release) {
        return Ok(false);
    }
    tracing::debug!(key = %key, "PostgreSQL refresh lease's lock is gone; ending it on a fresh connection");
    // Whatever ended the lease's session (a failover, an admin) may have ended idle pooled
    // sessions too, and the pool notices only when one is used: try the next one.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut conn = inner.take(finish.action()).await?;
        let result = fenced(inner, &mut conn, key, then, then_unreadable, finish).await;
        if result.is_err() && attempt < 4 && session_ended(&conn).await {
            tracing::debug!(key = %key, attempt, "pooled PostgreSQL session was closed; trying another");
            discard(conn);
            continue;
        }
        return result;
    }
}

/// `finish` in one transaction holding the key's lock (as a transaction lock, waiting at most
/// `lock_timeout` for a lease holder), if the row is still the one the lease read.
async fn fenced(
    inner: &Inner,
    conn: &mut Object,
    key: &TokenKey,
    then: Option<&Token>,
    then_unreadable: bool,
    finish: &Finish<&Token>,
) -> Result<bool, StoreError> {
    let err = inner.err(finish.action());
    let tx = conn.transaction().await.map_err(&err)?;
    inner.bound_lock_wait(&tx, finish.action()).await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&inner.lock_id(key)]).await.map_err(&err)?;
    if !still_as_leased(inner.read(&tx, key).await, then, then_unreadable)? {
        tracing::warn!(key = %key, "a PostgreSQL refresh lease that lost its lock ended after another writer changed the token; nothing written");
        return Err(lease_lost(BACKEND, key, finish));
    }
    let result = run(inner, &tx, key, finish).await?;
    tx.commit().await.map_err(&err)?;
    Ok(result)
}

impl Drop for PgLease {
    fn drop(&mut self) {
        // Dropped without commit/release: unlock on the runtime if there is one (the in-process
        // lock goes with it); otherwise close the connection, and PostgreSQL releases the lock.
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.abort();
        }
        let Ok(mut slot) = self.slot.try_lock() else { return };
        let Some(conn) = slot.take() else { return };
        let guard = self.guard.take();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let (inner, key) = (Arc::clone(&self.inner), self.key.clone());
                runtime.spawn(async move {
                    inner.unlock(MayHoldLock::new(conn), &key).await;
                    drop(guard);
                });
            }
            Err(_) => discard(conn),
        }
    }
}

/// Whether `conn`'s session is gone, after a statement on it failed. The driver marks the
/// connection closed only once its background task has seen the socket close, which can be
/// after the statement's error (a `pg_terminate_backend` answers with an error first): a
/// failing round trip settles it.
async fn session_ended(conn: &Object) -> bool {
    conn.is_closed() || conn.batch_execute("SELECT 1").await.is_err()
}

/// A stable 64-bit FNV-1a hash of NUL-separated `parts`, as an advisory lock id.
pub(super) fn lock_id(parts: &[&str]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_are_stable() {
        // Fixed values (computed independently with Python): every process and crate version
        // must agree on them.
        assert_eq!(lock_id(&[]), i64::from_ne_bytes(0xcbf2_9ce4_8422_2325u64.to_ne_bytes()));
        assert_eq!(lock_id(&["a"]), lock_id(&["a"]));
        assert_ne!(lock_id(&["ab", "c"]), lock_id(&["a", "bc"]));
        assert_eq!(lock_id(&["zohocrm-refresh", "s", "t", "u", "us", "production"]), -8_484_440_075_039_279_838);
    }
}
