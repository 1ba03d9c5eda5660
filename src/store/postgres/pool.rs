//! Connections of the PostgreSQL store: taking one from the pool within `pool_wait`, giving
//! back (or closing) one whose session may hold a lock, and turning driver errors into
//! [`StoreError`]s without PostgreSQL's `DETAIL` (which can quote rows, and so tokens).

use std::fmt;
use std::time::Duration;

use deadpool_postgres::Object;
use tokio_postgres::error::SqlState;

use super::{BACKEND, Inner};
use crate::store::StoreError;
use crate::store::sql::database_error;

/// Closes a connection instead of returning it to the pool (its session may hold an advisory
/// lock or an open transaction): PostgreSQL then releases both.
pub(super) fn discard(conn: Object) {
    drop(Object::take(conn));
}

/// A pooled connection whose session may hold (or be about to get) an advisory lock. Dropped
/// — by a caller that gave up, mid-statement — it is closed, not returned to the pool: a
/// `pg_advisory_lock` still waiting on the server is granted once the holder lets go, and a
/// pooled session would then keep the lock for as long as it lives. Only [`Self::release`],
/// after the lock is given back, returns it to the pool.
pub(super) struct MayHoldLock(Option<Object>);

impl MayHoldLock {
    pub(super) fn new(conn: Object) -> Self {
        Self(Some(conn))
    }

    /// The connection. Only `release` and `keep` (both by value) and `drop` empty the slot, so
    /// the error is not expected; it is typed all the same.
    pub(super) fn conn(&mut self) -> Result<&mut Object, StoreError> {
        self.0.as_mut().ok_or_else(|| {
            database_error(
                BACKEND,
                "use a locked connection",
                PgFailure("the connection was already handed back".into()),
            )
        })
    }

    /// Whether the driver already saw the connection close (or there is none).
    pub(super) fn is_closed(&self) -> bool {
        self.0.as_ref().is_none_or(|c| c.is_closed())
    }

    /// Returns the connection to the pool: its session holds no lock.
    pub(super) fn release(mut self) {
        drop(self.0.take());
    }

    /// The connection, for a holder that keeps the lock (and closes or unlocks it itself).
    pub(super) fn keep(mut self) -> Option<Object> {
        self.0.take()
    }
}

impl Drop for MayHoldLock {
    fn drop(&mut self) {
        if let Some(conn) = self.0.take() {
            discard(conn);
        }
    }
}

/// Rolls back any open transaction and drops every advisory lock of the session, then returns
/// the connection to the pool; closes it if that fails (or if the caller gives up meanwhile).
pub(super) async fn reset_or_discard(mut conn: MayHoldLock) {
    let Ok(client) = conn.conn() else { return };
    if client.batch_execute("ROLLBACK; SELECT pg_advisory_unlock_all()").await.is_ok() {
        conn.release();
    }
}

impl Inner {
    /// A pooled connection, waiting at most `pool_wait` for one to be free.
    pub(super) async fn take(&self, action: &'static str) -> Result<Object, StoreError> {
        match tokio::time::timeout(self.pool_wait, self.pool.get()).await {
            Err(_) => Err(StoreError::Busy { backend: BACKEND, action, waited: self.pool_wait }),
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(deadpool_postgres::PoolError::Backend(e))) => Err(self.connect_error(&e)),
            Ok(Err(deadpool_postgres::PoolError::Timeout(_))) => {
                Err(StoreError::Busy { backend: BACKEND, action, waited: self.pool_wait })
            }
            Ok(Err(e)) => Err(database_error(BACKEND, action, PgFailure(e.to_string()))),
        }
    }

    /// A connection failure, with TLS problems as [`StoreError::Tls`].
    fn connect_error(&self, e: &tokio_postgres::Error) -> StoreError {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        if text.contains("TLS") {
            let mode = self.ssl_mode.map_or_else(|| "the pool's".to_owned(), |m| format!("sslmode={m}"));
            let reason = if text.contains("does not support TLS") {
                format!("the server does not support TLS, and {mode} requires it")
            } else {
                format!("{text} ({mode})")
            };
            return StoreError::Tls { backend: BACKEND, reason };
        }
        pg_error("connect", e, self.lock_timeout, self.statement_timeout)
    }

    /// Maps a driver error of `action` (lock timeouts become [`StoreError::Busy`]).
    pub(super) fn err(&self, action: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        move |e| pg_error(action, &e, self.lock_timeout, self.statement_timeout)
    }
}

/// A PostgreSQL error reduced to its message and SQLSTATE (no `DETAIL`, which can quote rows).
#[derive(Debug)]
pub(super) struct PgFailure(pub(super) String);

impl fmt::Display for PgFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PgFailure {}

fn pg_error(action: &'static str, e: &tokio_postgres::Error, lock_wait: Duration, statement: Duration) -> StoreError {
    let message = match e.as_db_error() {
        Some(db) if db.code() == &SqlState::LOCK_NOT_AVAILABLE => {
            return StoreError::Busy { backend: BACKEND, action, waited: lock_wait };
        }
        Some(db) if db.code() == &SqlState::QUERY_CANCELED => {
            return StoreError::Busy { backend: BACKEND, action, waited: statement };
        }
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    database_error(BACKEND, action, PgFailure(message))
}
