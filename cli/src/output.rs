//! Output: aligned tables for people, JSON / NDJSON / CSV for scripts.
//!
//! Rows are JSON objects. Tables and JSON arrays are written when the rows are complete
//! (tables need every width; a JSON array is streamed item by item), NDJSON and CSV line by
//! line, so `records list --all` never holds an export in memory in those formats.

use std::io::{self, Write};

use serde_json::{Map, Value};

/// The output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned columns (the default).
    Table,
    /// One JSON array (or object).
    Json,
    /// One JSON object per line.
    Ndjson,
    /// Comma-separated values with a header line (RFC 4180 quoting).
    Csv,
}

/// Writes rows in a format, as they come.
pub struct RowWriter<W: Write> {
    out: W,
    format: Format,
    columns: Vec<String>,
    /// Buffered rows (table only).
    rows: Vec<Vec<String>>,
    count: usize,
    header_written: bool,
}

impl<W: Write> RowWriter<W> {
    /// `columns` are the table and CSV columns; empty means "the keys of the first row".
    pub fn new(out: W, format: Format, columns: Vec<String>) -> Self {
        Self { out, format, columns, rows: Vec::new(), count: 0, header_written: false }
    }

    /// Writes one row (table: keeps it for `finish`).
    pub fn write(&mut self, row: &Map<String, Value>) -> io::Result<()> {
        if self.columns.is_empty() {
            self.columns = row.keys().cloned().collect();
        }
        match self.format {
            Format::Table => {
                self.rows.push(self.columns.iter().map(|c| cell(row.get(c), true)).collect());
            }
            Format::Json => {
                self.out.write_all(if self.count == 0 { b"[\n  " } else { b",\n  " })?;
                serde_json::to_writer(&mut self.out, row)?;
            }
            Format::Ndjson => {
                serde_json::to_writer(&mut self.out, row)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => {
                if !self.header_written {
                    let header: Vec<String> = self.columns.iter().map(|c| csv_field(c)).collect();
                    writeln!(self.out, "{}", header.join(","))?;
                    self.header_written = true;
                }
                let line: Vec<String> = self.columns.iter().map(|c| csv_field(&cell(row.get(c), false))).collect();
                writeln!(self.out, "{}", line.join(","))?;
            }
        }
        self.count += 1;
        Ok(())
    }

    /// Ends the output (table: writes it; JSON: closes the array).
    pub fn finish(mut self) -> io::Result<usize> {
        match self.format {
            Format::Table if !self.columns.is_empty() => {
                let header: Vec<String> = self.columns.iter().map(|c| c.to_ascii_uppercase()).collect();
                let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
                for row in &self.rows {
                    for (w, c) in widths.iter_mut().zip(row) {
                        *w = (*w).max(c.chars().count());
                    }
                }
                write_aligned(&mut self.out, &header, &widths)?;
                for row in &self.rows {
                    write_aligned(&mut self.out, row, &widths)?;
                }
            }
            Format::Json => {
                self.out.write_all(if self.count == 0 { b"[]\n" } else { b"\n]\n" })?;
            }
            Format::Csv if !self.header_written && !self.columns.is_empty() => {
                let header: Vec<String> = self.columns.iter().map(|c| csv_field(c)).collect();
                writeln!(self.out, "{}", header.join(","))?;
            }
            _ => {}
        }
        self.out.flush()?;
        Ok(self.count)
    }
}

fn write_aligned(out: &mut impl Write, cells: &[String], widths: &[usize]) -> io::Result<()> {
    let mut line = String::new();
    for (i, (c, w)) in cells.iter().zip(widths).enumerate() {
        if i + 1 == cells.len() {
            line.push_str(c);
        } else {
            line.push_str(c);
            line.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// A cell's text: strings as they are, lookups (`{"name":…,"id":…}`) by name, other values
/// as compact JSON. Table cells are cut at 48 characters and kept on one line.
fn cell(value: Option<&Value>, table: bool) -> String {
    let text = match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) if o.get("name").is_some_and(Value::is_string) => {
            o.get("name").and_then(Value::as_str).unwrap_or_default().to_owned()
        }
        Some(v) => v.to_string(),
    };
    if !table {
        return text;
    }
    let text = one_line(&text);
    if text.chars().count() > 48 {
        let cut: String = text.chars().take(47).collect();
        format!("{cut}…")
    } else {
        text
    }
}

/// `text` with every control character (line breaks, tabs, the escape that starts a terminal
/// control sequence, the bell) replaced by a space: what a table may show of CRM data.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_owned() }
}

/// A serializable value as a row.
pub fn to_row(value: &impl serde::Serialize) -> Map<String, Value> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => map,
        Ok(other) => Map::from_iter([("value".to_owned(), other)]),
        Err(e) => Map::from_iter([("error".to_owned(), Value::String(e.to_string()))]),
    }
}

/// Writes one object: pretty JSON, one NDJSON line, a CSV row, or `key  value` lines in the
/// given order for a table.
pub fn write_object(out: &mut impl Write, format: Format, pairs: &[(&str, Value)]) -> io::Result<()> {
    let object: Map<String, Value> = pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, &object)?;
            out.write_all(b"\n")?;
        }
        Format::Ndjson => {
            serde_json::to_writer(&mut *out, &object)?;
            out.write_all(b"\n")?;
        }
        Format::Csv => {
            let columns = pairs.iter().map(|(k, _)| (*k).to_owned()).collect();
            let mut w = RowWriter::new(&mut *out, Format::Csv, columns);
            w.write(&object)?;
            w.finish()?;
        }
        Format::Table => {
            let width = pairs.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0);
            for (k, v) in pairs {
                writeln!(out, "{k:width$}  {}", one_line(&cell(Some(v), false)))?;
            }
        }
    }
    out.flush()
}

/// The pairs of an object (a record), `id` first.
pub fn pairs_of(object: &Map<String, Value>) -> Vec<(&str, Value)> {
    let mut pairs: Vec<(&str, Value)> = object.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    pairs.sort_by_key(|(k, _)| *k != "id");
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(format: Format) -> String {
        let mut out = Vec::new();
        let mut w = RowWriter::new(&mut out, format, vec!["id".into(), "Last_Name".into(), "Owner".into()]);
        let a = serde_json::json!({"id": "1", "Last_Name": "Boyle, \"Pat\"", "Owner": {"name": "Ann", "id": "9"}});
        let b = serde_json::json!({"id": "22", "Last_Name": "Li"});
        w.write(a.as_object().unwrap()).unwrap();
        w.write(b.as_object().unwrap()).unwrap();
        w.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn table_is_aligned() {
        assert_eq!(rows(Format::Table), "ID  LAST_NAME     OWNER\n1   Boyle, \"Pat\"  Ann\n22  Li\n");
    }

    #[test]
    fn csv_quotes_commas_and_quotes() {
        assert_eq!(rows(Format::Csv), "id,Last_Name,Owner\n1,\"Boyle, \"\"Pat\"\"\",Ann\n22,Li,\n");
    }

    #[test]
    fn object_tables_replace_control_characters() {
        let mut out = Vec::new();
        let pairs = [("name", Value::String("a\u{1b}]0;x\u{7}b\r\nc".into()))];
        write_object(&mut out, Format::Table, &pairs).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains(['\u{1b}', '\u{7}', '\r']), "{text:?}");
        assert_eq!(text, "name  a ]0;x b  c\n");
    }

    #[test]
    fn json_is_one_array_and_ndjson_one_line_each() {
        let json: Value = serde_json::from_str(&rows(Format::Json)).unwrap();
        assert_eq!(json.as_array().map(Vec::len), Some(2));
        assert_eq!(rows(Format::Ndjson).lines().count(), 2);
    }
}
