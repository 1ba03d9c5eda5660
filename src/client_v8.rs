//! [`CrmV8Client`]: the hand-written CRM v8 layer (feature `v8-core`) for one connected user.
//!
//! It rides on the same connection machinery as the v2 client — the token's DC and
//! environment, the shared refresh flight, refresh-and-replay on `INVALID_TOKEN`, the retry
//! policy, tracing without URLs — and decodes Zoho's answers into the types generated from
//! Zoho's own v8 OpenAPI files ([`crate::crm_v8::core::types`]). The whole generated v8 client
//! is there for everything else ([`CrmV8Client::raw`]).
//!
//! What v8 changes, and what this layer does about it:
//!
//! - **Listing needs `fields`** (at most 50): [`V8Query::fields`] is required and checked.
//! - **Page numbers stop at 2,000 records** (`DISCRETE_PAGINATION_LIMIT_EXCEEDED` beyond);
//!   past that Zoho pages with `page_token`. [`CrmV8Client::records`] is a stream that follows
//!   `next_page_token` as soon as Zoho offers one, so it walks any number of records;
//!   [`CrmV8Client::records_from`] resumes from a token a previous listing stopped at.
//! - **COQL** ([`CrmV8Client::coql`]): queries built with [`crate::coql::Coql`] (identifiers
//!   checked, values escaped), rows decoded into your own types ([`CrmV8Client::coql_as`]), and
//!   [`CrmV8Client::coql_stream`] pages with `LIMIT`/`OFFSET` up to Zoho's 100,000-row reach.
//! - **Your own types**: [`CrmV8Client::records_as`] decodes each record into your `serde`
//!   struct (fields by API name; keep custom fields with `#[serde(flatten)]`).
//!
//! Record operations go through [`crate::CrmClient::request`] rather than the generated
//! builders: Zoho's published spec folds the error answers of those operations into their
//! success types, so the generated calls cannot tell a refusal from a result.
//!
//! ```no_run
//! # async fn demo(zoho: zohocrm::Zoho, key: zohocrm::TokenKey) -> zohocrm::Result<()> {
//! use futures_util::StreamExt;
//! use zohocrm::client_v8::V8Query;
//! use zohocrm::coql::{Coql, Condition};
//! let crm = zoho.client_v8(&key).await?;
//! let mut leads = crm.records("Leads", V8Query::fields(["Last_Name", "Company"]));
//! while let Some(lead) = leads.next().await {
//!     let _lead = lead?; // page numbers up to 2,000 records, page tokens after
//! }
//! let rows = crm.coql(&Coql::select(["Last_Name"]).from("Leads").filter(Condition::eq("Company", "Zylker"))).await?;
//! # let _ = rows; Ok(()) }
//! ```

use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;

use crate::client::{ActionResult, CrmClient, items_of_pages};
use crate::coql::Coql;
use crate::crm_v8::core::types as v8;
use crate::error::{Error, Result};

mod listing;

use listing::{Listed, Listing, listing_query};
pub use listing::{PageAt, V8Page, V8Query};

/// The most fields one v8 listing may ask for.
pub const MAX_FIELDS: usize = 50;
/// The last record v8 reaches with page numbers; past it, only page tokens work.
pub const PAGE_NUMBER_REACH: u32 = 2_000;

/// The CRM v8 client of one connection. Cheap to clone. From [`crate::Zoho::client_v8`].
#[derive(Clone, Debug)]
pub struct CrmV8Client {
    crm: CrmClient,
}

/// The v8 client of a v2 client's connection (what [`crate::Zoho::client_v8`] returns).
impl From<CrmClient> for CrmV8Client {
    fn from(crm: CrmClient) -> Self {
        Self { crm }
    }
}

impl CrmV8Client {
    /// The connection this client acts for.
    pub fn key(&self) -> &crate::TokenKey {
        self.crm.key()
    }

    /// The generated v8 client (every operation of Zoho's core group) with this connection's
    /// hooks: authorization, refresh-and-replay, retries, path checks, tracing.
    pub fn raw(&self) -> crate::crm_v8::core::Client {
        self.crm.raw_v8_core()
    }

    /// This client with listings capped at `pages` pages (default
    /// [`crate::client::MAX_PAGES`]): a listing whose server still says "more" after that
    /// many pages ends with [`Error::Pagination`] instead of running on.
    pub fn with_max_pages(self, pages: u32) -> Self {
        Self { crm: self.crm.with_max_pages(pages) }
    }

    /// The v2 client of the same connection.
    pub fn v2(&self) -> &CrmClient {
        &self.crm
    }

    async fn get<T: DeserializeOwned>(&self, operation: &'static str, path: &str) -> Result<Option<T>> {
        self.crm.request_typed(operation, http::Method::GET, path, None).await
    }

    /// The signed-in user (`type=CurrentUser`); `None` when Zoho answers 204.
    ///
    /// Decoded into the open user type shared with v2 ([`crate::client::User`]): Zoho's v8
    /// spec declares `time_zone` an object while Zoho sends a string, so the generated v8 user
    /// type cannot read real answers.
    ///
    /// Scope: `ZohoCRM.users.ALL` or `ZohoCRM.users.READ`.
    pub async fn current_user(&self) -> Result<Option<crate::client::User>> {
        let page: Option<crate::crm::types::UsersResponse> =
            self.get("get_users", "/crm/v8/users?type=CurrentUser&per_page=1").await?;
        Ok(page.and_then(|p| p.users.into_iter().next()))
    }

    /// Metadata of every module, in the open metadata type shared with v2 (Zoho's v8 spec
    /// declares some metadata members with shapes its answers do not have; unknown keys are kept).
    ///
    /// Scope: `ZohoCRM.settings.ALL`, `ZohoCRM.settings.READ` or `ZohoCRM.settings.modules.READ`.
    pub async fn modules(&self) -> Result<Vec<crate::client::Module>> {
        let page: Option<crate::crm::types::ModulesResponse> =
            self.get("get_modules", "/crm/v8/settings/modules").await?;
        Ok(page.map(|p| p.modules).unwrap_or_default())
    }

    /// Fields of a module, in the open metadata type shared with v2.
    ///
    /// Scope: `ZohoCRM.settings.ALL`, `ZohoCRM.settings.READ` or `ZohoCRM.settings.fields.READ`.
    pub async fn fields(&self, module: &str) -> Result<Vec<crate::client::Field>> {
        let module = api_name("module", module)?;
        let page: Option<crate::crm::types::FieldsResponse> =
            self.get("get_fields", &format!("/crm/v8/settings/fields?module={module}")).await?;
        Ok(page.map(|p| p.fields).unwrap_or_default())
    }

    /// How many records `module` has (`GET /crm/v8/{module}/actions/count`).
    ///
    /// Scope: a records READ scope (`ZohoCRM.modules.ALL`, `ZohoCRM.modules.READ`, ...).
    pub async fn count(&self, module: &str) -> Result<u64> {
        /// Zoho's count answer; `count` is required (a number, or a number in a string).
        #[derive(serde::Deserialize)]
        struct Count {
            #[serde(deserialize_with = "count_number")]
            count: u64,
        }
        fn count_number<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<u64, D::Error> {
            #[derive(serde::Deserialize)]
            #[serde(untagged)]
            enum Number {
                Int(u64),
                Text(String),
            }
            match <Number as serde::Deserialize>::deserialize(d)? {
                Number::Int(n) => Ok(n),
                Number::Text(s) => s.trim().parse().map_err(|_| serde::de::Error::custom("count is not a number")),
            }
        }
        let module = api_name("module", module)?;
        // An empty answer (204) counts nothing; a body without `count` is a decode error.
        let body: Option<Count> = self.get("record_count", &format!("/crm/v8/{module}/actions/count")).await?;
        Ok(body.map_or(0, |b| b.count))
    }

    /// One record by id (`None` when it does not exist).
    ///
    /// Scope: a records READ scope.
    pub async fn record(&self, module: &str, id: &str) -> Result<Option<v8::Record>> {
        self.record_as(module, id).await
    }

    /// One record by id, decoded from Zoho's JSON straight into your own type (fields by API
    /// name; every key as Zoho sent it, `"Tag": []` and `null`s included). `None` when it does
    /// not exist.
    ///
    /// Scope: a records READ scope.
    pub async fn record_as<T: DeserializeOwned>(&self, module: &str, id: &str) -> Result<Option<T>> {
        let (module, id) = (api_name("module", module)?, record_id(id)?);
        let page: Option<Listing<T>> = self.get("get_record", &format!("/crm/v8/{module}/{id}")).await?;
        Ok(page.and_then(|p| p.data.into_iter().next()))
    }

    /// One page of `module`'s records, at a page number or a page token.
    ///
    /// Scope: a records READ scope.
    pub async fn records_page(&self, module: &str, query: &V8Query, at: &PageAt) -> Result<V8Page<v8::Record>> {
        self.records_page_as(module, query, at).await
    }

    /// [`Self::records_page`], each record decoded from Zoho's JSON straight into your own
    /// type (every key as Zoho sent it).
    ///
    /// Scope: a records READ scope.
    pub async fn records_page_as<T: DeserializeOwned>(
        &self,
        module: &str,
        query: &V8Query,
        at: &PageAt,
    ) -> Result<V8Page<T>> {
        let per_page = query.check()?;
        let module = api_name("module", module)?;
        let path = format!("/crm/v8/{module}?{}", listing_query(query, per_page, at)?);
        let page: Option<Listing<T>> = self.get("get_records", &path).await?;
        Ok(match page {
            Some(p) => V8Page { items: p.data, info: p.info },
            None => V8Page { items: Vec::new(), info: None },
        })
    }

    /// Every record of `module`: page numbers while they reach, then Zoho's page tokens, so
    /// listings past 2,000 records just continue. Stops after the first error (which it yields).
    pub fn records(&self, module: &str, query: V8Query) -> BoxStream<'static, Result<v8::Record>> {
        self.walk(module, query, PageAt::Number(1))
    }

    /// Resumes a listing from a page token (from [`V8Page::next_page_token`]).
    pub fn records_from(&self, module: &str, query: V8Query, token: &str) -> BoxStream<'static, Result<v8::Record>> {
        self.walk(module, query, PageAt::Token(token.to_owned()))
    }

    /// Every record of `module`, decoded into your own type (fields by API name).
    pub fn records_as<T>(&self, module: &str, query: V8Query) -> BoxStream<'static, Result<T>>
    where
        T: DeserializeOwned + Send + 'static,
    {
        use futures_util::StreamExt;
        let rows = self.walk::<serde_json::Map<String, serde_json::Value>>(module, query, PageAt::Number(1));
        Box::pin(rows.map(|r| r.and_then(|row| typed::<T>("get_records", row))))
    }

    /// The listing behind [`Self::records`] and [`Self::records_from`]. A page that ends it
    /// with an error (Zoho says "more" but gives no way to reach it, or sends a page token
    /// twice) is yielded before that error; a page repeating the previous one's records, or
    /// "more" after [`CrmClient::max_pages`] pages, ends it with [`Error::Pagination`].
    fn walk<R: Listed>(&self, module: &str, query: V8Query, start: PageAt) -> BoxStream<'static, Result<R>> {
        struct State {
            this: CrmV8Client,
            module: String,
            query: V8Query,
            next: Option<PageAt>,
            /// The error that ends the listing, yielded after the page that told of it.
            ending: Option<Error>,
            /// Pages fetched so far.
            pages: u32,
            previous_ids: Vec<Option<String>>,
            seen_tokens: std::collections::HashSet<String>,
        }
        let mut seen_tokens = std::collections::HashSet::new();
        if let PageAt::Token(token) = &start {
            seen_tokens.insert(token.clone());
        }
        let state = State {
            this: self.clone(),
            module: module.to_owned(),
            query,
            next: Some(start),
            ending: None,
            pages: 0,
            previous_ids: Vec::new(),
            seen_tokens,
        };
        let stop = |page: u32, reason: String| Error::Pagination { operation: "get_records".into(), page, reason };
        items_of_pages(futures_util::stream::unfold(state, move |mut s| async move {
            if let Some(ending) = s.ending.take() {
                return Some((Err(ending), s));
            }
            let at = s.next.take()?;
            let page_no = s.pages.saturating_add(1);
            let max_pages = s.this.crm.max_pages();
            if page_no > max_pages {
                let reason = format!(
                    "Zoho still reported more_records after {max_pages} pages (the cap; CrmV8Client::with_max_pages raises it)"
                );
                return Some((Err(stop(page_no, reason)), s));
            }
            s.pages = page_no;
            let page = match s.this.records_page_as::<R>(&s.module, &s.query, &at).await {
                Ok(p) => p,
                Err(e) => return Some((Err(e), s)),
            };
            let ids: Vec<Option<String>> = page.items.iter().map(|r| r.listed_id().map(str::to_owned)).collect();
            if !ids.is_empty() && ids.iter().any(Option::is_some) && ids == s.previous_ids {
                let reason = format!(
                    "page {page_no} has the same {} ids as page {}: the server repeats itself",
                    ids.len(),
                    page_no - 1
                );
                return Some((Err(stop(page_no, reason)), s));
            }
            s.previous_ids = ids;
            let per_page = s.query.per_page.unwrap_or(200);
            if page.more_records() && !page.items.is_empty() {
                match (page.next_page_token(), &at) {
                    (Some(token), _) if !s.seen_tokens.insert(token.to_owned()) => {
                        s.ending = Some(stop(page_no, "Zoho sent the same page token twice".into()));
                    }
                    (Some(token), _) => s.next = Some(PageAt::Token(token.to_owned())),
                    (None, PageAt::Number(n)) if (n + 1).saturating_mul(per_page) <= PAGE_NUMBER_REACH => {
                        s.next = Some(PageAt::Number(n + 1));
                    }
                    (None, _) => {
                        let reason = "Zoho has more records but sent no page token to reach them".into();
                        s.ending = Some(stop(page_no, reason));
                    }
                }
            }
            Some((Ok(page.items), s))
        }))
    }

    /// Runs a COQL query (`POST /crm/v8/coql`); an empty result is an empty page.
    ///
    /// Scope: `ZohoCRM.coql.READ` and a records READ scope of the module.
    pub async fn coql(&self, query: &Coql) -> Result<V8Page<v8::Record>> {
        let text = query.to_query()?;
        let body = serde_json::json!({ "select_query": text });
        let page: Option<v8::CoqlResponseWrapper> =
            self.crm.request_typed("coql", http::Method::POST, "/crm/v8/coql", Some(&body)).await?;
        Ok(match page {
            Some(p) => V8Page { items: p.data, info: p.info },
            None => V8Page { items: Vec::new(), info: None },
        })
    }

    /// Runs a COQL query given as text (typed by a user, read from a file), each row decoded
    /// straight into your own type. Zoho parses the text, the SDK does not: prefer [`Coql`]
    /// (identifiers checked, values escaped) for queries built from input. Sent as the read
    /// it is (retried like one); `info` says whether more rows match than the query's `LIMIT`.
    ///
    /// Scope: `ZohoCRM.coql.READ` and a records READ scope of the module.
    pub async fn coql_text<T: DeserializeOwned>(&self, query: &str) -> Result<V8Page<T>> {
        if query.trim().is_empty() {
            return Err(Error::InvalidInput { parameter: "query".into(), reason: "the COQL query is empty".into() });
        }
        let body = serde_json::json!({ "select_query": query });
        let page: Option<Listing<T>> =
            self.crm.request_typed("coql", http::Method::POST, "/crm/v8/coql", Some(&body)).await?;
        Ok(match page {
            Some(p) => V8Page { items: p.data, info: p.info },
            None => V8Page { items: Vec::new(), info: None },
        })
    }

    /// Runs a COQL query and decodes each row into your own type.
    pub async fn coql_as<T: DeserializeOwned>(&self, query: &Coql) -> Result<Vec<T>> {
        Ok(self.coql_text(&query.to_query()?).await?.items)
    }

    /// Every row of a COQL query, in calls of `LIMIT` rows (the query's, or 2,000) with a
    /// growing `OFFSET`, up to Zoho's reach of 100,000 rows: the last call asks only for what
    /// is left of the reach, and when Zoho still has more rows there the stream ends with
    /// [`Error::Pagination`] (narrow the query, by id or time ranges, to read the rest). A query
    /// COQL refuses ends it with [`Error::InvalidInput`] before anything is sent.
    pub fn coql_stream(&self, query: Coql) -> BoxStream<'static, Result<v8::Record>> {
        let limit = query.limit_value().unwrap_or(crate::coql::MAX_LIMIT);
        let start = query.offset_value().unwrap_or(0);
        let reach = crate::coql::MAX_REACH;
        // The query as the caller wrote it: one COQL refuses is refused here, not skipped.
        let refused = query.to_query().err();
        let this = self.clone();
        let state = (this, query, Some(start), refused);
        items_of_pages(futures_util::stream::unfold(state, move |(this, query, next, refused)| async move {
            if let Some(e) = refused {
                return Some((Err(e), (this, query, None, None)));
            }
            let offset = next?;
            let left = reach.saturating_sub(offset);
            if left == 0 {
                let e = Error::Pagination {
                    operation: "coql".into(),
                    page: 0,
                    reason: format!(
                        "Zoho has more rows past the {reach} a COQL query reaches (LIMIT + OFFSET); narrow the query to read them"
                    ),
                };
                return Some((Err(e), (this, query, None, None)));
            }
            let call = limit.min(left);
            let page = match this.coql(&query.clone().limit(call).offset(offset)).await {
                Ok(p) => p,
                Err(e) => return Some((Err(e), (this, query, None, None))),
            };
            // On by the rows Zoho returned, not the rows asked for: a short call with more to
            // come must not skip the rows between.
            let got = u32::try_from(page.items.len()).unwrap_or(call).min(call);
            let next = (page.more_records() && got > 0).then(|| offset + got);
            Some((Ok(page.items), (this, query, next, None)))
        }))
    }

    async fn write(
        &self,
        operation: &'static str,
        method: http::Method,
        path: String,
        body: serde_json::Value,
    ) -> Result<Vec<ActionResult>> {
        let body = (!body.is_null()).then_some(body);
        #[derive(serde::Deserialize)]
        struct Results {
            #[serde(default)]
            data: Vec<ActionResult>,
        }
        let results: Option<Results> = self.crm.request_typed(operation, method, &path, body.as_ref()).await?;
        Ok(results.map(|r| r.data).unwrap_or_default())
    }

    /// Inserts up to 100 records (any `serde` value per record: a `json!` object, your own
    /// struct); one result per record (HTTP 201/207/400 alike).
    ///
    /// Scope: a records CREATE scope.
    pub async fn insert_records<R: serde::Serialize>(&self, module: &str, records: &[R]) -> Result<Vec<ActionResult>> {
        let module = api_name("module", module)?;
        self.write("create_records", http::Method::POST, format!("/crm/v8/{module}"), batch(records)?).await
    }

    /// Updates up to 100 records (each carries its `id`).
    ///
    /// Scope: a records UPDATE scope.
    pub async fn update_records<R: serde::Serialize>(&self, module: &str, records: &[R]) -> Result<Vec<ActionResult>> {
        let module = api_name("module", module)?;
        self.write("update_records", http::Method::PUT, format!("/crm/v8/{module}"), batch(records)?).await
    }

    /// Inserts or updates up to 100 records, matched on `duplicate_check_fields` (empty: the
    /// module's own, e.g. `Email` for Leads, as in v2).
    ///
    /// Scope: a records CREATE scope.
    pub async fn upsert_records<R: serde::Serialize>(
        &self,
        module: &str,
        records: &[R],
        duplicate_check_fields: &[&str],
    ) -> Result<Vec<ActionResult>> {
        let module = api_name("module", module)?;
        let mut body = batch(records)?;
        // Left out when empty: Zoho then uses the module's own duplicate-check fields.
        if !duplicate_check_fields.is_empty() {
            body["duplicate_check_fields"] = serde_json::json!(duplicate_check_fields);
        }
        self.write("upsert_records", http::Method::POST, format!("/crm/v8/{module}/upsert"), body).await
    }

    /// Deletes up to 100 records by id.
    ///
    /// Scope: a records DELETE scope.
    pub async fn delete_records(&self, module: &str, ids: &[&str]) -> Result<Vec<ActionResult>> {
        let module = api_name("module", module)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > crate::client::MAX_RECORDS_PER_WRITE {
            return Err(Error::InvalidInput {
                parameter: "ids".into(),
                reason: format!("{} ids; at most 100", ids.len()),
            });
        }
        let ids = ids.iter().map(|id| record_id(id)).collect::<Result<Vec<_>>>()?;
        self.write(
            "delete_records",
            http::Method::DELETE,
            format!("/crm/v8/{module}?ids={}", ids.join(",")),
            serde_json::Value::Null,
        )
        .await
    }
}

/// `{"data": [...]}` for up to 100 records.
fn batch<R: serde::Serialize>(records: &[R]) -> Result<serde_json::Value> {
    if records.len() > crate::client::MAX_RECORDS_PER_WRITE {
        return Err(Error::InvalidInput {
            parameter: "records".into(),
            reason: format!("{} records in one write; Zoho accepts at most 100: split the batch", records.len()),
        });
    }
    let data = serde_json::to_value(records).map_err(|e| Error::InvalidInput {
        parameter: "records".into(),
        reason: format!("they do not serialize: {e}"),
    })?;
    Ok(serde_json::json!({ "data": data }))
}

/// A module API name (letters, digits, `_`), or [`Error::InvalidInput`].
fn api_name<'a>(parameter: &str, value: &'a str) -> Result<&'a str> {
    if crate::coql::is_api_name(value) {
        Ok(value)
    } else {
        Err(Error::InvalidInput { parameter: parameter.into(), reason: format!("{value:?} is not an API name") })
    }
}

/// A record id (digits), or [`Error::InvalidInput`].
fn record_id(value: &str) -> Result<&str> {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        Ok(value)
    } else {
        Err(Error::InvalidInput {
            parameter: "record_id".into(),
            reason: format!("{value:?} is not a record id (digits)"),
        })
    }
}

/// Decodes a JSON answer (`None` for 204/304).
fn decode<T: DeserializeOwned>(operation: &str, status: u16, body: Option<serde_json::Value>) -> Result<Option<T>> {
    let Some(body) = body else {
        return Ok(None);
    };
    // Decoded from the tree in place; the text, for the error's excerpt, only on failure.
    T::deserialize(&body).map(Some).map_err(|e| {
        let text = body.to_string();
        Error::decode(operation, status, text.as_bytes(), crate::error::decode_reason::<T>(text.as_bytes(), &e))
    })
}

/// A listed record (as Zoho sent it) decoded into the caller's type.
fn typed<T: DeserializeOwned>(operation: &str, row: serde_json::Map<String, serde_json::Value>) -> Result<T> {
    decode::<T>(operation, 200, Some(serde_json::Value::Object(row)))?
        .ok_or_else(|| Error::decode(operation, 200, b"", "the record is empty"))
}
