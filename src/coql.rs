//! A COQL query builder: `SELECT … FROM … WHERE … ORDER BY … LIMIT … OFFSET …` with every
//! identifier checked and every value quoted and escaped, so user input can never change the
//! query's shape.
//!
//! Zoho's COQL rules it follows: identifiers are API names (`Last_Name`, a lookup's
//! `Owner.last_name`); text values are single-quoted with `\'` for a quote; more than two
//! criteria at one level must be grouped in pairs (the builder always nests `and`/`or` in
//! parentheses); `LIMIT` is at most 2,000 rows per call and `LIMIT` + `OFFSET` at most 100,000.
//!
//! ```
//! use zohocrm::coql::{Coql, Condition, Order};
//! let q = Coql::select(["Last_Name", "Company"])
//!     .from("Leads")
//!     .filter(Condition::eq("Company", "O'Brien & Sons").and(Condition::gt("Annual_Revenue", 100_000)))
//!     .order_by("Created_Time", Order::Desc)
//!     .limit(200);
//! assert_eq!(
//!     q.to_query()?,
//!     r"select Last_Name, Company from Leads where (Company = 'O\'Brien & Sons' and Annual_Revenue > 100000) order by Created_Time desc limit 200"
//! );
//! assert!(Coql::select(["Last_Name from Contacts --"]).from("Leads").to_query().is_err());
//! # Ok::<(), zohocrm::Error>(())
//! ```

use std::fmt::Write as _;

use crate::error::{Error, Result};

/// The most rows one COQL call returns.
pub const MAX_LIMIT: u32 = 2_000;
/// The furthest a COQL query reaches (`LIMIT` + `OFFSET`).
pub const MAX_REACH: u32 = 100_000;

/// A value in a condition: text (quoted and escaped), a number or a boolean.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Value {
    /// Text, dates and date-times (`'2026-11-30'`, `'2026-11-30T10:00:00+05:30'`).
    Text(String),
    /// A whole number.
    Int(i64),
    /// A decimal number.
    Float(f64),
    /// A checkbox value.
    Bool(bool),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Self::Int(i64::from(v))
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Self::Float(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}

impl Value {
    fn write(&self, out: &mut String) -> Result<()> {
        match self {
            Self::Text(s) => {
                out.push('\'');
                for c in s.chars() {
                    match c {
                        '\'' => out.push_str("\\'"),
                        '\\' => out.push_str("\\\\"),
                        '\0'..='\x1f' => {
                            return Err(Error::InvalidInput {
                                parameter: "coql value".into(),
                                reason: format!("{s:?} contains a control character"),
                            });
                        }
                        c => out.push(c),
                    }
                }
                out.push('\'');
            }
            Self::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Self::Float(f) if f.is_finite() => {
                let _ = write!(out, "{f}");
            }
            Self::Float(f) => {
                return Err(Error::InvalidInput {
                    parameter: "coql value".into(),
                    reason: format!("{f} is not a finite number"),
                });
            }
            Self::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        }
        Ok(())
    }
}

/// Sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Order {
    /// Smallest first (Zoho's default).
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// A `WHERE` condition, built from comparisons with [`Condition::and`] / [`Condition::or`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Condition {
    /// `field <op> value`.
    Compare {
        /// The field's API name.
        field: String,
        /// `=`, `!=`, `<`, `>`, `<=`, `>=`, `like`, `not like`.
        op: &'static str,
        /// The value.
        value: Value,
    },
    /// `field [not] in (values…)`.
    In {
        /// The field's API name.
        field: String,
        /// The values (at least one).
        values: Vec<Value>,
        /// `not in`.
        negated: bool,
    },
    /// `field is [not] null`.
    Null {
        /// The field's API name.
        field: String,
        /// `is not null`.
        negated: bool,
    },
    /// `field between a and b`.
    Between {
        /// The field's API name.
        field: String,
        /// Lower bound (inclusive).
        low: Value,
        /// Upper bound (inclusive).
        high: Value,
    },
    /// Both.
    And(Box<Condition>, Box<Condition>),
    /// Either.
    Or(Box<Condition>, Box<Condition>),
}

impl Condition {
    fn compare(field: &str, op: &'static str, value: impl Into<Value>) -> Self {
        Self::Compare { field: field.to_owned(), op, value: value.into() }
    }
    /// `field = value`.
    pub fn eq(field: &str, value: impl Into<Value>) -> Self {
        Self::compare(field, "=", value)
    }
    /// `field != value`.
    pub fn ne(field: &str, value: impl Into<Value>) -> Self {
        Self::compare(field, "!=", value)
    }
    /// `field < value`.
    pub fn lt(field: &str, value: impl Into<Value>) -> Self {
        Self::compare(field, "<", value)
    }
    /// `field > value`.
    pub fn gt(field: &str, value: impl Into<Value>) -> Self {
        Self::compare(field, ">", value)
    }
    /// `field <= value`.
    pub fn le(field: &str, value: impl Into<Value>) -> Self {
        Self::compare(field, "<=", value)
    }
    /// `field >= value`.
    pub fn ge(field: &str, value: impl Into<Value>) -> Self {
        Self::compare(field, ">=", value)
    }
    /// `field like 'pattern'` (`%` matches any run of characters; the pattern is escaped like
    /// any text).
    pub fn like(field: &str, pattern: &str) -> Self {
        Self::compare(field, "like", pattern)
    }
    /// `field in (values…)`.
    pub fn is_in<V: Into<Value>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Self::In { field: field.to_owned(), values: values.into_iter().map(Into::into).collect(), negated: false }
    }
    /// `field not in (values…)`.
    pub fn not_in<V: Into<Value>>(field: &str, values: impl IntoIterator<Item = V>) -> Self {
        Self::In { field: field.to_owned(), values: values.into_iter().map(Into::into).collect(), negated: true }
    }
    /// `field is null`.
    pub fn is_null(field: &str) -> Self {
        Self::Null { field: field.to_owned(), negated: false }
    }
    /// `field is not null`.
    pub fn is_not_null(field: &str) -> Self {
        Self::Null { field: field.to_owned(), negated: true }
    }
    /// `field between low and high`.
    pub fn between(field: &str, low: impl Into<Value>, high: impl Into<Value>) -> Self {
        Self::Between { field: field.to_owned(), low: low.into(), high: high.into() }
    }
    /// Both this and `other` (always parenthesized: Zoho groups criteria in pairs).
    #[must_use]
    pub fn and(self, other: Condition) -> Self {
        Self::And(Box::new(self), Box::new(other))
    }
    /// This or `other`.
    #[must_use]
    pub fn or(self, other: Condition) -> Self {
        Self::Or(Box::new(self), Box::new(other))
    }

    fn write(&self, out: &mut String) -> Result<()> {
        match self {
            Self::Compare { field, op, value } => {
                out.push_str(ident("field", field)?);
                let _ = write!(out, " {op} ");
                value.write(out)?;
            }
            Self::In { field, values, negated } => {
                if values.is_empty() {
                    return Err(Error::InvalidInput {
                        parameter: "coql in".into(),
                        reason: format!("`{field} in ()` needs at least one value"),
                    });
                }
                out.push_str(ident("field", field)?);
                out.push_str(if *negated { " not in (" } else { " in (" });
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.write(out)?;
                }
                out.push(')');
            }
            Self::Null { field, negated } => {
                out.push_str(ident("field", field)?);
                out.push_str(if *negated { " is not null" } else { " is null" });
            }
            Self::Between { field, low, high } => {
                out.push_str(ident("field", field)?);
                out.push_str(" between ");
                low.write(out)?;
                out.push_str(" and ");
                high.write(out)?;
            }
            Self::And(a, b) | Self::Or(a, b) => {
                let joiner = if matches!(self, Self::And(..)) { " and " } else { " or " };
                out.push('(');
                a.write(out)?;
                out.push_str(joiner);
                b.write(out)?;
                out.push(')');
            }
        }
        Ok(())
    }
}

/// A COQL `select` query. Build with [`Coql::select`], render with [`Coql::to_query`].
#[derive(Clone, Debug, PartialEq)]
#[must_use]
pub struct Coql {
    fields: Vec<String>,
    module: String,
    condition: Option<Condition>,
    order: Vec<(String, Order)>,
    limit: Option<u32>,
    offset: Option<u32>,
}

impl Coql {
    /// `select fields…` (API names; a lookup's field as `Owner.last_name`).
    pub fn select<I, S>(fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self {
            fields: fields.into_iter().map(|f| f.as_ref().to_owned()).collect(),
            module: String::new(),
            condition: None,
            order: Vec::new(),
            limit: None,
            offset: None,
        }
    }

    /// `from module` (the module's API name).
    pub fn from(mut self, module: &str) -> Self {
        self.module = module.to_owned();
        self
    }

    /// `where condition` (replaces any previous one).
    pub fn filter(mut self, condition: Condition) -> Self {
        self.condition = Some(condition);
        self
    }

    /// Adds an `order by` key.
    pub fn order_by(mut self, field: &str, order: Order) -> Self {
        self.order.push((field.to_owned(), order));
        self
    }

    /// `limit n` (1..=2,000; Zoho's default is 200).
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }

    /// `offset n` (`limit` + `offset` ≤ 100,000).
    pub fn offset(mut self, n: u32) -> Self {
        self.offset = Some(n);
        self
    }

    /// The `limit` set, if any.
    pub fn limit_value(&self) -> Option<u32> {
        self.limit
    }

    /// The `offset` set, if any.
    pub fn offset_value(&self) -> Option<u32> {
        self.offset
    }

    /// The query text, or [`Error::InvalidInput`] naming what is wrong (an identifier that is
    /// not an API name, no field, no module, a limit out of range).
    pub fn to_query(&self) -> Result<String> {
        if self.fields.is_empty() {
            return Err(Error::InvalidInput {
                parameter: "coql select".into(),
                reason: "select at least one field".into(),
            });
        }
        let mut out = String::from("select ");
        for (i, f) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(ident("field", f)?);
        }
        out.push_str(" from ");
        if self.module.is_empty() {
            return Err(Error::InvalidInput {
                parameter: "coql from".into(),
                reason: "name the module (.from(\"Leads\"))".into(),
            });
        }
        out.push_str(ident("module", &self.module)?);
        if let Some(c) = &self.condition {
            out.push_str(" where ");
            c.write(&mut out)?;
        }
        for (i, (f, o)) in self.order.iter().enumerate() {
            out.push_str(if i == 0 { " order by " } else { ", " });
            out.push_str(ident("field", f)?);
            out.push_str(if *o == Order::Desc { " desc" } else { " asc" });
        }
        let limit = self.limit.unwrap_or(200);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(Error::InvalidInput {
                parameter: "coql limit".into(),
                reason: format!("{limit} is outside 1..={MAX_LIMIT} rows per COQL call"),
            });
        }
        let offset = self.offset.unwrap_or(0);
        if u64::from(limit) + u64::from(offset) > u64::from(MAX_REACH) {
            return Err(Error::InvalidInput {
                parameter: "coql offset".into(),
                reason: format!("limit {limit} + offset {offset} passes Zoho's COQL reach of {MAX_REACH} rows"),
            });
        }
        if self.limit.is_some() || self.offset.is_some() {
            let _ = write!(out, " limit {limit}");
        }
        if let Some(offset) = self.offset.filter(|o| *o > 0) {
            let _ = write!(out, " offset {offset}");
        }
        Ok(out)
    }
}

/// Whether `name` is one Zoho API name (a module or field): a letter, then letters, digits
/// and `_`. Every name the SDK puts in a path, a query or COQL is checked with this.
///
/// ```
/// use zohocrm::coql::is_api_name;
/// assert!(is_api_name("Leads") && is_api_name("Custom_Module1"));
/// assert!(!is_api_name("") && !is_api_name("1Leads") && !is_api_name("Leads/x") && !is_api_name("Le ads"));
/// ```
pub fn is_api_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An API name (`Last_Name`, `Owner.last_name`), or [`Error::InvalidInput`].
fn ident<'a>(what: &str, name: &'a str) -> Result<&'a str> {
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() <= 2 && parts.iter().all(|p| is_api_name(p)) {
        Ok(name)
    } else {
        Err(Error::InvalidInput {
            parameter: format!("coql {what}"),
            reason: format!("{name:?} is not an API name (letters, digits and `_`; a lookup field as `Lookup.field`)"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_and_conditions_nested_in_pairs() {
        let q = Coql::select(["Last_Name"])
            .from("Leads")
            .filter(
                Condition::eq("Last_Name", r"O'Brien \ x")
                    .and(Condition::is_in("Lead_Status", ["New", "Contacted"]))
                    .and(Condition::is_not_null("Email"))
                    .or(Condition::between("Annual_Revenue", 10, 2.5)),
            )
            .offset(400)
            .limit(2000);
        assert_eq!(
            q.to_query().unwrap(),
            r"select Last_Name from Leads where (((Last_Name = 'O\'Brien \\ x' and Lead_Status in ('New', 'Contacted')) and Email is not null) or Annual_Revenue between 10 and 2.5) limit 2000 offset 400"
        );
    }

    #[test]
    fn identifiers_limits_and_control_characters_are_refused() {
        for bad in ["", "Last Name", "a;drop", "1abc", "A.B.C", "Name'", "Owner.", "é"] {
            let e = Coql::select([bad]).from("Leads").to_query().unwrap_err();
            assert!(matches!(e, Error::InvalidInput { .. }), "{bad:?}");
        }
        assert!(Coql::select(["Owner.last_name"]).from("Leads").to_query().is_ok());
        assert!(Coql::select(["Id"]).from("Leads where 1=1").to_query().is_err());
        assert!(Coql::select(["Id"]).from("Leads").limit(2001).to_query().is_err());
        assert!(Coql::select(["Id"]).from("Leads").limit(0).to_query().is_err());
        assert!(Coql::select(["Id"]).from("Leads").limit(2000).offset(98_001).to_query().is_err());
        assert!(Coql::select(["Id"]).from("Leads").filter(Condition::eq("Id", "a\nb")).to_query().is_err());
        assert!(Coql::select(["Id"]).from("Leads").filter(Condition::is_in::<&str>("Id", [])).to_query().is_err());
        assert!(Coql::select(["Id"]).from("Leads").filter(Condition::eq("Id", f64::NAN)).to_query().is_err());
        assert!(Coql::select(Vec::<String>::new()).from("Leads").to_query().is_err());
    }
}
