//! `/_sim/...`: the test controls for clients in any language. Each control parses its request
//! and calls the one [`Shared`] method the Rust [`Simulator`](crate::testkit::Simulator) API
//! calls too; only the parsing and the JSON answers live here.

use std::time::Duration;

use serde_json::{Value, json};

use super::routes::{parse_dc, parse_env};
use crate::dc::Environment;
use crate::testkit::shared::Shared;
use crate::testkit::types::{Decision, Fault, Route, SimError};
use crate::testkit::wire::{Req, Resp};

/// Most records one `POST /_sim/seed` adds.
const MAX_SEED: usize = 1_000_000;

/// The latest instant `POST /_sim/clock/advance` moves the clock to, 9999-12-31T00:00:00Z in
/// epoch milliseconds: later, Zoho's four-digit years (at any offset) no longer fit, and
/// the simulator's own time arithmetic would soon overflow.
const MAX_CLOCK_MS: i64 = 253_402_214_400_000;

fn control_error(status: u16, message: &str) -> Resp {
    Resp::json(status, &json!({"error": "bad_request", "message": message}))
}

fn success() -> Resp {
    Resp::json(200, &json!({"status": "success"}))
}

/// A control request's JSON body (`{}` when empty, `null` when not JSON).
struct Body(Value);

impl Body {
    fn of(req: &Req) -> Body {
        Body(if req.body.is_empty() { json!({}) } else { serde_json::from_slice(&req.body).unwrap_or(Value::Null) })
    }

    fn str(&self, key: &str) -> Option<String> {
        self.0.get(key).and_then(Value::as_str).map(str::to_owned)
    }

    fn u64(&self, key: &str) -> Option<u64> {
        self.0.get(key).and_then(Value::as_u64)
    }
}

/// Answers one control request; `rest` is the path after `/_sim`.
pub(super) async fn control(shared: &Shared, req: &Req, rest: &str) -> Resp {
    let body = Body::of(req);
    match (req.method.as_str(), rest.trim_end_matches('/')) {
        ("GET", "" | "/info") => Resp::json(200, &shared.info_json()),
        ("GET", "/clock") => Resp::json(200, &json!({"now_ms": shared.now_ms()})),
        ("POST", "/clock/advance") => advance(shared, req, &body),
        ("GET", "/requests") => Resp::json(200, &serde_json::to_value(shared.requests()).unwrap_or(Value::Null)),
        ("DELETE", "/requests") => {
            shared.clear_requests();
            success()
        }
        ("POST", "/consent") => consent(shared, &body).await,
        ("POST", "/faults") => inject(shared, &body),
        ("DELETE", "/faults") => {
            shared.clear_faults();
            success()
        }
        ("POST", "/seed") => seed(shared, &body),
        ("POST", "/tokens") => tokens(shared, &body),
        ("POST", "/revoke_out_of_band") => {
            let Some(token) = body.str("refresh_token") else {
                return control_error(400, "give {\"refresh_token\":…}");
            };
            Resp::json(200, &json!({"revoked": shared.revoke_refresh_token_out_of_band(&token)}))
        }
        ("POST", "/invalidate_access_tokens") => {
            let Some(email) = body.str("email") else {
                return control_error(400, "give {\"email\":…}");
            };
            Resp::json(200, &json!({"invalidated": shared.invalidate_access_tokens_for(&email)}))
        }
        _ => control_error(404, "unknown control endpoint; see GET /_sim/info and the README's Simulator section"),
    }
}

/// `POST /_sim/clock/advance?seconds=N` (or `{"seconds": N}`).
fn advance(shared: &Shared, req: &Req, body: &Body) -> Resp {
    let secs = req
        .query_param("seconds")
        .or_else(|| body.0.get("seconds").map(|v| v.to_string()))
        .and_then(|s| s.parse::<u64>().ok());
    match secs {
        Some(s) => {
            let room_s = MAX_CLOCK_MS.saturating_sub(shared.now_ms()).max(0) / 1000;
            if !i64::try_from(s).is_ok_and(|s| s <= room_s) {
                return control_error(
                    400,
                    &format!(
                        "seconds is too large: the simulated clock may not pass 9999-12-31T00:00:00Z (at most {room_s} seconds from now)"
                    ),
                );
            }
            shared.advance(Duration::from_secs(s));
            Resp::json(200, &json!({"now_ms": shared.now_ms()}))
        }
        None => control_error(400, "give ?seconds=N (a non-negative integer)"),
    }
}

/// `POST /_sim/consent` `{"authorize_url", "email", "environment", "decision"}`.
async fn consent(shared: &Shared, body: &Body) -> Resp {
    let (Some(url), Some(email)) = (body.str("authorize_url"), body.str("email")) else {
        return control_error(
            400,
            "give {\"authorize_url\":…, \"email\":…, \"environment\":\"production\", \"decision\":\"accept\"}",
        );
    };
    let env = match body.str("environment").as_deref().map(parse_env) {
        None => Environment::Production,
        Some(Some(e)) => e,
        Some(None) => {
            return control_error(400, "environment is production, sandbox or developer");
        }
    };
    let decision = match body.str("decision").as_deref() {
        None | Some("accept") => Decision::Accept,
        Some("reject") => Decision::Reject,
        Some(_) => return control_error(400, "decision is accept or reject"),
    };
    let visit = crate::testkit::consent::Visit { authorize_url: &url, email: &email, environment: env, decision };
    match shared.consent(visit).await {
        Ok(redirect) => Resp::json(200, &json!({"redirect": redirect})),
        Err(SimError::ErrorPage { code }) => Resp::json(400, &json!({"error": code})),
        Err(e) => Resp::json(502, &json!({"error": "consent_failed", "message": e.to_string()})),
    }
}

/// The fault a `POST /_sim/faults` body names.
fn parse_fault(body: &Body) -> Option<Fault> {
    match body.str("fault").as_deref() {
        Some("too_many_requests") => {
            Some(Fault::TooManyRequests { retry_after_secs: body.u64("retry_after_secs").unwrap_or(60) })
        }
        Some("too_many_requests_without_retry_after") => Some(Fault::TooManyRequestsWithoutRetryAfter),
        Some("status") => body.u64("status").and_then(|s| u16::try_from(s).ok()).map(Fault::Status),
        Some("latency") => Some(Fault::Latency(Duration::from_millis(body.u64("latency_ms").unwrap_or(100)))),
        Some("drop_connection") => Some(Fault::DropConnection),
        Some("truncated_body") => Some(Fault::TruncatedBody),
        Some("non_json_body") => Some(Fault::NonJsonBody),
        _ => None,
    }
}

/// `POST /_sim/faults` `{"route", "fault", "times", …}`.
fn inject(shared: &Shared, body: &Body) -> Resp {
    let route: Option<Route> = body.0.get("route").cloned().and_then(|v| serde_json::from_value(v).ok());
    let times = body.u64("times").unwrap_or(1) as usize;
    match (route, parse_fault(body)) {
        (Some(route), Some(fault)) => {
            shared.inject(route, fault, times);
            success()
        }
        _ => control_error(
            400,
            "give {\"route\":\"token|revoke|server_info|authorize|users|org|modules|fields|layouts|records|coql|any\", \"fault\":\"too_many_requests|too_many_requests_without_retry_after|status|latency|drop_connection|truncated_body|non_json_body\", \"times\":1, \"status\":503, \"retry_after_secs\":60, \"latency_ms\":100}",
        ),
    }
}

/// `POST /_sim/seed` `{"dc", "environment", "module", "count"}`.
fn seed(shared: &Shared, body: &Body) -> Resp {
    let dc = body.str("dc").as_deref().and_then(parse_dc);
    let env = match body.str("environment").as_deref() {
        None => Some(Environment::Production),
        Some(e) => parse_env(e),
    };
    let count = body.u64("count").and_then(|n| usize::try_from(n).ok());
    let (Some(dc), Some(env), Some(module), Some(count)) = (dc, env, body.str("module"), count) else {
        return control_error(
            400,
            "give {\"dc\":\"eu\", \"environment\":\"production|sandbox|developer\", \"module\":\"Leads\", \"count\":5000}",
        );
    };
    if count > MAX_SEED {
        return control_error(400, "count is at most 1000000 per call");
    }
    match shared.seed_records(dc, env, &module, count) {
        Ok(total) => Resp::json(200, &json!({"module": module, "added": count, "total": total})),
        Err(_) => control_error(404, "no such module with records (Leads, Contacts, Accounts, Deals, Notes)"),
    }
}

/// `POST /_sim/tokens` `{"email", "environment", "scopes"}`.
fn tokens(shared: &Shared, body: &Body) -> Resp {
    let Some(email) = body.str("email") else {
        return control_error(400, "give {\"email\":…, \"environment\":\"production\", \"scopes\":[…]}");
    };
    let env = body.str("environment").as_deref().and_then(parse_env).unwrap_or_default();
    let scopes: Vec<String> = body
        .0
        .get("scopes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    let scope = scopes.join(" ");
    match shared.issue_tokens(&email, env, scopes) {
        Ok(t) => Resp::json(
            200,
            &json!({
                "access_token": t.access_token.expose(),
                "refresh_token": t.refresh_token.expose(),
                "scope": scope,
                "api_domain": t.api_domain,
                "accounts_server": t.accounts_server,
                "token_type": "Bearer",
                "expires_in": t.expires_in
            }),
        ),
        Err(_) => control_error(404, "no such user"),
    }
}
