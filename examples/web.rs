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
//! signed with HMAC-SHA256 under a key drawn at start (so a restart signs everyone out); the
//! session id must also be live on the server, so Sign out ends it. It holds no Zoho token and
//! no OAuth `state`: the pending authorization (which carries the state) stays on the server,
//! keyed by the session id, and is taken out by the callback whose `state` matches it. Every
//! form of a signed-in user carries a per-session token; a sign-in posted from another site is
//! refused (see `web/session.rs`).
//!
//! Tokens: with the simulator and no `--sqlite`/`--postgres`, in a fresh private directory per
//! run, removed at exit (a stored row names its run's simulator port); with real Zoho the store
//! must be named.
//!
//! The test `tests/web_e2e.rs` drives this app in headless Chromium through [`start`].

#[path = "web/pages.rs"]
mod pages;
#[path = "web/session.rs"]
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use zohocrm::dc::{DataCenter, EndpointTable, Endpoints, Environment};
use zohocrm::error::CallbackError;
use zohocrm::oauth::{Callback, PendingAuthorization};
use zohocrm::store::TokenStore;
use zohocrm::testkit::{self, Simulator};
use zohocrm::{ClientCredentials, Error, TokenKey, Zoho};

pub use pages::describe;
use pages::{connect_form, dashboard, error_box, esc, explain, failure, login_form, message_page, page};
use session::FormUser;

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
    /// The app's own origin (the redirect URI's): what `Origin` a sign-in may carry.
    origin: String,
    cookie_key: [u8; 32],
    /// Live sessions: id to issue time (epoch seconds). Sign out removes its session.
    sessions: Mutex<HashMap<String, u64>>,
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
    let redirect = url::Url::parse(&redirect_uri)?;
    let (callback_path, origin) = (redirect.path().to_owned(), redirect.origin().ascii_serialization());
    let state = Arc::new(AppState {
        zoho: zoho.clone(),
        secure_cookie: redirect_uri.starts_with("https://"),
        redirect_uri,
        simulator_url: simulator.as_ref().map(|s| s.base_url()),
        origin,
        cookie_key,
        sessions: Mutex::default(),
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
    let mut store = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--listen" => listen = Some(value()?.parse()?),
            "--sqlite" => store = Some(StoreChoice::Sqlite(value()?.into())),
            "--postgres" => store = Some(StoreChoice::Postgres(value()?)),
            "-h" | "--help" => {
                println!("usage: web [--listen ADDR] [--sqlite PATH | --postgres URL]");
                println!(
                    "  the simulator without a store keeps tokens in a fresh temporary directory, removed at exit"
                );
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}; try --help").into()),
        }
    }
    let backend = match ClientCredentials::from_env()? {
        Some(credentials) => Backend::Zoho {
            credentials,
            redirect_uri: std::env::var("ZOHO_REDIRECT_URI")
                .map_err(|_| "set ZOHO_REDIRECT_URI (registered with your Zoho client)")?,
        },
        None => Backend::Simulator,
    };
    // Dropped at exit: removes the simulator's per-run directory.
    let (store, scratch) = match store {
        Some(store) => (store, None),
        None => default_store(&backend)?,
    };
    if let (StoreChoice::Sqlite(path), None) = (&store, &scratch)
        && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
    {
        // A named file's missing directories are created private (0700).
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.recursive(true).create(dir)?;
    }
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
        StoreChoice::Sqlite(path) if scratch.is_some() => {
            println!("web: tokens in SQLite {} (this run only: removed at exit)", path.display())
        }
        StoreChoice::Sqlite(path) => println!("web: tokens in SQLite {}", path.display()),
        StoreChoice::Postgres(_) => println!("web: tokens in PostgreSQL"),
    }
    println!("web: open {} (demo users: alice/wonderland, bob/builder, carol/singer)", app.url());
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The token store when none is named, and the directory to remove at exit.
///
/// With the simulator: a fresh private (0700) directory per run. A stored row names its run's
/// simulator (the API domain carries its random port), which no later run answers. With real
/// Zoho: none, the store must be named (`--sqlite PATH`, `--postgres URL`): a fixed path in the
/// shared temporary directory could be created, or read, by another local user first.
pub fn default_store(backend: &Backend) -> Result<(StoreChoice, Option<tempfile::TempDir>), AnyError> {
    match backend {
        Backend::Simulator => {
            let mut dir = tempfile::Builder::new();
            dir.prefix("zohocrm-web-");
            #[cfg(unix)]
            dir.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
            let dir = dir.tempdir()?;
            Ok((StoreChoice::Sqlite(dir.path().join("tokens.sqlite3")), Some(dir)))
        }
        Backend::Zoho { .. } => Err(
            "with real Zoho, say where tokens are kept across runs: --sqlite PATH (for example tokens.sqlite3) or --postgres URL"
                .into(),
        ),
    }
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

/// Sign in: refused (403, no cookie) when the browser says the form was posted from another
/// site, so a page elsewhere cannot sign the browser in as the attacker's account.
async fn login(State(state): State<Arc<AppState>>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    if !session::from_own_page(&state, &headers) {
        return session::refused(&state);
    }
    let known = DEMO_USERS.iter().any(|(u, p)| *u == form.user && *p == form.password);
    if !known {
        return page(
            &state,
            StatusCode::UNAUTHORIZED,
            "Sign in",
            &format!("{}{}", error_box("Unknown user or wrong password."), login_form()),
        );
    }
    // Signing in again ends the session this browser had: its cookie, or a copy, stops working.
    if let Some(previous) = session::session(&state, &headers) {
        session::end_session(&state, &previous);
        lock(&state.pending).remove(&previous.id);
        lock(&state.notices).remove(&previous.id);
    }
    match session::start_session(&state, &form.user) {
        Ok(cookie) => session::with_cookie(see_other("/"), &cookie),
        Err(e) => failure(&state, "signing in", &e.to_string()),
    }
}

/// A form that only carries the session's form token (Sign out, Disconnect).
#[derive(serde::Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// Sign out: ends the session on the server (a copy of the cookie no longer works).
async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    match session::form_user(&state, &headers, &form.csrf) {
        FormUser::SignedIn(s) => {
            session::end_session(&state, &s);
            lock(&state.pending).remove(&s.id);
            lock(&state.notices).remove(&s.id);
        }
        FormUser::SignedOut => {}
        FormUser::Refused => return session::refused(&state),
    }
    session::with_cookie(see_other("/"), &session::clear_cookie(&state))
}

#[derive(serde::Deserialize)]
struct ConnectForm {
    environment: String,
    #[serde(default)]
    china: Option<String>,
    #[serde(default)]
    csrf: String,
}

/// "Connect Zoho CRM": build the authorization URL (US server, or CN for China), keep the
/// pending authorization on the server, send the browser to Zoho. Always with `prompt=consent`:
/// without it, Zoho sends no refresh token to a Zoho account that already granted this client,
/// and a reconnect as another account would keep the previous account's refresh token.
async fn connect(State(state): State<Arc<AppState>>, headers: HeaderMap, Form(form): Form<ConnectForm>) -> Response {
    let s = match session::form_user(&state, &headers, &form.csrf) {
        FormUser::SignedIn(s) => s,
        FormUser::SignedOut => return see_other("/"),
        FormUser::Refused => return session::refused(&state),
    };
    let Ok(environment) = form.environment.parse::<Environment>() else {
        return message_page(
            &state,
            StatusCode::BAD_REQUEST,
            "Unknown environment",
            "Pick production, sandbox or developer.",
        );
    };
    let china = form.china.is_some();
    let mut request = state
        .zoho
        .authorization(&state.redirect_uri)
        .scopes(SCOPES.iter().copied())
        .environment(environment)
        .prompt_consent()
        .valid_for(PENDING_TTL);
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

/// Zoho's redirect: take the pending authorization (once, and only for a redirect carrying its
/// `state`: a forged one leaves it in place), exchange the code at the user's data center, store
/// the token for this app user.
async fn callback(State(state): State<Arc<AppState>>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let Some(s) = session::session(&state, &headers) else {
        return message_page(
            &state,
            StatusCode::UNAUTHORIZED,
            "Signed out",
            "Your app session ended while you were at Zoho. Sign in and connect again.",
        );
    };
    let query = query.unwrap_or_default();
    let taken = {
        let mut pending = lock(&state.pending);
        match pending.get(&s.id).map(|p| carries_state(&query, &p.auth)) {
            Some(true) => pending.remove(&s.id),
            Some(false) => return explain(&state, "Zoho's redirect", &Error::Callback(CallbackError::StateMismatch)),
            None => None,
        }
    };
    let Some(pending) = taken else {
        return message_page(
            &state,
            StatusCode::BAD_REQUEST,
            "No connection in progress",
            "This link from Zoho does not belong to a connection started here (or it was already used). Connect again from the dashboard.",
        );
    };
    if pending.started.elapsed() >= PENDING_TTL {
        return explain(&state, "Zoho's redirect", &Error::Callback(CallbackError::Expired));
    }
    let redirect = format!("{}?{query}", state.redirect_uri);
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

/// Whether Zoho's redirect (its query) carries the `state` of `auth` (the SDK's own check).
fn carries_state(query: &str, auth: &PendingAuthorization) -> bool {
    Callback::parse(query).is_ok_and(|callback| callback.matches(auth))
}

async fn disconnect(State(state): State<Arc<AppState>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let s = match session::form_user(&state, &headers, &form.csrf) {
        FormUser::SignedIn(s) => s,
        FormUser::SignedOut => return see_other("/"),
        FormUser::Refused => return session::refused(&state),
    };
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
    let Some(s) = session::session(&state, &headers) else {
        return page(&state, StatusCode::OK, "Sign in", &login_form());
    };
    let token = session::token_field(&state, &s);
    let flash =
        lock(&state.notices).remove(&s.id).map(|m| format!("<p class=\"notice\" id=\"notice\">{}</p>", esc(&m)));
    let mut body = format!(
        "<div class=\"who\">Signed in as <b id=\"app-user\">{}</b><form class=\"inline\" method=\"post\" action=\"/logout\">{token}<button id=\"logout\" class=\"link\">Sign out</button></form></div>{}",
        esc(&s.user),
        flash.unwrap_or_default()
    );
    match active_connection(&state, &s.user).await {
        None => {
            body.push_str("<h2>Connect your Zoho CRM</h2><p>Your Zoho account can be in any data center: Zoho moves you to yours when you sign in.</p>");
            body.push_str(&connect_form(Environment::Production, false, "Connect Zoho CRM", "connect", &token));
        }
        Some(key) => body.push_str(&dashboard(&state, &key, &token).await),
    }
    page(&state, StatusCode::OK, "Dashboard", &body)
}

async fn not_found(State(state): State<Arc<AppState>>) -> Response {
    message_page(&state, StatusCode::NOT_FOUND, "Not found", "There is no such page.")
}
