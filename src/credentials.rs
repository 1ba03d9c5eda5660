//! OAuth client credentials for Zoho's Multi-DC setting: one client id, a client secret per
//! data center (shared or DC-specific), and the set of DCs the client is enabled for.
//!
//! With Multi-DC enabled in Zoho's API console, the client id is the same in every DC, while
//! the client secret may differ per DC. The token request for a user goes to the user's DC
//! ([`crate::dc::Endpoints::token_url`]) with that DC's secret ([`ClientCredentials::secret_for`]).
//! A DC the client is not enabled for fails here, before any request, instead of as an opaque
//! `invalid_client` from Zoho.
//!
//! ```
//! use zohocrm::credentials::ClientCredentials;
//! use zohocrm::dc::DataCenter;
//!
//! let creds = ClientCredentials::new("1000.ABC", "s3cr3t-shared")
//!     .with_dc_secret(DataCenter::Eu, "s3cr3t-eu")
//!     .only_dcs(&[DataCenter::Us, DataCenter::Eu]);
//! assert_eq!(creds.secret_for(DataCenter::Eu)?.expose(), "s3cr3t-eu");
//! assert_eq!(creds.secret_for(DataCenter::Us)?.expose(), "s3cr3t-shared");
//! assert!(creds.secret_for(DataCenter::In).is_err()); // not enabled in Multi-DC
//! assert!(!format!("{creds:?}").contains("s3cr3t"));
//! # Ok::<(), zohocrm::dc::DcError>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fmt;

use crate::dc::{DataCenter, DcError};
use crate::secret::ClientSecret;

/// Environment variable holding the client id.
pub const ENV_CLIENT_ID: &str = "ZOHO_CLIENT_ID";
/// Environment variable holding the secret used for every DC without its own.
pub const ENV_CLIENT_SECRET: &str = "ZOHO_CLIENT_SECRET";
/// Prefix of the per-DC secret variables: `ZOHO_CLIENT_SECRET_EU`, `ZOHO_CLIENT_SECRET_CN`, ...
pub const ENV_CLIENT_SECRET_PREFIX: &str = "ZOHO_CLIENT_SECRET_";

/// A Zoho OAuth client: its id, its secret(s) and the DCs it is enabled for.
///
/// `Debug` shows the client id (it is public: it travels in authorization URLs), which DCs have
/// their own secret and which are enabled, never a secret.
#[derive(Clone)]
#[must_use]
pub struct ClientCredentials {
    client_id: String,
    /// Secret for every DC without its own; `None` when only per-DC secrets were given.
    default_secret: Option<ClientSecret>,
    dc_secrets: BTreeMap<DataCenter, ClientSecret>,
    /// DCs the client is enabled for; `None` = all.
    enabled: Option<BTreeSet<DataCenter>>,
}

impl ClientCredentials {
    /// A client with one secret for every DC, enabled everywhere.
    pub fn new(client_id: impl Into<String>, secret: impl Into<ClientSecret>) -> Self {
        Self {
            client_id: client_id.into(),
            default_secret: Some(secret.into()),
            dc_secrets: BTreeMap::new(),
            enabled: None,
        }
    }

    /// Gives `dc` its own secret (Zoho's "different secret per DC" option).
    pub fn with_dc_secret(mut self, dc: DataCenter, secret: impl Into<ClientSecret>) -> Self {
        self.dc_secrets.insert(dc, secret.into());
        self
    }

    /// Restricts the client to `dcs` (the DCs enabled in the API console's Multi-DC settings).
    /// [`ClientCredentials::secret_for`] fails for every other DC.
    pub fn only_dcs(mut self, dcs: &[DataCenter]) -> Self {
        self.enabled = Some(dcs.iter().copied().collect());
        self
    }

    /// The client id (the same in every DC).
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Whether `dc` is enabled and has a secret.
    pub fn is_enabled(&self, dc: DataCenter) -> bool {
        self.lookup(dc).is_some()
    }

    /// The secret for `dc` if the client is enabled there.
    fn lookup(&self, dc: DataCenter) -> Option<&ClientSecret> {
        if self.enabled.as_ref().is_some_and(|set| !set.contains(&dc)) {
            return None;
        }
        self.dc_secrets.get(&dc).or(self.default_secret.as_ref())
    }

    /// The DCs this client can be used in, in [`DataCenter::ALL`] order.
    pub fn enabled_dcs(&self) -> Vec<DataCenter> {
        DataCenter::ALL.into_iter().filter(|dc| self.is_enabled(*dc)).collect()
    }

    /// Whether `dc` has its own secret (rather than the shared one).
    pub fn has_dc_secret(&self, dc: DataCenter) -> bool {
        self.dc_secrets.contains_key(&dc)
    }

    /// The secret to send to `dc`'s token endpoint: its own, else the shared one.
    ///
    /// Fails with [`DcError::NotEnabled`] when the client is not enabled for `dc` (or no secret
    /// covers it), before any request is made.
    pub fn secret_for(&self, dc: DataCenter) -> Result<&ClientSecret, DcError> {
        self.lookup(dc).ok_or_else(|| DcError::NotEnabled { dc, enabled: self.enabled_dcs() })
    }

    /// Reads `ZOHO_CLIENT_ID`, `ZOHO_CLIENT_SECRET` and the optional per-DC
    /// `ZOHO_CLIENT_SECRET_<LOCATION>` (`ZOHO_CLIENT_SECRET_EU`, ...) from the process
    /// environment. `Ok(None)` when `ZOHO_CLIENT_ID` is unset. See [`ClientCredentials::from_vars`].
    pub fn from_env() -> Result<Option<Self>, DcError> {
        Self::from_vars(std::env::vars_os().filter(|(k, _)| k.to_str().is_some_and(|k| k.starts_with("ZOHO_CLIENT_"))))
    }

    /// Like [`ClientCredentials::from_env`], from the given variables (names and values).
    ///
    /// Rules: `ZOHO_CLIENT_ID` unset gives `Ok(None)`. Without `ZOHO_CLIENT_SECRET`, the client
    /// is enabled only for the DCs that have a `ZOHO_CLIENT_SECRET_<LOCATION>`; with neither,
    /// it is an error. A `<LOCATION>` that is not a known location (a typo, or `UK`), an empty
    /// value or a non-Unicode value is an error; values are never shown in errors.
    pub fn from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Option<Self>, DcError>
    where
        K: Into<OsString>,
        V: Into<OsString>,
    {
        let invalid = |var: &str, reason: String| DcError::InvalidEnv { var: var.to_owned(), reason };
        let mut client_id = None;
        let mut default_secret = None;
        let mut dc_secrets = BTreeMap::new();
        for (name, value) in vars {
            let (name, value) = (name.into(), value.into());
            let Some(name) = name.to_str() else { continue };
            if !name.starts_with("ZOHO_CLIENT_") {
                continue;
            }
            let read = |value: OsString| -> Result<String, DcError> {
                let value =
                    value.into_string().map_err(|_| invalid(name, "the value is not valid Unicode".to_owned()))?;
                if value.trim().is_empty() {
                    return Err(invalid(name, "the value is empty".to_owned()));
                }
                Ok(value)
            };
            if name == ENV_CLIENT_ID {
                client_id = Some(read(value)?);
            } else if name == ENV_CLIENT_SECRET {
                default_secret = Some(ClientSecret::new(read(value)?));
            } else if let Some(suffix) = name.strip_prefix(ENV_CLIENT_SECRET_PREFIX) {
                let dc = DataCenter::from_location(suffix)
                    .map_err(|e| invalid(name, format!("the suffix names no data center: {e}")))?;
                dc_secrets.insert(dc, ClientSecret::new(read(value)?));
            }
        }
        let Some(client_id) = client_id else {
            return Ok(None);
        };
        let enabled = match (&default_secret, dc_secrets.is_empty()) {
            (Some(_), _) => None,
            (None, false) => Some(dc_secrets.keys().copied().collect()),
            (None, true) => {
                return Err(invalid(
                    ENV_CLIENT_SECRET,
                    format!(
                        "{ENV_CLIENT_ID} is set but neither {ENV_CLIENT_SECRET} nor any {ENV_CLIENT_SECRET_PREFIX}<LOCATION> is"
                    ),
                ));
            }
        };
        Ok(Some(Self { client_id: client_id.trim().to_owned(), default_secret, dc_secrets, enabled }))
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let own: Vec<&str> = self.dc_secrets.keys().map(|dc| dc.location()).collect();
        let enabled: Vec<&str> = self.enabled_dcs().into_iter().map(DataCenter::location).collect();
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("shared_secret", &self.default_secret.is_some())
            .field("own_secret", &own)
            .field("enabled", &enabled)
            .finish()
    }
}
