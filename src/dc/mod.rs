//! Zoho data centers and environments: the URL table, its overrides ([`Endpoints`]) and the
//! resolvers that turn what Zoho hands an app back into a [`DataCenter`] and [`Environment`].
//!
//! # Why this module exists
//!
//! A Zoho user lives in one data center (DC). A token request sent to the wrong DC fails with
//! errors that never mention the DC (`invalid_client`, `INVALID_TOKEN`). So the SDK makes the DC
//! and environment explicit values, derives them from what Zoho returns, and verifies every URL
//! against a table before any secret is sent to it.
//!
//! # The Multi-DC flow
//!
//! 1. Send the user to the authorization URL: `https://accounts.zoho.com/oauth/v2/auth` for every
//!    DC except China, `https://accounts.zoho.com.cn/oauth/v2/auth` for China
//!    ([`Endpoints::authorization_url_base`]). Zoho signs the user in and moves them to their DC.
//! 2. Zoho redirects back with `?code=…&location=eu&accounts-server=https://accounts.zoho.eu`.
//!    [`Endpoints::resolve_redirect`] turns that into a [`DataCenter`], and rejects an
//!    `accounts-server` that is not in the table, so a forged redirect cannot make the app post
//!    its client secret to a foreign host.
//! 3. Exchange the code at **that DC's** token URL ([`Endpoints::token_url`]) with the client
//!    secret for that DC ([`crate::credentials::ClientCredentials::secret_for`]): with Multi-DC
//!    enabled, the client id is the same everywhere but the secret may differ per DC.
//! 4. The token response's `api_domain` names the CRM host and, through it, the environment:
//!    [`Endpoints::resolve_api_domain`].
//!
//! ```
//! use zohocrm::dc::{DataCenter, Endpoints, Environment};
//!
//! let endpoints = Endpoints::zoho();
//! // Step 1: where to send the user (China has its own authorization server).
//! assert_eq!(endpoints.authorization_url_base(DataCenter::Eu), "https://accounts.zoho.com/oauth/v2/auth");
//! assert_eq!(endpoints.authorization_url_base(DataCenter::Cn), "https://accounts.zoho.com.cn/oauth/v2/auth");
//! // Step 2: the redirect came back with location=eu and accounts-server (percent-encoded here).
//! let dc = endpoints.resolve_redirect(Some("eu"), Some("https%3A%2F%2Faccounts.zoho.eu"))?;
//! assert_eq!(dc, DataCenter::Eu);
//! // Step 3: exchange the code at the user's DC.
//! assert_eq!(endpoints.token_url(dc), "https://accounts.zoho.eu/oauth/v2/token");
//! // Step 4: the token response's api_domain says which DC and environment the token is for.
//! let (dc, env) = endpoints.resolve_api_domain("https://sandbox.zohoapis.eu")?;
//! assert_eq!((dc, env), (DataCenter::Eu, Environment::Sandbox));
//! // A look-alike host is rejected before anything is sent to it.
//! assert!(endpoints.resolve_accounts_server("https://accounts.zoho.eu.evil.com").is_err());
//! # Ok::<(), zohocrm::dc::DcError>(())
//! ```
//!
//! # UK
//!
//! Zoho Accounts lists `accounts.zoho.uk`, but no official Zoho CRM SDK has a UK data center and
//! its CRM API hosts are known only from third-party code. [`DataCenter`] therefore has no UK
//! variant, and `location=uk` is rejected with an error saying so. [`Endpoints`] remaps the URLs
//! of the data centers listed here; it cannot add one. Because [`DataCenter`] is
//! `#[non_exhaustive]`, adding UK once Zoho documents its CRM hosts is not a breaking change.

//!
//! Layout: this module holds [`DataCenter`] and [`Environment`]; `table` is Zoho's own URL
//! table (the one place its hosts are written down), `endpoints` the table in force
//! ([`Endpoints`], remappable), `url` the canonicalization and sanitizing of received URLs,
//! and `error` [`DcError`].

mod endpoints;
mod error;
mod table;
mod url;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use endpoints::ZOHO;
pub use endpoints::{EndpointTable, Endpoints};
pub use error::DcError;
use table::{Row, TABLE};
use url::sanitize_url;

/// A Zoho data center: where a user's account and CRM org live.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataCenter {
    /// United States (`.com`).
    Us,
    /// Europe (`.eu`).
    Eu,
    /// India (`.in`).
    In,
    /// Australia (`.com.au`).
    Au,
    /// China (`.com.cn`).
    Cn,
    /// Japan (`.jp`).
    Jp,
    /// Canada (`zohocloud.ca`).
    Ca,
    /// Saudi Arabia (`.sa`).
    Sa,
}

/// A CRM environment: production (Zoho's default), sandbox or developer org.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    /// The live org (`www.zohoapis.*`).
    #[default]
    Production,
    /// The sandbox org (`sandbox.zohoapis.*`).
    Sandbox,
    /// The developer org (`developer.zohoapis.*`).
    Developer,
}

impl DataCenter {
    /// Every data center, in Zoho's order.
    pub const ALL: [DataCenter; 8] = [Self::Us, Self::Eu, Self::In, Self::Au, Self::Cn, Self::Jp, Self::Ca, Self::Sa];

    fn row(self) -> &'static Row {
        &TABLE[self as usize]
    }

    /// The `location` code Zoho puts on the redirect (`us`, `eu`, ...). `Display` and serde use it.
    pub fn location(self) -> &'static str {
        self.row().location
    }

    /// Human-readable name: "United States", "Europe", ...
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// Zoho's accounts server for this DC, without a trailing slash (`https://accounts.zoho.eu`).
    pub fn accounts_server(self) -> &'static str {
        self.row().accounts_server
    }

    /// Zoho's token URL for this DC (`{accounts}/oauth/v2/token`).
    pub fn token_url(self) -> &'static str {
        self.row().token_url
    }

    /// Zoho's revoke URL for this DC (`{accounts}/oauth/v2/token/revoke`).
    pub fn revoke_url(self) -> &'static str {
        self.row().revoke_url
    }

    /// Where Zoho's authorization flow starts for users of this DC: `https://accounts.zoho.com.cn`
    /// for China, `https://accounts.zoho.com` for every other DC (Zoho moves the user to their DC).
    pub fn authorization_server(self) -> &'static str {
        match self {
            Self::Cn => Self::Cn.accounts_server(),
            _ => Self::Us.accounts_server(),
        }
    }

    /// Zoho's CRM API base for this DC and environment (`https://sandbox.zohoapis.eu`).
    pub fn api_domain(self, env: Environment) -> &'static str {
        self.row().api[env as usize]
    }

    /// The file-upload host the official SDKs use for this DC (`https://content.zohoapis.eu`,
    /// `https://upload.zohocloud.ca`, `https://files.zoho.sa`).
    pub fn file_upload_host(self) -> &'static str {
        self.row().file_upload_host
    }

    /// Parses a `location` code (`us`, `EU`, ` in `): case-insensitive, surrounding whitespace
    /// trimmed.
    ///
    /// ```
    /// use zohocrm::dc::DataCenter;
    /// assert_eq!(DataCenter::from_location(" EU ")?, DataCenter::Eu);
    /// assert!(DataCenter::from_location("uk").is_err());
    /// # Ok::<(), zohocrm::dc::DcError>(())
    /// ```
    pub fn from_location(code: &str) -> Result<DataCenter, DcError> {
        let trimmed = code.trim();
        Self::ALL.into_iter().find(|dc| dc.location().eq_ignore_ascii_case(trimmed)).ok_or_else(|| {
            DcError::UnknownLocation {
                received: sanitize_url(code),
                accepted: Self::ALL.iter().map(|dc| dc.location().to_owned()).collect(),
            }
        })
    }

    /// The DC whose Zoho accounts server is `url` (see [`Endpoints::resolve_accounts_server`]).
    pub fn from_accounts_server(url: &str) -> Result<DataCenter, DcError> {
        ZOHO.resolve_accounts_server(url)
    }

    /// The DC and environment whose Zoho CRM API base is `url` (see
    /// [`Endpoints::resolve_api_domain`]).
    pub fn from_api_domain(url: &str) -> Result<(DataCenter, Environment), DcError> {
        ZOHO.resolve_api_domain(url)
    }
}

impl fmt::Display for DataCenter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.location())
    }
}

impl FromStr for DataCenter {
    type Err = DcError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_location(s)
    }
}

impl Environment {
    /// Every environment.
    pub const ALL: [Environment; 3] = [Self::Production, Self::Sandbox, Self::Developer];

    /// Lower-case name: `production`, `sandbox`, `developer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Production => "production",
            Self::Sandbox => "sandbox",
            Self::Developer => "developer",
        }
    }

    /// The first label of the CRM API host: `www`, `sandbox`, `developer`.
    pub fn api_prefix(self) -> &'static str {
        match self {
            Self::Production => "www",
            Self::Sandbox => "sandbox",
            Self::Developer => "developer",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = DcError;

    /// Parses `production`, `sandbox` or `developer`: case-insensitive, whitespace trimmed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        Self::ALL.into_iter().find(|env| env.as_str().eq_ignore_ascii_case(trimmed)).ok_or_else(|| {
            DcError::UnknownEnvironment {
                received: sanitize_url(s),
                accepted: Self::ALL.iter().map(|env| env.as_str().to_owned()).collect(),
            }
        })
    }
}
