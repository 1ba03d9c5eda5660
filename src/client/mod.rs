//! [`CrmClient`]: the typed CRM v2 client for one connected user.
//!
//! Built on the generated client ([`CrmClient::raw`] gives it to you for anything not wrapped
//! here): the base URL is the token's `api_domain` (so the environment is always right), the
//! hooks add `Authorization: Zoho-oauthtoken …` and refresh-and-replay once on `INVALID_TOKEN`,
//! 204/304 become empty results, Zoho's error envelopes become [`Error::Api`], and listings
//! are boxed streams ([`BoxStream`]) over every page until `more_records` is false (at most
//! [`CrmClient::max_pages`] pages; a page that repeats the previous one stops the listing).
//!
//! Path parameters (module API names, record and user ids) are always exactly one URL path
//! segment: empty values and dot segments (`.`, `..`, `%2e`, ...) are refused with
//! [`Error::InvalidInput`] before anything is sent, everything else is percent-encoded. Writes
//! whose records all fail (Zoho's HTTP 400 with one result per record) return those results.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::stream::BoxStream;
use progenitor_client::ResponseValue;

use crate::crm::{self, types};
use crate::error::{Error, Result};
use crate::manager::TokenManager;
use crate::path::check_segment;
use crate::retry::{Retrier, RetryPolicy};
use crate::token::TokenKey;
use crate::transport::{CallRecord, CallState, convert_progenitor};

mod context;
mod hooks;

pub use crate::crm::types::{ActionResult, Field, Layout, Module, Org, Record, User, UserType};
pub use context::CrmContext;

/// The most items Zoho returns per page.
pub const MAX_PER_PAGE: u32 = 200;
/// The most records one insert, update or upsert may carry.
pub const MAX_RECORDS_PER_WRITE: usize = 100;
/// The default cap on the pages one listing stream fetches: 10,000 pages, 2,000,000 items at
/// 200 per page. A server that keeps answering `more_records: true` beyond it ends the stream
/// with [`Error::Pagination`] instead of looping forever; change it per client with
/// [`CrmClient::with_max_pages`].
pub const MAX_PAGES: u32 = 10_000;

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items on this page (empty when Zoho answered 204).
    pub items: Vec<T>,
    /// The page number, from 1.
    pub page: u32,
    /// Whether Zoho has more pages (`info.more_records`).
    pub more_records: bool,
}

/// Options of a records listing.
#[derive(Clone, Debug, Default)]
pub struct RecordQuery {
    /// Field API names to return (all when empty).
    pub fields: Vec<String>,
    /// Sort by this field.
    pub sort_by: Option<String>,
    /// Ascending instead of Zoho's default descending order.
    pub ascending: bool,
    /// Items per page (1..=200; default 200).
    pub per_page: Option<u32>,
    /// Custom view id.
    pub cvid: Option<String>,
    /// Only records modified after this time (ISO 8601); otherwise an empty result.
    pub if_modified_since: Option<String>,
}

/// Which deleted records to list.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeletedKind {
    /// Both below (Zoho's default).
    #[default]
    All,
    /// Records in the recycle bin.
    Recycle,
    /// Permanently deleted records.
    Permanent,
}

impl DeletedKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Recycle => "recycle",
            Self::Permanent => "permanent",
        }
    }
}

/// A search: by criteria, or by email, phone or word.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub enum Search {
    /// `((Field:equals:value)and(...))`, built with [`Criteria`].
    Criteria(Criteria),
    /// Records with this email in any email field.
    Email(String),
    /// Records with this phone number in any phone field.
    Phone(String),
    /// Records containing this word.
    Word(String),
}

/// Zoho search criteria, with `(`, `)`, `,` and `\` escaped in values.
///
/// Field names must be API names (ASCII letters, digits, `_`, `.` and `$`): the `try_`
/// constructors refuse anything else with [`Error::InvalidInput`]; the infallible ones keep the
/// problem and [`CrmClient::search_page`] returns it before sending (see [`Criteria::validate`]).
///
/// ```
/// use zohocrm::client::Criteria;
/// let c = Criteria::equals("Company", "Zylker (EU), Ltd").and(Criteria::starts_with("Last_Name", "Bo"));
/// assert_eq!(c.to_string(), r"((Company:equals:Zylker \(EU\)\, Ltd)and(Last_Name:starts_with:Bo))");
/// assert!(Criteria::try_equals("Last_Name:equals:x)or(Email", "y").is_err());
/// assert!(Criteria::equals("Bad Field", "y").validate().is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Criteria {
    text: String,
    /// Why a field name was refused, kept until the criteria is sent.
    invalid: Option<String>,
}

/// Why `field` is not a Zoho API name, if it is not.
fn field_name_problem(field: &str) -> Option<String> {
    if field.is_empty() {
        return Some("a search field name is empty; pass the field's API name".to_owned());
    }
    let ok = field.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '$'));
    (!ok).then(|| {
        format!(
            "search field name {field:?} is not an API name: only ASCII letters, digits, `_`, `.` and `$` are allowed (see the field's api_name)"
        )
    })
}

impl Criteria {
    fn leaf(field: &str, op: &str, value: &str) -> Self {
        let mut escaped = String::with_capacity(value.len());
        for c in value.chars() {
            if matches!(c, '(' | ')' | ',' | '\\') {
                escaped.push('\\');
            }
            escaped.push(c);
        }
        Self { text: format!("({field}:{op}:{escaped})"), invalid: field_name_problem(field) }
    }

    fn try_leaf(field: &str, op: &str, value: &str) -> Result<Self> {
        let leaf = Self::leaf(field, op, value);
        leaf.validate()?;
        Ok(leaf)
    }

    /// `field` equals `value`. An invalid field name is reported when the criteria is sent.
    pub fn equals(field: &str, value: &str) -> Self {
        Self::leaf(field, "equals", value)
    }

    /// `field` starts with `value`. An invalid field name is reported when the criteria is sent.
    pub fn starts_with(field: &str, value: &str) -> Self {
        Self::leaf(field, "starts_with", value)
    }

    /// `field` equals `value`; [`Error::InvalidInput`] when `field` is not an API name.
    pub fn try_equals(field: &str, value: &str) -> Result<Self> {
        Self::try_leaf(field, "equals", value)
    }

    /// `field` starts with `value`; [`Error::InvalidInput`] when `field` is not an API name.
    pub fn try_starts_with(field: &str, value: &str) -> Result<Self> {
        Self::try_leaf(field, "starts_with", value)
    }

    /// Both must match.
    pub fn and(self, other: Criteria) -> Self {
        Self { text: format!("({}and{})", self.text, other.text), invalid: self.invalid.or(other.invalid) }
    }

    /// Either may match.
    pub fn or(self, other: Criteria) -> Self {
        Self { text: format!("({}or{})", self.text, other.text), invalid: self.invalid.or(other.invalid) }
    }

    /// [`Error::InvalidInput`] when a field name of this criteria is not an API name.
    pub fn validate(&self) -> Result<()> {
        match &self.invalid {
            Some(reason) => Err(Error::invalid_input("criteria", reason.clone())),
            None => Ok(()),
        }
    }
}

impl std::fmt::Display for Criteria {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Building and reading records without touching `serde_json` yourself.
///
/// ```
/// use zohocrm::client::Record;
/// let lead = Record::new().set("Last_Name", "Boyle").set("Company", "Zylker").set("Annual_Revenue", 125_000);
/// assert_eq!(lead.get_str("Company"), Some("Zylker"));
/// assert_eq!(lead.get_i64("Annual_Revenue"), Some(125_000));
/// let update = Record::with_id("3652397000000190367").set("Lead_Status", "Contacted");
/// assert_eq!(update.id.as_deref(), Some("3652397000000190367"));
/// ```
impl Record {
    /// An empty record (for an insert).
    pub fn new() -> Self {
        Self::default()
    }

    /// A record carrying only its id (for an update: add the fields to change with [`Record::set`]).
    pub fn with_id(id: impl Into<String>) -> Self {
        Self { id: Some(id.into()), ..Self::default() }
    }

    /// Sets a field by API name (`Last_Name`, a custom `Score__c`, a lookup as
    /// `serde_json::json!({"id": "…"})`), replacing any value; `"id"` sets [`Record::id`].
    #[must_use]
    pub fn set(mut self, field: &str, value: impl Into<serde_json::Value>) -> Self {
        self.insert(field, value);
        self
    }

    /// Sets a field in place (see [`Record::set`]).
    pub fn insert(&mut self, field: &str, value: impl Into<serde_json::Value>) {
        let value = value.into();
        if field == "id" {
            self.id = value.as_str().map(str::to_owned);
        } else {
            self.extra.insert(field.to_owned(), value);
        }
    }

    /// A field's value as Zoho sent it (`None` when absent).
    pub fn get(&self, field: &str) -> Option<&serde_json::Value> {
        self.extra.get(field)
    }

    /// A text field (`None` when absent, `null` or not text).
    pub fn get_str(&self, field: &str) -> Option<&str> {
        self.get(field)?.as_str()
    }

    /// A whole-number field (`None` when absent, `null` or not a whole number).
    pub fn get_i64(&self, field: &str) -> Option<i64> {
        self.get(field)?.as_i64()
    }

    /// A number field (currency, decimal, percent).
    pub fn get_f64(&self, field: &str) -> Option<f64> {
        self.get(field)?.as_f64()
    }

    /// A boolean field (checkbox).
    pub fn get_bool(&self, field: &str) -> Option<bool> {
        self.get(field)?.as_bool()
    }

    /// A field decoded into your own type (a lookup `{id, name}`, a date, a multi-select list).
    /// `Ok(None)` when absent or `null`; [`Error::Decode`] naming the field when it does not fit.
    pub fn get_as<T: serde::de::DeserializeOwned>(&self, field: &str) -> Result<Option<T>> {
        match self.get(field) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(value) => serde_json::from_value(value.clone())
                .map(Some)
                .map_err(|e| Error::decode("record field", 200, b"", format!("field `{field}` does not decode: {e}"))),
        }
    }

    /// The whole record decoded into your own `serde` struct (fields by API name; unknown
    /// fields ignored unless your struct keeps them with `#[serde(flatten)]`).
    pub fn to_typed<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        let value = serde_json::to_value(self)
            .map_err(|e| Error::decode("record", 200, b"", format!("the record does not serialize: {e}")))?;
        let text = value.to_string();
        serde_json::from_value(value).map_err(|e| {
            Error::decode("record", 200, text.as_bytes(), crate::error::decode_reason::<T>(text.as_bytes(), &e))
        })
    }
}

/// Helpers on a write's per-record result.
impl ActionResult {
    /// Whether Zoho accepted this record (`status` is `success`).
    pub fn is_success(&self) -> bool {
        self.status == "success"
    }

    /// Zoho's code for this record: `SUCCESS`, `INVALID_DATA`, `MANDATORY_NOT_FOUND`, ...
    pub fn code(&self) -> &str {
        &self.code
    }

    /// Zoho's message for this record (`record added`, `required field not found`, ...); empty
    /// when Zoho sent none.
    pub fn message(&self) -> &str {
        self.message.as_deref().unwrap_or_default()
    }

    /// The field Zoho names in `details.api_name` for a refused record (the missing or invalid one).
    pub fn field(&self) -> Option<&str> {
        self.details.as_ref()?.get("api_name")?.as_str()
    }

    /// The record's id (`details.id`): the new or updated record, or the one that failed.
    pub fn id(&self) -> Option<&str> {
        self.details.as_ref()?.get("id")?.as_str()
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::crm::types::ErrorEnvelope {}
    impl Sealed for crate::crm::types::WriteErrorEnvelope {}
}

/// The error bodies of the generated CRM operations ([`types::ErrorEnvelope`], and
/// [`types::WriteErrorEnvelope`] for writes), as [`CrmClient::send`] reads them. Sealed.
pub trait ErrorBody: sealed::Sealed {
    /// Zoho's top-level `code`, `message` and `details`, when the body has a `code`.
    fn envelope(&self) -> Option<(String, String, serde_json::Value)>;
    /// The per-item results of a write whose items all failed (`{"data":[...]}` or
    /// `{"users":[...]}`), as JSON to decode into the operation's success type.
    fn results(&self) -> Option<serde_json::Value>;
}

impl ErrorBody for types::ErrorEnvelope {
    fn envelope(&self) -> Option<(String, String, serde_json::Value)> {
        Some((
            self.code.clone(),
            self.message.clone().unwrap_or_default(),
            self.details.clone().map(serde_json::Value::Object).unwrap_or(serde_json::Value::Null),
        ))
    }

    fn results(&self) -> Option<serde_json::Value> {
        None
    }
}

impl ErrorBody for types::WriteErrorEnvelope {
    fn envelope(&self) -> Option<(String, String, serde_json::Value)> {
        Some((
            self.code.clone()?,
            self.message.clone().unwrap_or_default(),
            self.details.clone().map(serde_json::Value::Object).unwrap_or(serde_json::Value::Null),
        ))
    }

    fn results(&self) -> Option<serde_json::Value> {
        let (key, items) = if !self.data.is_empty() {
            ("data", &self.data)
        } else if !self.users.is_empty() {
            ("users", &self.users)
        } else {
            return None;
        };
        Some(serde_json::json!({ key: items }))
    }
}

/// The CRM client of one connection. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CrmClient {
    manager: TokenManager,
    key: TokenKey,
    base: String,
    http: reqwest::Client,
    retry: Retrier,
    max_pages: u32,
}

type Slot = CallRecord;

impl CrmClient {
    pub(crate) fn new(
        manager: TokenManager,
        key: TokenKey,
        base: String,
        http: reqwest::Client,
        retry: Retrier,
    ) -> Self {
        Self { manager, key, base, http, retry, max_pages: MAX_PAGES }
    }

    /// This client with another retry policy (sharing the application's retry budget), for
    /// one call or a group of calls:
    ///
    /// ```no_run
    /// # async fn demo(crm: zohocrm::CrmClient, leads: Vec<zohocrm::client::Record>) -> zohocrm::Result<()> {
    /// use zohocrm::retry::RetryPolicy;
    /// // An upsert on a unique field is safe to repeat: opt in for this call only.
    /// let results = crm
    ///     .with_retry(RetryPolicy::default().with_retry_writes(true))
    ///     .upsert_records("Leads", leads, &["Email"])
    ///     .await?;
    /// # let _ = results; Ok(()) }
    /// ```
    #[must_use]
    pub fn with_retry(&self, policy: RetryPolicy) -> Self {
        Self { retry: self.retry.with_policy(policy), ..self.clone() }
    }

    /// The retry policy in force for this client.
    pub fn retry_policy(&self) -> &RetryPolicy {
        self.retry.policy()
    }

    /// The same client with listing streams capped at `pages` pages (default [`MAX_PAGES`];
    /// at least 1). A listing that still has `more_records` after the cap ends with
    /// [`Error::Pagination`].
    pub fn with_max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// The most pages one listing stream fetches.
    pub fn max_pages(&self) -> u32 {
        self.max_pages
    }

    /// The connection this client acts for.
    pub fn key(&self) -> &TokenKey {
        &self.key
    }

    /// The CRM API base URL in use (the token's `api_domain`).
    pub fn api_domain(&self) -> &str {
        &self.base
    }

    /// The generated client with this connection's hooks (authorization, refresh-and-replay,
    /// path-parameter checks, tracing), for every operation of `spec/crm-v2.yaml`. Called
    /// directly, errors raised inside the hooks arrive as progenitor's `Custom` or
    /// `InvalidRequest` with the SDK error's message; run the call through [`CrmClient::send`]
    /// to get the typed [`Error`] instead.
    pub fn raw(&self) -> crm::Client {
        crm::Client::new_with_client(
            &self.base,
            self.http.clone(),
            CrmContext::new(self.manager.clone(), self.key.clone(), None, self.retry.clone()),
        )
    }

    /// The generated CRM v8 core client (`zohocrm::crm_v8::core`) with this connection's hooks.
    #[cfg(feature = "v8-core")]
    pub fn raw_v8_core(&self) -> crate::crm_v8::core::Client {
        crate::crm_v8::core::Client::new_with_client(
            &self.base,
            self.http.clone(),
            CrmContext::new(self.manager.clone(), self.key.clone(), None, self.retry.clone()),
        )
    }

    /// Runs one call of the generated client with this connection's hooks and returns what the
    /// shortcuts return: the typed [`Error`] of a hook (`ReauthorizationRequired`,
    /// `InvalidInput`, ...), `None` for 204/304, Zoho's envelope as [`Error::Api`], and for a
    /// write whose items all failed (HTTP 400 with one result per item) those results.
    ///
    /// ```no_run
    /// # async fn demo(crm: zohocrm::CrmClient) -> zohocrm::Result<()> {
    /// let org = crm.send(|c| async move { c.get_org().send().await }).await?;
    /// let layouts = crm.send(|c| async move { c.list_layouts().module("Leads").send().await }).await?;
    /// # let _ = (org, layouts); Ok(()) }
    /// ```
    pub async fn send<T, E, F, Fut>(&self, call: F) -> Result<Option<T>>
    where
        T: serde::de::DeserializeOwned,
        E: ErrorBody,
        F: FnOnce(crm::Client) -> Fut,
        Fut: std::future::Future<Output = std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>>,
    {
        let (client, slot) = self.call();
        let result = call(client).await;
        let operation = lock(&slot).operation.unwrap_or("crm");
        finish(operation, result, &slot)
    }

    /// Sends one authenticated request to any CRM path of this connection (what `gh api` is
    /// to GitHub), for endpoints the spec does not cover yet. It takes the same path as every
    /// other call: the connection's access token (refreshed when near expiry), one
    /// refresh-and-replay on `INVALID_TOKEN`, the retry policy (writes only when opted in),
    /// tracing without the URL.
    ///
    /// `path_and_query` is relative to the API domain and must start with `/crm/`
    /// (`/crm/v2/org`, `/crm/v2/Leads?per_page=5`); dot segments in any spelling, `\`, `#`
    /// and empty segments are refused with [`Error::InvalidInput`], so the request (and its
    /// `Authorization` header) can only go to this connection's API domain. `body` is sent as
    /// JSON. A 2xx answer is returned with its status and JSON body (`None` when empty, as for
    /// 204); an error answer with Zoho's envelope is [`Error::Api`], any other error answer
    /// [`Error::Decode`] with its status.
    ///
    /// ```no_run
    /// # async fn demo(crm: zohocrm::CrmClient) -> zohocrm::Result<()> {
    /// let org = crm.request(http::Method::GET, "/crm/v2/org", None).await?;
    /// assert_eq!(org.status, 200);
    /// # Ok(()) }
    /// ```
    pub async fn request(
        &self,
        method: http::Method,
        path_and_query: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<RawResponse> {
        const OPERATION: &str = "raw_request";
        let url = raw_url(&self.base, path_and_query)?;
        let (client, slot) = self.call();
        let inner = progenitor_client::ClientInfo::inner(&client);
        let mut builder = progenitor_client::ClientInfo::client(&client).request(method.clone(), url);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let mut request = builder.build().map_err(|e| Error::transport(OPERATION, e))?;
        let access = self.manager.access_token(&self.key).await.map_err(Error::before_send)?;
        crate::transport::set_authorization(&mut request, access.secret()).map_err(Error::config)?;
        let span = tracing::info_span!(
            "zoho.api",
            operation = OPERATION,
            method = %method,
            dc = self.key.dc.location(),
            environment = self.key.environment.as_str(),
            status = tracing::field::Empty,
        );
        let sent = {
            use tracing::Instrument;
            hooks::exec_crm(&client, inner, request, OPERATION).instrument(span.clone()).await
        };
        let (response, _replayed) = sent.map_err(|e| Error::transport(OPERATION, e))?;
        if let Some(error) = crate::transport::take_error(&slot) {
            return Err(error);
        }
        let status = response.status().as_u16();
        span.record("status", status);
        let bytes = response.bytes().await.map_err(|e| Error::transport(OPERATION, e))?;
        let body = if bytes.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(value) => Some(value),
                Err(e) => return Err(Error::decode(OPERATION, status, &bytes, format!("the body is not JSON: {e}"))),
            }
        };
        // Zoho answers a write whose records all failed with HTTP 400 and one result per record.
        let per_record = status == 400 && body.as_ref().is_some_and(|b| b.get("data").is_some_and(|d| d.is_array()));
        if (200..300).contains(&status) || per_record {
            return Ok(RawResponse { status, body });
        }
        let envelope = body.as_ref().and_then(|b| {
            let code = b.get("code")?.as_str()?.to_owned();
            let message = b.get("message").and_then(|m| m.as_str()).unwrap_or_default().to_owned();
            Some((code, message, b.get("details").cloned().unwrap_or(serde_json::Value::Null)))
        });
        match envelope {
            Some((code, message, details)) => {
                Err(Error::Api { operation: OPERATION.to_owned(), status, code, message, details })
            }
            None => {
                Err(Error::decode(OPERATION, status, &bytes, format!("HTTP {status} without Zoho's error envelope")))
            }
        }
    }

    fn call(&self) -> (crm::Client, Slot) {
        let slot: Slot = Arc::new(Mutex::new(CallState::default()));
        let client = crm::Client::new_with_client(
            &self.base,
            self.http.clone(),
            CrmContext::new(self.manager.clone(), self.key.clone(), Some(slot.clone()), self.retry.clone()),
        );
        (client, slot)
    }

    /// The signed-in user of this connection (`type=CurrentUser`).
    ///
    /// Scope: `ZohoCRM.users.ALL` or `ZohoCRM.users.READ`.
    /// `None` when Zoho answers 204 (no user: the token's user was deactivated).
    pub async fn current_user(&self) -> Result<Option<User>> {
        let page = self.users_page(UserType::CurrentUser, 1, 1).await?;
        Ok(page.items.into_iter().next())
    }

    /// One page of users of `kind`.
    ///
    /// Scope: `ZohoCRM.users.ALL` or `ZohoCRM.users.READ`.
    pub async fn users_page(&self, kind: UserType, page: u32, per_page: u32) -> Result<Page<User>> {
        let (page_nz, per_page_nz) = page_args(page, per_page)?;
        let (raw, slot) = self.call();
        let result = raw.list_users().type_(kind).page(page_nz).per_page(per_page_nz).send().await;
        Ok(Page::of(finish("list_users", result, &slot)?.map(|r| (r.users, r.info)), page))
    }

    /// Every user of `kind`, page after page.
    ///
    /// Scope: `ZohoCRM.users.ALL` or `ZohoCRM.users.READ`.
    pub fn users(&self, kind: UserType) -> BoxStream<'static, Result<User>> {
        let this = self.clone();
        paginate(
            "list_users",
            self.max_pages,
            |u: &User| u.id.as_deref(),
            move |page| {
                let this = this.clone();
                async move { this.users_page(kind, page, MAX_PER_PAGE).await }
            },
        )
    }

    /// One user by id.
    ///
    /// Scope: `ZohoCRM.users.ALL` or `ZohoCRM.users.READ`.
    /// `None` when no user has this id (204) or it did not change since `If-Modified-Since`.
    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        check_segment("user_id", id)?;
        let (raw, slot) = self.call();
        let result = raw.get_user().user_id(id).send().await;
        Ok(finish("get_user", result, &slot)?.and_then(|r| r.users.into_iter().next()))
    }

    /// Metadata of every module.
    ///
    /// Scope: `ZohoCRM.settings.ALL` or `ZohoCRM.settings.READ` or `ZohoCRM.settings.modules.ALL` or `ZohoCRM.settings.modules.READ`.
    pub async fn modules(&self) -> Result<Vec<Module>> {
        let (raw, slot) = self.call();
        let result = raw.list_modules().send().await;
        Ok(finish("list_modules", result, &slot)?.map(|r| r.modules).unwrap_or_default())
    }

    /// Metadata of one module.
    ///
    /// Scope: `ZohoCRM.settings.ALL` or `ZohoCRM.settings.READ` or `ZohoCRM.settings.modules.ALL` or `ZohoCRM.settings.modules.READ`.
    /// `None` when Zoho answers without the module (204).
    pub async fn module(&self, api_name: &str) -> Result<Option<Module>> {
        check_segment("module_api_name", api_name)?;
        let (raw, slot) = self.call();
        let result = raw.get_module().module_api_name(api_name).send().await;
        Ok(finish("get_module", result, &slot)?.and_then(|r| r.modules.into_iter().next()))
    }

    /// Fields of a module.
    ///
    /// Scope: `ZohoCRM.settings.ALL` or `ZohoCRM.settings.READ` or `ZohoCRM.settings.fields.ALL` or `ZohoCRM.settings.fields.READ`.
    pub async fn fields(&self, module: &str) -> Result<Vec<Field>> {
        let (raw, slot) = self.call();
        let result = raw.list_fields().module(module).send().await;
        Ok(finish("list_fields", result, &slot)?.map(|r| r.fields).unwrap_or_default())
    }

    /// Layouts of a module.
    ///
    /// Scope: `ZohoCRM.settings.ALL` or `ZohoCRM.settings.READ` or `ZohoCRM.settings.layouts.ALL` or `ZohoCRM.settings.layouts.READ`.
    pub async fn layouts(&self, module: &str) -> Result<Vec<Layout>> {
        let (raw, slot) = self.call();
        let result = raw.list_layouts().module(module).send().await;
        Ok(finish("list_layouts", result, &slot)?.map(|r| r.layouts).unwrap_or_default())
    }

    /// The organization.
    ///
    /// Scope: `ZohoCRM.org.ALL` or `ZohoCRM.org.READ`.
    /// `None` when Zoho answers 204.
    pub async fn org(&self) -> Result<Option<Org>> {
        let (raw, slot) = self.call();
        let result = raw.get_org().send().await;
        Ok(finish("get_org", result, &slot)?.and_then(|r| r.org.into_iter().next()))
    }

    /// One page of records of `module`.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.READ` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.READ` (`{module}`: the module's API name).
    pub async fn records_page(&self, module: &str, query: &RecordQuery, page: u32) -> Result<Page<Record>> {
        check_segment("module", module)?;
        let (page_nz, per_page_nz) = page_args(page, query.per_page.unwrap_or(MAX_PER_PAGE))?;
        let (raw, slot) = self.call();
        let mut request = raw.list_records().module(module).page(page_nz).per_page(per_page_nz);
        if !query.fields.is_empty() {
            request = request.fields(query.fields.join(","));
        }
        if let Some(sort_by) = &query.sort_by {
            request = request.sort_by(sort_by.clone()).sort_order(if query.ascending {
                types::SortOrder::Asc
            } else {
                types::SortOrder::Desc
            });
        }
        if let Some(cvid) = &query.cvid {
            request = request.cvid(cvid.clone());
        }
        if let Some(since) = &query.if_modified_since {
            request = request.if_modified_since(since.clone());
        }
        let result = request.send().await;
        Ok(Page::of(finish("list_records", result, &slot)?.map(|r| (r.data, r.info)), page))
    }

    /// Every record of `module`, page after page.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.READ` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.READ` (`{module}`: the module's API name).
    pub fn records(&self, module: &str, query: RecordQuery) -> BoxStream<'static, Result<Record>> {
        let this = self.clone();
        let module = module.to_owned();
        let query = Arc::new(query);
        paginate(
            "list_records",
            self.max_pages,
            |r: &Record| r.id.as_deref(),
            move |page| {
                let (this, module, query) = (this.clone(), module.clone(), query.clone());
                async move { this.records_page(&module, &query, page).await }
            },
        )
    }

    /// One record by id.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.READ` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.READ` (`{module}`: the module's API name).
    /// `None` when the record does not exist (204).
    pub async fn record(&self, module: &str, id: &str) -> Result<Option<Record>> {
        check_segment("module", module)?;
        check_segment("record_id", id)?;
        let (raw, slot) = self.call();
        let result = raw.get_record().module(module).record_id(id).send().await;
        Ok(finish("get_record", result, &slot)?.and_then(|r| r.data.into_iter().next()))
    }

    /// One page of search results.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.READ` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.READ`; and `ZohoSearch.securesearch.ALL` or `ZohoSearch.securesearch.READ` (`{module}`: the module's API name).
    pub async fn search_page(&self, module: &str, search: &Search, page: u32, per_page: u32) -> Result<Page<Record>> {
        check_segment("module", module)?;
        if let Search::Criteria(criteria) = search {
            criteria.validate()?;
        }
        let (page_nz, per_page_nz) = page_args(page, per_page)?;
        let (raw, slot) = self.call();
        let request = raw.search_records().module(module).page(page_nz).per_page(per_page_nz);
        let request = match search {
            Search::Criteria(c) => request.criteria(c.to_string()),
            Search::Email(e) => request.email(e.clone()),
            Search::Phone(p) => request.phone(p.clone()),
            Search::Word(w) => request.word(w.clone()),
        };
        let result = request.send().await;
        Ok(Page::of(finish("search_records", result, &slot)?.map(|r| (r.data, r.info)), page))
    }

    /// Every search result, page after page.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.READ` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.READ`; and `ZohoSearch.securesearch.ALL` or `ZohoSearch.securesearch.READ` (`{module}`: the module's API name).
    pub fn search(&self, module: &str, search: Search) -> BoxStream<'static, Result<Record>> {
        let this = self.clone();
        let module = module.to_owned();
        let search = Arc::new(search);
        paginate(
            "search_records",
            self.max_pages,
            |r: &Record| r.id.as_deref(),
            move |page| {
                let (this, module, search) = (this.clone(), module.clone(), search.clone());
                async move { this.search_page(&module, &search, page, MAX_PER_PAGE).await }
            },
        )
    }

    /// Inserts up to 100 records; one result per record, in order (check each `status`).
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.CREATE` or `ZohoCRM.modules.WRITE` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.CREATE` or `ZohoCRM.modules.{module}.WRITE` (`{module}`: the module's API name).
    pub async fn insert_records(&self, module: &str, records: Vec<Record>) -> Result<Vec<ActionResult>> {
        check_segment("module", module)?;
        check_batch(records.len())?;
        let (raw, slot) = self.call();
        let body = write_body(records, Vec::new());
        let result = raw.insert_records().module(module).body(body).send().await;
        Ok(finish("insert_records", result, &slot)?.map(|r| r.data).unwrap_or_default())
    }

    /// Updates up to 100 records (each carries its `id`).
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.UPDATE` or `ZohoCRM.modules.WRITE` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.UPDATE` or `ZohoCRM.modules.{module}.WRITE` (`{module}`: the module's API name).
    pub async fn update_records(&self, module: &str, records: Vec<Record>) -> Result<Vec<ActionResult>> {
        check_segment("module", module)?;
        check_batch(records.len())?;
        let (raw, slot) = self.call();
        let body = write_body(records, Vec::new());
        let result = raw.update_records().module(module).body(body).send().await;
        Ok(finish("update_records", result, &slot)?.map(|r| r.data).unwrap_or_default())
    }

    /// Updates one record.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.UPDATE` or `ZohoCRM.modules.WRITE` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.UPDATE` or `ZohoCRM.modules.{module}.WRITE` (`{module}`: the module's API name).
    /// `None` only if Zoho answers without a result (204); a refused update is `Some` with `is_success() == false`.
    pub async fn update_record(&self, module: &str, id: &str, record: Record) -> Result<Option<ActionResult>> {
        check_segment("module", module)?;
        check_segment("record_id", id)?;
        let (raw, slot) = self.call();
        let body = write_body(vec![record], Vec::new());
        let result = raw.update_record().module(module).record_id(id).body(body).send().await;
        Ok(finish("update_record", result, &slot)?.and_then(|r| r.data.into_iter().next()))
    }

    /// Inserts or updates up to 100 records, matched on `duplicate_check_fields`.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.CREATE` or `ZohoCRM.modules.WRITE` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.CREATE` or `ZohoCRM.modules.{module}.WRITE` (`{module}`: the module's API name).
    pub async fn upsert_records(
        &self,
        module: &str,
        records: Vec<Record>,
        duplicate_check_fields: &[&str],
    ) -> Result<Vec<ActionResult>> {
        check_segment("module", module)?;
        check_batch(records.len())?;
        let (raw, slot) = self.call();
        let body = write_body(records, duplicate_check_fields.iter().map(|s| (*s).to_owned()).collect());
        let result = raw.upsert_records().module(module).body(body).send().await;
        Ok(finish("upsert_records", result, &slot)?.map(|r| r.data).unwrap_or_default())
    }

    /// Deletes up to 100 records by id. Ids are sent joined by `,`: an empty id or one
    /// containing `,` is refused with [`Error::InvalidInput`].
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.DELETE` or `ZohoCRM.modules.WRITE` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.DELETE` or `ZohoCRM.modules.{module}.WRITE` (`{module}`: the module's API name).
    pub async fn delete_records(&self, module: &str, ids: &[&str]) -> Result<Vec<ActionResult>> {
        check_segment("module", module)?;
        check_batch(ids.len())?;
        if let Some(bad) = ids.iter().find(|id| id.is_empty() || id.contains(',')) {
            return Err(Error::invalid_input(
                "ids",
                format!(
                    "record id {bad:?} is empty or contains `,`, which separates ids in the request; pass each id on its own"
                ),
            ));
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let (raw, slot) = self.call();
        let result = raw.delete_records().module(module).ids(ids.join(",")).send().await;
        Ok(finish("delete_records", result, &slot)?.map(|r| r.data).unwrap_or_default())
    }

    /// Deletes one record.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.DELETE` or `ZohoCRM.modules.WRITE` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.DELETE` or `ZohoCRM.modules.{module}.WRITE` (`{module}`: the module's API name).
    /// `None` only if Zoho answers without a result (204); a refused delete is `Some` with `is_success() == false`.
    pub async fn delete_record(&self, module: &str, id: &str) -> Result<Option<ActionResult>> {
        check_segment("module", module)?;
        check_segment("record_id", id)?;
        let (raw, slot) = self.call();
        let result = raw.delete_record().module(module).record_id(id).send().await;
        Ok(finish("delete_record", result, &slot)?.and_then(|r| r.data.into_iter().next()))
    }

    /// Every deleted record of `module`.
    ///
    /// Scope: `ZohoCRM.modules.ALL` or `ZohoCRM.modules.READ` or `ZohoCRM.modules.{module}.ALL` or `ZohoCRM.modules.{module}.READ` (`{module}`: the module's API name).
    pub fn deleted_records(&self, module: &str, kind: DeletedKind) -> BoxStream<'static, Result<types::DeletedRecord>> {
        let this = self.clone();
        let module = module.to_owned();
        paginate(
            "list_deleted_records",
            self.max_pages,
            |r: &types::DeletedRecord| r.id.as_deref(),
            move |page| {
                let (this, module) = (this.clone(), module.clone());
                async move {
                    check_segment("module", &module)?;
                    let (page_nz, per_page_nz) = page_args(page, MAX_PER_PAGE)?;
                    let (raw, slot) = this.call();
                    let result = raw
                        .list_deleted_records()
                        .module(&module)
                        .type_(kind.as_str())
                        .page(page_nz)
                        .per_page(per_page_nz)
                        .send()
                        .await;
                    Ok(Page::of(finish("list_deleted_records", result, &slot)?.map(|r| (r.data, r.info)), page))
                }
            },
        )
    }
}

/// The answer to [`CrmClient::request`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct RawResponse {
    /// The HTTP status: 2xx, or 400 for a write whose records all failed (the body then holds
    /// one result per record, as for 207).
    pub status: u16,
    /// The JSON body; `None` when the body is empty (204, 304).
    pub body: Option<serde_json::Value>,
}

/// The URL of a [`CrmClient::request`]: `path_and_query` below `base`, never elsewhere.
fn raw_url(base: &str, path_and_query: &str) -> Result<reqwest::Url> {
    let refuse = |why: &str| {
        Error::invalid_input(
            "path",
            format!("{path_and_query:?} {why}; give a path below the API domain such as /crm/v2/org"),
        )
    };
    let (path, _query) = path_and_query.split_once('?').unwrap_or((path_and_query, ""));
    if !path.starts_with("/crm/") {
        return Err(refuse("does not start with /crm/"));
    }
    if path_and_query.contains(['#', '\\']) || path_and_query.chars().any(char::is_control) {
        return Err(refuse("contains `#`, `\\` or a control character"));
    }
    for segment in path[1..].split('/') {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if decoded.is_empty() || decoded == "." || decoded == ".." || decoded.contains(['/', '\\']) {
            return Err(refuse("has an empty, dot or encoded-slash segment"));
        }
    }
    let url = reqwest::Url::parse(&format!("{base}{path_and_query}"))
        .map_err(|e| refuse(&format!("is not a URL path ({e})")))?;
    let base_url =
        reqwest::Url::parse(base).map_err(|e| Error::config(format!("the API domain {base} is not a URL: {e}")))?;
    if url.origin() != base_url.origin() || !url.path().starts_with(base_url.path().trim_end_matches('/')) {
        return Err(refuse("leaves the API domain"));
    }
    Ok(url)
}

impl<T> Page<T> {
    /// A page from a decoded listing (`None`: Zoho answered 204/304, an empty last page).
    fn of(listing: Option<(Vec<T>, Option<types::Info>)>, page: u32) -> Self {
        match listing {
            Some((items, info)) => Page { more_records: more(&info), items, page },
            None => Page { items: Vec::new(), page, more_records: false },
        }
    }
}

/// The body of insert, update and upsert.
fn write_body(data: Vec<Record>, duplicate_check_fields: Vec<String>) -> types::RecordsWrite {
    types::RecordsWrite { data, trigger: Vec::new(), duplicate_check_fields, extra: Default::default() }
}

fn check_batch(len: usize) -> Result<()> {
    if len > MAX_RECORDS_PER_WRITE {
        return Err(Error::config(format!(
            "{len} records in one write; Zoho accepts at most {MAX_RECORDS_PER_WRITE} (LIMIT_EXCEEDED): split the batch"
        )));
    }
    Ok(())
}

fn page_args(page: u32, per_page: u32) -> Result<(std::num::NonZeroU32, std::num::NonZeroU32)> {
    let page = std::num::NonZeroU32::new(page).ok_or_else(|| Error::config("pages are numbered from 1"))?;
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(Error::config(format!("per_page must be 1..={MAX_PER_PAGE}, got {per_page}")));
    }
    let per_page = std::num::NonZeroU32::new(per_page).ok_or_else(|| Error::config("per_page must be at least 1"))?;
    Ok((page, per_page))
}

fn more(info: &Option<types::Info>) -> bool {
    info.as_ref().and_then(|i| i.more_records).unwrap_or(false)
}

fn lock(slot: &Slot) -> std::sync::MutexGuard<'_, CallState> {
    crate::transport::lock(slot)
}

/// Turns a generated call's result into the SDK's: a hook's typed error first, 204/304 as
/// `None`, a write's HTTP 400 with per-item results as those results, Zoho's envelope as
/// [`Error::Api`], a body that does not decode as [`Error::Decode`] with its real status.
fn finish<T: serde::de::DeserializeOwned, E: ErrorBody>(
    operation: &str,
    result: std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>,
    slot: &Slot,
) -> Result<Option<T>> {
    finish_call(operation, result, slot).map_err(|e| crate::scopes::explain(operation, e))
}

fn finish_call<T: serde::de::DeserializeOwned, E: ErrorBody>(
    operation: &str,
    result: std::result::Result<ResponseValue<T>, progenitor_client::Error<E>>,
    slot: &Slot,
) -> Result<Option<T>> {
    let state = std::mem::take(&mut *lock(slot));
    if let Some(error) = state.error {
        return Err(error);
    }
    let status = state.status.unwrap_or(200);
    match crate::nocontent::NoContent::or_empty(result) {
        Ok(value) => Ok(value.map(ResponseValue::into_inner)),
        Err(progenitor_client::Error::ErrorResponse(rv)) if rv.status() == reqwest::StatusCode::BAD_REQUEST => match rv
            .results()
        {
            Some(results) => serde_json::from_value::<T>(results.clone()).map(Some).map_err(|e| {
                let body = results.to_string();
                Error::decode(operation, 400, body.as_bytes(), crate::error::decode_reason::<T>(body.as_bytes(), &e))
            }),
            None => Err(convert_progenitor(operation, progenitor_client::Error::ErrorResponse(rv), E::envelope)),
        },
        Err(progenitor_client::Error::InvalidResponsePayload(body, e)) => {
            Err(Error::decode(operation, status, &body, crate::error::decode_reason::<T>(&body, &e)))
        }
        Err(progenitor_client::Error::InvalidRequest(message)) => {
            // A builder argument progenitor could not use (`module was not initialized`, ...).
            let parameter = message.split_whitespace().next().unwrap_or("request").to_owned();
            Err(Error::invalid_input(parameter, format!("{operation}: {message}")))
        }
        Err(e) => Err(convert_progenitor(operation, e, E::envelope)),
    }
}

/// A stream over every item of a paged listing, fetching page after page until `more_records`
/// is false. Stops after the first error (which it yields), and with [`Error::Pagination`]
/// when a page has the same ids as the previous one or `more_records` is still true after
/// `max_pages` pages.
fn paginate<T, F, Fut>(
    operation: &'static str,
    max_pages: u32,
    id: fn(&T) -> Option<&str>,
    fetch: F,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: Fn(u32) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Page<T>>> + Send + 'static,
{
    struct State<T, F> {
        fetch: F,
        next_page: Option<u32>,
        buffer: VecDeque<T>,
        previous_ids: Vec<Option<String>>,
    }
    let state = State { fetch, next_page: Some(1), buffer: VecDeque::new(), previous_ids: Vec::new() };
    Box::pin(futures_util::stream::unfold(state, move |mut state| async move {
        loop {
            if let Some(item) = state.buffer.pop_front() {
                return Some((Ok(item), state));
            }
            let page = state.next_page?;
            if page > max_pages {
                state.next_page = None;
                let reason = format!(
                    "Zoho still reported more_records after {max_pages} pages (the cap; CrmClient::with_max_pages raises it)"
                );
                return Some((Err(Error::Pagination { operation: operation.to_owned(), page, reason }), state));
            }
            match (state.fetch)(page).await {
                Ok(p) => {
                    let ids: Vec<Option<String>> = p.items.iter().map(|item| id(item).map(str::to_owned)).collect();
                    if !ids.is_empty() && ids.iter().any(Option::is_some) && ids == state.previous_ids {
                        state.next_page = None;
                        let reason = format!(
                            "page {page} has the same {} ids as page {}: the server repeats itself",
                            ids.len(),
                            page - 1
                        );
                        return Some((Err(Error::Pagination { operation: operation.to_owned(), page, reason }), state));
                    }
                    state.previous_ids = ids;
                    state.next_page = if p.more_records && !p.items.is_empty() { page.checked_add(1) } else { None };
                    state.buffer.extend(p.items);
                }
                Err(e) => {
                    state.next_page = None;
                    return Some((Err(e), state));
                }
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::raw_url;

    const BASE: &str = "https://www.zohoapis.eu";

    #[test]
    fn raw_paths_stay_below_the_api_domain() {
        let url = raw_url(BASE, "/crm/v2/Leads?per_page=5&fields=Last_Name").expect("a plain path");
        assert_eq!(url.as_str(), "https://www.zohoapis.eu/crm/v2/Leads?per_page=5&fields=Last_Name");
        let gateway = raw_url("https://gw.example/api/eu", "/crm/v2/org").expect("a base with a path");
        assert_eq!(gateway.as_str(), "https://gw.example/api/eu/crm/v2/org");
        for bad in [
            "crm/v2/org",
            "/oauth/v2/token",
            "/crm/../oauth/v2/token",
            "/crm/v2/%2e%2E/x",
            "/crm/v2/./org",
            "/crm//v2/org",
            "/crm/v2/a%2Fb",
            "/crm/v2/org#x",
            "/crm/v2\\..\\x",
            "@evil.example/crm/v2/org",
            ".evil.example/crm/v2/org",
            "/crm/v2/org\n",
        ] {
            let err = raw_url(BASE, bad).expect_err(bad);
            assert!(matches!(err, crate::Error::InvalidInput { .. }), "{bad}: {err}");
        }
    }
}
