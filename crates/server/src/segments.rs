//! Raw-record segments: each ingested batch's accepted records as one Parquet file (zstd),
//! with the columns a CSV batch would have (`id`, `timestamp`, `version`, `prediction`,
//! `score`, `label`, `latency_ms`, one column per feature, `attr.<name>` per attribute) and
//! `proba.<class>` for class probabilities, so a segment reads back in pandas as the log it
//! was, and `riskops log` can send it again.

use riskops_core::artifact::Digest;
use riskops_core::service::{SegmentFile, SegmentWriter};
use riskops_core::{Error, Result};
use riskops_monitor::{Record, RecordColumn, Value};
use riskops_parquet::{ColumnValues, write_columns};
use sha2::{Digest as _, Sha256};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// Writes segments into `tmp_dir`, from where ingestion moves them into the artifact store.
pub struct ParquetSegments {
    pub tmp_dir: PathBuf,
}

impl SegmentWriter for ParquetSegments {
    fn write(&self, model: &str, records: &[&Record]) -> Result<SegmentFile> {
        let mut bytes = Vec::new();
        write_columns(&mut bytes, columns(records), &[("riskops.model", model.to_string())])
            .map_err(|e| Error::internal(format!("writing a segment: {e}")))?;
        let digest = Digest::from_sha256(&Sha256::digest(&bytes));
        let path = self.tmp_dir.join(format!("segment-{}.parquet", uuid::Uuid::new_v4()));
        // The folder is made again if someone removed it while the server ran.
        riskops_store::artifacts::private_dir(&self.tmp_dir)
            .and_then(|()| riskops_store::artifacts::private_file(&path))
            .and_then(|mut f| std::io::Write::write_all(&mut f, &bytes))
            .map_err(|e| Error::unavailable(format!("writing a segment to {}: {e}", path.display())))?;
        Ok(SegmentFile { path, digest, size: bytes.len() as u64 })
    }
}

/// A column of values: numbers when every present value is a number, booleans when every
/// one is a boolean, text otherwise (numbers written as JSON writes them). An array or
/// object given as a feature value is written as null: a column holds scalars.
fn typed<'r>(values: Vec<Option<&'r Value>>) -> ColumnValues<'r> {
    let present = || values.iter().flatten().filter(|v| !matches!(v, Value::Null | Value::Nested));
    if present().all(|v| matches!(v, Value::Number(_))) {
        return ColumnValues::Float64(
            values.iter().map(|v| if let Some(Value::Number(x)) = v { Some(*x) } else { None }).collect(),
        );
    }
    if present().all(|v| matches!(v, Value::Bool(_))) {
        return ColumnValues::Bool(
            values.iter().map(|v| if let Some(Value::Bool(b)) = v { Some(*b) } else { None }).collect(),
        );
    }
    ColumnValues::Utf8(
        values
            .iter()
            .map(|v| match v {
                None | Some(Value::Null | Value::Nested) => None,
                Some(Value::Text(t)) => Some(Cow::Borrowed(t.as_str())),
                Some(Value::Bool(b)) => Some(Cow::Owned(b.to_string())),
                Some(Value::Number(x)) => {
                    Some(Cow::Owned(serde_json::Number::from_f64(*x).map_or_else(|| x.to_string(), |n| n.to_string())))
                }
            })
            .collect(),
    )
}

fn columns<'r>(records: &[&'r Record]) -> Vec<(String, ColumnValues<'r>)> {
    let text = |s: &'r String| Some(Cow::Borrowed(s.as_str()));
    let name = |c: RecordColumn| c.name().into_owned();
    let mut out = vec![
        (name(RecordColumn::Id), ColumnValues::Utf8(records.iter().map(|r| text(&r.id)).collect())),
        (
            name(RecordColumn::Required("timestamp")),
            ColumnValues::Int64(records.iter().map(|r| Some(r.timestamp)).collect()),
        ),
        (name(RecordColumn::Version), ColumnValues::Utf8(records.iter().map(|r| text(&r.version)).collect())),
        (name(RecordColumn::Required("prediction")), typed(records.iter().map(|r| Some(&r.prediction)).collect())),
        (name(RecordColumn::Optional("score")), ColumnValues::Float64(records.iter().map(|r| r.score).collect())),
        (name(RecordColumn::Optional("label")), typed(records.iter().map(|r| r.label.as_ref()).collect())),
        (
            name(RecordColumn::Optional("latency_ms")),
            ColumnValues::Float64(records.iter().map(|r| r.latency_ms).collect()),
        ),
    ];
    // Records of one batch nearly always share one layout (the schema's, once ingestion
    // has put them in its order): then each record's values are taken by position.
    let first = records.first().map(|r| r.features.layout());
    if let Some(layout) = first
        && records.iter().all(|r| Arc::ptr_eq(r.features.layout(), layout))
    {
        let mut columns: Vec<Vec<Option<&Value>>> = vec![Vec::with_capacity(records.len()); layout.len()];
        for r in records {
            for (column, value) in columns.iter_mut().zip(r.features.values()) {
                column.push(Some(value));
            }
        }
        out.extend(layout.names().iter().zip(columns).map(|(name, values)| (name.clone(), typed(values))));
    } else {
        let features: BTreeSet<&str> = records.iter().flat_map(|r| r.features.names()).map(String::as_str).collect();
        for name in features {
            out.push((name.to_string(), typed(records.iter().map(|r| r.features.get(name)).collect())));
        }
    }
    let attributes: BTreeSet<&String> = records.iter().flat_map(|r| r.attributes.keys()).collect();
    for name in attributes {
        let values = records.iter().map(|r| r.attributes.get(name).map(|g| Cow::Borrowed(g.as_str()))).collect();
        out.push((RecordColumn::Attribute(name.clone()).name().into_owned(), ColumnValues::Utf8(values)));
    }
    let classes: BTreeSet<&String> =
        records.iter().filter_map(|r| r.probabilities.as_ref()).flat_map(|p| p.keys()).collect();
    for class in classes {
        let values = records.iter().map(|r| r.probabilities.as_ref().and_then(|p| p.get(class).copied())).collect();
        out.push((RecordColumn::Probability(class.clone()).name().into_owned(), ColumnValues::Float64(values)));
    }
    out
}
