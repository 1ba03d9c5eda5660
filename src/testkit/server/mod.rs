//! The simulator's HTTP server: one loopback listener, connections driven with hyper (so a
//! fault can drop one), routing (`routes`) to the Accounts and CRM handlers, fault injection,
//! the request log and the `/_sim` test controls (`controls`). The top of the handler layers:
//! nothing but the [`Simulator`](super::Simulator) handle imports it.

mod controls;
mod routes;

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use http::{Response, StatusCode};
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

use crate::dc::{DataCenter, Environment};

use super::shared::Shared;
use super::types::{Fault, LoggedRequest, MAX_LATENCY, Route};
use super::wire::{Req, Resp, RespBody};
use super::{accounts, crm, html};
use routes::{Target, classify};

/// Largest request body the simulator reads.
const MAX_BODY: usize = 8 * 1024 * 1024;

/// The document a [`Fault::TruncatedBody`] announces in full and sends half of.
const TRUNCATED_DOC: &str = r#"{"data":[{"id":"3652397000000190367","Last_Name":"Burns","Company":"Company"}],"info":{"per_page":200,"count":1,"page":1,"more_records":false}}"#;

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
const SECRET_KEYS: &[&str] = &[
    "client_secret",
    "code",
    "refresh_token",
    "token",
    "access_token",
    "sim_session",
    "password",
    // The app's CSRF secret for one authorization, and PKCE's verifier.
    "state",
    "code_verifier",
];

/// The query string with secret values replaced by `[redacted]`.
fn redact_query(query: &str) -> String {
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
        Target::Control(rest) => return controls::control(&shared, &req, &rest).await.into_response(),
        Target::Accounts(dc, route) => (route, dc, None),
        Target::Api(dc, env, route) => (route, dc, Some(env)),
    };
    let grant_type = if route == Route::Token { req.param("grant_type") } else { None };
    let landing = Landing { route, dc, env, grant_type };
    let resp = match shared.take_fault(route) {
        Some(Fault::DropConnection) => {
            log(&shared, &req, &landing, 0, None);
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
                log(&shared, &req, &landing, resp.status, resp.user.clone());
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
    log(&shared, &req, &landing, resp.status, resp.user.clone());
    resp.into_response()
}

fn dispatch(shared: &Shared, req: &Req, route: Route, dc: DataCenter, env: Option<Environment>) -> Resp {
    match env {
        None => accounts::handle(shared, req, route, dc),
        Some(env) => crm::handle(shared, req, route, dc, env),
    }
}

/// Where a request landed: what the log records besides the request and the answer.
struct Landing {
    route: Route,
    dc: DataCenter,
    env: Option<Environment>,
    /// `grant_type` of a token request.
    grant_type: Option<String>,
}

/// Logs a request answered with `status` (0: dropped) for `user`.
fn log(shared: &Shared, req: &Req, landing: &Landing, status: u16, user: Option<String>) {
    shared.log(LoggedRequest {
        route: landing.route,
        dc: landing.dc,
        environment: landing.env,
        method: req.method.to_string(),
        path: req.path.clone(),
        query: redact_query(&req.query),
        grant_type: landing.grant_type.clone(),
        status,
        user,
    });
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
        Resp::html(404, html::error_page("invalid_url", "The requested URL was not found on this server."))
    }
}
