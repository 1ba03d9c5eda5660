//! The simulator's mutable world: registered clients, accounts, sign-in sessions, codes and
//! tokens (with Zoho's limits), orgs with their data and pending faults (the request log is
//! kept apart, in `request_log`).
//!
//! Nothing here implements `Debug`: token values are map keys. Secret values are held as
//! [`SecretString`] where they are stored as data.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Map, Value, json};

use crate::dc::{DataCenter, Environment};

use super::schema::{FieldDef, ModuleDef};
use super::types::{ClientRegistration, Fault, Route};

/// Access tokens live one hour.
pub(crate) const ACCESS_TOKEN_SECS: i64 = 3600;
/// Authorization codes live 60 seconds.
pub(crate) const CODE_SECS: i64 = 60;
/// Access tokens minted per refresh token per window before the throttle answers.
pub(crate) const REFRESH_MINTS_PER_WINDOW: usize = 10;
/// The throttle window.
pub(crate) const REFRESH_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Active access tokens per refresh token; minting one more invalidates the oldest.
pub(crate) const ACTIVE_ACCESS_TOKENS: usize = 15;
/// Refresh tokens per user and client; minting one more deletes the oldest.
pub(crate) const REFRESH_TOKENS_PER_USER: usize = 20;

/// A Zoho Accounts user who can sign in.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub zuid: String,
    pub dc: DataCenter,
}

/// A signed-in browser session (carried as `sim_session` on the authorize URL).
pub(crate) struct Session {
    pub email: String,
    pub created_ms: i64,
}

/// An authorization code.
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub email: String,
    pub dc: DataCenter,
    pub environment: Environment,
    pub scopes: Vec<String>,
    pub issue_refresh: bool,
    pub created_ms: i64,
    /// How long the code is valid (60 s for redirect codes; 3–10 min for Self Client codes).
    pub valid_ms: i64,
    /// A Self Client code: exchanged without a redirect URI.
    pub self_client: bool,
    pub used: bool,
}

/// A refresh token.
pub(crate) struct RefreshToken {
    pub client_id: String,
    pub email: String,
    pub dc: DataCenter,
    pub environment: Environment,
    pub scopes: Vec<String>,
    pub seq: u64,
    /// When each access token was minted from it with the refresh grant (throttle window).
    pub refresh_mints: Vec<i64>,
}

/// An access token.
pub(crate) struct AccessToken {
    pub email: String,
    pub dc: DataCenter,
    pub environment: Environment,
    pub scopes: Vec<String>,
    pub expires_ms: i64,
    pub refresh_token: Option<String>,
    pub seq: u64,
    /// Invalidated by the 15-active-tokens rule: answers `INVALID_OAUTHTOKEN`.
    pub superseded: bool,
    /// Revoked (directly, with its refresh token, or out of band): answers `INVALID_TOKEN`.
    pub revoked: bool,
}

/// A CRM user of one org.
pub(crate) struct CrmUser {
    pub id: String,
    pub email: String,
    pub modified_s: i64,
    pub json: Map<String, Value>,
    /// Modules this user's profile may not touch (answers `NO_PERMISSION`).
    pub denied_modules: Vec<String>,
}

impl CrmUser {
    pub(crate) fn str_field(&self, key: &str) -> &str {
        self.json.get(key).and_then(Value::as_str).unwrap_or_default()
    }
    pub(crate) fn full_name(&self) -> String {
        self.str_field("full_name").to_owned()
    }
}

/// The order of record ids: numeric (shorter first, then by digits), as Zoho sorts them.
pub(crate) fn id_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A stored record.
#[derive(Clone)]
pub(crate) struct Rec {
    pub id: String,
    /// The record as Zoho shows it; changed only through [`Rec::update`], which keeps
    /// `converted` and `approved` in step.
    data: Map<String, Value>,
    pub modified_s: i64,
    /// `$converted` (default false), read once per change: every listing filters on it, and
    /// looking it up in `data` for each record of a large module made a page cost O(N) map
    /// lookups.
    converted: bool,
    /// `$approved` (default true), like `converted`.
    approved: bool,
}

impl Rec {
    pub(crate) fn new(id: String, data: Map<String, Value>, modified_s: i64) -> Self {
        let mut rec = Rec { id, data, modified_s, converted: false, approved: true };
        rec.read_state();
        rec
    }

    /// The record's fields (with `id` and the `$` keys).
    pub(crate) fn data(&self) -> &Map<String, Value> {
        &self.data
    }

    /// Changes the record's fields.
    pub(crate) fn update(&mut self, change: impl FnOnce(&mut Map<String, Value>)) {
        change(&mut self.data);
        self.read_state();
    }

    /// `$converted`: a converted lead.
    pub(crate) fn converted(&self) -> bool {
        self.converted
    }

    /// `$approved`: not waiting for approval.
    pub(crate) fn approved(&self) -> bool {
        self.approved
    }

    fn read_state(&mut self) {
        self.converted = self.data.get("$converted").and_then(Value::as_bool).unwrap_or(false);
        self.approved = self.data.get("$approved").and_then(Value::as_bool).unwrap_or(true);
    }
}

/// A module as one org has it: definition plus its generated metadata.
pub(crate) struct OrgModule {
    pub def: &'static ModuleDef,
    pub json: Value,
    pub fields: Vec<Value>,
    pub layouts: Vec<Value>,
}

/// A v8 page token (`info.next_page_token`): where the next page starts, for which query and
/// user, until when.
pub(crate) struct PageToken {
    pub email: String,
    /// The query the token belongs to (module, fields, sort, per_page, filters), canonical.
    pub query: String,
    /// Index of the first record of the page the token points to.
    pub offset: usize,
    pub expires_ms: i64,
}

/// One CRM org (a data center and environment).
pub(crate) struct Org {
    pub dc: DataCenter,
    pub id: String,
    pub prefix: u64,
    next: u64,
    pub offset_secs: i32,
    pub time_zone: String,
    pub currency_symbol: String,
    pub company: String,
    pub owner: (String, String),
    pub org_json: Value,
    pub roles: Vec<(String, String)>,
    pub profiles: Vec<(String, String)>,
    pub users: Vec<CrmUser>,
    pub modules: Vec<OrgModule>,
    pub records: BTreeMap<&'static str, Vec<Rec>>,
    pub deleted: BTreeMap<&'static str, Vec<(i64, Value)>>,
    pub metadata_modified_s: i64,
    /// Live v8 page tokens of this org.
    pub page_tokens: HashMap<String, PageToken>,
}

impl Org {
    pub(crate) fn new(dc: DataCenter, prefix: u64, offset_secs: i32, tz: &str, symbol: &str) -> Self {
        Org {
            dc,
            id: format!("{}", prefix * 10 + 3),
            prefix,
            next: 186_017,
            offset_secs,
            time_zone: tz.to_owned(),
            currency_symbol: symbol.to_owned(),
            company: String::new(),
            owner: (String::new(), String::new()),
            org_json: Value::Null,
            roles: Vec::new(),
            profiles: Vec::new(),
            users: Vec::new(),
            modules: Vec::new(),
            records: BTreeMap::new(),
            deleted: BTreeMap::new(),
            metadata_modified_s: 0,
            page_tokens: HashMap::new(),
        }
    }

    /// A fresh id in Zoho's shape (`3652397000000186017`).
    pub(crate) fn new_id(&mut self) -> String {
        self.next += 1;
        format!("{}{:012}", self.prefix, self.next)
    }

    pub(crate) fn role_ref(&self, name: &str) -> Value {
        self.roles.iter().find(|(n, _)| n == name).map(|(n, i)| json!({"name": n, "id": i})).unwrap_or(Value::Null)
    }

    pub(crate) fn profile_ref(&self, name: &str) -> Value {
        self.profiles.iter().find(|(n, _)| n == name).map(|(n, i)| json!({"name": n, "id": i})).unwrap_or(Value::Null)
    }

    /// The module with this API name (case-insensitive, as Zoho's URLs are).
    pub(crate) fn module(&self, api_name: &str) -> Option<&OrgModule> {
        self.modules.iter().find(|m| m.def.api_name.eq_ignore_ascii_case(api_name))
    }

    pub(crate) fn field(&self, module: &str, api_name: &str) -> Option<&'static FieldDef> {
        self.module(module).and_then(|m| m.def.fields.iter().find(|f| f.api_name.eq_ignore_ascii_case(api_name)))
    }

    /// A record with every key of the module set to its empty value.
    pub(crate) fn blank_record(&self, module: &str) -> Map<String, Value> {
        let mut r = Map::new();
        if let Some(m) = self.module(module) {
            for fd in m.def.fields {
                let empty = match fd.data_type {
                    "boolean" => Value::Bool(false),
                    _ => Value::Null,
                };
                r.insert(fd.api_name.to_owned(), empty);
            }
            for key in m.def.system_keys {
                let v = match *key {
                    "$currency_symbol" => Value::String(self.currency_symbol.clone()),
                    "$converted" | "$process_flow" => Value::Bool(false),
                    "$approved" | "$editable" => Value::Bool(true),
                    "$approval" => {
                        json!({"delegate": false, "approve": false, "reject": false, "resubmit": false})
                    }
                    "$converted_detail" => json!({}),
                    "Tag" => json!([]),
                    _ => Value::Null,
                };
                r.insert((*key).to_owned(), v);
            }
        }
        r
    }

    /// Adds a record to its module, which keeps its records in id order (new ids only grow,
    /// so this appends): listings sorted by id read them as they are.
    pub(crate) fn push_record(&mut self, module: &'static str, rec: Rec) {
        let records = self.records.entry(module).or_default();
        let at = records.partition_point(|r| id_order(&r.id, &rec.id).is_lt());
        records.insert(at, rec);
    }

    pub(crate) fn user_by_email(&self, email: &str) -> Option<&CrmUser> {
        self.users.iter().find(|u| u.email.eq_ignore_ascii_case(email))
    }
}

/// Fields Zoho computes from others (`Full_Name`).
pub(crate) fn derive_fields(module: &str, r: &mut Map<String, Value>) {
    if (module == "Leads" || module == "Contacts") && r.contains_key("Full_Name") {
        let part =
            |k: &str| r.get(k).and_then(Value::as_str).filter(|s| !s.is_empty() && *s != "-None-").map(str::to_owned);
        let full: Vec<String> = ["Salutation", "First_Name", "Last_Name"].iter().filter_map(|k| part(k)).collect();
        r.insert("Full_Name".into(), Value::String(full.join(" ")));
    }
}

/// How many records each seeded org gets per module.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeedCounts {
    pub leads: usize,
    pub contacts: usize,
    pub accounts: usize,
    pub deals: usize,
}

/// A fault waiting for its route.
pub(crate) struct PendingFault {
    pub route: Route,
    pub fault: Fault,
    pub remaining: usize,
}

/// Everything the simulator knows.
pub(crate) struct State {
    pub clients: BTreeMap<String, ClientRegistration>,
    pub accounts: Vec<Account>,
    pub orgs: BTreeMap<(DataCenter, Environment), Org>,
    pub sessions: HashMap<String, Session>,
    pub codes: HashMap<String, Code>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub seq: u64,
    pub faults: VecDeque<PendingFault>,
    /// Clock start (epoch seconds): seeded data is older.
    pub start_s: i64,
    /// Record counts of the US production org and of every other org.
    pub us_counts: SeedCounts,
    pub other_counts: SeedCounts,
}

/// What a mint is for: the client, the user, where, which scopes, and whether a new refresh
/// token comes with it (else the access token hangs off `from_refresh`, if any).
pub(crate) struct Grant<'a> {
    pub client_id: &'a str,
    pub email: &'a str,
    pub dc: DataCenter,
    pub environment: Environment,
    pub scopes: Vec<String>,
    pub with_refresh: bool,
    pub from_refresh: Option<String>,
}

/// What a successful mint produced.
pub(crate) struct Minted {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
    pub dc: DataCenter,
    pub environment: Environment,
}

/// Why an access token was not accepted.
pub(crate) enum TokenRejection {
    /// Unknown, expired, revoked, or for another DC/environment.
    Invalid,
    /// Invalidated by the 15-active-tokens rule.
    Superseded,
}

impl State {
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub(crate) fn account(&self, email: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.email.eq_ignore_ascii_case(email))
    }

    /// Whether the user has a live refresh token for this client and environment.
    pub(crate) fn has_refresh_token(&self, email: &str, client_id: &str, env: Environment) -> bool {
        self.refresh_tokens
            .values()
            .any(|r| r.email.eq_ignore_ascii_case(email) && r.client_id == client_id && r.environment == env)
    }

    /// Mints an access token (and, when asked, a refresh token), enforcing Zoho's limits:
    /// 20 refresh tokens per user and client, 15 active access tokens per refresh token.
    pub(crate) fn mint(&mut self, now_ms: i64, grant: Grant<'_>) -> Minted {
        let Grant { client_id, email, dc, environment: env, scopes, with_refresh, from_refresh } = grant;
        let mut refresh_value = None;
        let mut parent = from_refresh;
        if with_refresh {
            // The 21st refresh token deletes the oldest, with its access tokens.
            loop {
                let live: Vec<(u64, String)> = self
                    .refresh_tokens
                    .iter()
                    .filter(|(_, r)| r.email.eq_ignore_ascii_case(email) && r.client_id == client_id)
                    .map(|(k, r)| (r.seq, k.clone()))
                    .collect();
                if live.len() < REFRESH_TOKENS_PER_USER {
                    break;
                }
                if let Some((_, oldest)) = live.into_iter().min() {
                    self.remove_refresh_token(&oldest);
                }
            }
            let value = new_token();
            let seq = self.next_seq();
            self.refresh_tokens.insert(
                value.clone(),
                RefreshToken {
                    client_id: client_id.to_owned(),
                    email: email.to_owned(),
                    dc,
                    environment: env,
                    scopes: scopes.clone(),
                    seq,
                    refresh_mints: Vec::new(),
                },
            );
            refresh_value = Some(value.clone());
            parent = Some(value);
        }
        if let Some(rt) = &parent {
            // The 16th active access token of a refresh token invalidates the oldest.
            let mut active: Vec<(u64, String)> = self
                .access_tokens
                .iter()
                .filter(|(_, a)| {
                    a.refresh_token.as_deref() == Some(rt.as_str())
                        && !a.superseded
                        && !a.revoked
                        && a.expires_ms > now_ms
                })
                .map(|(k, a)| (a.seq, k.clone()))
                .collect();
            active.sort();
            while active.len() >= ACTIVE_ACCESS_TOKENS {
                let (_, oldest) = active.remove(0);
                if let Some(a) = self.access_tokens.get_mut(&oldest) {
                    a.superseded = true;
                }
            }
        }
        let value = new_token();
        let seq = self.next_seq();
        self.access_tokens.insert(
            value.clone(),
            AccessToken {
                email: email.to_owned(),
                dc,
                environment: env,
                scopes: scopes.clone(),
                expires_ms: now_ms + ACCESS_TOKEN_SECS * 1000,
                refresh_token: parent,
                seq,
                superseded: false,
                revoked: false,
            },
        );
        Minted { access_token: value, refresh_token: refresh_value, scopes, dc, environment: env }
    }

    /// Deletes a refresh token and revokes every access token minted from it.
    pub(crate) fn remove_refresh_token(&mut self, value: &str) -> bool {
        if self.refresh_tokens.remove(value).is_none() {
            return false;
        }
        for a in self.access_tokens.values_mut() {
            if a.refresh_token.as_deref() == Some(value) {
                a.revoked = true;
            }
        }
        true
    }

    /// Checks an access token presented to the CRM API of `dc`/`env`.
    pub(crate) fn check_access_token(
        &self,
        token: &str,
        dc: DataCenter,
        env: Environment,
        now_ms: i64,
    ) -> Result<&AccessToken, TokenRejection> {
        let a = self.access_tokens.get(token).ok_or(TokenRejection::Invalid)?;
        if a.superseded {
            return Err(TokenRejection::Superseded);
        }
        if a.revoked || a.expires_ms <= now_ms || a.dc != dc || a.environment != env {
            return Err(TokenRejection::Invalid);
        }
        Ok(a)
    }
}

/// A fresh token value in Zoho's shape: `1000.<32 hex>.<32 hex>`.
pub(crate) fn new_token() -> String {
    format!("1000.{}.{}", random_hex(16), random_hex(16))
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> String {
    crate::encoding::random_hex(n)
}

#[cfg(test)]
mod tests {
    use super::Rec;
    use serde_json::{Map, Value, json};

    fn rec(data: Value) -> Rec {
        let Value::Object(data) = data else { unreachable!() };
        Rec::new("1".into(), data, 0)
    }

    #[test]
    fn a_module_keeps_its_records_in_id_order() {
        let mut org = super::Org::new(crate::dc::DataCenter::Us, 42, 0, "UTC", "$");
        for id in ["5", "10", "7", "11", "1"] {
            org.push_record("Leads", Rec::new(id.into(), Map::new(), 0));
        }
        let fresh = org.new_id();
        org.push_record("Leads", Rec::new(fresh.clone(), Map::new(), 0));
        let ids: Vec<&str> = org.records["Leads"].iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["1", "5", "7", "10", "11", fresh.as_str()], "numeric order, new ids last");
    }

    #[test]
    fn listing_flags_follow_the_records_fields() {
        let plain = Rec::new("1".into(), Map::new(), 0);
        assert_eq!((plain.converted(), plain.approved()), (false, true), "Zoho's defaults when the keys are absent");
        let mut r = rec(json!({"$converted": true, "$approved": false, "Last_Name": "Burns"}));
        assert_eq!((r.converted(), r.approved()), (true, false));
        r.update(|data| {
            data.insert("$converted".into(), json!(false));
            data.remove("$approved");
        });
        assert_eq!((r.converted(), r.approved()), (false, true), "an update reads the flags again");
        assert_eq!(r.data().get("Last_Name"), Some(&json!("Burns")));
        r.update(|data| {
            data.insert("$approved".into(), json!(false));
        });
        assert!(!r.approved());
        assert!(!r.clone().approved(), "a copy keeps them");
    }
}
