//! The request path of the generated clients: the state they carry ([`Inner`]) and the
//! progenitor hooks that add the `Authorization` header, refresh-and-replay once on
//! `INVALID_TOKEN`, and trace every call (DC, environment, operation, status, duration).
//!
//! Retries with back-off (429, 5xx, connection resets) belong in `transport::send` (private): it is the single
//! place every CRM request passes through, after authorization and before decoding.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use tracing::Instrument;

use crate::dc::{DataCenter, Environment};
use crate::error::{Error, RateLimitScope};
use crate::manager::TokenManager;
use crate::retry::{Kind, Retrier};
use crate::secret::SecretString;
use crate::token::TokenKey;

/// A `reqwest::ClientBuilder` set up the way the SDK needs: the TLS provider installed (with
/// the `rustls` feature, reqwest is built without one; *ring* is installed unless the
/// application installed another) and redirects never followed (a token endpoint must not be
/// redirected, and an `Authorization` header must never travel to another host).
///
/// Use it when you build a `reqwest::Client` for the generated clients yourself.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    #[cfg(feature = "rustls")]
    {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// Per-client state handed to the generated clients' hooks.
///
/// `Inner::default()` makes an unauthenticated client (useful against a test server).
#[derive(Clone, Debug, Default)]
pub struct Inner {
    auth: Option<Auth>,
    dc: Option<DataCenter>,
    environment: Option<Environment>,
    /// Typed error raised inside a hook, for the hand-written layer to return as-is.
    failure: Option<Failure>,
    /// Per-request timeout (token endpoint calls).
    timeout: Option<std::time::Duration>,
    /// The retry policy and the shared retry budget.
    retry: Retrier,
}

/// What the hooks of one call leave for the hand-written layer.
pub(crate) type Failure = Arc<Mutex<CallState>>;

/// The hooks' record of one call.
#[derive(Debug, Default)]
pub(crate) struct CallState {
    /// Typed error raised inside a hook, returned as-is instead of progenitor's string.
    pub(crate) error: Option<Error>,
    /// The operation the call ran (set by `pre`).
    pub(crate) operation: Option<&'static str>,
    /// HTTP status of the answer (set by `post`), for decode errors.
    pub(crate) status: Option<u16>,
}

#[derive(Clone, Debug)]
struct Auth {
    manager: TokenManager,
    key: TokenKey,
}

impl Inner {
    /// State for an accounts-server client of `dc` (no Authorization header); typed errors
    /// raised in its hooks go to `failure`.
    pub(crate) fn accounts(dc: DataCenter, timeout: std::time::Duration, failure: Failure, retry: Retrier) -> Self {
        Self { dc: Some(dc), timeout: Some(timeout), failure: Some(failure), retry, ..Self::default() }
    }

    /// The typed error a hook raised during the last call, if any.
    pub(crate) fn take_failure(slot: &Mutex<CallState>) -> Option<Error> {
        slot.lock().unwrap_or_else(|p| p.into_inner()).error.take()
    }

    /// State for a CRM client acting for `key`.
    pub(crate) fn crm(manager: TokenManager, key: TokenKey, failure: Option<Failure>, retry: Retrier) -> Self {
        Self {
            dc: Some(key.dc),
            environment: Some(key.environment),
            auth: Some(Auth { manager, key }),
            failure,
            timeout: None,
            retry,
        }
    }

    pub(crate) fn stash(&self, error: Error) -> String {
        let message = error.to_string();
        if let Some(slot) = &self.failure {
            slot.lock().unwrap_or_else(|p| p.into_inner()).error = Some(error);
        }
        message
    }

    /// Records something about the current call in the failure slot, when there is one.
    fn record(&self, f: impl FnOnce(&mut CallState)) {
        if let Some(slot) = &self.failure {
            f(&mut slot.lock().unwrap_or_else(|p| p.into_inner()));
        }
    }
}

/// Sets `Authorization: Zoho-oauthtoken …`, marked sensitive so no HTTP layer logs it.
pub(crate) fn set_authorization(request: &mut reqwest::Request, token: &SecretString) -> Result<(), String> {
    let mut value = HeaderValue::from_str(&format!("Zoho-oauthtoken {}", token.expose()))
        .map_err(|_| "the access token contains characters that cannot go in an HTTP header".to_owned())?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

/// The access token a request carries.
fn authorization_of(request: &reqwest::Request) -> Option<SecretString> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Zoho-oauthtoken ").map(SecretString::new)
}

/// Zoho's answers that mean "this access token is no good": refresh and replay once.
fn is_rejected_token(status: reqwest::StatusCode, body: &[u8]) -> bool {
    if status != reqwest::StatusCode::UNAUTHORIZED {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Envelope {
        code: Option<String>,
    }
    serde_json::from_slice::<Envelope>(body)
        .ok()
        .and_then(|e| e.code)
        .is_some_and(|code| code == "INVALID_TOKEN" || code == "INVALID_OAUTHTOKEN")
}

/// Sends one CRM request under the retry policy (see [`crate::retry`]).
async fn send(
    client: &reqwest::Client,
    inner: &Inner,
    request: reqwest::Request,
) -> reqwest::Result<reqwest::Response> {
    let kind = Kind::of_method(request.method());
    inner.retry.send(client, request, kind).await
}

/// Rebuilds a response whose body was read.
pub(crate) fn rebuild(
    status: reqwest::StatusCode,
    headers: reqwest::header::HeaderMap,
    body: bytes::Bytes,
) -> reqwest::Response {
    let mut response = http::Response::new(body);
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    reqwest::Response::from(response)
}

/// Implements the CRM hooks for a generated CRM client (v2 and every v8 group): the same
/// `pre`, `post` and `exec` for all, checking paths against that client's own templates.
macro_rules! crm_hooks {
    ($client:ty, $templates:expr) => {
        impl ClientHooks<Inner> for $client {
            async fn pre<E>(
                &self,
                request: &mut reqwest::Request,
                info: &OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                crm_pre(self, $templates, request, info).await
            }

            async fn post<E>(
                &self,
                result: &reqwest::Result<reqwest::Response>,
                _info: &OperationInfo,
            ) -> Result<(), progenitor_client::Error<E>> {
                if let Ok(response) = result {
                    self.inner().record(|s| s.status = Some(response.status().as_u16()));
                }
                Ok(())
            }

            async fn exec(
                &self,
                request: reqwest::Request,
                info: &OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                crm_exec(self, request, info).await
            }
        }
    };
}

crm_hooks!(crate::crm::Client, crate::crm::PATH_TEMPLATES);
#[cfg(feature = "v8-core")]
crm_hooks!(crate::crm_v8::core::Client, crate::crm_v8::core::PATH_TEMPLATES);
#[cfg(feature = "v8-records")]
crm_hooks!(crate::crm_v8::records::Client, crate::crm_v8::records::PATH_TEMPLATES);
#[cfg(feature = "v8-settings")]
crm_hooks!(crate::crm_v8::settings::Client, crate::crm_v8::settings::PATH_TEMPLATES);
#[cfg(feature = "v8-bulk")]
crm_hooks!(crate::crm_v8::bulk::Client, crate::crm_v8::bulk::PATH_TEMPLATES);
#[cfg(feature = "v8-email")]
crm_hooks!(crate::crm_v8::email::Client, crate::crm_v8::email::PATH_TEMPLATES);

/// The CRM `pre` hook: records the operation, checks the request path against the
/// operation's template, sets the access token.
async fn crm_pre<C: ClientInfo<Inner>, E>(
    client: &C,
    templates: &[(&str, &str)],
    request: &mut reqwest::Request,
    info: &OperationInfo,
) -> Result<(), progenitor_client::Error<E>> {
    let inner = client.inner();
    inner.record(|s| s.operation = Some(info.operation_id));
    // Every path parameter must still be exactly one segment of the operation's template.
    let base_path = reqwest::Url::parse(client.baseurl()).map(|u| u.path().to_owned()).unwrap_or_default();
    crate::path::check_request_path(templates, info.operation_id, &base_path, request.url().path())
        .map_err(|e| progenitor_client::Error::InvalidRequest(inner.stash(e)))?;
    let Some(auth) = &inner.auth else {
        return Ok(());
    };
    // An error here means the request was never sent.
    let access = auth
        .manager
        .access_token(&auth.key)
        .await
        .map_err(|e| progenitor_client::Error::Custom(inner.stash(e.before_send())))?;
    set_authorization(request, access.secret()).map_err(progenitor_client::Error::Custom)
}

/// The CRM `exec` hook: sends under the retry policy with refresh-and-replay, in a tracing span.
async fn crm_exec<C: ClientInfo<Inner>>(
    client: &C,
    request: reqwest::Request,
    info: &OperationInfo,
) -> reqwest::Result<reqwest::Response> {
    let inner = client.inner();
    let span = tracing::info_span!(
        "zoho.api",
        operation = info.operation_id,
        method = %request.method(),
        dc = inner.dc.map(DataCenter::location),
        environment = inner.environment.map(Environment::as_str),
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
        replayed = false,
    );
    let started = Instant::now();
    let result = exec_crm(client, inner, request, info.operation_id).instrument(span.clone()).await;
    span.record("duration_ms", started.elapsed().as_millis() as u64);
    match result {
        Ok((response, replayed)) => {
            span.record("status", response.status().as_u16());
            span.record("replayed", replayed);
            Ok(response)
        }
        Err(e) => {
            // Without the URL: record ids and search terms stay out of the logs.
            let e = e.without_url();
            span.in_scope(|| tracing::debug!(error = %e, "request failed"));
            Err(e)
        }
    }
}

pub(crate) async fn exec_crm<C: ClientInfo<Inner>>(
    client: &C,
    inner: &Inner,
    request: reqwest::Request,
    operation: &str,
) -> reqwest::Result<(reqwest::Response, bool)> {
    let Some(auth) = &inner.auth else {
        let response = send(client.client(), inner, request).await?;
        return inspect(inner, operation, RateLimitScope::Api, response).await.map(|r| (r, false));
    };
    let used = authorization_of(&request);
    let replay = request.try_clone();
    let response = send(client.client(), inner, request).await?;
    if response.status() != reqwest::StatusCode::UNAUTHORIZED {
        return inspect(inner, operation, RateLimitScope::Api, response).await.map(|r| (r, false));
    }
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    if let (true, Some(mut replay), Some(used)) = (is_rejected_token(status, &body), replay, used) {
        match auth.manager.refresh_after_rejection(&auth.key, &used).await {
            Ok(fresh) => {
                if set_authorization(&mut replay, fresh.secret()).is_ok() {
                    tracing::info!("access token rejected by Zoho; refreshed and replaying once");
                    let response = send(client.client(), inner, replay).await?;
                    return inspect(inner, operation, RateLimitScope::Api, response).await.map(|r| (r, true));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "access token rejected by Zoho and could not be refreshed");
                // The request was answered (401): the replay was never sent.
                inner.stash(e.before_send());
            }
        }
    }
    if let Some(error) = non_json_error(operation, RateLimitScope::Api, status, &headers, &body) {
        inner.stash(error);
    }
    Ok((rebuild(status, headers, body), false))
}

/// Lets a success through untouched. An error answer whose body is not JSON (an HTML page
/// from a proxy or load balancer, an empty 502) becomes a typed error with the real status,
/// stashed for the hand-written layer; the generated client would only see an undecodable
/// payload and lose the status.
async fn inspect(
    inner: &Inner,
    operation: &str,
    scope: RateLimitScope,
    response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() || status.is_redirection() {
        return Ok(response);
    }
    let headers = response.headers().clone();
    let body = response.bytes().await?;
    if let Some(error) = non_json_error(operation, scope, status, &headers, &body) {
        inner.stash(error);
    }
    Ok(rebuild(status, headers, body))
}

/// The typed error for an error answer the generated client would mis-read (`None` when it
/// decodes it itself): HTTP 429 is always a rate limit; a body that is not JSON (an HTML page
/// from a proxy or load balancer, an empty 502) and a 5xx without Zoho's envelope become
/// [`Error::Decode`] with the real status (retryable for 5xx).
pub(crate) fn non_json_error(
    operation: &str,
    scope: RateLimitScope,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &[u8],
) -> Option<Error> {
    if status.is_success() {
        return None;
    }
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Some(Error::RateLimited { scope, retry_after: crate::oauth::retry_after(headers) });
    }
    let json = serde_json::from_slice::<serde_json::Value>(body).ok();
    let enveloped = json.as_ref().and_then(|v| v.as_object()).is_some_and(|o| {
        o.get("code").is_some_and(serde_json::Value::is_string)
            || o.get("error").is_some_and(serde_json::Value::is_string)
    });
    if json.is_some() && (enveloped || status.as_u16() < 500) {
        return None;
    }
    let content_type = headers.get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("none");
    let content_type: String = content_type.chars().take(64).collect();
    Some(Error::decode(
        operation,
        status.as_u16(),
        body,
        format!(
            "HTTP {status} without Zoho's error envelope (content-type {content_type}): a proxy, load balancer or outage page answered, not Zoho's API"
        ),
    ))
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

impl ClientHooks<Inner> for crate::accounts::Client {
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
        let response = self.inner().retry.send(self.client(), request, kind).instrument(span.clone()).await?;
        span.record("status", response.status().as_u16());
        inspect(self.inner(), info.operation_id, RateLimitScope::TokenEndpoint, response).await
    }
}
