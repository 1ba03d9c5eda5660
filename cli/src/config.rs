//! Where settings come from: flags, then `ZOHO_*` environment variables, then the profile
//! file; the endpoint file (`--endpoints`, e.g. the line `zoho-sim` prints); the token store.
//!
//! The profile file (`profiles.json`, next to the token store, mode 0600) keeps only what is
//! not secret: client id, data center, environment, endpoint file, redirect URI and the
//! signed-in user. Client secrets come from the environment (`ZOHO_CLIENT_SECRET`,
//! `ZOHO_CLIENT_SECRET_EU`, ...) or, for the simulator, from its endpoint file; tokens live
//! only in the SDK's SQLite store.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zohocrm::dc::{EndpointTable, Endpoints};
use zohocrm::{ClientCredentials, DataCenter, Environment};

use crate::fail::Failure;

/// Default redirect URI of `zohocrm login` (register it for your client in Zoho's API console).
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:8765/callback";

/// Everything a command needs to talk to Zoho.
pub struct Settings {
    /// The SQLite token store.
    pub store_path: PathBuf,
    /// The profile file (`profiles.json` beside the store).
    pub profiles_path: PathBuf,
    /// This profile's saved settings (empty when it has none).
    pub profile: ProfileEntry,
    /// The endpoint table (Zoho's, or the one of `--endpoints`).
    pub endpoints: Endpoints,
    /// The endpoint file, when one was given.
    pub endpoints_file: Option<PathBuf>,
    /// The OAuth client, when its id is known.
    pub credentials: Option<ClientCredentials>,
    /// The redirect URI registered for the client.
    pub redirect_uri: String,
    /// Where the credentials came from, for messages.
    pub credentials_source: &'static str,
}

/// One profile of the profile file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ProfileEntry {
    /// OAuth client id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Data center of the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dc: Option<DataCenter>,
    /// Environment of the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<Environment>,
    /// Endpoint file the profile logged in with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<PathBuf>,
    /// Redirect URI, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    /// The signed-in user's email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

/// The profile file: profiles by name.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProfileFile {
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileEntry>,
}

/// The flags that feed the settings.
pub struct Inputs<'a> {
    /// `--profile`.
    pub profile: &'a str,
    /// `--store`.
    pub store: Option<&'a Path>,
    /// `--endpoints`.
    pub endpoints: Option<&'a Path>,
    /// `--client-id`.
    pub client_id: Option<&'a str>,
    /// `login --redirect-uri`.
    pub redirect_uri: Option<&'a str>,
}

/// The simulator's endpoint line: the endpoint table and, optionally, its default client.
#[derive(Deserialize)]
struct EndpointFile {
    accounts: BTreeMap<DataCenter, String>,
    api: BTreeMap<DataCenter, BTreeMap<Environment, String>>,
    #[serde(default)]
    client: Option<FileClient>,
}

#[derive(Deserialize)]
struct FileClient {
    client_id: String,
    #[serde(default)]
    client_secret: BTreeMap<DataCenter, String>,
    #[serde(default)]
    redirect_uri: Option<String>,
}

/// The default token store: `<data dir>/zohocrm/tokens.sqlite3`.
fn default_store() -> Result<PathBuf, Failure> {
    let dir = dirs::data_dir().ok_or_else(|| {
        Failure::usage("no data directory is known for this user; pass --store PATH or set ZOHO_STORE")
    })?;
    Ok(dir.join("zohocrm").join("tokens.sqlite3"))
}

/// Reads the profile file (empty when it does not exist).
pub fn load_profiles(path: &Path) -> Result<ProfileFile, Failure> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| {
            Failure::other(format!("the profile file {} is damaged: {e}", path.display()))
                .hint("fix or delete it, then log in again")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProfileFile::default()),
        Err(e) => Err(Failure::other(format!("cannot read the profile file {}: {e}", path.display()))),
    }
}

/// Writes the profile file atomically (temporary file, then rename), mode 0600.
pub fn save_profiles(path: &Path, file: &ProfileFile) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::other(format!("cannot write the profile file {}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension(format!("json.tmp{}", std::process::id()));
    let text = serde_json::to_string_pretty(file).map_err(|e| Failure::other(e.to_string()))?;
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut out = options.open(&tmp).map_err(fail)?;
        out.write_all(text.as_bytes()).and_then(|_| out.sync_all()).map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from)
}

impl Settings {
    /// Resolves the settings: flags > `ZOHO_*` variables > profile file > endpoint file.
    pub fn resolve(inputs: &Inputs<'_>) -> Result<Settings, Failure> {
        let store_path = match inputs.store {
            Some(p) => p.to_path_buf(),
            None => env_path("ZOHO_STORE").map_or_else(default_store, Ok)?,
        };
        let profiles_path = store_path.with_file_name("profiles.json");
        let profile = load_profiles(&profiles_path)?.profiles.remove(inputs.profile).unwrap_or_default();

        let endpoints_file = inputs
            .endpoints
            .map(Path::to_path_buf)
            .or_else(|| env_path("ZOHO_ENDPOINTS"))
            .or(profile.endpoints.clone());
        let (endpoints, file_client) = match &endpoints_file {
            Some(path) => read_endpoints(path)?,
            None => (Endpoints::zoho(), None),
        };

        // Credentials: the ZOHO_CLIENT_* variables, with the client id from the flag, the
        // variable or the profile; else the endpoint file's client (the simulator's).
        let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
            .filter(|(k, _)| k.to_str().is_some_and(|k| k.starts_with("ZOHO_CLIENT_SECRET")))
            .collect();
        let client_id = inputs
            .client_id
            .map(str::to_owned)
            .or_else(|| std::env::var("ZOHO_CLIENT_ID").ok().filter(|v| !v.is_empty()))
            .or(profile.client_id.clone());
        let has_secret = !vars.is_empty();
        let mut credentials_source = "environment";
        let credentials = match (client_id, has_secret, &file_client) {
            (Some(id), true, _) => {
                vars.push(("ZOHO_CLIENT_ID".into(), id.into()));
                ClientCredentials::from_vars(vars).map_err(|e| Failure::usage(e.to_string()))?
            }
            (None, true, Some(client)) => {
                vars.push(("ZOHO_CLIENT_ID".into(), client.client_id.clone().into()));
                ClientCredentials::from_vars(vars).map_err(|e| Failure::usage(e.to_string()))?
            }
            (id, false, Some(client)) if id.as_deref().is_none_or(|id| id == client.client_id) => {
                credentials_source = "endpoints";
                Some(file_credentials(client)?)
            }
            (Some(_), false, _) => {
                return Err(Failure::usage("a client id is set but no client secret")
                    .hint("set ZOHO_CLIENT_SECRET (or ZOHO_CLIENT_SECRET_EU, ... per data center)"));
            }
            (None, _, _) => None,
        };
        let redirect_uri = inputs
            .redirect_uri
            .map(str::to_owned)
            .or_else(|| std::env::var("ZOHO_REDIRECT_URI").ok().filter(|v| !v.is_empty()))
            .or(profile.redirect_uri.clone())
            .or_else(|| file_client.as_ref().and_then(|c| c.redirect_uri.clone()))
            .unwrap_or_else(|| DEFAULT_REDIRECT_URI.to_owned());
        Ok(Settings {
            store_path,
            profiles_path,
            profile,
            endpoints,
            endpoints_file,
            credentials,
            redirect_uri,
            credentials_source,
        })
    }

    /// The credentials, or a message saying how to provide them.
    pub fn require_credentials(&self) -> Result<ClientCredentials, Failure> {
        self.credentials.clone().ok_or_else(|| {
            Failure::usage("no Zoho client credentials")
                .hint("set ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET (or ZOHO_CLIENT_SECRET_<DC>) from Zoho's API console")
        })
    }
}

fn file_credentials(client: &FileClient) -> Result<ClientCredentials, Failure> {
    let mut secrets = client.client_secret.iter();
    let Some((_, first)) = secrets.next() else {
        return Err(Failure::usage("the endpoint file's client has no client_secret")
            .hint("set ZOHO_CLIENT_ID and ZOHO_CLIENT_SECRET instead"));
    };
    // Only the data centers the file names are enabled: each with its own secret.
    let dcs: Vec<DataCenter> = client.client_secret.keys().copied().collect();
    let credentials = client
        .client_secret
        .iter()
        .fold(ClientCredentials::new(client.client_id.clone(), first.clone()), |c, (dc, s)| {
            c.with_dc_secret(*dc, s.clone())
        })
        .only_dcs(&dcs);
    Ok(credentials)
}

fn read_endpoints(path: &Path) -> Result<(Endpoints, Option<FileClient>), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::usage(format!("cannot read the endpoint file {}: {e}", path.display())))?;
    let file: EndpointFile = serde_json::from_str(text.trim()).map_err(|e| {
        let e = without_quoted_values(&e.to_string());
        Failure::usage(format!("the endpoint file {} is not an endpoint table: {e}", path.display()))
            .hint("give the JSON line `zoho-sim` prints, or {\"accounts\":{dc:url},\"api\":{dc:{env:url}}}")
    })?;
    let table = EndpointTable { accounts: file.accounts, api: file.api };
    let endpoints = Endpoints::from_table(&table)
        .map_err(|e| Failure::usage(format!("the endpoint file {} is not usable: {e}", path.display())))?;
    Ok((endpoints, file.client))
}

/// A JSON error message with every quoted value replaced by `"…"`: serde quotes the text it
/// found (`invalid type: string "…", expected a map`), and in an endpoint file that text can be
/// a client secret. What was expected and where (line, column) stay.
fn without_quoted_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut parts = message.split('"');
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    let mut inside = true;
    for part in parts {
        out.push('"');
        out.push_str(if inside { "…" } else { part });
        inside = !inside;
    }
    out
}

/// Parses a data center location (`us`, `eu`, `in`, `au`, `cn`, `jp`, `ca`, `sa`).
pub fn parse_dc(text: &str) -> Result<DataCenter, String> {
    DataCenter::from_location(&text.to_ascii_lowercase()).map_err(|e| e.to_string())
}
