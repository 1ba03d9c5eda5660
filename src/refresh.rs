//! The seam between the token cache and OAuth: the [`Refresher`] trait.
//!
//! [`crate::manager::TokenManager`] caches tokens and decides *when* to refresh; a
//! [`Refresher`] knows *how* (Zoho's token and revoke endpoints, in
//! [`crate::oauth::OAuthClient`]). The manager depends only on this trait, so the cache can be
//! read and tested without an HTTP client, and OAuth without the cache (as smithy-rs separates
//! resolving an identity from caching it).

use std::time::Duration;

use crate::error::Result;
use crate::token::Token;

/// The default wait after Zoho's token throttle: its window is 10 minutes.
///
/// A refresher reports Zoho's throttle answer (HTTP 400 "too many requests", which carries no
/// `Retry-After`) as [`crate::Error::RateLimited`] with exactly this wait; the manager then
/// applies its own [`crate::manager::RefreshPolicy::throttle_backoff`]. Any other wait (an
/// HTTP 429's `Retry-After`) is used as given.
pub const DEFAULT_THROTTLE_BACKOFF: Duration = Duration::from_secs(600);

/// Mints and revokes tokens for the token manager.
#[async_trait::async_trait]
pub trait Refresher: Send + Sync + std::fmt::Debug {
    /// Mints a new access token from `token`'s refresh token, keeping the refresh token.
    ///
    /// A revoked refresh token is [`crate::Error::ReauthorizationRequired`]; `token` itself
    /// is never modified.
    async fn refresh(&self, token: &Token) -> Result<Token>;

    /// Revokes `token`'s refresh token (and every access token minted from it). A token the
    /// server already considers invalid counts as revoked.
    async fn revoke(&self, token: &Token) -> Result<()>;
}
