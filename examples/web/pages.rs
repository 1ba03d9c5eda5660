//! The web example's pages: the dashboard, the error messages and the HTML around them.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use zohocrm::client::RecordQuery;
use zohocrm::dc::{DataCenter, DcError, Environment};
use zohocrm::error::CallbackError;
use zohocrm::{Error, TokenKey};

use super::{AppState, DEMO_USERS};

// ---------------------------------------------------------------------------------------------
// The dashboard.

/// The dashboard of a connection; `token` is the session's form token field.
pub(super) async fn dashboard(state: &AppState, key: &TokenKey, token: &str) -> String {
    let stored = state.zoho.tokens().store().get(key).await.ok().flatten();
    let (api_domain, accounts_server) =
        stored.as_ref().map(|t| (t.api_domain.clone(), t.accounts_server.clone())).unwrap_or_default();
    let mut out = format!(
        "<h2>Your Zoho CRM</h2><table class=\"facts\">\
         <tr><th>Data center</th><td id=\"dc\">{} ({})</td></tr>\
         <tr><th>Environment</th><td id=\"environment-value\">{}</td></tr>\
         <tr><th>Accounts server</th><td id=\"accounts-server\">{}</td></tr>\
         <tr><th>API domain</th><td id=\"api-domain\">{}</td></tr>",
        esc(key.dc.name()),
        esc(&key.dc.location().to_uppercase()),
        esc(key.environment.as_str()),
        esc(&accounts_server),
        esc(&api_domain),
    );
    let actions = format!(
        "<div class=\"actions\">{}{}<form method=\"post\" action=\"/disconnect\">{token}<button id=\"disconnect\" class=\"danger\">Disconnect</button></form></div>",
        reconnect_form(key, token),
        connect_form(
            other_environment(key.environment),
            key.dc == DataCenter::Cn,
            "Switch environment",
            "switch",
            token
        ),
    );
    match crm_overview(state, key).await {
        Ok(overview) => {
            out.push_str(&overview);
            out.push_str(&actions);
        }
        Err(e) => {
            out.push_str("</table>");
            let (title, message) = describe(&e);
            eprintln!("web: dashboard for {key}: {e}");
            out.push_str(&error_box(&format!("{title}: {message}")));
            out.push_str(&actions);
        }
    }
    out
}

fn other_environment(env: Environment) -> Environment {
    match env {
        Environment::Production => Environment::Sandbox,
        _ => Environment::Production,
    }
}

/// The CRM part of the dashboard: current user, modules, a page of Leads.
async fn crm_overview(state: &AppState, key: &TokenKey) -> Result<String, Error> {
    let crm = state.zoho.client(key).await?;
    let me = crm.current_user().await?;
    let (name, email) = me.map(|u| (u.full_name.unwrap_or_default(), u.email.unwrap_or_default())).unwrap_or_default();
    let modules = crm.modules().await?;
    let query = RecordQuery {
        per_page: Some(10),
        fields: vec!["Last_Name".into(), "Company".into(), "Email".into()],
        ..Default::default()
    };
    let leads = crm.records_page("Leads", &query, 1).await?;
    let mut out =
        format!("<tr><th>Zoho user</th><td id=\"zoho-user\">{} &lt;{}&gt;</td></tr></table>", esc(&name), esc(&email));
    let names: Vec<String> = modules.iter().filter_map(|m| m.api_name.as_deref()).map(esc).collect();
    out.push_str(&format!(
        "<h3>Modules ({})</h3><p id=\"modules\" class=\"modules\">{}</p>",
        modules.len(),
        names.join(" · ")
    ));
    out.push_str(&format!(
        "<h3>Leads (first page: {}{})</h3><table id=\"leads\" class=\"records\"><tr><th>Last name</th><th>Company</th><th>Email</th></tr>",
        leads.items.len(),
        if leads.more_records { ", more on Zoho" } else { "" }
    ));
    for lead in &leads.items {
        let field = |name: &str| lead.extra.get(name).and_then(|v| v.as_str()).map(esc).unwrap_or_default();
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
            field("Last_Name"),
            field("Company"),
            field("Email")
        ));
    }
    out.push_str("</table>");
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Errors: a clear message per case, never a debug dump. The SDK's `Display` carries no secrets,
// so it may go to the server log.

/// A title and a message for the person in front of the browser.
pub fn describe(e: &Error) -> (&'static str, String) {
    match e {
        Error::Callback(CallbackError::Denied { .. }) => (
            "Access not granted",
            "You declined access on Zoho's consent page, so nothing was connected. Connect again when you are ready.".into(),
        ),
        Error::Callback(CallbackError::StateMismatch) => (
            "Connection refused",
            "This answer from Zoho does not match the connection started here (a stale or foreign link). Connect again.".into(),
        ),
        Error::Callback(CallbackError::Expired) => ("Too slow", "The connection attempt expired. Connect again.".into()),
        Error::Callback(_) => ("Connection failed", "Zoho's answer was incomplete. Connect again.".into()),
        Error::ReauthorizationRequired { .. } => (
            "Your Zoho login has expired",
            "Zoho no longer accepts this connection (it was revoked or has expired). Click Reconnect to sign in to Zoho again.".into(),
        ),
        Error::NotConnected { .. } => ("Not connected", "Connect your Zoho CRM first.".into()),
        Error::DataCenter(DcError::EnvironmentMismatch { requested, granted }) => (
            "Wrong organization",
            format!(
                "You asked to connect the {requested} environment but picked the {granted} org on Zoho's page. Nothing was stored: connect again and pick {requested}."
            ),
        ),
        Error::DataCenter(_) => (
            "Unsupported data center",
            "Zoho sent you back from a data center this app does not accept. Nothing was stored.".into(),
        ),
        Error::OAuth { dc, error, .. } => (
            "Zoho refused the connection",
            format!("Zoho Accounts ({}) answered `{error}`. Connect again; if it persists, contact the app's administrator.", dc.name()),
        ),
        e if e.is_retryable() => (
            "Zoho is not reachable right now",
            "Zoho did not answer (an outage or a rate limit). Nothing was lost: try again in a minute.".into(),
        ),
        _ => ("Something went wrong", "The request to Zoho failed. Try again; if it persists, contact the app's administrator.".into()),
    }
}

pub(super) fn explain(state: &AppState, context: &str, e: &Error) -> Response {
    eprintln!("web: {context}: {e}");
    let (title, message) = describe(e);
    let status = match e {
        Error::Callback(_) | Error::DataCenter(_) => StatusCode::BAD_REQUEST,
        Error::ReauthorizationRequired { .. } | Error::NotConnected { .. } => StatusCode::UNAUTHORIZED,
        e if e.is_retryable() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    message_page(state, status, title, &message)
}

pub(super) fn failure(state: &AppState, context: &str, detail: &str) -> Response {
    eprintln!("web: {context}: {detail}");
    message_page(state, StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Try again in a moment.")
}

// ---------------------------------------------------------------------------------------------
// HTML.

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f6f9;margin:0;color:#1f2328}\
header{background:#12355b;color:#fff;padding:12px 28px}header b{font-size:18px}header .sim{font-size:13px;opacity:.85;margin-left:12px}\
main{max-width:860px;margin:24px auto;background:#fff;border-radius:8px;padding:24px 32px;box-shadow:0 2px 8px rgba(0,0,0,.1)}\
h2{margin-top:8px}table{border-collapse:collapse}.facts th{text-align:left;padding:4px 16px 4px 0;color:#555}.facts td{padding:4px 0}\
.records{width:100%;font-size:14px}.records th,.records td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left}\
.modules{font-size:13px;color:#555}.notice{background:#e6f4ea;padding:10px;border-radius:4px}.error{background:#fce8e6;color:#8c1d18;padding:12px;border-radius:4px}\
button{padding:8px 16px;border:0;border-radius:4px;background:#1a73e8;color:#fff;cursor:pointer;font-size:14px}button.danger{background:#c5221f}button.link{background:none;color:#1a73e8;padding:0}\
.actions{display:flex;gap:12px;flex-wrap:wrap;margin-top:20px}.actions form{background:#f8f9fa;padding:10px;border-radius:6px}form.inline{display:inline;margin-left:14px}.who{margin-bottom:12px}\
label{margin-right:10px}input,select{padding:6px;margin:4px 8px 4px 0}";

pub(super) fn page(state: &AppState, status: StatusCode, title: &str, body: &str) -> Response {
    let banner = match &state.simulator_url {
        Some(url) => format!(
            "<span class=\"sim\" id=\"simulator-banner\">Running against the local Zoho simulator at {} — no real Zoho account is used.</span>",
            esc(url)
        ),
        None => String::new(),
    };
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} - Zylker CRM connector</title><style>{STYLE}</style></head>\n<body><header><b>Zylker CRM connector</b>{banner}</header><main>\n{body}\n</main></body></html>\n",
        esc(title)
    );
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) fn message_page(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<h2 id=\"error-title\">{}</h2>{}<p><a id=\"back\" href=\"/\">Back to the dashboard</a></p>",
        esc(title),
        error_box(message)
    );
    page(state, status, title, &body)
}

pub(super) fn error_box(message: &str) -> String {
    format!("<p class=\"error\" id=\"error\">{}</p>", esc(message))
}

pub(super) fn login_form() -> String {
    let users: Vec<String> = DEMO_USERS.iter().map(|(u, p)| format!("{u} / {p}")).collect();
    format!(
        "<h2>Sign in to the app</h2><p>App users are not Zoho users. Demo accounts: {}.</p>\
         <form id=\"login\" method=\"post\" action=\"/login\">\
         <label>Name <input id=\"user\" name=\"user\" autocomplete=\"username\"></label>\
         <label>Password <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
         <button id=\"sign-in\" type=\"submit\">Sign in</button></form>",
        esc(&users.join(", "))
    )
}

/// The connect form: environment, "my account is in China", and a button. `id` prefixes the
/// element ids (`connect`, `reconnect`, `switch`); `token` is the session's form token field.
pub(super) fn connect_form(environment: Environment, china: bool, label: &str, id: &str, token: &str) -> String {
    let options: String = Environment::ALL
        .iter()
        .map(|e| {
            let selected = if *e == environment { " selected" } else { "" };
            format!("<option value=\"{e}\"{selected}>{}</option>", esc(&capitalize(e.as_str())))
        })
        .collect();
    format!(
        "<form id=\"{id}-form\" method=\"post\" action=\"/connect\">{token}\
         <label>Environment <select id=\"{id}-environment\" name=\"environment\">{options}</select></label>\
         <label><input type=\"checkbox\" id=\"{id}-china\" name=\"china\" value=\"1\"{}> My Zoho account is in China</label>\
         <button id=\"{id}-button\" type=\"submit\">{}</button></form>",
        if china { " checked" } else { "" },
        esc(label)
    )
}

/// "Reconnect": the same environment and the same starting server, as one button; `token` is
/// the session's form token field.
fn reconnect_form(key: &TokenKey, token: &str) -> String {
    let china = if key.dc == DataCenter::Cn { "<input type=\"hidden\" name=\"china\" value=\"1\">" } else { "" };
    format!(
        "<form id=\"reconnect-form\" method=\"post\" action=\"/connect\">{token}\
         <input type=\"hidden\" name=\"environment\" value=\"{}\">{china}\
         <button id=\"reconnect-button\" type=\"submit\">Reconnect</button></form>",
        key.environment
    )
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
