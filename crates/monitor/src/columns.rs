//! The one convention that maps a prediction log's columns (CSV, Parquet, raw-record
//! segments) to the parts of a record, and back.
//!
//! `id`, `timestamp`, `version`, `prediction`, `score`, `label` and `latency_ms` are the
//! record's own fields; `attr.<name>` is an attribute (fairness is computed per attribute);
//! `proba.<class>` is the probability of a class; every other column is a feature. The
//! server reads CSV batches with it, writes segments with it, and `riskops log` reads CSV
//! and Parquet files with it, so a segment sent again means the records it holds.

use serde_json::{Map, Value};
use std::borrow::Cow;

/// What a column of a prediction log holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordColumn {
    Id,
    Version,
    /// `timestamp` and `prediction`: sent even when missing, for the server to name.
    Required(&'static str),
    /// `score`, `label` and `latency_ms`: left out of the record when missing.
    Optional(&'static str),
    /// `attr.<name>`.
    Attribute(String),
    /// `proba.<class>`.
    Probability(String),
    Feature(String),
}

const ATTRIBUTE_PREFIX: &str = "attr.";
const PROBABILITY_PREFIX: &str = "proba.";

impl RecordColumn {
    /// The part of a record a column of this name holds.
    pub fn of(name: &str) -> RecordColumn {
        match name {
            "id" => RecordColumn::Id,
            "version" => RecordColumn::Version,
            "timestamp" => RecordColumn::Required("timestamp"),
            "prediction" => RecordColumn::Required("prediction"),
            "score" => RecordColumn::Optional("score"),
            "label" => RecordColumn::Optional("label"),
            "latency_ms" => RecordColumn::Optional("latency_ms"),
            _ => {
                if let Some(attribute) = name.strip_prefix(ATTRIBUTE_PREFIX) {
                    RecordColumn::Attribute(attribute.to_string())
                } else if let Some(class) = name.strip_prefix(PROBABILITY_PREFIX) {
                    RecordColumn::Probability(class.to_string())
                } else {
                    RecordColumn::Feature(name.to_string())
                }
            }
        }
    }

    /// The column's name (the inverse of [`RecordColumn::of`]).
    pub fn name(&self) -> Cow<'_, str> {
        match self {
            RecordColumn::Id => Cow::Borrowed("id"),
            RecordColumn::Version => Cow::Borrowed("version"),
            RecordColumn::Required(name) | RecordColumn::Optional(name) => Cow::Borrowed(name),
            RecordColumn::Attribute(name) => Cow::Owned(format!("{ATTRIBUTE_PREFIX}{name}")),
            RecordColumn::Probability(class) => Cow::Owned(format!("{PROBABILITY_PREFIX}{class}")),
            RecordColumn::Feature(name) => Cow::Borrowed(name),
        }
    }
}

/// Builds one record's JSON (`{"id",…,"features":{…},"attributes":{…}}`) from its cells,
/// as [`crate::RecordReader::read_json`] reads it. Cells arrive already typed by their
/// reader (CSV text or Parquet values); a missing cell is `Value::Null`.
#[derive(Debug, Default)]
pub struct RecordBuilder {
    record: Map<String, Value>,
    features: Map<String, Value>,
    attributes: Map<String, Value>,
    probabilities: Map<String, Value>,
}

impl RecordBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one cell. `id`, `version` and attributes are text (a number is written as
    /// JSON writes it); a missing version, attribute, probability or optional field is left
    /// out, a missing id, timestamp or prediction is kept as null for the server to name.
    pub fn cell(&mut self, column: &RecordColumn, value: Value) {
        match column {
            RecordColumn::Id => {
                self.record.insert("id".into(), as_text(value).unwrap_or(Value::Null));
            }
            RecordColumn::Version => {
                if let Some(v) = as_text(value).filter(|v| v != "") {
                    self.record.insert("version".into(), v);
                }
            }
            RecordColumn::Required(name) => {
                self.record.insert((*name).into(), value);
            }
            RecordColumn::Optional(name) => {
                if !value.is_null() {
                    self.record.insert((*name).into(), value);
                }
            }
            RecordColumn::Attribute(name) => {
                if let Some(v) = as_text(value) {
                    self.attributes.insert(name.clone(), v);
                }
            }
            RecordColumn::Probability(class) => {
                if !value.is_null() {
                    self.probabilities.insert(class.clone(), value);
                }
            }
            RecordColumn::Feature(name) => {
                self.features.insert(name.clone(), value);
            }
        }
    }

    /// Sets the version when no cell gave one.
    pub fn default_version(&mut self, version: &str) {
        self.record.entry("version").or_insert_with(|| Value::from(version));
    }

    /// The record, ready for [`crate::RecordReader::read_json`] or to be sent as NDJSON.
    pub fn finish(mut self) -> Value {
        self.record.insert("features".into(), Value::Object(self.features));
        self.record.insert("attributes".into(), Value::Object(self.attributes));
        if !self.probabilities.is_empty() {
            self.record.insert("probabilities".into(), Value::Object(self.probabilities));
        }
        Value::Object(self.record)
    }
}

/// A cell as text: strings as they are, numbers as JSON writes them but a whole float
/// without its `.0` (a version column read as floats because of a gap), booleans as pandas
/// writes them (`True`, `False`: what a CSV of the same log holds).
fn as_text(value: Value) -> Option<Value> {
    match value {
        Value::Null => None,
        Value::Bool(b) => Some(Value::from(if b { "True" } else { "False" })),
        Value::String(_) => Some(value),
        Value::Number(n) => Some(Value::from(match n.as_f64() {
            Some(x) if n.is_f64() && x.fract() == 0.0 && x.abs() < 9.0e15 => format!("{}", x as i64),
            _ => n.to_string(),
        })),
        other => Some(Value::from(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn every_column_name_maps_to_its_part_and_back() {
        for name in
            ["id", "version", "timestamp", "prediction", "score", "label", "latency_ms", "attr.sex", "proba.yes", "age"]
        {
            assert_eq!(RecordColumn::of(name).name(), name);
        }
        assert_eq!(RecordColumn::of("attr.sex"), RecordColumn::Attribute("sex".into()));
        assert_eq!(RecordColumn::of("proba.1"), RecordColumn::Probability("1".into()));
        assert_eq!(RecordColumn::of("income"), RecordColumn::Feature("income".into()));
    }

    #[test]
    fn cells_make_the_record_the_reader_reads() {
        let mut b = RecordBuilder::new();
        for (name, value) in [
            ("id", json!(7)),
            ("timestamp", json!(1_790_000_000)),
            ("version", json!(2.0)),
            ("prediction", json!(1)),
            ("score", Value::Null),
            ("attr.sex", json!("f")),
            ("proba.1", json!(0.8)),
            ("proba.0", json!(0.2)),
            ("age", json!(41)),
        ] {
            b.cell(&RecordColumn::of(name), value);
        }
        b.default_version("9");
        let record = b.finish();
        assert_eq!(
            record,
            json!({"id": "7", "timestamp": 1_790_000_000, "version": "2", "prediction": 1,
                   "features": {"age": 41}, "attributes": {"sex": "f"}, "probabilities": {"1": 0.8, "0": 0.2}})
        );
        let read = crate::RecordReader::new().read_json(&record, "").unwrap();
        assert_eq!((read.id.as_str(), read.version.as_str()), ("7", "2"));
        assert_eq!(read.positive_score("1"), Some(0.8));
    }
}
