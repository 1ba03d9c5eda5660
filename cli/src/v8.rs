//! The CRM client of the chosen `--api-version`, and the CRM v8 calls the SDK's
//! [`CrmV8Client`] has no method for yet (users by type, search): Zoho's v8 paths through the
//! SDK's authenticated [`CrmClient::request`] (refresh, replay on `INVALID_TOKEN`, retries),
//! paged by number like v2.

use std::collections::VecDeque;

use futures_util::stream::BoxStream;
use serde::de::DeserializeOwned;
use zohocrm::client::{Record, Search};
use zohocrm::client_v8::{CrmV8Client, MAX_FIELDS};
use zohocrm::coql::is_api_name;
use zohocrm::{CrmClient, Error, Result};

/// The client of one connection, in the API version the command uses.
pub enum Crm {
    /// `/crm/v2/…`.
    V2(CrmClient),
    /// `/crm/v8/…`.
    V8(CrmV8Client),
}

impl Crm {
    /// The v2 client of the same connection (for `CrmClient::request`, the key, the API domain).
    pub fn v2(&self) -> &CrmClient {
        match self {
            Crm::V2(c) => c,
            Crm::V8(c) => c.v2(),
        }
    }
}

/// Most pages one numbered listing fetches (as the SDK's v2 streams: `MAX_PAGES`).
const MAX_PAGES: u32 = zohocrm::client::MAX_PAGES;

/// Every item of a v8 listing paged by number: `path` (with its own query) plus `page` and
/// `per_page=200`, the items under `key` of each answer, until `info.more_records` is false.
pub fn numbered<T>(
    crm: CrmClient,
    path: String,
    key: &'static str,
    operation: &'static str,
) -> BoxStream<'static, Result<T>>
where
    T: DeserializeOwned + Send + 'static,
{
    struct State<T> {
        crm: CrmClient,
        path: String,
        next: Option<u32>,
        buffer: VecDeque<T>,
    }
    let state = State { crm, path, next: Some(1), buffer: VecDeque::new() };
    Box::pin(futures_util::stream::unfold(state, move |mut s| async move {
        loop {
            if let Some(item) = s.buffer.pop_front() {
                return Some((Ok(item), s));
            }
            let page = s.next.take()?;
            if page > MAX_PAGES {
                let e = Error::Pagination {
                    operation: operation.to_owned(),
                    page,
                    reason: format!("Zoho still had more records after {MAX_PAGES} pages"),
                };
                return Some((Err(e), s));
            }
            let sep = if s.path.contains('?') { '&' } else { '?' };
            let url = format!("{}{sep}page={page}&per_page={}", s.path, zohocrm::client::MAX_PER_PAGE);
            let answer = match s.crm.request(http::Method::GET, &url, None).await {
                Ok(a) => a,
                Err(e) => return Some((Err(e), s)),
            };
            let Some(body) = answer.body else {
                return None; // 204: no (more) items
            };
            let items = match body.get(key) {
                None => Vec::new(),
                Some(items) => match serde_json::from_value::<Vec<T>>(items.clone()) {
                    Ok(items) => items,
                    Err(e) => {
                        let e = Error::Decode {
                            operation: operation.to_owned(),
                            status: answer.status,
                            body: String::new(),
                            reason: format!("`{key}` did not decode: {e}"),
                        };
                        return Some((Err(e), s));
                    }
                },
            };
            let more = body.pointer("/info/more_records").and_then(serde_json::Value::as_bool).unwrap_or(false);
            if more && !items.is_empty() {
                s.next = Some(page + 1);
            }
            s.buffer.extend(items);
        }
    }))
}

/// A module API name, or the SDK's [`Error::InvalidInput`] (nothing is sent).
fn module_name(module: &str) -> Result<&str> {
    if is_api_name(module) {
        Ok(module)
    } else {
        Err(Error::InvalidInput { parameter: "module".into(), reason: format!("{module:?} is not an API name") })
    }
}

/// `GET /crm/v8/users?type=…`, every page.
pub fn users(crm: &CrmV8Client, kind: zohocrm::client::UserType) -> BoxStream<'static, Result<zohocrm::client::User>> {
    numbered(crm.v2().clone(), format!("/crm/v8/users?type={kind}"), "users", "get_users")
}

/// `GET /crm/v8/{module}/search?…`: the first page, or every page (Zoho's search reaches
/// 2,000 records in v8 as in v2).
pub fn search(crm: &CrmV8Client, module: &str, search: &Search) -> Result<BoxStream<'static, Result<Record>>> {
    let module = module_name(module)?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    match search {
        Search::Criteria(c) => {
            c.validate()?;
            query.append_pair("criteria", &c.to_string());
        }
        Search::Email(e) => {
            query.append_pair("email", e);
        }
        Search::Phone(p) => {
            query.append_pair("phone", p);
        }
        Search::Word(w) => {
            query.append_pair("word", w);
        }
        _ => {
            return Err(Error::InvalidInput {
                parameter: "search".into(),
                reason: "this kind of search is not supported by the CLI".into(),
            });
        }
    }
    let path = format!("/crm/v8/{module}/search?{}", query.finish());
    Ok(numbered(crm.v2().clone(), path, "data", "search_records"))
}

/// The fields a v8 listing asks for when `--fields` is not given: the module's fields from
/// its metadata (`GET /crm/v8/settings/fields?module=…`), `id` first, at most 50 (Zoho's
/// limit); and how many the module has (`id` included), to tell the user when some are left out.
pub async fn default_fields(crm: &CrmV8Client, module: &str) -> Result<(Vec<String>, usize)> {
    let fields = crm.fields(module).await?;
    let mut names = vec!["id".to_owned()];
    names.extend(fields.into_iter().filter_map(|f| f.api_name).filter(|n| n != "id" && is_api_name(n)));
    let total = names.len();
    names.truncate(MAX_FIELDS);
    Ok((names, total))
}
