//! Durable token stores: the [`TokenStore`] trait, its refresh leases, [`MemoryStore`], the
//! SQLite and PostgreSQL stores, encryption at rest and importers for Zoho's SDK token stores.
//!
//! Every store keeps one row per [`TokenKey`] (application user, data center, environment) with
//! the access and refresh tokens, the expiry (epoch ms), the token's `api_domain`, the accounts
//! server, the granted scopes and created/updated timestamps.
//!
//! # Refresh coordination
//!
//! Zoho allows about ten token refreshes per ten minutes, so refreshes must be single-flight
//! across every process that shares a store. [`TokenStore::begin_refresh`] returns a
//! [`RefreshLease`]: while it is alive no other lease for the same key (in this process or,
//! for SQLite and PostgreSQL, in any other process) can be taken. The lease carries the token as
//! stored *now*, re-read under the lock, so a waiter that finally gets the lease sees the token
//! its predecessor just wrote and can skip its own refresh:
//!
//! ```
//! # async fn demo(store: &dyn zohocrm::store::TokenStore, key: &zohocrm::token::TokenKey, now_ms: i64)
//! # -> Result<(), zohocrm::store::StoreError> {
//! let lease = store.begin_refresh(key).await?;
//! match lease.current() {
//!     Some(t) if t.remaining_ms(now_ms) > 60_000 => lease.release().await?, // someone refreshed
//!     Some(t) => {
//!         let mut fresh = t.clone();
//!         // ... call Zoho's token endpoint with t.refresh_token, fill in `fresh` ...
//!         lease.commit(&fresh).await?; // atomically writes and releases the lock
//!     }
//!     None => lease.release().await?, // nothing stored: the user must connect first
//! }
//! # Ok(()) }
//! ```
//!
//! # Connection writes go through the lease
//!
//! [`TokenStore::put`] and [`TokenStore::delete`] do not take the lease: they are single atomic
//! statements that never wait for a refresh in flight (in SQLite the lease is a row, not the
//! database's write lock; in PostgreSQL an advisory lock that plain statements ignore). So a
//! plain `put` of a new consent can land while another process refreshes the old grant, and
//! that refresh's commit then overwrites it with a token minted from the old refresh token.
//! Writes that change *which* connection a key holds — storing a new consent, disconnecting —
//! should therefore go through the lease too: [`RefreshLease::commit`] writes (and inserts a
//! row if the key has none: `current()` is then `None`), [`RefreshLease::delete`] removes the
//! row, both atomically with giving the lease back:
//!
//! ```
//! # async fn disconnect(store: &dyn zohocrm::store::TokenStore, key: &zohocrm::token::TokenKey)
//! # -> Result<(), zohocrm::store::StoreError> {
//! let lease = store.begin_refresh(key).await?; // waits for a refresh in flight
//! let removed = lease.delete().await?; // that refresh's result cannot come back afterwards
//! # let _ = removed; Ok(()) }
//! ```
//!
//! Holding a lease does not block the same task's own `get`/`put`/`delete` on any store.
//!
//! # Encryption at rest
//!
//! With the `encryption` feature and a `TokenCipher`, the access and refresh token columns are
//! sealed with XChaCha20-Poly1305 (random nonce per value, the row key and column name as
//! associated data). A wrong key yields [`StoreError::WrongKey`], a sealed row read without a
//! cipher [`StoreError::CipherRequired`], a plaintext row read with a cipher
//! [`StoreError::NotSealed`]: never garbage, never a silent re-login.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::dc::{DataCenter, Environment};
use crate::secret::{AccessToken, RefreshToken, SecretString};
use crate::token::{Token, TokenKey};

#[cfg(feature = "encryption")]
mod cipher;
pub mod import;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "encryption")]
pub use cipher::TokenCipher;
/// The connection pool crate the PostgreSQL store uses, for [`PostgresStore::from_pool`].
#[cfg(feature = "postgres")]
pub use deadpool_postgres;
pub use import::{ImportOptions, ImportReport, SkippedRow, ZohoTokenRow, import_zoho_filestore, import_zoho_rows};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore, SslMode};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore};

/// Persistent storage for OAuth tokens, keyed by [`TokenKey`].
///
/// Implementations must be safe to share between tasks (`&self`, `Send + Sync`). `put` is an
/// atomic upsert; a failed call leaves the stored row exactly as it was.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// The token stored for `key`, if any.
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError>;

    /// Stores `token` under `token.key`, replacing any previous token for that key.
    ///
    /// This does not wait for a refresh in flight; to store a new consent, commit it through
    /// the lease ([`TokenStore::begin_refresh`], then [`RefreshLease::commit`]).
    ///
    /// `created_at_ms` of an existing row is kept (it records when the connection was first
    /// stored); every other column is replaced.
    async fn put(&self, token: &Token) -> Result<(), StoreError>;

    /// Removes the token for `key`; `true` if a row was removed.
    ///
    /// This does not wait for a refresh in flight; to disconnect a user, delete through the
    /// lease ([`RefreshLease::delete`]) so that refresh cannot write the token back.
    async fn delete(&self, key: &TokenKey) -> Result<bool, StoreError>;

    /// Every stored key, sorted.
    async fn list(&self) -> Result<Vec<TokenKey>, StoreError>;

    /// The stored keys of one application user (every DC and environment they connected),
    /// sorted. The default filters [`TokenStore::list`]; the SQL stores use their index.
    async fn list_user(&self, user: &str) -> Result<Vec<TokenKey>, StoreError> {
        Ok(self.list().await?.into_iter().filter(|k| k.user == user).collect())
    }

    /// Cross-process refresh coordination: waits until no other process (or task) holds the
    /// refresh lease for `key`, then returns a lease holding that lock, with the token as stored
    /// *now* (re-read under the lock). Dropping the lease without commit releases the lock and
    /// writes nothing.
    async fn begin_refresh(&self, key: &TokenKey) -> Result<Box<dyn RefreshLease>, StoreError>;
}

/// The exclusive right to refresh one key's token, from [`TokenStore::begin_refresh`].
#[async_trait::async_trait]
pub trait RefreshLease: Send {
    /// The token as stored when the lease was granted (`None` if there is none).
    fn current(&self) -> Option<&Token>;

    /// Atomically writes `token` and releases the lock. On a key with no row
    /// ([`current`](Self::current) is `None`) this inserts one: a new consent is stored this
    /// way.
    ///
    /// `token.key` must be the lease's key ([`StoreError::KeyMismatch`] otherwise). On error
    /// nothing was written and the lock is released.
    async fn commit(self: Box<Self>, token: &Token) -> Result<(), StoreError>;

    /// Atomically deletes the key's row and releases the lock; `true` if a row was removed.
    /// A disconnect goes this way, so a refresh in flight cannot write the token back.
    async fn delete(self: Box<Self>) -> Result<bool, StoreError>;

    /// Releases the lock without writing.
    async fn release(self: Box<Self>) -> Result<(), StoreError>;
}

/// A token store failure. Display says what failed and what to do; it never contains token
/// values.
#[non_exhaustive]
#[derive(Debug)]
pub enum StoreError {
    /// A file operation failed (creating, opening or securing the store file).
    Io {
        /// What the store was doing.
        action: &'static str,
        /// The file involved.
        path: PathBuf,
        /// The operating system error.
        source: std::io::Error,
    },
    /// The database rejected or failed a statement, or could not be reached.
    Database {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// What the store was doing.
        action: &'static str,
        /// The driver's error (PostgreSQL details that could contain row values are removed).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Another process held the store's lock for longer than the configured wait.
    Busy {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// What the store was doing.
        action: &'static str,
        /// How long the store waited.
        waited: Duration,
    },
    /// A stored row cannot be turned back into a token (unknown data center, bad scopes, ...).
    Corrupt {
        /// The row's key, as `user@dc/environment` (or the raw column values).
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A sealed token column did not open with the configured key: the key is wrong, or the
    /// value was tampered with or moved from another row.
    WrongKey {
        /// The row's key, as `user@dc/environment`.
        key: String,
    },
    /// A stored token is sealed but the store has no cipher (or the crate was built without
    /// the `encryption` feature).
    CipherRequired {
        /// The row's key, as `user@dc/environment`.
        key: String,
    },
    /// The store has a cipher but a stored token column is plaintext.
    NotSealed {
        /// The row's key, as `user@dc/environment`.
        key: String,
    },
    /// A token could not be sealed (no randomness for the nonce); nothing was written.
    Encrypt {
        /// What failed.
        reason: String,
    },
    /// An encryption key could not be parsed.
    InvalidKey {
        /// What is wrong with it.
        reason: String,
    },
    /// The store's schema cannot be used or upgraded by this version of the crate.
    Migration {
        /// The table whose schema is at issue.
        table: String,
        /// The schema version found in the database.
        found: i64,
        /// The newest schema version this crate knows.
        supported: i64,
    },
    /// A table or schema name is not a plain SQL identifier.
    InvalidIdentifier {
        /// What the name is for (`table`, `schema`).
        what: &'static str,
        /// The rejected name.
        name: String,
    },
    /// A TLS connection to the database could not be set up (or `sslmode` is invalid).
    Tls {
        /// `PostgreSQL`.
        backend: &'static str,
        /// What went wrong and under which `sslmode`.
        reason: String,
    },
    /// A lease was committed with a token for another key.
    KeyMismatch {
        /// The lease's key.
        lease: String,
        /// The token's key.
        token: String,
    },
    /// Importing tokens from a Zoho SDK store failed.
    Import {
        /// The 1-based line (CSV) or row number (database) that failed; 0 for the whole input.
        line: usize,
        /// What is wrong and what to do.
        reason: String,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { action, path, source } => write!(
                f,
                "token store could not {action} {}: {source}; check that the directory exists and is writable by this user",
                path.display()
            ),
            Self::Database { backend, action, source } => write!(
                f,
                "{backend} token store could not {action}: {source}; check that the database is reachable and writable (nothing was half-written)"
            ),
            Self::Busy { backend, action, waited } => write!(
                f,
                "{backend} token store could not {action}: another process held the lock for more than {waited:?}; retry, or raise the busy timeout"
            ),
            Self::Corrupt { key, reason } => write!(
                f,
                "token store row {key} is unreadable: {reason}; fix or delete the row (the user must then reconnect)"
            ),
            Self::WrongKey { key } => write!(
                f,
                "sealed token for {key} did not decrypt: the encryption key is not the one it was written with (or the row was tampered with); configure the original key"
            ),
            Self::CipherRequired { key } => write!(
                f,
                "token for {key} is encrypted but the store has no encryption key; open the store with the key it was written with (feature `encryption`)"
            ),
            Self::NotSealed { key } => write!(
                f,
                "token for {key} is stored in plaintext but the store expects encrypted tokens; re-save it through an encrypting store or remove the key to read it"
            ),
            Self::Encrypt { reason } => {
                write!(
                    f,
                    "could not encrypt a token: {reason}; nothing was written, retry or check the system's random source"
                )
            }
            Self::InvalidKey { reason } => write!(f, "invalid token encryption key: {reason}; supply 32 random bytes"),
            Self::Migration { table, found, supported } => write!(
                f,
                "token table {table} has schema version {found} but this zohocrm supports up to {supported}; upgrade zohocrm (the table was written by a newer version)"
            ),
            Self::InvalidIdentifier { what, name } => write!(
                f,
                "{what} name {name:?} is not a plain SQL identifier; use 1 to 63 ASCII letters, digits or underscores, not starting with a digit"
            ),
            Self::Tls { backend, reason } => write!(
                f,
                "{backend} token store could not set up TLS: {reason}; check sslmode and the server's TLS setup (use sslmode=disable only on loopback or a trusted network)"
            ),
            Self::KeyMismatch { lease, token } => {
                write!(
                    f,
                    "refresh lease for {lease} was committed with a token for {token}; commit the lease's own key"
                )
            }
            Self::Import { line, reason } if *line == 0 => {
                write!(f, "token import failed: {reason}")
            }
            Self::Import { line, reason } => {
                write!(f, "token import failed at line {line}: {reason}")
            }
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Database { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// In-memory store
// ---------------------------------------------------------------------------------------------

/// A store in process memory, for tests and short-lived tools. Clones share the same tokens.
///
/// Leases are per-key async mutexes, so refreshes are single-flight within the process.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<MemoryInner>,
}

#[derive(Default)]
struct MemoryInner {
    rows: Mutex<BTreeMap<TokenKey, Token>>,
    locks: KeyLocks,
}

impl MemoryInner {
    fn rows(&self) -> MutexGuard<'_, BTreeMap<TokenKey, Token>> {
        self.rows.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn upsert(&self, token: &Token) {
        let mut rows = self.rows();
        let mut stored = token.clone();
        if let Some(old) = rows.get(&token.key) {
            stored.created_at_ms = old.created_at_ms;
        }
        rows.insert(token.key.clone(), stored);
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
        Ok(self.inner.rows().get(key).cloned())
    }

    async fn put(&self, token: &Token) -> Result<(), StoreError> {
        self.inner.upsert(token);
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
    current: Option<Token>,
    _guard: KeyGuard,
}

#[async_trait::async_trait]
impl RefreshLease for MemoryLease {
    fn current(&self) -> Option<&Token> {
        self.current.as_ref()
    }

    async fn commit(self: Box<Self>, token: &Token) -> Result<(), StoreError> {
        check_lease_key(&self.key, token)?;
        self.inner.upsert(token);
        Ok(())
    }

    async fn delete(self: Box<Self>) -> Result<bool, StoreError> {
        Ok(self.inner.rows().remove(&self.key).is_some())
    }

    async fn release(self: Box<Self>) -> Result<(), StoreError> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers for the stores
// ---------------------------------------------------------------------------------------------

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

/// Accepts `name` as a table or schema name only if it is a plain identifier.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn validate_identifier(what: &'static str, name: &str) -> Result<(), StoreError> {
    let mut chars = name.chars();
    let ok = name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok { Ok(()) } else { Err(StoreError::InvalidIdentifier { what, name: name.to_owned() }) }
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn dc_from_location(code: &str) -> Option<DataCenter> {
    DataCenter::ALL.into_iter().find(|dc| dc.location() == code)
}

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) fn env_from_str(name: &str) -> Option<Environment> {
    Environment::ALL.into_iter().find(|env| env.as_str() == name)
}

/// The cipher type the stores hold: [`TokenCipher`] with `encryption`, uninhabited without.
#[cfg(feature = "encryption")]
pub(crate) type Cipher = cipher::TokenCipher;
/// The cipher type the stores hold: [`TokenCipher`] with `encryption`, uninhabited without.
#[cfg(not(feature = "encryption"))]
#[derive(Clone, Debug)]
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) enum Cipher {}

/// Prefix of a sealed token column value: `zc1:` + lowercase hex of nonce || ciphertext.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) const SEALED_PREFIX: &str = "zc1:";

/// A token as it sits in a table: strings and integers, token columns sealed if configured.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) struct StoredRow {
    pub user_key: String,
    pub dc: String,
    pub environment: String,
    pub access_token: Option<SecretString>,
    pub refresh_token: Option<SecretString>,
    pub expires_at_ms: i64,
    pub api_domain: String,
    pub accounts_server: String,
    pub scopes: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The column list shared by both SQL stores, in [`StoredRow`] order.
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) const COLUMNS: &str = "user_key, dc, environment, access_token, refresh_token, expires_at_ms, \
     api_domain, accounts_server, scopes, created_at_ms, updated_at_ms";

/// The `ON CONFLICT` clause of the upsert shared by both SQL stores (keeps `created_at_ms`).
#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
pub(crate) const UPSERT_TAIL: &str = "ON CONFLICT (user_key, dc, environment) DO UPDATE SET \
     access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
     expires_at_ms = excluded.expires_at_ms, api_domain = excluded.api_domain, \
     accounts_server = excluded.accounts_server, scopes = excluded.scopes, \
     updated_at_ms = excluded.updated_at_ms";

#[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
impl StoredRow {
    /// Converts a token for storage, sealing its secrets with `cipher` if given.
    pub(crate) fn from_token(token: &Token, cipher: Option<&Cipher>) -> Result<Self, StoreError> {
        let key = &token.key;
        let seal = |column: &str, value: Option<&str>| -> Result<Option<SecretString>, StoreError> {
            match value.map(SecretString::new) {
                None => Ok(None),
                Some(secret) => match cipher {
                    None => Ok(Some(secret)),
                    #[cfg(feature = "encryption")]
                    Some(c) => c.seal(key, column, &secret).map(Some),
                    #[cfg(not(feature = "encryption"))]
                    Some(c) => {
                        let _ = column;
                        match *c {}
                    }
                },
            }
        };
        let scopes = serde_json::to_string(&token.scopes).map_err(|e| StoreError::Corrupt {
            key: key.to_string(),
            reason: format!("scopes could not be encoded: {e}"),
        })?;
        Ok(Self {
            user_key: key.user.clone(),
            dc: key.dc.location().to_owned(),
            environment: key.environment.as_str().to_owned(),
            access_token: seal("access_token", token.access_token.as_ref().map(AccessToken::expose))?,
            refresh_token: seal("refresh_token", token.refresh_token.as_ref().map(RefreshToken::expose))?,
            expires_at_ms: token.expires_at_ms,
            api_domain: token.api_domain.clone(),
            accounts_server: token.accounts_server.clone(),
            scopes,
            created_at_ms: token.created_at_ms,
            updated_at_ms: token.updated_at_ms,
        })
    }

    /// Turns a stored row back into a token, opening sealed secrets with `cipher`.
    pub(crate) fn into_token(self, cipher: Option<&Cipher>) -> Result<Token, StoreError> {
        let raw_key = || format!("{}@{}/{}", self.user_key, self.dc, self.environment);
        let dc = dc_from_location(&self.dc).ok_or_else(|| StoreError::Corrupt {
            key: raw_key(),
            reason: format!("unknown data center {:?}", self.dc),
        })?;
        let environment = env_from_str(&self.environment).ok_or_else(|| StoreError::Corrupt {
            key: raw_key(),
            reason: format!("unknown environment {:?}", self.environment),
        })?;
        let key = TokenKey::new(self.user_key.clone(), dc, environment);
        let scopes: Vec<String> = serde_json::from_str(&self.scopes).map_err(|e| StoreError::Corrupt {
            key: key.to_string(),
            reason: format!("scopes column is not a JSON list of strings: {e}"),
        })?;
        let open = |column: &str, value: Option<SecretString>| -> Result<Option<SecretString>, StoreError> {
            let Some(value) = value else { return Ok(None) };
            let sealed = value.expose().starts_with(SEALED_PREFIX);
            match (cipher, sealed) {
                (None, false) => Ok(Some(value)),
                (None, true) => Err(StoreError::CipherRequired { key: key.to_string() }),
                #[cfg(feature = "encryption")]
                (Some(_), false) => Err(StoreError::NotSealed { key: key.to_string() }),
                #[cfg(feature = "encryption")]
                (Some(c), true) => c.open(&key, column, &value).map(Some),
                #[cfg(not(feature = "encryption"))]
                (Some(c), _) => {
                    let _ = column;
                    match *c {}
                }
            }
        };
        let access_token = open("access_token", self.access_token)?.map(|s| AccessToken::new(s.expose()));
        let refresh_token = open("refresh_token", self.refresh_token)?.map(|s| RefreshToken::new(s.expose()));
        Ok(Token {
            key,
            access_token,
            refresh_token,
            expires_at_ms: self.expires_at_ms,
            api_domain: self.api_domain,
            accounts_server: self.accounts_server,
            scopes,
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(user: &str, access: &str) -> Token {
        Token {
            key: TokenKey::new(user, DataCenter::Eu, Environment::Sandbox),
            access_token: Some(AccessToken::new(access)),
            refresh_token: Some(RefreshToken::new("1000.refresh")),
            expires_at_ms: 5,
            api_domain: "https://sandbox.zohoapis.eu".into(),
            accounts_server: "https://accounts.zoho.eu".into(),
            scopes: vec!["ZohoCRM.modules.ALL".into()],
            created_at_ms: 1,
            updated_at_ms: 2,
        }
    }

    #[test]
    fn identifiers() {
        for ok in ["t", "_t1", "zohocrm_tokens", &"a".repeat(63)] {
            assert!(validate_identifier("table", ok).is_ok(), "{ok}");
        }
        for bad in ["", "1t", "t-1", "t;drop", "\"t\"", "t t", &"a".repeat(64), "té"] {
            assert!(validate_identifier("table", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn row_round_trip_and_corrupt_rows() {
        let row = StoredRow::from_token(&token("u", "at"), None).unwrap();
        assert_eq!(row.scopes, r#"["ZohoCRM.modules.ALL"]"#);
        assert_eq!((row.dc.as_str(), row.environment.as_str()), ("eu", "sandbox"));
        let back = row.into_token(None).unwrap();
        assert_eq!(back.access_token.unwrap().expose(), "at");

        let mut row = StoredRow::from_token(&token("u", "at"), None).unwrap();
        row.dc = "uk".into();
        let err = row.into_token(None).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");

        let mut row = StoredRow::from_token(&token("u", "at"), None).unwrap();
        row.access_token = Some(SecretString::new(format!("{SEALED_PREFIX}00")));
        let err = row.into_token(None).unwrap_err();
        assert!(matches!(err, StoreError::CipherRequired { .. }), "{err}");
    }

    #[tokio::test]
    async fn key_locks_clean_up() {
        let locks = KeyLocks::default();
        let k = token("u", "a").key;
        let g = locks.lock(&k).await;
        assert_eq!(locks.map.lock().unwrap().len(), 1);
        drop(g);
        assert_eq!(locks.map.lock().unwrap().len(), 0);
    }
}
