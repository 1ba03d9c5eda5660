//! [`Zoho`]: the one application-wide entry point.
//!
//! Holds the configuration (credentials, endpoint table, timeouts, proxy), the shared HTTP
//! connection pool, the token store and the [`TokenManager`], and hands out a [`CrmClient`] per
//! connected user. Cheap to clone, `Send + Sync`: a web app with thousands of connected users
//! keeps one.

use std::sync::Arc;
use std::time::Duration;

use crate::client::CrmClient;
use crate::clock::{Clock, SystemClock};
use crate::credentials::ClientCredentials;
use crate::dc::{DataCenter, Endpoints, Environment};
use crate::error::{Error, Result};
use crate::manager::{RefreshPolicy, TokenManager};
use crate::oauth::{AuthorizationRequest, Callback, CodeGrant, OAuthClient, PendingAuthorization};
use crate::retry::{Retrier, RetryPolicy};
use crate::secret::RefreshToken;
use crate::store::{MemoryStore, TokenStore};
use crate::token::{Token, TokenKey};

/// Default number of connections kept in the token cache.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;

/// Configures a [`Zoho`].
///
/// `Debug` shows the proxy without its credentials, and no client secret.
#[must_use]
pub struct ZohoBuilder {
    credentials: ClientCredentials,
    endpoints: Endpoints,
    store: Option<Arc<dyn TokenStore>>,
    clock: Arc<dyn Clock>,
    policy: RefreshPolicy,
    cache_capacity: usize,
    connect_timeout: Duration,
    read_timeout: Duration,
    total_timeout: Duration,
    token_timeout: Duration,
    proxy: Option<String>,
    user_agent: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ZohoBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZohoBuilder")
            .field("credentials", &self.credentials)
            .field("endpoints", &self.endpoints)
            .field("store", &self.store)
            .field("policy", &self.policy)
            .field("cache_capacity", &self.cache_capacity)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("token_timeout", &self.token_timeout)
            .field("proxy", &self.proxy.as_deref().map(redact_proxy))
            .field("user_agent", &self.user_agent)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

/// A proxy URL without anything that could be a credential: scheme, host and port only.
fn redact_proxy(proxy: &str) -> String {
    match url::Url::parse(proxy) {
        Ok(url) => {
            let credentials = if url.username().is_empty() && url.password().is_none() { "" } else { "[redacted]@" };
            let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
            format!("{}://{credentials}{}{port}", url.scheme(), url.host_str().unwrap_or(""))
        }
        Err(_) => crate::secret::REDACTED.to_owned(),
    }
}

impl ZohoBuilder {
    /// The endpoint table (default: Zoho's real one). Use the simulator's or a gateway's here.
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// Where tokens are kept (default: in memory only, lost at exit).
    pub fn store(mut self, store: impl TokenStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Where tokens are kept, already shared.
    pub fn shared_store(mut self, store: Arc<dyn TokenStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The clock (default: the system clock). Tests pass the simulator's.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// When to refresh and how to back off.
    pub fn refresh_policy(mut self, policy: RefreshPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How many connections the token cache keeps (default 10,000); others reload from the store.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Time to open a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Longest wait for the next bytes of a response (default 30 s).
    pub fn read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// Longest time for a whole request (default 60 s).
    pub fn total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// Longest time for one token-endpoint call (default 20 s, never more than the total
    /// timeout). A refresh holds the store's refresh lease while it waits for Zoho.
    pub fn token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = timeout;
        self
    }

    /// Send every request, token requests included, through this HTTP(S) proxy.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// How failed requests are repeated (default [`RetryPolicy::default`]: 3 attempts,
    /// idempotent requests only, honouring `Retry-After`; [`RetryPolicy::disabled`] turns
    /// retries off). See [`crate::retry`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Builds the entry point.
    pub fn build(self) -> Result<Zoho> {
        let http = http_client(&self)?;
        let endpoints = Arc::new(self.endpoints);
        let credentials = Arc::new(self.credentials);
        let retry = Retrier::new(self.retry);
        let oauth = OAuthClient::new(http.clone(), endpoints.clone(), credentials.clone(), self.clock.clone())
            .with_token_timeout(self.token_timeout.min(self.total_timeout))
            .with_retrier(retry.clone());
        let store = self.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let manager =
            TokenManager::new(store, Arc::new(oauth.clone()), self.clock.clone(), self.policy, self.cache_capacity);
        Ok(Zoho { inner: Arc::new(ZohoInner { http, endpoints, credentials, oauth, manager, retry }) })
    }
}

/// Builds the shared HTTP client: no redirects (never follow one from a token endpoint, or
/// carry an Authorization header to another host), the configured timeouts and proxy.
fn http_client(b: &ZohoBuilder) -> Result<reqwest::Client> {
    let mut builder = crate::transport::http_client_builder()
        .connect_timeout(b.connect_timeout)
        .read_timeout(b.read_timeout)
        .timeout(b.total_timeout)
        .user_agent(b.user_agent.clone())
        .pool_idle_timeout(Duration::from_secs(90));
    if let Some(proxy) = &b.proxy {
        let proxy = reqwest::Proxy::all(proxy.as_str())
            .map_err(|e| Error::config(format!("invalid proxy URL: {}", e.without_url())))?;
        builder = builder.proxy(proxy);
    } else {
        builder = builder.no_proxy();
    }
    builder.build().map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))
}

/// The application-wide Zoho entry point.
///
/// ```no_run
/// # async fn demo() -> zohocrm::Result<()> {
/// use zohocrm::{ClientCredentials, Zoho};
/// let zoho = Zoho::builder(ClientCredentials::new("1000.CLIENT", "secret")).build()?;
/// let (url, pending) = zoho.authorization_request("https://app.example/cb", ["ZohoCRM.users.READ"])?;
/// // redirect the user to `url`, keep `pending`; when Zoho redirects back:
/// let token = zoho.complete_authorization("user-42", "https://app.example/cb?code=…", &pending).await?;
/// let crm = zoho.client(&token.key).await?;
/// let me = crm.current_user().await?;
/// # let _ = (url, me); Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Zoho {
    inner: Arc<ZohoInner>,
}

#[derive(Debug)]
struct ZohoInner {
    http: reqwest::Client,
    endpoints: Arc<Endpoints>,
    credentials: Arc<ClientCredentials>,
    oauth: OAuthClient,
    manager: TokenManager,
    retry: Retrier,
}

impl Zoho {
    /// Starts configuring an entry point for the app registered as `credentials`.
    pub fn builder(credentials: ClientCredentials) -> ZohoBuilder {
        ZohoBuilder {
            credentials,
            endpoints: Endpoints::zoho(),
            store: None,
            clock: Arc::new(SystemClock),
            policy: RefreshPolicy::default(),
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(60),
            token_timeout: crate::oauth::DEFAULT_TOKEN_TIMEOUT,
            proxy: None,
            retry: RetryPolicy::default(),
            user_agent: concat!("zohocrm-rust/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// A builder wired to a local [`Simulator`](crate::testkit::Simulator): its endpoint table,
    /// its default client's credentials for every data center and its clock (so
    /// `sim.advance(..)` expires tokens without sleeping). Add a store and build.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use zohocrm::Zoho;
    /// use zohocrm::testkit::Simulator;
    /// let sim = Simulator::start().await?;
    /// let zoho = Zoho::for_simulator(&sim)?.build()?;
    /// # let _ = zoho; Ok(()) }
    /// ```
    #[cfg(feature = "testkit")]
    pub fn for_simulator(sim: &crate::testkit::Simulator) -> Result<ZohoBuilder> {
        Ok(Self::builder(sim.credentials()).endpoints(sim.sdk_endpoints()?).clock(sim.clock()))
    }

    /// The endpoint table in force.
    pub fn endpoints(&self) -> &Endpoints {
        &self.inner.endpoints
    }

    /// The token manager (cache, refresh).
    pub fn tokens(&self) -> &TokenManager {
        &self.inner.manager
    }

    /// The OAuth client (code exchange, refresh, revoke, serverinfo).
    pub fn oauth(&self) -> &OAuthClient {
        &self.inner.oauth
    }

    /// An offline authorization URL for `scopes`, starting at accounts.zoho.com, and the state
    /// to keep. For a China user, build an [`AuthorizationRequest`] with `.china()`.
    ///
    /// Fails only when the operating system's random number generator does.
    pub fn authorization_request<I, S>(&self, redirect_uri: &str, scopes: I) -> Result<(String, PendingAuthorization)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        AuthorizationRequest::new(self.inner.credentials.client_id(), redirect_uri)
            .scopes(scopes)
            .build(&self.inner.endpoints)
    }

    /// An authorization request to customise (access type, prompt, China).
    pub fn authorization(&self, redirect_uri: &str) -> AuthorizationRequest {
        AuthorizationRequest::new(self.inner.credentials.client_id(), redirect_uri)
    }

    /// Handles Zoho's redirect: verifies state, resolves the DC, exchanges the code at that DC,
    /// stores the token for `user` and returns it. A grant that cannot be stored (another
    /// environment than the request asked for, a store error) is revoked at its data center,
    /// best effort, and the error returned.
    pub async fn complete_authorization(
        &self,
        user: &str,
        redirect: &str,
        pending: &PendingAuthorization,
    ) -> Result<Token> {
        let code = Callback::parse(redirect)?.verify(pending, &self.inner.endpoints)?;
        pending.check_user(user)?;
        let token = self.inner.oauth.exchange_code(user, &code).await?;
        let checked = pending.check_environment(&token);
        self.store_or_revoke(token, checked).await
    }

    /// Stores a grant just minted from a single-use code (if `checked`); if it is not stored
    /// (another environment than asked, a store error), revokes it at its data center, best
    /// effort: an unusable grant must not count toward Zoho's 20 refresh tokens per user and
    /// client, where it would push out the oldest, possibly a stored connection. A grant the
    /// store holds after all (a commit that landed although its answer was lost) is kept.
    async fn store_or_revoke(&self, minted: Token, checked: Result<()>) -> Result<Token> {
        let Some(refresh_token) = minted.refresh_token.clone() else {
            // No new grant: Zoho sent no refresh token (the stored one is kept by `insert`).
            checked?;
            return self.inner.manager.insert(minted).await;
        };
        let key = minted.key.clone();
        let error = match checked {
            Ok(()) => match self.inner.manager.insert(minted.clone()).await {
                Ok(stored) => return Ok(stored),
                Err(e) => e,
            },
            Err(e) => e,
        };
        let stored = self.inner.manager.store().get(&key).await;
        let held = match &stored {
            Ok(Some(token)) => token.refresh_token.as_ref().is_some_and(|rt| rt.ct_eq(&refresh_token)),
            Ok(None) => false,
            Err(_) => true, // cannot tell: keep it rather than revoke a stored connection
        };
        if !held {
            match self.inner.oauth.revoke(&minted).await {
                Ok(()) => tracing::info!(connection = %key, "revoked a new grant that was not stored"),
                Err(e) => {
                    tracing::warn!(connection = %key, error = %e, "could not revoke a new grant that was not stored")
                }
            }
        }
        Err(error)
    }

    /// Connects `user` from a **Self Client** grant code (Zoho's API console → Self Client →
    /// Generate Code), for server-to-server integrations: the code is exchanged at its data
    /// center (no redirect, no `location`), validated by that one token call, and stored like
    /// any other connection (a stored refresh token is kept if Zoho sends none).
    ///
    /// ```no_run
    /// # async fn demo(zoho: zohocrm::Zoho) -> zohocrm::Result<()> {
    /// use zohocrm::dc::DataCenter;
    /// use zohocrm::oauth::CodeGrant;
    /// let code = CodeGrant::self_client(DataCenter::Eu, "1000.…", ["ZohoCRM.modules.ALL", "ZohoCRM.users.READ"]);
    /// let token = zoho.connect_self_client("integration", &code).await?;
    /// let crm = zoho.client(&token.key).await?;
    /// # let _ = crm; Ok(()) }
    /// ```
    pub async fn connect_self_client(&self, user: &str, code: &CodeGrant) -> Result<Token> {
        let token = self.inner.oauth.exchange_code(user, code).await?;
        self.store_or_revoke(token, Ok(())).await
    }

    /// Connects `user` from a refresh token the application already holds (from another SDK,
    /// a secrets manager, a Self Client exchange made elsewhere), for `dc` and `environment`.
    ///
    /// The refresh token is validated by one refresh at that data center: a revoked or foreign
    /// token fails with [`Error::ReauthorizationRequired`] or [`Error::OAuth`] and nothing is
    /// stored; a token for another environment fails with
    /// [`crate::dc::DcError::EnvironmentMismatch`]. On success the connection is stored (with
    /// a fresh access token) and returned.
    pub async fn connect_with_refresh_token(
        &self,
        user: &str,
        dc: DataCenter,
        environment: Environment,
        refresh_token: impl Into<RefreshToken>,
    ) -> Result<Token> {
        let refresh_token = refresh_token.into();
        if refresh_token.is_empty() {
            return Err(Error::InvalidInput { parameter: "refresh_token".into(), reason: "it is empty".into() });
        }
        let now = self.inner.manager.now_ms();
        let seed = Token {
            key: TokenKey::new(user, dc, environment),
            access_token: None,
            refresh_token: Some(refresh_token),
            expires_at_ms: now,
            api_domain: self.inner.endpoints.api_domain(dc, environment).to_owned(),
            accounts_server: self.inner.endpoints.accounts_server(dc).to_owned(),
            scopes: Vec::new(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        let token = self.inner.oauth.refresh(&seed).await?;
        self.inner.manager.insert(token).await
    }

    /// The CRM v8 client for a connection (feature `v8-core`): same token, DC, environment,
    /// refresh and retries as [`Zoho::client`].
    #[cfg(feature = "v8-core")]
    pub async fn client_v8(&self, key: &TokenKey) -> Result<crate::client_v8::CrmV8Client> {
        Ok(crate::client_v8::CrmV8Client::from(self.client(key).await?))
    }

    /// Every connection of the application user `user` (one per DC × environment they
    /// connected), from the store, sorted.
    pub async fn connections(&self, user: &str) -> Result<Vec<TokenKey>> {
        Ok(self.inner.manager.store().list_user(user).await?)
    }

    /// The CRM client of `user`'s only connection: [`Error::NotConnected`] when there is none,
    /// [`Error::InvalidInput`] naming them when there are several (pick one from
    /// [`Zoho::connections`] and use [`Zoho::client`]).
    pub async fn client_for(&self, user: &str) -> Result<CrmClient> {
        let mut keys = self.connections(user).await?;
        match keys.len() {
            0 => Err(Error::NotConnected { key: TokenKey::new(user, DataCenter::Us, Environment::Production) }),
            1 => self.client(&keys.remove(0)).await,
            _ => Err(Error::InvalidInput {
                parameter: "user".into(),
                reason: format!(
                    "{user:?} has {} connections ({}); choose one with Zoho::connections and Zoho::client",
                    keys.len(),
                    keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            }),
        }
    }

    /// The CRM client for a connection. Loads its token (cache, then store) to find the API
    /// domain; any refresh happens on the first call that needs it.
    pub async fn client(&self, key: &TokenKey) -> Result<CrmClient> {
        let token = self.inner.manager.load(key).await?;
        let (dc, environment) = self.inner.endpoints.resolve_api_domain(&token.api_domain)?;
        if dc != key.dc || environment != key.environment {
            return Err(Error::config(format!(
                "the stored api_domain {} belongs to {}/{environment}, not to {key}",
                token.api_domain,
                dc.location()
            )));
        }
        let base = self.inner.endpoints.api_domain(dc, environment).to_owned();
        Ok(CrmClient::new(
            self.inner.manager.clone(),
            key.clone(),
            base,
            self.inner.http.clone(),
            self.inner.retry.clone(),
        ))
    }

    /// Revokes the connection's refresh token at its DC and deletes it from the store.
    ///
    /// The token is deleted even when Zoho already considered it invalid; if Zoho cannot be
    /// reached, nothing is deleted and the error is returned (so the revoke can be retried). A
    /// refresh in flight finishes first and cannot write the connection back.
    pub async fn disconnect(&self, key: &TokenKey) -> Result<()> {
        self.inner.manager.disconnect(key).await
    }

    /// Zoho's data-center directory (`/oauth/serverinfo`) from the US accounts server.
    pub async fn server_info(&self) -> Result<crate::accounts::types::ServerInfo> {
        self.inner.oauth.server_info(DataCenter::Us).await
    }
}
