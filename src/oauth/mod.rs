//! Zoho OAuth flows: the authorization URL, the redirect back, code exchange, refresh and revoke.
//!
//! The user's browser starts at the authorization server (accounts.zoho.com for every data
//! center but China, accounts.zoho.com.cn for China). Zoho moves the user to their own data
//! center and redirects back with `code`, `location`, `accounts-server` and `state`.
//! [`Callback::parse`] reads that redirect, [`Callback::verify`] checks `state` and resolves the
//! data center against the [`Endpoints`] in force (an unknown accounts server is rejected, so no
//! secret is ever sent to it), and [`OAuthClient::exchange_code`] trades the code for a
//! [`Token`] at that data center's token endpoint with that data center's client secret.
//!
//! Every token-endpoint call goes through the generated accounts client with a form body;
//! Zoho's HTTP-200 `{"error": …}` answers become [`Error::OAuth`](crate::Error::OAuth) with a hint, and the
//! throttle answer becomes [`Error::RateLimited`](crate::Error::RateLimited).
//!
//! One file per protocol piece: `authorize` (the consent URL and the pending state),
//! `callback` (the redirect back), `token` (code exchange and refresh), `revoke`, and
//! `context` (the generated accounts client's per-call state and hooks). [`OAuthClient`]
//! implements [`crate::refresh::Refresher`], the only thing the token manager knows of it.

mod authorize;
mod callback;
mod context;
mod revoke;
mod token;

use std::sync::Arc;
use std::time::Duration;

use crate::accounts;
use crate::clock::Clock;
use crate::credentials::ClientCredentials;
use crate::dc::{DataCenter, Endpoints};
use crate::error::Result;
use crate::retry::{Retrier, RetryPolicy};
use crate::token::Token;
use crate::transport::{CallRecord, convert_progenitor};

pub use crate::refresh::DEFAULT_THROTTLE_BACKOFF;
pub use authorize::{AccessType, AuthorizationRequest, DEFAULT_PENDING_LIFETIME, PendingAuthorization};
pub use callback::{Callback, CodeGrant};
pub use context::AccountsContext;

/// Calls Zoho Accounts: code exchange, refresh, revoke, serverinfo.
///
/// Cheap to clone. Uses the shared HTTP client, which never follows redirects.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    endpoints: Arc<Endpoints>,
    credentials: Arc<ClientCredentials>,
    clock: Arc<dyn Clock>,
    token_timeout: Duration,
    retry: Retrier,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

/// The default time limit of one accounts-server call.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(20);

impl OAuthClient {
    /// An OAuth client over `http` (which must not follow redirects).
    pub fn new(
        http: reqwest::Client,
        endpoints: Arc<Endpoints>,
        credentials: Arc<ClientCredentials>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { http, endpoints, credentials, clock, token_timeout: DEFAULT_TOKEN_TIMEOUT, retry: Retrier::default() }
    }

    /// Retries token refreshes, revokes and serverinfo calls under `policy` (never the code
    /// exchange: codes are single-use). The default client built by hand retries nothing;
    /// [`crate::Zoho`] passes its own policy. Retries stop at the token timeout.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        let policy = policy.with_max_total(policy.max_total.min(self.token_timeout));
        self.retry = Retrier::new(policy);
        self
    }

    pub(crate) fn with_retrier(mut self, retrier: Retrier) -> Self {
        let policy = retrier.policy().with_max_total(retrier.policy().max_total.min(self.token_timeout));
        self.retry = retrier.with_policy(policy);
        self
    }

    /// Bounds each accounts-server call (default 20 s). A refresh holds the store's refresh
    /// lease (SQLite: the write lock) while it waits for Zoho, so keep this below the store's
    /// busy or lock timeout.
    pub fn with_token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = timeout;
        self
    }

    /// The endpoint table in force.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The client credentials.
    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// A generated accounts client for `dc`, and the slot where its hooks leave typed errors.
    fn accounts(&self, dc: DataCenter) -> (accounts::Client, CallRecord) {
        let slot = CallRecord::default();
        let client = accounts::Client::new_with_client(
            self.endpoints.accounts_server(dc),
            self.http.clone(),
            AccountsContext::new(dc, self.token_timeout, slot.clone(), self.retry.clone()),
        );
        (client, slot)
    }

    /// Zoho's data-center directory from the accounts server of `dc`.
    pub async fn server_info(&self, dc: DataCenter) -> Result<accounts::types::ServerInfo> {
        let (client, slot) = self.accounts(dc);
        let result = client.server_info().send().await;
        if let Some(error) = crate::transport::take_error(&slot) {
            return Err(error);
        }
        result.map(|rv| rv.into_inner()).map_err(|e| convert_progenitor("server_info", e, |_| None))
    }
}

#[async_trait::async_trait]
impl crate::refresh::Refresher for OAuthClient {
    async fn refresh(&self, token: &Token) -> Result<Token> {
        OAuthClient::refresh(self, token).await
    }

    async fn revoke(&self, token: &Token) -> Result<()> {
        OAuthClient::revoke(self, token).await
    }
}
