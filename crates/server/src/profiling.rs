//! Reading an uploaded data file into its schema and profile (on the blocking pool: it is
//! CPU and disk work), in bounded memory: CSV is profiled as it streams, Parquet a group of
//! columns at a time (a column's profile needs only that column). A profile document is
//! taken as it is.

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
        if riskops_data::profile::is_profile_document(&path) {
            let profile = riskops_data::profile::read_profile_document(&path)
                .map_err(|e| Error::invalid("file", format!("cannot read it as a profile: {e}")))?;
            return Ok(described(DataFormat::Profile, &profile));
        }
        if riskops_parquet::is_parquet(&path) {
            let (profile, skipped) = profile_parquet(&path, PARQUET_BUDGET).map_err(|e| unreadable("Parquet", e))?;
            let mut described = described(DataFormat::Parquet, &profile);
            if let Value::Array(schema) = &mut described.schema {
                for (name, reason) in skipped {
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

/// Decoded values held at once while profiling a Parquet file: whatever the file's size, an
/// upload costs the server about this much memory (a column bigger than this is read alone).
const PARQUET_BUDGET: u64 = 256 << 20;

/// Memory per decoded value: 8 bytes of number or dictionary code, with room for the
/// dictionary's text and the reader's buffers.
const BYTES_PER_VALUE: u64 = 16;

/// The profile of a Parquet file, read `budget` bytes of columns at a time, and the columns
/// left out with why. The same profile as reading the whole table: each column's profile is
/// made from the whole column either way.
fn profile_parquet(path: &Path, budget: u64) -> Result<(TableProfile, Vec<(String, String)>), riskops_data::DataError> {
    let (names, rows) = riskops_parquet::parquet_shape(path)?;
    let per_column = (rows as u64).saturating_mul(BYTES_PER_VALUE).max(1);
    let per_group = usize::try_from(budget / per_column).unwrap_or(usize::MAX).max(1);
    let mut profile = TableProfile { rows: rows as u64, columns: Vec::with_capacity(names.len()) };
    let mut skipped = Vec::new();
    for group in names.chunks(per_group) {
        let read = riskops_parquet::read_parquet(path, Some(group), &|_| {})?;
        profile.columns.extend(riskops_data::profile::profile_table(&read.table).columns);
        skipped.extend(read.skipped);
    }
    Ok((profile, skipped))
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

#[cfg(test)]
mod tests {
    use super::*;
    use riskops_parquet::ColumnValues;
    use std::borrow::Cow;

    /// A Parquet file of four columns of every kind profiles the same read one column at a
    /// time as read whole: same columns in file order, counts, quantiles and frequencies.
    #[test]
    fn a_parquet_file_profiled_by_column_groups_equals_its_whole_table_profile() {
        let dir = std::env::temp_dir().join(format!("riskops-profile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("table.parquet");
        let n = 5_000;
        let columns = vec![
            ("age".to_string(), ColumnValues::Int64((0..n).map(|i| Some(18 + i % 60)).collect())),
            (
                "income".to_string(),
                ColumnValues::Float64((0..n).map(|i| (i % 7 != 0).then_some((i as f64).sqrt() * 1000.0)).collect()),
            ),
            (
                "segment".to_string(),
                ColumnValues::Utf8(
                    (0..n).map(|i| (i % 11 != 0).then(|| Cow::Borrowed(["a", "b", "c"][i as usize % 3]))).collect(),
                ),
            ),
            ("default".to_string(), ColumnValues::Bool((0..n).map(|i| Some(i % 5 == 0)).collect())),
        ];
        riskops_parquet::write_columns(std::fs::File::create(&path).unwrap(), columns, &[]).unwrap();

        let whole = riskops_parquet::read_parquet(&path, None, &|_| {}).unwrap();
        let expected = riskops_data::profile::profile_table(&whole.table).to_json();
        // A budget of one column's worth: four groups of one column.
        let (grouped, skipped) = profile_parquet(&path, n as u64 * BYTES_PER_VALUE).unwrap();
        assert!(skipped.is_empty());
        assert_eq!(grouped.columns.len(), 4);
        assert_eq!(grouped.to_json(), expected);
        // And everything in one group.
        let (one, _) = profile_parquet(&path, PARQUET_BUDGET).unwrap();
        assert_eq!(one.to_json(), expected);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
