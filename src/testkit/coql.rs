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
//! 100,000, ≤ 50 columns, ≤ 25 criteria; each answers `LIMIT_EXCEEDED`.
//!
//! Choices where Zoho's exact behaviour is unknown (also in the README's "Where it guesses"):
//! string comparisons ignore case; a null value matches no comparison (SQL), only `IS NULL`;
//! a lookup column answers `{"id": …}`; `COUNT(…)` answers one row keyed `COUNT(…)` (or its
//! alias) and may not be mixed with plain columns; an unknown module is `INVALID_QUERY` with
//! `details.module`; aliases must be plain identifiers (`INVALID_ALIAS`), and may not repeat
//! (`DUPLICATE_ALIAS`); a repeated column is `DUPLICATE_DATA`; `WHERE` is optional.

use std::cmp::Ordering;

use serde_json::{Map, Value, json};

use super::crm::{Ctx, Kind, has_scope, no_permission, record_scopes};
use super::server::Resp;
use super::state::{Org, Rec};

/// Scopes that allow COQL at all (the module's read scope is needed too).
pub(crate) const SCOPES: &[&str] = &["ZohoCRM.coql.READ", "ZohoCRM.coql.ALL"];
/// Largest `LIMIT`.
pub(crate) const MAX_LIMIT: usize = 2000;
/// Default `LIMIT`.
pub(crate) const DEFAULT_LIMIT: usize = 200;
/// Largest `OFFSET + LIMIT`.
pub(crate) const MAX_REACH: usize = 100_000;
/// Most columns in `SELECT`.
pub(crate) const MAX_COLUMNS: usize = 50;
/// Most criteria in `WHERE`.
pub(crate) const MAX_CRITERIA: usize = 25;

const KEYWORDS: &[&str] = &[
    "select", "from", "where", "and", "or", "not", "in", "like", "is", "null", "order", "by", "asc", "desc", "limit",
    "offset", "between", "as", "true", "false", "group",
];

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Sym(&'static str),
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    col: usize,
    text: String,
}

/// Why a query was refused: the answer to give.
#[derive(Debug)]
enum QErr {
    Syntax { near: String, column: usize },
    Clause(&'static str),
    Invalid(&'static str, Value),
    Limit(Value),
    Alias(&'static str, Value),
    Duplicate(Value),
}

impl QErr {
    fn into_resp(self) -> Resp {
        match self {
            QErr::Syntax { near, column } => Resp::zoho_error(
                400,
                "SYNTAX_ERROR",
                "invalid query formed",
                json!({"near": near, "line": 1, "column": column}),
            ),
            QErr::Clause(clause) => {
                Resp::zoho_error(400, "SYNTAX_ERROR", "invalid query formed", json!({"clause": clause}))
            }
            QErr::Invalid(message, details) => Resp::zoho_error(400, "INVALID_QUERY", message, details),
            QErr::Limit(details) => Resp::zoho_error(400, "LIMIT_EXCEEDED", "limit exceeded", details),
            QErr::Alias(code, details) => Resp::zoho_error(400, code, "invalid alias", details),
            QErr::Duplicate(details) => Resp::zoho_error(400, "DUPLICATE_DATA", "duplicate data", details),
        }
    }
}

fn tokenize(src: &str) -> Result<Vec<Token>, QErr> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            let quote = c;
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(QErr::Syntax { near: chars[col - 1..].iter().collect(), column: col }),
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some(n) => s.push(*n),
                            None => {
                                return Err(QErr::Syntax { near: chars[col - 1..].iter().collect(), column: col });
                            }
                        }
                        i += 2;
                    }
                    Some(q) if *q == quote => {
                        if chars.get(i + 1) == Some(&quote) {
                            s.push(quote);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(o) => {
                        s.push(*o);
                        i += 1;
                    }
                }
            }
            let text: String = chars[col - 1..i].iter().collect();
            out.push(Token { tok: Tok::Str(s), col, text });
            continue;
        }
        if c.is_ascii_digit() || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while chars.get(i).is_some_and(|d| d.is_ascii_digit() || *d == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token { tok: Tok::Num(text.clone()), col, text });
            continue;
        }
        if c.is_alphabetic() || c == '_' || c == '$' {
            let start = i;
            while chars.get(i).is_some_and(|d| d.is_alphanumeric() || *d == '_' || *d == '$' || *d == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Token { tok: Tok::Ident(text.clone()), col, text });
            continue;
        }
        let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let sym: &'static str = match two.as_str() {
            "!=" => "!=",
            "<>" => "!=",
            "<=" => "<=",
            ">=" => ">=",
            _ => match c {
                '=' => "=",
                '<' => "<",
                '>' => ">",
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '*' => "*",
                _ => return Err(QErr::Syntax { near: c.to_string(), column: col }),
            },
        };
        let len = if ["!=", "<=", ">="].contains(&sym) || two == "<>" { 2 } else { 1 };
        out.push(Token { tok: Tok::Sym(sym), col, text: chars[i..i + len].iter().collect() });
        i += len;
    }
    Ok(out)
}

#[derive(Clone, Debug)]
enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Clone, Debug)]
enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Clone, Debug)]
enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Cmp(String, CmpOp, Lit),
    In(String, bool, Vec<Lit>),
    Like(String, bool, String),
    Null(String, bool),
    Between(String, Lit, Lit),
}

enum Col {
    Field(String),
    Count(Option<String>),
}

struct SelItem {
    col: Col,
    alias: Option<String>,
}

struct Query {
    select: Vec<SelItem>,
    module: String,
    filter: Option<Cond>,
    order: Vec<(String, bool)>,
    limit: usize,
    offset: usize,
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    end_col: usize,
    criteria: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }
    fn err_here(&self) -> QErr {
        match self.peek() {
            Some(t) => QErr::Syntax { near: t.text.clone(), column: t.col },
            None => QErr::Syntax { near: String::new(), column: self.end_col },
        }
    }
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Ident(s), .. }) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn is_sym(&self, sym: &str) -> bool {
        matches!(self.peek(), Some(Token { tok: Tok::Sym(s), .. }) if *s == sym)
    }
    fn eat_sym(&mut self, sym: &str) -> bool {
        if self.is_sym(sym) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_sym(&mut self, sym: &str) -> Result<(), QErr> {
        if self.eat_sym(sym) { Ok(()) } else { Err(self.err_here()) }
    }

    /// A column name: an identifier that is not a keyword, or a quoted name.
    fn column(&mut self) -> Result<String, QErr> {
        match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Ident(s)) if !KEYWORDS.contains(&s.to_ascii_lowercase().as_str()) => {
                self.pos += 1;
                Ok(s)
            }
            Some(Tok::Str(s)) if !s.is_empty() => {
                self.pos += 1;
                Ok(s)
            }
            _ => Err(self.err_here()),
        }
    }

    fn literal(&mut self) -> Result<Lit, QErr> {
        let lit = match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Str(s)) => Lit::Str(s),
            Some(Tok::Num(n)) => Lit::Num(n.parse().map_err(|_| self.err_here())?),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Lit::Bool(true),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Lit::Bool(false),
            _ => return Err(self.err_here()),
        };
        self.pos += 1;
        Ok(lit)
    }

    fn query(&mut self) -> Result<Query, QErr> {
        if !self.eat_kw("select") {
            return Err(QErr::Clause("select"));
        }
        let mut select = Vec::new();
        loop {
            if self.is_sym("*") {
                return Err(self.err_here());
            }
            let col = if self.is_kw("count")
                || matches!(self.peek(), Some(Token { tok: Tok::Ident(s), .. }) if s.eq_ignore_ascii_case("count"))
            {
                self.pos += 1;
                self.expect_sym("(")?;
                let arg = if self.eat_sym("*") { None } else { Some(self.column()?) };
                self.expect_sym(")")?;
                Col::Count(arg)
            } else {
                Col::Field(self.column()?)
            };
            let alias = if self.eat_kw("as") {
                match self.peek().map(|t| (t.tok.clone(), t.text.clone())) {
                    Some((Tok::Ident(a), _))
                        if !KEYWORDS.contains(&a.to_ascii_lowercase().as_str()) && !a.contains('.') =>
                    {
                        self.pos += 1;
                        Some(a)
                    }
                    Some((_, text)) => return Err(QErr::Alias("INVALID_ALIAS", json!({"alias": text}))),
                    None => return Err(self.err_here()),
                }
            } else {
                None
            };
            select.push(SelItem { col, alias });
            if !self.eat_sym(",") {
                break;
            }
        }
        if !self.eat_kw("from") {
            return Err(if self.peek().is_none() { QErr::Clause("from") } else { self.err_here() });
        }
        let module = match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Ident(m)) if !KEYWORDS.contains(&m.to_ascii_lowercase().as_str()) => {
                self.pos += 1;
                m
            }
            _ => return Err(self.err_here()),
        };
        let filter = if self.eat_kw("where") { Some(self.cond()?) } else { None };
        let mut order = Vec::new();
        if self.eat_kw("order") {
            if !self.eat_kw("by") {
                return Err(self.err_here());
            }
            loop {
                let f = self.column()?;
                let desc = if self.eat_kw("desc") {
                    true
                } else {
                    self.eat_kw("asc");
                    false
                };
                order.push((f, desc));
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let (mut limit, mut offset) = (DEFAULT_LIMIT, 0);
        if self.eat_kw("limit") {
            let first = self.count()?;
            if self.eat_sym(",") {
                offset = first;
                limit = self.count()?;
            } else {
                limit = first;
                if self.eat_kw("offset") {
                    offset = self.count()?;
                }
            }
        }
        if self.peek().is_some() {
            return Err(self.err_here());
        }
        Ok(Query { select, module, filter, order, limit, offset })
    }

    fn count(&mut self) -> Result<usize, QErr> {
        match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Num(n)) => {
                let v = n.parse::<usize>().map_err(|_| self.err_here())?;
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.err_here()),
        }
    }

    /// cond := atom [(AND|OR) atom] — a third criterion at the same level is a syntax error.
    fn cond(&mut self) -> Result<Cond, QErr> {
        let left = self.atom()?;
        let and = if self.eat_kw("and") {
            true
        } else if self.eat_kw("or") {
            false
        } else {
            return Ok(left);
        };
        let right = self.atom()?;
        if self.is_kw("and") || self.is_kw("or") {
            return Err(self.err_here());
        }
        Ok(if and { Cond::And(Box::new(left), Box::new(right)) } else { Cond::Or(Box::new(left), Box::new(right)) })
    }

    fn atom(&mut self) -> Result<Cond, QErr> {
        if self.eat_sym("(") {
            let c = self.cond()?;
            self.expect_sym(")")?;
            return Ok(c);
        }
        let field = self.column()?;
        self.criteria += 1;
        if self.criteria > MAX_CRITERIA {
            return Err(QErr::Limit(json!({"clause": "where", "limit": MAX_CRITERIA})));
        }
        if self.eat_kw("is") {
            let neg = self.eat_kw("not");
            if !self.eat_kw("null") {
                return Err(self.err_here());
            }
            return Ok(Cond::Null(field, neg));
        }
        if self.eat_kw("between") {
            let lo = self.literal()?;
            if !self.eat_kw("and") {
                return Err(self.err_here());
            }
            let hi = self.literal()?;
            return Ok(Cond::Between(field, lo, hi));
        }
        let neg = self.eat_kw("not");
        if self.eat_kw("in") {
            self.expect_sym("(")?;
            let mut values = vec![self.literal()?];
            while self.eat_sym(",") {
                values.push(self.literal()?);
            }
            self.expect_sym(")")?;
            return Ok(Cond::In(field, neg, values));
        }
        if self.eat_kw("like") {
            return match self.literal()? {
                Lit::Str(p) => Ok(Cond::Like(field, neg, p)),
                _ => Err(QErr::Invalid(
                    "value given seems to be invalid for the column",
                    json!({"column_name": field, "operator": "like"}),
                )),
            };
        }
        if neg {
            return Err(self.err_here());
        }
        let op = match self.peek().map(|t| t.tok.clone()) {
            Some(Tok::Sym("=")) => CmpOp::Eq,
            Some(Tok::Sym("!=")) => CmpOp::Ne,
            Some(Tok::Sym("<")) => CmpOp::Lt,
            Some(Tok::Sym(">")) => CmpOp::Gt,
            Some(Tok::Sym("<=")) => CmpOp::Le,
            Some(Tok::Sym(">=")) => CmpOp::Ge,
            _ => return Err(self.err_here()),
        };
        self.pos += 1;
        let value = self.literal()?;
        Ok(Cond::Cmp(field, op, value))
    }
}

fn parse(src: &str) -> Result<Query, QErr> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0, end_col: src.chars().count() + 1, criteria: 0 };
    p.query()
}

/// Resolves a column to its canonical spelling; `None` when the module has no such field.
fn canonical(org: &Org, module: &str, col: &str) -> Option<(String, &'static str)> {
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

fn invalid_column(col: &str) -> QErr {
    QErr::Invalid("column given seems to be invalid", json!({"column_name": col}))
}

/// The value of `path` (`Field` or `Lookup.field`) on a record.
fn value_of(org: &Org, r: &Rec, path: &str) -> Value {
    if path == "id" {
        return Value::String(r.id.clone());
    }
    match path.split_once('.') {
        None => r.data.get(path).cloned().unwrap_or(Value::Null),
        Some((head, field)) => {
            let Some(obj) = r.data.get(head).and_then(Value::as_object) else {
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
                .and_then(|x| x.data.iter().find(|(k, _)| k.eq_ignore_ascii_case(field)).map(|(_, v)| v.clone()))
                .unwrap_or(Value::Null)
        }
    }
}

/// A comparable form of a stored value: lookups compare by id.
fn scalar(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::Object(m) => m.get("id").cloned(),
        Value::Array(a) => a.first().and_then(scalar),
        other => Some(other.clone()),
    }
}

fn cmp_lit(have: &Value, want: &Lit, data_type: &str) -> Option<Ordering> {
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
            if let (true, Some(h), Some(w)) =
                (data_type == "datetime", have.as_str().and_then(super::time::parse_iso), super::time::parse_iso(s))
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

fn like(have: &str, pattern: &str) -> bool {
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
fn check_cond(org: &Org, module: &str, c: &mut Cond) -> Result<(), QErr> {
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

fn data_type(org: &Org, module: &str, path: &str) -> &'static str {
    canonical(org, module, path).map(|(_, t)| t).unwrap_or("text")
}

fn eval(org: &Org, module: &str, r: &Rec, c: &Cond) -> bool {
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
fn out_value(v: Value) -> Value {
    match v {
        Value::Object(m) => match m.get("id") {
            Some(id) => json!({"id": id}),
            None => Value::Object(m),
        },
        other => other,
    }
}

/// `POST /crm/v8/coql`.
pub(crate) fn handle(org: &mut Org, ctx: &Ctx<'_>) -> Resp {
    let body = match ctx.body() {
        Ok(b) => b,
        Err(r) => return r,
    };
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
            let o = super::crm::compare_values(Some(&value_of(org, a, f)), Some(&value_of(org, b, f)));
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
    use super::*;

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
