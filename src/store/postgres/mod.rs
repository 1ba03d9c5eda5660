//! The PostgreSQL token store for fleets of application instances sharing tokens, with
//! cross-process single-flight refresh (feature `postgres`).
//!
//! * The table lives in a caller-chosen schema (created if missing); schema versions are kept
//!   in `{schema}.zohocrm_schema`, and migrations run under an advisory lock so instances
//!   starting together do not race.
//! * Connections come from a [`deadpool_postgres`] pool: one the store builds from a
//!   connection string ([`PostgresStore::connect_with`]) or the application's own
//!   ([`PostgresStore::from_pool`]). Waiting for a connection is bounded by
//!   [`PostgresOptions::pool_wait`], and waiting for another instance's refresh by
//!   [`PostgresOptions::lock_timeout`]; both end in [`StoreError::Busy`].
//! * TLS goes through rustls with the *ring* provider, with libpq's `sslmode` semantics
//!   ([`SslMode`], also read from the connection string): `disable`, `prefer` (the default),
//!   `require` and `verify-full`. As in libpq, `prefer` and `require` encrypt but do not
//!   authenticate the server (they stop a passive eavesdropper, not an active one) — unless
//!   [`PostgresOptions::root_certificates`] is set, then `require` verifies the chain
//!   (libpq's `verify-ca`). `verify-full` verifies chain and host name against the roots
//!   (webpki-roots by default). The table holds refresh tokens: use `verify-full` across any
//!   network you do not control.
//! * `get`, `put`, `delete` and `list` are single statements with cached prepared statements.
//! * Error messages keep PostgreSQL's message and SQLSTATE but drop its `DETAIL`, which can
//!   quote whole rows (and so tokens).
//!
//! # The refresh lease
//!
//! A lease is a pooled connection holding the *session-level* advisory lock
//! `pg_advisory_lock(id)`, where `id` is a stable 64-bit FNV-1a hash of (schema, table, user,
//! dc, environment) – the same in every process and every version of this crate (older
//! versions take the same id with `pg_advisory_xact_lock`; the two kinds conflict, so mixed
//! fleets stay single-flight during a rolling upgrade). The lock is taken, and the row read,
//! in one short transaction with `SET LOCAL lock_timeout`; the session then sits **outside any
//! transaction** while the caller talks to Zoho. That is what makes it survive a server's
//! `idle_in_transaction_session_timeout` (which kills sessions idling *in* a transaction, and
//! with them a transaction-scoped lock and the token written in it).
//!
//! A session-level lock needs session-level connections: connect directly, or through a
//! pooler in session mode. Behind a pooler in transaction mode (PgBouncer's `pool_mode =
//! transaction`) the lock and its unlock can land on different server sessions; the store
//! notices (the unlock reports no lock held), logs a warning and closes its connection, but
//! the lock stays with the pooler's server session and single flight is not guaranteed.
//!
//! Commit and delete are one atomic statement each (an upsert, a delete), run on the lease's
//! connection and followed by `pg_advisory_unlock`. If the lease's session is gone by then
//! (the server or a proxy ended it, the network dropped it, or the lease outlived
//! [`PostgresOptions::lease_max_hold`]), the statement runs on a fresh pooled connection
//! instead, in a transaction that takes the key's lock again (`pg_advisory_xact_lock`): **a
//! minted token is never lost** because of the lease's connection. Single flight holds as
//! long as the lease's session lives; when it dies PostgreSQL releases the lock, and another
//! instance may refresh, reconnect or disconnect the user meanwhile. So the late statement
//! runs only if the row still holds the grant the lease read (the same refresh token: a
//! refresh of it meanwhile does not count); otherwise it is refused with
//! [`StoreError::LeaseLost`] and writes nothing: a late result of the old grant never
//! overwrites a newer consent, and never deletes it. (The token manager then uses the stored
//! token.)
//!
//! `lease_max_hold` (default 30 s) bounds how long a lease keeps its pooled connection: the
//! OAuth token call is bounded by the client's token timeout (default 20 s), so a lease that
//! is still open after that is abandoned work, and its connection and lock are handed back by
//! a watchdog. Keep `lease_max_hold` above the token timeout plus a margin; a lower value only
//! weakens single flight (the commit still lands unless the token changed meanwhile). A
//! holder that dies outright loses its connection, and PostgreSQL releases the lock at once.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zohocrm::store::StoreError> {
//! use std::time::Duration;
//! use zohocrm::store::{PostgresOptions, PostgresStore, SslMode};
//! let options = PostgresOptions {
//!     ssl_mode: Some(SslMode::VerifyFull),
//!     pool_wait: Duration::from_secs(5),
//!     ..PostgresOptions::default()
//! };
//! let store =
//!     PostgresStore::connect_with("host=db.internal user=app dbname=app", "zohocrm", options).await?;
//! # let _ = store; Ok(()) }
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::{Config, Row};

use super::locks::KeyLocks;
use super::sql::row::{Cipher, RowSource};
use super::sql::{POSTGRES, Statements, database_error, dbstore, parse_key, validate_identifier};
use super::{RefreshLease, StoreError, TokenStore, ZohoTokenRow};
use crate::token::{Token, TokenKey};

mod lease;
mod pool;
mod queries;
mod tls;

use pool::{MayHoldLock, PgFailure, reset_or_discard};
pub use tls::SslMode;
use tls::{split_ssl_mode, tls_connector};

const BACKEND: &str = POSTGRES.backend;

/// How to open a [`PostgresStore`].
#[derive(Clone)]
pub struct PostgresOptions {
    /// The token table's name (default `zohocrm_tokens`); must be a plain identifier.
    pub table: String,
    /// Seal the token columns with this key (feature `encryption`).
    #[cfg(feature = "encryption")]
    pub cipher: Option<super::TokenCipher>,
    /// How long `begin_refresh` waits for another instance's refresh before
    /// [`StoreError::Busy`]. Default 30 s.
    pub lock_timeout: Duration,
    /// How long any call waits for a free pooled connection before [`StoreError::Busy`].
    /// Default 10 s.
    pub pool_wait: Duration,
    /// Connections in the pool the store builds (leases hold one each). Default 10. Ignored by
    /// [`PostgresStore::from_pool`].
    pub max_connections: usize,
    /// TLS mode; `None` takes `sslmode` from the connection string, else [`SslMode::Prefer`].
    /// A value here overrides the connection string's.
    pub ssl_mode: Option<SslMode>,
    /// Trust anchors for the server certificate; `None` uses the Mozilla roots of
    /// `webpki-roots`. Put a private CA here.
    pub root_certificates: Option<Arc<rustls::RootCertStore>>,
    /// Connect timeout when the connection string sets none (`connect_timeout`). Default 10 s.
    pub connect_timeout: Duration,
    /// The longest a refresh lease keeps its pooled connection and lock (see the module docs);
    /// keep it above the OAuth token timeout (default 20 s). Default 30 s.
    pub lease_max_hold: Duration,
    /// The longest one statement of the store may run before the server cancels it and the
    /// call ends in [`StoreError::Busy`]: a table locked by a migration or an admin's
    /// transaction, or an overloaded server, then fails calls instead of hanging them (and
    /// every caller waiting for the same connection's refresh). Set on the sessions of the
    /// store's own pool unless the connection string sets `statement_timeout` (in `options`);
    /// with [`PostgresStore::from_pool`], configure it on your pool. Waiting for another
    /// instance's refresh lease is bounded by `lock_timeout` instead. Default 10 s.
    pub statement_timeout: Duration,
    /// How long the network may stay silent before a session of the store's own pool is
    /// treated as dead: data sent but not acknowledged (`TCP_USER_TIMEOUT`, Linux) and an
    /// idle session's TCP keepalives (first probe after this, then every third of it). A
    /// server gone without a word (failover, a dropped route) then fails the call within
    /// about this long, instead of after the kernel's ~15 minutes of retransmissions or the
    /// 2 hours of default keepalive. Applies where the connection string sets no
    /// `tcp_user_timeout` or `keepalives_idle`; ignored by [`PostgresStore::from_pool`].
    /// Default 30 s.
    pub dead_peer_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            table: "zohocrm_tokens".to_owned(),
            #[cfg(feature = "encryption")]
            cipher: None,
            lock_timeout: Duration::from_secs(30),
            pool_wait: Duration::from_secs(10),
            max_connections: 10,
            ssl_mode: None,
            root_certificates: None,
            connect_timeout: Duration::from_secs(10),
            lease_max_hold: Duration::from_secs(30),
            statement_timeout: Duration::from_secs(10),
            dead_peer_timeout: Duration::from_secs(30),
        }
    }
}

impl fmt::Debug for PostgresOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PostgresOptions");
        d.field("table", &self.table);
        #[cfg(feature = "encryption")]
        d.field("encrypted", &self.cipher.is_some());
        d.field("lock_timeout", &self.lock_timeout)
            .field("pool_wait", &self.pool_wait)
            .field("max_connections", &self.max_connections)
            .field("ssl_mode", &self.ssl_mode)
            .field("custom_roots", &self.root_certificates.as_ref().map(|r| r.len()))
            .field("connect_timeout", &self.connect_timeout)
            .field("lease_max_hold", &self.lease_max_hold)
            .field("statement_timeout", &self.statement_timeout)
            .field("dead_peer_timeout", &self.dead_peer_timeout)
            .finish()
    }
}

/// Bounds how long a session waits on a silent network ([`PostgresOptions::dead_peer_timeout`]),
/// keeping what the connection string set.
fn detect_dead_peers(config: &mut Config, limit: Duration) {
    /// libpq's and tokio-postgres' default, i.e. "not set".
    const DEFAULT_KEEPALIVE_IDLE: Duration = Duration::from_secs(2 * 60 * 60);
    let limit = limit.max(Duration::from_secs(1));
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(limit);
    }
    if config.get_keepalives() && config.get_keepalives_idle() == DEFAULT_KEEPALIVE_IDLE {
        config.keepalives_idle(limit);
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval((limit / 3).max(Duration::from_secs(1)));
        }
    }
}

/// The PostgreSQL token store. Clones share the connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), zohocrm::store::StoreError> {
/// use zohocrm::store::{PostgresStore, TokenStore};
/// let store = PostgresStore::connect("host=127.0.0.1 user=app dbname=app sslmode=disable", "zohocrm").await?;
/// let keys = store.list().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    schema: String,
    table: String,
    cipher: Option<Cipher>,
    lock_timeout: Duration,
    /// `PostgresOptions::statement_timeout`, for `Busy` errors of cancelled statements.
    statement_timeout: Duration,
    pool_wait: Duration,
    lease_max_hold: Duration,
    /// The TLS mode in force (`None` for a caller's pool).
    ssl_mode: Option<SslMode>,
    locks: KeyLocks,
    sql: Statements,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection string may hold a password: never kept, never shown.
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .field("table", &self.inner.table)
            .field("encrypted", &self.inner.cipher.is_some())
            .field("ssl_mode", &self.inner.ssl_mode)
            .finish()
    }
}

impl PostgresStore {
    /// Connects with a libpq-style connection string (`host=… user=… dbname=… sslmode=…` or
    /// `postgresql://…?sslmode=…`) and keeps the tokens in `schema` (created if missing).
    pub async fn connect(conn_str: &str, schema: &str) -> Result<Self, StoreError> {
        Self::connect_with(conn_str, schema, PostgresOptions::default()).await
    }

    /// Like [`Self::connect`], with options. The store builds its own pool
    /// (`max_connections`, TLS per [`PostgresOptions::ssl_mode`]).
    pub async fn connect_with(conn_str: &str, schema: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let (from_string, rest) = split_ssl_mode(conn_str)?;
        let mode = options.ssl_mode.or(from_string).unwrap_or(SslMode::Prefer);
        let mut config = Config::from_str(&rest)
            .map_err(|e| database_error(BACKEND, "parse the connection string", PgFailure(e.to_string())))?;
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        detect_dead_peers(&mut config, options.dead_peer_timeout);
        let session_options = config.get_options().unwrap_or_default();
        if !session_options.contains("statement_timeout") {
            let limit = options.statement_timeout.as_millis().max(1);
            config.options(format!("{session_options} -c statement_timeout={limit}").trim_start());
        }
        let tls = tls_connector(mode, options.root_certificates.clone())?;
        // Verified: a pooled session is checked with a round trip before use, so one ended by the
        // server (failover, admin, idle timeout) is replaced instead of failing the next call.
        let manager = Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Verified });
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| database_error(BACKEND, "build the connection pool", PgFailure(e.to_string())))?;
        Self::open(pool, schema, options, Some(mode)).await
    }

    /// Uses the application's own [`deadpool_postgres::Pool`] (its size, TLS and recycling
    /// apply; `max_connections`, `ssl_mode`, `root_certificates` and `connect_timeout` of
    /// `options` are ignored). Connections go back to that pool with no advisory lock held.
    pub async fn from_pool(pool: Pool, schema: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        Self::open(pool, schema, options, None).await
    }

    async fn open(
        pool: Pool,
        schema: &str,
        options: PostgresOptions,
        ssl_mode: Option<SslMode>,
    ) -> Result<Self, StoreError> {
        validate_identifier("schema", schema)?;
        validate_identifier("table", &options.table)?;
        let sql = Statements::new(&POSTGRES, &format!("\"{schema}\".\"{}\"", options.table));
        #[cfg(feature = "encryption")]
        let cipher = options.cipher;
        #[cfg(not(feature = "encryption"))]
        let cipher = None;
        let inner = Arc::new(Inner {
            pool,
            schema: schema.to_owned(),
            table: options.table,
            cipher,
            lock_timeout: options.lock_timeout,
            statement_timeout: options.statement_timeout,
            pool_wait: options.pool_wait,
            lease_max_hold: options.lease_max_hold,
            ssl_mode,
            locks: KeyLocks::default(),
            sql,
        });
        let mut conn = MayHoldLock::new(inner.take("connect").await?);
        let migrated = match conn.conn() {
            Ok(client) => inner.migrate(client).await,
            Err(e) => Err(e),
        };
        if migrated.is_err() {
            // Awaited, so the transaction's locks are gone before the error is returned.
            reset_or_discard(conn).await;
        } else {
            conn.release();
        }
        migrated?;
        Ok(Self { inner })
    }

    /// The schema holding the token table.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// The TLS mode of the store's own pool (`None` for [`Self::from_pool`]).
    pub fn ssl_mode(&self) -> Option<SslMode> {
        self.inner.ssl_mode
    }

    /// Reads a Zoho SDK DBStore table (`oauthtoken` layout of SDK 2.1 or 8.0) from
    /// `schema.table` on this store's database, for [`super::import_zoho_rows`].
    pub async fn read_zoho_dbstore(&self, schema: &str, table: &str) -> Result<Vec<ZohoTokenRow>, StoreError> {
        validate_identifier("schema", schema)?;
        validate_identifier("table", table)?;
        let action = "read the Zoho DBStore table";
        let err = self.inner.err(action);
        let client = self.inner.take(action).await?;
        let present: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                &[&schema, &table],
            )
            .await
            .map_err(&err)?
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<_, _>>()
            .map_err(&err)?;
        if present.is_empty() {
            return Err(StoreError::Import {
                line: 0,
                reason: format!("table {schema}.{table} does not exist or has no columns"),
            });
        }
        let select = dbstore::select_list(&present, |c| format!("\"{c}\"::text"))?;
        let rows = client.query(&format!("SELECT {select} FROM \"{schema}\".\"{table}\""), &[]).await.map_err(&err)?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let values = (0..dbstore::FIELDS.len())
                .map(|c| row.try_get::<_, Option<String>>(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(&err)?;
            out.push(dbstore::row(i + 1, values));
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let conn = self.inner.take("read a token").await?;
        self.inner.read(&conn, key).await
    }

    async fn put(&self, token: &Token) -> Result<(), StoreError> {
        let conn = self.inner.take("write a token").await?;
        self.inner.write(&conn, token).await
    }

    async fn delete(&self, key: &TokenKey) -> Result<bool, StoreError> {
        let conn = self.inner.take("delete a token").await?;
        self.inner.remove(&conn, key).await
    }

    async fn list(&self) -> Result<Vec<TokenKey>, StoreError> {
        self.list_keys(None).await
    }

    async fn list_user(&self, user: &str) -> Result<Vec<TokenKey>, StoreError> {
        self.list_keys(Some(user)).await
    }

    async fn begin_refresh(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        self.begin_lease(key).await
    }
}

impl PostgresStore {
    /// Every stored key, or those of one application user.
    async fn list_keys(&self, user: Option<&str>) -> Result<Vec<TokenKey>, StoreError> {
        let err = self.inner.err("list tokens");
        let conn = self.inner.take("list tokens").await?;
        let stmt = conn.prepare_cached(&self.inner.sql.list).await.map_err(&err)?;
        let rows = conn.query(&stmt, &[&user]).await.map_err(&err)?;
        drop(conn);
        let mut keys = Vec::new();
        for row in rows {
            let (user, dc, env): (String, String, String) =
                (row.try_get(0).map_err(&err)?, row.try_get(1).map_err(&err)?, row.try_get(2).map_err(&err)?);
            keys.push(parse_key(user, &dc, &env)?);
        }
        keys.sort();
        Ok(keys)
    }
}

impl RowSource for Row {
    type Error = tokio_postgres::Error;

    fn text(&self, index: usize) -> Result<String, tokio_postgres::Error> {
        self.try_get(index)
    }

    fn optional_text(&self, index: usize) -> Result<Option<String>, tokio_postgres::Error> {
        self.try_get(index)
    }

    fn int(&self, index: usize) -> Result<i64, tokio_postgres::Error> {
        self.try_get(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silent_network_is_bounded_unless_the_connection_string_says_otherwise() {
        let mut config = Config::from_str("host=127.0.0.1 user=app").unwrap();
        detect_dead_peers(&mut config, Duration::from_secs(30));
        assert_eq!(config.get_tcp_user_timeout(), Some(&Duration::from_secs(30)));
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(30));
        assert_eq!(config.get_keepalives_interval(), Some(Duration::from_secs(10)));

        let mut config =
            Config::from_str("host=127.0.0.1 tcp_user_timeout=5 keepalives_idle=600 keepalives_interval=60").unwrap();
        detect_dead_peers(&mut config, Duration::from_secs(30));
        assert_eq!(config.get_tcp_user_timeout(), Some(&Duration::from_secs(5)));
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(600));
        assert_eq!(config.get_keepalives_interval(), Some(Duration::from_secs(60)));

        let mut config = Config::from_str("host=127.0.0.1 keepalives=0").unwrap();
        detect_dead_peers(&mut config, Duration::from_secs(30));
        assert!(!config.get_keepalives());
        assert_eq!(config.get_keepalives_idle(), Duration::from_secs(7200), "keepalives off stay off");
    }
}
