//! The v8 listing's parts: its options ([`V8Query`]), where a page starts ([`PageAt`]), a
//! page ([`V8Page`]), the query string of a page, and a page decoded straight into any record
//! type.

use serde::de::DeserializeOwned;

use crate::crm_v8::core::types::{self as v8, RecordInfo};
use crate::error::{Error, Result};

use super::MAX_FIELDS;

/// Options of a v8 records listing. `fields` is required by v8.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
#[must_use]
pub struct V8Query {
    /// Field API names to return (1..=50).
    pub fields: Vec<String>,
    /// Sort by `id`, `Created_Time` or `Modified_Time`.
    pub sort_by: Option<String>,
    /// Ascending instead of Zoho's default descending order.
    pub ascending: bool,
    /// Records per page (1..=200; default 200).
    pub per_page: Option<u32>,
    /// Custom view id.
    pub cvid: Option<String>,
}

impl V8Query {
    /// A listing of these fields (API names).
    pub fn fields<I, S>(fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self { fields: fields.into_iter().map(|f| f.as_ref().to_owned()).collect(), ..Self::default() }
    }

    /// Sorted by `field` (`id`, `Created_Time` or `Modified_Time`).
    pub fn sort_by(mut self, field: &str, ascending: bool) -> Self {
        self.sort_by = Some(field.to_owned());
        self.ascending = ascending;
        self
    }

    /// `per_page` records per call (1..=200).
    pub fn per_page(mut self, n: u32) -> Self {
        self.per_page = Some(n);
        self
    }

    pub(super) fn check(&self) -> Result<u32> {
        if self.fields.is_empty() || self.fields.len() > MAX_FIELDS {
            return Err(Error::InvalidInput {
                parameter: "fields".into(),
                reason: format!("v8 listings need 1..={MAX_FIELDS} field API names, got {}", self.fields.len()),
            });
        }
        for f in &self.fields {
            if !crate::coql::is_api_name(f) {
                return Err(Error::InvalidInput {
                    parameter: "fields".into(),
                    reason: format!("{f:?} is not a field API name"),
                });
            }
        }
        let per_page = self.per_page.unwrap_or(200);
        if per_page == 0 || per_page > 200 {
            return Err(Error::InvalidInput {
                parameter: "per_page".into(),
                reason: format!("{per_page} is outside 1..=200"),
            });
        }
        Ok(per_page)
    }
}

/// Where a page starts: a page number (for the first 2,000 records) or Zoho's page token.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PageAt {
    /// Page number, from 1.
    Number(u32),
    /// A `next_page_token` from a previous page.
    Token(String),
}

/// One page of a v8 listing.
#[derive(Clone, Debug)]
pub struct V8Page<T> {
    /// The records on this page (empty when Zoho answered 204).
    pub items: Vec<T>,
    /// Zoho's `info` (`more_records`, `next_page_token`, `page_token_expiry`, ...).
    pub info: Option<RecordInfo>,
}

impl<T> V8Page<T> {
    /// Whether Zoho has more records.
    pub fn more_records(&self) -> bool {
        self.info.as_ref().and_then(|i| i.more_records).unwrap_or(false)
    }

    /// The token for the next page, when Zoho gave one: keep it to resume later with
    /// [`CrmV8Client::records_from`](super::CrmV8Client::records_from).
    pub fn next_page_token(&self) -> Option<&str> {
        self.info.as_ref()?.next_page_token.as_deref()
    }
}

/// The query string of a listing page.
pub(super) fn listing_query(query: &V8Query, per_page: u32, at: &PageAt) -> Result<String> {
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    params.append_pair("fields", &query.fields.join(",")).append_pair("per_page", &per_page.to_string());
    match at {
        PageAt::Number(0) => {
            return Err(Error::InvalidInput { parameter: "page".into(), reason: "pages are numbered from 1".into() });
        }
        PageAt::Number(n) => {
            params.append_pair("page", &n.to_string());
        }
        PageAt::Token(t) => {
            params.append_pair("page_token", t);
        }
    }
    if let Some(sort) = &query.sort_by {
        params.append_pair("sort_by", sort).append_pair("sort_order", if query.ascending { "asc" } else { "desc" });
    }
    if let Some(cvid) = &query.cvid {
        params.append_pair("cvid", cvid);
    }
    Ok(params.finish())
}

/// A page of records as Zoho sends it (`data`, `info`), each record decoded straight into `R`
/// (no detour through the generated record type, which drops empty and null members).
#[derive(serde::Deserialize)]
pub(super) struct Listing<R> {
    #[serde(default = "Vec::new")]
    pub(super) data: Vec<R>,
    #[serde(default)]
    pub(super) info: Option<RecordInfo>,
}

/// What a listing walk reads of a record: its id, to notice a page that repeats the last one.
pub(super) trait Listed: DeserializeOwned + Send + 'static {
    fn listed_id(&self) -> Option<&str>;
}

impl Listed for v8::Record {
    fn listed_id(&self) -> Option<&str> {
        self.id.as_deref()
    }
}

impl Listed for serde_json::Map<String, serde_json::Value> {
    fn listed_id(&self) -> Option<&str> {
        self.get("id").and_then(serde_json::Value::as_str)
    }
}
