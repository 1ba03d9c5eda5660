//! The first leg of the authorization-code flow: the URL that sends a user to Zoho's consent
//! page ([`AuthorizationRequest`]) and what the app keeps until the user comes back
//! ([`PendingAuthorization`]).

use serde::{Deserialize, Serialize};

use crate::dc::{DataCenter, Endpoints, Environment};
use crate::error::{Error, Result};
use crate::secret::CsrfState;
use crate::token::Token;

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
    valid_for: std::time::Duration,
    user: Option<String>,
}

/// How long a [`PendingAuthorization`] is accepted by default: time for the user to sign in
/// (with a second factor) and consent, not for a link found later in a log or a history.
pub const DEFAULT_PENDING_LIFETIME: std::time::Duration = std::time::Duration::from_secs(10 * 60);

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
            valid_for: DEFAULT_PENDING_LIFETIME,
            user: None,
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

    /// How long the user has to come back (default [`DEFAULT_PENDING_LIFETIME`], 10 minutes):
    /// a later redirect is refused ([`crate::error::CallbackError::Expired`]) even with the
    /// right `state`, so a state that leaked (a log, a browser history, a `Referer`) cannot be
    /// replayed later with someone else's code.
    pub fn valid_for(mut self, lifetime: std::time::Duration) -> Self {
        self.valid_for = lifetime;
        self
    }

    /// Binds the authorization to the application user who starts it: completing it for
    /// another user ([`crate::Zoho::complete_authorization`], or
    /// [`PendingAuthorization::check_user`]) is refused
    /// ([`crate::error::CallbackError::WrongUser`]). For apps that look the pending
    /// authorization up by its `state` rather than keep it in the user's own session.
    pub fn for_user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }

    /// The authorization URL and the state to keep until the user comes back.
    ///
    /// Fails only when the operating system's random number generator does: the CSRF `state`
    /// is never derived from anything guessable.
    #[must_use = "send the user to the URL and keep the PendingAuthorization until Zoho redirects back"]
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
            expires_at_ms: Some(
                crate::clock::Clock::now_ms(&crate::clock::SystemClock).saturating_add(millis(self.valid_for)),
            ),
            user: self.user,
        };
        Ok((url, pending))
    }
}

fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// 32 random bytes, base64url: the CSRF `state` of one authorization.
fn random_state() -> Result<CsrfState> {
    let bytes = crate::encoding::random_bytes(32).map_err(|e| {
        Error::config(format!(
            "the operating system's random number generator failed ({e}); refusing to build an authorization URL with a guessable state"
        ))
    })?;
    Ok(CsrfState::new(crate::encoding::base64url_encode(&bytes)))
}

/// What the app keeps (in the user's session) between sending the user to Zoho and the redirect.
///
/// Serializable so it can live in a signed cookie or a session store; `Debug` hides the state.
#[derive(Clone, Serialize, Deserialize)]
#[must_use]
pub struct PendingAuthorization {
    pub(super) state: CsrfState,
    pub(super) redirect_uri: String,
    pub(super) scopes: Vec<String>,
    access_type: AccessType,
    /// The environment the app asked for, if any (absent in sessions stored by older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    environment: Option<Environment>,
    /// When the redirect stops being accepted (epoch ms; absent in sessions stored by older
    /// versions, which are accepted as before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<i64>,
    /// The application user the authorization is for, if bound ([`AuthorizationRequest::for_user`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
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
    pub fn state(&self) -> &CsrfState {
        &self.state
    }

    /// The environment the app asked for ([`AuthorizationRequest::environment`]), if any.
    pub fn environment(&self) -> Option<Environment> {
        self.environment
    }

    /// When the redirect stops being accepted (epoch milliseconds), if the pending
    /// authorization carries a deadline.
    pub fn expires_at_ms(&self) -> Option<i64> {
        self.expires_at_ms
    }

    /// Whether the deadline has passed at `now_ms` (epoch milliseconds).
    pub(crate) fn expired_at(&self, now_ms: i64) -> bool {
        self.expires_at_ms.is_some_and(|deadline| now_ms > deadline)
    }

    /// The application user the authorization is bound to ([`AuthorizationRequest::for_user`]).
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// Checks that the authorization is completed for the user who started it (when it was
    /// bound to one): [`crate::error::CallbackError::WrongUser`] otherwise.
    pub fn check_user(&self, user: &str) -> Result<()> {
        match &self.user {
            Some(bound) if bound != user => Err(crate::error::CallbackError::WrongUser.into()),
            _ => Ok(()),
        }
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
            .field("expires_at_ms", &self.expires_at_ms)
            .field("user", &self.user)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
