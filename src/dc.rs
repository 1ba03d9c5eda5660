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

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

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

// ---------------------------------------------------------------------------------------------
// The static table: the one place Zoho's URLs are written down (docs/zoho-facts.md §1.1).
// ---------------------------------------------------------------------------------------------

/// One data center's row of Zoho's table.
struct Row {
    dc: DataCenter,
    location: &'static str,
    name: &'static str,
    accounts_server: &'static str,
    token_url: &'static str,
    revoke_url: &'static str,
    /// CRM API base per environment, in [`Environment::ALL`] order.
    api: [&'static str; 3],
    file_upload_host: &'static str,
}

/// Builds a [`Row`]; token and revoke URLs are derived from the accounts server literal.
macro_rules! row {
    ($dc:ident, $location:literal, $name:literal, accounts: $accounts:literal,
     api: [$production:literal, $sandbox:literal, $developer:literal], upload: $upload:literal) => {
        Row {
            dc: DataCenter::$dc,
            location: $location,
            name: $name,
            accounts_server: $accounts,
            token_url: concat!($accounts, "/oauth/v2/token"),
            revoke_url: concat!($accounts, "/oauth/v2/token/revoke"),
            api: [$production, $sandbox, $developer],
            file_upload_host: $upload,
        }
    };
}

/// Zoho's data centers, in [`DataCenter::ALL`] order (checked at compile time below).
const TABLE: [Row; 8] = [
    row!(Us, "us", "United States", accounts: "https://accounts.zoho.com",
         api: ["https://www.zohoapis.com", "https://sandbox.zohoapis.com", "https://developer.zohoapis.com"],
         upload: "https://content.zohoapis.com"),
    row!(Eu, "eu", "Europe", accounts: "https://accounts.zoho.eu",
         api: ["https://www.zohoapis.eu", "https://sandbox.zohoapis.eu", "https://developer.zohoapis.eu"],
         upload: "https://content.zohoapis.eu"),
    row!(In, "in", "India", accounts: "https://accounts.zoho.in",
         api: ["https://www.zohoapis.in", "https://sandbox.zohoapis.in", "https://developer.zohoapis.in"],
         upload: "https://content.zohoapis.in"),
    row!(Au, "au", "Australia", accounts: "https://accounts.zoho.com.au",
         api: ["https://www.zohoapis.com.au", "https://sandbox.zohoapis.com.au", "https://developer.zohoapis.com.au"],
         upload: "https://content.zohoapis.com.au"),
    row!(Cn, "cn", "China", accounts: "https://accounts.zoho.com.cn",
         api: ["https://www.zohoapis.com.cn", "https://sandbox.zohoapis.com.cn", "https://developer.zohoapis.com.cn"],
         upload: "https://content.zohoapis.com.cn"),
    row!(Jp, "jp", "Japan", accounts: "https://accounts.zoho.jp",
         api: ["https://www.zohoapis.jp", "https://sandbox.zohoapis.jp", "https://developer.zohoapis.jp"],
         upload: "https://content.zohoapis.jp"),
    row!(Ca, "ca", "Canada", accounts: "https://accounts.zohocloud.ca",
         api: ["https://www.zohoapis.ca", "https://sandbox.zohoapis.ca", "https://developer.zohoapis.ca"],
         upload: "https://upload.zohocloud.ca"),
    row!(Sa, "sa", "Saudi Arabia", accounts: "https://accounts.zoho.sa",
         api: ["https://www.zohoapis.sa", "https://sandbox.zohoapis.sa", "https://developer.zohoapis.sa"],
         upload: "https://files.zoho.sa"),
];

// `TABLE[dc as usize]` and `Endpoints`' arrays rely on these orders.
const _: () = {
    let mut i = 0;
    while i < TABLE.len() {
        assert!(TABLE[i].dc as usize == i);
        assert!(DataCenter::ALL[i] as usize == i);
        i += 1;
    }
    let mut e = 0;
    while e < Environment::ALL.len() {
        assert!(Environment::ALL[e] as usize == e);
        e += 1;
    }
};

/// Path of the authorization endpoint on an accounts server.
const AUTH_PATH: &str = "/oauth/v2/auth";
/// Path of the token endpoint on an accounts server.
const TOKEN_PATH: &str = "/oauth/v2/token";
/// Path of the revoke endpoint on an accounts server.
const REVOKE_PATH: &str = "/oauth/v2/token/revoke";
/// Path of the serverinfo endpoint on an accounts server.
const SERVERINFO_PATH: &str = "/oauth/serverinfo";

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

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Why a data center, environment, URL or credential could not be resolved or accepted.
///
/// Every `received` field holds the offending value as received, with any userinfo, query and
/// fragment redacted, control characters escaped and its length capped, so it is safe to log.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DcError {
    /// A `location` code that is not one of [`DataCenter::ALL`].
    UnknownLocation {
        /// The code received.
        received: String,
        /// The codes accepted.
        accepted: Vec<String>,
    },
    /// An environment name that is not one of [`Environment::ALL`].
    UnknownEnvironment {
        /// The name received.
        received: String,
        /// The names accepted.
        accepted: Vec<String>,
    },
    /// A well-formed URL that is not an accounts server of the table in force.
    UnknownAccountsServer {
        /// The URL received.
        received: String,
        /// The accounts servers of the table in force.
        accepted: Vec<String>,
    },
    /// A well-formed URL that is not a CRM API domain of the table in force.
    UnknownApiDomain {
        /// The URL received.
        received: String,
        /// The API domains of the table in force.
        accepted: Vec<String>,
    },
    /// Two sources name different data centers (redirect `location` vs `accounts-server`, or
    /// serverinfo's URL for a location).
    Mismatch {
        /// The DC named by the location code.
        location: DataCenter,
        /// The DC whose accounts server was given.
        accounts_server: DataCenter,
    },
    /// The redirect carried neither `location` nor `accounts-server`.
    MissingLocation,
    /// The serverinfo answer has no entry for the location.
    NotInServerInfo {
        /// The DC looked up.
        location: DataCenter,
        /// The location codes serverinfo listed.
        listed: Vec<String>,
    },
    /// A plain-`http` URL where `https` is required.
    InsecureUrl {
        /// The URL received.
        received: String,
    },
    /// A value that is not a usable absolute URL, or has parts that are never accepted
    /// (userinfo, query, fragment, percent-encoding inside the URL, ...).
    InvalidUrl {
        /// The value received.
        received: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two slots of an [`Endpoints`] table got the same URL, so resolution would be ambiguous.
    AmbiguousUrl {
        /// The URL given twice.
        url: String,
        /// The slot that already had it (`accounts us`, `api eu sandbox`).
        existing: String,
        /// The slot it was given to.
        new: String,
    },
    /// An [`EndpointTable`] lacks entries.
    IncompleteTable {
        /// The missing slots (`accounts jp`, `api sa developer`, ...).
        missing: Vec<String>,
    },
    /// The client is not enabled for this DC (see
    /// [`crate::credentials::ClientCredentials::only_dcs`]).
    NotEnabled {
        /// The DC asked for.
        dc: DataCenter,
        /// The DCs the client is enabled for.
        enabled: Vec<DataCenter>,
    },
    /// The token Zoho issued is for another environment than the one the app asked for (the
    /// user picked another org on Zoho's consent page).
    EnvironmentMismatch {
        /// The environment the app asked for.
        requested: Environment,
        /// The environment of the token's `api_domain`.
        granted: Environment,
    },
    /// An environment variable for credentials is malformed (its value is never shown).
    InvalidEnv {
        /// The variable's name.
        var: String,
        /// What is wrong with it.
        reason: String,
    },
}

fn join<T: fmt::Display>(items: &[T]) -> String {
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

impl fmt::Display for DcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownLocation { received, accepted } => {
                write!(f, "unknown Zoho data center location \"{received}\"; accepted: {}", join(accepted))?;
                if received.trim().eq_ignore_ascii_case("uk") {
                    f.write_str(
                        " (the UK data center is not supported: no official Zoho CRM SDK has it and its CRM \
                         API hosts are unverified)",
                    )?;
                }
                Ok(())
            }
            Self::UnknownEnvironment { received, accepted } => {
                write!(f, "unknown Zoho CRM environment \"{received}\"; accepted: {}", join(accepted))
            }
            Self::UnknownAccountsServer { received, accepted } => write!(
                f,
                "\"{received}\" is not a known Zoho accounts server, so nothing (and no client secret) is sent \
                 to it; accepted: {}; to use a gateway or simulator, remap the data center with \
                 Endpoints::with_accounts_server",
                join(accepted)
            ),
            Self::UnknownApiDomain { received, accepted } => write!(
                f,
                "\"{received}\" is not a known Zoho CRM API domain, so no token is sent to it; accepted: {}; \
                 to use a gateway or simulator, remap it with Endpoints::with_api_domain",
                join(accepted)
            ),
            Self::Mismatch { location, accounts_server } => write!(
                f,
                "data center mismatch: the location says {location} ({}) but the accounts server belongs to {} ({}); \
                 refusing to guess where the user's account lives",
                location.name(),
                accounts_server,
                accounts_server.name()
            ),
            Self::MissingLocation => f.write_str(
                "the redirect carried neither `location` nor `accounts-server`, so the user's data center is \
                 unknown; expected e.g. ?code=…&location=eu&accounts-server=https://accounts.zoho.eu",
            ),
            Self::NotInServerInfo { location, listed } => {
                write!(
                    f,
                    "the serverinfo answer has no accounts server for location {location}; it lists: {}",
                    join(listed)
                )?;
                if *location == DataCenter::Cn {
                    f.write_str(" (serverinfo from accounts.zoho.com is reported not to list China)")?;
                }
                Ok(())
            }
            Self::InsecureUrl { received } => write!(
                f,
                "\"{received}\" is not https; plain http is accepted only for loopback hosts (127.0.0.0/8, ::1, \
                 localhost) in an Endpoints override, or after Endpoints::allow_insecure()"
            ),
            Self::InvalidUrl { received, reason } => {
                write!(f, "\"{received}\" is not an acceptable base URL: {reason}")
            }
            Self::AmbiguousUrl { url, existing, new } => write!(
                f,
                "{url} is already the URL for {existing}, so it cannot also be the URL for {new}: \
                 resolving it would be ambiguous; give each slot its own URL (e.g. a path prefix per data center)"
            ),
            Self::IncompleteTable { missing } => {
                write!(
                    f,
                    "the endpoint table lacks entries for: {}; every data center needs an accounts server and \
                           an API domain for each environment",
                    join(missing)
                )
            }
            Self::NotEnabled { dc, enabled } => write!(
                f,
                "the client is not enabled for data center {dc} ({}); enabled: {}; enable {dc} in the API \
                 console's Multi-DC settings and include it in ClientCredentials::only_dcs",
                dc.name(),
                if enabled.is_empty() { "none".to_owned() } else { join(enabled) }
            ),
            Self::EnvironmentMismatch { requested, granted } => write!(
                f,
                "the app asked for the {requested} environment but the user connected {granted} on Zoho's consent page; nothing was stored: ask the user to connect again and pick the {requested} org"
            ),
            Self::InvalidEnv { var, reason } => write!(f, "environment variable {var}: {reason}"),
        }
    }
}

impl std::error::Error for DcError {}

// ---------------------------------------------------------------------------------------------
// Sanitising received values for errors
// ---------------------------------------------------------------------------------------------

/// Longest received value kept in an error, in characters.
const MAX_SHOWN: usize = 200;

/// Caps the length and escapes control characters of a short received value.
fn sanitize_short(s: &str) -> String {
    let mut out: String = s.chars().take(MAX_SHOWN).flat_map(char::escape_debug).collect();
    if s.chars().count() > MAX_SHOWN {
        out.push('…');
    }
    out
}

/// Removes userinfo, query and fragment from a received URL-like value, then caps and escapes it.
///
/// Conservative on purpose: everything before the last `@` ahead of any `?`/`#` is treated as
/// userinfo. When percent-decoding the value (repeatedly) reveals parts that must be redacted,
/// the decoded form is shown, redacted; otherwise the value is shown as received.
fn sanitize_url(s: &str) -> String {
    fn redact(s: &str) -> String {
        let (scheme, rest) = match s.find("://") {
            Some(i) => s.split_at(i + 3),
            None => ("", s),
        };
        let (before, after) = rest.split_at(rest.find(['?', '#']).unwrap_or(rest.len()));
        let before = match before.rfind('@') {
            Some(at) => format!("[redacted]@{}", &before[at + 1..]),
            None => before.to_owned(),
        };
        let after = match after.chars().next() {
            Some(mark) => format!("{mark}[redacted]"),
            None => String::new(),
        };
        format!("{scheme}{before}{after}")
    }
    let mut decoded = s.to_owned();
    for _ in 0..4 {
        let next = percent_encoding::percent_decode_str(&decoded).decode_utf8_lossy().into_owned();
        if next == decoded {
            break;
        }
        decoded = next;
    }
    let redacted_decoded = redact(&decoded);
    if redacted_decoded != decoded { sanitize_short(&redacted_decoded) } else { sanitize_short(&redact(s)) }
}

// ---------------------------------------------------------------------------------------------
// URL normalisation
// ---------------------------------------------------------------------------------------------

/// Longest URL considered at all.
const MAX_URL_LEN: usize = 2048;

/// Characters allowed in a base URL (after at most one whole-value percent-decoding).
fn allowed_url_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':' | '/' | '[' | ']')
}

/// Why `c` is not allowed, for [`DcError::InvalidUrl`].
fn char_reason(c: char) -> String {
    match c {
        '@' => "userinfo (user@host) is not allowed".to_owned(),
        '?' => "a query string is not allowed".to_owned(),
        '#' => "a fragment is not allowed".to_owned(),
        '%' => "percent-encoded characters inside the URL are not allowed (only the whole value may be \
                percent-encoded, once)"
            .to_owned(),
        '\\' => "backslashes are not allowed".to_owned(),
        c if c.is_whitespace() || c.is_control() => "whitespace and control characters are not allowed".to_owned(),
        c if !c.is_ascii() => "non-ASCII characters are not allowed (write the host in punycode)".to_owned(),
        c => format!("the character {c:?} is not allowed"),
    }
}

/// Normalises a URL received from Zoho (redirect, token response, serverinfo) for comparison
/// with the table: `scheme://authority/path` with scheme and authority lower-cased and one
/// trailing slash removed. Returns `(sanitized value for errors, canonical form)`.
fn normalize_received(raw: &str) -> Result<(String, String), DcError> {
    let invalid =
        |shown: &str, reason: &str| DcError::InvalidUrl { received: sanitize_url(shown), reason: reason.to_owned() };
    if raw.is_empty() {
        return Err(invalid(raw, "the value is empty"));
    }
    if raw.len() > MAX_URL_LEN {
        return Err(invalid(raw, "the value is too long"));
    }
    // Zoho may deliver `accounts-server` still percent-encoded (`https%3A%2F%2Faccounts.zoho.com`):
    // decode the whole value once, and only when it is not already a plain URL.
    let decoded: String = if !raw.contains("://") && raw.contains('%') {
        match percent_encoding::percent_decode_str(raw).decode_utf8() {
            Ok(s) => s.into_owned(),
            Err(_) => return Err(invalid(raw, "percent-decoding does not give UTF-8")),
        }
    } else {
        raw.to_owned()
    };
    if let Some(c) = decoded.chars().find(|c| !allowed_url_char(*c)) {
        return Err(invalid(&decoded, &char_reason(c)));
    }
    let Some((scheme, rest)) = decoded.split_once("://") else {
        return Err(invalid(&decoded, "not an absolute URL (expected https://host)"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(invalid(&decoded, "the scheme must be https"));
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if authority.is_empty() {
        return Err(invalid(&decoded, "the host is missing"));
    }
    if url::Url::parse(&decoded).is_err() {
        return Err(invalid(&decoded, "it does not parse as a URL"));
    }
    let path = path.strip_suffix('/').unwrap_or(path);
    let canonical = format!("{scheme}://{}{path}", authority.to_ascii_lowercase());
    Ok((sanitize_url(&decoded), canonical))
}

/// Validates an override base URL and returns its canonical form (no trailing slash).
fn canonical_override(raw: &str, allow_insecure: bool) -> Result<String, DcError> {
    let invalid = |reason: &str| DcError::InvalidUrl { received: sanitize_url(raw), reason: reason.to_owned() };
    if raw.len() > MAX_URL_LEN {
        return Err(invalid("the value is too long"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&format!("it does not parse as a URL ({e})")))?;
    let scheme = url.scheme();
    if scheme != "https" && scheme != "http" {
        return Err(invalid("the scheme must be https (or http for loopback hosts)"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("userinfo (user@host) is not allowed"));
    }
    if url.query().is_some() {
        return Err(invalid("a query string is not allowed"));
    }
    if url.fragment().is_some() {
        return Err(invalid("a fragment is not allowed"));
    }
    let Some(host) = url.host() else {
        return Err(invalid("the host is missing"));
    };
    let loopback = match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    };
    if scheme == "http" && !loopback && !allow_insecure {
        return Err(DcError::InsecureUrl { received: sanitize_url(raw) });
    }
    let path = url.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    if let Some(c) = path.chars().find(|c| !allowed_url_char(*c)) {
        return Err(invalid(&format!("in the path: {}", char_reason(c))));
    }
    let host = url.host_str().unwrap_or_default();
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{scheme}://{host}{port}{path}"))
}

// ---------------------------------------------------------------------------------------------
// Endpoints
// ---------------------------------------------------------------------------------------------

/// The URL table in force: Zoho's real one by default, or remapped.
///
/// Remapping sends a DC × environment to other base URLs (the testkit simulator, a corporate
/// gateway, moved Zoho hosts) without code changes. Resolution and validation always check
/// against the table in force, so a remapped table accepts exactly its own URLs.
///
/// Overrides must be `https`, except for loopback hosts (`127.0.0.0/8`, `::1`, `localhost`) or
/// after [`Endpoints::allow_insecure`]. They may carry a port and a path prefix, never userinfo,
/// a query or a fragment. Each accounts server, and each API domain, must be unique in the table.
///
/// ```
/// use zohocrm::dc::{DataCenter, Endpoints, Environment};
///
/// let endpoints = Endpoints::zoho()
///     .with_accounts_server(DataCenter::Eu, "http://127.0.0.1:8080/eu/")?
///     .with_api_domain(DataCenter::Eu, Environment::Sandbox, "http://127.0.0.1:8081/eu/sandbox")?;
/// assert_eq!(endpoints.token_url(DataCenter::Eu), "http://127.0.0.1:8080/eu/oauth/v2/token");
/// assert_eq!(endpoints.resolve_accounts_server("http://127.0.0.1:8080/eu")?, DataCenter::Eu);
/// // The real EU host is no longer part of this table.
/// assert!(endpoints.resolve_accounts_server("https://accounts.zoho.eu").is_err());
/// // Plain http is refused for anything but loopback.
/// assert!(Endpoints::zoho().with_accounts_server(DataCenter::Eu, "http://gateway.example").is_err());
/// # Ok::<(), zohocrm::dc::DcError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// Canonical accounts server per DC, indexed by `DataCenter as usize`.
    accounts: [String; 8],
    /// Canonical API domain per DC and environment.
    api: [[String; 3]; 8],
    /// Where non-CN authorization starts; `None` = the US accounts server in force.
    authorization: Option<String>,
    /// Whether overrides may use plain http for non-loopback hosts.
    allow_insecure: bool,
}

/// Zoho's real table, built once.
static ZOHO: LazyLock<Endpoints> = LazyLock::new(|| Endpoints {
    accounts: DataCenter::ALL.map(|dc| dc.accounts_server().to_owned()),
    api: DataCenter::ALL.map(|dc| Environment::ALL.map(|env| dc.api_domain(env).to_owned())),
    authorization: None,
    allow_insecure: false,
});

/// Serde shape of an endpoint table, shared with the simulator:
/// `{"accounts":{"us":"http://…",…},"api":{"us":{"production":"…","sandbox":"…","developer":"…"},…}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointTable {
    /// Accounts server per DC.
    pub accounts: BTreeMap<DataCenter, String>,
    /// CRM API base per DC and environment.
    pub api: BTreeMap<DataCenter, BTreeMap<Environment, String>>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Self::zoho()
    }
}

impl Endpoints {
    /// Zoho's real table (docs/zoho-facts.md §1.1); also [`Default`].
    pub fn zoho() -> Endpoints {
        ZOHO.clone()
    }

    /// Allows plain-http overrides for any host (for example a gateway inside a private network).
    /// Affects overrides made after this call; Zoho's own entries stay https.
    pub fn allow_insecure(mut self) -> Self {
        self.allow_insecure = true;
        self
    }

    /// Remaps the accounts server (token, revoke, serverinfo) of `dc`.
    pub fn with_accounts_server(mut self, dc: DataCenter, url: &str) -> Result<Self, DcError> {
        let canonical = canonical_override(url, self.allow_insecure)?;
        if let Some(other) = DataCenter::ALL.into_iter().find(|o| *o != dc && self.accounts[*o as usize] == canonical) {
            return Err(DcError::AmbiguousUrl {
                url: canonical,
                existing: format!("accounts {other}"),
                new: format!("accounts {dc}"),
            });
        }
        self.accounts[dc as usize] = canonical;
        Ok(self)
    }

    /// Remaps the CRM API base of `dc` in `env`.
    pub fn with_api_domain(mut self, dc: DataCenter, env: Environment, url: &str) -> Result<Self, DcError> {
        let canonical = canonical_override(url, self.allow_insecure)?;
        if let Some((odc, oenv)) = self
            .api_slots()
            .find(|(odc, oenv, u)| (*odc, *oenv) != (dc, env) && **u == canonical)
            .map(|(d, e, _)| (d, e))
        {
            return Err(DcError::AmbiguousUrl {
                url: canonical,
                existing: format!("api {odc} {oenv}"),
                new: format!("api {dc} {env}"),
            });
        }
        self.api[dc as usize][env as usize] = canonical;
        Ok(self)
    }

    /// Sets where authorization starts for every DC but China (default: the US accounts server
    /// in force). China always starts at its own accounts server.
    pub fn with_authorization_server(mut self, url: &str) -> Result<Self, DcError> {
        self.authorization = Some(canonical_override(url, self.allow_insecure)?);
        Ok(self)
    }

    /// Builds a table from an [`EndpointTable`] (the simulator's). Every DC needs an accounts
    /// server and an API domain per environment; plain http is accepted for loopback hosts only.
    pub fn from_table(table: &EndpointTable) -> Result<Self, DcError> {
        let mut missing = Vec::new();
        for dc in DataCenter::ALL {
            if !table.accounts.contains_key(&dc) {
                missing.push(format!("accounts {dc}"));
            }
            for env in Environment::ALL {
                if !table.api.get(&dc).is_some_and(|m| m.contains_key(&env)) {
                    missing.push(format!("api {dc} {env}"));
                }
            }
        }
        if !missing.is_empty() {
            return Err(DcError::IncompleteTable { missing });
        }
        // Start from placeholders so that a table swapping Zoho's URLs between DCs is not
        // reported as ambiguous half way through.
        let mut out = Endpoints {
            accounts: DataCenter::ALL.map(|_| String::new()),
            api: DataCenter::ALL.map(|_| Environment::ALL.map(|_| String::new())),
            authorization: None,
            allow_insecure: false,
        };
        for (dc, url) in &table.accounts {
            out = out.with_accounts_server(*dc, url)?;
        }
        for (dc, envs) in &table.api {
            for (env, url) in envs {
                out = out.with_api_domain(*dc, *env, url)?;
            }
        }
        Ok(out)
    }

    /// The whole table in force, in the [`EndpointTable`] shape.
    pub fn table(&self) -> EndpointTable {
        EndpointTable {
            accounts: DataCenter::ALL.into_iter().map(|dc| (dc, self.accounts_server(dc).to_owned())).collect(),
            api: DataCenter::ALL
                .into_iter()
                .map(|dc| {
                    (dc, Environment::ALL.into_iter().map(|env| (env, self.api_domain(dc, env).to_owned())).collect())
                })
                .collect(),
        }
    }

    fn api_slots(&self) -> impl Iterator<Item = (DataCenter, Environment, &String)> {
        DataCenter::ALL.into_iter().flat_map(move |dc| {
            Environment::ALL.into_iter().map(move |env| (dc, env, &self.api[dc as usize][env as usize]))
        })
    }

    /// The accounts server of `dc`: base URL, no trailing slash.
    pub fn accounts_server(&self, dc: DataCenter) -> &str {
        &self.accounts[dc as usize]
    }

    /// `{accounts}/oauth/v2/token`.
    pub fn token_url(&self, dc: DataCenter) -> String {
        format!("{}{TOKEN_PATH}", self.accounts_server(dc))
    }

    /// `{accounts}/oauth/v2/token/revoke`.
    pub fn revoke_url(&self, dc: DataCenter) -> String {
        format!("{}{REVOKE_PATH}", self.accounts_server(dc))
    }

    /// `{accounts}/oauth/serverinfo`.
    pub fn serverinfo_url(&self, dc: DataCenter) -> String {
        format!("{}{SERVERINFO_PATH}", self.accounts_server(dc))
    }

    /// The server where authorization starts for users of `dc`: China's accounts server for
    /// China, the authorization server (default: US accounts server) for every other DC.
    pub fn authorization_server(&self, dc: DataCenter) -> &str {
        match dc {
            DataCenter::Cn => self.accounts_server(DataCenter::Cn),
            _ => self.authorization.as_deref().unwrap_or_else(|| self.accounts_server(DataCenter::Us)),
        }
    }

    /// `{start server}/oauth/v2/auth`: the US server for every DC but China.
    pub fn authorization_url_base(&self, dc: DataCenter) -> String {
        format!("{}{AUTH_PATH}", self.authorization_server(dc))
    }

    /// The CRM API base of `dc` in `env`: base URL, no trailing slash.
    pub fn api_domain(&self, dc: DataCenter, env: Environment) -> &str {
        &self.api[dc as usize][env as usize]
    }

    /// The DC of a redirect's `location` code (case-insensitive, trimmed).
    pub fn resolve_location(&self, location: &str) -> Result<DataCenter, DcError> {
        DataCenter::from_location(location)
    }

    /// The DC whose accounts server is `url`, as received on a redirect or from serverinfo.
    ///
    /// Accepts the plain or the whole-value percent-encoded URL (decoded once). Scheme and host
    /// are compared case-insensitively and one trailing slash is ignored; everything else must
    /// equal the table entry exactly: no userinfo, query, fragment, other path, other port,
    /// trailing dot, percent-encoding inside the URL, or http where the entry is https.
    pub fn resolve_accounts_server(&self, url: &str) -> Result<DataCenter, DcError> {
        let (shown, canonical) = normalize_received(url)?;
        if let Some(dc) = DataCenter::ALL.into_iter().find(|dc| self.accounts[*dc as usize] == canonical) {
            return Ok(dc);
        }
        if let Some(rest) = canonical.strip_prefix("http://") {
            let https = format!("https://{rest}");
            if self.accounts.contains(&https) {
                return Err(DcError::InsecureUrl { received: shown });
            }
        }
        Err(DcError::UnknownAccountsServer { received: shown, accepted: self.accounts.to_vec() })
    }

    /// The DC of a redirect from its `location` and `accounts-server` parameters. Either may be
    /// missing, not both; when both are given they must name the same DC.
    pub fn resolve_redirect(
        &self,
        location: Option<&str>,
        accounts_server: Option<&str>,
    ) -> Result<DataCenter, DcError> {
        match (location, accounts_server) {
            (None, None) => Err(DcError::MissingLocation),
            (Some(location), None) => self.resolve_location(location),
            (None, Some(server)) => self.resolve_accounts_server(server),
            (Some(location), Some(server)) => {
                let by_location = self.resolve_location(location)?;
                let by_server = self.resolve_accounts_server(server)?;
                if by_location == by_server {
                    Ok(by_location)
                } else {
                    Err(DcError::Mismatch { location: by_location, accounts_server: by_server })
                }
            }
        }
    }

    /// The DC and environment whose CRM API base is `api_domain` (the token response's field).
    /// Same matching rules as [`Endpoints::resolve_accounts_server`].
    pub fn resolve_api_domain(&self, api_domain: &str) -> Result<(DataCenter, Environment), DcError> {
        let (shown, canonical) = normalize_received(api_domain)?;
        if let Some((dc, env, _)) = self.api_slots().find(|(_, _, u)| **u == canonical) {
            return Ok((dc, env));
        }
        if let Some(rest) = canonical.strip_prefix("http://") {
            let https = format!("https://{rest}");
            if self.api_slots().any(|(_, _, u)| *u == https) {
                return Err(DcError::InsecureUrl { received: shown });
            }
        }
        Err(DcError::UnknownApiDomain {
            received: shown,
            accepted: self.api_slots().map(|(_, _, u)| u.clone()).collect(),
        })
    }

    /// The DC of `location`, checked against a serverinfo answer (`locations`: location code →
    /// accounts URL). The answer's URL for `location` must itself be the table's accounts server
    /// of that DC.
    pub fn resolve_server_info(
        &self,
        locations: &BTreeMap<String, String>,
        location: &str,
    ) -> Result<DataCenter, DcError> {
        let dc = self.resolve_location(location)?;
        let url = locations
            .get(dc.location())
            .or_else(|| locations.iter().find(|(k, _)| k.trim().eq_ignore_ascii_case(dc.location())).map(|(_, v)| v))
            .ok_or_else(|| DcError::NotInServerInfo {
                location: dc,
                listed: locations.keys().take(32).map(|k| sanitize_short(k)).collect(),
            })?;
        let by_url = self.resolve_accounts_server(url)?;
        if by_url == dc { Ok(dc) } else { Err(DcError::Mismatch { location: dc, accounts_server: by_url }) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_removes_userinfo_query_fragment() {
        assert_eq!(sanitize_url("https://user:pw@evil.com/x?code=1#f"), "https://[redacted]@evil.com/x?[redacted]");
        assert_eq!(sanitize_url("https://evil.com#accounts.zoho.eu"), "https://evil.com#[redacted]");
        assert_eq!(sanitize_url("a\nb"), "a\\nb");
        // Userinfo hidden by percent-encoding (once or twice) is still removed.
        assert_eq!(sanitize_url("https%3A%2F%2Fu%3Apw%40evil.com"), "https://[redacted]@evil.com");
        assert_eq!(sanitize_url("https://u%253Apw%2540evil.com"), "https://[redacted]@evil.com");
        assert_eq!(sanitize_url("https://u:pw\\@evil.com/x"), "https://[redacted]@evil.com/x");
        // Harmless encoding is shown as received.
        assert_eq!(sanitize_url("https://accounts.zoho.eu%2F"), "https://accounts.zoho.eu%2F");
        assert!(sanitize_url(&"x".repeat(5000)).chars().count() <= MAX_SHOWN + 1);
    }

    #[test]
    fn override_canonical_forms() {
        assert_eq!(canonical_override("HTTP://LOCALHOST:8080/Eu/", false).unwrap(), "http://localhost:8080/Eu");
        assert_eq!(canonical_override("http://[::1]:9/", false).unwrap(), "http://[::1]:9");
        assert_eq!(canonical_override("http://127.9.9.9", false).unwrap(), "http://127.9.9.9");
        assert!(matches!(canonical_override("http://10.0.0.1", false), Err(DcError::InsecureUrl { .. })));
        assert_eq!(canonical_override("http://10.0.0.1", true).unwrap(), "http://10.0.0.1");
        assert_eq!(canonical_override("https://gw.example:443/zoho", false).unwrap(), "https://gw.example/zoho");
    }
}
