//! The one error type of the SDK: what went wrong, where, and what to do about it.
//!
//! Every variant says whether it is worth retrying ([`Error::is_retryable`]) and, for transport
//! failures, whether the request may have reached Zoho ([`Error::may_have_been_sent`]). No
//! variant ever carries a secret: bodies kept for diagnosis are truncated and token fields are
//! scrubbed.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::dc::{DataCenter, DcError};
use crate::token::TokenKey;

use crate::store::StoreError;

/// `Result` with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How a transport failure happened.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be opened: nothing was sent.
    Connect,
    /// The connect, read or total timeout elapsed.
    Timeout,
    /// The connection broke, or the response could not be read.
    Other,
}

/// Where a rate limit was hit.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RateLimitScope {
    /// Zoho Accounts' token throttle (10 access tokens per refresh token per 10 minutes).
    TokenEndpoint,
    /// CRM's concurrency limit (`TOO_MANY_REQUESTS`, HTTP 429).
    Api,
}

/// Why the redirect back from Zoho was not accepted.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallbackError {
    /// The user refused consent (`error=access_denied`), or Zoho reported another error.
    Denied {
        /// Zoho's `error` value.
        error: String,
    },
    /// The redirect carried no `code`.
    MissingCode,
    /// The redirect carried no `state`, or one that does not match the pending request.
    StateMismatch,
    /// The redirect URL or query could not be parsed.
    Malformed {
        /// What was wrong.
        reason: String,
    },
    /// The pending authorization is past its lifetime
    /// ([`crate::oauth::AuthorizationRequest::valid_for`]).
    Expired,
    /// The authorization was bound to another application user
    /// ([`crate::oauth::AuthorizationRequest::for_user`]).
    WrongUser,
}

impl fmt::Display for CallbackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied { error } if error == "access_denied" => {
                f.write_str("the user denied access on Zoho's consent page (error=access_denied); ask them to connect again")
            }
            Self::Denied { error } => write!(f, "Zoho redirected back with error={error}; start the authorization again"),
            Self::MissingCode => f.write_str(
                "the redirect from Zoho carried no `code` parameter; pass the whole redirect URL (or its query) to the callback parser",
            ),
            Self::StateMismatch => f.write_str(
                "the redirect's `state` does not match the pending authorization (possible CSRF, or a stale or reused link); start the authorization again",
            ),
            Self::Malformed { reason } => write!(f, "the redirect from Zoho could not be parsed: {reason}"),
            Self::Expired => f.write_str(
                "the authorization was started too long ago (its pending state has expired); start the authorization again",
            ),
            Self::WrongUser => f.write_str(
                "the authorization was started by another user of this application; start the authorization again",
            ),
        }
    }
}

impl std::error::Error for CallbackError {}

/// Every error the SDK returns.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// The SDK was configured wrongly (bad proxy URL, an HTTP client that cannot be built, a
    /// stored connection that does not match its key, ...). Mistakes in the arguments of a
    /// call are [`Error::InvalidInput`]; data-center mismatches are [`Error::DataCenter`].
    Config {
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A hook of a generated client refused or failed the call, seen through a client from
    /// [`crate::CrmClient::raw`] called directly (progenitor carries only the message). Run
    /// the call through [`crate::CrmClient::send`] to get the typed error instead.
    Hook {
        /// The operation.
        operation: String,
        /// The hook's message.
        message: String,
    },
    /// A data center, environment or Zoho URL could not be resolved or was rejected.
    DataCenter(DcError),
    /// The redirect back from Zoho was not accepted.
    Callback(CallbackError),
    /// The request did not complete.
    Transport {
        /// The operation (`token`, `list_users`, ...).
        operation: String,
        /// How it failed.
        kind: TransportKind,
        /// Whether Zoho may have received the request (false only when the connection was never made).
        may_have_been_sent: bool,
        /// The underlying error (carries no secrets: URLs are removed from it).
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// Zoho Accounts answered with an OAuth error (`invalid_client`, `invalid_code`, ...).
    OAuth {
        /// The data center whose accounts server answered.
        dc: DataCenter,
        /// The accounts server that answered, from the endpoint table in force (Zoho's host,
        /// or the gateway or simulator it was remapped to).
        accounts_server: String,
        /// Zoho's `error` value.
        error: String,
        /// Zoho's `error_description`, when present.
        description: Option<String>,
        /// What this usually means and what to do.
        hint: String,
    },
    /// The connection cannot be used any more: the user must authorize the app again.
    ReauthorizationRequired {
        /// The connection.
        key: TokenKey,
        /// Why (refresh token revoked, online grant without refresh token, ...).
        reason: String,
        /// Zoho's `error` when Zoho refused the refresh token (`invalid_code`, ...); `None` when the
        /// SDK decided (an online grant has no refresh token).
        zoho_error: Option<String>,
    },
    /// No token is stored for this connection.
    NotConnected {
        /// The connection that was looked up.
        key: TokenKey,
    },
    /// Zoho CRM answered with an error envelope (`{code, details, message, status}`).
    Api {
        /// The operation.
        operation: String,
        /// HTTP status.
        status: u16,
        /// Zoho's `code` (`INVALID_MODULE`, `NO_PERMISSION`, ...).
        code: String,
        /// Zoho's `message`.
        message: String,
        /// Zoho's `details`.
        details: serde_json::Value,
    },
    /// A rate limit was reached; nothing more is sent until `retry_after` has passed.
    RateLimited {
        /// Which limit.
        scope: RateLimitScope,
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// A response could not be decoded.
    Decode {
        /// The operation.
        operation: String,
        /// HTTP status of the response.
        status: u16,
        /// The start of the body (at most 512 bytes, token fields scrubbed).
        body: String,
        /// What did not match.
        reason: String,
    },
    /// The token store failed.
    Store(StoreError),
    /// An argument cannot be sent as given (a path parameter that is empty or a dot segment,
    /// a search field name with characters Zoho's API names never have, an id containing `,`).
    /// Nothing was sent.
    InvalidInput {
        /// The parameter (`module`, `record_id`, `ids`, `criteria`, ...).
        parameter: String,
        /// What is wrong with the value (quoted) and what is allowed.
        reason: String,
    },
    /// A paged listing was stopped: the server kept answering `more_records: true` past
    /// [`crate::client::MAX_PAGES`], or sent the same page again.
    Pagination {
        /// The operation (`list_records`, ...).
        operation: String,
        /// The page number at which the listing stopped.
        page: u32,
        /// Why.
        reason: String,
    },
}

impl Error {
    /// Whether repeating the same call later may succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport { .. } | Self::RateLimited { .. } => true,
            Self::Api { status, .. } => *status == 429 || *status >= 500,
            Self::Decode { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// Whether the request this error is about may have reached Zoho and taken effect
    /// (what matters before repeating a write).
    ///
    /// `false` when the SDK raised the error before the request left (invalid input, a failed
    /// or throttled token refresh, the token back-off, a store failure, a connection that was
    /// never opened) and when Zoho's answer says it did nothing (OAuth errors, HTTP 429);
    /// `true` when the request may have been processed (a broken or timed-out exchange, any
    /// other answer from Zoho).
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Self::Transport { may_have_been_sent, .. } => *may_have_been_sent,
            Self::Api { status, .. } => *status != 429,
            // A token-endpoint answer that did not decode concerns a token call, which never
            // carries the caller's CRM request (and a code exchange is never repeated anyway).
            Self::Decode { operation, status, .. } => *status != 429 && operation != "token",
            _ => false,
        }
    }

    /// Zoho's error code (`INVALID_TOKEN`, `invalid_client`, ...) when Zoho sent one.
    pub fn zoho_code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            Self::OAuth { error, .. } => Some(error),
            Self::ReauthorizationRequired { zoho_error, .. } => zoho_error.as_deref(),
            _ => None,
        }
    }

    /// An [`Error::InvalidInput`] for `parameter`.
    pub(crate) fn invalid_input(parameter: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput { parameter: parameter.into(), reason: reason.into() }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::Config { message: message.into() }
    }

    /// Classifies a reqwest error. One raised while building the request (a URL longer than
    /// HTTP allows, 65,534 bytes; a value that cannot go in a header) means the input cannot
    /// be sent at all: [`Error::InvalidInput`], nothing sent, not retryable.
    pub(crate) fn transport(operation: &str, source: reqwest::Error) -> Self {
        if source.is_builder() {
            let source = source.without_url();
            let detail = std::error::Error::source(&source).map(ToString::to_string).unwrap_or_default();
            return Self::InvalidInput {
                parameter: operation.to_owned(),
                reason: format!(
                    "the request cannot be sent over HTTP ({source}{}{detail}): an input is too long for a URL (HTTP allows 65,534 bytes) or cannot go in one",
                    if detail.is_empty() { "" } else { ": " }
                ),
            };
        }
        let kind = if source.is_timeout() {
            TransportKind::Timeout
        } else if source.is_connect() {
            TransportKind::Connect
        } else {
            TransportKind::Other
        };
        Self::Transport {
            operation: operation.to_owned(),
            kind,
            // A connect timeout is a timeout too, and like any connect error nothing was sent.
            may_have_been_sent: !source.is_connect(),
            source: Arc::new(source.without_url()),
        }
    }

    /// The error as it applies to a request that was never sent because the token refresh
    /// before it failed: a transport failure of the token call did not send the CRM request.
    pub(crate) fn before_send(mut self) -> Self {
        if let Self::Transport { may_have_been_sent, .. } = &mut self {
            *may_have_been_sent = false;
        }
        self
    }

    /// A decode error that keeps a scrubbed, truncated copy of the body.
    pub(crate) fn decode(operation: &str, status: u16, body: &[u8], reason: impl fmt::Display) -> Self {
        Self::Decode { operation: operation.to_owned(), status, body: scrub_body(body), reason: reason.to_string() }
    }
}

mod body;

pub(crate) use body::{decode_reason, scrub_body};

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { message } => write!(f, "configuration error: {message}"),
            Self::Hook { operation, message } => write!(f, "{operation}: {message}"),
            Self::DataCenter(e) => write!(f, "{e}"),
            Self::Callback(e) => write!(f, "{e}"),
            Self::Transport { operation, kind, may_have_been_sent, source } => {
                let what = match kind {
                    TransportKind::Connect => "could not connect",
                    TransportKind::Timeout => "timed out",
                    TransportKind::Other => "failed in transit",
                };
                let sent = if *may_have_been_sent { "it may have reached Zoho" } else { "it was not sent" };
                write!(f, "{operation}: the request {what} ({sent}): {source}")
            }
            Self::OAuth { dc, accounts_server, error, description, hint } => {
                write!(f, "token endpoint of {} ({accounts_server}) answered {error}", dc.name())?;
                if let Some(d) = description {
                    write!(f, " ({d})")?;
                }
                write!(f, ": {hint}")
            }
            Self::ReauthorizationRequired { key, reason, .. } => {
                write!(f, "connection {key} must be authorized again: {reason}")
            }
            Self::NotConnected { key } => {
                write!(f, "no token is stored for {key}; connect the user first (authorization URL, then the callback)")
            }
            Self::Api { operation, status, code, message, details } => {
                write!(f, "{operation}: Zoho CRM answered HTTP {status} {code}: {message}")?;
                if !details.is_null() && details.as_object().is_none_or(|m| !m.is_empty()) {
                    write!(f, " (details: {details})")?;
                }
                Ok(())
            }
            Self::RateLimited { scope, retry_after } => match scope {
                RateLimitScope::TokenEndpoint => write!(
                    f,
                    "Zoho Accounts throttled token requests (at most 10 access tokens per refresh token per 10 minutes); no token request is sent for {} s",
                    retry_after.as_secs()
                ),
                RateLimitScope::Api => write!(
                    f,
                    "Zoho CRM answered TOO_MANY_REQUESTS (concurrency limit); retry after {} s",
                    retry_after.as_secs()
                ),
            },
            Self::Decode { operation, status, body, reason } => {
                write!(f, "{operation}: could not decode the HTTP {status} response ({reason}); body: {body}")
            }
            Self::Store(e) => write!(f, "token store: {e}"),
            Self::InvalidInput { parameter, reason } => {
                write!(f, "invalid {parameter}: {reason} (nothing was sent)")
            }
            Self::Pagination { operation, page, reason } => {
                write!(f, "{operation}: listing stopped at page {page}: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::DataCenter(e) => Some(e),
            Self::Transport { source, .. } => Some(source.as_ref()),
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl Clone for Error {
    fn clone(&self) -> Self {
        match self {
            Self::Config { message } => Self::Config { message: message.clone() },
            Self::Hook { operation, message } => Self::Hook { operation: operation.clone(), message: message.clone() },
            Self::DataCenter(e) => Self::DataCenter(e.clone()),
            Self::Callback(e) => Self::Callback(e.clone()),
            Self::Transport { operation, kind, may_have_been_sent, source } => Self::Transport {
                operation: operation.clone(),
                kind: *kind,
                may_have_been_sent: *may_have_been_sent,
                source: source.clone(),
            },
            Self::OAuth { dc, accounts_server, error, description, hint } => Self::OAuth {
                dc: *dc,
                accounts_server: accounts_server.clone(),
                error: error.clone(),
                description: description.clone(),
                hint: hint.clone(),
            },
            Self::ReauthorizationRequired { key, reason, zoho_error } => Self::ReauthorizationRequired {
                key: key.clone(),
                reason: reason.clone(),
                zoho_error: zoho_error.clone(),
            },
            Self::NotConnected { key } => Self::NotConnected { key: key.clone() },
            Self::Api { operation, status, code, message, details } => Self::Api {
                operation: operation.clone(),
                status: *status,
                code: code.clone(),
                message: message.clone(),
                details: details.clone(),
            },
            Self::RateLimited { scope, retry_after } => Self::RateLimited { scope: *scope, retry_after: *retry_after },
            Self::Decode { operation, status, body, reason } => Self::Decode {
                operation: operation.clone(),
                status: *status,
                body: body.clone(),
                reason: reason.clone(),
            },
            Self::Store(e) => Self::Store(duplicate_store_error(e)),
            Self::InvalidInput { parameter, reason } => {
                Self::InvalidInput { parameter: parameter.clone(), reason: reason.clone() }
            }
            Self::Pagination { operation, page, reason } => {
                Self::Pagination { operation: operation.clone(), page: *page, reason: reason.clone() }
            }
        }
    }
}

/// A copy of a store error for the waiters of a shared refresh. Driver and OS errors are not
/// `Clone`: the copy keeps their kind and message (already free of row values).
fn duplicate_store_error(e: &StoreError) -> StoreError {
    use StoreError as S;
    match e {
        S::Io { action, path, source } => {
            S::Io { action, path: path.clone(), source: std::io::Error::new(source.kind(), source.to_string()) }
        }
        S::Database { backend, action, source } => S::Database {
            backend,
            action,
            source: Box::<dyn std::error::Error + Send + Sync>::from(source.to_string()),
        },
        S::Busy { backend, action, waited } => S::Busy { backend, action, waited: *waited },
        S::Corrupt { key, reason } => S::Corrupt { key: key.clone(), reason: reason.clone() },
        S::WrongKey { key } => S::WrongKey { key: key.clone() },
        S::CipherRequired { key } => S::CipherRequired { key: key.clone() },
        S::NotSealed { key } => S::NotSealed { key: key.clone() },
        S::Encrypt { reason } => S::Encrypt { reason: reason.clone() },
        S::InvalidKey { reason } => S::InvalidKey { reason: reason.clone() },
        S::Migration { table, found, supported } => {
            S::Migration { table: table.clone(), found: *found, supported: *supported }
        }
        S::InvalidIdentifier { what, name } => S::InvalidIdentifier { what, name: name.clone() },
        S::KeyMismatch { lease, token } => S::KeyMismatch { lease: lease.clone(), token: token.clone() },
        S::Import { line, reason } => S::Import { line: *line, reason: reason.clone() },
        S::LeaseLost { backend, action, key } => S::LeaseLost { backend, action, key: key.clone() },
        S::Tls { backend, reason } => S::Tls { backend, reason: reason.clone() },
    }
}

impl From<DcError> for Error {
    fn from(e: DcError) -> Self {
        Self::DataCenter(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<CallbackError> for Error {
    fn from(e: CallbackError) -> Self {
        Self::Callback(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connect timeout is both a connect error and a timeout in reqwest: nothing was sent.
    #[tokio::test]
    async fn a_connect_timeout_was_not_sent() {
        // A listener whose accept queue is full and never accepted: a new connection's SYN is
        // dropped, so connecting times out (on loopback, nothing leaves the machine).
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut queued = Vec::new();
        for _ in 0..4 {
            if let Ok(Ok(s)) =
                tokio::time::timeout(std::time::Duration::from_millis(200), tokio::net::TcpStream::connect(addr)).await
            {
                queued.push(s);
            }
        }
        let http = crate::transport::http_client_builder()
            .connect_timeout(std::time::Duration::from_millis(300))
            .no_proxy()
            .build()
            .unwrap();
        let error = http.get(format!("http://{addr}/")).send().await.expect_err("the connection is never accepted");
        assert!(error.is_connect() && error.is_timeout(), "{error:?}");
        let e = Error::transport("get_org", error);
        assert!(matches!(e, Error::Transport { kind: TransportKind::Timeout, .. }), "{e:?}");
        assert!(!e.may_have_been_sent(), "the connection never opened: {e:?}");
        drop((queued, listener));
    }

    #[test]
    fn invalid_input_is_not_retryable_and_was_not_sent() {
        let e = Error::invalid_input("module", "\"..\" is a dot segment");
        assert!(!e.is_retryable() && !e.may_have_been_sent());
        assert!(e.to_string().contains("module") && e.to_string().contains("\"..\""), "{e}");
    }

    #[test]
    fn retryability() {
        let e = Error::Api {
            operation: "x".into(),
            status: 503,
            code: "INTERNAL_ERROR".into(),
            message: String::new(),
            details: serde_json::Value::Null,
        };
        assert!(e.is_retryable());
        let e = Error::Api {
            operation: "x".into(),
            status: 400,
            code: "INVALID_MODULE".into(),
            message: String::new(),
            details: serde_json::Value::Null,
        };
        assert!(!e.is_retryable());
    }
}
