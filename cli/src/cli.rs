//! The command line: every command, flag and environment variable (clap, derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::output::Format;

/// Zoho CRM from the command line: connect any data center, explore, query and export.
#[derive(Parser, Debug)]
#[command(name = "zohocrm", version, propagate_version = true, max_term_width = 100)]
#[command(after_help = "Settings: flags, then ZOHO_* environment variables (ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET, \
ZOHO_CLIENT_SECRET_EU, …, ZOHO_REDIRECT_URI, ZOHO_STORE, ZOHO_ENDPOINTS, ZOHO_PROFILE, ZOHO_API_VERSION), then the profile file.\n\
Exit codes: 0 ok, 1 other, 2 usage, 3 authorization, 4 Zoho API error, 5 network, 130 interrupted.")]
pub struct Cli {
    #[command(flatten)]
    /// Flags every command takes.
    pub global: Global,
    #[command(subcommand)]
    /// The command.
    pub command: Command,
}

/// Flags every command takes.
#[derive(Args, Debug)]
pub struct Global {
    /// Named login to use: the token store key's user.
    #[arg(long, global = true, env = "ZOHO_PROFILE", default_value = "default")]
    pub profile: String,
    /// SQLite token store (default: <data dir>/zohocrm/tokens.sqlite3; profiles.json beside it).
    #[arg(long, global = true, env = "ZOHO_STORE", value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Endpoint table for every DC and environment (JSON; e.g. the line `zoho-sim` prints).
    #[arg(long, global = true, env = "ZOHO_ENDPOINTS", value_name = "FILE")]
    pub endpoints: Option<PathBuf>,
    /// Output format (default: table).
    #[arg(long, short = 'o', global = true, value_enum)]
    pub output: Option<Format>,
    /// Zoho CRM API version: 8 (the default) or 2. Every command that exists in both uses it.
    #[arg(long, global = true, value_enum, default_value = "8", env = "ZOHO_API_VERSION")]
    pub api_version: ApiVersion,
    /// Data center of the login to use (us, eu, in, au, cn, jp, ca, sa).
    #[arg(long, global = true, value_parser = crate::config::parse_dc)]
    pub dc: Option<zohocrm::DataCenter>,
    /// Environment of the login to use (or to log in to).
    #[arg(long = "env", global = true, value_enum)]
    pub environment: Option<Env>,
    /// OAuth client id (default: ZOHO_CLIENT_ID, then the profile). Secrets come only from the environment.
    #[arg(long, global = true, value_name = "ID")]
    pub client_id: Option<String>,
    /// Trace requests on stderr (secrets redacted).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
}

/// The CRM API version a command calls (`--api-version`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApiVersion {
    /// Zoho CRM API v2 (`/crm/v2/…`).
    #[value(name = "2")]
    V2,
    /// Zoho CRM API v8 (`/crm/v8/…`): listings need `fields` and page with page tokens past
    /// 2,000 records.
    #[value(name = "8")]
    V8,
}

impl ApiVersion {
    /// The path prefix of this version's endpoints.
    pub fn prefix(self) -> &'static str {
        match self {
            ApiVersion::V2 => "/crm/v2/",
            ApiVersion::V8 => "/crm/v8/",
        }
    }
}

/// A CRM environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Env {
    /// The production environment.
    Production,
    /// A sandbox.
    Sandbox,
    /// The developer environment.
    Developer,
}

impl From<Env> for zohocrm::Environment {
    fn from(e: Env) -> Self {
        match e {
            Env::Production => zohocrm::Environment::Production,
            Env::Sandbox => zohocrm::Environment::Sandbox,
            Env::Developer => zohocrm::Environment::Developer,
        }
    }
}

#[derive(Subcommand, Debug)]
/// The commands.
pub enum Command {
    /// Sign in to Zoho (browser, pasted redirect, or Self Client code) and store the token.
    Login(LoginArgs),
    /// Import tokens from a Zoho SDK token file (sdk_tokens.txt).
    Import(ImportArgs),
    /// Show the signed-in user, data center and environment.
    Whoami,
    /// CRM users.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// CRM modules.
    Modules {
        #[command(subcommand)]
        command: ModulesCommand,
    },
    /// The fields of a module.
    Fields {
        /// Module API name (Leads, Contacts, ...).
        module: String,
    },
    /// List, get, create, update, upsert, delete and search records.
    Records {
        #[command(subcommand)]
        command: RecordsCommand,
    },
    /// Run a COQL query (CRM v8: `select Last_Name, Company from Leads where Lead_Status = 'New' limit 10`).
    Coql {
        /// The query; quote values with single quotes and escape a quote inside one as \'.
        query: String,
    },
    /// Make an authenticated call to any CRM path and print the JSON answer (like `gh api`).
    Api(ApiArgs),
    /// Inspect or refresh the stored token.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Revoke the token at its data center and remove it from the store.
    Logout,
    /// Print a shell completion script.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
/// Flags of `login`.
pub struct LoginArgs {
    /// Scopes to ask for (comma-separated or repeated).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ZohoCRM.modules.ALL,ZohoCRM.settings.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ,ZohoSearch.securesearch.READ,ZohoCRM.coql.READ"
    )]
    pub scopes: Vec<String>,
    /// Print the URL and read the redirect URL pasted on standard input instead of listening.
    #[arg(long)]
    pub no_browser: bool,
    /// The account is in China (start at accounts.zoho.com.cn).
    #[arg(long)]
    pub china: bool,
    /// Redirect URI registered for the client (default: ZOHO_REDIRECT_URI, then http://127.0.0.1:8765/callback).
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// Connect with a Self Client grant code (needs --dc and --code).
    #[arg(long, requires = "code")]
    pub self_client: bool,
    /// The Self Client code (`-`: read it from standard input).
    #[arg(long, requires = "self_client", value_name = "CODE")]
    pub code: Option<String>,
}

#[derive(Args, Debug)]
/// Flags of `import`.
pub struct ImportArgs {
    /// Zoho SDK FileStore file (sdk_tokens.txt).
    pub file: PathBuf,
}

#[derive(Subcommand, Debug)]
/// `users` commands.
pub enum UsersCommand {
    /// List users.
    List {
        /// Which users.
        #[arg(long = "type", value_enum, default_value = "all")]
        kind: UserKind,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
/// Which users `users list` lists (Zoho's `type`).
pub enum UserKind {
    /// Every user.
    All,
    /// Active users.
    Active,
    /// Deactivated users.
    Deactive,
    /// Users who confirmed their invitation.
    Confirmed,
    /// Users who did not confirm their invitation.
    NotConfirmed,
    /// Deleted users.
    Deleted,
    /// Active, confirmed users.
    ActiveConfirmed,
    /// Administrators.
    Admin,
    /// Active, confirmed administrators.
    ActiveConfirmedAdmins,
    /// The signed-in user.
    Current,
}

#[derive(Subcommand, Debug)]
/// `modules` commands.
pub enum ModulesCommand {
    /// List modules.
    List,
}

#[derive(Subcommand, Debug)]
/// `records` commands.
pub enum RecordsCommand {
    /// List records (one page, or every page with --all).
    List {
        module: String,
        /// Field API names to return (comma-separated). Default: every field (v2); with v8,
        /// which requires them, the module's first 50 fields from its metadata.
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
        /// Every page (streamed; progress on stderr).
        #[arg(long)]
        all: bool,
        /// Page number (without --all; v8 reaches the first 2,000 records this way, --all goes further).
        #[arg(long, default_value_t = 1, conflicts_with = "all")]
        page: u32,
        /// Records per page (1-200).
        #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=200))]
        per_page: u32,
        /// Sort by this field (v8: id, Created_Time or Modified_Time).
        #[arg(long)]
        sort_by: Option<String>,
        /// Ascending order.
        #[arg(long)]
        asc: bool,
    },
    /// Get one record.
    Get { module: String, id: String },
    /// Create records from JSON (an object or an array; `@FILE`, `-` for stdin).
    Create {
        module: String,
        #[arg(long, value_name = "JSON")]
        data: String,
    },
    /// Update one record (with ID) or records carrying their `id` (without).
    Update {
        module: String,
        id: Option<String>,
        #[arg(long, value_name = "JSON")]
        data: String,
    },
    /// Insert or update records, matched on duplicate-check fields.
    Upsert {
        module: String,
        #[arg(long, value_name = "JSON")]
        data: String,
        /// Fields that identify an existing record (comma-separated).
        #[arg(long, value_delimiter = ',')]
        duplicate_check_fields: Vec<String>,
    },
    /// Delete records by id.
    Delete {
        module: String,
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Search records.
    Search {
        module: String,
        /// FIELD=VALUE: the field equals the value (repeat to AND).
        #[arg(long, value_name = "FIELD=VALUE")]
        equals: Vec<String>,
        /// FIELD=VALUE: the field starts with the value (repeat to AND).
        #[arg(long, value_name = "FIELD=VALUE")]
        starts_with: Vec<String>,
        /// Records with this email.
        #[arg(long, conflicts_with_all = ["equals", "starts_with", "phone", "word"])]
        email: Option<String>,
        /// Records with this phone number.
        #[arg(long, conflicts_with_all = ["equals", "starts_with", "word"])]
        phone: Option<String>,
        /// Records containing this word.
        #[arg(long, conflicts_with_all = ["equals", "starts_with"])]
        word: Option<String>,
        /// Field API names to show (comma-separated).
        #[arg(long, value_delimiter = ',')]
        fields: Vec<String>,
        /// Every page.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Args, Debug)]
/// Arguments of `api`.
pub struct ApiArgs {
    /// GET, POST, PUT, PATCH or DELETE.
    pub method: String,
    /// A path below the API domain (/crm/v2/org, /crm/v8/org), or relative to --api-version's
    /// prefix (org, Leads?fields=Last_Name&per_page=5).
    pub path: String,
    /// JSON body (`@FILE`, `-` for stdin).
    #[arg(long, value_name = "JSON")]
    pub data: Option<String>,
}

#[derive(Subcommand, Debug)]
/// `token` commands.
pub enum TokenCommand {
    /// Show the stored token (never its value): DC, environment, scopes, expiry.
    Status,
    /// Refresh the access token now.
    Refresh,
}
