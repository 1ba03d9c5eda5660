//! Helpers on Zoho's record and write-result types: [`Record::new`], `set`, typed getters,
//! and [`ActionResult`]'s outcome accessors.

use crate::crm::types::{ActionResult, Record};
use crate::error::{Error, Result};

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
    /// `serde_json::json!({"id": "…"})`), replacing any value; `"id"` sets [`Record::id`] (a
    /// number as its digits, `null` clears it).
    #[must_use]
    pub fn set(mut self, field: &str, value: impl Into<serde_json::Value>) -> Self {
        self.insert(field, value);
        self
    }

    /// Sets a field in place (see [`Record::set`]).
    pub fn insert(&mut self, field: &str, value: impl Into<serde_json::Value>) {
        let value = value.into();
        if field == "id" {
            // Zoho's ids are digit strings: a number is the same id as text (not dropped),
            // `null` clears it, anything else goes as its JSON text (Zoho answers INVALID_DATA).
            self.id = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(id) => Some(id),
                other => Some(other.to_string()),
            };
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

#[cfg(test)]
mod tests {
    use super::Record;

    /// Zoho's record ids are digit strings; one given as a JSON number (as a spreadsheet or
    /// another API hands it over) is the same id, not silently none.
    #[test]
    fn an_id_given_as_a_number_is_kept_as_text() {
        assert_eq!(Record::new().set("id", 3_652_397_000_000_190_367_u64).id.as_deref(), Some("3652397000000190367"));
        assert_eq!(Record::new().set("id", "3652397000000190367").id.as_deref(), Some("3652397000000190367"));
        assert_eq!(Record::with_id("1").set("id", serde_json::Value::Null).id, None, "null clears it");
    }
}
