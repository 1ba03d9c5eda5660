//! [`StoreError`]: every way a token store can fail, with messages that say what to do and
//! never contain token values. Driver errors are boxed as sources, so no driver type appears
//! in the store's API.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

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
    /// A refresh lease ended after it had lost its lock (it was held past the store's limit,
    /// or its database session ended), and another writer stored another grant for the key
    /// (a new consent) or removed it meanwhile: the late commit or delete was refused, so it
    /// cannot undo that newer write. Nothing was
    /// written; read the stored token again.
    LeaseLost {
        /// `SQLite` or `PostgreSQL`.
        backend: &'static str,
        /// What the lease was ending with.
        action: &'static str,
        /// The key, as `user@dc/environment`.
        key: String,
    },
    /// Importing tokens from a Zoho SDK store failed.
    Import {
        /// The 1-based line (CSV) or row number (database) that failed; 0 for the whole input.
        line: usize,
        /// What is wrong and what to do.
        reason: String,
    },
}

impl StoreError {
    /// Whether this error is about one stored row that cannot be turned back into a token
    /// (corrupt, sealed with another key, sealed without a cipher, plaintext under a cipher),
    /// rather than about the store itself. A refresh lease still takes such a row, so a new
    /// consent can replace it and a disconnect can remove it
    /// ([`RefreshLease::take_unreadable`](super::RefreshLease::take_unreadable)).
    pub fn is_unreadable_row(&self) -> bool {
        matches!(
            self,
            Self::Corrupt { .. } | Self::WrongKey { .. } | Self::CipherRequired { .. } | Self::NotSealed { .. }
        )
    }
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
            Self::LeaseLost { backend, action, key } => write!(
                f,
                "{backend} token store did not {action} for {key}: the refresh lease was lost (held past its limit, or its database session ended) and another writer has since stored another grant or removed it; nothing was written, read the stored token again"
            ),
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
