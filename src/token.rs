//! OAuth tokens as the SDK keeps them: [`Token`] (secrets redacted) and its key [`TokenKey`].

use std::fmt;

use crate::dc::{DataCenter, Environment};
use crate::secret::{AccessToken, RefreshToken};

/// Identifies one connection: an application user in one data center and environment.
///
/// `user` is the application's own key for the user (its user id, an email, ...). The same
/// user may connect a production and a sandbox org: those are two keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct TokenKey {
    /// The application's key for the user.
    pub user: String,
    /// Where the user's Zoho account lives.
    pub dc: DataCenter,
    /// Which org of that account the token is for.
    pub environment: Environment,
}

impl TokenKey {
    /// A key for `user` in `dc` and `environment`.
    pub fn new(user: impl Into<String>, dc: DataCenter, environment: Environment) -> Self {
        Self { user: user.into(), dc, environment }
    }
}

impl fmt::Display for TokenKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}/{}", self.user, self.dc, self.environment)
    }
}

/// A Zoho OAuth token with everything needed to use and refresh it.
///
/// Secrets are role-typed ([`AccessToken`], [`RefreshToken`]): `Debug` never shows them, they are zeroized on drop and
/// there is no `PartialEq` (compare keys and expiry instead).
#[derive(Clone, Debug)]
pub struct Token {
    /// Whose token this is, and for which data center and environment.
    pub key: TokenKey,
    /// The access token (`Authorization: Zoho-oauthtoken …`); `None` after it was invalidated.
    pub access_token: Option<AccessToken>,
    /// The refresh token; `None` for online grants (which cannot refresh).
    pub refresh_token: Option<RefreshToken>,
    /// When the access token expires, in Unix epoch milliseconds.
    pub expires_at_ms: i64,
    /// The CRM API base for this token (`https://www.zohoapis.eu`, ...), as Zoho returned it.
    pub api_domain: String,
    /// The accounts server of the user's data center (`https://accounts.zoho.eu`, ...).
    pub accounts_server: String,
    /// Granted scopes, as requested or as Zoho reported them.
    pub scopes: Vec<String>,
    /// When the connection was first stored, Unix epoch milliseconds.
    pub created_at_ms: i64,
    /// When the token was last written, Unix epoch milliseconds.
    pub updated_at_ms: i64,
}

impl Token {
    /// Milliseconds of validity left at `now_ms` (negative when expired; saturating, so an
    /// imported row with an absurd expiry cannot overflow it).
    pub fn remaining_ms(&self, now_ms: i64) -> i64 {
        self.expires_at_ms.saturating_sub(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dc::{DataCenter, Environment};

    fn token(expires_at_ms: i64) -> Token {
        Token {
            key: TokenKey::new("u", DataCenter::Us, Environment::Production),
            access_token: None,
            refresh_token: None,
            expires_at_ms,
            api_domain: String::new(),
            accounts_server: String::new(),
            scopes: Vec::new(),
            created_at_ms: 0,
            updated_at_ms: 0,
        }
    }

    #[test]
    fn remaining_time_saturates_instead_of_overflowing() {
        // An imported row may carry any i64 expiry; the arithmetic must not panic or wrap.
        assert_eq!(token(i64::MIN).remaining_ms(1), i64::MIN);
        assert_eq!(token(i64::MAX).remaining_ms(-1), i64::MAX);
        assert_eq!(token(10_000).remaining_ms(4_000), 6_000);
        assert_eq!(token(1_000).remaining_ms(4_000), -3_000);
    }
}
