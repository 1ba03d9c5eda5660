//! Zoho OAuth flows: the authorization URL, the redirect back, code exchange, refresh and revoke.
//!
//! The user's browser starts at the authorization server (accounts.zoho.com for every data
//! center but China, accounts.zoho.com.cn for China). Zoho moves the user to their own data
//! center and redirects back with `code`, `location`, `accounts-server` and `state`.
//! [`Callback::parse`] reads that redirect, [`Callback::verify`] checks `state` and resolves the
//! data center against the [`Endpoints`] in force (an unknown accounts server is rejected, so no
//! secret is ever sent to it), and [`OAuthClient::exchange_code`] trades the code for a
//! [`Token`] at that data center's token endpoint with that data center's client secret.
//!
//! Every token-endpoint call goes through the generated accounts client with a form body;
//! Zoho's HTTP-200 `{"error": …}` answers become [`Error::OAuth`] with a hint, and the
//! throttle answer becomes [`Error::RateLimited`].

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing::Instrument;

use crate::accounts;
use crate::clock::Clock;
use crate::credentials::ClientCredentials;
use crate::dc::{DataCenter, Endpoints, Environment};
use crate::error::{CallbackError, Error, RateLimitScope, Result};
use crate::retry::{Retrier, RetryPolicy};
use crate::secret::SecretString;
use crate::token::{Token, TokenKey};
use crate::transport::Inner;

/// Where the accounts client's hooks leave a typed error.
type Slot = crate::transport::Failure;

/// Whether Zoho issues a refresh token.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessType {
    /// A refresh token is issued (on first consent, or with `prompt=consent`): for server apps.
    #[default]
    Offline,
    /// Only an access token (one hour); the user must come back to reconnect.
    Online,
}

impl AccessType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Offline => "offline",
            Self::Online => "online",
        }
    }
}

/// Builds the URL that sends a user to Zoho's consent page.
///
/// ```
/// use zohocrm::dc::Endpoints;
/// use zohocrm::oauth::AuthorizationRequest;
///
/// let (url, pending) = AuthorizationRequest::new("1000.CLIENT", "https://app.example/zoho/callback")
///     .scopes(["ZohoCRM.users.READ", "ZohoCRM.modules.ALL"])
///     .prompt_consent()
///     .build(&Endpoints::zoho())?;
/// assert!(url.starts_with("https://accounts.zoho.com/oauth/v2/auth?"));
/// assert!(url.contains("access_type=offline"));
/// // Keep `pending` (it is serde-serializable) until the user comes back.
/// # let _ = pending;
/// # Ok::<(), zohocrm::Error>(())
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AuthorizationRequest {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    access_type: AccessType,
    prompt_consent: bool,
    china: bool,
    environment: Option<Environment>,
}

impl AuthorizationRequest {
    /// A request for `client_id`, coming back to `redirect_uri` (registered with Zoho).
    pub fn new(client_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            redirect_uri: redirect_uri.into(),
            scopes: Vec::new(),
            access_type: AccessType::Offline,
            prompt_consent: false,
            china: false,
            environment: None,
        }
    }

    /// The scopes to ask for (`ZohoCRM.users.READ`, ...), added to any already set.
    ///
    /// Takes anything that iterates over strings: `["ZohoCRM.users.READ"]`, a `Vec<String>`, or
    /// a set from [`crate::scopes::Scopes`] such as `Scopes::FULL_CRM`.
    pub fn scopes<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.scopes.extend(scopes.into_iter().map(|s| s.as_ref().to_owned()));
        self
    }

    /// `offline` (the default here: server apps need a refresh token) or `online`.
    pub fn access_type(mut self, access_type: AccessType) -> Self {
        self.access_type = access_type;
        self
    }

    /// Ask for consent again (`prompt=consent`): needed to get a new refresh token.
    pub fn prompt_consent(mut self) -> Self {
        self.prompt_consent = true;
        self
    }

    /// The user's account is in China: start at accounts.zoho.com.cn instead of accounts.zoho.com.
    pub fn china(mut self) -> Self {
        self.china = true;
        self
    }

    /// The environment the app expects the user to connect (production, sandbox, developer).
    ///
    /// Zoho lets the user pick the org on its consent page and reports the choice only through
    /// the token's `api_domain`: with this set, a callback whose token is for another
    /// environment is refused ([`crate::dc::DcError::EnvironmentMismatch`]) and nothing is
    /// stored.
    pub fn environment(mut self, environment: Environment) -> Self {
        self.environment = Some(environment);
        self
    }

    /// The authorization URL and the state to keep until the user comes back.
    ///
    /// Fails only when the operating system's random number generator does: the CSRF `state`
    /// is never derived from anything guessable.
    pub fn build(self, endpoints: &Endpoints) -> Result<(String, PendingAuthorization)> {
        let state = random_state()?;
        let start_dc = if self.china { DataCenter::Cn } else { DataCenter::Us };
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("scope", &self.scopes.join(","))
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("access_type", self.access_type.as_str())
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", state.expose());
        if self.prompt_consent {
            query.append_pair("prompt", "consent");
        }
        let url = format!("{}?{}", endpoints.authorization_url_base(start_dc), query.finish());
        let pending = PendingAuthorization {
            state,
            redirect_uri: self.redirect_uri,
            scopes: self.scopes,
            access_type: self.access_type,
            environment: self.environment,
        };
        Ok((url, pending))
    }
}

/// 32 random bytes, base64url: the CSRF `state` of one authorization.
fn random_state() -> Result<SecretString> {
    let bytes = crate::encoding::random_bytes(32).map_err(|e| {
        Error::config(format!(
            "the operating system's random number generator failed ({e}); refusing to build an authorization URL with a guessable state"
        ))
    })?;
    Ok(SecretString::new(crate::encoding::base64url_encode(&bytes)))
}

/// What the app keeps (in the user's session) between sending the user to Zoho and the redirect.
///
/// Serializable so it can live in a signed cookie or a session store; `Debug` hides the state.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingAuthorization {
    state: SecretString,
    redirect_uri: String,
    scopes: Vec<String>,
    access_type: AccessType,
    /// The environment the app asked for, if any (absent in sessions stored by older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<Environment>,
}

impl PendingAuthorization {
    /// The redirect URI the code will be sent to (needed again for the code exchange).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The scopes that were asked for.
    pub fn scopes(&self) -> &[String] {
        &self.scopes
    }

    /// The state value sent to Zoho (exposed for apps that store it themselves).
    pub fn state(&self) -> &SecretString {
        &self.state
    }

    /// The environment the app asked for ([`AuthorizationRequest::environment`]), if any.
    pub fn environment(&self) -> Option<Environment> {
        self.environment
    }

    /// Checks that `token` is for the environment asked for (if one was).
    pub fn check_environment(&self, token: &Token) -> Result<()> {
        match self.environment {
            Some(requested) if requested != token.key.environment => {
                Err(Error::DataCenter(crate::dc::DcError::EnvironmentMismatch {
                    requested,
                    granted: token.key.environment,
                }))
            }
            _ => Ok(()),
        }
    }
}

impl std::fmt::Debug for PendingAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingAuthorization")
            .field("state", &self.state)
            .field("redirect_uri", &self.redirect_uri)
            .field("scopes", &self.scopes)
            .field("access_type", &self.access_type)
            .field("environment", &self.environment)
            .finish()
    }
}

/// The parameters of Zoho's redirect back to the app.
#[derive(Clone, Debug, Default)]
pub struct Callback {
    code: Option<SecretString>,
    location: Option<String>,
    accounts_server: Option<String>,
    state: Option<SecretString>,
    error: Option<String>,
}

impl Callback {
    /// Parses the redirect: a whole URL (`https://app/cb?code=…`), or just its query (`code=…&…`).
    pub fn parse(input: &str) -> Result<Callback, CallbackError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(CallbackError::Malformed { reason: "the redirect URL is empty".into() });
        }
        let query = match input.find('?') {
            Some(i) => &input[i + 1..],
            None if input.contains("://") => {
                return Err(CallbackError::Malformed { reason: "the redirect URL has no query string".into() });
            }
            None => input,
        };
        let query = query.split('#').next().unwrap_or_default();
        let mut cb = Callback::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.into_owned();
            match k.as_ref() {
                "code" => cb.code = Some(SecretString::new(v)),
                "location" => cb.location = Some(v),
                "accounts-server" => cb.accounts_server = Some(v),
                "state" => cb.state = Some(SecretString::new(v)),
                "error" => cb.error = Some(v),
                _ => {}
            }
        }
        Ok(cb)
    }

    /// Zoho's `location` code, when present.
    pub fn location(&self) -> Option<&str> {
        self.location.as_deref()
    }

    /// Zoho's `accounts-server`, when present.
    pub fn accounts_server(&self) -> Option<&str> {
        self.accounts_server.as_deref()
    }

    /// Checks `state`, reports denial, and resolves the data center. Nothing is sent anywhere.
    pub fn verify(self, pending: &PendingAuthorization, endpoints: &Endpoints) -> Result<AuthorizationCode> {
        let state_ok = self.state.as_ref().is_some_and(|s| s.ct_eq(&pending.state));
        if let Some(error) = self.error {
            // A denial still has to carry our state, or it is someone else's redirect.
            if !state_ok {
                return Err(CallbackError::StateMismatch.into());
            }
            return Err(CallbackError::Denied { error }.into());
        }
        if !state_ok {
            return Err(CallbackError::StateMismatch.into());
        }
        let code = self.code.filter(|c| !c.is_empty()).ok_or(CallbackError::MissingCode)?;
        let dc = endpoints.resolve_redirect(self.location.as_deref(), self.accounts_server.as_deref())?;
        Ok(AuthorizationCode {
            code,
            dc,
            redirect_uri: Some(pending.redirect_uri.clone()),
            scopes: pending.scopes.clone(),
        })
    }
}

/// A verified authorization code, ready to be exchanged at its data center.
#[derive(Clone, Debug)]
pub struct AuthorizationCode {
    code: SecretString,
    dc: DataCenter,
    /// `None` for a Self Client code (no redirect is involved).
    redirect_uri: Option<String>,
    scopes: Vec<String>,
}

impl AuthorizationCode {
    /// The user's data center, from the redirect.
    pub fn dc(&self) -> DataCenter {
        self.dc
    }

    /// A **Self Client** grant code, generated in Zoho's API console for a server-to-server
    /// integration. There is no redirect and no `location`: the caller says which data center
    /// the console belongs to (the code is only valid there). `scopes` are the scopes chosen
    /// in the console (kept when Zoho's answer does not list them).
    ///
    /// ```
    /// use zohocrm::dc::DataCenter;
    /// use zohocrm::oauth::AuthorizationCode;
    /// let code = AuthorizationCode::self_client(DataCenter::Eu, "1000.abc.def", ["ZohoCRM.modules.ALL"]);
    /// assert_eq!(code.dc(), DataCenter::Eu);
    /// assert!(!format!("{code:?}").contains("1000.abc"));
    /// ```
    pub fn self_client<I, S>(dc: DataCenter, code: impl Into<SecretString>, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            code: code.into(),
            dc,
            redirect_uri: None,
            scopes: scopes.into_iter().map(|s| s.as_ref().to_owned()).collect(),
        }
    }
}

/// Calls Zoho Accounts: code exchange, refresh, revoke, serverinfo.
///
/// Cheap to clone. Uses the shared HTTP client, which never follows redirects.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
    endpoints: Arc<Endpoints>,
    credentials: Arc<ClientCredentials>,
    clock: Arc<dyn Clock>,
    token_timeout: Duration,
    retry: Retrier,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClient").field("credentials", &self.credentials).finish_non_exhaustive()
    }
}

/// The default time limit of one accounts-server call.
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(20);

/// The default wait after Zoho's token throttle: its window is 10 minutes.
pub const DEFAULT_THROTTLE_BACKOFF: Duration = Duration::from_secs(600);

impl OAuthClient {
    /// An OAuth client over `http` (which must not follow redirects).
    pub fn new(
        http: reqwest::Client,
        endpoints: Arc<Endpoints>,
        credentials: Arc<ClientCredentials>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self { http, endpoints, credentials, clock, token_timeout: DEFAULT_TOKEN_TIMEOUT, retry: Retrier::default() }
    }

    /// Retries token refreshes, revokes and serverinfo calls under `policy` (never the code
    /// exchange: codes are single-use). The default client built by hand retries nothing;
    /// [`crate::Zoho`] passes its own policy. Retries stop at the token timeout.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        let policy = policy.with_max_total(policy.max_total.min(self.token_timeout));
        self.retry = Retrier::new(policy);
        self
    }

    pub(crate) fn with_retrier(mut self, retrier: Retrier) -> Self {
        let policy = retrier.policy().with_max_total(retrier.policy().max_total.min(self.token_timeout));
        self.retry = retrier.with_policy(policy);
        self
    }

    /// Bounds each accounts-server call (default 20 s). A refresh holds the store's refresh
    /// lease (SQLite: the write lock) while it waits for Zoho, so keep this below the store's
    /// busy or lock timeout.
    pub fn with_token_timeout(mut self, timeout: Duration) -> Self {
        self.token_timeout = timeout;
        self
    }

    /// The endpoint table in force.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The client credentials.
    pub fn credentials(&self) -> &ClientCredentials {
        &self.credentials
    }

    /// A generated accounts client for `dc`, and the slot where its hooks leave typed errors.
    fn accounts(&self, dc: DataCenter) -> (accounts::Client, Slot) {
        let slot: Slot = Slot::default();
        let client = accounts::Client::new_with_client(
            self.endpoints.accounts_server(dc),
            self.http.clone(),
            Inner::accounts(dc, self.token_timeout, slot.clone(), self.retry.clone()),
        );
        (client, slot)
    }

    /// Exchanges a verified code at the user's data center; the token is for `user`.
    pub async fn exchange_code(&self, user: &str, code: &AuthorizationCode) -> Result<Token> {
        let dc = code.dc;
        let secret = self.credentials.secret_for(dc)?.clone();
        let body = accounts::types::TokenRequest {
            grant_type: accounts::types::GrantType::AuthorizationCode,
            client_id: self.credentials.client_id().to_owned(),
            client_secret: secret,
            redirect_uri: code.redirect_uri.clone(),
            code: Some(code.code.clone()),
            refresh_token: None,
        };
        let response = self.call_token(dc, body, "authorization_code").await?;
        let now = self.clock.now_ms();
        let api_domain = match response.api_domain.as_deref() {
            Some(d) => d.trim_end_matches('/').to_owned(),
            None => self.endpoints.api_domain(dc, Environment::Production).to_owned(),
        };
        let (api_dc, environment) = self.endpoints.resolve_api_domain(&api_domain)?;
        if api_dc != dc {
            return Err(Error::config(format!(
                "Zoho's accounts server for {} returned api_domain {api_domain}, which belongs to {}; refusing to mix data centers",
                dc.name(),
                api_dc.name()
            )));
        }
        let access_token = response.access_token.clone();
        Ok(Token {
            key: TokenKey::new(user, dc, environment),
            access_token,
            refresh_token: response.refresh_token.clone(),
            expires_at_ms: now.saturating_add(expires_in_ms(&response)?),
            api_domain,
            accounts_server: self.endpoints.accounts_server(dc).to_owned(),
            scopes: scopes_of(&response, &code.scopes),
            created_at_ms: now,
            updated_at_ms: now,
        })
    }

    /// Mints a new access token from `token`'s refresh token. The refresh token is kept.
    ///
    /// A revoked refresh token gives [`Error::ReauthorizationRequired`]; the throttle gives
    /// [`Error::RateLimited`]. `token` itself is never modified.
    pub async fn refresh(&self, token: &Token) -> Result<Token> {
        let dc = token.key.dc;
        let Some(refresh_token) = token.refresh_token.clone() else {
            return Err(Error::ReauthorizationRequired {
                key: token.key.clone(),
                reason: "the connection has no refresh token (online grant); send the user through authorization again"
                    .into(),
                zoho_error: None,
            });
        };
        let body = accounts::types::TokenRequest {
            grant_type: accounts::types::GrantType::RefreshToken,
            client_id: self.credentials.client_id().to_owned(),
            client_secret: self.credentials.secret_for(dc)?.clone(),
            redirect_uri: None,
            code: None,
            refresh_token: Some(refresh_token),
        };
        let response = match self.call_token(dc, body, "refresh_token").await {
            Err(Error::OAuth { error, .. }) if error == "invalid_code" || error == "invalid_token" => {
                return Err(Error::ReauthorizationRequired {
                    key: token.key.clone(),
                    reason: format!(
                        "Zoho answered {error} to the refresh token: it was revoked (by the user, a password reset, Connected Apps, or the 20-refresh-tokens rule)"
                    ),
                    zoho_error: Some(error),
                });
            }
            other => other?,
        };
        let now = self.clock.now_ms();
        let mut fresh = token.clone();
        fresh.access_token = response.access_token.clone();
        // Zoho sends no new refresh token on refresh; an empty one must not replace ours.
        if let Some(rt) = response.refresh_token.clone().filter(|rt| !rt.is_empty()) {
            fresh.refresh_token = Some(rt);
        }
        if let Some(domain) = response.api_domain.as_deref() {
            let domain = domain.trim_end_matches('/');
            let (api_dc, env) = self.endpoints.resolve_api_domain(domain)?;
            if api_dc == dc && env != token.key.environment {
                return Err(Error::DataCenter(crate::dc::DcError::EnvironmentMismatch {
                    requested: token.key.environment,
                    granted: env,
                }));
            }
            if api_dc != dc {
                return Err(Error::config(format!(
                    "refresh for {} returned api_domain {domain} ({}/{env}); refusing to move the connection",
                    token.key,
                    api_dc.location()
                )));
            }
            fresh.api_domain = domain.to_owned();
        }
        fresh.expires_at_ms = now.saturating_add(expires_in_ms(&response)?);
        if let Some(scope) = response.scope.as_deref() {
            fresh.scopes = split_scopes(scope);
        }
        fresh.updated_at_ms = now;
        Ok(fresh)
    }

    /// Revokes `token`'s refresh token (and with it every access token minted from it).
    pub async fn revoke(&self, token: &Token) -> Result<()> {
        let dc = token.key.dc;
        let Some(secret) = token.refresh_token.clone().or_else(|| token.access_token.clone()) else {
            return Ok(());
        };
        let span = tracing::info_span!("zoho.revoke", dc = dc.location(), environment = token.key.environment.as_str());
        let (client, slot) = self.accounts(dc);
        let result = client
            .revoke_token()
            .body(accounts::types::RevokeRequest { token: secret })
            .send()
            .instrument(span.clone())
            .await;
        if let Some(error) = Inner::take_failure(&slot) {
            return Err(error);
        }
        let (status, answer) = match result {
            Ok(rv) => (rv.status().as_u16(), rv.into_inner()),
            Err(progenitor_client::Error::ErrorResponse(rv)) => (rv.status().as_u16(), rv.into_inner()),
            Err(e) => return Err(convert_progenitor("revoke_token", e, |_| None)),
        };
        revoke_outcome(dc, status, &answer)
    }

    /// Zoho's data-center directory from the accounts server of `dc`.
    pub async fn server_info(&self, dc: DataCenter) -> Result<accounts::types::ServerInfo> {
        let (client, slot) = self.accounts(dc);
        let result = client.server_info().send().await;
        if let Some(error) = Inner::take_failure(&slot) {
            return Err(error);
        }
        result.map(|rv| rv.into_inner()).map_err(|e| convert_progenitor("server_info", e, |_| None))
    }

    async fn call_token(
        &self,
        dc: DataCenter,
        body: accounts::types::TokenRequest,
        grant: &'static str,
    ) -> Result<accounts::types::TokenResponse> {
        let span = tracing::info_span!(
            "zoho.token",
            dc = dc.location(),
            grant_type = grant,
            status = tracing::field::Empty,
            duration_ms = tracing::field::Empty
        );
        let started = std::time::Instant::now();
        let (client, slot) = self.accounts(dc);
        let result = client.token().body(body).send().instrument(span.clone()).await;
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        if let Some(error) = Inner::take_failure(&slot) {
            return Err(error);
        }
        let response = match result {
            Ok(rv) => {
                span.record("status", rv.status().as_u16());
                rv.into_inner()
            }
            Err(progenitor_client::Error::ErrorResponse(rv)) => {
                span.record("status", rv.status().as_u16());
                rv.into_inner()
            }
            Err(progenitor_client::Error::InvalidResponsePayload(body, e)) => {
                let reason = crate::error::decode_reason::<accounts::types::TokenResponse>(&body, &e);
                return Err(Error::decode("token", 200, &body, reason));
            }
            Err(e) => return Err(convert_progenitor("token", e, |_| None)),
        };
        if response.access_token.as_ref().is_some_and(|t| !t.is_empty()) {
            return Ok(response);
        }
        Err(token_error(dc, &response))
    }
}

/// What a revoke answer means. `{"status":"success"}` is done; Zoho's answer for a token it
/// does not know (`invalid_token`, HTTP 400 or 200) means it is already revoked, which is the
/// goal; anything else is an error (nothing was confirmed).
fn revoke_outcome(dc: DataCenter, status: u16, answer: &accounts::types::RevokeResponse) -> Result<()> {
    if answer.status.as_deref() == Some("success") && answer.error.is_none() && status < 300 {
        return Ok(());
    }
    match answer.error.as_deref() {
        Some("invalid_token" | "invalid_code") if status == 400 || status < 300 => {
            tracing::info!("the token was already invalid at Zoho");
            Ok(())
        }
        error => Err(Error::OAuth {
            dc,
            error: error.unwrap_or("unexpected_revoke_answer").to_owned(),
            description: answer.status.clone().map(|s| format!("HTTP {status}, status {s}")),
            hint: "Zoho did not confirm the revocation; nothing was deleted, try again".into(),
        }),
    }
}

/// Turns a token response without `access_token` into a typed error.
fn token_error(dc: DataCenter, response: &accounts::types::TokenResponse) -> Error {
    let error = response.error.clone().unwrap_or_else(|| "missing_access_token".to_owned());
    let description = response.error_description.clone();
    let throttled = error.eq_ignore_ascii_case("access denied")
        && description.as_deref().is_some_and(|d| d.contains("too many requests") || d.contains("throttle"));
    if throttled {
        return Error::RateLimited { scope: RateLimitScope::TokenEndpoint, retry_after: DEFAULT_THROTTLE_BACKOFF };
    }
    let hint = match error.as_str() {
        "invalid_client" => format!(
            "the client id or the {} client secret is wrong, the client is registered in another data center, or Multi-DC is not enabled for {} in Zoho's API console",
            dc.location().to_uppercase(),
            dc.name()
        ),
        "invalid_client_secret" => format!(
            "the client secret used for {} is wrong: with Multi-DC each data center may have its own secret (ClientCredentials::with_dc_secret)",
            dc.name()
        ),
        "invalid_code" => "the authorization code expired (codes live about a minute), was already used, or was issued by another data center; send the user through authorization again".to_owned(),
        "invalid_redirect_uri" => "redirect_uri must match the URI registered for the client exactly, and the one the code was issued for".to_owned(),
        "missing_access_token" => "Zoho's answer had neither access_token nor error".to_owned(),
        _ => "see Zoho's OAuth documentation for this error".to_owned(),
    };
    Error::OAuth { dc, error, description, hint }
}

/// The longest access-token lifetime believed (Zoho's are one hour): a larger value is cut to
/// this, so a wrong answer cannot keep a token "fresh" for years.
const MAX_LIFETIME_S: i64 = 86_400;

/// Lifetime of the access token in milliseconds (`expires_in_sec` marks the legacy form, where
/// `expires_in` is milliseconds). Numbers and strings of digits are accepted; a missing value
/// means Zoho's one hour; zero, negative and non-numeric values are a decode error (a token
/// that is expired on arrival would be refreshed on every call).
fn expires_in_ms(response: &accounts::types::TokenResponse) -> Result<i64> {
    let seconds = match (&response.expires_in, &response.expires_in_sec) {
        (_, Some(secs)) => lifetime_seconds(secs)?,
        (Some(secs), None) => lifetime_seconds(secs)?,
        (None, None) => 3_600,
    };
    if seconds > MAX_LIFETIME_S {
        tracing::warn!(expires_in = seconds, "Zoho's token lifetime is implausibly long; using one day");
    }
    Ok(seconds.min(MAX_LIFETIME_S) * 1000)
}

fn lifetime_seconds(value: &accounts::types::Lifetime) -> Result<i64> {
    let parsed = match value {
        accounts::types::Lifetime::Int64(n) => Some(*n),
        accounts::types::Lifetime::String(s) => s.trim().parse::<i64>().ok(),
    };
    match parsed {
        Some(n) if n > 0 => Ok(n),
        _ => {
            let shown: String = value.to_string().chars().take(24).collect();
            Err(Error::decode(
                "token",
                200,
                b"",
                format!("expires_in must be a positive number of seconds, got {shown:?}"),
            ))
        }
    }
}

fn split_scopes(scope: &str) -> Vec<String> {
    scope.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn scopes_of(response: &accounts::types::TokenResponse, requested: &[String]) -> Vec<String> {
    match response.scope.as_deref() {
        Some(s) if !s.trim().is_empty() => split_scopes(s),
        _ => requested.to_vec(),
    }
}

/// Converts a generated-client error into the SDK's error.
///
/// `envelope` decodes the typed error body (when the operation declares one) into
/// `(code, message, details)`.
pub(crate) fn convert_progenitor<E>(
    operation: &str,
    error: progenitor_client::Error<E>,
    envelope: impl FnOnce(&E) -> Option<(String, String, serde_json::Value)>,
) -> Error {
    use progenitor_client::Error as P;
    match error {
        P::CommunicationError(e) | P::ResponseBodyError(e) | P::InvalidUpgrade(e) => Error::transport(operation, e),
        P::InvalidRequest(message) => Error::InvalidInput { parameter: operation.to_owned(), reason: message },
        P::Custom(message) => Error::config(format!("{operation}: {message}")),
        P::InvalidResponsePayload(bytes, e) => Error::decode(operation, 200, &bytes, e),
        P::ErrorResponse(rv) => {
            let status = rv.status().as_u16();
            let retry_after = retry_after(rv.headers());
            match envelope(rv.as_ref()) {
                Some((code, _, _)) if status == 429 || code == "TOO_MANY_REQUESTS" => {
                    Error::RateLimited { scope: RateLimitScope::Api, retry_after }
                }
                Some((code, message, details)) => {
                    Error::Api { operation: operation.to_owned(), status, code, message, details }
                }
                None => Error::Api {
                    operation: operation.to_owned(),
                    status,
                    code: String::new(),
                    message: "error response without a Zoho envelope".into(),
                    details: serde_json::Value::Null,
                },
            }
        }
        P::UnexpectedResponse(response) => {
            let status = response.status().as_u16();
            if status == 429 {
                return Error::RateLimited { scope: RateLimitScope::Api, retry_after: retry_after(response.headers()) };
            }
            Error::Decode {
                operation: operation.to_owned(),
                status,
                body: String::new(),
                reason: format!("HTTP {status} is not a documented answer of this operation"),
            }
        }
    }
}

/// `Retry-After` (seconds or an HTTP date); 60 s when absent (Zoho does not document it).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Duration {
    crate::retry::retry_after(headers, std::time::SystemTime::now()).unwrap_or(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_redirect_url_and_query() {
        let cb = Callback::parse(
            "https://app.example/cb?code=1000.abc&location=eu&accounts-server=https%3A%2F%2Faccounts.zoho.eu&state=xyz",
        )
        .unwrap();
        assert_eq!(cb.location(), Some("eu"));
        assert_eq!(cb.accounts_server(), Some("https://accounts.zoho.eu"));
        assert!(!format!("{cb:?}").contains("1000.abc"));
        let cb = Callback::parse("error=access_denied&state=xyz").unwrap();
        assert_eq!(cb.error.as_deref(), Some("access_denied"));
        assert!(Callback::parse("").is_err());
        assert!(Callback::parse("https://app.example/cb").is_err());
    }

    #[test]
    fn a_failing_random_generator_fails_the_authorization_url() {
        crate::encoding::FAIL_RANDOM.with(|f| f.set(true));
        let result = AuthorizationRequest::new("1000.CLIENT", "https://app.example/cb")
            .scopes(["ZohoCRM.users.READ"])
            .build(&Endpoints::zoho());
        crate::encoding::FAIL_RANDOM.with(|f| f.set(false));
        let error = result.expect_err("no URL without a random state");
        assert!(error.to_string().contains("random number generator"), "{error}");
    }

    #[test]
    fn state_is_random_and_url_safe() {
        let a = random_state().unwrap();
        let b = random_state().unwrap();
        assert!(!a.ct_eq(&b));
        assert_eq!(a.expose().len(), 43);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    fn response(value: serde_json::Value) -> accounts::types::TokenResponse {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn revoke_is_decided_by_the_body_not_only_the_status() {
        let answer = |v: serde_json::Value| serde_json::from_value::<accounts::types::RevokeResponse>(v).unwrap();
        let ok = answer(serde_json::json!({"status": "success"}));
        assert!(revoke_outcome(DataCenter::Eu, 200, &ok).is_ok());
        let gone = answer(serde_json::json!({"error": "invalid_token", "status": "failure"}));
        assert!(revoke_outcome(DataCenter::Eu, 400, &gone).is_ok(), "already revoked is the goal");
        assert!(revoke_outcome(DataCenter::Eu, 200, &gone).is_ok());
        let other = answer(serde_json::json!({"error": "invalid_client", "status": "failure"}));
        let e = revoke_outcome(DataCenter::Eu, 400, &other).unwrap_err();
        assert_eq!(e.zoho_code(), Some("invalid_client"), "a 400 for another reason is not success");
        let failure_200 = answer(serde_json::json!({"status": "failure"}));
        assert!(revoke_outcome(DataCenter::Eu, 200, &failure_200).is_err(), "HTTP 200 with a failure body");
        let empty = answer(serde_json::json!({}));
        assert!(revoke_outcome(DataCenter::Eu, 200, &empty).is_err());
    }

    #[test]
    fn expiry_handles_the_legacy_millisecond_form() {
        let modern = response(serde_json::json!({"access_token": "a", "expires_in": 3600}));
        assert_eq!(expires_in_ms(&modern).unwrap(), 3_600_000);
        let legacy =
            response(serde_json::json!({"access_token": "a", "expires_in": 3_600_000, "expires_in_sec": 3600}));
        assert_eq!(expires_in_ms(&legacy).unwrap(), 3_600_000);
    }

    #[test]
    fn expiry_accepts_strings_clamps_huge_values_and_rejects_nonsense() {
        let text = response(serde_json::json!({"access_token": "a", "expires_in": " 3600 "}));
        assert_eq!(expires_in_ms(&text).unwrap(), 3_600_000);
        let huge = response(serde_json::json!({"access_token": "a", "expires_in": i64::MAX}));
        assert_eq!(expires_in_ms(&huge).unwrap(), MAX_LIFETIME_S * 1000, "no overflow, cut to a day");
        for bad in [serde_json::json!(-5), serde_json::json!(0), serde_json::json!("soon"), serde_json::json!("")] {
            let r = response(serde_json::json!({"access_token": "a", "expires_in": bad}));
            let e = expires_in_ms(&r).unwrap_err();
            assert!(matches!(e, Error::Decode { .. }), "{bad}: {e:?}");
            assert!(e.to_string().contains("expires_in"), "{e}");
        }
        let missing = response(serde_json::json!({"access_token": "a"}));
        assert_eq!(expires_in_ms(&missing).unwrap(), 3_600_000);
    }

    #[test]
    fn throttle_body_is_a_rate_limit() {
        let r = response(serde_json::json!({
            "error_description": "You have made too many requests continuously. Please try again after some time.",
            "error": "Access Denied",
            "status": "failure"
        }));
        assert!(matches!(token_error(DataCenter::Eu, &r), Error::RateLimited { .. }));
        let r = response(serde_json::json!({"error": "invalid_client"}));
        let e = token_error(DataCenter::Eu, &r);
        let text = e.to_string();
        assert!(text.contains("Europe") && text.contains("Multi-DC") && text.contains("accounts.zoho.eu"), "{text}");
    }
}
