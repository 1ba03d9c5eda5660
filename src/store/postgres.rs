//! The PostgreSQL token store for fleets of application instances sharing tokens, with
//! cross-process single-flight refresh (feature `postgres`).
//!
//! * The table lives in a caller-chosen schema (created if missing); schema versions are kept
//!   in `{schema}.zohocrm_schema`, and migrations run under an advisory lock so instances
//!   starting together do not race.
//! * A refresh lease is a dedicated connection inside a transaction holding
//!   `pg_advisory_xact_lock(id)`, where `id` is a stable 64-bit FNV-1a hash of (schema, table,
//!   user, dc, environment) – the same in every process and every version of this crate. Other
//!   instances asking for the same key wait on that lock (up to `lock_timeout`), then read the
//!   token the holder committed. If the holder dies, PostgreSQL rolls its transaction back and
//!   releases the lock when the connection drops.
//! * `get`, `put`, `delete` and `list` are single statements on pooled connections with cached
//!   prepared statements.
//! * Connections use `NoTls`: run it over loopback, a Unix socket or a private network.
//! * Error messages keep PostgreSQL's message and SQLSTATE but drop its `DETAIL`, which can
//!   quote whole rows (and so tokens).

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use super::{
    COLUMNS, Cipher, KeyGuard, KeyLocks, RefreshLease, StoreError, StoredRow, TokenStore, UPSERT_TAIL, ZohoTokenRow,
    check_lease_key, dc_from_location, env_from_str, validate_identifier,
};
use crate::secret::SecretString;
use crate::token::{Token, TokenKey};

const BACKEND: &str = "PostgreSQL";
/// The newest schema version of the token table.
const SCHEMA_VERSION: i64 = 1;
/// Idle connections kept for reuse.
const MAX_IDLE: usize = 8;

/// How to open a [`PostgresStore`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// The token table's name (default `zohocrm_tokens`); must be a plain identifier.
    pub table: String,
    /// Seal the token columns with this key (feature `encryption`).
    #[cfg(feature = "encryption")]
    pub cipher: Option<super::TokenCipher>,
    /// How long `begin_refresh` waits for another instance's refresh before
    /// [`StoreError::Busy`]. Default 30 s.
    pub lock_timeout: Duration,
    /// Connections in use at once (leases hold one each); more callers wait. Default 10.
    pub max_connections: usize,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            table: "zohocrm_tokens".to_owned(),
            #[cfg(feature = "encryption")]
            cipher: None,
            lock_timeout: Duration::from_secs(30),
            max_connections: 10,
        }
    }
}

/// The PostgreSQL token store. Clones share the connection pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), zohocrm::store::StoreError> {
/// use zohocrm::store::{PostgresStore, TokenStore};
/// let store = PostgresStore::connect("host=127.0.0.1 user=app dbname=app", "zohocrm").await?;
/// let keys = store.list().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn_str: String,
    schema: String,
    table: String,
    cipher: Option<Cipher>,
    lock_timeout: Duration,
    idle: Mutex<Vec<PgConn>>,
    permits: Arc<Semaphore>,
    locks: KeyLocks,
    sql: Sql,
}

struct Sql {
    get: String,
    put: String,
    delete: String,
    list: String,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The connection string may hold a password: never shown.
        f.debug_struct("PostgresStore")
            .field("schema", &self.inner.schema)
            .field("table", &self.inner.table)
            .field("encrypted", &self.inner.cipher.is_some())
            .finish()
    }
}

/// One connection with its prepared statements.
struct PgConn {
    client: Client,
    prepared: HashMap<String, Statement>,
}

impl PgConn {
    async fn statement(&mut self, sql: &str) -> Result<Statement, tokio_postgres::Error> {
        if let Some(stmt) = self.prepared.get(sql) {
            return Ok(stmt.clone());
        }
        let stmt = self.client.prepare(sql).await?;
        self.prepared.insert(sql.to_owned(), stmt.clone());
        Ok(stmt)
    }
}

/// A connection lent from the pool, with its permit.
struct Lent {
    conn: PgConn,
    _permit: OwnedSemaphorePermit,
}

impl PostgresStore {
    /// Connects with a libpq-style connection string (`host=… user=… dbname=…` or
    /// `postgresql://…`) and keeps the tokens in `schema` (created if missing).
    pub async fn connect(conn_str: &str, schema: &str) -> Result<Self, StoreError> {
        Self::connect_with(conn_str, schema, PostgresOptions::default()).await
    }

    /// Like [`Self::connect`], with options.
    pub async fn connect_with(conn_str: &str, schema: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        validate_identifier("schema", schema)?;
        validate_identifier("table", &options.table)?;
        let t = format!("\"{schema}\".\"{}\"", options.table);
        let sql = Sql {
            get: format!("SELECT {COLUMNS} FROM {t} WHERE user_key = $1 AND dc = $2 AND environment = $3"),
            put: format!(
                "INSERT INTO {t} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) {UPSERT_TAIL}"
            ),
            delete: format!("DELETE FROM {t} WHERE user_key = $1 AND dc = $2 AND environment = $3"),
            list: format!("SELECT user_key, dc, environment FROM {t} ORDER BY user_key, dc, environment"),
        };
        #[cfg(feature = "encryption")]
        let cipher = options.cipher;
        #[cfg(not(feature = "encryption"))]
        let cipher = None;
        let inner = Arc::new(Inner {
            conn_str: conn_str.to_owned(),
            schema: schema.to_owned(),
            table: options.table,
            cipher,
            lock_timeout: options.lock_timeout,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(options.max_connections.max(1))),
            locks: KeyLocks::default(),
            sql,
        });
        let mut lent = inner.take().await?;
        inner.migrate(&mut lent.conn).await?;
        inner.give(lent);
        Ok(Self { inner })
    }

    /// The schema holding the token table.
    pub fn schema(&self) -> &str {
        &self.inner.schema
    }

    /// Reads a Zoho SDK DBStore table (`oauthtoken` layout of SDK 2.1 or 8.0) from
    /// `schema.table` on this store's database, for [`super::import_zoho_rows`].
    pub async fn read_zoho_dbstore(&self, schema: &str, table: &str) -> Result<Vec<ZohoTokenRow>, StoreError> {
        validate_identifier("schema", schema)?;
        validate_identifier("table", table)?;
        let action = "read the Zoho DBStore table";
        let lent = self.inner.take().await?;
        let client = &lent.conn.client;
        let present: Vec<String> = client
            .query(
                "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2",
                &[&schema, &table],
            )
            .await
            .map_err(|e| pg_error(action, &e, self.inner.lock_timeout))?
            .iter()
            .map(|r| r.try_get::<_, String>(0))
            .collect::<Result<_, _>>()
            .map_err(|e| pg_error(action, &e, self.inner.lock_timeout))?;
        if present.is_empty() {
            self.inner.give(lent);
            return Err(StoreError::Import {
                line: 0,
                reason: format!("table {schema}.{table} does not exist or has no columns"),
            });
        }
        let select = super::import::dbstore_select_list(&present, |c| format!("\"{c}\"::text"))?;
        let rows = client
            .query(&format!("SELECT {select} FROM \"{schema}\".\"{table}\""), &[])
            .await
            .map_err(|e| pg_error(action, &e, self.inner.lock_timeout))?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let values = (0..super::import::DBSTORE_FIELDS.len())
                .map(|c| row.try_get::<_, Option<String>>(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| pg_error(action, &e, self.inner.lock_timeout))?;
            out.push(ZohoTokenRow::from_db_values(i + 1, values));
        }
        self.inner.give(lent);
        Ok(out)
    }
}

impl Inner {
    async fn take(&self) -> Result<Lent, StoreError> {
        let permit = Arc::clone(&self.permits).acquire_owned().await.map_err(|_| StoreError::Database {
            backend: BACKEND,
            action: "get a connection",
            source: Box::new(PgFailure("the connection pool was closed".into())),
        })?;
        loop {
            let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            match pooled {
                Some(conn) if conn.client.is_closed() => continue,
                Some(conn) => {
                    return Ok(Lent { conn, _permit: permit });
                }
                None => break,
            }
        }
        let (client, connection) = tokio_postgres::connect(&self.conn_str, NoTls)
            .await
            .map_err(|e| pg_error("connect", &e, self.lock_timeout))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "PostgreSQL token store connection ended");
            }
        });
        Ok(Lent { conn: PgConn { client, prepared: HashMap::new() }, _permit: permit })
    }

    /// Returns a connection (outside any transaction) to the pool.
    fn give(&self, lent: Lent) {
        if lent.conn.client.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(lent.conn);
        }
    }

    fn err(&self, action: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        move |e| pg_error(action, &e, self.lock_timeout)
    }

    async fn migrate(&self, conn: &mut PgConn) -> Result<(), StoreError> {
        let result = self.migrate_in_tx(conn).await;
        if result.is_err() {
            let _ = conn.client.batch_execute("ROLLBACK").await;
        }
        result
    }

    async fn migrate_in_tx(&self, conn: &mut PgConn) -> Result<(), StoreError> {
        let err = self.err("migrate the token table");
        let (schema, table) = (&self.schema, &self.table);
        let client = &conn.client;
        client.batch_execute("BEGIN").await.map_err(&err)?;
        let lock = lock_id(&["zohocrm-migrate", schema]);
        client.execute("SELECT pg_advisory_xact_lock($1)", &[&lock]).await.map_err(&err)?;
        // CREATE SCHEMA needs the database's CREATE privilege even with IF NOT EXISTS: only
        // issue it when the schema is really missing.
        let exists =
            client.query_opt("SELECT 1 FROM pg_namespace WHERE nspname = $1", &[schema]).await.map_err(&err)?.is_some();
        if !exists {
            client.batch_execute(&format!("CREATE SCHEMA \"{schema}\"")).await.map_err(&err)?;
        }
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS \"{schema}\".zohocrm_schema (table_name TEXT PRIMARY KEY, version BIGINT NOT NULL)"
            ))
            .await
            .map_err(&err)?;
        let found: i64 = client
            .query_opt(&format!("SELECT version FROM \"{schema}\".zohocrm_schema WHERE table_name = $1"), &[table])
            .await
            .map_err(&err)?
            .map(|r| r.try_get(0))
            .transpose()
            .map_err(&err)?
            .unwrap_or(0);
        if found > SCHEMA_VERSION {
            return Err(StoreError::Migration { table: format!("{schema}.{table}"), found, supported: SCHEMA_VERSION });
        }
        for version in found + 1..=SCHEMA_VERSION {
            let step = match version {
                1 => format!(
                    "CREATE TABLE IF NOT EXISTS \"{schema}\".\"{table}\" (
                        user_key TEXT NOT NULL,
                        dc TEXT NOT NULL,
                        environment TEXT NOT NULL,
                        access_token TEXT,
                        refresh_token TEXT,
                        expires_at_ms BIGINT NOT NULL,
                        api_domain TEXT NOT NULL,
                        accounts_server TEXT NOT NULL,
                        scopes TEXT NOT NULL,
                        created_at_ms BIGINT NOT NULL,
                        updated_at_ms BIGINT NOT NULL,
                        PRIMARY KEY (user_key, dc, environment)
                    )"
                ),
                _ => unreachable!("schema steps cover 1..=SCHEMA_VERSION"),
            };
            client.batch_execute(&step).await.map_err(&err)?;
        }
        if found < SCHEMA_VERSION {
            client
                .execute(
                    &format!(
                        "INSERT INTO \"{schema}\".zohocrm_schema (table_name, version) VALUES ($1, $2)
                         ON CONFLICT (table_name) DO UPDATE SET version = excluded.version"
                    ),
                    &[table, &SCHEMA_VERSION],
                )
                .await
                .map_err(&err)?;
        }
        client.batch_execute("COMMIT").await.map_err(&err)
    }

    async fn read(&self, conn: &mut PgConn, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let err = self.err("read a token");
        let stmt = conn.statement(&self.sql.get).await.map_err(&err)?;
        let row = conn
            .client
            .query_opt(&stmt, &[&key.user, &key.dc.location(), &key.environment.as_str()])
            .await
            .map_err(&err)?;
        row.map(|r| stored_row(&r).map_err(&err)?.into_token(self.cipher.as_ref())).transpose()
    }

    async fn write(&self, conn: &mut PgConn, token: &Token) -> Result<(), StoreError> {
        let err = self.err("write a token");
        let r = StoredRow::from_token(token, self.cipher.as_ref())?;
        let stmt = conn.statement(&self.sql.put).await.map_err(&err)?;
        let access = r.access_token.as_ref().map(SecretString::expose);
        let refresh = r.refresh_token.as_ref().map(SecretString::expose);
        let params: [&(dyn ToSql + Sync); 11] = [
            &r.user_key,
            &r.dc,
            &r.environment,
            &access,
            &refresh,
            &r.expires_at_ms,
            &r.api_domain,
            &r.accounts_server,
            &r.scopes,
            &r.created_at_ms,
            &r.updated_at_ms,
        ];
        conn.client.execute(&stmt, &params).await.map(drop).map_err(&err)
    }

    /// Runs `BEGIN`, bounds the lock wait, takes the key's advisory lock and reads the row.
    async fn lock_and_read(&self, conn: &mut PgConn, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let err = self.err("take the refresh lock");
        conn.client.batch_execute("BEGIN").await.map_err(&err)?;
        let timeout = format!("{}ms", self.lock_timeout.as_millis().max(1));
        conn.client.execute("SELECT set_config('lock_timeout', $1, true)", &[&timeout]).await.map_err(&err)?;
        let id = lock_id(&[
            "zohocrm-refresh",
            &self.schema,
            &self.table,
            &key.user,
            key.dc.location(),
            key.environment.as_str(),
        ]);
        conn.client.execute("SELECT pg_advisory_xact_lock($1)", &[&id]).await.map_err(&err)?;
        self.read(conn, key).await
    }
}

fn stored_row(r: &Row) -> Result<StoredRow, tokio_postgres::Error> {
    Ok(StoredRow {
        user_key: r.try_get(0)?,
        dc: r.try_get(1)?,
        environment: r.try_get(2)?,
        access_token: r.try_get::<_, Option<String>>(3)?.map(SecretString::new),
        refresh_token: r.try_get::<_, Option<String>>(4)?.map(SecretString::new),
        expires_at_ms: r.try_get(5)?,
        api_domain: r.try_get(6)?,
        accounts_server: r.try_get(7)?,
        scopes: r.try_get(8)?,
        created_at_ms: r.try_get(9)?,
        updated_at_ms: r.try_get(10)?,
    })
}

#[async_trait::async_trait]
impl TokenStore for PostgresStore {
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let mut lent = self.inner.take().await?;
        let result = self.inner.read(&mut lent.conn, key).await;
        self.inner.give(lent);
        result
    }

    async fn put(&self, token: &Token) -> Result<(), StoreError> {
        let mut lent = self.inner.take().await?;
        let result = self.inner.write(&mut lent.conn, token).await;
        self.inner.give(lent);
        result
    }

    async fn delete(&self, key: &TokenKey) -> Result<bool, StoreError> {
        let err = self.inner.err("delete a token");
        let mut lent = self.inner.take().await?;
        let result = async {
            let stmt = lent.conn.statement(&self.inner.sql.delete).await.map_err(&err)?;
            let n = lent
                .conn
                .client
                .execute(&stmt, &[&key.user, &key.dc.location(), &key.environment.as_str()])
                .await
                .map_err(&err)?;
            Ok(n > 0)
        }
        .await;
        self.inner.give(lent);
        result
    }

    async fn list(&self) -> Result<Vec<TokenKey>, StoreError> {
        let err = self.inner.err("list tokens");
        let mut lent = self.inner.take().await?;
        let rows = async {
            let stmt = lent.conn.statement(&self.inner.sql.list).await.map_err(&err)?;
            lent.conn.client.query(&stmt, &[]).await.map_err(&err)
        }
        .await;
        self.inner.give(lent);
        let mut keys = Vec::new();
        for row in rows? {
            let (user, dc, env): (String, String, String) =
                (row.try_get(0).map_err(&err)?, row.try_get(1).map_err(&err)?, row.try_get(2).map_err(&err)?);
            let corrupt = |reason: String| StoreError::Corrupt { key: format!("{user}@{dc}/{env}"), reason };
            let dc_v = dc_from_location(&dc).ok_or_else(|| corrupt(format!("unknown data center {dc:?}")))?;
            let env_v = env_from_str(&env).ok_or_else(|| corrupt(format!("unknown environment {env:?}")))?;
            keys.push(TokenKey::new(user, dc_v, env_v));
        }
        keys.sort();
        Ok(keys)
    }

    async fn begin_refresh(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        let guard = self.inner.locks.lock(key).await;
        let mut lent = self.inner.take().await?;
        match self.inner.lock_and_read(&mut lent.conn, key).await {
            Ok(current) => Ok(Box::new(PgLease {
                inner: Arc::clone(&self.inner),
                lent: Some(lent),
                key: key.clone(),
                current,
                _guard: guard,
            })),
            Err(e) => {
                if lent.conn.client.batch_execute("ROLLBACK").await.is_ok() {
                    self.inner.give(lent);
                }
                Err(e)
            }
        }
    }
}

/// A refresh lease: a pooled connection inside a transaction holding the key's advisory lock.
struct PgLease {
    inner: Arc<Inner>,
    lent: Option<Lent>,
    key: TokenKey,
    current: Option<Token>,
    _guard: KeyGuard,
}

#[async_trait::async_trait]
impl RefreshLease for PgLease {
    fn current(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    async fn commit(mut self: Box<Self>, token: &Token) -> Result<(), StoreError> {
        let Some(mut lent) = self.lent.take() else {
            return Ok(());
        };
        let inner = Arc::clone(&self.inner);
        let written = match check_lease_key(&self.key, token) {
            Ok(()) => inner.write(&mut lent.conn, token).await,
            Err(e) => Err(e),
        };
        let result = match written {
            Ok(()) => lent
                .conn
                .client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| pg_error("commit the refreshed token", &e, inner.lock_timeout)),
            Err(e) => {
                let _ = lent.conn.client.batch_execute("ROLLBACK").await;
                Err(e)
            }
        };
        inner.give(lent);
        result
    }

    async fn delete(mut self: Box<Self>) -> Result<bool, StoreError> {
        let Some(mut lent) = self.lent.take() else {
            return Ok(false);
        };
        let inner = Arc::clone(&self.inner);
        let err = inner.err("delete a token under the lease");
        let deleted = async {
            let stmt = lent.conn.statement(&inner.sql.delete).await.map_err(&err)?;
            let n = lent
                .conn
                .client
                .execute(&stmt, &[&self.key.user, &self.key.dc.location(), &self.key.environment.as_str()])
                .await
                .map_err(&err)?;
            lent.conn.client.batch_execute("COMMIT").await.map_err(&err)?;
            Ok(n > 0)
        }
        .await;
        if deleted.is_err() {
            let _ = lent.conn.client.batch_execute("ROLLBACK").await;
        }
        inner.give(lent);
        deleted
    }

    async fn release(mut self: Box<Self>) -> Result<(), StoreError> {
        let Some(lent) = self.lent.take() else {
            return Ok(());
        };
        let result = lent
            .conn
            .client
            .batch_execute("ROLLBACK")
            .await
            .map_err(|e| pg_error("release the refresh lock", &e, self.inner.lock_timeout));
        if result.is_ok() {
            self.inner.give(lent);
        }
        result
    }
}

impl Drop for PgLease {
    fn drop(&mut self) {
        // Dropped without commit/release: roll back on the runtime if there is one; otherwise
        // the connection closes and PostgreSQL rolls back and releases the lock itself.
        let Some(lent) = self.lent.take() else { return };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let inner = Arc::clone(&self.inner);
            runtime.spawn(async move {
                if lent.conn.client.batch_execute("ROLLBACK").await.is_ok() {
                    inner.give(lent);
                }
            });
        }
    }
}

/// A stable 64-bit FNV-1a hash of NUL-separated `parts`, as an advisory lock id.
fn lock_id(parts: &[&str]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.bytes().chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// A PostgreSQL error reduced to its message and SQLSTATE (no `DETAIL`, which can quote rows).
#[derive(Debug)]
struct PgFailure(String);

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
    StoreError::Database { backend: BACKEND, action, source: Box::new(PgFailure(message)) }
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
