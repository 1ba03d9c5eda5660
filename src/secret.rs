//! Secret strings: client secrets, authorization codes, access and refresh tokens.
//!
//! [`SecretString`] never shows its value in `Debug` or `Display`, is zeroized on drop and has
//! no `PartialEq` (compare with [`SecretString::ct_eq`], in constant time, when you must).
//! The value is reachable only through [`SecretString::expose`], so every place that reads a
//! secret is greppable.

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
    fn constant_time_equality() {
        assert!(SecretString::new("abc").ct_eq(&SecretString::new("abc")));
        assert!(!SecretString::new("abc").ct_eq(&SecretString::new("abd")));
        assert!(!SecretString::new("abc").ct_eq(&SecretString::new("abcd")));
    }
}
