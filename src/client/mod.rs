//! [`CrmClient`]: the typed CRM v2 client for one connected user.
//!
//! Built on the generated client ([`CrmClient::raw`] gives it to you for anything not wrapped
//! here): the base URL is the token's `api_domain` (so the environment is always right), the
//! hooks add `Authorization: Zoho-oauthtoken …` and refresh-and-replay once on `INVALID_TOKEN`,
//! 204/304 become empty results, Zoho's error envelopes become [`Error::Api`](crate::Error::Api), and listings
//! are boxed streams ([`BoxStream`](futures_util::stream::BoxStream)) over every page until `more_records` is false (at most
//! [`CrmClient::max_pages`] pages; a page that repeats the previous one stops the listing).
//!
//! Path parameters (module API names, record and user ids) are always exactly one URL path
//! segment: empty values and dot segments (`.`, `..`, `%2e`, ...) are refused with
//! [`Error::InvalidInput`](crate::Error::InvalidInput) before anything is sent, everything else is percent-encoded. Writes
//! whose records all fail (Zoho's HTTP 400 with one result per record) return those results.

use std::sync::{Arc, Mutex};

use crate::crm;
use crate::manager::TokenManager;
use crate::retry::{Retrier, RetryPolicy};
use crate::token::TokenKey;
use crate::transport::{CallRecord, CallState};

mod context;
mod hooks;
mod query;
mod raw;
mod records;
mod shortcuts;

pub use crate::crm::types::{ActionResult, Field, Layout, Module, Org, Record, User, UserType};
pub use context::CrmContext;
pub use query::{Criteria, DeletedKind, MAX_CRITERIA, Page, RecordQuery, Search};
pub use raw::{ErrorBody, RawResponse};
#[cfg(feature = "v8-core")]
pub(crate) use shortcuts::items_of_pages;

/// The most items Zoho returns per page.
pub const MAX_PER_PAGE: u32 = 200;
/// The most records one insert, update or upsert may carry.
pub const MAX_RECORDS_PER_WRITE: usize = 100;
/// The default cap on the pages one listing stream fetches: 10,000 pages, 2,000,000 items at
/// 200 per page. A server that keeps answering `more_records: true` beyond it ends the stream
/// with [`Error::Pagination`](crate::Error::Pagination) instead of looping forever; change it per client with
/// [`CrmClient::with_max_pages`].
pub const MAX_PAGES: u32 = 10_000;

/// The CRM client of one connection. Cheap to clone.
#[derive(Clone, Debug)]
pub struct CrmClient {
    /// The token source and the connection, shared by every call (no copy per call).
    auth: Arc<context::Auth>,
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
        Self { auth: Arc::new(context::Auth { manager, key }), base, http, retry, max_pages: MAX_PAGES }
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
    /// [`Error::Pagination`](crate::Error::Pagination).
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
        &self.auth.key
    }

    /// The CRM API base URL in use (the token's `api_domain`).
    pub fn api_domain(&self) -> &str {
        &self.base
    }

    /// The generated client with this connection's hooks (authorization, refresh-and-replay,
    /// path-parameter checks, tracing), for every operation of `spec/crm-v2.yaml`. Called
    /// directly, errors raised inside the hooks arrive as progenitor's `Custom` or
    /// `InvalidRequest` with the SDK error's message; run the call through [`CrmClient::send`]
    /// to get the typed [`Error`](crate::Error) instead.
    pub fn raw(&self) -> crm::Client {
        crm::Client::new_with_client(
            &self.base,
            self.http.clone(),
            CrmContext::new(self.auth.clone(), None, self.retry.clone()),
        )
    }

    /// The generated CRM v8 core client (`zohocrm::crm_v8::core`) with this connection's hooks.
    #[cfg(feature = "v8-core")]
    pub fn raw_v8_core(&self) -> crate::crm_v8::core::Client {
        crate::crm_v8::core::Client::new_with_client(
            &self.base,
            self.http.clone(),
            CrmContext::new(self.auth.clone(), None, self.retry.clone()),
        )
    }

    fn call(&self) -> (crm::Client, Slot) {
        let slot: Slot = Arc::new(Mutex::new(CallState::default()));
        let client = crm::Client::new_with_client(
            &self.base,
            self.http.clone(),
            CrmContext::new(self.auth.clone(), Some(slot.clone()), self.retry.clone()),
        );
        (client, slot)
    }
}
