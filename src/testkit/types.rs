//! The simulator's public value types (re-exported from `testkit`): configuration, users,
//! client registrations, routes, faults, the request log and errors. They depend on nothing
//! else in the simulator, so every other module may use them.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::dc::{DataCenter, Environment};
use crate::secret::{AccessToken, ClientSecret, RefreshToken};

/// The client id of the client every simulator registers at start.
pub const DEFAULT_CLIENT_ID: &str = "1000.SIMULATORCLIENT";

/// The redirect URI registered for the default client. Nothing listens there: tests read the
/// redirect's `Location` instead.
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:9/callback";

/// The default client's secret in data center `dc` (`sim-secret-eu`, ...): Zoho Multi-DC with a
/// different secret per data center.
pub fn default_client_secret(dc: DataCenter) -> ClientSecret {
    ClientSecret::new(format!("sim-secret-{}", dc.location()))
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
    /// How many of the most recent requests the log keeps for
    /// [`Simulator::requests`](super::Simulator::requests) (default [`DEFAULT_REQUEST_LOG`],
    /// 10,000; older ones are dropped first). The counts ([`Simulator::count`](super::Simulator::count),
    /// [`Simulator::count_grant`](super::Simulator::count_grant)) cover every request since the
    /// start or the last clear, however many the log keeps.
    pub request_log: usize,
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
            request_log: DEFAULT_REQUEST_LOG,
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
    pub secrets: BTreeMap<DataCenter, ClientSecret>,
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

/// Requests the log keeps for [`Simulator::requests`](super::Simulator::requests) unless
/// [`SimConfig::request_log`] says otherwise.
pub const DEFAULT_REQUEST_LOG: usize = 10_000;

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

/// Tokens minted directly by [`Simulator::issue_tokens`](super::Simulator::issue_tokens), as the token endpoint would return them.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: AccessToken,
    /// The refresh token.
    pub refresh_token: RefreshToken,
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

/// The default client's registration.
pub(crate) fn default_client() -> ClientRegistration {
    ClientRegistration {
        client_id: DEFAULT_CLIENT_ID.to_owned(),
        secrets: DataCenter::ALL.iter().map(|dc| (*dc, default_client_secret(*dc))).collect(),
        redirect_uris: vec![DEFAULT_REDIRECT_URI.to_owned()],
    }
}
