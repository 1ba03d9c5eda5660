//! The simulated Zoho Accounts server of each data center: authorization pages (sign-in, the
//! move to the user's data center, consent), the token endpoint with Zoho's limits, revocation
//! and serverinfo.

use serde_json::{Value, json};

use crate::dc::{DataCenter, Environment};

use super::html::{self, ConsentPage};
use super::shared::Shared;
use super::state::{self, Code, Grant, Session};
use super::types::Route;
use super::wire::{Req, Resp, TokenError, TokenGrant};

/// Answers one Accounts request.
pub(crate) fn handle(shared: &Shared, req: &Req, route: Route, dc: DataCenter) -> Resp {
    match route {
        Route::Authorize => authorize(shared, req, dc),
        Route::Token => only_post(req).unwrap_or_else(|| token(shared, req, dc)),
        Route::Revoke => only_post(req).unwrap_or_else(|| revoke(shared, req, dc)),
        Route::ServerInfo => serverinfo(shared, req),
        _ => Resp::html(404, html::error_page("invalid_url", "The requested URL was not found on this server.")),
    }
}

/// 405 unless the request is a POST. (Zoho's exact answer to other methods is unverified.)
fn only_post(req: &Req) -> Option<Resp> {
    if req.method == http::Method::POST {
        return None;
    }
    let mut r = Resp::json(405, &json!({"error": "invalid_request_method"}));
    r.headers.push(("allow", "POST".to_owned()));
    Some(r)
}

/// `{"error": code}` with HTTP 200, as Zoho answers token-endpoint failures.
fn token_error(code: &str) -> Resp {
    Resp::payload(200, &TokenError { error: code })
}

/// The authorization request's parameters.
struct AuthParams {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    offline: bool,
    prompt_consent: bool,
    state: Option<String>,
    /// Every OAuth parameter as received, to carry through the pages.
    carried: Vec<(String, String)>,
}

/// How long a sign-in session lasts (simulated time).
const SESSION_MS: i64 = 60 * 60 * 1000;

const OAUTH_KEYS: &[&str] = &["scope", "client_id", "response_type", "redirect_uri", "access_type", "prompt", "state"];

fn error_page(code: &str, message: &str) -> Resp {
    Resp::html(400, html::error_page(code, message))
}

/// Splits Zoho's comma-separated scope list (spaces tolerated).
pub(crate) fn split_scopes(s: &str) -> Vec<String> {
    s.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Validates the OAuth parameters the way Zoho's authorization page does: unknown client or
/// unregistered redirect URI show an error page and never redirect.
fn auth_params(shared: &Shared, pairs: &[(String, String)]) -> Result<AuthParams, Resp> {
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let client_id = get("client_id").unwrap_or_default();
    let st = shared.lock();
    let Some(client) = st.clients.get(&client_id) else {
        return Err(error_page("invalid_client", "Invalid Client: no application is registered with this client_id."));
    };
    let redirect_uri = get("redirect_uri").unwrap_or_default();
    if !client.redirect_uris.contains(&redirect_uri) {
        return Err(error_page(
            "invalid_redirect_uri",
            "Invalid Redirect Uri: the redirect_uri passed does not match the one configured for the client.",
        ));
    }
    if get("response_type").as_deref() != Some("code") {
        return Err(error_page("invalid_response_type", "Invalid response_type: use response_type=code."));
    }
    let scopes = split_scopes(&get("scope").unwrap_or_default());
    if scopes.is_empty() {
        return Err(error_page("invalid_scope", "Invalid OAuth Scope: the scope parameter is missing or empty."));
    }
    let carried = pairs.iter().filter(|(k, _)| OAUTH_KEYS.contains(&k.as_str())).cloned().collect();
    Ok(AuthParams {
        client_id,
        redirect_uri,
        scopes,
        offline: get("access_type").is_some_and(|a| a.eq_ignore_ascii_case("offline")),
        prompt_consent: get("prompt").is_some_and(|p| p.eq_ignore_ascii_case("consent")),
        state: get("state"),
        carried,
    })
}

fn query_of(pairs: &[(String, String)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    ser.finish()
}

/// `base` with `pairs` appended to its query.
fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        ser.append_pair(k, v);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}{}", ser.finish())
}

/// Whether a user of data center `user_dc` can sign in at `server`: China is a separate realm.
fn same_realm(server: DataCenter, user_dc: DataCenter) -> bool {
    (server == DataCenter::Cn) == (user_dc == DataCenter::Cn)
}

fn authorize(shared: &Shared, req: &Req, dc: DataCenter) -> Resp {
    let step = req.path.rsplit('/').next().unwrap_or_default();
    match (req.method.as_str(), step) {
        ("GET", "auth") => authorize_page(shared, req, dc),
        ("POST", "signin") => signin(shared, req, dc),
        ("POST", "consent") => consent(shared, req, dc),
        _ => error_page("invalid_request_method", "This page does not accept that HTTP method."),
    }
}

fn authorize_page(shared: &Shared, req: &Req, dc: DataCenter) -> Resp {
    let pairs = req.query_pairs();
    let params = match auth_params(shared, &pairs) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let session_id = pairs.iter().find(|(k, _)| k == "sim_session").map(|(_, v)| v.clone());
    let st = shared.lock();
    let now = shared.now_ms();
    let session = session_id.as_ref().and_then(|id| {
        st.sessions.get(id).filter(|s| now - s.created_ms < SESSION_MS).map(|s| (id.clone(), s.email.clone()))
    });
    let Some((session_id, email)) = session else {
        // Not signed in: the sign-in page of this server's realm.
        let users: Vec<(String, String)> = st
            .accounts
            .iter()
            .filter(|a| same_realm(dc, a.dc))
            .map(|a| (a.email.clone(), format!("{} {}", a.first_name, a.last_name)))
            .collect();
        let action = format!("/accounts/{}/oauth/v2/auth/signin", dc.location());
        return Resp::html(200, html::signin_page(&shared.accounts_url(dc), &action, &params.carried, &users));
    };
    let Some(account) = st.account(&email).cloned() else {
        return error_page("user_not_found", "The signed-in user no longer exists.");
    };
    if account.dc != dc {
        // Zoho moves the user to the accounts server of their own data center.
        let mut carried = params.carried.clone();
        carried.push(("sim_session".into(), session_id));
        return Resp::redirect(&format!("{}/oauth/v2/auth?{}", shared.accounts_url(account.dc), query_of(&carried)))
            .with_user(Some(email));
    }
    if st.clients.get(&params.client_id).is_none_or(|c| !c.secrets.contains_key(&dc)) {
        return error_page(
            "invalid_client",
            "Invalid Client: Multi-DC is not enabled for this client in the user's data center.",
        )
        .with_user(Some(email));
    }
    let mut fields = params.carried.clone();
    fields.push(("sim_session".into(), session_id));
    let action = format!("/accounts/{}/oauth/v2/auth/consent", dc.location());
    Resp::html(
        200,
        html::consent_page(&ConsentPage {
            dc_label: &shared.accounts_url(dc),
            action: &action,
            fields: &fields,
            client_id: &params.client_id,
            email: &account.email,
            scopes: &params.scopes,
        }),
    )
    .with_user(Some(email))
}

fn signin(shared: &Shared, req: &Req, dc: DataCenter) -> Resp {
    let form = req.form();
    let params = match auth_params(shared, &form) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let email = form.iter().find(|(k, _)| k == "email").map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let now = shared.now_ms();
    let mut st = shared.lock();
    let Some(account) = st.account(&email).cloned().filter(|a| same_realm(dc, a.dc)) else {
        return error_page(
            "user_not_found",
            "This account cannot be found on this accounts server (users in China sign in at the CN server, everyone else at the US server).",
        );
    };
    let session_id = state::random_hex(16);
    st.sessions.insert(session_id.clone(), Session { email: account.email.clone(), created_ms: now });
    let mut carried = params.carried;
    carried.push(("sim_session".into(), session_id));
    Resp::redirect(&format!("{}/oauth/v2/auth?{}", shared.accounts_url(account.dc), query_of(&carried)))
        .with_user(Some(account.email))
}

fn consent(shared: &Shared, req: &Req, dc: DataCenter) -> Resp {
    let form = req.form();
    let params = match auth_params(shared, &form) {
        Ok(p) => p,
        Err(page) => return page,
    };
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let now = shared.now_ms();
    let mut st = shared.lock();
    let Some(email) = get("sim_session")
        .and_then(|id| st.sessions.get(&id).filter(|s| now - s.created_ms < SESSION_MS).map(|s| s.email.clone()))
    else {
        return error_page(
            "invalid_session",
            "The sign-in session is unknown or has ended; start the authorization again.",
        );
    };
    let Some(account) = st.account(&email).cloned() else {
        return error_page("user_not_found", "The signed-in user no longer exists.");
    };
    if account.dc != dc {
        let msg = "The consent was posted to another accounts server than the user's data center.";
        return error_page("invalid_request", msg).with_user(Some(email));
    }
    if st.clients.get(&params.client_id).is_none_or(|c| !c.secrets.contains_key(&dc)) {
        return error_page(
            "invalid_client",
            "Invalid Client: Multi-DC is not enabled for this client in the user's data center.",
        )
        .with_user(Some(email));
    }
    let state_pair = params.state.as_deref().map(|s| ("state", s));
    match get("decision").as_deref() {
        Some("accept") => {}
        _ => {
            // Reject (RFC 6749; Zoho's exact refusal redirect is unverified).
            let mut pairs = vec![("error", "access_denied")];
            pairs.extend(state_pair);
            return Resp::redirect(&with_query(&params.redirect_uri, &pairs)).with_user(Some(email));
        }
    }
    let environment = match get("environment").as_deref().unwrap_or("production") {
        "production" => Environment::Production,
        "sandbox" => Environment::Sandbox,
        "developer" => Environment::Developer,
        _ => {
            return error_page("invalid_environment", "Pick production, sandbox or developer.");
        }
    };
    let issue_refresh = params.offline
        && (params.prompt_consent || !st.has_refresh_token(&account.email, &params.client_id, environment));
    let code = state::new_token();
    st.codes.insert(
        code.clone(),
        Code {
            client_id: params.client_id.clone(),
            redirect_uri: params.redirect_uri.clone(),
            email: account.email.clone(),
            dc,
            environment,
            scopes: params.scopes.clone(),
            issue_refresh,
            created_ms: now,
            valid_ms: state::CODE_SECS * 1000,
            self_client: false,
            used: false,
        },
    );
    let accounts_server = shared.accounts_url(dc);
    let mut pairs =
        vec![("code", code.as_str()), ("location", dc.location()), ("accounts-server", accounts_server.as_str())];
    pairs.extend(state_pair);
    Resp::redirect(&with_query(&params.redirect_uri, &pairs)).with_user(Some(email))
}

/// Client id and secret: form body, query string, or an HTTP Basic header.
fn client_credentials(req: &Req) -> (Option<String>, Option<String>) {
    let mut id = req.param("client_id");
    let mut secret = req.param("client_secret");
    let basic = req
        .header("authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(crate::encoding::base64_decode)
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_owned(), b.to_owned())));
    if let (None, Some((u, p))) = (&id, basic) {
        id = Some(u);
        secret = secret.or(Some(p));
    }
    (id, secret)
}

fn token(shared: &Shared, req: &Req, dc: DataCenter) -> Resp {
    let (client_id, secret) = client_credentials(req);
    let now = shared.now_ms();
    let mut st = shared.lock();
    let client_id = client_id.unwrap_or_default();
    let Some(client) = st.clients.get(&client_id) else {
        return token_error("invalid_client");
    };
    // A data center without a secret is one where Multi-DC is not enabled for the client.
    let Some(expected) = client.secrets.get(&dc) else {
        return token_error("invalid_client");
    };
    match secret {
        None => return token_error("invalid_client"),
        // docs/zoho-facts.md §2.3: a wrong secret answers `invalid_client_secret` (HTTP 200).
        Some(s) if !expected.ct_eq(&crate::secret::ClientSecret::new(s.as_str())) => {
            return token_error("invalid_client_secret");
        }
        Some(_) => {}
    }
    let (email, environment, scopes, with_refresh, from_refresh) = match req.param("grant_type").as_deref() {
        Some("authorization_code") => {
            let code_value = req.param("code").unwrap_or_default();
            let Some(code) = st.codes.get(&code_value) else {
                return token_error("invalid_code");
            };
            let expired = now - code.created_ms > code.valid_ms;
            if code.used || expired || code.dc != dc || code.client_id != client_id {
                return token_error("invalid_code").with_user(Some(code.email.clone()));
            }
            let redirect_ok = if code.self_client {
                req.param("redirect_uri").is_none_or(|r| r.is_empty())
            } else {
                req.param("redirect_uri").as_deref() == Some(code.redirect_uri.as_str())
            };
            if !redirect_ok {
                return token_error("invalid_redirect_uri").with_user(Some(code.email.clone()));
            }
            let (email, env, scopes, issue_refresh) =
                (code.email.clone(), code.environment, code.scopes.clone(), code.issue_refresh);
            if let Some(c) = st.codes.get_mut(&code_value) {
                c.used = true;
            }
            (email, env, scopes, issue_refresh, None)
        }
        Some("refresh_token") => {
            let value = req.param("refresh_token").unwrap_or_default();
            let Some(rt) = st.refresh_tokens.get_mut(&value) else {
                return token_error("invalid_code");
            };
            if rt.client_id != client_id || rt.dc != dc {
                return token_error("invalid_code").with_user(Some(rt.email.clone()));
            }
            rt.refresh_mints.retain(|t| now - *t < state::REFRESH_WINDOW_MS);
            if rt.refresh_mints.len() >= state::REFRESH_MINTS_PER_WINDOW {
                let body = json!({"error_description": "You have made too many requests continuously. Please try again after some time.", "error": "Access Denied", "status": "failure"});
                return Resp::json(400, &body).with_user(Some(rt.email.clone()));
            }
            rt.refresh_mints.push(now);
            let (email, env, scopes) = (rt.email.clone(), rt.environment, rt.scopes.clone());
            (email, env, scopes, false, Some(value))
        }
        _ => return token_error("unsupported_grant_type"),
    };
    let grant = Grant { client_id: &client_id, email: &email, dc, environment, scopes, with_refresh, from_refresh };
    let minted = st.mint(now, grant);
    token_response(shared, &minted).with_user(Some(email))
}

fn token_response(shared: &Shared, minted: &state::Minted) -> Resp {
    let grant = TokenGrant {
        access_token: &minted.access_token,
        scope: minted.scopes.join(" "),
        api_domain: shared.api_url(minted.dc, minted.environment),
        token_type: "Bearer",
        expires_in: state::ACCESS_TOKEN_SECS,
        refresh_token: minted.refresh_token.as_deref(),
    };
    Resp::payload(200, &grant)
}

fn revoke(shared: &Shared, req: &Req, dc: DataCenter) -> Resp {
    let token = req.param("token").unwrap_or_default();
    let mut st = shared.lock();
    if let Some(email) = st.refresh_tokens.get(&token).filter(|r| r.dc == dc).map(|r| r.email.clone()) {
        st.remove_refresh_token(&token);
        return Resp::json(200, &json!({"status": "success"})).with_user(Some(email));
    }
    if let Some(a) = st.access_tokens.get_mut(&token).filter(|a| a.dc == dc && !a.revoked) {
        a.revoked = true;
        let email = a.email.clone();
        return Resp::json(200, &json!({"status": "success"})).with_user(Some(email));
    }
    // Zoho answers HTTP 400 for an invalid token; this exact body is unverified.
    Resp::json(400, &json!({"error": "invalid_token", "status": "failure"}))
}

fn serverinfo(shared: &Shared, req: &Req) -> Resp {
    if req.method != http::Method::GET {
        return Resp::json(405, &json!({"error": "invalid_request_method"}));
    }
    // China is not listed (docs/zoho-facts.md §2.2).
    let locations: serde_json::Map<String, Value> = DataCenter::ALL
        .iter()
        .filter(|d| **d != DataCenter::Cn)
        .map(|d| (d.location().to_owned(), Value::String(shared.accounts_url(*d))))
        .collect();
    Resp::json(200, &json!({"result": "success", "locations": locations}))
}
