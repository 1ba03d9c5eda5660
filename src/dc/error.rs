//! [`DcError`]: why a data center, environment, URL or credential could not be resolved or
//! accepted. Every value it shows is sanitized (see `url`), so it is safe to log.

use std::fmt;

use super::{DataCenter, Environment};

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
    /// Two slots of an [`Endpoints`](super::Endpoints) table got the same URL, so resolution would be ambiguous.
    AmbiguousUrl {
        /// The URL given twice.
        url: String,
        /// The slot that already had it (`accounts us`, `api eu sandbox`).
        existing: String,
        /// The slot it was given to.
        new: String,
    },
    /// An [`EndpointTable`](super::EndpointTable) lacks entries.
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
    /// Zoho's accounts server of one data center answered with the API domain of another:
    /// the SDK never mixes data centers within one connection.
    ApiDomainMismatch {
        /// The data center whose accounts server answered.
        expected: DataCenter,
        /// The API domain it returned (sanitized).
        api_domain: String,
        /// The data center that API domain belongs to in the table in force.
        belongs_to: DataCenter,
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
            Self::ApiDomainMismatch { expected, api_domain, belongs_to } => write!(
                f,
                "the accounts server of {} returned api_domain {api_domain}, which belongs to {}; refusing to mix data centers in one connection",
                expected.name(),
                belongs_to.name()
            ),
            Self::InvalidEnv { var, reason } => write!(f, "environment variable {var}: {reason}"),
        }
    }
}

impl std::error::Error for DcError {}
