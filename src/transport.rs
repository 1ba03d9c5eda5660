//! Plumbing shared by the generated clients' hooks: the HTTP client builder, the record a
//! call's hooks leave for the hand-written layer (`CallRecord`), the `Authorization` header,
//! Zoho's error answers that the generated code would mis-read, and the conversion of
//! progenitor's errors into the SDK's.
//!
//! Each generated client has its own context and hooks next to the code that uses it: the
//! accounts client's in [`crate::oauth::AccountsContext`], the CRM clients' in
//! [`crate::client::CrmContext`]. This module knows neither.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::header::{AUTHORIZATION, HeaderValue};

use crate::error::{Error, RateLimitScope};
use crate::secret::AccessToken;

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

/// What the hooks of one call leave for the hand-written layer.
pub(crate) type CallRecord = Arc<Mutex<CallState>>;

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

/// Locks a call record (a poisoned lock still holds a usable record).
pub(crate) fn lock(call: &CallRecord) -> std::sync::MutexGuard<'_, CallState> {
    call.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The typed error a hook raised during the call, if any.
pub(crate) fn take_error(call: &CallRecord) -> Option<Error> {
    lock(call).error.take()
}

/// A generated client's context, as the shared hook plumbing sees it: where to leave what
/// happened during a call.
pub(crate) trait HookContext {
    /// The call record of this client, when the hand-written layer reads one.
    fn call_record(&self) -> Option<&CallRecord>;

    /// Leaves `error` for the hand-written layer; returns its message for progenitor's
    /// string-typed error.
    fn stash(&self, error: Error) -> String {
        let message = error.to_string();
        if let Some(call) = self.call_record() {
            lock(call).error = Some(error);
        }
        message
    }

    /// Records something about the current call, when there is a call record.
    fn record(&self, f: impl FnOnce(&mut CallState)) {
        if let Some(call) = self.call_record() {
            f(&mut lock(call));
        }
    }
}

/// Sets `Authorization: Zoho-oauthtoken …`, marked sensitive so no HTTP layer logs it.
pub(crate) fn set_authorization(request: &mut reqwest::Request, token: &AccessToken) -> Result<(), String> {
    const SCHEME: &str = "Zoho-oauthtoken ";
    let secret = token.expose();
    let mut line = String::with_capacity(SCHEME.len() + secret.len());
    line.push_str(SCHEME);
    line.push_str(secret);
    // Checked in place and kept without another copy.
    let mut value = HeaderValue::from_maybe_shared(bytes::Bytes::from(line))
        .map_err(|_| "the access token contains characters that cannot go in an HTTP header".to_owned())?;
    value.set_sensitive(true);
    request.headers_mut().insert(AUTHORIZATION, value);
    Ok(())
}

/// The access token a request carries.
pub(crate) fn authorization_of(request: &reqwest::Request) -> Option<AccessToken> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Zoho-oauthtoken ").map(AccessToken::new)
}

/// What a response is besides its body, taken out of it so that the body can be read and the
/// response rebuilt around the bytes without copying the headers or parsing the URL again.
pub(crate) struct Head {
    status: reqwest::StatusCode,
    version: http::Version,
    headers: reqwest::header::HeaderMap,
    extensions: http::Extensions,
    url: reqwest::Url,
}

impl Head {
    /// Takes status, version, headers, extensions and URL (the response keeps empty ones).
    pub(crate) fn take(response: &mut reqwest::Response) -> Self {
        Self {
            status: response.status(),
            version: response.version(),
            headers: std::mem::take(response.headers_mut()),
            extensions: std::mem::take(response.extensions_mut()),
            url: response.url().clone(),
        }
    }

    /// The status taken.
    pub(crate) fn status(&self) -> reqwest::StatusCode {
        self.status
    }

    /// The headers taken.
    pub(crate) fn headers(&self) -> &reqwest::header::HeaderMap {
        &self.headers
    }

    /// The response again, with `body` read and the extensions it came with (the
    /// connection's addresses, which `reqwest::Response::remote_addr` reads).
    pub(crate) fn with_body(self, body: bytes::Bytes) -> reqwest::Response {
        use reqwest::ResponseBuilderExt;
        let mut builder = http::Response::builder().status(self.status).version(self.version);
        if let Some(extensions) = builder.extensions_mut() {
            *extensions = self.extensions;
        }
        // reqwest keeps a response's URL in an extension only its builder can set; without it,
        // converting back would parse a placeholder URL on every call. It goes into the map
        // the connection's extensions already allocated.
        let mut response = match builder.url(self.url).body(()) {
            Ok(head) => head.map(|()| body),
            // Not reached (status and version come from a response); total all the same.
            Err(_) => {
                let mut response = http::Response::new(body);
                *response.status_mut() = self.status;
                *response.version_mut() = self.version;
                response
            }
        };
        *response.headers_mut() = self.headers;
        reqwest::Response::from(response)
    }
}

/// Lets a success through untouched. An error answer whose body is not JSON (an HTML page
/// from a proxy or load balancer, an empty 502) becomes a typed error with the real status,
/// stashed for the hand-written layer; the generated client would only see an undecodable
/// payload and lose the status.
pub(crate) async fn inspect(
    context: &impl HookContext,
    operation: &str,
    scope: RateLimitScope,
    response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    if status.is_success() || status.is_redirection() {
        return Ok(response);
    }
    // An error answer: read its body and stash the typed error it calls for. Boxed: error
    // answers are rare, and the body read would otherwise enlarge every call's future.
    Box::pin(async move {
        let mut response = response;
        let head = Head::take(&mut response);
        let body = response.bytes().await?;
        if let Some(error) = non_json_error(operation, scope, status, head.headers(), &body) {
            context.stash(error);
        }
        Ok(head.with_body(body))
    })
    .await
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
        return Some(Error::RateLimited { scope, retry_after: retry_after(headers) });
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

/// Converts a generated-client error into the SDK's error.
///
/// `envelope` decodes the typed error body (when the operation declares one) into
/// `(code, message, details)`.
pub(crate) fn convert_progenitor<E>(
    operation: &str,
    error: progenitor_client::Error<E>,
    envelope: impl FnOnce(&E) -> Option<(String, String, serde_json::Value)>,
) -> Error {
    use progenitor_client::Error as P;
    match error {
        P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => Error::transport(operation, e),
        P::InvalidRequest(message) => Error::InvalidInput { parameter: operation.to_owned(), reason: message },
        P::Custom(message) => Error::Hook { operation: operation.to_owned(), message },
        P::InvalidResponsePayload(bytes, e) => Error::decode(operation, 200, &bytes, e),
        P::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let retry_after = retry_after(rv.headers());
            match envelope(rv.as_ref()) {
                Some((code, _, _)) if status == 429 || code == "TOO_MANY_REQUESTS" => {
                    Error::RateLimited { scope: RateLimitScope::Api, retry_after }
                }
                Some((code, message, details)) => {
                    Error::Api { operation: operation.to_owned(), status, code, message, details }
                }
                None => Error::Api {
                    operation: operation.to_owned(),
                    status,
                    code: String::new(),
                    message: "error response without a Zoho envelope".into(),
                    details: serde_json::Value::Null,
                },
            }
        }
        P::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            if status == 429 {
                return Error::RateLimited { scope: RateLimitScope::Api, retry_after: retry_after(response.headers()) };
            }
            Error::Decode {
                operation: operation.to_owned(),
                status,
                body: String::new(),
                reason: format!("HTTP {status} is not a documented answer of this operation"),
            }
        }
    }
}

/// `Retry-After` (seconds or an HTTP date); 60 s when absent (Zoho does not document it).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    retry_after_at(headers, SystemTime::now()).unwrap_or(Duration::from_secs(60))
}

/// `Retry-After` as a wait: delay-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`.
pub(crate) fn retry_after_at(headers: &reqwest::header::HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, value.parse().unwrap());
        h
    }

    #[test]
    fn retry_after_takes_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(retry_after_at(&headers("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after_at(&headers("Sun, 06 Nov 1994 08:50:07 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after_at(&headers("Sun, 06 Nov 1994 08:40:00 GMT"), now), Some(Duration::ZERO), "a past date");
        assert_eq!(retry_after_at(&headers("soon"), now), None);
        assert_eq!(retry_after_at(&reqwest::header::HeaderMap::new(), now), None);
    }

    #[tokio::test]
    async fn a_rebuilt_response_keeps_status_headers_url_and_extensions() {
        use reqwest::ResponseBuilderExt;
        /// Stands for what the connection attaches (hyper's `HttpInfo`: the peer's address).
        #[derive(Clone, Debug, PartialEq)]
        struct Connection(u16);
        let url = reqwest::Url::parse("http://127.0.0.1:9/crm/v2/users?type=CurrentUser").unwrap();
        let original = http::Response::builder()
            .status(201)
            .header("x-zoho", "1")
            .extension(Connection(9))
            .url(url.clone())
            .body("{\"users\":[]}")
            .unwrap();
        let mut response = reqwest::Response::from(original);
        let head = Head::take(&mut response);
        let body = response.bytes().await.unwrap();
        let rebuilt = head.with_body(body);
        assert_eq!(rebuilt.status().as_u16(), 201);
        assert_eq!(rebuilt.url(), &url, "the URL is kept, not a placeholder");
        assert_eq!(rebuilt.headers().get("x-zoho").unwrap(), "1");
        assert_eq!(rebuilt.extensions().get::<Connection>(), Some(&Connection(9)), "the extensions are kept");
        assert_eq!(rebuilt.text().await.unwrap(), "{\"users\":[]}");
    }
}
