//! Reading Zoho SDK DBStore tables (`oauthtoken`, SDK 2.1 and 8.0 layouts) from either SQL
//! backend: which columns to select and how a selected row becomes a [`ZohoTokenRow`] for
//! [`crate::store::import_zoho_rows`].

use crate::secret::{AccessToken, RefreshToken};
use crate::store::{StoreError, ZohoTokenRow};

/// The DBStore fields read, in order; `user` is `user_name` (8.0) or `user_mail` (2.1).
pub(crate) const FIELDS: [&str; 7] =
    ["id", "user", "refresh_token", "access_token", "grant_token", "expiry_time", "api_domain"];

/// Builds the select list for a DBStore table with the columns `present`, wrapping each column
/// name with `expr` (a cast to text); absent optional columns read as NULL.
pub(crate) fn select_list(present: &[String], expr: impl Fn(&str) -> String) -> Result<String, StoreError> {
    let has = |name: &str| present.iter().any(|p| p.eq_ignore_ascii_case(name));
    let mut parts = Vec::new();
    for field in FIELDS {
        let column = match field {
            "user" if has("user_name") => Some("user_name"),
            "user" if has("user_mail") => Some("user_mail"),
            "user" => None,
            f if has(f) => Some(f),
            _ => None,
        };
        match column {
            Some(c) => parts.push(expr(c)),
            None if matches!(field, "grant_token" | "api_domain") => parts.push("NULL".to_owned()),
            None => {
                return Err(StoreError::Import {
                    line: 0,
                    reason: format!(
                        "the table has no {field} column (found: {}); expected Zoho's DBStore oauthtoken layout",
                        present.join(", ")
                    ),
                });
            }
        }
    }
    Ok(parts.join(", "))
}

/// A row from [`FIELDS`]-ordered values (`line`: its 1-based row number).
pub(crate) fn row(line: usize, values: Vec<Option<String>>) -> ZohoTokenRow {
    let mut values = values.into_iter();
    let mut next = || values.next().flatten().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    ZohoTokenRow {
        line,
        id: next().unwrap_or_default(),
        user: next().unwrap_or_default(),
        refresh_token: next().map(RefreshToken::new),
        access_token: next().map(AccessToken::new),
        has_grant_token: next().is_some(),
        expiry_time: next().unwrap_or_default(),
        api_domain: next(),
    }
}
