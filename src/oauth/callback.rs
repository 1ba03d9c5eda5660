//! The redirect back from Zoho: [`Callback`] parses it, checks `state` and resolves the
//! user's data center into a [`CodeGrant`] (nothing is sent anywhere).

use crate::dc::{DataCenter, Endpoints};
use crate::error::{CallbackError, Result};
use crate::secret::{AuthorizationCode, CsrfState};

use super::PendingAuthorization;

/// The parameters of Zoho's redirect back to the app.
#[derive(Clone, Debug, Default)]
pub struct Callback {
    code: Option<AuthorizationCode>,
    location: Option<String>,
    accounts_server: Option<String>,
    state: Option<CsrfState>,
    error: Option<String>,
}

impl Callback {
    /// Parses the redirect: a whole URL (`https://app/cb?code=…`), its path and query
    /// (`/cb?code=…`), or just its query (`code=…&…`, with or without a leading `?`; values may
    /// be percent-encoded or not, as Zoho sends `accounts-server`).
    pub fn parse(input: &str) -> Result<Callback, CallbackError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(CallbackError::Malformed { reason: "the redirect URL is empty".into() });
        }
        // A URL (`scheme://…`, or pasted without its scheme: `localhost:8080/cb?…`) or a path
        // (`/cb?…`) has its query after the first `?` (a bare query's first key holds none); anything
        // else is the query itself, whose values may hold `://` unencoded (Zoho's
        // `accounts-server=https://accounts.zoho.eu`, as a framework hands the raw query over).
        let head = &input[..input.find(['=', '&']).unwrap_or(input.len())];
        let query = if let Some(query) = input.strip_prefix('?') {
            query
        } else if head.contains("://") || head.starts_with('/') || head.contains('?') {
            match input.find('?') {
                Some(i) => &input[i + 1..],
                None => {
                    return Err(CallbackError::Malformed { reason: "the redirect URL has no query string".into() });
                }
            }
        } else {
            input
        };
        let query = query.split('#').next().unwrap_or_default();
        let mut cb = Callback::default();
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            let v = v.into_owned();
            match k.as_ref() {
                "code" => cb.code = Some(AuthorizationCode::new(v)),
                "location" => cb.location = Some(v),
                "accounts-server" => cb.accounts_server = Some(v),
                "state" => cb.state = Some(CsrfState::new(v)),
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

    /// Whether this redirect carries `pending`'s `state` (compared in constant time): an app
    /// that keeps several pending authorizations can check this before it consumes one, so a
    /// forged redirect does not cancel the user's connection in progress. [`Callback::verify`]
    /// checks it again, with expiry and the rest.
    pub fn matches(&self, pending: &PendingAuthorization) -> bool {
        self.state.as_ref().is_some_and(|s| s.ct_eq(&pending.state))
    }

    /// Checks `state` (and that the pending authorization has not expired), reports denial,
    /// and resolves the data center. Nothing is sent anywhere.
    ///
    /// Keep each [`PendingAuthorization`] for one callback only: delete it from the session
    /// (or your store) when the redirect arrives, whatever the outcome.
    pub fn verify(self, pending: &PendingAuthorization, endpoints: &Endpoints) -> Result<CodeGrant> {
        let state_ok = self.matches(pending);
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
        if pending.expired_at(crate::clock::Clock::now_ms(&crate::clock::SystemClock)) {
            return Err(CallbackError::Expired.into());
        }
        let code = self.code.filter(|c| !c.is_empty()).ok_or(CallbackError::MissingCode)?;
        let dc = endpoints.resolve_redirect(self.location.as_deref(), self.accounts_server.as_deref())?;
        Ok(CodeGrant { code, dc, redirect_uri: Some(pending.redirect_uri.clone()), scopes: pending.scopes.clone() })
    }
}

/// A verified authorization code, ready to be exchanged at its data center.
#[derive(Clone, Debug)]
pub struct CodeGrant {
    pub(super) code: AuthorizationCode,
    pub(super) dc: DataCenter,
    /// `None` for a Self Client code (no redirect is involved).
    pub(super) redirect_uri: Option<String>,
    pub(super) scopes: Vec<String>,
}

impl CodeGrant {
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
    /// use zohocrm::oauth::CodeGrant;
    /// let code = CodeGrant::self_client(DataCenter::Eu, "1000.abc.def", ["ZohoCRM.modules.ALL"]);
    /// assert_eq!(code.dc(), DataCenter::Eu);
    /// assert!(!format!("{code:?}").contains("1000.abc"));
    /// ```
    pub fn self_client<I, S>(dc: DataCenter, code: impl Into<AuthorizationCode>, scopes: I) -> Self
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

    /// A web framework hands over the raw query string, where Zoho's documented redirect
    /// carries `accounts-server` unencoded (`…&accounts-server=https://accounts.zoho.eu`).
    #[test]
    fn parses_a_bare_query_with_an_unencoded_accounts_server() {
        let cb = Callback::parse("code=1000.a&location=eu&accounts-server=https://accounts.zoho.eu&state=s").unwrap();
        assert_eq!(cb.location(), Some("eu"));
        assert_eq!(cb.accounts_server(), Some("https://accounts.zoho.eu"));
        assert!(cb.code.is_some());
        let cb = Callback::parse("?location=in&accounts-server=https://accounts.zoho.in&code=1000.b").unwrap();
        assert_eq!(cb.accounts_server(), Some("https://accounts.zoho.in"));
        // A path with its query (axum's `OriginalUri`), and a whole URL carrying the same.
        for input in [
            "/zoho/callback?code=1000.c&location=au&accounts-server=https://accounts.zoho.com.au",
            "http://127.0.0.1:8080/zoho/callback?code=1000.c&location=au&accounts-server=https://accounts.zoho.com.au",
        ] {
            let cb = Callback::parse(input).unwrap();
            assert_eq!(cb.accounts_server(), Some("https://accounts.zoho.com.au"), "{input}");
        }
        assert!(Callback::parse("/zoho/callback").is_err(), "a path without a query");
        // Pasted without its scheme (a terminal, `zohocrm login --no-browser`).
        let cb = Callback::parse(
            "localhost:8080/callback?code=1000.d&location=jp&accounts-server=https://accounts.zoho.jp&state=s",
        )
        .unwrap();
        assert!(cb.code.is_some());
        assert_eq!(cb.location(), Some("jp"));
    }
}
