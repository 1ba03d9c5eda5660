//! Migration from Zoho's official SDKs: their FileStore CSV (`sdk_tokens.txt`) and their
//! DBStore `oauthtoken` table layouts (SDK 2.1 and 8.0), turned into [`Token`]s.
//!
//! Zoho's stores keep the client id, client secret, grant token and redirect URI next to each
//! token; none of those is imported (the client secret is dropped while the file is parsed).
//! The data center and environment come from the row's `api_domain` (SDK 8.0), looked up in
//! Zoho's API domains `https://{www|sandbox|developer}.zohoapis.{com|eu|in|com.au|com.cn|jp|ca|sa}`
//! or by a caller-supplied resolver; rows without one (SDK 2.1) take the caller's default.
//! A schemeless `api_domain` (`www.zohoapis.eu`, common in Zoho's files) is stored as
//! `https://www.zohoapis.eu`, the form the client accepts; a value that is not a host or URL
//! (spaces, user information, a query) is skipped with the reason.
//!
//! ```
//! use zohocrm::dc::{DataCenter, Environment};
//! use zohocrm::store::{ImportOptions, import_zoho_filestore};
//! let csv = "id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri\r\n\
//!            1,ann@example.com,1000.CID,s3cret,1000.r,1000.a,,1700000000000,https://app.example.com/cb\r\n";
//! let options = ImportOptions::new(1_700_000_000_000).default_location(DataCenter::Eu, Environment::Production);
//! let report = import_zoho_filestore(csv, &options).unwrap();
//! assert_eq!(report.tokens[0].key.to_string(), "ann@example.com@eu/production");
//! assert_eq!(report.tokens[0].api_domain, "https://www.zohoapis.eu");
//! ```

use std::collections::HashMap;
use std::fmt;

use zeroize::Zeroize;

use super::StoreError;
use crate::dc::{DataCenter, Environment};
use crate::secret::{AccessToken, RefreshToken};
use crate::token::{Token, TokenKey};

/// A caller-supplied mapping from a stored `api_domain` to a data center and environment.
pub type ApiDomainResolver<'a> = &'a (dyn Fn(&str) -> Option<(DataCenter, Environment)> + 'a);

/// How to turn Zoho SDK rows into tokens.
#[derive(Clone, Default)]
pub struct ImportOptions<'a> {
    /// Data center and environment for rows without an `api_domain` (SDK 2.1 stores).
    pub default_location: Option<(DataCenter, Environment)>,
    /// Resolves a row's `api_domain` instead of the built-in table of Zoho API domains.
    pub resolve_api_domain: Option<ApiDomainResolver<'a>>,
    /// `created_at_ms` and `updated_at_ms` of the imported tokens.
    pub now_ms: i64,
    /// Scopes to record on every imported token (Zoho's stores do not keep scopes).
    pub scopes: Vec<String>,
}

impl<'a> ImportOptions<'a> {
    /// Options stamping tokens with `now_ms`, with no default location and the built-in
    /// `api_domain` table.
    pub fn new(now_ms: i64) -> Self {
        Self { now_ms, ..Self::default() }
    }

    /// Data center and environment for rows without an `api_domain`.
    pub fn default_location(mut self, dc: DataCenter, environment: Environment) -> Self {
        self.default_location = Some((dc, environment));
        self
    }

    /// Resolves `api_domain` values with `resolver` instead of the built-in table.
    pub fn resolve_api_domain(mut self, resolver: ApiDomainResolver<'a>) -> Self {
        self.resolve_api_domain = Some(resolver);
        self
    }

    /// Records `scopes` on every imported token.
    pub fn scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl fmt::Debug for ImportOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportOptions")
            .field("default_location", &self.default_location)
            .field("resolve_api_domain", &self.resolve_api_domain.map(|_| "<fn>"))
            .field("now_ms", &self.now_ms)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// One row of a Zoho SDK token store, reduced to what can be imported (client id, client
/// secret and redirect URI are never read into it).
#[derive(Clone, Debug)]
pub struct ZohoTokenRow {
    /// 1-based CSV line of the row (header = line 1), or row number for database tables.
    pub line: usize,
    /// Zoho's row id.
    pub id: String,
    /// `user_mail` (2.1) or `user_name` (8.0); may be empty.
    pub user: String,
    /// The refresh token, if any.
    pub refresh_token: Option<RefreshToken>,
    /// The access token, if any.
    pub access_token: Option<AccessToken>,
    /// Whether the row holds a grant token (only used to explain skipped rows).
    pub has_grant_token: bool,
    /// `expiry_time`: epoch milliseconds as text; may be empty.
    pub expiry_time: String,
    /// `api_domain` (8.0 only), if present and not empty.
    pub api_domain: Option<String>,
}

/// The result of an import: the tokens, and the rows that were deliberately left out.
#[derive(Debug)]
pub struct ImportReport {
    /// One token per (user, data center, environment), in input order of their last row.
    pub tokens: Vec<Token>,
    /// Rows not imported, with the reason.
    pub skipped: Vec<SkippedRow>,
}

/// A row left out of an import.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SkippedRow {
    /// The row's line (CSV) or row number (database).
    pub line: usize,
    /// Zoho's row id.
    pub id: String,
    /// Why it was left out.
    pub reason: String,
}

/// Imports Zoho's FileStore CSV (`sdk_tokens.txt`), with either the SDK 2.1 header
/// (`id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri`)
/// or the 8.0 header (the same with `user_name` and a trailing `api_domain`).
///
/// Rows with neither an access nor a refresh token (an unused grant token) are skipped, and of
/// several rows for the same user, data center and environment the last one wins; both are
/// listed in [`ImportReport::skipped`]. A malformed file or a row whose data center cannot be
/// determined is an error ([`StoreError::Import`] with the line).
pub fn import_zoho_filestore(csv_text: &str, options: &ImportOptions<'_>) -> Result<ImportReport, StoreError> {
    let mut records = parse_csv(csv_text)?;
    let Some((_, header)) = records.first() else {
        return Err(StoreError::Import {
            line: 0,
            reason: "the file is empty; expected Zoho's FileStore header".into(),
        });
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_ascii_lowercase()).collect();
    let position = |name: &str| header.iter().position(|h| h == name);
    let missing = |name: &str| StoreError::Import {
        line: 1,
        reason: format!(
            "header has no {name} column; expected Zoho's FileStore header \
             (2.1: id,user_mail,client_id,client_secret,refresh_token,access_token,grant_token,expiry_time,redirect_uri; \
             8.0: id,user_name,...,redirect_uri,api_domain)"
        ),
    };
    let id = position("id").ok_or_else(|| missing("id"))?;
    let user = position("user_name").or_else(|| position("user_mail")).ok_or_else(|| missing("user_mail/user_name"))?;
    let refresh = position("refresh_token").ok_or_else(|| missing("refresh_token"))?;
    let access = position("access_token").ok_or_else(|| missing("access_token"))?;
    let expiry = position("expiry_time").ok_or_else(|| missing("expiry_time"))?;
    let grant = position("grant_token");
    let api_domain = position("api_domain");

    let mut rows = Vec::with_capacity(records.len().saturating_sub(1));
    for (line, fields) in records.iter_mut().skip(1) {
        if fields.len() != header.len() {
            let found = fields.len();
            fields.iter_mut().for_each(Zeroize::zeroize);
            return Err(StoreError::Import {
                line: *line,
                reason: format!("row has {found} fields but the header has {}; the file is damaged", header.len()),
            });
        }
        let text = |i: usize| fields[i].trim().to_owned();
        let secret = |i: usize| Some(fields[i].trim()).filter(|v| !v.is_empty());
        rows.push(ZohoTokenRow {
            line: *line,
            id: text(id),
            user: text(user),
            refresh_token: secret(refresh).map(RefreshToken::new),
            access_token: secret(access).map(AccessToken::new),
            has_grant_token: grant.is_some_and(|g| !fields[g].trim().is_empty()),
            expiry_time: text(expiry),
            api_domain: api_domain.map(text).filter(|v| !v.is_empty()),
        });
        // The client secret and every token are wiped from the parse buffers.
        fields.iter_mut().for_each(Zeroize::zeroize);
    }
    import_zoho_rows(rows, options)
}

/// Turns rows of a Zoho SDK token store (CSV or DBStore table) into tokens; see
/// [`import_zoho_filestore`] for the rules.
pub fn import_zoho_rows(
    rows: impl IntoIterator<Item = ZohoTokenRow>,
    options: &ImportOptions<'_>,
) -> Result<ImportReport, StoreError> {
    let mut tokens: Vec<Option<(usize, String, Token)>> = Vec::new();
    let mut by_key: HashMap<TokenKey, usize> = HashMap::new();
    let mut skipped = Vec::new();
    for row in rows {
        if row.access_token.is_none() && row.refresh_token.is_none() {
            let reason = if row.has_grant_token {
                "only a grant token (a short-lived code that was never exchanged): connect this user again"
            } else {
                "neither an access token nor a refresh token"
            };
            skipped.push(SkippedRow { line: row.line, id: row.id, reason: reason.into() });
            continue;
        }
        let fail = |reason: String| StoreError::Import { line: row.line, reason };
        let user = if row.user.is_empty() { row.id.clone() } else { row.user.clone() };
        if user.is_empty() {
            return Err(fail("row has neither a user nor an id to key the token by".into()));
        }
        let expires_at_ms = if row.expiry_time.is_empty() {
            0
        } else {
            row.expiry_time
                .parse::<i64>()
                .map_err(|_| fail(format!("expiry_time {:?} is not epoch milliseconds", row.expiry_time)))?
        };
        let (dc, environment, api_domain) = match &row.api_domain {
            Some(raw) => {
                let domain = match normalize_api_domain(raw) {
                    Ok(domain) => domain,
                    Err(why) => {
                        skipped.push(SkippedRow {
                            line: row.line,
                            id: row.id,
                            reason: format!("api_domain {raw:?} {why}; fix the row or connect this user again"),
                        });
                        continue;
                    }
                };
                let domain = &domain;
                let found = match options.resolve_api_domain {
                    Some(resolve) => resolve(domain),
                    None => location_of_api_domain(domain),
                };
                let (dc, env) = found.ok_or_else(|| {
                    fail(format!(
                        "api_domain {domain:?} is not a known Zoho API domain; pass a resolver (ImportOptions::resolve_api_domain)"
                    ))
                })?;
                (dc, env, domain.clone())
            }
            None => {
                let (dc, env) = options.default_location.ok_or_else(|| {
                    fail("row has no api_domain (a Zoho SDK 2.1 store); pass the data center and environment it was created in (ImportOptions::default_location)".into())
                })?;
                (dc, env, dc.api_domain(env).to_owned())
            }
        };
        let key = TokenKey::new(user, dc, environment);
        let token = Token {
            key: key.clone(),
            access_token: row.access_token,
            refresh_token: row.refresh_token,
            expires_at_ms,
            api_domain,
            accounts_server: dc.accounts_server().to_owned(),
            scopes: options.scopes.clone(),
            created_at_ms: options.now_ms,
            updated_at_ms: options.now_ms,
        };
        if let Some(&earlier) = by_key.get(&key)
            && let Some((line, id, _)) = tokens[earlier].take()
        {
            skipped.push(SkippedRow {
                line,
                id,
                reason: format!("superseded by line {} (same user, data center and environment)", row.line),
            });
        }
        by_key.insert(key, tokens.len());
        tokens.push(Some((row.line, row.id, token)));
    }
    skipped.sort_by_key(|s| s.line);
    Ok(ImportReport { tokens: tokens.into_iter().flatten().map(|(_, _, t)| t).collect(), skipped })
}

/// Turns a stored `api_domain` into the URL form the client accepts: Zoho's SDK files often
/// hold `www.zohoapis.eu` without a scheme, which becomes `https://www.zohoapis.eu` (host
/// lowercased, a trailing slash dropped). A value with a scheme keeps it and its path (a
/// gateway; the data-center table or the caller's resolver decides whether it is acceptable).
/// Anything else — spaces, user information, a query or fragment, another scheme — is refused
/// with why.
fn normalize_api_domain(raw: &str) -> Result<String, &'static str> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") { raw.to_owned() } else { format!("https://{raw}") };
    let url = url::Url::parse(&with_scheme).map_err(|_| "is not a host name or URL")?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err("is not an https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("carries user information");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("has a query or fragment (expected a host)");
    }
    let host = match url.host() {
        Some(url::Host::Domain(host)) => host.to_owned(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        None => return Err("has no host"),
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(format!("{}://{host}{port}{}", url.scheme(), url.path().trim_end_matches('/')))
}

/// The built-in lookup: Zoho's real API domains, through the data-center table
/// (`https://` may be missing in old stores; case and one trailing slash are ignored).
fn location_of_api_domain(domain: &str) -> Option<(DataCenter, Environment)> {
    let domain = domain.trim();
    if domain.contains("://") {
        DataCenter::from_api_domain(domain).ok()
    } else {
        DataCenter::from_api_domain(&format!("https://{domain}")).ok()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    QuoteInQuoted,
}

/// A small CSV reader for what Python's `csv.writer` (QUOTE_MINIMAL, `"` doubled) writes:
/// records as (1-based line where they start, fields). Blank lines are skipped; CRLF or LF.
fn parse_csv(text: &str) -> Result<Vec<(usize, Vec<String>)>, StoreError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields: Vec<String> = Vec::new();
    let mut field = String::new();
    let mut state = State::FieldStart;
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        let end_of_record = match (state, c) {
            (State::Quoted, '"') => {
                state = State::QuoteInQuoted;
                false
            }
            (State::Quoted, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
                false
            }
            (State::QuoteInQuoted, '"') => {
                field.push('"');
                state = State::Quoted;
                false
            }
            (State::FieldStart, '"') => {
                state = State::Quoted;
                false
            }
            (_, ',') => {
                fields.push(std::mem::take(&mut field));
                state = State::FieldStart;
                false
            }
            (_, '\r' | '\n') => true,
            (State::QuoteInQuoted, _) => {
                return Err(StoreError::Import {
                    line,
                    reason: "unexpected character after a closing quote; the file is not valid CSV".into(),
                });
            }
            (_, c) => {
                field.push(c);
                state = State::Unquoted;
                false
            }
        };
        if end_of_record {
            if c == '\r' && chars.peek() == Some(&'\n') {
                chars.next();
            }
            fields.push(std::mem::take(&mut field));
            let blank = fields.len() == 1 && fields[0].is_empty();
            if blank {
                fields.clear();
            } else {
                records.push((record_line, std::mem::take(&mut fields)));
            }
            line += 1;
            record_line = line;
            state = State::FieldStart;
        }
    }
    if state == State::Quoted {
        return Err(StoreError::Import {
            line: record_line,
            reason: "a quoted field is never closed; the file is truncated or not valid CSV".into(),
        });
    }
    if !(state == State::FieldStart && fields.is_empty() && field.is_empty()) {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quoting() {
        let text = "a,b,c\r\n\"x,1\",\"say \"\"hi\"\"\",\r\n\r\n\"multi\nline\",,z\nlast,\"\",";
        let records = parse_csv(text).unwrap();
        assert_eq!(
            records,
            vec![
                (1, vec!["a".into(), "b".into(), "c".into()]),
                (2, vec!["x,1".into(), "say \"hi\"".into(), String::new()]),
                (4, vec!["multi\nline".into(), String::new(), "z".into()]),
                (6, vec!["last".into(), String::new(), String::new()]),
            ]
        );
    }

    #[test]
    fn csv_errors_name_the_line() {
        let err = parse_csv("a,b\n\"open,b\n").unwrap_err();
        assert!(matches!(err, StoreError::Import { line: 2, .. }), "{err}");
        let err = parse_csv("a,b\n\"x\"y,b\n").unwrap_err();
        assert!(matches!(err, StoreError::Import { line: 2, .. }), "{err}");
    }

    #[test]
    fn api_domains() {
        assert_eq!(location_of_api_domain("https://www.zohoapis.com"), Some((DataCenter::Us, Environment::Production)));
        assert_eq!(
            location_of_api_domain("https://sandbox.zohoapis.com.au/"),
            Some((DataCenter::Au, Environment::Sandbox))
        );
        assert_eq!(location_of_api_domain("developer.zohoapis.sa"), Some((DataCenter::Sa, Environment::Developer)));
        assert_eq!(location_of_api_domain("https://www.zohoapis.uk"), None);
        assert_eq!(location_of_api_domain("https://evil.com/www.zohoapis.com"), None);
        for dc in DataCenter::ALL {
            for env in Environment::ALL {
                assert_eq!(location_of_api_domain(dc.api_domain(env)), Some((dc, env)));
            }
        }
    }
}
