//! Encryption at rest for token columns: [`TokenCipher`] (XChaCha20-Poly1305, feature
//! `encryption`).
//!
//! A sealed value is `zc1:` followed by lowercase hex of `key id (4) || nonce (24) ||
//! ciphertext+tag`. The nonce is random per value; the associated data binds the value to its
//! row key (user, data center, environment) and column, so a value copied into another row or
//! column does not open. The key id is a keyed fingerprint of the key, which is how a wrong
//! key is told apart from a tampered value.

use std::fmt;
use std::sync::Arc;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroize;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
use super::SEALED_PREFIX;
use super::StoreError;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::secret::SecretString;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::token::TokenKey;

const KEY_ID_LEN: usize = 4;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const NONCE_LEN: usize = 24;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
const TAG_LEN: usize = 16;

/// An application-supplied 256-bit key that seals token columns. Clones share the key; `Debug`
/// shows only the key id.
///
/// ```
/// use zohocrm::store::TokenCipher;
/// let cipher = TokenCipher::from_hex(&"ab".repeat(32)).unwrap();
/// assert!(!format!("{cipher:?}").contains("abab"));
/// assert!(TokenCipher::from_base64("too short").is_err());
/// ```
#[derive(Clone)]
pub struct TokenCipher {
    #[cfg_attr(
        not(any(feature = "sqlite", feature = "postgres")),
        expect(dead_code, reason = "only the SQL stores seal and open; without one a cipher has just its key id")
    )]
    aead: Arc<XChaCha20Poly1305>,
    key_id: [u8; KEY_ID_LEN],
}

impl TokenCipher {
    /// A cipher for a 32-byte key (use random bytes, e.g. `openssl rand -hex 32`).
    pub fn new(mut key: [u8; 32]) -> Self {
        let aead = XChaCha20Poly1305::new((&key).into());
        key.zeroize();
        // Key id: the Poly1305 tag of an empty message under an all-zero nonce and a fixed
        // label; it reveals nothing about the key but differs between keys.
        let tag =
            aead.encrypt(&XNonce::default(), Payload { msg: b"", aad: b"zohocrm token key id v1" }).unwrap_or_default();
        let mut key_id = [0u8; KEY_ID_LEN];
        for (dst, src) in key_id.iter_mut().zip(tag) {
            *dst = src;
        }
        Self { aead: Arc::new(aead), key_id }
    }

    /// A cipher from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, StoreError> {
        let mut bytes = crate::encoding::hex_decode(text.trim())
            .ok_or_else(|| StoreError::InvalidKey { reason: "not hex (expected 64 hex digits)".into() })?;
        Self::from_bytes(&mut bytes, "64 hex digits")
    }

    /// A cipher from base64 (standard or URL-safe alphabet, padding optional) of 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, StoreError> {
        let mut bytes = crate::encoding::base64_decode(text.trim())
            .ok_or_else(|| StoreError::InvalidKey { reason: "not base64 (expected 44 characters)".into() })?;
        Self::from_bytes(&mut bytes, "44 base64 characters")
    }

    fn from_bytes(bytes: &mut Vec<u8>, expected: &str) -> Result<Self, StoreError> {
        let result = <[u8; 32]>::try_from(bytes.as_slice())
            .map(Self::new)
            .map_err(|_| StoreError::InvalidKey { reason: format!("{} bytes, expected 32 ({expected})", bytes.len()) });
        bytes.zeroize();
        result
    }

    /// A short public fingerprint of the key (8 hex digits), to tell keys apart in logs.
    pub fn key_id(&self) -> String {
        crate::encoding::hex_encode(&self.key_id)
    }

    /// Seals `value` for `column` of the row `key`.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn seal(&self, key: &TokenKey, column: &str, value: &SecretString) -> Result<SecretString, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce)
            .map_err(|e| StoreError::Encrypt { reason: format!("no random nonce available: {e}") })?;
        let aad = associated_data(key, column);
        let sealed = self
            .aead
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: value.expose().as_bytes(), aad: &aad })
            .map_err(|_| StoreError::Encrypt { reason: "the cipher refused the value".into() })?;
        let mut out = String::with_capacity(SEALED_PREFIX.len() + 2 * (KEY_ID_LEN + NONCE_LEN + sealed.len()));
        out.push_str(SEALED_PREFIX);
        out.push_str(&crate::encoding::hex_encode(&self.key_id));
        out.push_str(&crate::encoding::hex_encode(&nonce));
        out.push_str(&crate::encoding::hex_encode(&sealed));
        Ok(SecretString::new(out))
    }

    /// Opens a value sealed by [`Self::seal`] for the same row and column.
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn open(&self, key: &TokenKey, column: &str, sealed: &SecretString) -> Result<SecretString, StoreError> {
        let corrupt =
            |reason: &str| StoreError::Corrupt { key: key.to_string(), reason: format!("{column}: {reason}") };
        let hex = sealed.expose().strip_prefix(SEALED_PREFIX).ok_or_else(|| corrupt("not a sealed value"))?;
        let bytes = crate::encoding::hex_decode(hex).ok_or_else(|| corrupt("sealed value is not hex"))?;
        if bytes.len() < KEY_ID_LEN + NONCE_LEN + TAG_LEN {
            return Err(corrupt("sealed value is truncated"));
        }
        let (key_id, rest) = bytes.split_at(KEY_ID_LEN);
        if key_id != self.key_id {
            return Err(StoreError::WrongKey { key: key.to_string() });
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let aad = associated_data(key, column);
        let mut plain =
            self.aead.decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: &aad }).map_err(|_| {
                corrupt("sealed value failed authentication: it was tampered with or copied from another row or column")
            })?;
        let text = String::from_utf8(std::mem::take(&mut plain)).map_err(|e| {
            let mut bytes = e.into_bytes();
            bytes.zeroize();
            corrupt("sealed value is not UTF-8")
        })?;
        Ok(SecretString::new(text))
    }
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCipher").field("key", &"[redacted]").field("key_id", &self.key_id()).finish()
    }
}

/// Length-prefixed row key and column: unambiguous whatever the user key contains.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn associated_data(key: &TokenKey, column: &str) -> Vec<u8> {
    let mut aad = b"zohocrm token v1".to_vec();
    for part in [key.user.as_str(), key.dc.location(), key.environment.as_str(), column] {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_le_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    use crate::dc::{DataCenter, Environment};

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    fn key(user: &str) -> TokenKey {
        TokenKey::new(user, DataCenter::Us, Environment::Production)
    }

    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    #[test]
    fn seal_open_and_binding() {
        let c = TokenCipher::new([7; 32]);
        let v = SecretString::new("1000.access.token");
        let sealed = c.seal(&key("a"), "access_token", &v).unwrap();
        assert!(sealed.expose().starts_with("zc1:"));
        assert!(!sealed.expose().contains("1000.access"));
        assert_eq!(c.open(&key("a"), "access_token", &sealed).unwrap().expose(), "1000.access.token");
        // Same value twice: different nonces.
        assert_ne!(sealed.expose(), c.seal(&key("a"), "access_token", &v).unwrap().expose());
        // Moved to another row or column: authentication fails.
        assert!(matches!(c.open(&key("b"), "access_token", &sealed), Err(StoreError::Corrupt { .. })));
        assert!(matches!(c.open(&key("a"), "refresh_token", &sealed), Err(StoreError::Corrupt { .. })));
        // Another key: WrongKey.
        let other = TokenCipher::new([8; 32]);
        assert!(matches!(other.open(&key("a"), "access_token", &sealed), Err(StoreError::WrongKey { .. })));
    }

    #[test]
    fn key_parsing() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let a = TokenCipher::from_hex(hex).unwrap();
        // The same 32 bytes in base64.
        let b = TokenCipher::from_base64("ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=").unwrap();
        assert_eq!(a.key_id(), b.key_id());
        assert_ne!(a.key_id(), TokenCipher::new([0; 32]).key_id());
        assert!(TokenCipher::from_hex("abc").is_err());
        assert!(TokenCipher::from_hex(&"zz".repeat(32)).is_err());
        assert!(TokenCipher::from_base64("AAAA").is_err());
        assert!(TokenCipher::from_base64("not base64!").is_err());
        assert_eq!(crate::encoding::base64_decode("aGk").unwrap(), b"hi");
        assert_eq!(crate::encoding::base64_decode("aGk=").unwrap(), b"hi");
        assert!(crate::encoding::base64_decode("aGl").is_none()); // non-zero padding bits
    }
}
