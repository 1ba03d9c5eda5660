//! A local Zoho simulator (Accounts in every data center + CRM v2 and v8) that speaks Zoho's wire
//! protocol over real HTTP on loopback, for the SDK's tests and for users' own tests in any
//! language.
//!
//! It is the other side of the wire: it uses none of the SDK's client code. One listener on
//! `127.0.0.1` serves, for every data center `xx` (`us`, `eu`, `in`, `au`, `cn`, `jp`, `ca`, `sa`):
//!
//! | What | URL |
//! |---|---|
//! | Accounts server of DC `xx` | `http://127.0.0.1:{port}/accounts/{xx}` (`/oauth/v2/auth`, `/oauth/v2/token`, `/oauth/v2/token/revoke`, `/oauth/serverinfo`) |
//! | CRM API base (`api_domain`) of DC `xx`, environment `env` | `http://127.0.0.1:{port}/api/{xx}/{env}` (`/crm/v2/...` and `/crm/v8/...`) |
//! | Test controls | `http://127.0.0.1:{port}/_sim` |
//!
//! ```no_run
//! # async fn demo() -> Result<(), zohocrm::testkit::SimError> {
//! use zohocrm::dc::{DataCenter, Environment};
//! use zohocrm::testkit::{Decision, Simulator};
//!
//! let sim = Simulator::start().await?;
//! let url = sim.authorize_url(DataCenter::Us, "ZohoCRM.users.READ", "offline", Some("xyz"));
//! let back = sim.consent(&url, "eu.user@zylker.example", Environment::Production, Decision::Accept).await?;
//! assert!(back.contains("location=eu"));
//! # Ok(()) }
//! ```
//!
//! Behaviour follows `docs/zoho-facts.md` (Zoho's documented and observed behaviour); where Zoho's exact
//! answer is unknown, the choice is documented on the item and in the README's "Where it guesses" (notes: `docs/simulator-notes.md`).

mod accounts;
mod consent;
mod coql;
mod criteria;
mod crm;
mod crm_v8;
mod html;
mod seed;
mod server;
mod state;
mod time;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

use crate::SecretString;
use crate::clock::{Clock, ManualClock};
use crate::dc::{DataCenter, EndpointTable, Environment};

use state::State;

/// The client id of the client every simulator registers at start.
pub const DEFAULT_CLIENT_ID: &str = "1000.SIMULATORCLIENT";

/// The redirect URI registered for the default client. Nothing listens there: tests read the
/// redirect's `Location` instead.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// The default client's secret in data center `dc` (`sim-secret-eu`, ...): Zoho Multi-DC with a
/// different secret per data center.
pub fn default_client_secret(dc: DataCenter) -> SecretString {
    SecretString::new(format!("sim-secret-{}", dc.location()))
}

/// How to start a simulator.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Start of the simulated clock (epoch ms); `None` is the current system time.
    pub clock_start_ms: Option<i64>,
    /// Leads in the US production org (at least 250 by default, to page with `per_page=200`).
    pub us_leads: usize,
    /// Contacts in the US production org.
    pub us_contacts: usize,
    /// Accounts in the US production org.
    pub us_accounts: usize,
    /// Deals in the US production org.
    pub us_deals: usize,
    /// Records per module in every other org (other DCs, sandbox, developer).
    pub other_org_records: usize,
    /// Register [`DEFAULT_CLIENT_ID`] at start.
    pub register_default_client: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            port: 0,
            clock_start_ms: None,
            us_leads: 260,
            us_contacts: 30,
            us_accounts: 12,
            us_deals: 20,
            other_org_records: 5,
            register_default_client: true,
        }
    }
}

/// An OAuth client as registered in Zoho's API console.
#[derive(Clone, Debug)]
pub struct ClientRegistration {
    /// The client id (the same in every data center).
    pub client_id: String,
    /// The secret per data center. A data center missing here is one where Multi-DC is not
    /// enabled: the token endpoint answers `invalid_client` there.
    pub secrets: BTreeMap<DataCenter, SecretString>,
    /// Registered redirect URIs (exact match).
    pub redirect_uris: Vec<String>,
}

/// A user who can sign in to the simulated Zoho Accounts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SimUser {
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub full_name: String,
    /// CRM user id in the user's production org.
    pub id: String,
    /// Zoho account id.
    pub zuid: String,
    /// The user's data center.
    pub dc: DataCenter,
}

/// The user's answer on the consent page.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Accept: redirect with a code.
    Accept,
    /// Reject: redirect with `error=access_denied`.
    Reject,
}

/// A group of endpoints, for fault injection and the request log.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// `POST /oauth/v2/token`.
    Token,
    /// `POST /oauth/v2/token/revoke`.
    Revoke,
    /// `GET /oauth/serverinfo`.
    ServerInfo,
    /// The authorization pages (`/oauth/v2/auth` and its form posts).
    Authorize,
    /// `/crm/v2/users...` and `/crm/v8/users...`.
    Users,
    /// `/crm/v2/org` and `/crm/v8/org`.
    Org,
    /// `/crm/v2/settings/modules...` and `/crm/v8/settings/modules...`.
    Modules,
    /// `/crm/v2/settings/fields` and `/crm/v8/settings/fields`.
    Fields,
    /// `/crm/v2/settings/layouts` and `/crm/v8/settings/layouts`.
    Layouts,
    /// Records of any module (list, get, write, upsert, search, deleted, and v8's
    /// `actions/count`), in v2 and v8.
    Records,
    /// `POST /crm/v8/coql` (COQL queries).
    Coql,
    /// Any route (fault injection only).
    Any,
}

/// A fault to answer instead of the real response. Faulted requests are not processed (no
/// token is minted, no record written), except [`Fault::Latency`], which delays and then
/// processes.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 429 `TOO_MANY_REQUESTS` with `Retry-After`.
    TooManyRequests {
        /// The `Retry-After` value, in seconds.
        retry_after_secs: u64,
    },
    /// HTTP 429 `TOO_MANY_REQUESTS` with no `Retry-After` header (a client must pick its own
    /// back-off).
    TooManyRequestsWithoutRetryAfter,
    /// This HTTP status: 500 answers Zoho's `INTERNAL_ERROR` envelope, any other status an
    /// HTML error page as a gateway would.
    Status(u16),
    /// Wait this long (at most 30 s), then answer normally. The request is processed and
    /// logged after the wait even if the client has hung up meanwhile (a timed-out write
    /// still lands, as on a real server).
    Latency(Duration),
    /// Close the connection without answering.
    DropConnection,
    /// Announce a JSON body with `Content-Length` and close the connection half-way through it.
    TruncatedBody,
    /// HTTP 200 with an HTML body (`Content-Type: text/html`) instead of JSON.
    NonJsonBody,
}

/// The longest [`Fault::Latency`] the simulator will wait.
pub const MAX_LATENCY: Duration = Duration::from_secs(30);

/// One request the simulator answered (control requests under `/_sim` are not logged).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LoggedRequest {
    /// Which endpoint group.
    pub route: Route,
    /// Which data center's server.
    pub dc: DataCenter,
    /// Which environment (CRM calls only).
    pub environment: Option<Environment>,
    /// HTTP method.
    pub method: String,
    /// Path, from `/accounts/...` or `/api/...`.
    pub path: String,
    /// Query string with secrets (`client_secret`, `code`, `refresh_token`, `token`, ...)
    /// replaced by `[redacted]`.
    pub query: String,
    /// `grant_type` of a token request (from the body or the query).
    pub grant_type: Option<String>,
    /// HTTP status answered; 0 when the connection was dropped.
    pub status: u16,
    /// The user the request acted for (token owner, code owner, signed-in user), when known.
    pub user: Option<String>,
}

/// Tokens minted directly by [`Simulator::issue_tokens`], as the token endpoint would return them.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: SecretString,
    /// The refresh token.
    pub refresh_token: SecretString,
    /// The CRM API base of the user's DC and the environment.
    pub api_domain: String,
    /// The accounts server of the user's DC.
    pub accounts_server: String,
    /// Seconds until the access token expires (3600).
    pub expires_in: i64,
}

/// What went wrong with the simulator.
#[non_exhaustive]
#[derive(Debug)]
pub enum SimError {
    /// The listener could not be bound.
    Bind(std::io::Error),
    /// A request the simulator made to itself (programmatic consent) failed.
    Http(String),
    /// The authorization flow stopped on an error page; `code` is the page's error code
    /// (`invalid_redirect_uri`, `invalid_client`, `user_not_found`, ...).
    ErrorPage {
        /// The error code shown on the page.
        code: String,
    },
    /// The simulator answered something the consent helper did not expect.
    Unexpected(String),
    /// No such user.
    UnknownUser(String),
    /// A user with this email already exists.
    DuplicateUser(String),
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::Bind(e) => write!(
                f,
                "the Zoho simulator could not bind its listener on 127.0.0.1: {e}; pick another port or use port 0"
            ),
            SimError::Http(e) => {
                write!(f, "a request to the Zoho simulator failed: {e}; is the simulator still running?")
            }
            SimError::ErrorPage { code } => write!(
                f,
                "the simulated Zoho authorization page showed error `{code}`; check client_id, redirect_uri, scope and the user"
            ),
            SimError::Unexpected(e) => {
                write!(f, "the Zoho simulator answered something unexpected: {e}")
            }
            SimError::UnknownUser(e) => {
                write!(f, "the Zoho simulator has no user `{e}`; use Simulator::users() or add_user()")
            }
            SimError::DuplicateUser(e) => write!(f, "the Zoho simulator already has a user `{e}`; pick another email"),
        }
    }
}

impl std::error::Error for SimError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SimError::Bind(e) => Some(e),
            _ => None,
        }
    }
}

/// State shared by the simulator handle and its server tasks.
pub(crate) struct Shared {
    pub(crate) state: Mutex<State>,
    pub(crate) clock: ManualClock,
    pub(crate) port: u16,
    /// The client programmatic consent uses (built once: building one is slow).
    pub(crate) http: std::sync::OnceLock<reqwest::Client>,
}

impl Shared {
    pub(crate) fn http(&self) -> Result<reqwest::Client, SimError> {
        if let Some(c) = self.http.get() {
            return Ok(c.clone());
        }
        let c = consent::http_client()?;
        Ok(self.http.get_or_init(|| c).clone())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a simulator bug; keep serving with the data as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    pub(crate) fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub(crate) fn accounts_url(&self, dc: DataCenter) -> String {
        format!("{}/accounts/{}", self.base(), dc.location())
    }
    pub(crate) fn api_url(&self, dc: DataCenter, env: Environment) -> String {
        format!("{}/api/{}/{}", self.base(), dc.location(), env.as_str())
    }
    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
    pub(crate) fn endpoints(&self) -> EndpointTable {
        let mut accounts = BTreeMap::new();
        let mut api = BTreeMap::new();
        for dc in DataCenter::ALL {
            accounts.insert(dc, self.accounts_url(dc));
            api.insert(dc, Environment::ALL.iter().map(|e| (*e, self.api_url(dc, *e))).collect());
        }
        EndpointTable { accounts, api }
    }
}

/// A running simulator. Dropping it stops the server.
pub struct Simulator {
    shared: Arc<Shared>,
    shutdown: tokio::sync::watch::Sender<bool>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator").field("base_url", &self.shared.base()).finish_non_exhaustive()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

impl Simulator {
    /// Starts a simulator on a random loopback port with the default seed.
    pub async fn start() -> Result<Simulator, SimError> {
        Self::start_with(SimConfig::default()).await
    }

    /// Starts a simulator with `config`.
    pub async fn start_with(config: SimConfig) -> Result<Simulator, SimError> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await.map_err(SimError::Bind)?;
        let port = listener.local_addr().map_err(SimError::Bind)?.port();
        let clock = match config.clock_start_ms {
            Some(ms) => ManualClock::new(ms),
            None => ManualClock::starting_now(),
        };
        let state = server::initial_state(&config, clock.now_ms());
        let shared = Arc::new(Shared { state: Mutex::new(state), clock, port, http: std::sync::OnceLock::new() });
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(server::serve(listener, shared.clone(), rx));
        Ok(Simulator { shared, shutdown: tx })
    }

    /// Stops the server (also done on drop).
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// The port the simulator listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.shared.port
    }

    /// `http://127.0.0.1:{port}`.
    pub fn base_url(&self) -> String {
        self.shared.base()
    }

    /// The simulator's URL table (no trailing slashes): the SDK's own [`EndpointTable`], so it
    /// goes straight into [`Endpoints::from_table`](crate::dc::Endpoints::from_table).
    ///
    /// Serializes as `{"accounts":{"us":"http://…",…},"api":{"us":{"production":"…","sandbox":"…","developer":"…"},…}}`.
    pub fn endpoints(&self) -> EndpointTable {
        self.shared.endpoints()
    }

    /// The URL table as the SDK's [`Endpoints`](crate::dc::Endpoints) (loopback `http` is
    /// accepted there).
    pub fn sdk_endpoints(&self) -> Result<crate::dc::Endpoints, crate::dc::DcError> {
        crate::dc::Endpoints::from_table(&self.endpoints())
    }

    /// The default client's credentials (`DEFAULT_CLIENT_ID` and the secret of every data center),
    /// as the SDK takes them.
    pub fn credentials(&self) -> crate::ClientCredentials {
        DataCenter::ALL
            .iter()
            .fold(crate::ClientCredentials::new(DEFAULT_CLIENT_ID, default_client_secret(DataCenter::Us)), |c, dc| {
                c.with_dc_secret(*dc, default_client_secret(*dc))
            })
    }

    /// The accounts server base URL of `dc`.
    pub fn accounts_url(&self, dc: DataCenter) -> String {
        self.shared.accounts_url(dc)
    }

    /// The CRM API base URL (`api_domain`) of `dc` and `env`.
    pub fn api_url(&self, dc: DataCenter, env: Environment) -> String {
        self.shared.api_url(dc, env)
    }

    /// The test-control base URL (`http://127.0.0.1:{port}/_sim`).
    pub fn control_url(&self) -> String {
        format!("{}/_sim", self.shared.base())
    }

    /// The simulated clock (shared: advancing a clone advances the simulator).
    pub fn clock(&self) -> ManualClock {
        self.shared.clock.clone()
    }

    /// Moves the simulated clock forward.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Registers (or replaces) a client.
    pub fn register_client(&self, registration: ClientRegistration) {
        self.shared.lock().clients.insert(registration.client_id.clone(), registration);
    }

    /// The one-line JSON `zoho-sim` prints (and `GET {control}/info` answers):
    /// `{"accounts":…,"api":…,"client":{"client_id","client_secret":{dc: secret},"redirect_uri"},"users":[{"email","dc"}],"control":…}`.
    pub fn info_line(&self) -> String {
        server::info_json(&self.shared).to_string()
    }

    /// The pre-registered default client (id, per-DC secrets, redirect URI).
    pub fn default_client(&self) -> ClientRegistration {
        default_client()
    }

    /// Every user who can sign in.
    pub fn users(&self) -> Vec<SimUser> {
        let st = self.shared.lock();
        st.accounts.iter().map(|a| server::sim_user(&st, a)).collect()
    }

    /// One user, by email.
    pub fn user(&self, email: &str) -> Option<SimUser> {
        let st = self.shared.lock();
        st.account(email).map(|a| server::sim_user(&st, a))
    }

    /// Adds a user who can sign in, with an active administrator CRM user in every environment
    /// of `dc`.
    pub fn add_user(&self, email: &str, full_name: &str, dc: DataCenter) -> Result<SimUser, SimError> {
        let now = self.shared.now_ms();
        let mut st = self.shared.lock();
        server::add_account(&mut st, email, full_name, dc, now)
    }

    /// An authorization URL for the default client, at `start` (Zoho: the US server for every
    /// DC but China, the CN server for China). `access_type` is `offline` or `online`.
    pub fn authorize_url(&self, start: DataCenter, scope: &str, access_type: &str, state: Option<&str>) -> String {
        let mut url = format!(
            "{}/oauth/v2/auth?scope={}&client_id={}&response_type=code&access_type={}&redirect_uri={}",
            self.accounts_url(start),
            enc(scope),
            enc(DEFAULT_CLIENT_ID),
            enc(access_type),
            enc(DEFAULT_REDIRECT_URI)
        );
        if let Some(s) = state {
            url.push_str("&state=");
            url.push_str(&enc(s));
        }
        url
    }

    /// Signs `email` in on the authorization pages over real HTTP, picks `environment`, answers
    /// `decision`, follows the redirects between data centers and returns the final redirect
    /// URL (to the app's `redirect_uri`).
    pub async fn consent(
        &self,
        authorize_url: &str,
        email: &str,
        environment: Environment,
        decision: Decision,
    ) -> Result<String, SimError> {
        consent::run(&self.shared.http()?, &self.shared.base(), authorize_url, email, environment, decision).await
    }

    /// Mints tokens for `email` directly (no HTTP, not logged), as a consent plus code exchange
    /// with the default client and `access_type=offline&prompt=consent` would.
    pub fn issue_tokens(
        &self,
        email: &str,
        environment: Environment,
        scopes: &[&str],
    ) -> Result<IssuedTokens, SimError> {
        let now = self.shared.now_ms();
        let mut st = self.shared.lock();
        let account = st.account(email).cloned().ok_or_else(|| SimError::UnknownUser(email.to_owned()))?;
        let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
        let minted = st.mint(now, DEFAULT_CLIENT_ID, &account.email, account.dc, environment, scopes, true, None);
        Ok(IssuedTokens {
            access_token: SecretString::new(minted.access_token),
            refresh_token: SecretString::new(minted.refresh_token.unwrap_or_default()),
            api_domain: self.shared.api_url(account.dc, environment),
            accounts_server: self.shared.accounts_url(account.dc),
            expires_in: state::ACCESS_TOKEN_SECS,
        })
    }

    /// A Self Client grant code for `email`, as Zoho's API console generates one for the
    /// default client: exchanged at the user's data center without a redirect URI, valid for
    /// `valid_for` (the console offers 3 to 10 minutes), single-use, with a refresh token.
    pub fn self_client_code(
        &self,
        email: &str,
        environment: Environment,
        scopes: &[&str],
        valid_for: Duration,
    ) -> Result<SecretString, SimError> {
        let now = self.shared.now_ms();
        let mut st = self.shared.lock();
        let account = st.account(email).cloned().ok_or_else(|| SimError::UnknownUser(email.to_owned()))?;
        let code = state::new_token();
        st.codes.insert(
            code.clone(),
            state::Code {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                redirect_uri: String::new(),
                email: account.email.clone(),
                dc: account.dc,
                environment,
                scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
                issue_refresh: true,
                created_ms: now,
                valid_ms: i64::try_from(valid_for.as_millis()).unwrap_or(i64::MAX),
                self_client: true,
                used: false,
            },
        );
        Ok(SecretString::new(code))
    }

    /// Queues `fault` for the next `times` requests of `route` ([`Route::Any`]: any route).
    /// Faults for a specific route are used before `Any` faults.
    pub fn inject(&self, route: Route, fault: Fault, times: usize) {
        if times > 0 {
            self.shared.lock().faults.push_back(state::PendingFault { route, fault, remaining: times });
        }
    }

    /// Forgets every pending fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Every logged request, oldest first.
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.lock().log.clone()
    }

    /// How many logged requests hit `route` ([`Route::Any`]: all).
    pub fn count(&self, route: Route) -> usize {
        self.shared.lock().log.iter().filter(|r| route == Route::Any || r.route == route).count()
    }

    /// How many token requests carried this `grant_type` (whatever their outcome).
    pub fn count_grant(&self, grant_type: &str) -> usize {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.route == Route::Token && r.grant_type.as_deref() == Some(grant_type))
            .count()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Revokes a refresh token as if the user removed the app in Zoho's Connected Apps: it and
    /// its access tokens stop working. Returns whether the token existed.
    pub fn revoke_refresh_token_out_of_band(&self, refresh_token: &SecretString) -> bool {
        self.shared.lock().remove_refresh_token(refresh_token.expose())
    }

    /// Revokes every live access token of `email` (refresh tokens keep working). Returns how many.
    pub fn invalidate_access_tokens_for(&self, email: &str) -> usize {
        let now = self.shared.now_ms();
        let mut st = self.shared.lock();
        let mut n = 0;
        for a in st.access_tokens.values_mut() {
            if a.email.eq_ignore_ascii_case(email) && !a.revoked && a.expires_ms > now {
                a.revoked = true;
                n += 1;
            }
        }
        n
    }

    /// Replaces the scopes of a live access token (to provoke `OAUTH_SCOPE_MISMATCH`).
    /// Returns whether the token existed.
    pub fn set_token_scopes(&self, access_token: &SecretString, scopes: &[&str]) -> bool {
        match self.shared.lock().access_tokens.get_mut(access_token.expose()) {
            Some(a) => {
                a.scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
                true
            }
            None => false,
        }
    }

    /// Adds `n` generated records to `module` in the org of `dc` and `env` (seeding the org
    /// first if no request has touched it yet) and returns how many records the module holds
    /// now. Cheap enough for tens of thousands of records: records are built in memory, no
    /// HTTP. Generated Leads look like the seeded ones (names, companies, emails, phones);
    /// other modules get their mandatory fields filled (`"{Singular} {n}"`, the first
    /// picklist value). Also `POST /_sim/seed` `{"dc":"eu","environment":"sandbox","module":"Leads","count":5000}`.
    pub fn seed_records(&self, dc: DataCenter, env: Environment, module: &str, n: usize) -> Result<usize, SimError> {
        let now = self.shared.now_ms();
        let mut st = self.shared.lock();
        seed::add_records(st.org(dc, env), module, n, now.div_euclid(1000))
            .ok_or_else(|| SimError::Unexpected(format!("the simulated org has no module `{module}` that takes records; use Leads, Contacts, Accounts, Deals or Notes")))
    }

    /// Denies `email`'s CRM profile access to `module` in every org of their data center, so record calls answer
    /// `NO_PERMISSION`. Returns whether the user was found in some org.
    pub fn deny_module(&self, email: &str, module: &str) -> bool {
        let mut st = self.shared.lock();
        let Some(dc) = st.account(email).map(|a| a.dc) else {
            return false;
        };
        let mut found = false;
        for env in Environment::ALL {
            for u in st.org(dc, env).users.iter_mut().filter(|u| u.email.eq_ignore_ascii_case(email)) {
                u.denied_modules.push(module.to_owned());
                found = true;
            }
        }
        found
    }
}

/// The default client's registration.
pub(crate) fn default_client() -> ClientRegistration {
    ClientRegistration {
        client_id: DEFAULT_CLIENT_ID.to_owned(),
        secrets: DataCenter::ALL.iter().map(|dc| (*dc, default_client_secret(*dc))).collect(),
        redirect_uris: vec![DEFAULT_REDIRECT_URI.to_owned()],
    }
}

/// Percent-encodes a query value.
pub(crate) fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
