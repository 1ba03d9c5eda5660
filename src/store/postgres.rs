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
//! Commit and delete are one atomic statement each (an upsert, a delete), run on the lease's
//! connection and followed by `pg_advisory_unlock`. If the lease's session is gone by then
//! (the server or a proxy ended it, the network dropped it, or the lease outlived
//! [`PostgresOptions::lease_max_hold`]), the statement runs on a fresh pooled connection
//! instead: **a minted token is never lost** because of the lease's connection. Single flight
//! holds as long as the lease's session lives; when it dies PostgreSQL releases the lock, and
//! another instance may start a refresh of its own meanwhile. Both tokens are valid (Zoho
//! keeps the refresh token and allows several live access tokens), the last commit wins, and
//! nothing is half-written.
//!
//! `lease_max_hold` (default 30 s) bounds how long a lease keeps its pooled connection: the
//! OAuth token call is bounded by the client's token timeout (default 20 s), so a lease that
//! is still open after that is abandoned work, and its connection and lock are handed back by
//! a watchdog. Keep `lease_max_hold` above the token timeout plus a margin; a lower value only
//! weakens single flight (the commit still lands). A holder that dies outright loses its
//! connection, and PostgreSQL releases the lock at once.
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

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, Row};

use super::{
    COLUMNS, Cipher, KeyGuard, KeyLocks, RefreshLease, StoreError, StoredRow, TokenStore, UPSERT_TAIL, ZohoTokenRow,
    check_lease_key, dc_from_location, env_from_str, validate_identifier,
};
use crate::secret::SecretString;
use crate::token::{Token, TokenKey};

const BACKEND: &str = "PostgreSQL";
/// The newest schema version of the token table.
const SCHEMA_VERSION: i64 = 1;

/// Whether and how to use TLS, with libpq's `sslmode` names (`FromStr` accepts them).
///
/// As in libpq, `Prefer` and `Require` do not verify the server's certificate (unless root
/// certificates are configured: then `Require` checks the chain); `VerifyFull` checks the
/// chain and the host name.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP: only over loopback, a Unix socket or a trusted private network.
    Disable,
    /// TLS if the server offers it, plain TCP if it does not (libpq's default).
    Prefer,
    /// TLS or fail. The certificate is not verified, unless
    /// [`PostgresOptions::root_certificates`] is set: then its chain is (libpq's `verify-ca`,
    /// accepted as a synonym).
    Require,
    /// TLS or fail; the certificate chain and the host name are verified.
    VerifyFull,
}

impl SslMode {
    /// The libpq name (`disable`, `prefer`, `require`, `verify-full`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyFull => "verify-full",
        }
    }
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SslMode {
    type Err = StoreError;

    fn from_str(value: &str) -> Result<Self, StoreError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "disable" => Ok(Self::Disable),
            "prefer" => Ok(Self::Prefer),
            "require" | "verify-ca" => Ok(Self::Require),
            "verify-full" => Ok(Self::VerifyFull),
            _ => Err(StoreError::Tls {
                backend: BACKEND,
                reason: format!("sslmode {value:?} is not one of disable, prefer, require, verify-ca, verify-full"),
            }),
        }
    }
}

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
            .finish()
    }
}

/// Splits libpq's `sslmode` out of a connection string (key/value or URL form), returning it
/// and the string without it (tokio-postgres knows only some of the values).
pub(crate) fn split_ssl_mode(conn_str: &str) -> Result<(Option<SslMode>, String), StoreError> {
    let trimmed = conn_str.trim_start();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let Some((base, query)) = trimmed.split_once('?') else { return Ok((None, conn_str.to_owned())) };
        let mut mode = None;
        let mut kept = Vec::new();
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("sslmode", value)) => mode = Some(value.parse()?),
                _ => kept.push(pair),
            }
        }
        let rest = if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) };
        return Ok((mode, rest));
    }
    // key = value pairs; values may be single-quoted with backslash escapes.
    let chars: Vec<char> = conn_str.chars().collect();
    let (mut i, mut mode, mut rest) = (0, None, String::new());
    while i < chars.len() {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        if i < chars.len() && chars[i] == '=' {
            i += 1;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let value_start = i;
        let mut value = String::new();
        if i < chars.len() && chars[i] == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                if chars[i] == '\\' && i + 1 < chars.len() {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                value.push(chars[i]);
                i += 1;
            }
        }
        if key == "sslmode" {
            mode = Some(value.parse()?);
        } else if !key.is_empty() {
            let raw: String = chars[value_start..i.min(chars.len())].iter().collect();
            rest.push_str(&format!("{key}={raw} "));
        }
    }
    Ok((mode, rest.trim_end().to_owned()))
}

/// Accepts any certificate chain the inner verifier accepts, whatever name it is for
/// (`sslmode=require`: the chain is checked, the host name is not).
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl rustls::client::danger::ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self.0.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForName | rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(rustls::client::danger::ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// libpq's `prefer`/`require` without root certificates: any certificate is accepted (the
/// handshake signatures are still checked, so the session is encrypted to whoever answered).
#[derive(Debug)]
struct Unverified(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for Unverified {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// The rustls connector for `mode` (ring provider; `roots` or webpki-roots).
pub(crate) fn tls_connector(
    mode: SslMode,
    roots: Option<Arc<rustls::RootCertStore>>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, StoreError> {
    let tls = |reason: String| StoreError::Tls { backend: BACKEND, reason };
    let custom_roots = roots.is_some();
    let roots =
        roots.unwrap_or_else(|| Arc::new(rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls(format!("no usable TLS versions: {e}")))?;
    let config = match mode {
        SslMode::VerifyFull | SslMode::Disable => builder.with_root_certificates(roots).with_no_client_auth(),
        SslMode::Prefer | SslMode::Require if !custom_roots => {
            builder.dangerous().with_custom_certificate_verifier(Arc::new(Unverified(provider))).with_no_client_auth()
        }
        SslMode::Prefer | SslMode::Require => {
            let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider)
                .build()
                .map_err(|e| tls(format!("the root certificates cannot be used: {e}")))?;
            builder.dangerous().with_custom_certificate_verifier(Arc::new(ChainOnly(verifier))).with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
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
    pool_wait: Duration,
    lease_max_hold: Duration,
    /// The TLS mode in force (`None` for a caller's pool).
    ssl_mode: Option<SslMode>,
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
        let mut config = Config::from_str(&rest).map_err(|e| StoreError::Database {
            backend: BACKEND,
            action: "parse the connection string",
            source: Box::new(PgFailure(e.to_string())),
        })?;
        config.ssl_mode(match mode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            _ => tokio_postgres::config::SslMode::Require,
        });
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(options.connect_timeout);
        }
        let tls = tls_connector(mode, options.root_certificates.clone())?;
        // Verified: a pooled session is checked with a round trip before use, so one ended by the
        // server (failover, admin, idle timeout) is replaced instead of failing the next call.
        let manager = Manager::from_config(config, tls, ManagerConfig { recycling_method: RecyclingMethod::Verified });
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| StoreError::Database {
                backend: BACKEND,
                action: "build the connection pool",
                source: Box::new(PgFailure(e.to_string())),
            })?;
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
        let t = format!("\"{schema}\".\"{}\"", options.table);
        let sql = Sql {
            get: format!("SELECT {COLUMNS} FROM {t} WHERE user_key = $1 AND dc = $2 AND environment = $3"),
            put: format!(
                "INSERT INTO {t} ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) {UPSERT_TAIL}"
            ),
            delete: format!("DELETE FROM {t} WHERE user_key = $1 AND dc = $2 AND environment = $3"),
            list: format!(
                "SELECT user_key, dc, environment FROM {t} WHERE ($1::text IS NULL OR user_key = $1) ORDER BY user_key, dc, environment"
            ),
        };
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
            pool_wait: options.pool_wait,
            lease_max_hold: options.lease_max_hold,
            ssl_mode,
            locks: KeyLocks::default(),
            sql,
        });
        let mut conn = inner.take("connect").await?;
        let migrated = inner.migrate(&mut conn).await;
        if migrated.is_err() {
            // Awaited, so the transaction's locks are gone before the error is returned.
            reset_or_discard(conn).await;
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
        let select = super::import::dbstore_select_list(&present, |c| format!("\"{c}\"::text"))?;
        let rows = client.query(&format!("SELECT {select} FROM \"{schema}\".\"{table}\""), &[]).await.map_err(&err)?;
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            let values = (0..super::import::DBSTORE_FIELDS.len())
                .map(|c| row.try_get::<_, Option<String>>(c))
                .collect::<Result<Vec<_>, _>>()
                .map_err(&err)?;
            out.push(ZohoTokenRow::from_db_values(i + 1, values));
        }
        Ok(out)
    }
}

/// Closes a connection instead of returning it to the pool (its session may hold an advisory
/// lock or an open transaction): PostgreSQL then releases both.
fn discard(conn: Object) {
    drop(Object::take(conn));
}

/// Rolls back any open transaction and drops every advisory lock of the session, then returns
/// the connection to the pool; closes it if that fails.
async fn reset_or_discard(conn: Object) {
    match conn.batch_execute("ROLLBACK; SELECT pg_advisory_unlock_all()").await {
        Ok(()) => drop(conn),
        Err(_) => discard(conn),
    }
}

impl Inner {
    /// A pooled connection, waiting at most `pool_wait` for one to be free.
    async fn take(&self, action: &'static str) -> Result<Object, StoreError> {
        match tokio::time::timeout(self.pool_wait, self.pool.get()).await {
            Err(_) => Err(StoreError::Busy { backend: BACKEND, action, waited: self.pool_wait }),
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(deadpool_postgres::PoolError::Backend(e))) => Err(self.connect_error(&e)),
            Ok(Err(deadpool_postgres::PoolError::Timeout(_))) => {
                Err(StoreError::Busy { backend: BACKEND, action, waited: self.pool_wait })
            }
            Ok(Err(e)) => {
                Err(StoreError::Database { backend: BACKEND, action, source: Box::new(PgFailure(e.to_string())) })
            }
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

    fn err(&self, action: &'static str) -> impl Fn(tokio_postgres::Error) -> StoreError + '_ {
        move |e| pg_error(action, &e, self.lock_timeout)
    }

    async fn migrate(&self, conn: &mut Object) -> Result<(), StoreError> {
        let err = self.err("migrate the token table");
        let (schema, table) = (&self.schema, &self.table);
        let client = conn.transaction().await.map_err(&err)?;
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
                _ => {
                    return Err(StoreError::Migration {
                        table: format!("{schema}.{table}"),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
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
        client.commit().await.map_err(&err)
    }

    async fn read(&self, client: &impl GenericClient, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let err = self.err("read a token");
        let stmt = client.prepare_cached(&self.sql.get).await.map_err(&err)?;
        let row =
            client.query_opt(&stmt, &[&key.user, &key.dc.location(), &key.environment.as_str()]).await.map_err(&err)?;
        row.map(|r| stored_row(&r).map_err(&err)?.into_token(self.cipher.as_ref())).transpose()
    }

    async fn write(&self, client: &impl GenericClient, token: &Token) -> Result<(), StoreError> {
        let err = self.err("write a token");
        let r = StoredRow::from_token(token, self.cipher.as_ref())?;
        let stmt = client.prepare_cached(&self.sql.put).await.map_err(&err)?;
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
        client.execute(&stmt, &params).await.map(drop).map_err(&err)
    }

    async fn remove(&self, client: &impl GenericClient, key: &TokenKey) -> Result<bool, StoreError> {
        let err = self.err("delete a token");
        let stmt = client.prepare_cached(&self.sql.delete).await.map_err(&err)?;
        let n =
            client.execute(&stmt, &[&key.user, &key.dc.location(), &key.environment.as_str()]).await.map_err(&err)?;
        Ok(n > 0)
    }

    fn lock_id(&self, key: &TokenKey) -> i64 {
        lock_id(&["zohocrm-refresh", &self.schema, &self.table, &key.user, key.dc.location(), key.environment.as_str()])
    }

    /// Takes the key's session-level advisory lock (waiting at most `lock_timeout`) and reads
    /// the row, in one short transaction; the session is outside any transaction afterwards.
    async fn lock_and_read(&self, conn: &mut Object, key: &TokenKey) -> Result<Option<Token>, StoreError> {
        let err = self.err("take the refresh lock");
        let tx = conn.transaction().await.map_err(&err)?;
        let timeout = format!("{}ms", self.lock_timeout.as_millis().max(1));
        tx.execute("SELECT set_config('lock_timeout', $1, true)", &[&timeout]).await.map_err(&err)?;
        tx.execute("SELECT pg_advisory_lock($1)", &[&self.lock_id(key)]).await.map_err(&err)?;
        let current = self.read(&tx, key).await?;
        tx.commit().await.map_err(&err)?;
        Ok(current)
    }

    /// Gives back the key's session lock and returns the connection to the pool; a connection
    /// whose unlock fails is closed instead (PostgreSQL then releases the lock).
    async fn unlock(&self, conn: Object, key: &TokenKey) {
        match conn.execute("SELECT pg_advisory_unlock($1)", &[&self.lock_id(key)]).await {
            Ok(_) => drop(conn),
            Err(e) => {
                tracing::debug!(error = %e, "could not release a PostgreSQL refresh lock; closing its connection");
                discard(conn);
            }
        }
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
            let corrupt = |reason: String| StoreError::Corrupt { key: format!("{user}@{dc}/{env}"), reason };
            let dc_v = dc_from_location(&dc).ok_or_else(|| corrupt(format!("unknown data center {dc:?}")))?;
            let env_v = env_from_str(&env).ok_or_else(|| corrupt(format!("unknown environment {env:?}")))?;
            keys.push(TokenKey::new(user, dc_v, env_v));
        }
        keys.sort();
        Ok(keys)
    }

    async fn begin_lease(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError> {
        let guard = self.inner.locks.lock(key).await;
        let mut conn = self.inner.take("take the refresh lock").await?;
        let current = match self.inner.lock_and_read(&mut conn, key).await {
            Ok(current) => current,
            Err(e) => {
                // The session may hold the lock (a session lock survives a rollback).
                reset_or_discard(conn).await;
                return Err(e);
            }
        };
        let slot = Arc::new(tokio::sync::Mutex::new(Some(conn)));
        let watchdog = {
            let (inner, slot, key) = (Arc::clone(&self.inner), Arc::clone(&slot), key.clone());
            tokio::spawn(async move {
                tokio::time::sleep(inner.lease_max_hold).await;
                let held = slot.lock().await.take();
                if let Some(conn) = held {
                    tracing::warn!(
                        key = %key,
                        max_hold = ?inner.lease_max_hold,
                        "PostgreSQL refresh lease held past lease_max_hold; its lock and connection are handed back (a later commit still writes)"
                    );
                    inner.unlock(conn, &key).await;
                }
            })
        };
        Ok(Box::new(PgLease {
            inner: Arc::clone(&self.inner),
            key: key.clone(),
            current,
            slot,
            watchdog: Some(watchdog),
            guard: Some(guard),
        }))
    }
}

/// How a lease ends.
enum Finish<'a> {
    Write(&'a Token),
    Delete,
    Release,
}

/// A refresh lease: a pooled connection holding the key's session advisory lock (until the
/// watchdog hands it back after `lease_max_hold`), plus the in-process key lock.
struct PgLease {
    inner: Arc<Inner>,
    key: TokenKey,
    current: Option<Token>,
    /// The lease's connection; `None` once handed back.
    slot: Arc<tokio::sync::Mutex<Option<Object>>>,
    watchdog: Option<tokio::task::JoinHandle<()>>,
    guard: Option<KeyGuard>,
}

impl PgLease {
    /// Runs `finish` as one atomic statement, on the lease's connection if its session is
    /// alive, else on a fresh pooled connection, then releases the lock.
    async fn finish(mut self: Box<Self>, finish: Finish<'_>) -> Result<bool, StoreError> {
        if let Some(watchdog) = self.watchdog.take() {
            watchdog.abort();
        }
        let inner = Arc::clone(&self.inner);
        let held = self.slot.lock().await.take();
        let result = match held {
            Some(conn) if !conn.is_closed() => {
                let result = run(&inner, &conn, &self.key, &finish).await;
                if result.is_err() && conn.is_closed() {
                    // The session died under the statement; PostgreSQL rolled it back.
                    discard(conn);
                    fresh(&inner, &self.key, &finish).await
                } else {
                    inner.unlock(conn, &self.key).await;
                    result
                }
            }
            Some(dead) => {
                discard(dead);
                fresh(&inner, &self.key, &finish).await
            }
            None => fresh(&inner, &self.key, &finish).await,
        };
        drop(self.guard.take());
        result
    }
}

async fn run(
    inner: &Inner,
    client: &impl GenericClient,
    key: &TokenKey,
    finish: &Finish<'_>,
) -> Result<bool, StoreError> {
    match finish {
        Finish::Write(token) => inner.write(client, token).await.map(|()| false),
        Finish::Delete => inner.remove(client, key).await,
        Finish::Release => Ok(false),
    }
}

/// The lease's session is gone (and with it the lock): do the write on another connection.
async fn fresh(inner: &Inner, key: &TokenKey, finish: &Finish<'_>) -> Result<bool, StoreError> {
    if matches!(finish, Finish::Release) {
        return Ok(false);
    }
    tracing::debug!(key = %key, "PostgreSQL refresh lease's session ended; writing on a fresh connection");
    // Whatever ended the lease's session (a failover, an admin) may have ended idle pooled
    // sessions too, and the pool notices only when one is used: try the next one.
    let mut attempt = 0;
    loop {
        attempt += 1;
        let conn = inner.take("commit the refreshed token").await?;
        match run(inner, &conn, key, finish).await {
            Err(_) if conn.is_closed() && attempt < 4 => {
                tracing::debug!(key = %key, attempt, "pooled PostgreSQL session was closed; trying another");
                drop(Object::take(conn));
            }
            other => return other,
        }
    }
}

#[async_trait::async_trait]
impl RefreshLease for PgLease {
    fn current(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    async fn commit(self: Box<Self>, token: &Token) -> Result<(), StoreError> {
        if let Err(e) = check_lease_key(&self.key, token) {
            self.finish(Finish::Release).await?;
            return Err(e);
        }
        self.finish(Finish::Write(token)).await.map(drop)
    }

    async fn delete(self: Box<Self>) -> Result<bool, StoreError> {
        self.finish(Finish::Delete).await
    }

    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        self.finish(Finish::Release).await.map(drop)
    }
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
                    inner.unlock(conn, &key).await;
                    drop(guard);
                });
            }
            Err(_) => discard(conn),
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

#[cfg(test)]
mod ssl_tests {
    use super::*;

    #[test]
    fn sslmode_is_parsed_and_split_out_of_connection_strings() {
        for (text, mode) in [
            ("disable", SslMode::Disable),
            ("prefer", SslMode::Prefer),
            ("require", SslMode::Require),
            ("verify-ca", SslMode::Require),
            ("VERIFY-FULL", SslMode::VerifyFull),
        ] {
            assert_eq!(text.parse::<SslMode>().unwrap(), mode);
        }
        let err = "allow-anything".parse::<SslMode>().unwrap_err();
        assert!(matches!(err, StoreError::Tls { .. }), "{err}");

        let (mode, rest) =
            split_ssl_mode("host=db user=app sslmode=verify-full options='-c a=b\\' c' dbname=x").unwrap();
        assert_eq!(mode, Some(SslMode::VerifyFull));
        assert_eq!(rest, "host=db user=app options='-c a=b\\' c' dbname=x");
        assert_eq!(split_ssl_mode("host=db").unwrap(), (None, "host=db".to_owned()));
        let (mode, rest) = split_ssl_mode("postgresql://app@db:5432/x?sslmode=require&application_name=z").unwrap();
        assert_eq!((mode, rest.as_str()), (Some(SslMode::Require), "postgresql://app@db:5432/x?application_name=z"));
        let (mode, rest) = split_ssl_mode("postgres://db/x?sslmode=disable").unwrap();
        assert_eq!((mode, rest.as_str()), (Some(SslMode::Disable), "postgres://db/x"));
        assert!(split_ssl_mode("host=db sslmode=bogus").is_err());
        // Every mode builds a connector (ring provider, webpki roots).
        for mode in [SslMode::Disable, SslMode::Prefer, SslMode::Require, SslMode::VerifyFull] {
            tls_connector(mode, None).unwrap();
        }
    }
}
