//! Reading an uploaded data file into its schema and profile (on the blocking pool: it is
//! CPU and disk work).

use riskops_core::registry::DataFormat;
use riskops_core::{Error, ErrorKind};
use riskops_data::profile::{TableProfile, profile_csv};
use riskops_drift::rules::infer_dtype;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub struct Profiled {
    pub format: DataFormat,
    pub rows: u64,
    pub schema: Value,
    pub profile: Value,
}

/// Profiles the file at `path`; an unreadable or empty file is an invalid `file` field.
pub async fn profile(path: &Path) -> Result<Profiled, Error> {
    let path: PathBuf = path.to_path_buf();
    tokio::task::spawn_blocking(move || {
        // The temporary file name means nothing to the user: keep it out of messages.
        let unreadable = |kind: &str, e: riskops_data::DataError| {
            let message = e
                .to_string()
                .replace(&format!("{}: ", path.display()), "")
                .replace(&path.display().to_string(), "the file");
            Error::invalid("file", format!("cannot read it as {kind}: {message}"))
        };
        if riskops_parquet::is_parquet(&path) {
            let read = riskops_parquet::read_parquet(&path, None, &|_| {}).map_err(|e| unreadable("Parquet", e))?;
            let profile = riskops_data::profile::profile_table(&read.table);
            let mut described = described(DataFormat::Parquet, &profile);
            if let Value::Array(schema) = &mut described.schema {
                for (name, reason) in read.skipped {
                    schema.push(json!({"name": name, "dtype": null, "type": "unknown", "reason": reason}));
                }
            }
            return Ok(described);
        }
        let profile = profile_csv(&path, None, &|_| {}).map_err(|e| unreadable("CSV", e))?;
        Ok(described(DataFormat::Csv, &profile))
    })
    .await
    .map_err(|e| Error::new(ErrorKind::Internal, format!("profiling failed: {e}")))?
}

fn described(format: DataFormat, profile: &TableProfile) -> Profiled {
    let schema: Vec<Value> = profile
        .columns
        .iter()
        .map(|c| {
            let kind = infer_dtype(c.dtype.name(), c.distinct.estimate(), c.count(), c.is_boolean_text());
            json!({"name": c.name, "dtype": c.dtype.name(), "type": kind.name()})
        })
        .collect();
    Profiled { format, rows: profile.rows, schema: Value::Array(schema), profile: profile.to_json() }
}
