//! Programmatic consent over real HTTP: what a user's browser does on the simulated Zoho
//! Accounts pages (sign in, follow the move to their data center, pick the org, Accept/Reject).

use reqwest::header::LOCATION;

use crate::dc::Environment;

use super::html;
use super::types::{Decision, SimError};

/// At most this many pages and redirects before giving up.
const MAX_STEPS: usize = 12;

/// A plain HTTP client that never follows redirects and never uses a proxy.
pub(crate) fn http_client() -> Result<reqwest::Client, SimError> {
    #[cfg(feature = "rustls")]
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|e| SimError::Http(e.without_url().to_string()))
}

enum Step {
    Get(url::Url),
    Post(url::Url, Vec<(String, String)>),
}

/// A browser on the simulated Accounts pages: the HTTP client and the simulator's base URL.
pub(crate) struct Browser<'a> {
    pub client: &'a reqwest::Client,
    pub base: &'a str,
}

/// One walk through the authorization pages: where it starts, who signs in, which org they
/// pick and what they answer.
pub(crate) struct Visit<'a> {
    pub authorize_url: &'a str,
    pub email: &'a str,
    pub environment: Environment,
    pub decision: Decision,
}

impl Browser<'_> {
    /// Runs the authorization pages from the visit's `authorize_url` to the redirect that leaves
    /// the simulator.
    pub(crate) async fn run(&self, visit: Visit<'_>) -> Result<String, SimError> {
        let Visit { authorize_url, email, environment, decision } = visit;
        let (client, base) = (self.client, self.base);
        let accounts_prefix = format!("{base}/accounts/");
        let start = url::Url::parse(authorize_url)
            .map_err(|e| SimError::Unexpected(format!("the authorize URL does not parse: {e}")))?;
        if !authorize_url.starts_with(&accounts_prefix) {
            let host = start.host_str().unwrap_or("?");
            return Err(SimError::Unexpected(format!(
                "the authorize URL points at {host}, not at the simulator ({base}): build the SDK with Zoho::for_simulator(&sim) (or pass sim.sdk_endpoints() to ZohoBuilder::endpoints) so its URLs lead here"
            )));
        }
        let mut step = Step::Get(start);
        for _ in 0..MAX_STEPS {
            let (sent, current) = match step {
                Step::Get(u) => (client.get(u.clone()).send().await, u),
                Step::Post(u, fields) => (client.post(u.clone()).form(&fields).send().await, u),
            };
            let resp = sent.map_err(|e| SimError::Http(e.without_url().to_string()))?;
            let status = resp.status();
            if status.is_redirection() {
                let location = resp
                    .headers()
                    .get(LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| SimError::Unexpected(format!("HTTP {status} without a Location")))?
                    .to_owned();
                let next = current
                    .join(&location)
                    .map_err(|e| SimError::Unexpected(format!("bad Location `{location}`: {e}")))?;
                if next.as_str().starts_with(&accounts_prefix) {
                    step = Step::Get(next);
                    continue;
                }
                // Left the simulator: this is the app's redirect_uri.
                return Ok(if url::Url::parse(&location).is_ok() { location } else { next.to_string() });
            }
            let page = resp.text().await.map_err(|e| SimError::Http(e.without_url().to_string()))?;
            if let Some(code) = html::error_code(&page) {
                return Err(SimError::ErrorPage { code });
            }
            if let Some(form) = html::parse_form(&page, "sim-signin") {
                let mut fields = form.fields;
                fields.push(("email".into(), email.to_owned()));
                step = Step::Post(current.join(&form.action).map_err(|e| SimError::Unexpected(e.to_string()))?, fields);
                continue;
            }
            if let Some(form) = html::parse_form(&page, "sim-consent") {
                let mut fields = form.fields;
                fields.push(("environment".into(), environment.as_str().to_owned()));
                let answer = match decision {
                    Decision::Accept => "accept",
                    Decision::Reject => "reject",
                };
                fields.push(("decision".into(), answer.to_owned()));
                step = Step::Post(current.join(&form.action).map_err(|e| SimError::Unexpected(e.to_string()))?, fields);
                continue;
            }
            return Err(SimError::Unexpected(format!(
                "HTTP {status} from {} is neither a sign-in, consent nor error page",
                current.path()
            )));
        }
        Err(SimError::Unexpected(format!("the authorization flow did not leave the simulator after {MAX_STEPS} steps")))
    }
}
