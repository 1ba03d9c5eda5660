//! The table columns of a COQL answer: every column its rows carry, in the order the query
//! selects them (a column the query's text does not name plainly, such as a lookup's field,
//! follows in the rows' key order). `id` is left to the caller, which puts it first.

use std::collections::HashSet;

use serde_json::{Map, Value};

/// The columns of `rows`, the ones `query` selects first and in its order, `id` left out.
pub fn columns(query: &str, rows: impl IntoIterator<Item = Map<String, Value>>) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let mut seen = HashSet::new();
    for row in rows {
        for key in row.keys() {
            if !seen.contains(key) {
                seen.insert(key.clone());
                keys.push(key.clone());
            }
        }
    }
    let mut columns: Vec<String> = Vec::new();
    for name in selected(query) {
        if let Some(key) = keys.iter().find(|k| k.eq_ignore_ascii_case(&name))
            && !columns.contains(key)
        {
            columns.push(key.clone());
        }
    }
    for key in keys {
        if !columns.contains(&key) {
            columns.push(key);
        }
    }
    columns.retain(|c| c != "id");
    columns
}

/// The column names of a query's `SELECT` list (an alias for `… AS alias`), as written; empty
/// when the text is not `SELECT … FROM …`.
fn selected(query: &str) -> Vec<String> {
    let query = query.trim_start();
    let Some(rest) = query.get(..6).filter(|s| s.eq_ignore_ascii_case("select")).and_then(|_| query.get(6..)) else {
        return Vec::new();
    };
    if !rest.starts_with(char::is_whitespace) {
        return Vec::new();
    }
    let mut items = Vec::new();
    let mut item = String::new();
    let (mut depth, mut quoted) = (0usize, false);
    for (i, c) in rest.char_indices() {
        if !quoted && depth == 0 {
            if c.is_whitespace() && keyword_at(rest[i..].trim_start(), "from") {
                items.push(item);
                return items.iter().map(|item| column_name(item)).filter(|n| !n.is_empty()).collect();
            }
            if c == ',' {
                items.push(std::mem::take(&mut item));
                continue;
            }
        }
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            _ => {}
        }
        item.push(c);
    }
    Vec::new()
}

/// Whether `text` starts with the word `keyword` (any case).
fn keyword_at(text: &str, keyword: &str) -> bool {
    text.get(..keyword.len()).is_some_and(|w| w.eq_ignore_ascii_case(keyword))
        && text.get(keyword.len()..).is_some_and(|rest| rest.chars().next().is_none_or(char::is_whitespace))
}

/// The column one `SELECT` item answers under: its alias, else the item (a quoted reserved
/// word without its quotes).
fn column_name(item: &str) -> String {
    let words: Vec<&str> = item.split_whitespace().collect();
    let name = match words.as_slice() {
        [_, .., as_, alias] if as_.eq_ignore_ascii_case("as") => (*alias).to_owned(),
        _ => words.join(" "),
    };
    name.trim_matches('\'').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(keys: &[&str]) -> Map<String, Value> {
        keys.iter().map(|k| ((*k).to_owned(), Value::Null)).collect()
    }

    #[test]
    fn every_column_in_the_query_order() {
        let query = "SELECT Last_Name, First_Name, Email, Phone, Company, Lead_Status, City\nFROM Leads \
                     where Company = 'a, from b' limit 3";
        // Map keys come sorted; a later row may carry a key the first lacks.
        let rows =
            [row(&["City", "Company", "Email", "First_Name", "Last_Name", "id"]), row(&["Lead_Status", "Phone"])];
        assert_eq!(
            columns(query, rows),
            ["Last_Name", "First_Name", "Email", "Phone", "Company", "Lead_Status", "City"]
        );
    }

    #[test]
    fn aliases_functions_and_unnamed_columns() {
        let query = "select count(id) as total, 'Type', Owner.last_name from Deals";
        let rows = [row(&["Owner", "Type", "total"])];
        assert_eq!(columns(query, rows), ["total", "Type", "Owner"]);
        assert_eq!(columns("not a query", [row(&["b", "id", "a"])]), ["a", "b"]);
        assert!(columns("select a from b", Vec::new()).is_empty());
    }
}
