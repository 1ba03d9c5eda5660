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

/// Rolls back any open transaction and drops every advisory lock of the session, then returns
/// the connection to the pool; closes it if that fails.
pub(super) async fn reset_or_discard(conn: Object) {
    match conn.batch_execute("ROLLBACK; SELECT pg_advisory_unlock_all()").await {
        Ok(()) => drop(conn),
        Err(_) => discard(conn),
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
        pg_error("connect", e, self.lock_timeout)
    }

    /// Maps a driver error of `action` (lock timeouts become [`StoreError::Busy`]).
    pub(super) fn err(&self, action: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        move |e| pg_error(action, &e, self.lock_timeout)
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

fn pg_error(action: &'static str, e: &tokio_postgres::Error, waited: Duration) -> StoreError {
    let message = match e.as_db_error() {
        Some(db) if db.code() == &SqlState::LOCK_NOT_AVAILABLE => {
            return StoreError::Busy { backend: BACKEND, action, waited };
        }
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    };
    database_error(BACKEND, action, PgFailure(message))
}
