//! [`Endpoints`]: the URL table in force (Zoho's, or remapped to a gateway or the
//! simulator), and its serde shape [`EndpointTable`].

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::table::{AUTH_PATH, REVOKE_PATH, SERVERINFO_PATH, TOKEN_PATH};
use super::url::{canonical_override, normalize_received, sanitize_short};
use super::{DataCenter, DcError, Environment};

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
#[must_use]
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
pub(super) static ZOHO: LazyLock<Endpoints> = LazyLock::new(|| Endpoints {
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
