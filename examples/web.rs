//! A small web app for the seed scenario: app users (not Zoho users) sign in, pick an
//! environment (production, sandbox, developer), connect their Zoho CRM from any data center
//! (a "my account is in China" choice starts at the CN accounts server), and see their Zoho user,
//! data center, environment, modules and a page of Leads. Reconnect, switch environment and
//! disconnect (revoke) are one button each; a refused consent, an expired login and a Zoho outage
//! each get a clear message.
//!
//! ```sh
//! cargo run --example web --features testkit,sqlite              # local Zoho simulator, in-process
//! cargo run --example web --features testkit,sqlite -- --listen 127.0.0.1:8080 --sqlite tokens.sqlite3
//! cargo run --example web --features testkit,sqlite,postgres -- --postgres postgres://127.0.0.1/test
//! ```
//!
//! With `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET` (per-DC secrets as `ZOHO_CLIENT_SECRET_EU`, ...)
//! and `ZOHO_REDIRECT_URI` (for example `http://localhost:8080/zoho/callback`, registered with
//! your Zoho client) set, it talks to real Zoho instead and serves the callback at the redirect
//! URI's path (and, without `--listen`, on its port when it is a loopback URI).
//!
//! Sessions: the cookie holds the app user's name, a random session id and the issue time,
//! signed with HMAC-SHA256 under a key drawn at start (so a restart signs everyone out). It
//! holds no Zoho token and no OAuth `state`: the pending authorization (which carries the state)
//! stays on the server, keyed by the session id, and is taken out once by the callback.
//!
//! The test `tests/web_e2e.rs` drives this app in headless Chromium through [`start`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zohocrm::client::RecordQuery;
use zohocrm::dc::{DataCenter, DcError, EndpointTable, Endpoints, Environment};
use zohocrm::error::CallbackError;
use zohocrm::oauth::PendingAuthorization;
use zohocrm::store::TokenStore;
use zohocrm::testkit::{self, Simulator};
use zohocrm::{ClientCredentials, Error, TokenKey, Zoho};

/// The scopes the dashboard needs.
const SCOPES: &[&str] = &["ZohoCRM.users.READ", "ZohoCRM.modules.ALL", "ZohoCRM.settings.READ", "ZohoCRM.org.READ"];

/// The app's own users (not Zoho users): name and password. A demo: real apps have real accounts.
pub const DEMO_USERS: &[(&str, &str)] = &[("alice", "wonderland"), ("bob", "builder"), ("carol", "singer")];

const COOKIE: &str = "zohocrm_web_session";
/// How long an app sign-in lasts.
const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// How long a started authorization may wait for Zoho's redirect.
const PENDING_TTL: Duration = Duration::from_secs(15 * 60);
const CALLBACK_PATH: &str = "/zoho/callback";

type AnyError = Box<dyn std::error::Error + Send + Sync>;

/// Where tokens are kept.
#[derive(Clone, Debug)]
pub enum StoreChoice {
    /// An SQLite file (created 0600).
    Sqlite(PathBuf),
    /// A PostgreSQL connection string (needs the `postgres` feature).
    Postgres(String),
}

/// Which Zoho to talk to.
#[derive(Clone, Debug)]
pub enum Backend {
    /// A local Zoho simulator started in-process.
    Simulator,
    /// Real Zoho, with these credentials and this registered redirect URI.
    Zoho {
        /// Client id and per-DC secrets.
        credentials: ClientCredentials,
        /// The redirect URI registered with Zoho; its path is served as the callback.
        redirect_uri: String,
    },
}

/// How to start the app.
#[derive(Clone, Debug)]
pub struct WebOptions {
    /// Address to listen on (port 0 picks a free one).
    pub listen: SocketAddr,
    /// Token store.
    pub store: StoreChoice,
    /// Simulator or real Zoho.
    pub backend: Backend,
}

/// A running app.
pub struct WebApp {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The SDK entry point it uses (tests look into its token store).
    pub zoho: Zoho,
    /// The in-process simulator, when there is one (tests inject faults and move its clock).
    pub simulator: Option<Arc<Simulator>>,
    server: tokio::task::JoinHandle<()>,
}

impl WebApp {
    /// The app's base URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for WebApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// A started authorization, kept on the server until Zoho redirects back.
struct Pending {
    auth: PendingAuthorization,
    environment: Environment,
    china: bool,
    started: std::time::Instant,
}

struct AppState {
    zoho: Zoho,
    redirect_uri: String,
    /// Shown on every page when the app talks to the simulator.
    simulator_url: Option<String>,
    secure_cookie: bool,
    cookie_key: [u8; 32],
    /// Pending authorizations by session id (they carry the OAuth state: never in the cookie).
    pending: Mutex<HashMap<String, Pending>>,
    /// The connection each app user last connected.
    active: Mutex<HashMap<String, TokenKey>>,
    /// One message to show on the next page, by session id.
    notices: Mutex<HashMap<String, String>>,
}

/// The signed-in app user.
struct Session {
    user: String,
    id: String,
}

/// Starts the app: the simulator (if asked for), the token store, the SDK entry point and the
/// HTTP server. Returns once it listens.
pub async fn start(options: WebOptions) -> Result<WebApp, AnyError> {
    let listener = tokio::net::TcpListener::bind(options.listen).await?;
    let addr = listener.local_addr()?;

    let (builder, redirect_uri, simulator) = match options.backend {
        Backend::Simulator => {
            let sim = Simulator::start().await?;
            let redirect_uri = format!("http://{addr}{CALLBACK_PATH}");
            // Register this app's redirect URI with the simulated client (Zoho's API console).
            let mut registration = sim.default_client();
            registration.redirect_uris.push(redirect_uri.clone());
            sim.register_client(registration);
            let table: EndpointTable = serde_json::from_value(serde_json::to_value(sim.endpoints())?)?;
            let credentials = DataCenter::ALL.iter().fold(
                ClientCredentials::new(testkit::DEFAULT_CLIENT_ID, testkit::default_client_secret(DataCenter::Us)),
                |c, dc| c.with_dc_secret(*dc, testkit::default_client_secret(*dc)),
            );
            let builder = Zoho::builder(credentials).endpoints(Endpoints::from_table(&table)?).clock(sim.clock());
            (builder, redirect_uri, Some(Arc::new(sim)))
        }
        Backend::Zoho { credentials, redirect_uri } => (Zoho::builder(credentials), redirect_uri, None),
    };
    let builder = match options.store {
        StoreChoice::Sqlite(path) => builder.store(zohocrm::store::SqliteStore::open(&path).await?),
        StoreChoice::Postgres(url) => builder.shared_store(postgres_store(&url).await?),
    };
    let zoho = builder.build()?;

    let mut cookie_key = [0u8; 32];
    getrandom::fill(&mut cookie_key)
        .map_err(|e| format!("the operating system's random number generator failed: {e}"))?;
    let callback_path = url::Url::parse(&redirect_uri)?.path().to_owned();
    let state = Arc::new(AppState {
        zoho: zoho.clone(),
        secure_cookie: redirect_uri.starts_with("https://"),
        redirect_uri,
        simulator_url: simulator.as_ref().map(|s| s.base_url()),
        cookie_key,
        pending: Mutex::default(),
        active: Mutex::default(),
        notices: Mutex::default(),
    });
    let app = Router::new()
        .route("/", get(home))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/connect", post(connect))
        .route("/disconnect", post(disconnect))
        .route(&callback_path, get(callback))
        .fallback(not_found)
        .with_state(state);
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("web: server stopped: {e}");
        }
    });
    Ok(WebApp { addr, zoho, simulator, server })
}

#[cfg(feature = "postgres")]
async fn postgres_store(url: &str) -> Result<Arc<dyn TokenStore>, AnyError> {
    Ok(Arc::new(zohocrm::store::PostgresStore::connect(url, "zohocrm_web").await?))
}

#[cfg(not(feature = "postgres"))]
async fn postgres_store(_url: &str) -> Result<Arc<dyn TokenStore>, AnyError> {
    Err("--postgres needs the `postgres` feature: cargo run --example web --features testkit,sqlite,postgres".into())
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let mut listen: Option<SocketAddr> = None;
    let mut store = StoreChoice::Sqlite(std::env::temp_dir().join("zohocrm-web").join("tokens.sqlite3"));
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = Some(value()?.parse()?),
            "--sqlite" => store = StoreChoice::Sqlite(value()?.into()),
            "--postgres" => store = StoreChoice::Postgres(value()?),
            "-h" | "--help" => {
                println!("usage: web [--listen ADDR] [--sqlite PATH | --postgres URL]");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}; try --help").into()),
        }
    }
    if let StoreChoice::Sqlite(path) = &store
        && let Some(dir) = path.parent()
    {
        std::fs::create_dir_all(dir)?;
    }
    let backend = match ClientCredentials::from_env()? {
        Some(credentials) => Backend::Zoho {
            credentials,
            redirect_uri: std::env::var("ZOHO_REDIRECT_URI")
                .map_err(|_| "set ZOHO_REDIRECT_URI (registered with your Zoho client)")?,
        },
        None => Backend::Simulator,
    };
    // Without --listen: the port of a loopback redirect URI (real Zoho), else 8080.
    let listen = listen.unwrap_or_else(|| {
        let port = match &backend {
            Backend::Zoho { redirect_uri, .. } => url::Url::parse(redirect_uri)
                .ok()
                .filter(|u| matches!(u.host_str(), Some("localhost" | "127.0.0.1")))
                .and_then(|u| u.port_or_known_default()),
            Backend::Simulator => None,
        };
        SocketAddr::from(([127, 0, 0, 1], port.unwrap_or(8080)))
    });
    let app = start(WebOptions { listen, store: store.clone(), backend }).await?;
    match &app.simulator {
        Some(sim) => println!("web: against the local Zoho simulator at {} (no real Zoho account)", sim.base_url()),
        None => println!("web: against real Zoho"),
    }
    match &store {
        StoreChoice::Sqlite(path) => println!("web: tokens in SQLite {}", path.display()),
        StoreChoice::Postgres(_) => println!("web: tokens in PostgreSQL"),
    }
    println!("web: open {} (demo users: alice/wonderland, bob/builder, carol/singer)", app.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Sessions: a signed cookie `user.session-id.issued-at.hmac`.

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

fn sign(key: &[u8; 32], payload: &str) -> String {
    format!("{payload}.{}", hex(&mac(key, payload).finalize().into_bytes()))
}

fn session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let value = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))?;
    let (payload, tag) = value.rsplit_once('.')?;
    mac(&state.cookie_key, payload).verify_slice(&unhex(tag)?).ok()?;
    let mut parts = payload.split('.');
    let (user, id, issued) = (parts.next()?, parts.next()?, parts.next()?.parse::<u64>().ok()?);
    if now_secs().saturating_sub(issued) > SESSION_TTL.as_secs() {
        return None;
    }
    Some(Session { user: user.to_owned(), id: id.to_owned() })
}

fn session_cookie(state: &AppState, user: &str) -> Result<String, AnyError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| format!("the operating system's random number generator failed: {e}"))?;
    let value = sign(&state.cookie_key, &format!("{user}.{}.{}", hex(&id), now_secs()));
    Ok(format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        SESSION_TTL.as_secs(),
        if state.secure_cookie { "; Secure" } else { "" }
    ))
}

fn with_cookie(mut response: Response, cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn notice(state: &AppState, session: &Session, message: impl Into<String>) {
    lock(&state.notices).insert(session.id.clone(), message.into());
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// Handlers.

#[derive(serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
}

async fn login(State(state): State<Arc<AppState>>, Form(form): Form<LoginForm>) -> Response {
    let known = DEMO_USERS.iter().any(|(u, p)| *u == form.user && *p == form.password);
    if !known {
        return page(
            &state,
            StatusCode::UNAUTHORIZED,
            "Sign in",
            &format!("{}{}", error_box("Unknown user or wrong password."), login_form()),
        );
    }
    match session_cookie(&state, &form.user) {
        Ok(cookie) => with_cookie(see_other("/"), &cookie),
        Err(e) => failure(&state, "signing in", &e.to_string()),
    }
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(s) = session(&state, &headers) {
        lock(&state.pending).remove(&s.id);
        lock(&state.notices).remove(&s.id);
    }
    with_cookie(see_other("/"), &format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"))
}

#[derive(serde::Deserialize)]
struct ConnectForm {
    environment: String,
    #[serde(default)]
    china: Option<String>,
}

/// "Connect Zoho CRM": build the authorization URL (US server, or CN for China), keep the
/// pending authorization on the server, send the browser to Zoho.
async fn connect(State(state): State<Arc<AppState>>, headers: HeaderMap, Form(form): Form<ConnectForm>) -> Response {
    let Some(s) = session(&state, &headers) else { return see_other("/") };
    let Ok(environment) = form.environment.parse::<Environment>() else {
        return message_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Unknown environment",
            "Pick production, sandbox or developer.",
        );
    };
    let china = form.china.is_some();
    let mut request =
        state.zoho.authorization(&state.redirect_uri).scopes(SCOPES.iter().copied()).environment(environment);
    if china {
        request = request.china();
    }
    match request.build(state.zoho.endpoints()) {
        Ok((url, auth)) => {
            let mut pending = lock(&state.pending);
            pending.retain(|_, p| p.started.elapsed() < PENDING_TTL);
            pending.insert(s.id, Pending { auth, environment, china, started: std::time::Instant::now() });
            see_other(&url)
        }
        Err(e) => explain(&state, "starting the authorization", &e),
    }
}

/// Zoho's redirect: take the pending authorization (once), check state, exchange the code at the
/// user's data center, store the token for this app user.
async fn callback(State(state): State<Arc<AppState>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let Some(s) = session(&state, &headers) else {
        return message_page(
            &state,
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "Your app session ended while you were at Zoho. Sign in and connect again.",
        );
    };
    let Some(pending) = lock(&state.pending).remove(&s.id) else {
        return message_page(
            &state,
            StatusCode::BAD_REQUEST,
            "No connection in progress",
            "This link from Zoho does not belong to a connection started here (or it was already used). Connect again from the dashboard.",
        );
    };
    if pending.started.elapsed() >= PENDING_TTL {
        return message_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Too slow",
            "The connection attempt expired. Connect again.",
        );
    }
    let redirect = format!("{}?{}", state.redirect_uri, query.unwrap_or_default());
    let previous = active_connection(&state, &s.user).await;
    match state.zoho.complete_authorization(&s.user, &redirect, &pending.auth).await {
        Ok(token) => {
            let where_ = if pending.china { " (started at the China accounts server)" } else { "" };
            let mut message =
                format!("Connected your Zoho CRM {} org in {}{where_}.", pending.environment, token.key.dc.name());
            // One connection per app user: switching environment (or account) revokes the old one.
            if let Some(old) = previous.filter(|old| *old != token.key) {
                match state.zoho.disconnect(&old).await {
                    Ok(()) => message.push_str(&format!(" The previous {} connection was revoked.", old.environment)),
                    Err(e) => eprintln!("web: revoking the previous connection {old}: {e}"),
                }
            }
            notice(&state, &s, message);
            lock(&state.active).insert(s.user.clone(), token.key);
            see_other("/")
        }
        Err(e) => explain(&state, "completing the connection", &e),
    }
}

async fn disconnect(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(s) = session(&state, &headers) else { return see_other("/") };
    let Some(key) = active_connection(&state, &s.user).await else { return see_other("/") };
    match state.zoho.disconnect(&key).await {
        Ok(()) => {
            lock(&state.active).remove(&s.user);
            notice(
                &state,
                &s,
                format!("Disconnected: access revoked at Zoho ({}) and the token deleted.", key.dc.name()),
            );
            see_other("/")
        }
        Err(e) => explain(&state, "disconnecting", &e),
    }
}

/// The user's connection: the one they last connected here, or any stored one.
async fn active_connection(state: &AppState, user: &str) -> Option<TokenKey> {
    let remembered = lock(&state.active).get(user).cloned();
    let store = state.zoho.tokens().store();
    if let Some(key) = remembered
        && matches!(store.get(&key).await, Ok(Some(_)))
    {
        return Some(key);
    }
    let keys = store.list().await.ok()?;
    keys.into_iter().find(|k| k.user == user)
}

async fn home(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(s) = session(&state, &headers) else {
        return page(&state, StatusCode::OK, "Sign in", &login_form());
    };
    let flash =
        lock(&state.notices).remove(&s.id).map(|m| format!("<p class=\"notice\" id=\"notice\">{}</p>", esc(&m)));
    let mut body = format!(
        "<div class=\"who\">Signed in as <b id=\"app-user\">{}</b><form class=\"inline\" method=\"post\" action=\"/logout\"><button id=\"logout\" class=\"link\">Sign out</button></form></div>{}",
        esc(&s.user),
        flash.unwrap_or_default()
    );
    match active_connection(&state, &s.user).await {
        None => {
            body.push_str("<h2>Connect your Zoho CRM</h2><p>Your Zoho account can be in any data center: Zoho moves you to yours when you sign in.</p>");
            body.push_str(&connect_form(Environment::Production, false, "Connect Zoho CRM", "connect"));
        }
        Some(key) => body.push_str(&dashboard(&state, &key).await),
    }
    page(&state, StatusCode::OK, "Dashboard", &body)
}

async fn dashboard(state: &AppState, key: &TokenKey) -> String {
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
        "<div class=\"actions\">{}{}<form method=\"post\" action=\"/disconnect\"><button id=\"disconnect\" class=\"danger\">Disconnect</button></form></div>",
        reconnect_form(key),
        connect_form(other_environment(key.environment), key.dc == DataCenter::Cn, "Switch environment", "switch"),
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

async fn not_found(State(state): State<Arc<AppState>>) -> Response {
    message_page(&state, StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}

// ---------------------------------------------------------------------------------------------
// Errors: a clear message per case, never a debug dump. The SDK's `Display` carries no secrets,
// so it may go to the server log.

/// A title and a message for the person in front of the browser.
fn describe(e: &Error) -> (&'static str, String) {
    match e {
        Error::Callback(CallbackError::Denied { .. }) => (
            "Access not granted",
            "You declined access on Zoho's consent page, so nothing was connected. Connect again when you are ready.".into(),
        ),
        Error::Callback(CallbackError::StateMismatch) => (
            "Connection refused",
            "This answer from Zoho does not match the connection started here (a stale or foreign link). Connect again.".into(),
        ),
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

fn explain(state: &AppState, context: &str, e: &Error) -> Response {
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

fn failure(state: &AppState, context: &str, detail: &str) -> Response {
    eprintln!("web: {context}: {detail}");
    message_page(state, StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "Try again in a moment.")
}

// ---------------------------------------------------------------------------------------------
// HTML.

fn esc(s: &str) -> String {
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

fn page(state: &AppState, status: StatusCode, title: &str, body: &str) -> Response {
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

fn message_page(state: &AppState, status: StatusCode, title: &str, message: &str) -> Response {
    let body = format!(
        "<h2 id=\"error-title\">{}</h2>{}<p><a id=\"back\" href=\"/\">Back to the dashboard</a></p>",
        esc(title),
        error_box(message)
    );
    page(state, status, title, &body)
}

fn error_box(message: &str) -> String {
    format!("<p class=\"error\" id=\"error\">{}</p>", esc(message))
}

fn login_form() -> String {
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
/// element ids (`connect`, `reconnect`, `switch`).
fn connect_form(environment: Environment, china: bool, label: &str, id: &str) -> String {
    let options: String = Environment::ALL
        .iter()
        .map(|e| {
            let selected = if *e == environment { " selected" } else { "" };
            format!("<option value=\"{e}\"{selected}>{}</option>", esc(&capitalize(e.as_str())))
        })
        .collect();
    format!(
        "<form id=\"{id}-form\" method=\"post\" action=\"/connect\">\
         <label>Environment <select id=\"{id}-environment\" name=\"environment\">{options}</select></label>\
         <label><input type=\"checkbox\" id=\"{id}-china\" name=\"china\" value=\"1\"{}> My Zoho account is in China</label>\
         <button id=\"{id}-button\" type=\"submit\">{}</button></form>",
        if china { " checked" } else { "" },
        esc(label)
    )
}

/// "Reconnect": the same environment and the same starting server, as one button.
fn reconnect_form(key: &TokenKey) -> String {
    let china = if key.dc == DataCenter::Cn { "<input type=\"hidden\" name=\"china\" value=\"1\">" } else { "" };
    format!(
        "<form id=\"reconnect-form\" method=\"post\" action=\"/connect\">\
         <input type=\"hidden\" name=\"environment\" value=\"{}\">{china}\
         <button id=\"reconnect-button\" type=\"submit\">Reconnect</button></form>",
        key.environment
    )
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
