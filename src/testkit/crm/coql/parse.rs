//! COQL's tokenizer and parser: the query text to a [`Query`] (columns, module, criteria, order,
//! limit), with Zoho's syntax errors.

use serde_json::{Value, json};

use crate::testkit::wire::Resp;

/// Default `LIMIT`.
pub(crate) const DEFAULT_LIMIT: usize = 200;
/// Most criteria in `WHERE`.
pub(crate) const MAX_CRITERIA: usize = 25;
/// Deepest nesting of parentheses in `WHERE` (`((a = 1))` is 2): the `(` past it is a
/// `SYNTAX_ERROR`, before the recursive parser could exhaust the stack. Zoho documents no limit;
/// 25 criteria paired as Zoho requires need at most 24.
pub(crate) const MAX_DEPTH: usize = 32;

pub(super) const KEYWORDS: &[&str] = &[
    "select", "from", "where", "and", "or", "not", "in", "like", "is", "null", "order", "by", "asc", "desc", "limit",
    "offset", "between", "as", "true", "false", "group",
];

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Sym(&'static str),
}

#[derive(Clone, Debug)]
pub(super) struct Token {
    pub(super) tok: Tok,
    pub(super) col: usize,
    pub(super) text: String,
}

/// Why a query was refused: the answer to give.
#[derive(Debug)]
pub(super) enum QErr {
    Syntax { near: String, column: usize },
    Clause(&'static str),
    Invalid(&'static str, Value),
    Limit(Value),
    Alias(&'static str, Value),
    Duplicate(Value),
}

impl QErr {
    pub(super) fn into_resp(self) -> Resp {
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

pub(super) fn tokenize(src: &str) -> Result<Vec<Token>, QErr> {
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
pub(super) enum Lit {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Clone, Debug)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

#[derive(Clone, Debug)]
pub(super) enum Cond {
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Cmp(String, CmpOp, Lit),
    In(String, bool, Vec<Lit>),
    Like(String, bool, String),
    Null(String, bool),
    Between(String, Lit, Lit),
}

pub(super) enum Col {
    Field(String),
    Count(Option<String>),
}

pub(super) struct SelItem {
    pub(super) col: Col,
    pub(super) alias: Option<String>,
}

pub(super) struct Query {
    pub(super) select: Vec<SelItem>,
    pub(super) module: String,
    pub(super) filter: Option<Cond>,
    pub(super) order: Vec<(String, bool)>,
    pub(super) limit: usize,
    pub(super) offset: usize,
}

pub(super) struct Parser {
    pub(super) toks: Vec<Token>,
    pub(super) pos: usize,
    pub(super) end_col: usize,
    pub(super) criteria: usize,
    /// How many parentheses of `WHERE` are open at `pos`.
    pub(super) depth: usize,
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
        if self.is_sym("(") {
            if self.depth >= MAX_DEPTH {
                return Err(self.err_here());
            }
            self.pos += 1;
            self.depth += 1;
            let c = self.cond()?;
            self.expect_sym(")")?;
            self.depth -= 1;
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

pub(super) fn parse(src: &str) -> Result<Query, QErr> {
    let toks = tokenize(src)?;
    let mut p = Parser { toks, pos: 0, end_col: src.chars().count() + 1, criteria: 0, depth: 0 };
    p.query()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("select Last_Name from Leads where {}Last_Name = 'x'{}", "(".repeat(n), ")".repeat(n))
    }

    #[test]
    fn refuses_parentheses_nested_past_the_limit_without_overflowing() {
        assert!(parse(&nested(MAX_DEPTH)).is_ok());
        let at = "select Last_Name from Leads where ".len() + MAX_DEPTH + 1;
        let e = parse(&nested(MAX_DEPTH + 1)).err();
        assert!(matches!(&e, Some(QErr::Syntax { near, column }) if near == "(" && *column == at), "{e:?}");
        for q in [nested(100_000), format!("select Last_Name from Leads where {}", "(".repeat(1_000_000))] {
            assert!(matches!(parse(&q), Err(QErr::Syntax { .. })));
        }
        let resp = QErr::Syntax { near: "(".into(), column: at }.into_resp();
        assert_eq!(resp.status, 400);
    }
}
