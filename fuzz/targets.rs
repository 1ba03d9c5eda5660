//! The fuzz target bodies, shared by the `cargo fuzz` binaries (`fuzz/fuzz_targets/*.rs`, nightly,
//! libFuzzer) and the stable replay test (`tests/fuzz_corpus.rs`): both include this file with
//! `#[path]`, so the corpus is checked by exactly the code that grew it.
//!
//! Every target takes arbitrary bytes, must never panic, and asserts what must hold for any
//! input: resolvers accept only URLs of the table, errors and `Debug` output never show a secret,
//! what the generated types decode they encode and decode again to the same JSON.
#![allow(dead_code, reason = "each fuzz target and the corpus replay test use a part of it")]

use std::sync::OnceLock;

use zohocrm::SecretString;
use zohocrm::accounts::types::TokenResponse;
use zohocrm::client::Criteria;
use zohocrm::crm::types as crm;
use zohocrm::dc::{DataCenter, Endpoints, Environment};
use zohocrm::oauth::{AuthorizationRequest, Callback, PendingAuthorization};
use zohocrm::store::{ImportOptions, import_zoho_filestore};

/// A fuzz target: arbitrary bytes in, a panic when an invariant breaks.
pub type Target = fn(&[u8]);

/// Every target by name; the names are the `fuzz/fuzz_targets/<name>.rs` binaries and the
/// `fuzz/corpus/<name>/` directories.
pub const TARGETS: &[(&str, Target)] = &[
    ("callback", callback),
    ("token_response", token_response),
    ("crm_decode", crm_decode),
    ("dc_resolve", dc_resolve),
    ("criteria", criteria),
    ("import_filestore", import_filestore),
];

/// Planted secrets: letters only (no hex digit first, so no `%` before them can decode into
/// them), never produced by the SDK itself. Inputs that already contain one are not checked.
const CODE_MARK: &str = "zzCODEsecretMARKzz";
const STATE_MARK: &str = "zzSTATEsecretMARKzz";
const PASSWORD_MARK: &str = "zzPASSWORDsecretMARKzz";
const MARKS: [&str; 3] = [CODE_MARK, STATE_MARK, PASSWORD_MARK];

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

fn has_mark(s: &str) -> bool {
    MARKS.iter().any(|m| s.contains(m))
}

fn assert_hidden(shown: &str, what: &str) {
    for mark in MARKS {
        assert!(!shown.contains(mark), "{what} shows a planted secret: {shown}");
    }
}

fn endpoints() -> &'static Endpoints {
    static ENDPOINTS: OnceLock<Endpoints> = OnceLock::new();
    ENDPOINTS.get_or_init(Endpoints::zoho)
}

fn pending() -> &'static PendingAuthorization {
    static PENDING: OnceLock<PendingAuthorization> = OnceLock::new();
    PENDING.get_or_init(|| {
        AuthorizationRequest::new("1000.FUZZCLIENT", "https://app.example/cb")
            .scopes(["ZohoCRM.users.READ"])
            .build(endpoints())
            .map(|(_, pending)| pending)
            .unwrap_or_else(|e| panic!("the OS random number generator failed: {e}"))
    })
}

/// What a received value must be, up to case, one trailing slash and one whole-value
/// percent-decoding, to name a table entry (the oracle of tests/dc_props.rs).
fn oracle(s: &str) -> String {
    let decoded = if !s.contains("://") && s.contains('%') {
        percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
    } else {
        s.to_owned()
    };
    let lower = decoded.to_ascii_lowercase();
    lower.strip_suffix('/').map(str::to_owned).unwrap_or(lower)
}

/// Every resolver on `s`: an `Ok` only for the table's own URL or code, and errors that render.
fn assert_resolvers_sound(e: &Endpoints, s: &str) {
    match e.resolve_accounts_server(s) {
        Ok(dc) => assert_eq!(oracle(s), dc.accounts_server(), "{s:?} resolved to accounts server of {dc}"),
        Err(err) => assert_hidden(&format!("{err} {err:?}"), "resolve_accounts_server error"),
    }
    match e.resolve_api_domain(s) {
        Ok((dc, env)) => assert_eq!(oracle(s), dc.api_domain(env), "{s:?} resolved to API domain of {dc} {env}"),
        Err(err) => assert_hidden(&format!("{err} {err:?}"), "resolve_api_domain error"),
    }
    match e.resolve_location(s) {
        Ok(dc) => assert!(s.trim().eq_ignore_ascii_case(dc.location()), "{s:?} resolved to location {dc}"),
        Err(err) => assert_hidden(&format!("{err} {err:?}"), "resolve_location error"),
    }
    match s.parse::<Environment>() {
        Ok(env) => assert!(s.trim().eq_ignore_ascii_case(env.as_str()), "{s:?} parsed as environment {env}"),
        Err(err) => assert_hidden(&format!("{err} {err:?}"), "Environment::from_str error"),
    }
}

/// `resolve_redirect` agrees with the single resolvers it is made of.
fn assert_redirect_consistent(e: &Endpoints, location: Option<&str>, server: Option<&str>) {
    let by_location = location.map(|l| e.resolve_location(l));
    let by_server = server.map(|s| e.resolve_accounts_server(s));
    match e.resolve_redirect(location, server) {
        Ok(dc) => {
            assert!(location.is_some() || server.is_some(), "resolved a redirect without location or server");
            if let Some(l) = by_location {
                assert_eq!(l, Ok(dc), "location {location:?} disagrees with resolve_redirect");
            }
            if let Some(s) = by_server {
                assert_eq!(s, Ok(dc), "accounts server {server:?} disagrees with resolve_redirect");
            }
        }
        Err(err) => {
            let both_ok = matches!((&by_location, &by_server), (Some(Ok(a)), Some(Ok(b))) if a == b);
            let one_ok = matches!((&by_location, &by_server), (Some(Ok(_)), None) | (None, Some(Ok(_))));
            assert!(!both_ok && !one_ok, "resolve_redirect({location:?}, {server:?}) failed alone: {err}");
            assert_hidden(&format!("{err} {err:?}"), "resolve_redirect error");
        }
    }
}

/// The data-center resolvers. The input is split at the first NUL into a location and a URL;
/// the URL is also tried with a planted password, query and fragment, which no error may show.
pub fn dc_resolve(data: &[u8]) {
    let s = text(data);
    if has_mark(&s) {
        return;
    }
    let e = endpoints();
    let (first, second) = s.split_once('\0').unwrap_or((&s, &s));
    let mut parts = vec![s.as_str(), first, second];
    parts.dedup();
    for part in parts {
        assert_resolvers_sound(e, part);
    }
    assert_redirect_consistent(e, Some(first), Some(second));
    assert_redirect_consistent(e, Some(first), None);
    assert_redirect_consistent(e, None, Some(second));

    // Secrets planted where a URL carries them: userinfo (plain, backslash, whole-value encoded),
    // query and fragment.
    let host = second.split_once("://").map_or(second, |(_, rest)| rest);
    let with_password = format!("https://user:{PASSWORD_MARK}@{host}");
    let encoded: String = url::form_urlencoded::byte_serialize(with_password.as_bytes()).collect();
    for planted in [
        with_password,
        format!("https://user:{PASSWORD_MARK}\\@{host}"),
        encoded,
        format!("{second}?code={PASSWORD_MARK}"),
        format!("{second}#{PASSWORD_MARK}"),
    ] {
        assert_resolvers_sound(e, &planted);
        for result in [
            e.clone().with_accounts_server(DataCenter::Eu, &planted).err(),
            e.clone().with_api_domain(DataCenter::Eu, Environment::Sandbox, &planted).err(),
            e.clone().with_authorization_server(&planted).err(),
        ]
        .into_iter()
        .flatten()
        {
            assert_hidden(&format!("{result} {result:?}"), "Endpoints override error");
        }
    }
}

/// The redirect parser and `verify`: parsing never fails on a query, `Debug` never shows the code
/// or state, a verified code names the DC `resolve_redirect` names, and no error shows a secret.
pub fn callback(data: &[u8]) {
    let s = text(data);
    if has_mark(&s) {
        return;
    }
    let e = endpoints();
    let pending = pending();
    if let Ok(cb) = Callback::parse(&s) {
        let _ = format!("{cb:?}");
        if let Err(err) = cb.verify(pending, e) {
            let _ = format!("{err} {err:?}");
        }
    }
    // A matching state reaches the data-center checks; the planted code and state are secrets.
    let state: String = url::form_urlencoded::byte_serialize(pending.state().expose().as_bytes()).collect();
    for input in [
        format!("{s}&code={CODE_MARK}&state={STATE_MARK}"),
        format!("{s}&code={CODE_MARK}&state={state}"),
        format!("code={CODE_MARK}&state={state}&{s}"),
    ] {
        let cb = match Callback::parse(&input) {
            Ok(cb) => cb,
            Err(err) => {
                assert_hidden(&format!("{err} {err:?}"), "Callback::parse error");
                continue;
            }
        };
        assert_hidden(&format!("{cb:?}"), "Callback Debug");
        let (location, server) = (cb.location().map(str::to_owned), cb.accounts_server().map(str::to_owned));
        match cb.verify(pending, e) {
            Ok(code) => {
                assert_hidden(&format!("{code:?}"), "AuthorizationCode Debug");
                assert_eq!(
                    e.resolve_redirect(location.as_deref(), server.as_deref()),
                    Ok(code.dc()),
                    "verify chose a DC resolve_redirect does not"
                );
            }
            Err(err) => assert_hidden(&format!("{err} {err:?}"), "Callback::verify error"),
        }
    }
}

/// Encoding a decoded value and decoding it again gives the same JSON.
fn assert_round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(value: &T, what: &str) {
    let first = serde_json::to_value(value).unwrap_or_else(|e| panic!("{what}: cannot encode what was decoded: {e}"));
    let again: T =
        serde_json::from_value(first.clone()).unwrap_or_else(|e| panic!("{what}: cannot decode its own encoding: {e}"));
    let second = serde_json::to_value(&again).unwrap_or_else(|e| panic!("{what}: cannot encode again: {e}"));
    assert_eq!(first, second, "{what}: encoding is not stable");
}

/// The token endpoint's answer: decodes or fails cleanly, round-trips, and its `Debug` does not
/// depend on the secrets it holds (so it cannot show them).
pub fn token_response(data: &[u8]) {
    let Ok(response) = serde_json::from_slice::<TokenResponse>(data) else {
        return;
    };
    assert_round_trip(&response, "TokenResponse");
    let mut other = response.clone();
    if other.access_token.is_some() {
        other.access_token = Some(zohocrm::AccessToken::new("a different secret"));
    }
    if other.refresh_token.is_some() {
        other.refresh_token = Some(zohocrm::RefreshToken::new("a different secret"));
    }
    if other.id_token.is_some() {
        other.id_token = Some(SecretString::new("a different secret"));
    }
    assert_eq!(format!("{response:?}"), format!("{other:?}"), "TokenResponse Debug shows a secret");
}

/// CRM bodies: the error envelope and the record and user decoders, each tried on every input.
pub fn crm_decode(data: &[u8]) {
    fn one<T: serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug>(data: &[u8], what: &str) {
        if let Ok(value) = serde_json::from_slice::<T>(data) {
            assert_round_trip(&value, what);
            let _ = format!("{value:?}");
        }
    }
    one::<crm::ErrorEnvelope>(data, "ErrorEnvelope");
    one::<crm::RecordsResponse>(data, "RecordsResponse");
    one::<crm::RecordsActionResponse>(data, "RecordsActionResponse");
    one::<crm::DeletedRecordsResponse>(data, "DeletedRecordsResponse");
    one::<crm::Record>(data, "Record");
    one::<crm::UsersResponse>(data, "UsersResponse");
    one::<crm::UsersActionResponse>(data, "UsersActionResponse");
    one::<crm::User>(data, "User");
}

/// Field API names the criteria target builds with (Zoho's are letters, digits and `_`).
const FIELDS: [&str; 4] = ["Company", "Last_Name", "Email", "Lead_Source"];

/// A parsed criteria expression: leaves are (field, operator, unescaped value).
fn parse_criteria(s: &str, leaves: &mut Vec<(String, String, String)>) -> Result<usize, String> {
    let b: Vec<char> = s.chars().collect();
    fn expr(b: &[char], i: usize, leaves: &mut Vec<(String, String, String)>) -> Result<usize, String> {
        if b.get(i) != Some(&'(') {
            return Err(format!("expected ( at {i}"));
        }
        if b.get(i + 1) == Some(&'(') {
            let mut j = expr(b, i + 1, leaves)?;
            let rest: String = b[j..].iter().take(3).collect();
            if rest.starts_with("and") {
                j += 3;
            } else if rest.starts_with("or") {
                j += 2;
            } else {
                return Err(format!("expected and/or at {j}"));
            }
            j = expr(b, j, leaves)?;
            return if b.get(j) == Some(&')') { Ok(j + 1) } else { Err(format!("expected ) at {j}")) };
        }
        // A leaf: field:op:value with `(`, `)`, `,` and `\` escaped in the value.
        let mut j = i + 1;
        let mut head = String::new();
        while let Some(&c) = b.get(j) {
            if c == ':' && head.matches(':').count() == 1 {
                break;
            }
            head.push(c);
            j += 1;
        }
        let (field, op) = head.split_once(':').ok_or("leaf without operator")?;
        j += 1;
        let mut value = String::new();
        loop {
            match b.get(j) {
                Some('\\') => {
                    let c = b.get(j + 1).ok_or("dangling escape")?;
                    if !matches!(c, '(' | ')' | ',' | '\\') {
                        return Err(format!("needless escape of {c:?}"));
                    }
                    value.push(*c);
                    j += 2;
                }
                Some(')') => break,
                Some(c) if matches!(c, '(' | ',') => return Err(format!("unescaped {c:?} in a value")),
                Some(c) => {
                    value.push(*c);
                    j += 1;
                }
                None => return Err("unterminated leaf".into()),
            }
        }
        leaves.push((field.to_owned(), op.to_owned(), value));
        Ok(j + 1)
    }
    expr(&b, 0, leaves)
}

/// The criteria builder: any values, combined with `and`/`or`, give an expression that parses
/// back into exactly those leaves (escaping is complete and unambiguous).
pub fn criteria(data: &[u8]) {
    let (program, values) = data.split_at(data.len().min(8));
    let values = text(values);
    let mut expected = Vec::new();
    let mut built: Option<Criteria> = None;
    for (i, value) in values.split('\n').take(64).enumerate() {
        let bits = program.get(i % program.len().max(1)).copied().unwrap_or(0);
        let field = FIELDS[usize::from(bits) % FIELDS.len()];
        let (leaf, op) = if bits & 4 == 0 {
            (Criteria::equals(field, value), "equals")
        } else {
            (Criteria::starts_with(field, value), "starts_with")
        };
        expected.push((field.to_owned(), op.to_owned(), value.to_owned()));
        built = Some(match built {
            None => leaf,
            Some(left) if bits & 8 == 0 => left.and(leaf),
            Some(left) => left.or(leaf),
        });
    }
    let Some(built) = built else { return };
    let rendered = built.to_string();
    let mut leaves = Vec::new();
    match parse_criteria(&rendered, &mut leaves) {
        Ok(end) => assert_eq!(end, rendered.chars().count(), "trailing text after the criteria: {rendered:?}"),
        Err(e) => panic!("criteria does not parse back ({e}): {rendered:?}"),
    }
    assert_eq!(leaves, expected, "criteria leaves changed: {rendered:?}");
}

/// The header names whose values are secrets in Zoho's FileStore.
const SECRET_COLUMNS: [&str; 4] = ["client_secret", "refresh_token", "access_token", "grant_token"];

/// The FileStore text with every non-empty secret cell replaced by a different value, for files
/// that can be split without a CSV parser (no quotes); `None` for the others.
fn with_other_secrets(csv: &str) -> Option<String> {
    if csv.contains('"') {
        return None;
    }
    let mut out = String::with_capacity(csv.len());
    let mut secret_columns: Option<Vec<bool>> = None;
    let mut replaced = 0;
    // Lines and their separators (`\r`, `\n`) are kept exactly, so line numbers do not move.
    for segment in csv.split_inclusive(['\r', '\n']) {
        let (line, separator) = match segment.strip_suffix(['\r', '\n']) {
            Some(line) => (line, &segment[line.len()..]),
            None => (segment, ""),
        };
        match &secret_columns {
            _ if line.is_empty() => out.push_str(line),
            None => {
                let header = line.strip_prefix('\u{feff}').unwrap_or(line);
                let columns =
                    header.split(',').map(|h| SECRET_COLUMNS.contains(&h.trim().to_ascii_lowercase().as_str()));
                secret_columns = Some(columns.collect());
                out.push_str(line);
            }
            Some(secret) => {
                let cells: Vec<String> = line
                    .split(',')
                    .enumerate()
                    .map(|(i, cell)| {
                        if secret.get(i).copied().unwrap_or(false) && !cell.trim().is_empty() {
                            replaced += 1;
                            format!("other{replaced}")
                        } else {
                            cell.to_owned()
                        }
                    })
                    .collect();
                out.push_str(&cells.join(","));
            }
        }
        out.push_str(separator);
    }
    (replaced > 0).then_some(out)
}

/// The FileStore importer: never panics; its result (errors, and the report's `Debug`) does not
/// depend on the values of the secret columns, so it cannot show them; every imported token's
/// data center, environment and URLs agree with its `api_domain`.
pub fn import_filestore(data: &[u8]) {
    let csv = text(data);
    let other = with_other_secrets(&csv);
    for options in [
        ImportOptions::new(1_700_000_000_000),
        ImportOptions::new(1_700_000_000_000).default_location(DataCenter::Eu, Environment::Sandbox),
    ] {
        let result = import_zoho_filestore(&csv, &options);
        let shown = match &result {
            Ok(report) => format!("{report:?}"),
            Err(err) => format!("{err} {err:?}"),
        };
        if let Some(other) = &other {
            let other_shown = match import_zoho_filestore(other, &options) {
                Ok(report) => format!("{report:?}"),
                Err(err) => format!("{err} {err:?}"),
            };
            assert_eq!(shown, other_shown, "the import result depends on (shows) the secret cells");
        }
        let Ok(report) = result else { continue };
        for token in &report.tokens {
            let (dc, env) = (token.key.dc, token.key.environment);
            assert_eq!(token.accounts_server, dc.accounts_server(), "accounts server of {dc}");
            assert!(token.access_token.is_some() || token.refresh_token.is_some(), "a token without tokens");
            assert_eq!(
                endpoints().resolve_api_domain(&token.api_domain),
                Ok((dc, env)),
                "imported api_domain {:?} does not name {dc}/{env}",
                token.api_domain
            );
        }
    }
}
