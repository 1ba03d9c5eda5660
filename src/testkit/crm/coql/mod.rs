//! COQL (`POST /crm/v8/coql`, `{"select_query": "…"}`): a small hand-written tokenizer,
//! parser and evaluator over the org's records.
//!
//! Supported: `SELECT f1, f2, Lookup.field, COUNT(*)|COUNT(f) [AS alias] FROM Module [WHERE …]
//! [ORDER BY f [ASC|DESC], …] [LIMIT n [OFFSET m] | LIMIT m, n]`. `WHERE` takes `=`, `!=`,
//! `<>`, `<`, `>`, `<=`, `>=`, `[NOT] LIKE` (`%` wildcards), `[NOT] IN (…)`, `IS [NOT] NULL`,
//! `BETWEEN a AND b`, joined by `AND`/`OR` with parentheses; as Zoho documents, more than two
//! criteria must be grouped in pairs (`((A and B) and C)`), else `SYNTAX_ERROR`. String values
//! are single-quoted; a quote inside is `\'` or `''` (both accepted). Reserved words used as
//! column names are quoted (`'External'`).
//!
//! Limits enforced (Zoho's COQL docs): `LIMIT` ≤ 2,000 (default 200), `OFFSET + LIMIT` ≤
//! 100,000, ≤ 50 columns, ≤ 25 criteria; each answers `LIMIT_EXCEEDED`. Parentheses in `WHERE`
//! nest at most 32 deep (`parse::MAX_DEPTH`, the simulator's own guard): the `(` past it is a
//! `SYNTAX_ERROR`.
//!
//! Choices where Zoho's exact behaviour is unknown (also in the README's "Where it guesses"):
//! string comparisons ignore case; a null value matches no comparison (SQL), only `IS NULL`;
//! a lookup column answers `{"id": …}`; `COUNT(…)` answers one row keyed `COUNT(…)` (or its
//! alias) and may not be mixed with plain columns; an unknown module is `INVALID_QUERY` with
//! `details.module`; aliases must be plain identifiers (`INVALID_ALIAS`), and may not repeat
//! (`DUPLICATE_ALIAS`); a repeated column is `DUPLICATE_DATA`; `WHERE` is optional.

//!
//! Parsing lives in `parse`, evaluation in `eval`; this module runs a query (`handle`, `run`).

mod eval;
mod parse;

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use super::ctx::{Ctx, Kind, compare_values, has_scope, no_permission, record_scopes};
use crate::testkit::state::{Org, Rec};
use crate::testkit::wire::Resp;
use eval::{canonical, check_cond, eval, invalid_column, out_value, scalar, value_of};
use parse::{Col, QErr, parse};

/// Scopes that allow COQL at all (the module's read scope is needed too).
pub(crate) const SCOPES: &[&str] = &["ZohoCRM.coql.READ", "ZohoCRM.coql.ALL"];

/// Largest `LIMIT`.
pub(crate) const MAX_LIMIT: usize = 2000;

/// Largest `OFFSET + LIMIT`.
pub(crate) const MAX_REACH: usize = 100_000;

/// Most columns in `SELECT`.
pub(crate) const MAX_COLUMNS: usize = 50;

/// `POST /crm/v8/coql`.
pub(crate) fn handle(org: &mut Org, ctx: &Ctx<'_>) -> Resp {
    let body = or_answer!(ctx.body());
    let Some(src) = body.get("select_query").and_then(Value::as_str).filter(|s| !s.trim().is_empty()) else {
        return Resp::zoho_error(
            400,
            "REQUIRED_PARAM_MISSING",
            "One of the expected parameter is missing",
            json!({"api_name": "select_query"}),
        );
    };
    match run(org, ctx, src) {
        Ok(r) => r,
        Err(e) => e.into_resp(),
    }
}

fn run(org: &Org, ctx: &Ctx<'_>, src: &str) -> Result<Resp, QErr> {
    let mut q = parse(src)?;
    let Some(def) = org.module(&q.module).map(|m| m.def).filter(|d| d.api_supported) else {
        return Err(QErr::Invalid(
            "invalid query formed",
            json!({"module": q.module, "reason": "the module name given seems to be invalid"}),
        ));
    };
    let module = def.api_name;
    if !has_scope(&ctx.scopes, &record_scopes(module, Kind::Read)) {
        return Ok(Resp::zoho_error(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL", json!({})));
    }
    if ctx.me.denied.iter().any(|d| d.eq_ignore_ascii_case(module)) {
        return Ok(no_permission(format!("Crm_Implied_View_{module}")));
    }
    if q.select.len() > MAX_COLUMNS {
        return Err(QErr::Limit(json!({"clause": "select", "limit": MAX_COLUMNS})));
    }
    if q.limit > MAX_LIMIT {
        return Err(QErr::Limit(json!({"clause": "limit", "limit": MAX_LIMIT})));
    }
    if q.offset.saturating_add(q.limit) > MAX_REACH {
        return Err(QErr::Limit(json!({"clause": "offset", "limit": MAX_REACH})));
    }
    // Columns.
    let mut keys: Vec<String> = Vec::new();
    let mut aliases: Vec<String> = Vec::new();
    let mut counts = 0;
    for item in &mut q.select {
        let key = match &mut item.col {
            Col::Field(f) => {
                let (name, _) = canonical(org, module, f).ok_or_else(|| invalid_column(f))?;
                *f = name.clone();
                name
            }
            Col::Count(arg) => {
                counts += 1;
                match arg {
                    None => "COUNT(*)".to_owned(),
                    Some(f) => {
                        let (name, _) = canonical(org, module, f).ok_or_else(|| invalid_column(f))?;
                        *f = name.clone();
                        format!("COUNT({name})")
                    }
                }
            }
        };
        if let Some(a) = &item.alias {
            if aliases.iter().any(|x| x.eq_ignore_ascii_case(a)) {
                return Err(QErr::Alias("DUPLICATE_ALIAS", json!({"alias": a})));
            }
            aliases.push(a.clone());
        } else if keys.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
            return Err(QErr::Duplicate(json!({"column_name": key})));
        }
        keys.push(key);
    }
    if counts > 0 && counts != q.select.len() {
        return Err(QErr::Invalid(
            "invalid query formed",
            json!({"reason": "aggregate functions cannot be mixed with columns without GROUP BY"}),
        ));
    }
    if let Some(c) = &mut q.filter {
        check_cond(org, module, c)?;
    }
    for (f, _) in &mut q.order {
        let (name, _) = canonical(org, module, f).ok_or_else(|| invalid_column(f))?;
        *f = name;
    }
    // Rows.
    let empty = Vec::new();
    let mut rows: Vec<&Rec> = org
        .records
        .get(module)
        .unwrap_or(&empty)
        .iter()
        .filter(|r| q.filter.as_ref().is_none_or(|c| eval(org, module, r, c)))
        .collect();
    if counts > 0 {
        let mut row = Map::new();
        for (item, key) in q.select.iter().zip(&keys) {
            let n = match &item.col {
                Col::Count(Some(f)) => rows.iter().filter(|r| scalar(&value_of(org, r, f)).is_some()).count(),
                _ => rows.len(),
            };
            row.insert(item.alias.clone().unwrap_or_else(|| key.clone()), json!(n));
        }
        return Ok(Resp::json(200, &json!({"data": [row], "info": {"count": 1, "more_records": false}})));
    }
    rows.sort_by(|a, b| {
        for (f, desc) in &q.order {
            let o = compare_values(Some(&value_of(org, a, f)), Some(&value_of(org, b, f)));
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.id.len().cmp(&b.id.len()).then_with(|| a.id.cmp(&b.id))
    });
    let total = rows.len();
    let start = q.offset.min(total);
    let end = start.saturating_add(q.limit).min(total);
    if start == end {
        return Ok(Resp::empty(204));
    }
    let data: Vec<Value> = rows[start..end]
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for (item, key) in q.select.iter().zip(&keys) {
                let out = item.alias.clone().unwrap_or_else(|| key.clone());
                m.insert(out, out_value(value_of(org, r, key)));
            }
            m.insert("id".into(), Value::String(r.id.clone()));
            Value::Object(m)
        })
        .collect();
    Ok(Resp::json(200, &json!({"data": data, "info": {"count": end - start, "more_records": end < total}})))
}

#[cfg(test)]
mod tests {
    use super::eval::like;
    use super::parse::{Tok, parse, tokenize};

    #[test]
    fn tokenizes_quotes_both_ways() {
        let t = tokenize(r"select Last_Name from Leads where Last_Name = 'O\'Brien' or Last_Name = 'O''Neil'").unwrap();
        let strs: Vec<String> =
            t.iter().filter_map(|t| if let Tok::Str(s) = &t.tok { Some(s.clone()) } else { None }).collect();
        assert_eq!(strs, vec!["O'Brien".to_owned(), "O'Neil".to_owned()]);
    }

    #[test]
    fn like_patterns() {
        assert!(like("Burns,B", "bur%"));
        assert!(like("Burns,B", "%,b"));
        assert!(like("Burns,B", "%rns%"));
        assert!(like("Burns,B", "b%n%b"));
        assert!(!like("Burns,B", "x%"));
        assert!(like("abc", "abc"));
        assert!(!like("ab", "a%b%b"));
    }

    #[test]
    fn refuses_three_ungrouped_criteria_and_bad_syntax() {
        for bad in [
            "select Last_Name from Leads where A = 1 and B = 2 and C = 3",
            "select from Leads",
            "select Last_Name Leads",
            "select Last_Name from Leads where Last_Name = 'open",
            "select Last_Name from Leads where Last_Name ~ 'x'",
            "select * from Leads",
            "select Last_Name from Leads limit x",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert!(parse("select Last_Name from Leads where ((A = 1 and B = 2) and C = 3)").is_ok());
        assert!(parse("select Last_Name from Leads where A is not null order by Last_Name desc limit 5, 10").is_ok());
    }
}
