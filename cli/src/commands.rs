//! The commands: each one resolves its settings, opens the token store, builds a `Zoho` and
//! calls the SDK's public API.

use std::io::{IsTerminal as _, Write};
use std::path::Path;

use futures_util::StreamExt as _;
use serde_json::{Map, Value, json};
use zohocrm::client::{Criteria, Record, RecordQuery, Search, UserType};
use zohocrm::client_v8::{PageAt, V8Query};
use zohocrm::oauth::CodeGrant;
use zohocrm::store::{ImportOptions, SqliteStore, TokenStore};
use zohocrm::{Environment, TokenKey, Zoho};

use crate::cli::{
    ApiVersion, Cli, Command, LoginArgs, ModulesCommand, RecordsCommand, TokenCommand, UserKind, UsersCommand,
};
use crate::config::{Inputs, ProfileEntry, Settings};
use crate::fail::{self, Context, Failure};
use crate::output::{Format, RowWriter, pairs_of, to_row, write_object};
use crate::v8::Crm;
use crate::writes::{Batched, batched};

type Out = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Everything a command runs with.
struct Run {
    settings: Settings,
    profile: String,
    format: Format,
    api_version: ApiVersion,
    dc: Option<zohocrm::DataCenter>,
    environment: Option<Environment>,
    ctx: Context,
    verbose: bool,
    announce_credentials: bool,
}

/// Runs one command line; the failure carries the exit code and message.
pub async fn run(cli: Cli) -> Result<(), Failure> {
    let g = &cli.global;
    if let Command::Completions { shell } = &cli.command {
        let mut command = <Cli as clap::CommandFactory>::command();
        clap_complete::generate(*shell, &mut command, "zohocrm", &mut std::io::stdout());
        return Ok(());
    }
    if g.profile.trim().is_empty() {
        return Err(Failure::usage("--profile is empty"));
    }
    let redirect_uri = match &cli.command {
        Command::Login(args) => args.redirect_uri.as_deref(),
        _ => None,
    };
    let settings = Settings::resolve(&Inputs {
        profile: &g.profile,
        store: g.store.as_deref(),
        endpoints: g.endpoints.as_deref(),
        client_id: g.client_id.as_deref(),
        redirect_uri,
    })?;
    let dc = g.dc.or(settings.profile.dc);
    let environment = g.environment.map(Environment::from).or(settings.profile.environment);
    let ctx = Context { profile: g.profile.clone(), dc, environment };
    let mut run = Run {
        settings,
        profile: g.profile.clone(),
        format: g.output.unwrap_or(Format::Table),
        api_version: g.api_version,
        dc,
        environment,
        ctx,
        verbose: g.verbose,
        announce_credentials: false,
    };
    let mut out: Out = std::io::BufWriter::new(std::io::stdout().lock());
    let result = match cli.command {
        Command::Login(args) => run.login(&mut out, args, g.environment.map(Environment::from)).await,
        Command::Import(args) => run.import(&mut out, &args.file).await,
        Command::Whoami => run.whoami(&mut out).await,
        Command::Users { command: UsersCommand::List { kind } } => run.users(&mut out, kind).await,
        Command::Modules { command: ModulesCommand::List } => run.modules(&mut out).await,
        Command::Fields { module } => run.fields(&mut out, &module).await,
        Command::Records { command } => run.records(&mut out, command).await,
        Command::Coql { query } => run.coql(&mut out, &query).await,
        Command::Api(args) => run.api(&mut out, &args.method, &args.path, args.data.as_deref()).await,
        Command::Token { command } => run.token(&mut out, command).await,
        Command::Logout => run.logout(&mut out).await,
        Command::Completions { .. } => Ok(()),
    };
    let flushed = out.flush().map_err(io_failure);
    result.and(flushed)
}

/// A write error on standard output: a closed pipe (`| head`) ends quietly.
fn io_failure(e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Failure::new(0, "")
    } else {
        Failure::other(format!("cannot write the output: {e}"))
    }
}

/// Reads a `--data` value: inline JSON, `@FILE` or `-` (standard input).
fn read_json(data: &str) -> Result<Value, Failure> {
    let text = if data == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| Failure::usage(format!("cannot read --data from standard input: {e}")))?;
        s
    } else if let Some(path) = data.strip_prefix('@') {
        std::fs::read_to_string(path).map_err(|e| Failure::usage(format!("cannot read --data file {path}: {e}")))?
    } else {
        data.to_owned()
    };
    serde_json::from_str(&text).map_err(|e| Failure::usage(format!("--data is not valid JSON: {e}")))
}

/// `--data` as records: one object, an array of objects, or `{"data":[…]}`.
fn read_records(data: &str) -> Result<Vec<Record>, Failure> {
    let value = read_json(data)?;
    let items = match value {
        Value::Array(items) => items,
        Value::Object(mut o) if o.get("data").is_some_and(Value::is_array) => match o.remove("data") {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        object @ Value::Object(_) => vec![object],
        _ => return Err(Failure::usage("--data must be a JSON object or an array of objects")),
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value::<Record>(item)
                .map_err(|e| Failure::usage(format!("--data item {} is not a record object: {e}", i + 1)))
        })
        .collect()
}

fn progress(all: bool) -> Option<indicatif::ProgressBar> {
    if !all || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr())
        .with_finish(indicatif::ProgressFinish::AndClear);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {pos} records  {per_sec}  {elapsed}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

const RECORD_COLUMNS: &[&str] = &[
    "Full_Name",
    "Last_Name",
    "First_Name",
    "Account_Name",
    "Deal_Name",
    "Subject",
    "Company",
    "Email",
    "Phone",
    "Stage",
    "Amount",
    "Lead_Status",
];

/// Table columns for records: `id` + the requested fields, or `id` + a few familiar ones.
fn record_columns(fields: &[String], first: Option<&Map<String, Value>>, format: Format) -> Vec<String> {
    if !fields.is_empty() {
        let mut columns = vec!["id".to_owned()];
        columns.extend(fields.iter().filter(|f| f.as_str() != "id").cloned());
        return columns;
    }
    if format != Format::Table {
        return Vec::new();
    }
    let mut columns = vec!["id".to_owned()];
    if let Some(first) = first {
        columns.extend(RECORD_COLUMNS.iter().filter(|c| first.contains_key(**c)).take(5).map(|c| (*c).to_owned()));
        if columns.len() == 1 {
            columns.extend(first.keys().filter(|k| k.as_str() != "id").take(5).cloned());
        }
    }
    columns
}

/// Sort fields v8's Get Records accepts.
const V8_SORTABLE: &[&str] = &["id", "Created_Time", "Modified_Time"];

/// Says on a terminal that a one-page listing has more records.
fn more_hint(more: bool) {
    if more && std::io::stderr().is_terminal() {
        eprintln!("(more records: --page N for the next page, --all for every page)");
    }
}

fn result_row(r: &zohocrm::client::ActionResult) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert("status".into(), Value::String(r.status.clone()));
    row.insert("code".into(), Value::String(r.code().to_owned()));
    row.insert("id".into(), r.id().map_or(Value::Null, |id| Value::String(id.to_owned())));
    row.insert("message".into(), r.message.clone().map_or(Value::Null, Value::String));
    if let Some(field) = r.details.as_ref().and_then(|d| d.get("api_name")) {
        row.insert("field".into(), field.clone());
    }
    row
}

impl Run {
    fn sdk(&self, e: zohocrm::Error) -> Failure {
        fail::from_sdk(&e, &self.ctx)
    }

    async fn open_store(&self, create: bool) -> Result<SqliteStore, Failure> {
        let path = &self.settings.store_path;
        if !create && !path.exists() {
            return Err(Failure::new(
                fail::AUTH,
                format!("profile `{}` is not logged in (no token store at {})", self.profile, path.display()),
            )
            .hint("run `zohocrm login` (or pass --store / ZOHO_STORE)"));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            create_private_dir(dir)?;
        }
        SqliteStore::open(path).await.map_err(|e| {
            Failure::other(format!("cannot open the token store {}: {e}", path.display()))
                .hint("check --store / ZOHO_STORE")
        })
    }

    async fn zoho(&self, store: SqliteStore) -> Result<Zoho, Failure> {
        let credentials = self.settings.require_credentials()?;
        if self.settings.credentials_source == "endpoints" && (self.announce_credentials || self.verbose) {
            eprintln!("note: using the client id and secrets from the endpoint file (no ZOHO_CLIENT_ID set)");
        }
        Zoho::builder(credentials)
            .endpoints(self.settings.endpoints.clone())
            .store(store)
            .user_agent(concat!("zohocrm-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| self.sdk(e))
    }

    /// The stored login of this profile (narrowed by --dc / --env).
    async fn connection(&mut self, store: &SqliteStore) -> Result<TokenKey, Failure> {
        let keys = store.list().await.map_err(|e| Failure::other(format!("token store: {e}")))?;
        let matching: Vec<TokenKey> = keys
            .into_iter()
            .filter(|k| k.user == self.profile)
            .filter(|k| self.dc.is_none_or(|dc| dc == k.dc))
            .filter(|k| self.environment.is_none_or(|env| env == k.environment))
            .collect();
        match matching.as_slice() {
            [key] => {
                self.ctx.dc = Some(key.dc);
                self.ctx.environment = Some(key.environment);
                Ok(key.clone())
            }
            [] => Err(Failure::new(
                fail::AUTH,
                format!("profile `{}` is not logged in{}", self.profile, self.place_suffix()),
            )
            .hint(format!("run `zohocrm login{}`", self.profile_flag()))),
            many => {
                let list: Vec<String> =
                    many.iter().map(|k| format!("{}/{}", k.dc.location(), k.environment.as_str())).collect();
                Err(Failure::usage(format!("profile `{}` has several logins ({})", self.profile, list.join(", ")))
                    .hint("pick one with --dc and --env"))
            }
        }
    }

    fn place_suffix(&self) -> String {
        match (self.dc, self.environment) {
            (Some(dc), Some(env)) => format!(" in {} {}", dc.name(), env.as_str()),
            (Some(dc), None) => format!(" in {}", dc.name()),
            (None, Some(env)) => format!(" in {}", env.as_str()),
            _ => String::new(),
        }
    }

    fn profile_flag(&self) -> String {
        if self.profile == "default" { String::new() } else { format!(" --profile {}", self.profile) }
    }

    /// Store, Zoho, connection and CRM client (of `--api-version`) of a logged-in profile.
    async fn crm(&mut self) -> Result<(Zoho, Crm), Failure> {
        let store = self.open_store(false).await?;
        let key = self.connection(&store).await?;
        let zoho = self.zoho(store).await?;
        let crm = match self.api_version {
            ApiVersion::V2 => Crm::V2(zoho.client(&key).await.map_err(|e| self.sdk(e))?),
            ApiVersion::V8 => Crm::V8(zoho.client_v8(&key).await.map_err(|e| self.sdk(e))?),
        };
        Ok((zoho, crm))
    }

    fn save_profile(&self, entry: ProfileEntry) -> Result<(), Failure> {
        let mut file = crate::config::load_profiles(&self.settings.profiles_path)?;
        file.profiles.insert(self.profile.clone(), entry);
        crate::config::save_profiles(&self.settings.profiles_path, &file)
    }

    async fn login(&mut self, out: &mut Out, args: LoginArgs, env_flag: Option<Environment>) -> Result<(), Failure> {
        let store = self.open_store(true).await?;
        self.announce_credentials = true;
        let zoho = self.zoho(store).await?;
        let environment = env_flag.unwrap_or_default();
        self.ctx.environment = Some(environment);
        let token = if args.self_client {
            let dc = self.dc.ok_or_else(|| {
                Failure::usage("--self-client needs --dc (the data center of the API console that made the code)")
            })?;
            self.ctx.dc = Some(dc);
            let code = match args.code.as_deref() {
                Some("-") | None => crate::login::read_pasted_code().await?,
                Some(code) => code.trim().to_owned(),
            };
            let code = CodeGrant::self_client(dc, code, args.scopes.clone());
            zoho.connect_self_client(&self.profile, &code).await.map_err(|e| self.sdk(e))?
        } else {
            let mut request = zoho
                .authorization(&self.settings.redirect_uri)
                .scopes(args.scopes.clone())
                .prompt_consent()
                .environment(environment);
            if args.china {
                request = request.china();
            }
            let (url, pending) = request.build(zoho.endpoints()).map_err(|e| self.sdk(e))?;
            let listener = if args.no_browser { None } else { crate::login::bind(&self.settings.redirect_uri).await? };
            let redirect = match listener {
                Some(listener) => {
                    eprintln!("Opening Zoho's sign-in page in your browser. If it does not open, visit:\n  {url}");
                    if !crate::login::open_browser(&url) {
                        eprintln!("(no browser started: open the URL above yourself)");
                    }
                    eprintln!("Waiting for Zoho to redirect to {} ...", self.settings.redirect_uri);
                    listener.receive(&self.settings.redirect_uri).await?
                }
                None => {
                    eprintln!("Open this URL in a browser, sign in and accept:\n  {url}");
                    eprintln!(
                        "Then paste the address your browser was sent to (it starts with {}):",
                        self.settings.redirect_uri
                    );
                    crate::login::read_pasted(&pending).await?
                }
            };
            zoho.complete_authorization(&self.profile, &redirect, &pending).await.map_err(|e| self.sdk(e))?
        };
        self.ctx.dc = Some(token.key.dc);
        self.ctx.environment = Some(token.key.environment);
        // The token is stored: reading the user (which needs ZohoCRM.users.READ) only names it.
        // Without that scope the login stands; any other failure is reported once the profile
        // is saved (the token is stored either way).
        let looked_up = match zoho.client(&token.key).await {
            Ok(crm) => crm.current_user().await,
            Err(e) => Err(e),
        };
        let (me, lookup_failure) = match looked_up {
            Ok(me) => (me, None),
            Err(e) if e.zoho_code() == Some("OAUTH_SCOPE_MISMATCH") => {
                eprintln!("note: logged in, but the signed-in user could not be read: {}", self.sdk(e).message);
                (None, None)
            }
            Err(e) => (None, Some(self.sdk(e))),
        };
        let email = me.as_ref().and_then(|u| u.email.clone());
        let name = me.as_ref().and_then(|u| u.full_name.clone());
        let endpoints =
            self.settings.endpoints_file.as_ref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        self.save_profile(ProfileEntry {
            client_id: zoho.oauth().credentials().client_id().to_owned().into(),
            dc: Some(token.key.dc),
            environment: Some(token.key.environment),
            endpoints,
            redirect_uri: Some(self.settings.redirect_uri.clone()).filter(|r| r != crate::config::DEFAULT_REDIRECT_URI),
            user: email.clone(),
        })?;
        let row: Vec<(&str, Value)> = vec![
            ("profile", json!(self.profile)),
            ("user", json!(name)),
            ("email", json!(email)),
            ("dc", json!(token.key.dc.location())),
            ("environment", json!(token.key.environment.as_str())),
            ("api_domain", json!(token.api_domain)),
            ("store", json!(self.settings.store_path.display().to_string())),
        ];
        if self.format == Format::Table {
            writeln!(
                out,
                "Logged in as {} <{}> in {} ({}), {} environment; profile `{}`.",
                name.as_deref().unwrap_or("?"),
                email.as_deref().unwrap_or("?"),
                token.key.dc.name(),
                token.key.dc.location(),
                token.key.environment.as_str(),
                self.profile
            )
            .map_err(io_failure)?;
            writeln!(out, "Token stored in {}.", self.settings.store_path.display()).map_err(io_failure)?;
        } else {
            write_object(out, self.format, &row).map_err(io_failure)?;
        }
        match lookup_failure {
            Some(f) => Err(Failure {
                message: format!(
                    "logged in and the token stored, but reading the signed-in user failed: {}",
                    f.message
                ),
                ..f
            }),
            None => Ok(()),
        }
    }

    async fn import(&mut self, out: &mut Out, file: &Path) -> Result<(), Failure> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::usage(format!("cannot read {}: {e}", file.display())))?;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let endpoints = self.settings.endpoints.clone();
        let resolver = move |domain: &str| endpoints.resolve_api_domain(domain).ok();
        let mut options = ImportOptions::new(now_ms).resolve_api_domain(&resolver);
        if let Some(dc) = self.dc {
            options = options.default_location(dc, self.environment.unwrap_or_default());
        }
        let report = zohocrm::store::import_zoho_filestore(&text, &options).map_err(|e| {
            Failure::usage(format!("{}: {e}", file.display()))
                .hint("for a Zoho SDK 2.1 file (no api_domain column) pass --dc and --env")
        })?;
        let store = self.open_store(true).await?;
        let single = report.tokens.len() == 1;
        let columns = ["profile", "zoho_sdk_user", "dc", "environment", "refresh_token"].map(String::from).to_vec();
        let mut writer = RowWriter::new(&mut *out, self.format, columns);
        for mut token in report.tokens {
            let source_user = token.key.user.clone();
            if single {
                token.key.user = self.profile.clone();
            }
            store.put(&token).await.map_err(|e| Failure::other(format!("token store: {e}")))?;
            writer
                .write(&to_row(&json!({
                    "profile": token.key.user,
                    "zoho_sdk_user": source_user,
                    "dc": token.key.dc.location(),
                    "environment": token.key.environment.as_str(),
                    "refresh_token": if token.refresh_token.is_some() { "yes" } else { "no" },
                })))
                .map_err(io_failure)?;
        }
        writer.finish().map_err(io_failure)?;
        for skipped in &report.skipped {
            eprintln!("skipped line {} (id {}): {}", skipped.line, skipped.id, skipped.reason);
        }
        Ok(())
    }

    async fn whoami(&mut self, out: &mut Out) -> Result<(), Failure> {
        let (_zoho, crm) = self.crm().await?;
        let me = match &crm {
            Crm::V2(c) => c.current_user().await,
            Crm::V8(c) => c.current_user().await,
        }
        .map_err(|e| self.sdk(e))?;
        let me = me.ok_or_else(|| Failure::new(fail::API, "Zoho returned no current user"))?;
        let crm = crm.v2();
        let key = crm.key();
        let row: Vec<(&str, Value)> = vec![
            ("profile", json!(self.profile)),
            ("user", json!(me.full_name)),
            ("email", json!(me.email)),
            ("id", json!(me.id)),
            ("role", json!(me.role.as_ref().and_then(|r| r.name.clone()))),
            ("crm_profile", json!(me.profile.as_ref().and_then(|p| p.name.clone()))),
            ("dc", json!(key.dc.location())),
            ("environment", json!(key.environment.as_str())),
            ("api_domain", json!(crm.api_domain())),
        ];
        write_object(out, self.format, &row).map_err(io_failure)
    }

    async fn users(&mut self, out: &mut Out, kind: UserKind) -> Result<(), Failure> {
        let (_zoho, crm) = self.crm().await?;
        let kind = match kind {
            UserKind::All => UserType::AllUsers,
            UserKind::Active => UserType::ActiveUsers,
            UserKind::Deactive => UserType::DeactiveUsers,
            UserKind::Confirmed => UserType::ConfirmedUsers,
            UserKind::NotConfirmed => UserType::NotConfirmedUsers,
            UserKind::Deleted => UserType::DeletedUsers,
            UserKind::ActiveConfirmed => UserType::ActiveConfirmedUsers,
            UserKind::Admin => UserType::AdminUsers,
            UserKind::ActiveConfirmedAdmins => UserType::ActiveConfirmedAdmins,
            UserKind::Current => UserType::CurrentUser,
        };
        let columns = if self.format == Format::Table || self.format == Format::Csv {
            ["id", "full_name", "email", "status", "role", "profile"].map(String::from).to_vec()
        } else {
            Vec::new()
        };
        let mut writer = RowWriter::new(&mut *out, self.format, columns);
        let mut users = match &crm {
            Crm::V2(c) => c.users(kind),
            Crm::V8(c) => crate::v8::users(c, kind),
        };
        while let Some(user) = users.next().await {
            let user = user.map_err(|e| self.sdk(e))?;
            writer.write(&to_row(&user)).map_err(io_failure)?;
        }
        writer.finish().map_err(io_failure)?;
        Ok(())
    }

    async fn modules(&mut self, out: &mut Out) -> Result<(), Failure> {
        let (_zoho, crm) = self.crm().await?;
        let modules = match &crm {
            Crm::V2(c) => c.modules().await,
            Crm::V8(c) => c.modules().await,
        }
        .map_err(|e| self.sdk(e))?;
        let columns = if matches!(self.format, Format::Table | Format::Csv) {
            ["api_name", "plural_label", "api_supported", "creatable", "editable", "deletable"]
                .map(String::from)
                .to_vec()
        } else {
            Vec::new()
        };
        let mut writer = RowWriter::new(&mut *out, self.format, columns);
        for module in &modules {
            writer.write(&to_row(module)).map_err(io_failure)?;
        }
        writer.finish().map_err(io_failure)?;
        Ok(())
    }

    async fn fields(&mut self, out: &mut Out, module: &str) -> Result<(), Failure> {
        let (_zoho, crm) = self.crm().await?;
        let fields = match &crm {
            Crm::V2(c) => c.fields(module).await,
            Crm::V8(c) => c.fields(module).await,
        }
        .map_err(|e| self.sdk(e))?;
        let columns = if matches!(self.format, Format::Table | Format::Csv) {
            ["api_name", "field_label", "data_type", "system_mandatory", "read_only"].map(String::from).to_vec()
        } else {
            Vec::new()
        };
        let mut writer = RowWriter::new(&mut *out, self.format, columns);
        for field in &fields {
            writer.write(&to_row(field)).map_err(io_failure)?;
        }
        writer.finish().map_err(io_failure)?;
        Ok(())
    }

    /// Writes a record listing as it streams in. An error partway ends the output as a complete
    /// one (a table of the rows read, a closed JSON array), then fails with the error.
    async fn write_records<S>(&self, out: &mut Out, stream: S, fields: &[String], all: bool) -> Result<usize, Failure>
    where
        S: futures_util::Stream<Item = zohocrm::Result<Record>>,
    {
        let mut stream = std::pin::pin!(stream);
        let bar = progress(all);
        let first = match stream.next().await {
            Some(r) => Some(r.map_err(|e| self.sdk(e))?),
            None => None,
        };
        let first_row = first.as_ref().map(to_row);
        let columns = record_columns(fields, first_row.as_ref(), self.format);
        let mut writer = RowWriter::new(&mut *out, self.format, columns);
        if let Some(row) = first_row {
            writer.write(&row).map_err(io_failure)?;
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        let mut failure = None;
        while let Some(record) = stream.next().await {
            let Ok(record) = record.map_err(|e| failure = Some(self.sdk(e))) else { break };
            writer.write(&to_row(&record)).map_err(io_failure)?;
            if let Some(bar) = &bar {
                bar.inc(1);
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        let count = writer.finish().map_err(io_failure)?;
        match failure {
            Some(f) => Err(Failure {
                message: format!("{} (after {count} records: the output is incomplete)", f.message),
                ..f
            }),
            None => Ok(count),
        }
    }

    async fn records(&mut self, out: &mut Out, command: RecordsCommand) -> Result<(), Failure> {
        let (_zoho, crm) = self.crm().await?;
        match command {
            RecordsCommand::List { module, fields, all, page, per_page, sort_by, asc } => match &crm {
                Crm::V2(crm) => {
                    let query = RecordQuery {
                        fields: fields.clone(),
                        sort_by,
                        ascending: asc,
                        per_page: Some(per_page),
                        ..Default::default()
                    };
                    if all {
                        self.write_records(out, crm.records(&module, query), &fields, true).await?;
                    } else {
                        let page = crm.records_page(&module, &query, page).await.map_err(|e| self.sdk(e))?;
                        let more = page.more_records;
                        let stream = futures_util::stream::iter(page.items.into_iter().map(Ok));
                        self.write_records(out, stream, &fields, false).await?;
                        more_hint(more);
                    }
                    Ok(())
                }
                Crm::V8(crm) => {
                    if let Some(sort) = sort_by.as_deref().filter(|s| !V8_SORTABLE.contains(s)) {
                        return Err(Failure::usage(format!(
                            "--sort-by {sort}: CRM v8 sorts listings only by {}",
                            V8_SORTABLE.join(", ")
                        ))
                        .hint("sort by another field with `zohocrm coql … order by` or with --api-version 2"));
                    }
                    // v8 requires `fields`: without --fields, the module's fields from its
                    // metadata (every field up to Zoho's 50), so the rows match v2's.
                    let asked = if fields.is_empty() {
                        let (names, total) =
                            crate::v8::default_fields(crm, &module).await.map_err(|e| self.v8_fields_failure(e))?;
                        if total > names.len() {
                            // Never silent: the rows would lack fields v2's rows have.
                            eprintln!(
                                "warning: {module} has {total} fields and CRM v8 returns at most {} per listing: \
                                 these rows hold id and the first {} in metadata order; choose with --fields, \
                                 or use --api-version 2 for every field",
                                names.len(),
                                names.len() - 1
                            );
                        }
                        names
                    } else {
                        fields.clone()
                    };
                    let mut query = V8Query::fields(&asked).per_page(per_page);
                    if let Some(sort) = &sort_by {
                        query = query.sort_by(sort, asc);
                    }
                    if all {
                        let stream = crm.records_as::<Record>(&module, query);
                        self.write_records(out, stream, &fields, true).await?;
                    } else {
                        let page = crm
                            .records_page_as::<Record>(&module, &query, &PageAt::Number(page))
                            .await
                            .map_err(|e| self.sdk(e))?;
                        let more = page.more_records();
                        let stream = futures_util::stream::iter(page.items.into_iter().map(Ok));
                        self.write_records(out, stream, &fields, false).await?;
                        more_hint(more);
                    }
                    Ok(())
                }
            },
            RecordsCommand::Get { module, id } => {
                let record = match &crm {
                    Crm::V2(c) => c.record(&module, &id).await,
                    Crm::V8(c) => c.record_as::<Record>(&module, &id).await,
                }
                .map_err(|e| self.sdk(e))?;
                let record = record.ok_or_else(|| {
                    Failure::new(fail::API, format!("no {module} record with id {id}"))
                        .hint(format!("run `zohocrm records list {module}`"))
                })?;
                write_object(out, self.format, &pairs_of(&to_row(&record))).map_err(io_failure)
            }
            RecordsCommand::Create { module, data } => {
                let records = read_records(&data)?;
                let (crm, module) = (&crm, module.as_str());
                let sent = batched(&records, |chunk| async move {
                    match crm {
                        Crm::V2(c) => c.insert_records(module, chunk.to_vec()).await,
                        Crm::V8(c) => c.insert_records(module, chunk).await,
                    }
                })
                .await;
                self.write_results(out, sent)
            }
            RecordsCommand::Update { module, id, data } => {
                let mut records = read_records(&data)?;
                if let Some(id) = id {
                    if records.len() != 1 {
                        return Err(Failure::usage("with a record id, --data must be one JSON object"));
                    }
                    if let Crm::V2(c) = &crm {
                        let record = records.remove(0);
                        let results: Vec<_> =
                            c.update_record(&module, &id, record).await.map_err(|e| self.sdk(e))?.into_iter().collect();
                        return self.write_results(out, Batched::answered(results));
                    }
                    // v8: the batch update with the id in the record (Zoho's v8 update by id
                    // takes the same body).
                    records[0].id = Some(id);
                } else if records.iter().any(|r| r.id.is_none()) {
                    return Err(Failure::usage(
                        "every record in --data needs an \"id\" (or give the record id after the module)",
                    ));
                }
                let (crm, module) = (&crm, module.as_str());
                let sent = batched(&records, |chunk| async move {
                    match crm {
                        Crm::V2(c) => c.update_records(module, chunk.to_vec()).await,
                        Crm::V8(c) => c.update_records(module, chunk).await,
                    }
                })
                .await;
                self.write_results(out, sent)
            }
            RecordsCommand::Upsert { module, data, duplicate_check_fields } => {
                let records = read_records(&data)?;
                let fields: Vec<&str> = duplicate_check_fields.iter().map(String::as_str).collect();
                let (crm, module, fields) = (&crm, module.as_str(), fields.as_slice());
                let sent = batched(&records, |chunk| async move {
                    match crm {
                        Crm::V2(c) => c.upsert_records(module, chunk.to_vec(), fields).await,
                        Crm::V8(c) => c.upsert_records(module, chunk, fields).await,
                    }
                })
                .await;
                self.write_results(out, sent)
            }
            RecordsCommand::Delete { module, ids } => {
                let (crm, module) = (&crm, module.as_str());
                let sent = batched(&ids, |chunk| {
                    let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
                    async move {
                        match crm {
                            Crm::V2(c) => c.delete_records(module, &chunk).await,
                            Crm::V8(c) => c.delete_records(module, &chunk).await,
                        }
                    }
                })
                .await;
                self.write_results(out, sent)
            }
            RecordsCommand::Search { module, equals, starts_with, email, phone, word, fields, all } => {
                let search = if let Some(email) = email {
                    Search::Email(email)
                } else if let Some(phone) = phone {
                    Search::Phone(phone)
                } else if let Some(word) = word {
                    Search::Word(word)
                } else {
                    let mut criteria: Option<Criteria> = None;
                    let pairs = equals.iter().map(|p| (p, true)).chain(starts_with.iter().map(|p| (p, false)));
                    for (pair, is_equals) in pairs {
                        let (field, value) = pair
                            .split_once('=')
                            .ok_or_else(|| Failure::usage(format!("{pair:?} is not FIELD=VALUE")))?;
                        let c = if is_equals {
                            Criteria::try_equals(field, value)
                        } else {
                            Criteria::try_starts_with(field, value)
                        }
                        .map_err(|e| self.sdk(e))?;
                        criteria = Some(match criteria {
                            Some(prev) => prev.and(c),
                            None => c,
                        });
                    }
                    Search::Criteria(criteria.ok_or_else(|| {
                        Failure::usage(
                            "give --equals FIELD=VALUE, --starts-with FIELD=VALUE, --email, --phone or --word",
                        )
                    })?)
                };
                match &crm {
                    Crm::V2(crm) if all => {
                        self.write_records(out, crm.search(&module, search), &fields, true).await?;
                    }
                    Crm::V2(crm) => {
                        let page = crm
                            .search_page(&module, &search, 1, zohocrm::client::MAX_PER_PAGE)
                            .await
                            .map_err(|e| self.sdk(e))?;
                        let stream = futures_util::stream::iter(page.items.into_iter().map(Ok));
                        self.write_records(out, stream, &fields, false).await?;
                    }
                    Crm::V8(crm) => {
                        let stream = crate::v8::search(crm, &module, &search).map_err(|e| self.sdk(e))?;
                        // One page (200 hits) unless --all, as with v2.
                        let limit = if all { usize::MAX } else { zohocrm::client::MAX_PER_PAGE as usize };
                        self.write_records(out, stream.take(limit), &fields, all).await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// A failure reading the default fields of a v8 listing, saying what to do instead.
    fn v8_fields_failure(&self, e: zohocrm::Error) -> Failure {
        let scope = e.zoho_code() == Some("OAUTH_SCOPE_MISMATCH");
        let failure = self.sdk(e);
        if scope {
            failure.hint(
                "CRM v8 listings need --fields; without it zohocrm reads the module's fields, which needs \
                 ZohoCRM.settings.fields.READ: pass --fields a,b or log in with that scope",
            )
        } else {
            failure
        }
    }

    /// Prints a write's per-record results, then fails with the error that stopped its batches,
    /// or with exit 4 when a record failed.
    fn write_results(&self, out: &mut Out, sent: Batched) -> Result<(), Failure> {
        let columns = if matches!(self.format, Format::Table | Format::Csv) {
            ["status", "code", "id", "message", "field"].map(String::from).to_vec()
        } else {
            Vec::new()
        };
        let mut writer = RowWriter::new(&mut *out, self.format, columns);
        for r in &sent.results {
            writer.write(&result_row(r)).map_err(io_failure)?;
        }
        writer.finish().map_err(io_failure)?;
        sent.outcome(|e| self.sdk(e))
    }

    async fn api(&mut self, out: &mut Out, method: &str, path: &str, data: Option<&str>) -> Result<(), Failure> {
        let method = http::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .ok()
            .filter(|m| {
                [http::Method::GET, http::Method::POST, http::Method::PUT, http::Method::PATCH, http::Method::DELETE]
                    .contains(m)
            })
            .ok_or_else(|| Failure::usage(format!("{method:?} is not GET, POST, PUT, PATCH or DELETE")))?;
        let body = data.map(read_json).transpose()?;
        let path = if path.starts_with("/crm/") {
            path.to_owned()
        } else {
            format!("{}{}", self.api_version.prefix(), path.trim_start_matches('/'))
        };
        let (_zoho, crm) = self.crm().await?;
        let write = method != http::Method::GET;
        let answer = crm.v2().request(method, &path, body.as_ref()).await.map_err(|e| self.sdk(e))?;
        if let Some(body) = &answer.body {
            match self.format {
                Format::Ndjson => serde_json::to_writer(&mut *out, body),
                _ => serde_json::to_writer_pretty(&mut *out, body),
            }
            .map_err(|e| io_failure(e.into()))?;
            writeln!(out).map_err(io_failure)?;
        }
        crate::writes::api_exit(write, answer.status, answer.body.as_ref())
    }

    /// `POST /crm/v8/coql`: the rows, in the chosen output format (none for an empty result),
    /// and a note on stderr when more rows match than the query's `LIMIT`.
    async fn coql(&mut self, out: &mut Out, query: &str) -> Result<(), Failure> {
        let (_zoho, crm) = self.crm().await?;
        // COQL is a v8 endpoint whatever --api-version says.
        let v8 = zohocrm::client_v8::CrmV8Client::from(crm.v2().clone());
        let page = v8.coql_text::<Record>(query).await.map_err(|e| self.sdk(e))?;
        let more = page.more_records();
        // A table shows every column the rows carry (a listing's table picks a few).
        let columns = match self.format {
            Format::Table => crate::coql::columns(query, page.items.iter().map(to_row)),
            _ => Vec::new(),
        };
        let stream = futures_util::stream::iter(page.items.into_iter().map(Ok));
        self.write_records(out, stream, &columns, false).await?;
        if more && std::io::stderr().is_terminal() {
            eprintln!("(more rows match: raise the query's LIMIT, or page with OFFSET)");
        }
        Ok(())
    }

    async fn token(&mut self, out: &mut Out, command: TokenCommand) -> Result<(), Failure> {
        let store = self.open_store(false).await?;
        let key = self.connection(&store).await?;
        let zoho = self.zoho(store).await?;
        let manager = zoho.tokens();
        if let TokenCommand::Refresh = command {
            let current = manager.token(&key).await.map_err(|e| self.sdk(e))?;
            match &current.access_token {
                Some(access) => manager.refresh_after_rejection(&key, access).await.map_err(|e| self.sdk(e))?,
                None => manager.access_token(&key).await.map_err(|e| self.sdk(e))?,
            };
        }
        let token = manager.token(&key).await.map_err(|e| self.sdk(e))?;
        let expires_in_s = token.remaining_ms(manager.now_ms()) / 1000;
        let row: Vec<(&str, Value)> = vec![
            ("profile", json!(self.profile)),
            ("user", json!(self.settings.profile.user)),
            ("dc", json!(key.dc.location())),
            ("environment", json!(key.environment.as_str())),
            ("api_domain", json!(token.api_domain)),
            ("accounts_server", json!(token.accounts_server)),
            ("scopes", json!(token.scopes.join(","))),
            (
                "access_token",
                json!(if expires_in_s > 0 {
                    format!("valid for {expires_in_s} s")
                } else {
                    "expired (refreshed on next use)".to_owned()
                }),
            ),
            (
                "refresh_token",
                json!(if token.refresh_token.is_some() {
                    "stored"
                } else {
                    "none: log in again when the access token expires"
                }),
            ),
            ("store", json!(self.settings.store_path.display().to_string())),
        ];
        write_object(out, self.format, &row).map_err(io_failure)
    }

    async fn logout(&mut self, out: &mut Out) -> Result<(), Failure> {
        let store = self.open_store(false).await?;
        let key = self.connection(&store).await?;
        let zoho = self.zoho(store).await?;
        zoho.disconnect(&key).await.map_err(|e| self.sdk(e))?;
        let mut file = crate::config::load_profiles(&self.settings.profiles_path)?;
        if file.profiles.remove(&self.profile).is_some() {
            crate::config::save_profiles(&self.settings.profiles_path, &file)?;
        }
        writeln!(
            out,
            "Logged out profile `{}` ({} {}): token revoked at {} and removed from the store.",
            self.profile,
            key.dc.name(),
            key.environment.as_str(),
            zoho.endpoints().accounts_server(key.dc)
        )
        .map_err(io_failure)
    }
}

/// Creates the store's directory, private to the user (0700) when it is new.
fn create_private_dir(dir: &Path) -> Result<(), Failure> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Failure::other(format!("cannot create {}: {e}", dir.display())))
}
