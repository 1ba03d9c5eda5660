//! A token as it sits in a table ([`StoredRow`]): the shared column list and upsert, decoding
//! of either driver's rows through [`RowSource`], and sealing/opening of the secret columns
//! with the store's cipher.

use crate::secret::{AccessToken, RefreshToken, SecretString};
use crate::store::{SEALED_PREFIX, StoreError};
use crate::token::Token;

/// The column list shared by both SQL stores, in [`StoredRow`] order.
pub(crate) const COLUMNS: &str = "user_key, dc, environment, access_token, refresh_token, expires_at_ms, \
     api_domain, accounts_server, scopes, created_at_ms, updated_at_ms";

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 11;

/// The `ON CONFLICT` clause of the upsert shared by both SQL stores (keeps `created_at_ms`).
pub(crate) const UPSERT_TAIL: &str = "ON CONFLICT (user_key, dc, environment) DO UPDATE SET \
     access_token = excluded.access_token, refresh_token = excluded.refresh_token, \
     expires_at_ms = excluded.expires_at_ms, api_domain = excluded.api_domain, \
     accounts_server = excluded.accounts_server, scopes = excluded.scopes, \
     updated_at_ms = excluded.updated_at_ms";

/// The cipher type the stores hold: [`crate::store::TokenCipher`] with `encryption`.
#[cfg(feature = "encryption")]
pub(crate) type Cipher = crate::store::TokenCipher;
/// The cipher type the stores hold: uninhabited without `encryption` (so it is always `None`).
#[cfg(not(feature = "encryption"))]
#[derive(Clone, Debug)]
pub(crate) enum Cipher {}

/// A driver's result row, read by column index (in [`COLUMNS`] order for [`StoredRow`]).
pub(crate) trait RowSource {
    /// The driver's error.
    type Error;
    /// A `TEXT NOT NULL` column.
    fn text(&self, index: usize) -> Result<String, Self::Error>;
    /// A nullable `TEXT` column.
    fn optional_text(&self, index: usize) -> Result<Option<String>, Self::Error>;
    /// A 64-bit integer column.
    fn int(&self, index: usize) -> Result<i64, Self::Error>;
}

/// A token as it sits in a table: strings and integers, token columns sealed if configured.
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

// Token's role-typed secrets <-> column values: the only place the SQL stores name them.

fn access_column(token: &Token) -> Option<SecretString> {
    token.access_token.as_ref().map(|t| SecretString::new(t.expose()))
}

fn refresh_column(token: &Token) -> Option<SecretString> {
    token.refresh_token.as_ref().map(|t| SecretString::new(t.expose()))
}

fn access_field(column: SecretString) -> AccessToken {
    AccessToken::new(column.expose())
}

fn refresh_field(column: SecretString) -> RefreshToken {
    RefreshToken::new(column.expose())
}

impl StoredRow {
    /// Reads the columns of [`COLUMNS`] from a driver's row.
    pub(crate) fn decode<R: RowSource>(r: &R) -> Result<Self, R::Error> {
        Ok(Self {
            user_key: r.text(0)?,
            dc: r.text(1)?,
            environment: r.text(2)?,
            access_token: r.optional_text(3)?.map(SecretString::new),
            refresh_token: r.optional_text(4)?.map(SecretString::new),
            expires_at_ms: r.int(5)?,
            api_domain: r.text(6)?,
            accounts_server: r.text(7)?,
            scopes: r.text(8)?,
            created_at_ms: r.int(9)?,
            updated_at_ms: r.int(10)?,
        })
    }

    /// The secret columns as text, for binding (`access_token`, `refresh_token`).
    pub(crate) fn exposed_secrets(&self) -> (Option<&str>, Option<&str>) {
        (self.access_token.as_ref().map(SecretString::expose), self.refresh_token.as_ref().map(SecretString::expose))
    }

    /// Converts a token for storage, sealing its secrets with `cipher` if given.
    pub(crate) fn from_token(token: &Token, cipher: Option<&Cipher>) -> Result<Self, StoreError> {
        let key = &token.key;
        let seal = |column: &str, value: Option<SecretString>| -> Result<Option<SecretString>, StoreError> {
            let Some(secret) = value else { return Ok(None) };
            match cipher {
                None => Ok(Some(secret)),
                #[cfg(feature = "encryption")]
                Some(c) => c.seal(key, column, &secret).map(Some),
                #[cfg(not(feature = "encryption"))]
                Some(c) => {
                    let _ = column;
                    match *c {}
                }
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
            access_token: seal("access_token", access_column(token))?,
            refresh_token: seal("refresh_token", refresh_column(token))?,
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
        let key = super::parse_key(self.user_key, &self.dc, &self.environment)?;
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
        let access_token = open("access_token", self.access_token)?.map(access_field);
        let refresh_token = open("refresh_token", self.refresh_token)?.map(refresh_field);
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
    use crate::dc::{DataCenter, Environment};
    use crate::token::TokenKey;

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
    fn column_count_matches_the_list() {
        assert_eq!(COLUMNS.split(',').count(), COLUMN_COUNT);
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
}
