//! The simulator's shared core: the world ([`State`]) behind one mutex, the request log behind
//! another, the simulated clock and the listener's port, with every operation the Rust
//! [`Simulator`](super::Simulator) API offers. The `/_sim` HTTP controls parse their request and
//! call the same methods, so both stay one behaviour.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use serde_json::{Value, json};

use crate::clock::{Clock, ManualClock};
use crate::dc::{DataCenter, EndpointTable, Environment};
use crate::secret::{AccessToken, AuthorizationCode, RefreshToken};

use super::consent;
use super::request_log::RequestLog;
use super::seed::{self, NewCrmUser};
use super::state::{self, Account, Code, Grant, PendingFault, State};
use super::types::{
    ClientRegistration, DEFAULT_CLIENT_ID, Fault, IssuedTokens, LoggedRequest, Route, SimConfig, SimError, SimUser,
};

/// State shared by the simulator handle and its server tasks.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The request log, under a lock of its own (logging does not wait for the world).
    log: Mutex<RequestLog>,
    clock: ManualClock,
    port: u16,
    /// The client programmatic consent uses (built once: building one is slow).
    http: OnceLock<reqwest::Client>,
}

impl Shared {
    /// The world of `config` for a listener on `port`.
    pub(crate) fn new(config: &SimConfig, port: u16) -> Shared {
        let clock = match config.clock_start_ms {
            Some(ms) => ManualClock::new(ms),
            None => ManualClock::starting_now(),
        };
        let state = seed::initial_state(config, clock.now_ms());
        let log = Mutex::new(RequestLog::new(config.request_log));
        Shared { state: Mutex::new(state), log, clock, port, http: OnceLock::new() }
    }

    fn http(&self) -> Result<reqwest::Client, SimError> {
        if let Some(c) = self.http.get() {
            return Ok(c.clone());
        }
        let c = consent::http_client()?;
        Ok(self.http.get_or_init(|| c).clone())
    }

    /// The world, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a simulator bug; keep serving with the data as is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn port(&self) -> u16 {
        self.port
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

    pub(crate) fn control_url(&self) -> String {
        format!("{}/_sim", self.base())
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

    /// The JSON line `zoho-sim` prints and `GET /_sim/info` answers.
    pub(crate) fn info_json(&self) -> Value {
        let st = self.lock();
        // The default client (null when the simulator was started without it).
        let client = st.clients.get(DEFAULT_CLIENT_ID).map(|c| {
            let secrets: serde_json::Map<String, Value> = c
                .secrets
                .iter()
                .map(|(dc, s)| (dc.location().to_owned(), Value::String(s.expose().to_owned())))
                .collect();
            let redirect = c.redirect_uris.first().cloned().unwrap_or_default();
            json!({"client_id": c.client_id, "client_secret": secrets, "redirect_uri": redirect})
        });
        json!({
            "accounts": self.endpoints().accounts,
            "api": self.endpoints().api,
            "client": client,
            "users": st.accounts.iter().map(|a| json!({"email": a.email, "dc": a.dc})).collect::<Vec<_>>(),
            "control": self.control_url(),
        })
    }

    // ------------------------------------------------------------ clock

    /// The simulated clock (a clone shares it).
    pub(crate) fn clock(&self) -> ManualClock {
        self.clock.clone()
    }

    pub(crate) fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub(crate) fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    // ------------------------------------------------------------ clients and users

    pub(crate) fn register_client(&self, registration: ClientRegistration) {
        self.lock().clients.insert(registration.client_id.clone(), registration);
    }

    pub(crate) fn users(&self) -> Vec<SimUser> {
        let st = self.lock();
        st.accounts.iter().map(|a| seed::sim_user(&st, a)).collect()
    }

    pub(crate) fn user(&self, email: &str) -> Option<SimUser> {
        let st = self.lock();
        st.account(email).map(|a| seed::sim_user(&st, a))
    }

    /// Adds a sign-in account with an active administrator CRM user in every environment of `dc`.
    pub(crate) fn add_user(&self, email: &str, full_name: &str, dc: DataCenter) -> Result<SimUser, SimError> {
        let now_s = self.now_ms().div_euclid(1000);
        let mut st = self.lock();
        if st.account(email).is_some() {
            return Err(SimError::DuplicateUser(email.to_owned()));
        }
        let (first, last) = match full_name.trim().rsplit_once(' ') {
            Some((f, l)) => (f.to_owned(), l.to_owned()),
            None => (String::new(), full_name.trim().to_owned()),
        };
        let zuid = (800_000_000u64 + st.accounts.len() as u64 * 7_919).to_string();
        let account = Account { email: email.to_owned(), first_name: first, last_name: last, zuid, dc };
        let index = st.accounts.len();
        let admin = NewCrmUser { role: "CEO", profile: "Administrator", status: "active", confirm: true };
        for env in Environment::ALL {
            // Orgs not seeded yet pick the account up when they are.
            if let Some(org) = st.orgs.get_mut(&(dc, env)) {
                let mut user = seed::new_crm_user(org, &account, &admin, now_s);
                let id = seed::user_id(dc, env, index);
                user.json.insert("id".into(), Value::String(id.clone()));
                user.id = id;
                org.users.push(user);
            }
        }
        st.accounts.push(account.clone());
        Ok(seed::sim_user(&st, &account))
    }

    /// Denies `email`'s CRM profile access to `module` in every org of their data center.
    pub(crate) fn deny_module(&self, email: &str, module: &str) -> bool {
        let mut st = self.lock();
        let Some(dc) = st.account(email).map(|a| a.dc) else {
            return false;
        };
        let mut found = false;
        for env in Environment::ALL {
            for u in seed::org(&mut st, dc, env).users.iter_mut().filter(|u| u.email.eq_ignore_ascii_case(email)) {
                u.denied_modules.push(module.to_owned());
                found = true;
            }
        }
        found
    }

    // ------------------------------------------------------------ consent and tokens

    /// Programmatic consent over real HTTP (see [`consent::Browser::run`]).
    pub(crate) async fn consent(&self, visit: consent::Visit<'_>) -> Result<String, SimError> {
        let client = self.http()?;
        let base = self.base();
        consent::Browser { client: &client, base: &base }.run(visit).await
    }

    /// Mints tokens for `email` with the default client, as a consent with
    /// `access_type=offline&prompt=consent` and the code exchange would.
    pub(crate) fn issue_tokens(
        &self,
        email: &str,
        environment: Environment,
        scopes: Vec<String>,
    ) -> Result<IssuedTokens, SimError> {
        let now = self.now_ms();
        let mut st = self.lock();
        let account = st.account(email).cloned().ok_or_else(|| SimError::UnknownUser(email.to_owned()))?;
        let minted = st.mint(
            now,
            Grant {
                client_id: DEFAULT_CLIENT_ID,
                email: &account.email,
                dc: account.dc,
                environment,
                scopes,
                with_refresh: true,
                from_refresh: None,
            },
        );
        Ok(IssuedTokens {
            access_token: AccessToken::new(minted.access_token),
            refresh_token: RefreshToken::new(minted.refresh_token.unwrap_or_default()),
            api_domain: self.api_url(account.dc, environment),
            accounts_server: self.accounts_url(account.dc),
            expires_in: state::ACCESS_TOKEN_SECS,
        })
    }

    /// A Self Client grant code for `email` with the default client, valid for `valid_for`.
    pub(crate) fn self_client_code(
        &self,
        email: &str,
        environment: Environment,
        scopes: Vec<String>,
        valid_for: Duration,
    ) -> Result<AuthorizationCode, SimError> {
        let now = self.now_ms();
        let mut st = self.lock();
        let account = st.account(email).cloned().ok_or_else(|| SimError::UnknownUser(email.to_owned()))?;
        let code = state::new_token();
        st.codes.insert(
            code.clone(),
            Code {
                client_id: DEFAULT_CLIENT_ID.to_owned(),
                redirect_uri: String::new(),
                email: account.email.clone(),
                dc: account.dc,
                environment,
                scopes,
                issue_refresh: true,
                created_ms: now,
                valid_ms: i64::try_from(valid_for.as_millis()).unwrap_or(i64::MAX),
                self_client: true,
                used: false,
            },
        );
        Ok(AuthorizationCode::new(code))
    }

    /// Revokes a refresh token and its access tokens; whether it existed.
    pub(crate) fn revoke_refresh_token_out_of_band(&self, refresh_token: &str) -> bool {
        self.lock().remove_refresh_token(refresh_token)
    }

    /// Revokes every live access token of `email`; how many.
    pub(crate) fn invalidate_access_tokens_for(&self, email: &str) -> usize {
        let now = self.now_ms();
        let mut st = self.lock();
        let mut n = 0;
        for a in st.access_tokens.values_mut() {
            if a.email.eq_ignore_ascii_case(email) && !a.revoked && a.expires_ms > now {
                a.revoked = true;
                n += 1;
            }
        }
        n
    }

    /// Replaces a live access token's scopes; whether it existed.
    pub(crate) fn set_token_scopes(&self, access_token: &str, scopes: Vec<String>) -> bool {
        match self.lock().access_tokens.get_mut(access_token) {
            Some(a) => {
                a.scopes = scopes;
                true
            }
            None => false,
        }
    }

    // ------------------------------------------------------------ faults and the request log

    /// Queues `fault` for the next `times` requests of `route`.
    pub(crate) fn inject(&self, route: Route, fault: Fault, times: usize) {
        if times > 0 {
            self.lock().faults.push_back(PendingFault { route, fault, remaining: times });
        }
    }

    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub(crate) fn pending_faults(&self) -> usize {
        self.lock().faults.iter().map(|f| f.remaining).sum()
    }

    /// Takes the next pending fault for `route` (its own faults first, then `Any`).
    pub(crate) fn take_fault(&self, route: Route) -> Option<Fault> {
        let mut st = self.lock();
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

    fn request_log(&self) -> MutexGuard<'_, RequestLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn requests(&self) -> Vec<LoggedRequest> {
        self.request_log().recent()
    }

    pub(crate) fn log(&self, entry: LoggedRequest) {
        self.request_log().push(entry);
    }

    pub(crate) fn count(&self, route: Route) -> usize {
        self.request_log().count(route)
    }

    pub(crate) fn count_grant(&self, grant_type: &str) -> usize {
        self.request_log().count_grant(grant_type)
    }

    pub(crate) fn clear_requests(&self) {
        self.request_log().clear();
    }

    // ------------------------------------------------------------ records

    /// Adds `n` generated records to `module` in the org of `dc` and `env`; how many it holds now.
    pub(crate) fn seed_records(
        &self,
        dc: DataCenter,
        env: Environment,
        module: &str,
        n: usize,
    ) -> Result<usize, SimError> {
        let now = self.now_ms();
        let mut st = self.lock();
        seed::add_records(seed::org(&mut st, dc, env), module, n, now.div_euclid(1000)).ok_or_else(|| {
            SimError::Unexpected(format!(
                "the simulated org has no module `{module}` that takes records; use Leads, Contacts, Accounts, Deals or Notes"
            ))
        })
    }
}
