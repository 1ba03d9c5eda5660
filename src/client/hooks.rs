//! The generated CRM clients' hooks (v2 and every v8 group): `pre` checks the request path
//! against the operation's template and sets the access token; `exec` sends under the retry
//! policy, refreshes and replays once when Zoho rejects the token, turns error pages into
//! typed errors, and traces the call (DC, environment, operation, status, duration) without
//! its URL.

use std::time::Instant;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use tracing::Instrument;

use crate::dc::{DataCenter, Environment};
use crate::error::RateLimitScope;
use crate::retry::Kind;
use crate::transport::{Head, HookContext, authorization_of, inspect, non_json_error, set_authorization};

use super::CrmContext;
use super::context::Auth;

/// Implements the CRM hooks for a generated CRM client (v2 and every v8 group): the same
/// `pre`, `post` and `exec` for all, checking paths against that client's own templates.
macro_rules! crm_hooks {
    ($client:ty, $templates:expr) => {
        impl ClientHooks<CrmContext> for $client {
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
async fn crm_pre<C: ClientInfo<CrmContext>, E>(
    client: &C,
    templates: &[(&str, &str)],
    request: &mut reqwest::Request,
    info: &OperationInfo,
) -> Result<(), progenitor_client::Error<E>> {
    let inner = client.inner();
    inner.record(|s| s.operation = Some(info.operation_id));
    // Every path parameter must still be exactly one segment of the operation's template.
    crate::path::check_request_path(templates, info.operation_id, base_path(client.baseurl()), request.url().path())
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
async fn crm_exec<C: ClientInfo<CrmContext>>(
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
    let call = exec_crm(client, inner, request, info.operation_id);
    // Without a subscriber that wants the span, no span is entered on every poll.
    let result = if span.is_disabled() { call.await } else { call.instrument(span.clone()).await };
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

pub(crate) async fn exec_crm<C: ClientInfo<CrmContext>>(
    client: &C,
    inner: &CrmContext,
    request: reqwest::Request,
    operation: &str,
) -> reqwest::Result<(reqwest::Response, bool)> {
    let kind = Kind::of_crm(request.method(), operation);
    // With a token source, the retry layer hands back an unsent copy for the replay after a
    // rejected token.
    let (response, replay) = inner.retry.send(client.client(), request, kind, inner.auth.is_some()).await;
    let response = response?;
    match &inner.auth {
        // Rare: boxed, so that its state does not weigh on every call's future.
        Some(auth) if response.status() == reqwest::StatusCode::UNAUTHORIZED => {
            Box::pin(after_unauthorized(client, inner, auth, response, replay, operation)).await
        }
        _ => inspect(inner, operation, RateLimitScope::Api, response).await.map(|r| (r, false)),
    }
}

/// A 401 answer: when Zoho rejected the token, refresh it and replay the request once.
async fn after_unauthorized<C: ClientInfo<CrmContext>>(
    client: &C,
    inner: &CrmContext,
    auth: &Auth,
    response: reqwest::Response,
    replay: Option<reqwest::Request>,
    operation: &str,
) -> reqwest::Result<(reqwest::Response, bool)> {
    let mut response = response;
    let head = Head::take(&mut response);
    let body = response.bytes().await?;
    let status = head.status();
    // The token the rejected request carried, read (only now) from its copy.
    let used = replay.as_ref().and_then(authorization_of);
    if let (true, Some(mut replay), Some(used)) = (is_rejected_token(status, &body), replay, used) {
        match auth.manager.refresh_after_rejection(&auth.key, &used).await {
            Ok(fresh) => {
                if set_authorization(&mut replay, fresh.secret()).is_ok() {
                    tracing::info!("access token rejected by Zoho; refreshed and replaying once");
                    let kind = Kind::of_crm(replay.method(), operation);
                    let (response, _) = inner.retry.send(client.client(), replay, kind, false).await;
                    return inspect(inner, operation, RateLimitScope::Api, response?).await.map(|r| (r, true));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "access token rejected by Zoho and could not be refreshed");
                // The request was answered (401): the replay was never sent.
                inner.stash(e.before_send());
            }
        }
    }
    if let Some(error) = non_json_error(operation, RateLimitScope::Api, status, head.headers(), &body) {
        inner.stash(error);
    }
    Ok((head.with_body(body), false))
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

/// The path of a base URL (`/eu/sandbox` in `http://127.0.0.1:9/eu/sandbox`, empty for a bare
/// host), without parsing it again on every call: base URLs come from the endpoint table, which
/// keeps them canonical (scheme, authority, optional path, no query or fragment).
fn base_path(base: &str) -> &str {
    // Byte scans: a substring search would set up a two-way searcher on every call.
    let bytes = base.as_bytes();
    let authority = bytes.windows(3).position(|w| w == b"://").map_or(0, |i| i + 3);
    match bytes[authority..].iter().position(|&b| b == b'/') {
        Some(slash) => base[authority + slash..].trim_end_matches('/'),
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::base_path;

    #[test]
    fn base_paths_match_what_a_url_parser_says() {
        for base in
            ["https://www.zohoapis.eu", "http://127.0.0.1:9/eu/sandbox", "https://gw.example/zoho/", "http://[::1]:9"]
        {
            let parsed = reqwest::Url::parse(base).unwrap();
            assert_eq!(base_path(base), parsed.path().trim_end_matches('/'), "{base}");
        }
    }
}
