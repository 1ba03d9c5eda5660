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

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

use std::fmt;
use std::sync::Arc;

use crate::token::{Token, TokenKey};

#[cfg(feature = "encryption")]
mod cipher;
mod error;
pub mod import;
mod locks;
mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "encryption")]
pub use cipher::TokenCipher;
/// The connection pool crate the PostgreSQL store uses, for [`PostgresStore::from_pool`].
#[cfg(feature = "postgres")]
pub use deadpool_postgres;
pub use error::StoreError;
pub use import::{ImportOptions, ImportReport, SkippedRow, ZohoTokenRow, import_zoho_filestore, import_zoho_rows};
pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresOptions, PostgresStore, SslMode};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore};

/// Prefix of a sealed token column value: `zc1:` + lowercase hex of key id || nonce ||
/// ciphertext (see `TokenCipher`). The SQL stores refuse such a value without a cipher.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) const SEALED_PREFIX: &str = "zc1:";

/// Persistent storage for OAuth tokens, keyed by [`TokenKey`].
///
/// Implementations must be safe to share between tasks (`&self`, `Send + Sync`). `put` is an
/// atomic upsert; a failed call leaves the stored row exactly as it was.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync + fmt::Debug + 'static {
    /// The token stored for `key`, if any.
    async fn get(&self, key: &TokenKey) -> Result<Option<Token>, StoreError>;

    /// The token stored for `key`, as a shared handle; what [`crate::manager::TokenManager`] caches.
    ///
    /// The default wraps [`TokenStore::get`]'s copy (the SQL stores decode a fresh row anyway).
    /// A store that keeps its tokens in memory hands out its own, so that it and the manager's
    /// cache hold one copy of each token between them ([`MemoryStore`] does).
    async fn get_shared(&self, key: &TokenKey) -> Result<Option<Arc<Token>>, StoreError> {
        Ok(self.get(key).await?.map(Arc::new))
    }

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
    ///
    /// A lease of the SQL stores can outlive its lock (PostgreSQL's `lease_max_hold` or a
    /// session that ended; an SQLite lease that expired): its late commit writes only if the
    /// row still holds the grant [`current`](Self::current) showed (the same refresh token),
    /// and is refused with [`StoreError::LeaseLost`] if another writer stored another grant or
    /// removed the row meanwhile. The same holds for
    /// [`delete`](Self::delete).
    async fn commit(self: Box<Self>, token: &Token) -> Result<(), StoreError>;

    /// [`commit`](Self::commit), returning the token as now stored, for the manager to cache:
    /// with the first `created_at_ms` of a row that existed (the column a write keeps).
    ///
    /// The default commits, then wraps the token with that column set. A store that keeps its
    /// tokens in memory returns its own handle, so that after a refresh it and the manager's
    /// cache still hold one copy between them ([`MemoryStore`] does).
    async fn commit_shared(self: Box<Self>, token: Token) -> Result<Arc<Token>, StoreError> {
        let first_stored = self.current().map(|current| current.created_at_ms);
        self.commit(&token).await?;
        let mut token = token;
        if let Some(created_at_ms) = first_stored {
            token.created_at_ms = created_at_ms;
        }
        Ok(Arc::new(token))
    }

    /// Atomically deletes the key's row and releases the lock; `true` if a row was removed.
    /// A disconnect goes this way, so a refresh in flight cannot write the token back.
    async fn delete(self: Box<Self>) -> Result<bool, StoreError>;

    /// Releases the lock without writing.
    async fn release(self: Box<Self>) -> Result<(), StoreError>;

    /// Why the stored row could not be read, when it could not
    /// ([`StoreError::is_unreadable_row`]: corrupt, sealed with another key, ...); taken once.
    /// [`current`](Self::current) is then `None`, and [`commit`](Self::commit) replaces the
    /// row and [`delete`](Self::delete) removes it: a user can reconnect (or disconnect) past a
    /// row nobody can read. A refresh reports this error instead of "not connected".
    ///
    /// The default, for stores whose rows are always readable, is `None`.
    fn take_unreadable(&mut self) -> Option<StoreError> {
        None
    }
}
