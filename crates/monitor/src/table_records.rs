//! A table of prediction records (a Parquet log file, a DataFrame from the Python package)
//! as the records `riskops log` sends: checked whole first, then one [`RecordBuilder`] record
//! per row, batched as NDJSON. The CLI and the Python package share it, so a DataFrame logs
//! exactly as the file it was written to.

use crate::{RecordBuilder, RecordColumn};
use riskops_data::{Table, Values};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// One batch of NDJSON records and their ids, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub body: String,
    pub ids: Vec<String>,
}

/// Checks that `table` can be sent as records: the columns every record needs (`id` unless
/// ids are generated, `timestamp`, `prediction`), and of usable types. `skipped` are the
/// columns its reader left out: a feature, attribute or probability column is a warning
/// (returned, for the caller to show), any other an error.
pub fn check(table: &Table, skipped: &[(String, String)], id_required: bool) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    for (name, reason) in skipped {
        match RecordColumn::of(name) {
            RecordColumn::Feature(_) | RecordColumn::Attribute(_) | RecordColumn::Probability(_) => {
                warnings.push(format!("column {name:?} is not sent: {reason}"));
            }
            _ => return Err(format!("column {name:?} cannot be read: {reason}")),
        }
    }
    let required: &[&str] = if id_required { &["id", "timestamp", "prediction"] } else { &["timestamp", "prediction"] };
    for name in required {
        if table.column(name).is_none() {
            return Err(format!(
                "no column {name:?} (every record needs id, timestamp and prediction; columns: {})",
                table.names().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    for column in &table.columns {
        let wrong = match (RecordColumn::of(&column.name), &column.values) {
            // A float id column is an integer column with gaps (or real floats): neither names records.
            (RecordColumn::Id, Values::Float(_) | Values::Bool(_)) => Some("text or integers without gaps"),
            (RecordColumn::Required("timestamp"), Values::Str(_) | Values::Bool(_)) => {
                Some("unix seconds: integers, floats or a Parquet timestamp")
            }
            _ => None,
        };
        if let Some(expected) = wrong {
            let found = match column.values {
                Values::Int(_) => "integers",
                Values::Float(_) => "floats (an integer column with gaps is read as floats)",
                Values::Bool(_) => "booleans",
                Values::Str(_) => "text",
            };
            return Err(format!("column {:?} holds {found}, but it must be {expected}", column.name));
        }
    }
    Ok(warnings)
}

/// The table's rows as records, `size` to a batch; `version` fills records without one.
/// With `generate_ids` and no `id` column, each record's id is made of its content (a hash
/// of the record) and of how many identical records came before it, so the same table always
/// gets the same ids and sending it again is counted as duplicates, not stored twice.
pub fn ndjson_batches(table: &Table, version: Option<&str>, size: usize, generate_ids: bool) -> Vec<Batch> {
    let size = size.max(1);
    let roles: Vec<RecordColumn> = table.columns.iter().map(|c| RecordColumn::of(&c.name)).collect();
    let booleans: Vec<bool> = table.columns.iter().map(true_false_text).collect();
    let generate = generate_ids && table.column("id").is_none();
    let mut seen: HashMap<[u8; 12], u64> = HashMap::new();
    let mut batches = Vec::new();
    let mut batch = Batch { body: String::new(), ids: Vec::new() };
    for row in 0..table.rows {
        let mut record = row_record(&roles, table, &booleans, row);
        // A generated id is made of the row alone (before `version` fills in), so the ids of
        // a table do not depend on how it is sent.
        let id = generate.then(|| content_id(&record, &mut seen));
        if let Value::Object(map) = &mut record {
            if let Some(v) = version {
                map.entry("version").or_insert_with(|| Value::from(v));
            }
            if let Some(id) = id {
                map.insert("id".into(), Value::String(id));
            }
        }
        batch.ids.push(record.get("id").and_then(Value::as_str).unwrap_or_default().to_string());
        batch.body.push_str(&record.to_string());
        batch.body.push('\n');
        if batch.ids.len() == size {
            batches.push(std::mem::replace(&mut batch, Batch { body: String::new(), ids: Vec::new() }));
        }
    }
    if !batch.ids.is_empty() {
        batches.push(batch);
    }
    batches
}

/// The row's record as its cells alone make it.
fn row_record(roles: &[RecordColumn], table: &Table, booleans: &[bool], row: usize) -> Value {
    let mut record = RecordBuilder::new();
    for (column, role) in roles.iter().enumerate() {
        record.cell(role, cell_value(&table.columns[column], booleans[column], row));
    }
    record.finish()
}

/// `r-<24 hex digits of the record's SHA-256>-<identical records before it>`.
fn content_id(record: &Value, seen: &mut HashMap<[u8; 12], u64>) -> String {
    let digest = Sha256::digest(record.to_string().as_bytes());
    let mut key = [0u8; 12];
    key.copy_from_slice(&digest[..12]);
    let n = seen.entry(key).or_insert(0);
    let id = format!("r-{}-{n}", key.iter().map(|b| format!("{b:02x}")).collect::<String>());
    *n += 1;
    id
}

/// A bool column with gaps arrives as "True"/"False" text; the CSV reader would make
/// booleans of those cells, and so does this.
pub fn true_false_text(column: &riskops_data::Column) -> bool {
    matches!(&column.values, riskops_data::Values::Str(s) if s.dictionary.iter().all(|t| t == "True" || t == "False"))
}

/// One cell of a typed column as JSON (`booleans`: the column is `true_false_text`).
pub fn cell_value(column: &riskops_data::Column, booleans: bool, row: usize) -> Value {
    use riskops_data::Values;
    match &column.values {
        Values::Int(v) => json!(v[row]),
        Values::Float(v) if v[row].is_nan() => Value::Null,
        Values::Float(v) if v[row].is_finite() => json!(v[row]),
        // JSON has no infinities; the CSV reader keeps "inf" as text too.
        Values::Float(v) => json!(if v[row] > 0.0 { "inf" } else { "-inf" }),
        Values::Bool(v) => json!(v[row]),
        Values::Str(s) => match s.get(row) {
            None => Value::Null,
            Some(text) if booleans => json!(text == "True"),
            Some(text) => json!(text),
        },
    }
}

/// Ids, versions and attributes are names: sent as text, as the CSV reader sends them.
pub fn text(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(json!(if b { "True" } else { "False" })),
        Value::String(_) => Some(value),
        Value::Number(n) => Some(json!(n.as_i64().map_or_else(|| n.to_string(), |i| i.to_string()))),
        other => Some(other),
    }
}

/// A column with gaps is float64: 1.0 is 1 (a version, a class label).
pub fn whole_number(value: Value) -> Value {
    match value.as_f64() {
        Some(x) if x.fract() == 0.0 && !value.is_i64() && x.abs() < 9.0e15 => json!(x as i64),
        _ => value,
    }
}
