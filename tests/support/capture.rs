//! A loopback HTTP/1.1 server that records every request it receives and answers canned
//! responses, plus [`Shape`], the redacted, reviewable form of a recorded request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Field and parameter names whose values are secrets (form bodies, JSON bodies, queries).
pub const SECRET_KEYS: &[&str] = &["client_secret", "code", "refresh_token", "token", "access_token", "id_token"];

/// What replaces a secret in a [`Shape`].
pub const REDACTED: &str = "[redacted]";

/// Upper bound on a request head, so a broken client cannot make the server grow forever.
const MAX_HEAD: usize = 64 * 1024;
/// Upper bound on a request body.
const MAX_BODY: usize = 1024 * 1024;
/// Safety net only: no test waits on this unless the code under test is broken.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// One request exactly as it arrived.
#[derive(Clone, Debug)]
pub struct Captured {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target: path and query as sent, still percent-encoded.
    pub target: String,
    /// Header names (lowercased) and values, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body bytes (read by `Content-Length`).
    pub body: Vec<u8>,
}

impl Captured {
    /// The path part of the target, still percent-encoded.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    /// The raw query string, if any.
    pub fn raw_query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// Decoded query pairs in order.
    pub fn query(&self) -> Vec<(String, String)> {
        self.raw_query().map(decode_form).unwrap_or_default()
    }

    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 text.
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The answer the server gives.
#[derive(Clone, Debug)]
pub struct Canned {
    /// HTTP status code.
    pub status: u16,
    /// Extra response headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes (ignored for 1xx, 204 and 304, which carry none).
    pub body: Vec<u8>,
}

impl Canned {
    /// A JSON answer with this status.
    pub fn json(status: u16, body: &str) -> Self {
        Canned {
            status,
            headers: vec![("content-type".into(), "application/json;charset=UTF-8".into())],
            body: body.as_bytes().to_vec(),
        }
    }

    /// An answer without a body (204, 304).
    pub fn empty(status: u16) -> Self {
        Canned { status, headers: Vec::new(), body: Vec::new() }
    }
}

type Responder = dyn Fn(&Captured) -> Canned + Send + Sync;

/// The capture server. Dropping it stops accepting connections.
pub struct CaptureServer {
    base_url: String,
    seen: Arc<Mutex<Vec<Captured>>>,
    task: tokio::task::JoinHandle<()>,
}

impl CaptureServer {
    /// Starts a server on 127.0.0.1 (a free port) that answers every request with `respond`.
    pub async fn start(respond: impl Fn(&Captured) -> Canned + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let task = {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (seen, respond) = (Arc::clone(&seen), Arc::clone(&respond));
                    tokio::spawn(async move {
                        if let Err(e) = serve(stream, &seen, &*respond).await {
                            eprintln!("capture server: {e}");
                        }
                    });
                }
            })
        };
        CaptureServer { base_url: format!("http://{addr}"), seen, task }
    }

    /// A server answering `200` with this JSON body to everything.
    pub async fn json_ok(body: &'static str) -> Self {
        Self::start(move |_| Canned::json(200, body)).await
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Removes and returns the requests recorded so far.
    pub fn take(&self) -> Vec<Captured> {
        std::mem::take(&mut *self.seen.lock().expect("capture lock"))
    }

    /// Removes and returns the only request recorded so far; panics if there is not exactly one.
    pub fn take_one(&self) -> Captured {
        let mut all = self.take();
        assert_eq!(all.len(), 1, "expected exactly one request, got {all:#?}");
        all.remove(0)
    }
}

impl Drop for CaptureServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves one connection: requests in sequence (keep-alive) until the client closes it.
async fn serve(mut stream: TcpStream, seen: &Mutex<Vec<Captured>>, respond: &Responder) -> Result<(), String> {
    let mut buf = Vec::new();
    loop {
        let head_end = loop {
            if let Some(i) = find(&buf, b"\r\n\r\n") {
                break i;
            }
            if buf.len() > MAX_HEAD {
                return Err("request head too large".into());
            }
            if read_more(&mut stream, &mut buf).await? == 0 {
                return Ok(()); // closed between requests
            }
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).map_err(|e| format!("head is not UTF-8: {e}"))?;
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let (method, target, version) = (parts.next(), parts.next(), parts.next());
        let (Some(method), Some(target), Some("HTTP/1.1")) = (method, target, version) else {
            return Err(format!("not an HTTP/1.1 request line: {request_line:?}"));
        };
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':').ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        if headers.iter().any(|(n, _)| n == "transfer-encoding") {
            return Err("chunked request bodies are not supported by the capture server".into());
        }
        let length = match headers.iter().find(|(n, _)| n == "content-length") {
            Some((_, v)) => v.parse::<usize>().map_err(|e| format!("bad content-length {v:?}: {e}"))?,
            None => 0,
        };
        if length > MAX_BODY {
            return Err(format!("body of {length} bytes is too large"));
        }
        let body_start = head_end + 4;
        while buf.len() < body_start + length {
            if read_more(&mut stream, &mut buf).await? == 0 {
                return Err("connection closed inside a body".into());
            }
        }
        let body = buf[body_start..body_start + length].to_vec();
        buf.drain(..body_start + length);

        let captured = Captured { method: method.to_owned(), target: target.to_owned(), headers, body };
        let canned = respond(&captured);
        seen.lock().map_err(|_| "capture lock poisoned")?.push(captured);
        write_response(&mut stream, &canned).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Result<usize, String> {
    let mut chunk = [0u8; 8192];
    let n = tokio::time::timeout(IO_TIMEOUT, stream.read(&mut chunk))
        .await
        .map_err(|_| "timed out reading the request".to_owned())?
        .map_err(|e| format!("read: {e}"))?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

async fn write_response(stream: &mut TcpStream, canned: &Canned) -> Result<(), String> {
    let reason = http::StatusCode::from_u16(canned.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Unknown");
    let bodiless = canned.status < 200 || canned.status == 204 || canned.status == 304;
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", canned.status);
    for (name, value) in &canned.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if !bodiless {
        out.push_str(&format!("content-length: {}\r\n", canned.body.len()));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    if !bodiless {
        bytes.extend_from_slice(&canned.body);
    }
    tokio::time::timeout(IO_TIMEOUT, stream.write_all(&bytes))
        .await
        .map_err(|_| "timed out writing the response".to_owned())?
        .map_err(|e| format!("write: {e}"))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Decodes `application/x-www-form-urlencoded` text (also used for query strings).
pub fn decode_form(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes()).into_owned().collect()
}

/// Whether a field or parameter name holds a secret.
pub fn is_secret_key(name: &str) -> bool {
    SECRET_KEYS.contains(&name)
}

/// Headers left out of shapes because they change from run to run.
const VOLATILE_HEADERS: &[&str] = &["host"];

/// A recorded request in reviewable form: decoded, sorted where order carries no meaning, and
/// with every secret replaced by [`REDACTED`].
#[derive(Debug, Serialize)]
pub struct Shape {
    /// HTTP method.
    pub method: String,
    /// Path as sent (percent-encoded).
    pub path: String,
    /// The query string exactly as sent (still percent-encoded), unless it holds a secret.
    pub raw_query: Option<String>,
    /// Decoded query parameters, in the order sent, as `name=value`.
    pub query: Vec<String>,
    /// Headers sorted by name, as `name: value` (volatile ones dropped).
    pub headers: Vec<String>,
    /// The body, decoded by its content type.
    pub body: Body,
}

/// A decoded request body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// No body.
    None,
    /// A JSON body (secret-named fields redacted at any depth).
    Json(serde_json::Value),
    /// A form body: decoded `name=value` pairs in the order sent.
    Form(Vec<String>),
    /// Anything else, as text.
    Text(String),
}

impl Shape {
    /// The redacted shape of a captured request.
    pub fn of(request: &Captured) -> Shape {
        let pair = |(k, v): (String, String)| {
            let v = if is_secret_key(&k) { REDACTED.to_owned() } else { v };
            format!("{k}={v}")
        };
        let mut headers: Vec<String> = request
            .headers
            .iter()
            .filter(|(n, _)| !VOLATILE_HEADERS.contains(&n.as_str()))
            .map(|(n, v)| format!("{n}: {}", redact_header(n, v)))
            .collect();
        headers.sort();
        let content_type = request.header("content-type").unwrap_or_default();
        let body = if request.body.is_empty() {
            Body::None
        } else if content_type.starts_with("application/json") {
            match serde_json::from_slice(&request.body) {
                Ok(value) => Body::Json(redact_json(value)),
                Err(_) => Body::Text(request.body_text()),
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            Body::Form(decode_form(&request.body_text()).into_iter().map(pair).collect())
        } else {
            Body::Text(request.body_text())
        };
        Shape {
            method: request.method.clone(),
            path: request.path().to_owned(),
            raw_query: request.raw_query().map(|q| {
                if request.query().iter().any(|(k, _)| is_secret_key(k)) {
                    format!("{REDACTED} (holds a secret parameter)")
                } else {
                    q.to_owned()
                }
            }),
            query: request.query().into_iter().map(pair).collect(),
            headers,
            body,
        }
    }
}

/// Keeps the scheme of an `Authorization` header (`Zoho-oauthtoken`, `Bearer`) and hides the rest.
pub fn redact_header(name: &str, value: &str) -> String {
    if name.eq_ignore_ascii_case("authorization") {
        match value.split_once(' ') {
            Some((scheme, _)) => format!("{scheme} {REDACTED}"),
            None => REDACTED.to_owned(),
        }
    } else {
        value.to_owned()
    }
}

/// Replaces the value of every secret-named field, at any depth.
pub fn redact_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(&k) { Value::String(REDACTED.into()) } else { redact_json(v) };
                    (k, v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_json).collect()),
        other => other,
    }
}

/// Sorted map of header name to values, for assertions.
pub fn header_map(request: &Captured) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (n, v) in &request.headers {
        map.entry(n.clone()).or_default().push(v.clone());
    }
    map
}
