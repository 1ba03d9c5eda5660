//! Zoho's search `criteria` syntax (docs/zoho-facts.md §4.5): `((Field:equals:value)and(Field:starts_with:v))`,
//! groups joined with `and`/`or`, `\(`, `\)`, `\,` and `\\` escapes, unescaped commas separating
//! alternative values, at most 10 conditions, groups nested at most [`MAX_DEPTH`] deep.

use serde_json::Value;

/// The most conditions one criteria string may hold.
pub(crate) const MAX_CONDITIONS: usize = 10;

/// The deepest groups may nest (`((…))` is 2): deeper is refused before the recursive parser
/// could exhaust the stack. Zoho documents no limit; 10 conditions need far fewer levels.
pub(crate) const MAX_DEPTH: usize = 32;

/// A comparison operator the simulator supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Equals,
    StartsWith,
}

/// A parsed criteria expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    /// `Field:op:value1,value2` (any alternative matches).
    Cond { field: String, op: Op, values: Vec<String> },
    /// All must match.
    And(Vec<Expr>),
    /// One must match.
    Or(Vec<Expr>),
}

/// Why a criteria string was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CriteriaError {
    pub reason: String,
    pub api_name: Option<String>,
}

fn err(reason: impl Into<String>) -> CriteriaError {
    CriteriaError { reason: reason.into(), api_name: None }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    conditions: usize,
    /// How many groups are open at `pos`.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn eat(&mut self, c: char) -> Result<(), CriteriaError> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(err(format!("expected `{c}` at position {}", self.pos)))
        }
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// criteria := group (conj group)*
    fn criteria(&mut self) -> Result<Expr, CriteriaError> {
        let mut ors: Vec<Expr> = Vec::new();
        let mut ands: Vec<Expr> = vec![self.group()?];
        loop {
            self.skip_ws();
            let rest: String = self.chars[self.pos..].iter().take(3).collect::<String>().to_ascii_lowercase();
            if rest.starts_with("and") {
                self.pos += 3;
                self.skip_ws();
                ands.push(self.group()?);
            } else if rest.starts_with("or") {
                self.pos += 2;
                self.skip_ws();
                ors.push(collapse_and(std::mem::take(&mut ands)));
                ands.push(self.group()?);
            } else {
                break;
            }
        }
        ors.push(collapse_and(ands));
        Ok(if ors.len() == 1 { ors.remove(0) } else { Expr::Or(ors) })
    }

    /// group := '(' (criteria | condition) ')'
    fn group(&mut self) -> Result<Expr, CriteriaError> {
        self.skip_ws();
        self.eat('(')?;
        if self.depth >= MAX_DEPTH {
            return Err(err(format!("groups are nested more than {MAX_DEPTH} deep at position {}", self.pos - 1)));
        }
        self.depth += 1;
        self.skip_ws();
        let e = if self.peek() == Some('(') { self.criteria()? } else { self.condition()? };
        self.skip_ws();
        self.eat(')')?;
        self.depth -= 1;
        Ok(e)
    }

    /// condition := field ':' op ':' value (the value ends at the unescaped `)`).
    fn condition(&mut self) -> Result<Expr, CriteriaError> {
        let field = self.until(':')?.trim().to_owned();
        self.eat(':')?;
        let op_name = self.until(':')?.trim().to_ascii_lowercase();
        self.eat(':')?;
        if field.is_empty() {
            return Err(err("a condition has no field name"));
        }
        let op = match op_name.as_str() {
            "equals" => Op::Equals,
            "starts_with" => Op::StartsWith,
            other => {
                return Err(CriteriaError {
                    reason: format!("the operator `{other}` is not supported"),
                    api_name: Some(field),
                });
            }
        };
        let mut values = vec![String::new()];
        loop {
            match self.peek() {
                None => return Err(err("a condition is not closed with `)`")),
                Some(')') => break,
                Some('\\') => {
                    self.pos += 1;
                    let c = self.peek().ok_or_else(|| err("the criteria ends with `\\`"))?;
                    if let Some(v) = values.last_mut() {
                        v.push(c);
                    }
                    self.pos += 1;
                }
                Some(',') => {
                    values.push(String::new());
                    self.pos += 1;
                }
                Some(c) => {
                    if let Some(v) = values.last_mut() {
                        v.push(c);
                    }
                    self.pos += 1;
                }
            }
        }
        self.conditions += 1;
        if self.conditions > MAX_CONDITIONS {
            return Err(err(format!("more than {MAX_CONDITIONS} conditions")));
        }
        Ok(Expr::Cond { field, op, values })
    }

    fn until(&mut self, stop: char) -> Result<String, CriteriaError> {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c == stop {
                return Ok(self.chars[start..self.pos].iter().collect());
            }
            if c == '(' || c == ')' {
                break;
            }
            self.pos += 1;
        }
        Err(err(format!("expected `{stop}` in a condition")))
    }
}

fn collapse_and(mut v: Vec<Expr>) -> Expr {
    if v.len() == 1 { v.remove(0) } else { Expr::And(v) }
}

/// Parses a criteria string.
pub(crate) fn parse(src: &str) -> Result<Expr, CriteriaError> {
    let mut p = Parser { chars: src.chars().collect(), pos: 0, conditions: 0, depth: 0 };
    let e = p.criteria()?;
    p.skip_ws();
    if p.pos != p.chars.len() {
        return Err(err(format!("unexpected text at position {}", p.pos)));
    }
    Ok(e)
}

/// Every field name the expression mentions.
pub(crate) fn fields(e: &Expr) -> Vec<&str> {
    match e {
        Expr::Cond { field, .. } => vec![field.as_str()],
        Expr::And(v) | Expr::Or(v) => v.iter().flat_map(fields).collect(),
    }
}

/// The strings a field value can be compared as (lookups: their id and name).
pub(crate) fn value_strings(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::String(s) => vec![s.clone()],
        Value::Number(n) => vec![n.to_string()],
        Value::Bool(b) => vec![b.to_string()],
        Value::Object(m) => {
            ["id", "name"].iter().filter_map(|k| m.get(*k).and_then(Value::as_str).map(str::to_owned)).collect()
        }
        Value::Array(a) => a.iter().flat_map(value_strings).collect(),
    }
}

/// Whether a record matches; `get` returns the record's value of a field (case-insensitive name).
pub(crate) fn matches(e: &Expr, get: &dyn Fn(&str) -> Option<Value>) -> bool {
    match e {
        Expr::And(v) => v.iter().all(|x| matches(x, get)),
        Expr::Or(v) => v.iter().any(|x| matches(x, get)),
        Expr::Cond { field, op, values } => {
            let have = get(field).map(|v| value_strings(&v)).unwrap_or_default();
            have.iter().any(|h| {
                let h = h.to_lowercase();
                values.iter().any(|want| {
                    let want = want.to_lowercase();
                    match op {
                        Op::Equals => h == want,
                        Op::StartsWith => h.starts_with(&want),
                    }
                })
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(f: &str, op: Op, v: &[&str]) -> Expr {
        Expr::Cond { field: f.into(), op, values: v.iter().map(|s| (*s).to_owned()).collect() }
    }

    #[test]
    fn parses_zoho_examples() {
        assert_eq!(parse("(Last_Name:equals:Burns\\,B)").unwrap(), cond("Last_Name", Op::Equals, &["Burns,B"]));
        assert_eq!(
            parse("((Last_Name:equals:Burns\\,B)and(First_Name:starts_with:M))").unwrap(),
            Expr::And(vec![cond("Last_Name", Op::Equals, &["Burns,B"]), cond("First_Name", Op::StartsWith, &["M"])])
        );
        assert_eq!(
            parse("((A:equals:1)or(B:equals:2)and(C:equals:3))").unwrap(),
            Expr::Or(vec![
                cond("A", Op::Equals, &["1"]),
                Expr::And(vec![cond("B", Op::Equals, &["2"]), cond("C", Op::Equals, &["3"])])
            ])
        );
        assert_eq!(parse("(City:equals:Kent,Chicago)").unwrap(), cond("City", Op::Equals, &["Kent", "Chicago"]));
        assert_eq!(parse("(Company:equals:A \\(B\\))").unwrap(), cond("Company", Op::Equals, &["A (B)"]));
    }

    #[test]
    fn refuses_bad_criteria() {
        for bad in [
            "",
            "Last_Name:equals:x",
            "(Last_Name:equals:x",
            "(Last_Name:greater_than:3)",
            "(Last_Name:equals:x)junk",
            "(:equals:x)",
            "(Last_Name)",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let eleven = (0..11).map(|i| format!("(A:equals:{i})")).collect::<Vec<_>>().join("or");
        assert!(parse(&format!("({eleven})")).is_err());
        let ten = (0..10).map(|i| format!("(A:equals:{i})")).collect::<Vec<_>>().join("or");
        assert!(parse(&format!("({ten})")).is_ok());
    }

    #[test]
    fn refuses_groups_nested_past_the_limit_without_overflowing() {
        let nested = |n: usize| format!("{}A:equals:1{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(parse(&nested(MAX_DEPTH)).unwrap(), cond("A", Op::Equals, &["1"]));
        for n in [MAX_DEPTH + 1, 100_000] {
            let e = parse(&nested(n)).unwrap_err();
            assert!(e.reason.contains("nested more than 32 deep"), "{e:?}");
        }
        // Unclosed, and nested inside `and`/`or` chains: still refused, not a crash.
        assert!(parse(&"(".repeat(1_000_000)).is_err());
        let chain = "((A:equals:1)and".repeat(100_000);
        assert!(parse(&chain).is_err());
    }
}
