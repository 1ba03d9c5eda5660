//! The simulator's wire types: a request as read off the connection ([`Req`]: query, form and
//! multipart parameters), the answer ([`Resp`]: status, headers, JSON/HTML/empty/truncated
//! body, and the user it acted for), and the serde shapes of the Zoho payloads several
//! handlers answer (the error envelope, the token endpoint's grant and error).
//! Handlers build answers with these; only the server turns them into HTTP responses.

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use serde::Serialize;
use serde_json::Value;

/// A request, fully read.
pub(crate) struct Req {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Req {
    /// Query parameters, decoded.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.query.as_bytes()).into_owned().collect()
    }

    /// One query parameter (the first, if repeated).
    pub(crate) fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Form fields of the body: `application/x-www-form-urlencoded` (also assumed when there is
    /// no content type) or `multipart/form-data` text fields.
    pub(crate) fn form(&self) -> Vec<(String, String)> {
        let ct = self.header("content-type").unwrap_or_default().to_ascii_lowercase();
        if ct.starts_with("multipart/form-data") {
            let boundary = self.header("content-type").and_then(|c| {
                c.split(';').find_map(|p| p.trim().strip_prefix("boundary=")).map(|b| b.trim_matches('"').to_owned())
            });
            return boundary.map(|b| parse_multipart(&self.body, &b)).unwrap_or_default();
        }
        if ct.is_empty() || ct.starts_with("application/x-www-form-urlencoded") {
            return url::form_urlencoded::parse(&self.body).into_owned().collect();
        }
        Vec::new()
    }

    /// A parameter from the form body, else from the query string (Zoho accepts both).
    pub(crate) fn param(&self, name: &str) -> Option<String> {
        self.form().into_iter().find(|(k, _)| k == name).map(|(_, v)| v).or_else(|| self.query_param(name))
    }
}

/// Text fields of a `multipart/form-data` body.
fn parse_multipart(body: &[u8], boundary: &str) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let delim = format!("--{boundary}");
    let mut out = Vec::new();
    for part in text.split(delim.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let name = head.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition")).and_then(|l| {
            l.split(';').find_map(|p| p.trim().strip_prefix("name=")).map(|n| n.trim_matches('"').to_owned())
        });
        if let Some(name) = name {
            out.push((name, value.strip_suffix("\r\n").unwrap_or(value).to_owned()));
        }
    }
    out
}

/// What the simulator answers.
pub(crate) enum RespBody {
    Empty,
    Json(Vec<u8>),
    Html(String),
    /// A body cut off half-way (fault injection).
    Truncated(Vec<u8>),
}

/// A response, plus what the log needs to know about it.
pub(crate) struct Resp {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: RespBody,
    /// The user the request acted for.
    pub user: Option<String>,
}

impl Resp {
    /// A JSON answer: any serializable value, written out as it is (no JSON tree built first).
    pub(crate) fn json<T: serde::Serialize + ?Sized>(status: u16, value: &T) -> Resp {
        Resp {
            status,
            headers: Vec::new(),
            body: RespBody::Json(serde_json::to_vec(value).unwrap_or_default()),
            user: None,
        }
    }
    pub(crate) fn empty(status: u16) -> Resp {
        Resp { status, headers: Vec::new(), body: RespBody::Empty, user: None }
    }
    pub(crate) fn html(status: u16, page: String) -> Resp {
        Resp { status, headers: Vec::new(), body: RespBody::Html(page), user: None }
    }
    pub(crate) fn redirect(location: &str) -> Resp {
        Resp { status: 302, headers: vec![("location", location.to_owned())], body: RespBody::Empty, user: None }
    }
    /// Zoho's error envelope `{code, details, message, status:"error"}`.
    pub(crate) fn zoho_error(status: u16, code: &str, message: &str, details: Value) -> Resp {
        Resp::payload(status, &ZohoError { code, details, message, status: "error" })
    }
    /// A serde payload as JSON.
    pub(crate) fn payload(status: u16, payload: &impl Serialize) -> Resp {
        Resp::json(status, &serde_json::to_value(payload).unwrap_or_default())
    }
    pub(crate) fn with_user(mut self, user: Option<String>) -> Resp {
        self.user = user;
        self
    }

    /// The HTTP response (the server sends it).
    pub(crate) fn into_response(self) -> Response<Body> {
        let mut builder =
            Response::builder().status(StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR));
        for (k, v) in &self.headers {
            builder = builder.header(*k, v.as_str());
        }
        let body = match self.body {
            RespBody::Empty => Body::empty(),
            RespBody::Json(bytes) => {
                builder = builder.header("content-type", "application/json;charset=UTF-8");
                Body::from(bytes)
            }
            RespBody::Html(page) => {
                builder = builder.header("content-type", "text/html;charset=UTF-8");
                Body::from(page)
            }
            RespBody::Truncated(bytes) => {
                let full = bytes.len();
                builder = builder
                    .header("content-type", "application/json;charset=UTF-8")
                    .header("content-length", full.to_string());
                let half = Bytes::from(bytes).slice(..full / 2);
                // Send the head and half the body, let them reach the client, then fail the body:
                // hyper aborts the connection short of the announced length.
                let stream = futures_util::stream::unfold(0u8, move |step| {
                    let half = half.clone();
                    async move {
                        match step {
                            0 => Some((Ok(half), 1)),
                            1 => {
                                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                                Some((Err(std::io::Error::other("body truncated by the simulator")), 2))
                            }
                            _ => None,
                        }
                    }
                });
                Body::from_stream(stream)
            }
        };
        builder.body(body).unwrap_or_else(|_| Response::new(Body::empty()))
    }
}

/// Zoho's error envelope, as the CRM API answers a failed request.
#[derive(Serialize)]
pub(crate) struct ZohoError<'a> {
    pub code: &'a str,
    pub details: Value,
    pub message: &'a str,
    /// Always `"error"`.
    pub status: &'static str,
}

/// The token endpoint's answer to a successful grant (`refresh_token` only when one was minted).
#[derive(Serialize)]
pub(crate) struct TokenGrant<'a> {
    pub access_token: &'a str,
    /// The granted scopes, space-separated.
    pub scope: String,
    pub api_domain: String,
    /// Always `"Bearer"`.
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<&'a str>,
}

/// The token endpoint's failure: `{"error": code}`, which Zoho answers with HTTP 200.
#[derive(Serialize)]
pub(crate) struct TokenError<'a> {
    pub error: &'a str,
}
