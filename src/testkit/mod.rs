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
//!
//! ## Layout
//!
//! Each module imports only from the layers below it (checked by grepping `use super::` and
//! `use crate::testkit::`), so there are no import cycles:
//!
//! 1. Leaves, importing nothing else from the simulator: `types` (the public value types
//!    re-exported here), `schema` (module and field definitions), `wire` (requests, answers
//!    and Zoho's payload shapes), `time`, `html`, `criteria`.
//! 2. `state`: the world (clients, accounts, codes, tokens with Zoho's limits, orgs, the log and
//!    pending faults). Imports `types`, `schema`.
//! 3. `seed`: the initial world and the orgs built on first use (`seed::data` holds only data).
//!    Imports `state`, `schema`, `types`, `time`.
//! 4. `consent` (the programmatic browser; imports `types`, `html`) and `shared`: the world behind
//!    its mutex with the clock, and every operation of the [`Simulator`] API. Imports `state`,
//!    `seed`, `consent`, `types`.
//! 5. Handlers: `accounts` (the Accounts servers) and `crm` (the CRM API, v2 and v8, COQL;
//!    layered inside, see its docs). Import `shared`, `state`, `seed`, `wire` and the leaves.
//! 6. `server`: the listener, routing, fault injection, the request log and the `/_sim`
//!    controls, which call the same `shared` methods as the Rust API. Imports the handlers,
//!    `shared`, `types`, `wire`, `html`.
//! 7. This module: [`Simulator`], a handle on `shared` that starts `server`.

mod accounts;
mod consent;
mod criteria;
mod crm;
mod html;
mod request_log;
mod schema;
mod seed;
mod server;
mod shared;
mod state;
mod time;
mod types;
mod wire;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::ManualClock;
use crate::dc::{DataCenter, EndpointTable, Environment};
use crate::secret::{AccessToken, AuthorizationCode, RefreshToken};

use shared::Shared;
pub use types::{
    ClientRegistration, DEFAULT_CLIENT_ID, DEFAULT_REDIRECT_URI, DEFAULT_REQUEST_LOG, Decision, Fault, IssuedTokens,
    LoggedRequest, MAX_LATENCY, Route, SimConfig, SimError, SimUser, default_client_secret,
};

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
        let shared = Arc::new(Shared::new(&config, port));
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
        self.shared.port()
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
        self.shared.control_url()
    }

    /// The simulated clock (shared: advancing a clone advances the simulator).
    pub fn clock(&self) -> ManualClock {
        self.shared.clock()
    }

    /// Moves the simulated clock forward.
    pub fn advance(&self, by: Duration) {
        self.shared.advance(by);
    }

    /// Registers (or replaces) a client.
    pub fn register_client(&self, registration: ClientRegistration) {
        self.shared.register_client(registration);
    }

    /// The one-line JSON `zoho-sim` prints (and `GET {control}/info` answers):
    /// `{"accounts":…,"api":…,"client":{"client_id","client_secret":{dc: secret},"redirect_uri"},"users":[{"email","dc"}],"control":…}`.
    pub fn info_line(&self) -> String {
        self.shared.info_json().to_string()
    }

    /// The pre-registered default client (id, per-DC secrets, redirect URI).
    pub fn default_client(&self) -> ClientRegistration {
        types::default_client()
    }

    /// Every user who can sign in.
    pub fn users(&self) -> Vec<SimUser> {
        self.shared.users()
    }

    /// One user, by email.
    pub fn user(&self, email: &str) -> Option<SimUser> {
        self.shared.user(email)
    }

    /// Adds a user who can sign in, with an active administrator CRM user in every environment
    /// of `dc`.
    pub fn add_user(&self, email: &str, full_name: &str, dc: DataCenter) -> Result<SimUser, SimError> {
        self.shared.add_user(email, full_name, dc)
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
        self.shared.consent(consent::Visit { authorize_url, email, environment, decision }).await
    }

    /// Mints tokens for `email` directly (no HTTP, not logged), as a consent plus code exchange
    /// with the default client and `access_type=offline&prompt=consent` would.
    pub fn issue_tokens(
        &self,
        email: &str,
        environment: Environment,
        scopes: &[&str],
    ) -> Result<IssuedTokens, SimError> {
        self.shared.issue_tokens(email, environment, owned(scopes))
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
    ) -> Result<AuthorizationCode, SimError> {
        self.shared.self_client_code(email, environment, owned(scopes), valid_for)
    }

    /// Queues `fault` for the next `times` requests of `route` ([`Route::Any`]: any route).
    /// Faults for a specific route are used before `Any` faults.
    pub fn inject(&self, route: Route, fault: Fault, times: usize) {
        self.shared.inject(route, fault, times);
    }

    /// Forgets every pending fault.
    pub fn clear_faults(&self) {
        self.shared.clear_faults();
    }

    /// How many injected faults still wait for their request. A fault is taken when its
    /// request arrives, so this going down tells a test that the request is at the simulator:
    /// e.g. held by a [`Fault::Latency`], which logs the request only once it is answered.
    pub fn pending_faults(&self) -> usize {
        self.shared.pending_faults()
    }

    /// The logged requests, oldest first: the most recent [`SimConfig::request_log`] of them
    /// (10,000 by default).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.requests()
    }

    /// How many requests hit `route` ([`Route::Any`]: all) since the start or the last
    /// [`clear_requests`](Self::clear_requests), including those the log no longer keeps.
    pub fn count(&self, route: Route) -> usize {
        self.shared.count(route)
    }

    /// How many token requests carried this `grant_type` (whatever their outcome) since the
    /// start or the last [`clear_requests`](Self::clear_requests).
    pub fn count_grant(&self, grant_type: &str) -> usize {
        self.shared.count_grant(grant_type)
    }

    /// Empties the request log and resets its counts.
    pub fn clear_requests(&self) {
        self.shared.clear_requests();
    }

    /// Revokes a refresh token as if the user removed the app in Zoho's Connected Apps: it and
    /// its access tokens stop working. Returns whether the token existed.
    pub fn revoke_refresh_token_out_of_band(&self, refresh_token: &RefreshToken) -> bool {
        self.shared.revoke_refresh_token_out_of_band(refresh_token.expose())
    }

    /// Revokes every live access token of `email` (refresh tokens keep working). Returns how many.
    pub fn invalidate_access_tokens_for(&self, email: &str) -> usize {
        self.shared.invalidate_access_tokens_for(email)
    }

    /// Replaces the scopes of a live access token (to provoke `OAUTH_SCOPE_MISMATCH`).
    /// Returns whether the token existed.
    pub fn set_token_scopes(&self, access_token: &AccessToken, scopes: &[&str]) -> bool {
        self.shared.set_token_scopes(access_token.expose(), owned(scopes))
    }

    /// Adds `n` generated records to `module` in the org of `dc` and `env` (seeding the org
    /// first if no request has touched it yet) and returns how many records the module holds
    /// now. Cheap enough for tens of thousands of records: records are built in memory, no
    /// HTTP. Generated Leads look like the seeded ones (names, companies, emails, phones);
    /// other modules get their mandatory fields filled (`"{Singular} {n}"`, the first
    /// picklist value). Also `POST /_sim/seed` `{"dc":"eu","environment":"sandbox","module":"Leads","count":5000}`.
    pub fn seed_records(&self, dc: DataCenter, env: Environment, module: &str, n: usize) -> Result<usize, SimError> {
        self.shared.seed_records(dc, env, module, n)
    }

    /// Denies `email`'s CRM profile access to `module` in every org of their data center, so record calls answer
    /// `NO_PERMISSION`. Returns whether the user was found in some org.
    pub fn deny_module(&self, email: &str, module: &str) -> bool {
        self.shared.deny_module(email, module)
    }
}

/// `scopes` as owned strings.
fn owned(scopes: &[&str]) -> Vec<String> {
    scopes.iter().map(|s| (*s).to_owned()).collect()
}

/// Percent-encodes a query value.
fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
