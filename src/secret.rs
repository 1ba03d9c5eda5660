//! Secrets: client secrets, authorization codes, CSRF state, access and refresh tokens.
//!
//! Each role has its own type — [`ClientSecret`], [`AuthorizationCode`], [`CsrfState`],
//! [`AccessToken`], [`RefreshToken`] — so the compiler stops an access token from being passed
//! where a refresh token is expected. [`SecretString`] is the untyped building block (and what
//! other secrets, such as a sealed store column, use).
//!
//! Every secret type never shows its value in `Debug` or `Display`, is zeroized on drop and has
//! no `PartialEq` (compare with `ct_eq`, in constant time, when you must). The value is
//! reachable only through `expose`, so every place that reads a secret is greppable.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// The text shown instead of a secret.
pub const REDACTED: &str = "[redacted]";

/// A string that must not leak: redacted in `Debug`/`Display`, zeroized on drop.
///
/// ```
/// use zohocrm::SecretString;
/// let s = SecretString::new("1000.abc.def");
/// assert_eq!(format!("{s:?}"), "SecretString([redacted])");
/// assert_eq!(s.to_string(), "[redacted]");
/// assert_eq!(s.expose(), "1000.abc.def");
/// ```
#[derive(Clone, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Use it only to put it on the wire or into a store.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Compares two secrets in time independent of where they differ.
    pub fn ct_eq(&self, other: &SecretString) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretString({REDACTED})")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Serializes the real value: serialization is how a secret reaches the wire or a store.
impl Serialize for SecretString {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for SecretString {
    fn schema_name() -> String {
        "Secret".to_owned()
    }

    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        String::json_schema(generator)
    }
}

/// Defines a role-typed secret over [`SecretString`].
macro_rules! role_secret {
    ($(#[$doc:meta])* $name:ident, $schema:literal) => {
        $(#[$doc])*
        ///
        /// Redacted in `Debug` and `Display`, zeroized on drop, no `==` (use `ct_eq`);
        /// serializes its real value (serialization is how it reaches the wire or a store).
        #[derive(Clone, Default, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(SecretString);

        impl $name {
            /// Wraps a secret value.
            pub fn new(value: impl Into<String>) -> Self {
                Self(SecretString::new(value))
            }

            /// The secret value. Use it only to put it on the wire or into a store.
            pub fn expose(&self) -> &str {
                self.0.expose()
            }

            /// Whether the secret is the empty string.
            pub fn is_empty(&self) -> bool {
                self.0.is_empty()
            }

            /// Compares two secrets of this role in time independent of where they differ.
            pub fn ct_eq(&self, other: &Self) -> bool {
                self.0.ct_eq(&other.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), REDACTED)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(REDACTED)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(SecretString::from(value))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(SecretString::from(value))
            }
        }

        #[cfg(feature = "schemars")]
        impl schemars::JsonSchema for $name {
            fn schema_name() -> String {
                $schema.to_owned()
            }

            fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
                String::json_schema(generator)
            }
        }
    };
}

role_secret!(
    /// An OAuth client secret (one per data center; see [`crate::ClientCredentials`]).
    ClientSecret,
    "ClientSecret"
);
role_secret!(
    /// An OAuth authorization code: from Zoho's redirect, or a Self Client grant code.
    AuthorizationCode,
    "AuthorizationCode"
);
role_secret!(
    /// The CSRF `state` value that ties Zoho's redirect to the authorization it answers.
    CsrfState,
    "CsrfState"
);
role_secret!(
    /// An OAuth access token (`Authorization: Zoho-oauthtoken …`, valid for an hour).
    AccessToken,
    "AccessToken"
);
role_secret!(
    /// An OAuth refresh token (long-lived; mints access tokens).
    RefreshToken,
    "RefreshToken"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_the_value() {
        let s = SecretString::new("hunter2-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
        assert!(!format!("{s:#?}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2-secret\"");
    }

    #[test]
    fn role_types_never_show_the_value_and_name_their_role() {
        let rt = RefreshToken::new("1000.refresh-secret");
        assert_eq!(format!("{rt:?}"), "RefreshToken([redacted])");
        assert_eq!(rt.to_string(), "[redacted]");
        assert_eq!(rt.expose(), "1000.refresh-secret");
        assert_eq!(serde_json::to_string(&rt).unwrap(), "\"1000.refresh-secret\"");
        let back: RefreshToken = serde_json::from_str("\"1000.x\"").unwrap();
        assert!(back.ct_eq(&RefreshToken::from("1000.x")));
        for text in [
            format!("{:?}", ClientSecret::new("cs-secret")),
            format!("{:?}", AuthorizationCode::new("code-secret")),
            format!("{:?}", CsrfState::new("state-secret")),
            format!("{:#?}", AccessToken::new("at-secret")),
        ] {
            assert!(!text.contains("secret"), "{text}");
        }
    }

    #[test]
    fn constant_time_equality() {
        assert!(SecretString::new("abc").ct_eq(&SecretString::new("abc")));
        assert!(!SecretString::new("abc").ct_eq(&SecretString::new("abd")));
        assert!(!SecretString::new("abc").ct_eq(&SecretString::new("abcd")));
    }
}
