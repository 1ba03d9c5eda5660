//! The generated accounts client's context ([`AccountsContext`]: data center, time limit,
//! retry policy, call record) and its hooks: a tighter time limit, retries (never for the
//! code exchange), tracing, and Zoho's error pages turned into typed errors.

use std::time::Duration;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use tracing::Instrument;

use crate::dc::DataCenter;
use crate::error::RateLimitScope;
use crate::retry::{Kind, Retrier};
use crate::transport::{CallRecord, HookContext, inspect};

/// Per-client state of the generated accounts client ([`crate::accounts::Client`]).
///
/// `AccountsContext::default()` makes a client without time limit, retries or call record
/// (useful against a test server).
#[derive(Clone, Debug, Default)]
pub struct AccountsContext {
    dc: Option<DataCenter>,
    /// Per-request time limit (a refresh holds the store's refresh lease meanwhile).
    timeout: Option<Duration>,
    /// Where the hooks leave a typed error for [`super::OAuthClient`].
    call: Option<CallRecord>,
    /// The retry policy and the shared retry budget.
    retry: Retrier,
}

impl AccountsContext {
    /// State for an accounts-server client of `dc`; typed errors raised in its hooks go to `call`.
    pub(crate) fn new(dc: DataCenter, timeout: Duration, call: CallRecord, retry: Retrier) -> Self {
        Self { dc: Some(dc), timeout: Some(timeout), call: Some(call), retry }
    }
}

impl HookContext for AccountsContext {
    fn call_record(&self) -> Option<&CallRecord> {
        self.call.as_ref()
    }
}

/// The retry kind of an accounts-server call: the code exchange is never repeated (codes are
/// single-use); refresh, revoke and serverinfo are safe to repeat.
fn accounts_kind(operation: &str, request: &reqwest::Request) -> Kind {
    let exchange = operation == "token"
        && request.body().and_then(reqwest::Body::as_bytes).is_some_and(|body| {
            url::form_urlencoded::parse(body).any(|(k, v)| k == "grant_type" && v == "authorization_code")
        });
    if exchange { Kind::Once } else { Kind::Idempotent }
}

impl ClientHooks<AccountsContext> for crate::accounts::Client {
    async fn exec(&self, mut request: reqwest::Request, info: &OperationInfo) -> reqwest::Result<reqwest::Response> {
        if let Some(timeout) = self.inner().timeout {
            // Bounded tighter than other calls: a refresh holds the store's refresh lease.
            let limit = request.timeout().map_or(timeout, |t| (*t).min(timeout));
            *request.timeout_mut() = Some(limit);
        }
        let span = tracing::debug_span!(
            "zoho.accounts",
            operation = info.operation_id,
            dc = self.inner().dc.map(DataCenter::location),
            status = tracing::field::Empty
        );
        let kind = accounts_kind(info.operation_id, &request);
        let (response, _) = self.inner().retry.send(self.client(), request, kind, false).instrument(span.clone()).await;
        let response = response?;
        span.record("status", response.status().as_u16());
        inspect(self.inner(), info.operation_id, RateLimitScope::TokenEndpoint, response).await
    }
}
