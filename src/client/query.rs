//! What a listing asks for and returns: [`Page`], [`RecordQuery`], [`Search`] and its
//! [`Criteria`], [`DeletedKind`].

use crate::crm::types;
use crate::error::{Error, Result};

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
#[must_use]
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
    pub(super) fn as_str(self) -> &'static str {
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
/// problem and [`CrmClient::search_page`](crate::CrmClient::search_page) returns it before sending (see [`Criteria::validate`]).
///
/// ```
/// use zohocrm::client::Criteria;
/// let c = Criteria::equals("Company", "Zylker (EU), Ltd").and(Criteria::starts_with("Last_Name", "Bo"));
/// assert_eq!(c.to_string(), r"((Company:equals:Zylker \(EU\)\, Ltd)and(Last_Name:starts_with:Bo))");
/// assert!(Criteria::try_equals("Last_Name:equals:x)or(Email", "y").is_err());
/// assert!(Criteria::equals("Bad Field", "y").validate().is_err());
/// let eleven = (1..=11).fold(Criteria::equals("Id", "0"), |c, i| c.or(Criteria::equals("Id", &i.to_string())));
/// assert_eq!(eleven.conditions(), 12);
/// assert!(eleven.validate().is_err(), "Zoho accepts at most 10 conditions");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Criteria {
    text: String,
    /// Why a field name was refused, kept until the criteria is sent.
    invalid: Option<String>,
    /// How many conditions it holds (Zoho accepts at most [`MAX_CRITERIA`] in one search).
    conditions: usize,
}

/// The most conditions one Zoho search criteria may hold.
pub const MAX_CRITERIA: usize = 10;

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
        Self { text: format!("({field}:{op}:{escaped})"), invalid: field_name_problem(field), conditions: 1 }
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
        Self::join(self, "and", other)
    }

    /// Either may match.
    pub fn or(self, other: Criteria) -> Self {
        Self::join(self, "or", other)
    }

    fn join(self, op: &str, other: Criteria) -> Self {
        Self {
            text: format!("({}{op}{})", self.text, other.text),
            invalid: self.invalid.or(other.invalid),
            conditions: self.conditions.saturating_add(other.conditions),
        }
    }

    /// How many conditions the criteria holds.
    pub fn conditions(&self) -> usize {
        self.conditions
    }

    /// [`Error::InvalidInput`] when a field name of this criteria is not an API name, or when
    /// it holds more than [`MAX_CRITERIA`] conditions (Zoho refuses those).
    pub fn validate(&self) -> Result<()> {
        if let Some(reason) = &self.invalid {
            return Err(Error::invalid_input("criteria", reason.clone()));
        }
        if self.conditions > MAX_CRITERIA {
            return Err(Error::invalid_input(
                "criteria",
                format!(
                    "{} conditions in one search; Zoho accepts at most {MAX_CRITERIA}: split the search, or use COQL (v8)",
                    self.conditions
                ),
            ));
        }
        Ok(())
    }
}

impl std::fmt::Display for Criteria {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl<T> Page<T> {
    /// A page from a decoded listing (`None`: Zoho answered 204/304, an empty last page).
    pub(super) fn of(listing: Option<(Vec<T>, Option<types::Info>)>, page: u32) -> Self {
        match listing {
            Some((items, info)) => Page { more_records: more(&info), items, page },
            None => Page { items: Vec::new(), page, more_records: false },
        }
    }
}

fn more(info: &Option<types::Info>) -> bool {
    info.as_ref().and_then(|i| i.more_records).unwrap_or(false)
}
