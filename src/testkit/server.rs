//! The simulator's HTTP server: one loopback listener, connections driven with hyper (so a
//! fault can drop one), routing to the Accounts and CRM handlers, fault injection, the request
//! log and the `/_sim` test controls.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::dc::{DataCenter, Environment};

use super::state::{Account, CrmUser, State};
use super::{Decision, Fault, LoggedRequest, MAX_LATENCY, Route, Shared, SimConfig, SimError, SimUser, seed};

/// Most records one `POST /_sim/seed` adds.
const MAX_SEED: usize = 1_000_000;

/// Largest request body the simulator reads.
const MAX_BODY: usize = 8 * 1024 * 1024;

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
    pub(crate) fn json(status: u16, value: &Value) -> Resp {
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
        Resp::json(status, &json!({"code": code, "details": details, "message": message, "status": "error"}))
    }
    pub(crate) fn with_user(mut self, user: Option<String>) -> Resp {
        self.user = user;
        self
    }

    fn into_response(self) -> Response<Body> {
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

/// The document a [`Fault::TruncatedBody`] announces in full and sends half of.
const TRUNCATED_DOC: &str = r#"{"data":[{"id":"3652397000000190367","Last_Name":"Burns","Company":"Company"}],"info":{"per_page":200,"count":1,"page":1,"more_records":false}}"#;

/// Where a path goes.
enum Target {
    Accounts(DataCenter, Route),
    Api(DataCenter, Environment, Route),
    Control(String),
}

fn parse_dc(s: &str) -> Option<DataCenter> {
    DataCenter::ALL.iter().copied().find(|d| d.location() == s)
}

fn parse_env(s: &str) -> Option<Environment> {
    Environment::ALL.iter().copied().find(|e| e.as_str() == s)
}

fn classify(path: &str) -> Option<Target> {
    if let Some(rest) = path.strip_prefix("/_sim") {
        return Some(Target::Control(rest.to_owned()));
    }
    if let Some(rest) = path.strip_prefix("/accounts/") {
        let (dc, rest) = rest.split_once('/')?;
        let dc = parse_dc(dc)?;
        let route = match rest.trim_end_matches('/') {
            "oauth/v2/auth" | "oauth/v2/auth/signin" | "oauth/v2/auth/consent" => Route::Authorize,
            "oauth/v2/token" => Route::Token,
            "oauth/v2/token/revoke" => Route::Revoke,
            "oauth/serverinfo" => Route::ServerInfo,
            _ => return None,
        };
        return Some(Target::Accounts(dc, route));
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        let mut it = rest.splitn(3, '/');
        let dc = parse_dc(it.next()?)?;
        let env = parse_env(it.next()?)?;
        let full = it.next().unwrap_or_default();
        let rest = full.strip_prefix("crm/v2/").or_else(|| full.strip_prefix("crm/v8/")).unwrap_or(full);
        let rest = rest.trim_end_matches('/');
        let route = if rest == "users" || rest.starts_with("users/") {
            Route::Users
        } else if rest == "org" {
            Route::Org
        } else if rest.starts_with("settings/modules") {
            Route::Modules
        } else if rest.starts_with("settings/fields") {
            Route::Fields
        } else if rest.starts_with("settings/layouts") {
            Route::Layouts
        } else if rest == "coql" && full.starts_with("crm/v8/") {
            Route::Coql
        } else {
            Route::Records
        };
        return Some(Target::Api(dc, env, route));
    }
    None
}

/// Accepts connections until shut down.
pub(crate) async fn serve(listener: TcpListener, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(connection(stream, shared.clone(), shutdown.clone()));
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(5)).await,
            },
        }
    }
}

/// Serves one connection; a [`Fault::DropConnection`] closes it without an answer.
async fn connection(stream: TcpStream, shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let kill_for_service = kill.clone();
    let service = hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let shared = shared.clone();
        let kill = kill_for_service.clone();
        async move { Ok::<_, Infallible>(handle(shared, req, kill).await) }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    tokio::select! {
        _ = conn => {}
        _ = kill.notified() => {}
        _ = shutdown.changed() => {}
    }
}

/// Takes the next pending fault for `route` (its own faults first, then `Any`).
fn take_fault(shared: &Shared, route: Route) -> Option<Fault> {
    let mut st = shared.lock();
    let idx = st
        .faults
        .iter()
        .position(|f| f.route == route)
        .or_else(|| st.faults.iter().position(|f| f.route == Route::Any))?;
    let pending = st.faults.get_mut(idx)?;
    pending.remaining -= 1;
    let fault = pending.fault.clone();
    if pending.remaining == 0 {
        st.faults.remove(idx);
    }
    Some(fault)
}

fn fault_response(fault: &Fault) -> Resp {
    match fault {
        Fault::TooManyRequests { retry_after_secs } => {
            let mut r = Resp::zoho_error(429, "TOO_MANY_REQUESTS", "too many requests", json!({}));
            r.headers.push(("retry-after", retry_after_secs.to_string()));
            r
        }
        Fault::TooManyRequestsWithoutRetryAfter => {
            Resp::zoho_error(429, "TOO_MANY_REQUESTS", "too many requests", json!({}))
        }
        Fault::Status(500) => Resp::zoho_error(500, "INTERNAL_ERROR", "Internal Server Error", json!({})),
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let reason = status.canonical_reason().unwrap_or("Error");
            Resp::html(status.as_u16(), format!("<html><head><title>{} {reason}</title></head><body><h1>{} {reason}</h1></body></html>", status.as_u16(), status.as_u16()))
        }
        Fault::NonJsonBody => Resp::html(200, "<html><head><title>Zoho</title></head><body><p>Service temporarily unavailable. Please try again later.</p></body></html>".to_owned()),
        Fault::TruncatedBody => Resp { status: 200, headers: Vec::new(), body: RespBody::Truncated(TRUNCATED_DOC.as_bytes().to_vec()), user: None },
        // Handled by the caller.
        Fault::Latency(_) | Fault::DropConnection => Resp::empty(500),
    }
}

/// Keys whose values never reach the log.
const SECRET_KEYS: &[&str] =
    &["client_secret", "code", "refresh_token", "token", "access_token", "sim_session", "password"];

/// The query string with secret values replaced by `[redacted]`.
pub(crate) fn redact_query(query: &str) -> String {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let key = pair.split('=').next().unwrap_or_default();
            let decoded: String =
                url::form_urlencoded::parse(key.as_bytes()).map(|(k, _)| k.into_owned()).next().unwrap_or_default();
            if SECRET_KEYS.iter().any(|s| s.eq_ignore_ascii_case(&decoded)) {
                format!("{key}=[redacted]")
            } else {
                pair.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn handle(shared: Arc<Shared>, req: http::Request<hyper::body::Incoming>, kill: Arc<Notify>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(Body::new(body), MAX_BODY).await {
        Ok(b) => b,
        Err(_) => {
            return Resp::zoho_error(400, "INVALID_DATA", "the request body could not be read", json!({}))
                .into_response();
        }
    };
    let req = Req {
        method: parts.method,
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers,
        body,
    };
    let Some(target) = classify(&req.path) else {
        return not_found(&req.path).into_response();
    };
    let (route, dc, env) = match target {
        Target::Control(rest) => return control(&shared, &req, &rest).await.into_response(),
        Target::Accounts(dc, route) => (route, dc, None),
        Target::Api(dc, env, route) => (route, dc, Some(env)),
    };
    let grant_type = if route == Route::Token { req.param("grant_type") } else { None };
    let resp = match take_fault(&shared, route) {
        Some(Fault::DropConnection) => {
            log(&shared, &req, route, dc, env, grant_type, 0, None);
            kill.notify_one();
            // The connection task drops the connection; this answer is never sent.
            return std::future::pending().await;
        }
        Some(Fault::Latency(d)) => {
            // Like a real server, finish (and log) the request even when the client has
            // given up waiting: a timed-out write still lands.
            let task = tokio::spawn(async move {
                tokio::time::sleep(d.min(MAX_LATENCY)).await;
                let resp = dispatch(&shared, &req, route, dc, env);
                log(&shared, &req, route, dc, env, grant_type, resp.status, resp.user.clone());
                resp
            });
            return match task.await {
                Ok(resp) => resp.into_response(),
                Err(_) => Resp::empty(500).into_response(),
            };
        }
        Some(fault) => fault_response(&fault),
        None => dispatch(&shared, &req, route, dc, env),
    };
    log(&shared, &req, route, dc, env, grant_type, resp.status, resp.user.clone());
    resp.into_response()
}

fn dispatch(shared: &Shared, req: &Req, route: Route, dc: DataCenter, env: Option<Environment>) -> Resp {
    match env {
        None => super::accounts::handle(shared, req, route, dc),
        Some(env) => super::crm::handle(shared, req, route, dc, env),
    }
}

#[allow(clippy::too_many_arguments)]
fn log(
    shared: &Shared,
    req: &Req,
    route: Route,
    dc: DataCenter,
    env: Option<Environment>,
    grant_type: Option<String>,
    status: u16,
    user: Option<String>,
) {
    let entry = LoggedRequest {
        route,
        dc,
        environment: env,
        method: req.method.to_string(),
        path: req.path.clone(),
        query: redact_query(&req.query),
        grant_type,
        status,
        user,
    };
    shared.lock().log.push(entry);
}

fn not_found(path: &str) -> Resp {
    if path.starts_with("/api/") {
        Resp::zoho_error(
            404,
            "INVALID_URL_PATTERN",
            "Please check if the URL trying to access is a correct one",
            json!({}),
        )
    } else {
        Resp::html(404, super::html::error_page("invalid_url", "The requested URL was not found on this server."))
    }
}

/// The initial world.
pub(crate) fn initial_state(config: &SimConfig, now_ms: i64) -> State {
    let accounts = seed::seeded_accounts();
    let start_s = now_ms.div_euclid(1000);
    let other = seed::SeedCounts {
        leads: config.other_org_records,
        contacts: config.other_org_records,
        accounts: config.other_org_records,
        deals: config.other_org_records,
    };
    let us = seed::SeedCounts {
        leads: config.us_leads,
        contacts: config.us_contacts,
        accounts: config.us_accounts,
        deals: config.us_deals,
    };
    let mut clients = std::collections::BTreeMap::new();
    if config.register_default_client {
        let c = super::default_client();
        clients.insert(c.client_id.clone(), c);
    }
    State {
        clients,
        accounts,
        orgs: Default::default(),
        sessions: Default::default(),
        codes: Default::default(),
        refresh_tokens: Default::default(),
        access_tokens: Default::default(),
        seq: 0,
        log: Vec::new(),
        faults: Default::default(),
        start_s,
        us_counts: us,
        other_counts: other,
    }
}

/// The public view of an account.
pub(crate) fn sim_user(st: &State, a: &Account) -> SimUser {
    let index = st.accounts.iter().position(|x| x.email == a.email).unwrap_or(0);
    let id = seed::user_id(a.dc, Environment::Production, index);
    SimUser {
        email: a.email.clone(),
        full_name: format!("{} {}", a.first_name, a.last_name).trim().to_owned(),
        id,
        zuid: a.zuid.clone(),
        dc: a.dc,
    }
}

/// Adds a sign-in account with an active administrator CRM user in every environment of `dc`.
pub(crate) fn add_account(
    st: &mut State,
    email: &str,
    full_name: &str,
    dc: DataCenter,
    now_ms: i64,
) -> Result<SimUser, SimError> {
    if st.account(email).is_some() {
        return Err(SimError::DuplicateUser(email.to_owned()));
    }
    let (first, last) = match full_name.trim().rsplit_once(' ') {
        Some((f, l)) => (f.to_owned(), l.to_owned()),
        None => (String::new(), full_name.trim().to_owned()),
    };
    let zuid = (800_000_000u64 + st.accounts.len() as u64 * 7_919).to_string();
    let account = Account { email: email.to_owned(), first_name: first, last_name: last, zuid, dc };
    let now_s = now_ms.div_euclid(1000);
    let index = st.accounts.len();
    for env in Environment::ALL {
        // Orgs not seeded yet pick the account up when they are.
        if let Some(org) = st.orgs.get_mut(&(dc, env)) {
            let mut user = new_crm_user(org, &account, "CEO", "Administrator", "active", true, now_s);
            let id = seed::user_id(dc, env, index);
            user.json.insert("id".into(), Value::String(id.clone()));
            user.id = id;
            org.users.push(user);
        }
    }
    st.accounts.push(account.clone());
    Ok(sim_user(st, &account))
}

/// A CRM user object for `account` in `org`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn new_crm_user(
    org: &mut super::state::Org,
    account: &Account,
    role: &str,
    profile: &str,
    status: &str,
    confirm: bool,
    now_s: i64,
) -> CrmUser {
    let id = org.new_id();
    let owner = org.owner.clone();
    let country = org.org_json.get("country").and_then(Value::as_str).unwrap_or("US").to_owned();
    let currency = org.org_json.get("currency").and_then(Value::as_str).unwrap_or("USD").to_owned();
    let created = super::time::format_iso(now_s, org.offset_secs);
    let json = seed::user_json(&seed::UserFields {
        id: &id,
        email: &account.email,
        first: &account.first_name,
        last: &account.last_name,
        zuid: Some(&account.zuid),
        role: org.role_ref(role),
        profile: org.profile_ref(profile),
        status,
        confirm,
        country: &country,
        currency: &currency,
        time_zone: &org.time_zone,
        offset_secs: org.offset_secs,
        created: &created,
        creator: &owner,
    });
    CrmUser { id, email: account.email.clone(), modified_s: now_s, json, denied_modules: Vec::new() }
}

/// The JSON line `zoho-sim` prints and `GET /_sim/info` answers.
pub(crate) fn info_json(shared: &Shared) -> Value {
    let st = shared.lock();
    // The default client (null when the simulator was started without it).
    let client = st.clients.get(super::DEFAULT_CLIENT_ID).map(|c| {
        let secrets: serde_json::Map<String, Value> =
            c.secrets.iter().map(|(dc, s)| (dc.location().to_owned(), Value::String(s.expose().to_owned()))).collect();
        let redirect = c.redirect_uris.first().cloned().unwrap_or_default();
        json!({"client_id": c.client_id, "client_secret": secrets, "redirect_uri": redirect})
    });
    json!({
        "accounts": shared.endpoints().accounts,
        "api": shared.endpoints().api,
        "client": client,
        "users": st.accounts.iter().map(|a| json!({"email": a.email, "dc": a.dc})).collect::<Vec<_>>(),
        "control": format!("{}/_sim", shared.base()),
    })
}

fn control_error(status: u16, message: &str) -> Resp {
    Resp::json(status, &json!({"error": "bad_request", "message": message}))
}

/// `/_sim/...`: test controls for clients in any language.
async fn control(shared: &Arc<Shared>, req: &Req, rest: &str) -> Resp {
    let body: Value =
        if req.body.is_empty() { json!({}) } else { serde_json::from_slice(&req.body).unwrap_or(Value::Null) };
    let str_of = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
    match (req.method.as_str(), rest.trim_end_matches('/')) {
        ("GET", "" | "/info") => Resp::json(200, &info_json(shared)),
        ("GET", "/clock") => Resp::json(200, &json!({"now_ms": shared.now_ms()})),
        ("POST", "/clock/advance") => {
            let secs = req
                .query_param("seconds")
                .or_else(|| body.get("seconds").map(|v| v.to_string()))
                .and_then(|s| s.parse::<u64>().ok());
            match secs {
                Some(s) => {
                    shared.clock.advance(std::time::Duration::from_secs(s));
                    Resp::json(200, &json!({"now_ms": shared.now_ms()}))
                }
                None => control_error(400, "give ?seconds=N (a non-negative integer)"),
            }
        }
        ("GET", "/requests") => Resp::json(200, &serde_json::to_value(&shared.lock().log).unwrap_or(Value::Null)),
        ("DELETE", "/requests") => {
            shared.lock().log.clear();
            Resp::json(200, &json!({"status": "success"}))
        }
        ("POST", "/consent") => {
            let (Some(url), Some(email)) = (str_of("authorize_url"), str_of("email")) else {
                return control_error(
                    400,
                    "give {\"authorize_url\":…, \"email\":…, \"environment\":\"production\", \"decision\":\"accept\"}",
                );
            };
            let env = match str_of("environment").as_deref().map(parse_env) {
                None => Environment::Production,
                Some(Some(e)) => e,
                Some(None) => {
                    return control_error(400, "environment is production, sandbox or developer");
                }
            };
            let decision = match str_of("decision").as_deref() {
                None | Some("accept") => Decision::Accept,
                Some("reject") => Decision::Reject,
                Some(_) => return control_error(400, "decision is accept or reject"),
            };
            let client = match shared.http() {
                Ok(c) => c,
                Err(e) => {
                    return Resp::json(502, &json!({"error": "consent_failed", "message": e.to_string()}));
                }
            };
            match super::consent::run(&client, &shared.base(), &url, &email, env, decision).await {
                Ok(redirect) => Resp::json(200, &json!({"redirect": redirect})),
                Err(SimError::ErrorPage { code }) => Resp::json(400, &json!({"error": code})),
                Err(e) => Resp::json(502, &json!({"error": "consent_failed", "message": e.to_string()})),
            }
        }
        ("POST", "/faults") => {
            let route: Option<Route> = body.get("route").cloned().and_then(|v| serde_json::from_value(v).ok());
            let times = body.get("times").and_then(Value::as_u64).unwrap_or(1) as usize;
            let fault = match str_of("fault").as_deref() {
                Some("too_many_requests") => Some(Fault::TooManyRequests {
                    retry_after_secs: body.get("retry_after_secs").and_then(Value::as_u64).unwrap_or(60),
                }),
                Some("too_many_requests_without_retry_after") => Some(Fault::TooManyRequestsWithoutRetryAfter),
                Some("status") => {
                    body.get("status").and_then(Value::as_u64).and_then(|s| u16::try_from(s).ok()).map(Fault::Status)
                }
                Some("latency") => Some(Fault::Latency(std::time::Duration::from_millis(
                    body.get("latency_ms").and_then(Value::as_u64).unwrap_or(100),
                ))),
                Some("drop_connection") => Some(Fault::DropConnection),
                Some("truncated_body") => Some(Fault::TruncatedBody),
                Some("non_json_body") => Some(Fault::NonJsonBody),
                _ => None,
            };
            match (route, fault) {
                (Some(route), Some(fault)) => {
                    if times > 0 {
                        shared.lock().faults.push_back(super::state::PendingFault { route, fault, remaining: times });
                    }
                    Resp::json(200, &json!({"status": "success"}))
                }
                _ => control_error(
                    400,
                    "give {\"route\":\"token|revoke|server_info|authorize|users|org|modules|fields|layouts|records|coql|any\", \"fault\":\"too_many_requests|too_many_requests_without_retry_after|status|latency|drop_connection|truncated_body|non_json_body\", \"times\":1, \"status\":503, \"retry_after_secs\":60, \"latency_ms\":100}",
                ),
            }
        }
        ("POST", "/seed") => {
            let dc = str_of("dc").as_deref().and_then(parse_dc);
            let env = match str_of("environment").as_deref() {
                None => Some(Environment::Production),
                Some(e) => parse_env(e),
            };
            let count = body.get("count").and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
            let (Some(dc), Some(env), Some(module), Some(count)) = (dc, env, str_of("module"), count) else {
                return control_error(
                    400,
                    "give {\"dc\":\"eu\", \"environment\":\"production|sandbox|developer\", \"module\":\"Leads\", \"count\":5000}",
                );
            };
            if count > MAX_SEED {
                return control_error(400, "count is at most 1000000 per call");
            }
            let now_s = shared.now_ms().div_euclid(1000);
            let mut st = shared.lock();
            match seed::add_records(st.org(dc, env), &module, count, now_s) {
                Some(total) => Resp::json(200, &json!({"module": module, "added": count, "total": total})),
                None => control_error(404, "no such module with records (Leads, Contacts, Accounts, Deals, Notes)"),
            }
        }
        ("DELETE", "/faults") => {
            shared.lock().faults.clear();
            Resp::json(200, &json!({"status": "success"}))
        }
        ("POST", "/tokens") => {
            let Some(email) = str_of("email") else {
                return control_error(400, "give {\"email\":…, \"environment\":\"production\", \"scopes\":[…]}");
            };
            let env = str_of("environment").as_deref().and_then(parse_env).unwrap_or_default();
            let scopes: Vec<String> = body
                .get("scopes")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
                .unwrap_or_default();
            let now = shared.now_ms();
            let mut st = shared.lock();
            let Some(account) = st.account(&email).cloned() else {
                return control_error(404, "no such user");
            };
            let minted =
                st.mint(now, super::DEFAULT_CLIENT_ID, &account.email, account.dc, env, scopes.clone(), true, None);
            Resp::json(
                200,
                &json!({
                    "access_token": minted.access_token,
                    "refresh_token": minted.refresh_token,
                    "scope": scopes.join(" "),
                    "api_domain": shared.api_url(account.dc, env),
                    "accounts_server": shared.accounts_url(account.dc),
                    "token_type": "Bearer",
                    "expires_in": super::state::ACCESS_TOKEN_SECS
                }),
            )
        }
        ("POST", "/revoke_out_of_band") => {
            let Some(token) = str_of("refresh_token") else {
                return control_error(400, "give {\"refresh_token\":…}");
            };
            let found = shared.lock().remove_refresh_token(&token);
            Resp::json(200, &json!({"revoked": found}))
        }
        ("POST", "/invalidate_access_tokens") => {
            let Some(email) = str_of("email") else {
                return control_error(400, "give {\"email\":…}");
            };
            let now = shared.now_ms();
            let mut st = shared.lock();
            let mut n = 0;
            for a in st.access_tokens.values_mut() {
                if a.email.eq_ignore_ascii_case(&email) && !a.revoked && a.expires_ms > now {
                    a.revoked = true;
                    n += 1;
                }
            }
            Resp::json(200, &json!({"invalidated": n}))
        }
        _ => control_error(404, "unknown control endpoint; see GET /_sim/info and the README's Simulator section"),
    }
}
