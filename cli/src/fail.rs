//! What the CLI tells a person when something fails: one or two lines (what happened, in
//! which data center and environment, what to run next) and a distinct exit code.
//!
//! Messages are built from the SDK's errors, which never carry a secret, and from the CLI's
//! own context (profile, DC, environment, file paths); no token, code or client secret is
//! ever formatted here.

use std::fmt;

use zohocrm::error::{CallbackError, RateLimitScope};
use zohocrm::{DataCenter, Environment, Error};

/// Exit code of a command that could not be understood (bad flags, bad input, bad config).
pub const USAGE: u8 = 2;
/// Exit code of an authorization failure (login needed, denied, wrong secret).
pub const AUTH: u8 = 3;
/// Exit code of an error answer from Zoho CRM.
pub const API: u8 = 4;
/// Exit code of a network failure (Zoho could not be reached).
pub const NETWORK: u8 = 5;
/// Exit code of anything else (the token store, local files).
pub const OTHER: u8 = 1;
/// Exit code after Ctrl-C (128 + SIGINT).
pub const INTERRUPTED: u8 = 130;

/// A failure to report: the exit code, the message and an optional hint.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// What happened.
    pub message: String,
    /// What to do next.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with this exit code.
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), hint: None }
    }

    /// A usage failure (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(USAGE, message)
    }

    /// Any other failure (exit 1).
    pub fn other(message: impl Into<String>) -> Self {
        Self::new(OTHER, message)
    }

    /// Adds what to do next.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

/// Where a command was acting, to name it in messages.
#[derive(Clone, Debug, Default)]
pub struct Context {
    /// The profile.
    pub profile: String,
    /// The data center, once known.
    pub dc: Option<DataCenter>,
    /// The environment, once known.
    pub environment: Option<Environment>,
}

impl Context {
    fn place(&self) -> String {
        match (self.dc, self.environment) {
            (Some(dc), Some(env)) => format!("{} {}", dc.name(), env.as_str()),
            (Some(dc), None) => dc.name().to_owned(),
            (None, Some(env)) => env.as_str().to_owned(),
            (None, None) => "Zoho".to_owned(),
        }
    }

    fn login_again(&self) -> String {
        let mut cmd = String::from("zohocrm login");
        if self.profile != "default" {
            cmd.push_str(&format!(" --profile {}", self.profile));
        }
        if let Some(env) = self.environment.filter(|e| *e != Environment::Production) {
            cmd.push_str(&format!(" --env {}", env.as_str()));
        }
        format!("run `{cmd}` to sign in again")
    }
}

/// The failure to report for an SDK error.
pub fn from_sdk(error: &Error, ctx: &Context) -> Failure {
    let place = ctx.place();
    match error {
        Error::ReauthorizationRequired { reason, .. } => Failure::new(
            AUTH,
            format!("the login of profile `{}` ({place}) is no longer valid: {reason}", ctx.profile),
        )
        .hint(ctx.login_again()),
        Error::NotConnected { .. } => {
            Failure::new(AUTH, format!("profile `{}` is not logged in ({place})", ctx.profile)).hint(ctx.login_again())
        }
        Error::Callback(CallbackError::Denied { .. }) => Failure::new(
            AUTH,
            "login cancelled: access was denied on Zoho's consent page (error=access_denied)",
        )
        .hint(format!("{}, and choose Accept", ctx.login_again())),
        Error::Callback(e) => Failure::new(AUTH, format!("login failed: {e}")).hint(ctx.login_again()),
        Error::OAuth { dc, error, .. } if error == "invalid_client" || error == "invalid_client_secret" => Failure::new(
            AUTH,
            format!(
                "the token endpoint of {} ({}) rejected the client ({error}): wrong client id or secret for this data center",
                dc.name(),
                ctx.environment.unwrap_or_default().as_str()
            ),
        )
        .hint(format!(
            "set the client secret of this data center in ZOHO_CLIENT_SECRET_{} (Multi-DC clients have one secret per DC) and log in again",
            dc.location().to_ascii_uppercase()
        )),
        Error::OAuth { .. } => Failure::new(AUTH, error.to_string()).hint(ctx.login_again()),
        Error::DataCenter(e) => Failure::new(AUTH, format!("{e}")).hint(
            "check --endpoints / ZOHO_ENDPOINTS and the data center; see `zohocrm login --help`",
        ),
        Error::Api { code, message, .. } if code == "OAUTH_SCOPE_MISMATCH" => Failure::new(
            AUTH,
            format!("the login of profile `{}` lacks a scope this call needs ({place}): {message}", ctx.profile),
        )
        .hint(format!("{} with `--scopes` including the scope this call needs", ctx.login_again())),
        Error::Api { status: 401, code, message, .. } => {
            Failure::new(AUTH, format!("Zoho CRM ({place}) refused the token: {code}: {message}")).hint(ctx.login_again())
        }
        Error::Api { status, code, message, details, .. } => {
            let mut text = format!("Zoho CRM ({place}) answered HTTP {status} {code}: {message}");
            if let Some(field) = details.get("api_name").and_then(|v| v.as_str()) {
                text.push_str(&format!(" (field {field})"));
            }
            let failure = Failure::new(API, text);
            match code.as_str() {
                "INVALID_MODULE" => failure.hint("run `zohocrm modules list` to see the module API names"),
                "INVALID_DATA" | "MANDATORY_NOT_FOUND" => {
                    failure.hint("run `zohocrm fields <module>` to see the field API names and types")
                }
                "NO_PERMISSION" => failure.hint("the user's CRM profile does not allow this; ask a CRM administrator"),
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED" => failure.hint(
                    "CRM v8 reaches only the first 2,000 records by page number: use --all (it follows page tokens)",
                ),
                _ => failure,
            }
        }
        Error::RateLimited { scope: RateLimitScope::TokenEndpoint, retry_after } => Failure::new(
            AUTH,
            format!(
                "Zoho Accounts ({place}) throttled token requests (10 per refresh token per 10 minutes)"
            ),
        )
        .hint(format!("wait {} s, then try again", retry_after.as_secs())),
        Error::RateLimited { retry_after, .. } => {
            Failure::new(API, format!("Zoho CRM ({place}) answered TOO_MANY_REQUESTS"))
                .hint(format!("wait {} s, then try again", retry_after.as_secs()))
        }
        Error::Transport { may_have_been_sent, .. } => {
            let sent = if *may_have_been_sent {
                "it may have reached Zoho: check before repeating a write"
            } else {
                "nothing was sent"
            };
            Failure::new(NETWORK, format!("cannot reach Zoho ({place}): {error}"))
                .hint(format!("check the network connection (and --endpoints / ZOHO_ENDPOINTS); {sent}"))
        }
        Error::Decode { .. } | Error::Pagination { .. } => Failure::new(API, format!("{error} ({place})")),
        Error::InvalidInput { .. } | Error::Config { .. } | Error::Hook { .. } => Failure::usage(error.to_string()),
        Error::Store(e) => Failure::other(format!("token store: {e}"))
            .hint("check --store / ZOHO_STORE (a SQLite file this user can write)"),
        _ => Failure::other(error.to_string()),
    }
}
