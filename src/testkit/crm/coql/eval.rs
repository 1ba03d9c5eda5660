//! COQL's evaluation over an org's records: column names resolved against the module's fields,
//! lookups followed, comparisons, `LIKE` and the criteria tree.

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::parse::{CmpOp, Cond, Lit, QErr};
use crate::testkit::state::{Org, Rec};
use crate::testkit::time::parse_iso;

/// Resolves a column to its canonical spelling; `None` when the module has no such field.
pub(super) fn canonical(org: &Org, module: &str, col: &str) -> Option<(String, &'static str)> {
    let (head, rest) = match col.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (col, None),
    };
    if head.eq_ignore_ascii_case("id") && rest.is_none() {
        return Some(("id".to_owned(), "bigint"));
    }
    let fd = org.field(module, head)?;
    match rest {
        None => Some((fd.api_name.to_owned(), fd.data_type)),
        Some(r) if matches!(fd.data_type, "lookup" | "ownerlookup") && !r.is_empty() => {
            Some((format!("{}.{r}", fd.api_name), "text"))
        }
        Some(_) => None,
    }
}

pub(super) fn invalid_column(col: &str) -> QErr {
    QErr::Invalid("column given seems to be invalid", json!({"column_name": col}))
}

/// The value of `path` (`Field` or `Lookup.field`) on a record.
pub(super) fn value_of(org: &Org, r: &Rec, path: &str) -> Value {
    if path == "id" {
        return Value::String(r.id.clone());
    }
    match path.split_once('.') {
        None => r.data().get(path).cloned().unwrap_or(Value::Null),
        Some((head, field)) => {
            let Some(obj) = r.data().get(head).and_then(Value::as_object) else {
                return Value::Null;
            };
            if let Some((_, v)) = obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)) {
                return v.clone();
            }
            let Some(id) = obj.get("id").and_then(Value::as_str) else {
                return Value::Null;
            };
            if let Some(u) = org.users.iter().find(|u| u.id == id) {
                return u
                    .json
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(field))
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null);
            }
            org.records
                .values()
                .flatten()
                .find(|x| x.id == id)
                .and_then(|x| x.data().iter().find(|(k, _)| k.eq_ignore_ascii_case(field)).map(|(_, v)| v.clone()))
                .unwrap_or(Value::Null)
        }
    }
}

/// A comparable form of a stored value: lookups compare by id.
pub(super) fn scalar(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => m.get("id").cloned(),
        Value::Array(a) => a.first().and_then(scalar),
        other => Some(other.clone()),
    }
}

pub(super) fn cmp_lit(have: &Value, want: &Lit, data_type: &str) -> Option<Ordering> {
    match want {
        Lit::Num(n) => {
            let h = match have {
                Value::Number(x) => x.as_f64()?,
                Value::String(s) => s.trim().parse().ok()?,
                _ => return None,
            };
            h.partial_cmp(n)
        }
        Lit::Bool(b) => match have {
            Value::Bool(h) => Some(h.cmp(b)),
            Value::String(s) => {
                Some(if s.eq_ignore_ascii_case(&b.to_string()) { Ordering::Equal } else { Ordering::Less })
            }
            _ => None,
        },
        Lit::Str(s) => {
            if let (true, Some(h), Some(w)) = (data_type == "datetime", have.as_str().and_then(parse_iso), parse_iso(s))
            {
                return Some(h.cmp(&w));
            }
            match have {
                Value::Number(x) => {
                    let w: f64 = s.trim().parse().ok()?;
                    x.as_f64()?.partial_cmp(&w)
                }
                Value::Bool(b) => {
                    Some(if b.to_string().eq_ignore_ascii_case(s) { Ordering::Equal } else { Ordering::Less })
                }
                Value::String(h) => Some(h.to_lowercase().cmp(&s.to_lowercase())),
                _ => None,
            }
        }
    }
}

pub(super) fn like(have: &str, pattern: &str) -> bool {
    let have = have.to_lowercase();
    let parts: Vec<String> = pattern.to_lowercase().split('%').map(str::to_owned).collect();
    if parts.len() == 1 {
        return have == parts[0];
    }
    let (first, last) = (&parts[0], &parts[parts.len() - 1]);
    if !have.starts_with(first.as_str()) || !have[first.len()..].ends_with(last.as_str()) {
        return false;
    }
    let mut rest = &have[first.len()..have.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid.as_str()) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// A condition with its columns resolved: (path, data type) per column.
pub(super) fn check_cond(org: &Org, module: &str, c: &mut Cond) -> Result<(), QErr> {
    let fix = |f: &mut String| -> Result<&'static str, QErr> {
        let (name, ty) = canonical(org, module, f).ok_or_else(|| invalid_column(f))?;
        *f = name;
        Ok(ty)
    };
    let numeric = |ty: &str| matches!(ty, "integer" | "bigint" | "double" | "currency");
    let check_lit = |f: &str, ty: &str, l: &Lit| -> Result<(), QErr> {
        let ok = match l {
            Lit::Num(_) => numeric(ty) || ty == "text" || matches!(ty, "lookup" | "ownerlookup"),
            Lit::Bool(_) => ty == "boolean",
            Lit::Str(s) => !numeric(ty) || s.trim().parse::<f64>().is_ok() || ty == "bigint" && f == "id",
        };
        if ok {
            Ok(())
        } else {
            Err(QErr::Invalid("value given seems to be invalid for the column", json!({"column_name": f})))
        }
    };
    match c {
        Cond::And(a, b) | Cond::Or(a, b) => {
            check_cond(org, module, a)?;
            check_cond(org, module, b)
        }
        Cond::Cmp(f, _, l) => {
            let ty = fix(f)?;
            check_lit(f, ty, l)
        }
        Cond::Between(f, lo, hi) => {
            let ty = fix(f)?;
            check_lit(f, ty, lo)?;
            check_lit(f, ty, hi)
        }
        Cond::In(f, _, ls) => {
            let ty = fix(f)?;
            ls.iter().try_for_each(|l| check_lit(f, ty, l))
        }
        Cond::Like(f, _, _) => {
            let ty = fix(f)?;
            if numeric(ty) || ty == "boolean" {
                return Err(QErr::Invalid("data type not supported", json!({"column_name": f, "operator": "like"})));
            }
            Ok(())
        }
        Cond::Null(f, _) => fix(f).map(|_| ()),
    }
}

pub(super) fn data_type(org: &Org, module: &str, path: &str) -> &'static str {
    canonical(org, module, path).map(|(_, t)| t).unwrap_or("text")
}

pub(super) fn eval(org: &Org, module: &str, r: &Rec, c: &Cond) -> bool {
    match c {
        Cond::And(a, b) => eval(org, module, r, a) && eval(org, module, r, b),
        Cond::Or(a, b) => eval(org, module, r, a) || eval(org, module, r, b),
        Cond::Null(f, neg) => {
            let is_null = scalar(&value_of(org, r, f)).is_none_or(|v| v.as_str() == Some(""));
            is_null != *neg
        }
        Cond::Cmp(f, op, l) => {
            let Some(v) = scalar(&value_of(org, r, f)) else {
                return false;
            };
            let Some(o) = cmp_lit(&v, l, data_type(org, module, f)) else {
                return false;
            };
            match op {
                CmpOp::Eq => o == Ordering::Equal,
                CmpOp::Ne => o != Ordering::Equal,
                CmpOp::Lt => o == Ordering::Less,
                CmpOp::Gt => o == Ordering::Greater,
                CmpOp::Le => o != Ordering::Greater,
                CmpOp::Ge => o != Ordering::Less,
            }
        }
        Cond::Between(f, lo, hi) => {
            let Some(v) = scalar(&value_of(org, r, f)) else {
                return false;
            };
            let ty = data_type(org, module, f);
            cmp_lit(&v, lo, ty).is_some_and(|o| o != Ordering::Less)
                && cmp_lit(&v, hi, ty).is_some_and(|o| o != Ordering::Greater)
        }
        Cond::In(f, neg, ls) => {
            let Some(v) = scalar(&value_of(org, r, f)) else {
                return false;
            };
            let ty = data_type(org, module, f);
            ls.iter().any(|l| cmp_lit(&v, l, ty) == Some(Ordering::Equal)) != *neg
        }
        Cond::Like(f, neg, p) => match scalar(&value_of(org, r, f)) {
            Some(Value::String(s)) => like(&s, p) != *neg,
            _ => false,
        },
    }
}

/// The output value of a selected column: lookups as `{"id": …}`.
pub(super) fn out_value(v: Value) -> Value {
    match v {
        Value::Object(m) => match m.get("id") {
            Some(id) => json!({"id": id}),
            None => Value::Object(m),
        },
        other => other,
    }
}
