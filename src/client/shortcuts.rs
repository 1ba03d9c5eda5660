//! The typed shortcuts of [`CrmClient`]: users, modules, fields, layouts, org, records
//! (list, get, search, write, delete, deleted), each with the scope it needs, and the
//! pagination behind every listing stream.

use std::sync::Arc;

use futures_util::StreamExt;
use futures_util::stream::{BoxStream, Stream};

use crate::crm::types;
use crate::error::{Error, Result};
use crate::path::check_segment;

use super::raw::finish;
use super::{
    ActionResult, CrmClient, DeletedKind, Field, Layout, MAX_PER_PAGE, MAX_RECORDS_PER_WRITE, Module, Org, Page,
    Record, RecordQuery, Search, User, UserType,
};

impl CrmClient {
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

/// The body of insert, update and upsert.
fn write_body(data: Vec<Record>, duplicate_check_fields: Vec<String>) -> types::RecordsWrite {
    types::RecordsWrite { data, trigger: Vec::new(), duplicate_check_fields, extra: Default::default() }
}

fn check_batch(len: usize) -> Result<()> {
    if len > MAX_RECORDS_PER_WRITE {
        return Err(Error::invalid_input(
            "records",
            format!(
                "{len} records in one write; Zoho accepts at most {MAX_RECORDS_PER_WRITE} (LIMIT_EXCEEDED): split the batch"
            ),
        ));
    }
    Ok(())
}

fn page_args(page: u32, per_page: u32) -> Result<(std::num::NonZeroU32, std::num::NonZeroU32)> {
    let page =
        std::num::NonZeroU32::new(page).ok_or_else(|| Error::invalid_input("page", "pages are numbered from 1"))?;
    let per_page = std::num::NonZeroU32::new(per_page)
        .filter(|n| n.get() <= MAX_PER_PAGE)
        .ok_or_else(|| Error::invalid_input("per_page", format!("must be 1..={MAX_PER_PAGE}, got {per_page}")))?;
    Ok((page, per_page))
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
    struct State<F> {
        fetch: F,
        next_page: Option<u32>,
        previous_ids: Vec<Option<String>>,
    }
    let state = State { fetch, next_page: Some(1), previous_ids: Vec::new() };
    items_of_pages(futures_util::stream::unfold(state, move |mut state| async move {
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
                Some((Ok(p.items), state))
            }
            Err(e) => {
                state.next_page = None;
                Some((Err(e), state))
            }
        }
    }))
}

/// The items of a stream of pages, in order; a page's error is yielded as an item (the page
/// streams here end after one). Each page's future runs once per page and its items are moved
/// out of the page one by one: a stream that kept a buffer in `unfold`'s state rebuilt the
/// page future, and moved the listing's whole state, for every item.
pub(crate) fn items_of_pages<T, S>(pages: S) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    S: Stream<Item = Result<Vec<T>>> + Send + 'static,
{
    Box::pin(pages.flat_map(|page| match page {
        Ok(items) => futures_util::stream::iter(items).map(Ok).left_stream(),
        Err(e) => futures_util::stream::once(std::future::ready(Err(e))).right_stream(),
    }))
}
