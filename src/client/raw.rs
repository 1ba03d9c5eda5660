//! Raw calls on a connection: [`CrmClient::send`] runs any generated operation with the
//! connection's hooks and typed errors, [`CrmClient::request`] sends any CRM path (what
//! `gh api` is to GitHub); and the turning of a generated call's result into the SDK's.

use progenitor_client::ResponseValue;

use crate::crm::{self, types};
use crate::error::{Error, Result};
use crate::transport::convert_progenitor;

use super::{CrmClient, Slot, hooks};
use crate::transport::lock;

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::crm::types::ErrorEnvelope {}
    impl Sealed for crate::crm::types::WriteErrorEnvelope {}
}

/// The error bodies of the generated CRM operations ([`types::ErrorEnvelope`], and
/// [`types::WriteErrorEnvelope`] for writes), as [`CrmClient::send`] reads them. Sealed.
pub trait ErrorBody: sealed::Sealed {
    /// Zoho's top-level `code`, `message` and `details`, when the body has a `code`.
    fn envelope(&self) -> Option<(String, String, serde_json::Value)>;
    /// The per-item results of a write whose items all failed (`{"data":[...]}` or
    /// `{"users":[...]}`), as JSON to decode into the operation's success type.
    fn results(&self) -> Option<serde_json::Value>;
}

impl ErrorBody for types::ErrorEnvelope {
    fn envelope(&self) -> Option<(String, String, serde_json::Value)> {
        Some((
            self.code.clone(),
            self.message.clone().unwrap_or_default(),
            self.details.clone().map(serde_json::Value::Object).unwrap_or(serde_json::Value::Null),
        ))
    }

    fn results(&self) -> Option<serde_json::Value> {
        None
    }
}

impl ErrorBody for types::WriteErrorEnvelope {
    fn envelope(&self) -> Option<(String, String, serde_json::Value)> {
        Some((
            self.code.clone()?,
            self.message.clone().unwrap_or_default(),
            self.details.clone().map(serde_json::Value::Object).unwrap_or(serde_json::Value::Null),
        ))
    }

    fn results(&self) -> Option<serde_json::Value> {
        let (key, items) = if !self.data.is_empty() {
            ("data", &self.data)
        } else if !self.users.is_empty() {
            ("users", &self.users)
        } else {
            return None;
        };
        Some(serde_json::json!({ key: items }))
    }
}

impl CrmClient {
    /// Runs one call of the generated client with this connection's hooks and returns what the
    /// shortcuts return: the typed [`Error`] of a hook (`ReauthorizationRequired`,
    /// `InvalidInput`, ...), `None` for 204/304, Zoho's envelope as [`Error::Api`], and for a
    /// write whose items all failed (HTTP 400 with one result per item) those results.
    ///
    /// ```no_run
    /// # async fn demo(crm: zohocrm::CrmClient) -> zohocrm::Result<()> {
    /// let org = crm.send(|c| async move { c.get_org().send().await }).await?;
    /// let layouts = crm.send(|c| async move { c.list_layouts().module("Leads").send().await }).await?;
    /// # let _ = (org, layouts); Ok(()) }
    /// ```
    pub async fn send<T, E, F, Fut>(&self, call: F) -> Result<Option<T>>
    where
        T: serde::de::DeserializeOwned,
        E: ErrorBody,
        F: FnOnce(crm::Client) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        let (client, slot) = self.call();
        let result = call(client).await;
        let operation = lock(&slot).operation.unwrap_or("crm");
        finish(operation, result, &slot)
    }

    /// Sends one authenticated request to any CRM path of this connection (what `gh api` is
    /// to GitHub), for endpoints the spec does not cover yet. It takes the same path as every
    /// other call: the connection's access token (refreshed when near expiry), one
    /// refresh-and-replay on `INVALID_TOKEN`, the retry policy (writes only when opted in),
    /// tracing without the URL.
    ///
    /// `path_and_query` is relative to the API domain and must start with `/crm/`
    /// (`/crm/v2/org`, `/crm/v2/Leads?per_page=5`); dot segments in any spelling, `\`, `#`
    /// and empty segments are refused with [`Error::InvalidInput`], so the request (and its
    /// `Authorization` header) can only go to this connection's API domain. `body` is sent as
    /// JSON. A 2xx answer is returned with its status and JSON body (`None` when empty, as for
    /// 204); an error answer with Zoho's envelope is [`Error::Api`], any other error answer
    /// [`Error::Decode`] with its status.
    ///
    /// ```no_run
    /// # async fn demo(crm: zohocrm::CrmClient) -> zohocrm::Result<()> {
    /// let org = crm.request(http::Method::GET, "/crm/v2/org", None).await?;
    /// assert_eq!(org.status, 200);
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse> {
        self.request_as("raw_request", method, path_and_query, body).await
    }

    /// [`CrmClient::request`] under an operation name (the hand-written v8 client's
    /// `list_records`, `coql`, ...), which its errors and its trace carry.
    pub(crate) async fn request_as(
        &self,
        operation: &'static str,
        method: http::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse> {
        let write = is_write(&method, operation);
        let (status, bytes) = self.exchange(operation, method, path_and_query, body).await?;
        answer(operation, write, status, &bytes).map_err(|e| crate::scopes::explain(operation, e))
    }

    /// [`CrmClient::request_as`], decoding a 2xx answer straight from its bytes into `T`, as
    /// the generated calls do (no JSON tree built, then walked again); `None` for an empty body
    /// (204, 304). Any other answer is classified as by `request_as`.
    #[cfg(feature = "v8-core")]
    pub(crate) async fn request_typed<T: serde::de::DeserializeOwned>(
        &self,
        operation: &'static str,
        method: http::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<Option<T>> {
        let write = is_write(&method, operation);
        let (status, bytes) = self.exchange(operation, method, path_and_query, body).await?;
        if !(200..300).contains(&status) {
            // An error (returned here), or a write whose records all failed (decoded below).
            answer(operation, write, status, &bytes).map_err(|e| crate::scopes::explain(operation, e))?;
        }
        decode_bytes(operation, status, &bytes)
    }

    /// Sends one request of [`CrmClient::request_as`]: its status and body.
    async fn exchange(
        &self,
        operation: &'static str,
        method: http::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, bytes::Bytes)> {
        let url = raw_url(&self.base, path_and_query)?;
        let (client, slot) = self.call();
        let inner = progenitor_client::ClientInfo::inner(&client);
        let mut builder = progenitor_client::ClientInfo::client(&client).request(method.clone(), url);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let mut request = builder.build().map_err(|e| Error::transport(operation, e))?;
        let access = self.auth.manager.access_token(&self.auth.key).await.map_err(Error::before_send)?;
        crate::transport::set_authorization(&mut request, access.secret()).map_err(Error::config)?;
        let span = tracing::info_span!(
            "zoho.api",
            operation,
            method = %method,
            dc = self.auth.key.dc.location(),
            environment = self.auth.key.environment.as_str(),
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty,
            replayed = false,
        );
        let started = std::time::Instant::now();
        let sent = {
            use tracing::Instrument;
            hooks::exec_crm(&client, inner, request, operation).instrument(span.clone()).await
        };
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        let (response, replayed) = sent.map_err(|e| Error::transport(operation, e))?;
        span.record("replayed", replayed);
        if let Some(error) = crate::transport::take_error(&slot) {
            return Err(error);
        }
        let status = response.status().as_u16();
        span.record("status", status);
        let bytes = response.bytes().await.map_err(|e| Error::transport(operation, e))?;
        Ok((status, bytes))
    }
}

/// The empty body of a 204 or 304 (or whitespace).
fn is_empty_body(bytes: &[u8]) -> bool {
    bytes.iter().all(u8::is_ascii_whitespace)
}

/// A 2xx body decoded into `T`; `None` when empty. A body that does not decode is
/// [`Error::Decode`], naming where.
#[cfg(feature = "v8-core")]
fn decode_bytes<T: serde::de::DeserializeOwned>(operation: &str, status: u16, bytes: &[u8]) -> Result<Option<T>> {
    if is_empty_body(bytes) {
        return Ok(None);
    }
    serde_json::from_slice::<T>(bytes)
        .map(Some)
        .map_err(|e| Error::decode(operation, status, bytes, crate::error::decode_reason::<T>(bytes, &e)))
}

/// Whether the request writes: only a write's HTTP 400 may carry one result per record
/// (a COQL query is a read, though a POST).
fn is_write(method: &http::Method, operation: &str) -> bool {
    !matches!(*method, http::Method::GET | http::Method::HEAD | http::Method::OPTIONS)
        && !crate::retry::reads_by_post(method, operation)
}

/// What [`CrmClient::request_as`] returns for an answer: 2xx (and a write's HTTP 400 with one
/// result per record) with its JSON body; Zoho's envelope as [`Error::Api`] (for a read, also
/// the first item of a `data` array); anything else [`Error::Decode`].
fn answer(operation: &str, write: bool, status: u16, bytes: &[u8]) -> Result<RawResponse> {
    let body = if is_empty_body(bytes) {
        None
    } else {
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(value) => Some(value),
            Err(e) => return Err(Error::decode(operation, status, bytes, format!("the body is not JSON: {e}"))),
        }
    };
    // Zoho answers a write whose records all failed with HTTP 400 and one result per record.
    let per_record = status == 400 && body.as_ref().is_some_and(|b| b.get("data").is_some_and(|d| d.is_array()));
    if (200..300).contains(&status) || (write && per_record) {
        return Ok(RawResponse { status, body });
    }
    // A read answered with per-item errors: the first item's code is the answer's.
    let first_item = body.as_ref().and_then(|b| b.get("data")?.as_array()?.first());
    let envelope = body.as_ref().filter(|b| b.get("code").is_some()).or(first_item).and_then(|b| {
        let code = b.get("code")?.as_str()?.to_owned();
        let message = b.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_owned();
        Some((code, message, b.get("details").cloned().unwrap_or(serde_json::Value::Null)))
    });
    match envelope {
        Some((code, message, details)) => {
            Err(Error::Api { operation: operation.to_owned(), status, code, message, details })
        }
        None => Err(Error::decode(operation, status, bytes, format!("HTTP {status} without Zoho's error envelope"))),
    }
}

/// The answer to [`CrmClient::request`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status: 2xx, or 400 for a write whose records all failed (the body then holds
    /// one result per record, as for 207).
    pub status: u16,
    /// The JSON body; `None` when the body is empty (204, 304).
    pub body: Option<serde_json::Value>,
}

/// The URL of a [`CrmClient::request`]: `path_and_query` below `base`, never elsewhere.
///
/// An error quotes the path, never the query (search terms, emails and phone numbers go
/// there, and errors end up in logs).
fn raw_url(base: &str, path_and_query: &str) -> Result<reqwest::Url> {
    let (path, _query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    let shown: String = path.chars().filter(|c| !c.is_control()).take(200).collect();
    let refuse = |why: &str| {
        Error::invalid_input(
            "path",
            format!("the path {shown:?} {why}; give a path below the API domain such as /crm/v2/org"),
        )
    };
    if !path.starts_with("/crm/") {
        return Err(refuse("does not start with /crm/"));
    }
    if path_and_query.contains(['#', '\\']) || path_and_query.chars().any(char::is_control) {
        return Err(refuse("(or its query) contains `#`, `\\` or a control character"));
    }
    for segment in path[1..].split('/') {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if decoded.is_empty() || crate::path::is_dot_segment(segment) || decoded.contains(['/', '\\']) {
            return Err(refuse("has an empty, dot or encoded-slash segment"));
        }
    }
    let url = reqwest::Url::parse(&format!("{base}{path_and_query}"))
        .map_err(|e| refuse(&format!("is not a URL path ({e})")))?;
    let base_url =
        reqwest::Url::parse(base).map_err(|e| Error::config(format!("the API domain {base} is not a URL: {e}")))?;
    if url.origin() != base_url.origin() || !url.path().starts_with(base_url.path().trim_end_matches('/')) {
        return Err(refuse("leaves the API domain"));
    }
    Ok(url)
}

/// Turns a generated call's result into the SDK's: a hook's typed error first, 204/304 as
/// `None`, a write's HTTP 400 with per-item results as those results, Zoho's envelope as
/// [`Error::Api`], a body that does not decode as [`Error::Decode`] with its real status.
pub(super) fn finish<T: serde::de::DeserializeOwned, E: ErrorBody>(
    operation: &str,
    result: std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>,
    slot: &Slot,
) -> Result<Option<T>> {
    finish_call(operation, result, slot).map_err(|e| crate::scopes::explain(operation, e))
}

fn finish_call<T: serde::de::DeserializeOwned, E: ErrorBody>(
    operation: &str,
    result: std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>,
    slot: &Slot,
) -> Result<Option<T>> {
    let state = std::mem::take(&mut *lock(slot));
    if let Some(error) = state.error {
        return Err(error);
    }
    let status = state.status.unwrap_or(200);
    match crate::nocontent::NoContent::or_empty(result) {
        Ok(value) => Ok(value.map(ResponseValue::into_inner)),
        Err(progenitor_client::Error::ErrorResponse(rv)) if rv.status() == reqwest::StatusCode::BAD_REQUEST => match rv
            .results()
        {
            Some(results) => serde_json::from_value::<T>(results.clone()).map(Some).map_err(|e| {
                let body = results.to_string();
                Error::decode(operation, 400, body.as_bytes(), crate::error::decode_reason::<T>(body.as_bytes(), &e))
            }),
            None => Err(convert_progenitor(operation, progenitor_client::Error::ErrorResponse(rv), E::envelope)),
        },
        Err(progenitor_client::Error::InvalidResponsePayload(body, e)) => {
            Err(Error::decode(operation, status, &body, crate::error::decode_reason::<T>(&body, &e)))
        }
        Err(progenitor_client::Error::InvalidRequest(message)) => {
            // A builder argument progenitor could not use (`module was not initialized`, ...).
            let parameter = message.split_whitespace().next().unwrap_or("request").to_owned();
            Err(Error::invalid_input(parameter, format!("{operation}: {message}")))
        }
        Err(e) => Err(convert_progenitor(operation, e, E::envelope)),
    }
}

#[cfg(test)]
mod tests {
    use super::raw_url;
    #[cfg(feature = "v8-core")]
    use super::{answer, decode_bytes};

    const BASE: &str = "https://www.zohoapis.eu";

    #[test]
    fn raw_paths_stay_below_the_api_domain() {
        let url = raw_url(BASE, "/crm/v2/Leads?per_page=5&fields=Last_Name").expect("a plain path");
        assert_eq!(url.as_str(), "https://www.zohoapis.eu/crm/v2/Leads?per_page=5&fields=Last_Name");
        let gateway = raw_url("https://gw.example/api/eu", "/crm/v2/org").expect("a base with a path");
        assert_eq!(gateway.as_str(), "https://gw.example/api/eu/crm/v2/org");
        for bad in [
            "crm/v2/org",
            "/oauth/v2/token",
            "/crm/../oauth/v2/token",
            "/crm/v2/%2e%2E/x",
            "/crm/v2/./org",
            "/crm//v2/org",
            "/crm/v2/a%2Fb",
            "/crm/v2/org#x",
            "/crm/v2\\..\\x",
            "@evil.example/crm/v2/org",
            ".evil.example/crm/v2/org",
            "/crm/v2/org\n",
            "/crm/v2/%252e%252e/x",
            "/crm/v2/%25252E/x",
        ] {
            let err = raw_url(BASE, bad).expect_err(bad);
            assert!(matches!(err, crate::Error::InvalidInput { .. }), "{bad}: {err}");
        }
        // The error quotes the path, never the query (search terms, emails go there).
        let err = raw_url(BASE, "/crm/v2/../Leads/search?email=ann@example.com").expect_err("a dot segment");
        assert!(err.to_string().contains("/crm/v2/../Leads/search"), "{err}");
        assert!(!err.to_string().contains("ann@example.com"), "{err}");
        let err = raw_url(BASE, "/crm/v2/Leads/search?email=ann@example.com#x").expect_err("a fragment");
        assert!(!err.to_string().contains("ann@example.com"), "{err}");
    }

    /// A typed decode straight from the bytes: empty is `None`, a mismatch names where it is
    /// and its reason quotes no long value, an envelope is `Error::Api`, and a write's all-failed HTTP 400
    /// is its per-record results.
    #[cfg(feature = "v8-core")]
    #[test]
    fn typed_answers_decode_from_bytes() {
        #[derive(serde::Deserialize, Debug)]
        struct Page {
            data: Vec<Item>,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Item {
            #[expect(dead_code, reason = "decoded; only the error path is asserted on")]
            n: u32,
        }
        assert!(decode_bytes::<Page>("op", 204, b"").unwrap().is_none());
        assert!(decode_bytes::<Page>("op", 200, b" \n").unwrap().is_none());
        assert_eq!(decode_bytes::<Page>("op", 200, br#"{"data":[{"n":1},{"n":2}]}"#).unwrap().unwrap().data.len(), 2);
        let err =
            decode_bytes::<Page>("op", 200, br#"{"data":[{"n":1},{"n":"1000.a-long-secret-value"}]}"#).unwrap_err();
        let shown = err.to_string();
        assert!(matches!(err, crate::Error::Decode { .. }), "{err:?}");
        assert!(shown.contains("data[1].n"), "{shown}");
        assert!(shown.contains(r#"string "[redacted]""#), "the reason quotes no long value: {shown}");
        let api = answer(
            "op",
            false,
            401,
            br#"{"code":"INVALID_TOKEN","message":"invalid oauth token","details":{},"status":"error"}"#,
        );
        assert_eq!(api.unwrap_err().zoho_code(), Some("INVALID_TOKEN"));
        let all_failed = br#"{"data":[{"code":"MANDATORY_NOT_FOUND","details":{},"message":"required field not found","status":"error"}]}"#;
        assert_eq!(answer("op", true, 400, all_failed).unwrap().status, 400);
        assert_eq!(answer("op", false, 400, all_failed).unwrap_err().zoho_code(), Some("MANDATORY_NOT_FOUND"));
        assert!(matches!(
            answer("op", false, 502, b"<html>bad gateway</html>").unwrap_err(),
            crate::Error::Decode { .. }
        ));
    }
}
