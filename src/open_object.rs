//! One-pass decoding of open objects, used by the generated types.
//!
//! Zoho's objects are open: a record, a user or a module carries the fields the spec types
//! plus any number of others (custom fields), which the generated types keep in a
//! `#[serde(flatten)]` map. serde's derived `flatten` buffers the whole object in its private
//! content tree before building the struct — and again for every nested open object — so
//! `build.rs` gives those types a `Deserialize` that streams the object once: each known key
//! is decoded straight into its field, every other key into the map. [`Key`] reads the keys
//! without allocating when the input lets it borrow them.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Error, Visitor};

/// An object key: borrowed from the input when it can be, owned when it had to be unescaped.
pub(crate) struct Key<'de>(Cow<'de, str>);

impl Key<'_> {
    /// The key.
    #[inline]
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as an owned string (for the map of unknown fields).
    #[inline]
    pub(crate) fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }

            #[inline]
            fn visit_borrowed_str<E: Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            #[inline]
            fn visit_str<E: Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            #[inline]
            fn visit_string<E: Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_borrow_when_they_can_and_unescape_when_they_must() {
        let plain: Key<'_> = serde_json::from_str("\"Last_Name\"").unwrap();
        assert!(matches!(plain.0, Cow::Borrowed("Last_Name")));
        let escaped: Key<'_> = serde_json::from_str("\"A\\u0042\"").unwrap();
        assert_eq!(escaped.as_str(), "AB");
        assert_eq!(escaped.into_string(), "AB");
    }

    #[test]
    fn open_objects_keep_unknown_fields_and_name_wrong_types() {
        let user: crate::crm::types::User = serde_json::from_value(serde_json::json!({
            "id": "1", "confirm": true, "status": null, "Custom_Field": [1, 2], "profile": {"id": "9", "name": "Admin", "x": 1}
        }))
        .unwrap();
        assert_eq!(user.id.as_deref(), Some("1"));
        assert_eq!(user.confirm, Some(true));
        assert!(user.status.is_none());
        assert_eq!(user.extra.len(), 1, "{:?}", user.extra);
        assert_eq!(user.profile.as_ref().map(|p| p.extra.len()), Some(1));
        let text = r#"{"users":[{"id":"1"},{"id":"2","confirm":"yes"}]}"#;
        let err = serde_path_to_error::deserialize::<_, crate::crm::types::UsersResponse>(
            &mut serde_json::Deserializer::from_str(text),
        )
        .unwrap_err();
        assert_eq!(err.path().to_string(), "users[1].confirm");
    }
}
