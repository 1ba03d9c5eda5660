//! Sessions and forms of the web example.
//!
//! The cookie is `user.session-id.issued-at.hmac`, signed with HMAC-SHA256 under the app's key;
//! its session id must also be live on the server, so signing out ends it (a copy of the cookie
//! no longer signs in). Every form a signed-in user posts carries a token derived from the
//! session id under the same key, checked in constant time: a page on another origin, or on a
//! same-site one that rides the cookie, cannot post it. The sign-in form has no session yet: it
//! is refused when the browser says it was posted from another site (`Origin`,
//! `Sec-Fetch-Site`), so a page elsewhere cannot sign the browser in as its own account.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{AnyError, AppState, COOKIE, SESSION_TTL, Session, lock, message_page};

/// The session cookie's name over HTTPS.
const HOST_COOKIE: &str = "__Host-zohocrm_web_session";
/// The most live sessions kept at once.
const MAX_SESSIONS: usize = 10_000;

/// The name of the hidden form field that carries the session's form token.
const TOKEN_FIELD: &str = "csrf";

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

fn mac(key: &[u8; 32], payload: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(payload.as_bytes());
    mac
}

/// Whether `tag` (hex) is the MAC of `payload`, compared in constant time.
fn verify(key: &[u8; 32], payload: &str, tag: &str) -> bool {
    unhex(tag).is_some_and(|tag| mac(key, payload).verify_slice(&tag).is_ok())
}

/// What the form token signs: the session id, in a shape no session cookie payload has.
fn form_payload(session_id: &str) -> String {
    format!("form-token:{session_id}")
}

/// The signed-in app user: a cookie signed here, younger than [`SESSION_TTL`], of a session
/// that was not ended.
///
/// Two cookies of that name (one set by a sibling subdomain for its parent domain, say) sign
/// nobody in: the browser does not say which is ours.
pub(super) fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let name = cookie_name(state);
    let mut values = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(name)?.strip_prefix('='));
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let (payload, tag) = value.rsplit_once('.')?;
    if !verify(&state.cookie_key, payload, tag) {
        return None;
    }
    let mut parts = payload.split('.');
    let (user, id, issued) = (parts.next()?, parts.next()?, parts.next()?.parse::<u64>().ok()?);
    if now_secs().saturating_sub(issued) > SESSION_TTL.as_secs() || !lock(&state.sessions).contains_key(id) {
        return None;
    }
    Some(Session { user: user.to_owned(), id: id.to_owned() })
}

/// Starts a session for `user` (live on the server from now on) and returns its `Set-Cookie`.
pub(super) fn start_session(state: &AppState, user: &str) -> Result<String, AnyError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| format!("the operating system's random number generator failed: {e}"))?;
    let (id, now) = (hex(&id), now_secs());
    {
        let mut live = lock(&state.sessions);
        live.retain(|_, issued| now.saturating_sub(*issued) <= SESSION_TTL.as_secs());
        // Bounded (the demo passwords are public: sign-ins in a loop must not grow it forever):
        // past the cap, the oldest session ends.
        if live.len() >= MAX_SESSIONS
            && let Some(oldest) = live.iter().min_by_key(|(_, issued)| **issued).map(|(id, _)| id.clone())
        {
            live.remove(&oldest);
        }
        live.insert(id.clone(), now);
    }
    let payload = format!("{user}.{id}.{now}");
    let value = format!("{payload}.{}", hex(&mac(&state.cookie_key, &payload).finalize().into_bytes()));
    Ok(format!(
        "{}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        cookie_name(state),
        SESSION_TTL.as_secs(),
        if state.secure_cookie { "; Secure" } else { "" }
    ))
}

/// The session cookie's name: over HTTPS with the `__Host-` prefix, which browsers accept only
/// from this host, secure, for path `/` — no sibling subdomain can plant one.
fn cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookie { HOST_COOKIE } else { COOKIE }
}

/// Ends the session on the server: its cookie, or any copy of it, no longer signs in.
pub(super) fn end_session(state: &AppState, session: &Session) {
    lock(&state.sessions).remove(&session.id);
}

/// The `Set-Cookie` that removes the session cookie from the browser.
pub(super) fn clear_cookie(state: &AppState) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(state),
        if state.secure_cookie { "; Secure" } else { "" }
    )
}

/// The hidden field every form of a signed-in user carries: the session's form token.
pub(super) fn token_field(state: &AppState, session: &Session) -> String {
    let token = hex(&mac(&state.cookie_key, &form_payload(&session.id)).finalize().into_bytes());
    format!("<input type=\"hidden\" name=\"{TOKEN_FIELD}\" value=\"{token}\">")
}

/// Whether the browser says the POST comes from the app's own pages: no `Sec-Fetch-Site` of
/// `cross-site` or `same-site`, and no `Origin` but the app's (the redirect URI's origin, or the
/// host the request was sent to). Requests without either header (older browsers, scripts)
/// pass: the form token and `SameSite=Lax` still hold for them.
pub(super) fn from_own_page(state: &AppState, headers: &HeaderMap) -> bool {
    if matches!(headers.get("sec-fetch-site").map(HeaderValue::as_bytes), Some(b"cross-site" | b"same-site")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Ok(origin) = origin.to_str() else { return false };
    let scheme = if state.secure_cookie { "https" } else { "http" };
    origin == state.origin
        || headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| origin == format!("{scheme}://{host}"))
}

/// Who posted a form.
pub(super) enum FormUser {
    /// A signed-in user, with the session's form token, from the app's own page.
    SignedIn(Session),
    /// Nobody is signed in.
    SignedOut,
    /// A session's cookie without its form token, or a form the browser says is from another site.
    Refused,
}

/// Who posted a form carrying `token` (the form token field).
pub(super) fn form_user(state: &AppState, headers: &HeaderMap, token: &str) -> FormUser {
    let Some(session) = session(state, headers) else { return FormUser::SignedOut };
    if verify(&state.cookie_key, &form_payload(&session.id), token) && from_own_page(state, headers) {
        FormUser::SignedIn(session)
    } else {
        FormUser::Refused
    }
}

/// 403 for a form that did not come from the app's own page (no cookie is set or cleared).
pub(super) fn refused(state: &AppState) -> Response {
    message_page(
        state,
        StatusCode::FORBIDDEN,
        "Request refused",
        "This form was not sent from this app's own page, or the page is from an earlier sign-in. Go back to the dashboard and try again.",
    )
}

/// Adds a `Set-Cookie` header.
pub(super) fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
