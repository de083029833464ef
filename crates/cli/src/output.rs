//! Printing results: a readable text by default, one JSON document with `--format json`.

use crate::cli::Format;
use crate::client::Answer;
use serde_json::Value;

/// Prints `value` as JSON, or calls `text` to print it for people.
pub fn emit(format: Format, value: &Value, text: impl FnOnce(&Value)) {
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())),
        // Commands without an HTML or Markdown form refuse those formats before getting here.
        Format::Text | Format::Html | Format::Dot | Format::Openlineage | Format::Markdown | Format::Slack => {
            text(value)
        }
    }
}

/// Prints an answer as the server sent it (JSON), or calls `text` with its typed form.
pub fn show<T>(format: Format, answer: &Answer<T>, text: impl FnOnce(&T)) {
    emit(format, &answer.json, |_| text(&answer.body))
}

/// `table`, or `empty` on its own line when there are no rows.
pub fn table_or(empty: &str, headers: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() { println!("{empty}") } else { table(headers, rows) }
}

/// A plain table with aligned columns; the last column is not padded.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i == last {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        println!("{}", out.trim_end());
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// A string field of a JSON object, or "" when absent.
pub fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("")
}
