//! What the SQLite and PostgreSQL stores share: the SQL dialect differences in one
//! [`Dialect`], the statements built from it, key and identifier checks, how a lease ends
//! ([`Finish`]), row encoding ([`row`]), schema bookkeeping ([`migrate`]) and the Zoho DBStore
//! reader's column mapping ([`dbstore`]).
//!
//! Each backend keeps only what is its own: connections, its lease mechanism and error
//! mapping of its driver.

pub(crate) mod dbstore;
pub(crate) mod migrate;
pub(crate) mod row;

use super::StoreError;
use crate::dc::{DataCenter, Environment};
use crate::token::{Token, TokenKey};

/// The SQL differences between the two backends.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dialect {
    /// `SQLite` or `PostgreSQL`, for error messages.
    pub backend: &'static str,
    /// A positional parameter, 1-based: `?1` or `$1`.
    pub placeholder: fn(usize) -> String,
    /// The 64-bit integer column type.
    pub bigint: &'static str,
    /// Appended to `CREATE TABLE (...)` of keyed tables.
    pub keyed_table_options: &'static str,
    /// The first parameter compared with `IS NULL` (PostgreSQL needs its type).
    pub nullable_text_param: &'static str,
}

/// SQLite: `?1` placeholders, `INTEGER`, `WITHOUT ROWID` tables.
#[cfg(feature = "sqlite")]
pub(crate) const SQLITE: Dialect = Dialect {
    backend: "SQLite",
    placeholder: |i| format!("?{i}"),
    bigint: "INTEGER",
    keyed_table_options: " WITHOUT ROWID",
    nullable_text_param: "?1",
};

/// PostgreSQL: `$1` placeholders, `BIGINT`.
#[cfg(feature = "postgres")]
pub(crate) const POSTGRES: Dialect = Dialect {
    backend: "PostgreSQL",
    placeholder: |i| format!("${i}"),
    bigint: "BIGINT",
    keyed_table_options: "",
    nullable_text_param: "$1::text",
};

impl Dialect {
    /// `?1, ?2, …, ?n` or `$1, …, $n`.
    fn placeholders(&self, n: usize) -> String {
        (1..=n).map(self.placeholder).collect::<Vec<_>>().join(", ")
    }

    /// `user_key = ?1 AND dc = ?2 AND environment = ?3` (the key's columns, in
    /// [`key_params`] order).
    pub(crate) fn key_match(&self) -> String {
        let p = self.placeholder;
        format!("user_key = {} AND dc = {} AND environment = {}", p(1), p(2), p(3))
    }
}

/// The token-table statements, built once from a validated (and, for PostgreSQL,
/// schema-qualified and quoted) table name.
pub(crate) struct Statements {
    /// One row by key: the columns of [`row::COLUMNS`].
    pub get: String,
    /// Upsert of one row (keeps `created_at_ms`): the parameters of [`row::COLUMNS`].
    pub put: String,
    /// Delete one row by key.
    pub delete: String,
    /// Every key, or one user's (`NULL` first parameter: all), sorted.
    pub list: String,
}

impl Statements {
    /// The statements for `table`, a quoted (qualified) table name.
    pub(crate) fn new(dialect: &Dialect, table: &str) -> Self {
        let columns = row::COLUMNS;
        let upsert = row::UPSERT_TAIL;
        let key = dialect.key_match();
        let values = dialect.placeholders(row::COLUMN_COUNT);
        let (p1, user_null) = ((dialect.placeholder)(1), dialect.nullable_text_param);
        Self {
            get: format!("SELECT {columns} FROM {table} WHERE {key}"),
            put: format!("INSERT INTO {table} ({columns}) VALUES ({values}) {upsert}"),
            delete: format!("DELETE FROM {table} WHERE {key}"),
            list: format!(
                "SELECT user_key, dc, environment FROM {table} WHERE ({user_null} IS NULL OR user_key = {p1}) ORDER BY user_key, dc, environment"
            ),
        }
    }
}

/// A key as the three key-column parameters (user, data center location, environment).
pub(crate) fn key_params(key: &TokenKey) -> (&str, &str, &str) {
    (key.user.as_str(), key.dc.location(), key.environment.as_str())
}

/// A key back from its three columns; unknown data centers or environments are
/// [`StoreError::Corrupt`].
pub(crate) fn parse_key(user: String, dc: &str, environment: &str) -> Result<TokenKey, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { key: format!("{user}@{dc}/{environment}"), reason };
    let dc_v = DataCenter::ALL
        .into_iter()
        .find(|d| d.location() == dc)
        .ok_or_else(|| corrupt(format!("unknown data center {dc:?}")))?;
    let env_v = Environment::ALL
        .into_iter()
        .find(|e| e.as_str() == environment)
        .ok_or_else(|| corrupt(format!("unknown environment {environment:?}")))?;
    Ok(TokenKey::new(user, dc_v, env_v))
}

/// Accepts `name` as a table or schema name only if it is a plain identifier.
pub(crate) fn validate_identifier(what: &'static str, name: &str) -> Result<(), StoreError> {
    let mut chars = name.chars();
    let ok = name.len() <= 63
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok { Ok(()) } else { Err(StoreError::InvalidIdentifier { what, name: name.to_owned() }) }
}

/// How a refresh lease ends; `T` is the token (owned where the work moves to another thread).
pub(crate) enum Finish<T> {
    /// Write this token (insert or update), then give the lease back.
    Write(T),
    /// Delete the key's token row, then give the lease back.
    Delete,
    /// Give the lease back without writing.
    Release,
}

impl<T> Finish<T> {
    /// What the store is doing, for error messages.
    pub(crate) fn action(&self) -> &'static str {
        match self {
            Self::Write(_) => "commit the refreshed token",
            Self::Delete => "delete a token under the lease",
            Self::Release => "release the refresh lease",
        }
    }
}

/// Whether the row stored `now` still holds the connection a lease read when it was granted
/// (`then`): the same grant, that is the same refresh token (for an online grant, which has
/// none, the same access token), and not removed or created meanwhile. A lease that lost its
/// lock ends only then, so its late commit cannot undo a newer consent or a disconnect, while
/// a refresh of the same grant meanwhile does not stop it (both tokens are valid; a new
/// consent committed late must still win over such a refresh). [`StoreError::LeaseLost`]
/// otherwise.
pub(crate) fn unchanged_since_lease(now: Option<&Token>, then: Option<&Token>) -> bool {
    match (now, then) {
        (None, None) => true,
        (Some(now), Some(then)) => match (&now.refresh_token, &then.refresh_token) {
            (Some(a), Some(b)) => a.ct_eq(b),
            (None, None) => match (&now.access_token, &then.access_token) {
                (Some(a), Some(b)) => a.ct_eq(b),
                (None, None) => true,
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

/// [`unchanged_since_lease`] on the row as read now (`now`), for a lease that read `then`, or
/// a row it could not read (`then_unreadable`): a row unreadable then and now is unchanged (a
/// late consent still replaces it), one that became readable or unreadable meanwhile is not.
pub(crate) fn still_as_leased(
    now: Result<Option<Token>, crate::store::StoreError>,
    then: Option<&Token>,
    then_unreadable: bool,
) -> Result<bool, crate::store::StoreError> {
    match lease_read(now)? {
        (_, Some(_)) => Ok(then_unreadable),
        (now, None) => Ok(!then_unreadable && unchanged_since_lease(now.as_ref(), then)),
    }
}

/// The refusal of a lost lease's late end: see [`unchanged_since_lease`].
pub(crate) fn lease_lost<T>(backend: &'static str, key: &TokenKey, finish: &Finish<T>) -> StoreError {
    StoreError::LeaseLost { backend, action: finish.action(), key: key.to_string() }
}

/// A driver error as a [`StoreError::Database`] source: boxed, so no driver type shows in the
/// store's API.
pub(crate) fn database_error(
    backend: &'static str,
    action: &'static str,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> StoreError {
    StoreError::Database { backend, action, source: source.into() }
}

/// The row a lease read: one that cannot be read (corrupt, sealed with another key) is no
/// token, and its error is kept for [`SqlLease::take_unreadable`], so the lease can still
/// replace or delete it. Any other error fails the lease.
pub(crate) fn lease_read(
    read: Result<Option<crate::token::Token>, crate::store::StoreError>,
) -> Result<LeaseRead, crate::store::StoreError> {
    match read {
        Ok(current) => Ok((current, None)),
        Err(e) if e.is_unreadable_row() => Ok((None, Some(e))),
        Err(e) => Err(e),
    }
}

/// What a lease read: the token, or why the row could not be read.
pub(crate) type LeaseRead = (Option<crate::token::Token>, Option<crate::store::StoreError>);

/// What differs between the SQLite and the PostgreSQL lease; [`Ending`] makes either a
/// [`RefreshLease`](crate::store::RefreshLease), whose commit, delete and release all end the
/// lease through [`SqlLease::finish`].
#[async_trait::async_trait]
pub(crate) trait SqlLease: Send + Sync {
    /// The key the lease is for.
    fn key(&self) -> &crate::token::TokenKey;

    /// The token as stored when the lease was granted.
    fn current(&self) -> Option<&crate::token::Token>;

    /// Why the stored row could not be read, if it could not (taken once).
    fn take_unreadable(&mut self) -> Option<crate::store::StoreError>;

    /// Runs `finish` as one atomic statement and gives the lease back; `true` if a row was
    /// deleted.
    async fn finish(self: Box<Self>, finish: Finish<&crate::token::Token>) -> Result<bool, crate::store::StoreError>;
}

/// A [`SqlLease`] as a [`RefreshLease`](crate::store::RefreshLease).
pub(crate) struct Ending<L>(pub(crate) Box<L>);

#[async_trait::async_trait]
impl<L: SqlLease + 'static> crate::store::RefreshLease for Ending<L> {
    fn current(&self) -> Option<&crate::token::Token> {
        self.0.current()
    }

    fn take_unreadable(&mut self) -> Option<crate::store::StoreError> {
        self.0.take_unreadable()
    }

    async fn commit(self: Box<Self>, token: &crate::token::Token) -> Result<(), crate::store::StoreError> {
        let lease = self.0;
        // A token for another key is refused, and the lease given back.
        if let Err(e) = crate::store::locks::check_lease_key(lease.key(), token) {
            lease.finish(Finish::Release).await?;
            return Err(e);
        }
        lease.finish(Finish::Write(token)).await.map(drop)
    }

    async fn delete(self: Box<Self>) -> Result<bool, crate::store::StoreError> {
        self.0.finish(Finish::Delete).await
    }

    async fn release(self: Box<Self>) -> Result<(), crate::store::StoreError> {
        self.0.finish(Finish::Release).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn keys_parse_back_or_are_corrupt() {
        let k = parse_key("ann".into(), "eu", "sandbox").unwrap();
        assert_eq!(key_params(&k), ("ann", "eu", "sandbox"));
        let err = parse_key("ann".into(), "uk", "sandbox").unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { ref key, .. } if key == "ann@uk/sandbox"), "{err}");
        assert!(matches!(parse_key("ann".into(), "eu", "prod"), Err(StoreError::Corrupt { .. })));
    }

    #[cfg(all(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn statements_in_both_dialects() {
        let s = Statements::new(&SQLITE, "\"t\"");
        assert!(s.get.ends_with("WHERE user_key = ?1 AND dc = ?2 AND environment = ?3"), "{}", s.get);
        assert!(s.put.contains("VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) ON CONFLICT"), "{}", s.put);
        assert!(s.list.contains("WHERE (?1 IS NULL OR user_key = ?1)"), "{}", s.list);
        let p = Statements::new(&POSTGRES, "\"s\".\"t\"");
        assert!(p.delete.ends_with("WHERE user_key = $1 AND dc = $2 AND environment = $3"), "{}", p.delete);
        assert!(p.list.contains("WHERE ($1::text IS NULL OR user_key = $1)"), "{}", p.list);
    }
}
