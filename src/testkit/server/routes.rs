//! Which handler a path goes to: an Accounts server, a CRM API (with the endpoint group used
//! for fault injection and the log), or the `/_sim` controls.

use crate::dc::{DataCenter, Environment};
use crate::testkit::types::Route;

/// Where a path goes.
pub(super) enum Target {
    Accounts(DataCenter, Route),
    Api(DataCenter, Environment, Route),
    Control(String),
}

pub(super) fn parse_dc(s: &str) -> Option<DataCenter> {
    DataCenter::ALL.iter().copied().find(|d| d.location() == s)
}

pub(super) fn parse_env(s: &str) -> Option<Environment> {
    Environment::ALL.iter().copied().find(|e| e.as_str() == s)
}

pub(super) fn classify(path: &str) -> Option<Target> {
    if let Some(rest) = path.strip_prefix("/_sim") {
        return Some(Target::Control(rest.to_owned()));
    }
    if let Some(rest) = path.strip_prefix("/accounts/") {
        let (dc, rest) = rest.split_once('/')?;
        let dc = parse_dc(dc)?;
        let route = match rest.trim_end_matches('/') {
            "oauth/v2/auth" | "oauth/v2/auth/signin" | "oauth/v2/auth/consent" => Route::Authorize,
            "oauth/v2/token" => Route::Token,
            "oauth/v2/token/revoke" => Route::Revoke,
            "oauth/serverinfo" => Route::ServerInfo,
            _ => return None,
        };
        return Some(Target::Accounts(dc, route));
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        let mut it = rest.splitn(3, '/');
        let dc = parse_dc(it.next()?)?;
        let env = parse_env(it.next()?)?;
        let full = it.next().unwrap_or_default();
        let rest = full.strip_prefix("crm/v2/").or_else(|| full.strip_prefix("crm/v8/")).unwrap_or(full);
        let rest = rest.trim_end_matches('/');
        let route = if rest == "users" || rest.starts_with("users/") {
            Route::Users
        } else if rest == "org" {
            Route::Org
        } else if rest.starts_with("settings/modules") {
            Route::Modules
        } else if rest.starts_with("settings/fields") {
            Route::Fields
        } else if rest.starts_with("settings/layouts") {
            Route::Layouts
        } else if rest == "coql" && full.starts_with("crm/v8/") {
            Route::Coql
        } else {
            Route::Records
        };
        return Some(Target::Api(dc, env, route));
    }
    None
}
