//! Drift on tables larger than memory. Drift compares column by column, so when both
//! tables would not fit `--memory-limit` they are read a group of columns at a time —
//! Parquet reads only those columns' chunks, CSV is scanned once per group keeping only
//! those fields — compared, freed, and the groups' reports combined. Each column's result
//! depends on that column alone, so the answer is the in-memory one (a test compares them on
//! every method).

use super::{Read, read_both};
use crate::progress::Progress;
use anyhow::{Context, Result, anyhow, bail};
use riskops_data::{CsvOptions, open_with_delimiter};
use riskops_drift::{DriftOptions, DriftReport, detect_drift};
use std::path::Path;

/// Bytes a column takes in memory per value while compared: the value (8 bytes) and the
/// sorted copy the tests make of it.
const BYTES_PER_VALUE: u64 = 16;
/// A CSV's values take about twice its text in memory (a short number is 2–6 bytes of text
/// and 8 of f64, and is sorted once more): the estimate when the row count is unknown.
const CSV_EXPANSION: u64 = 2;

/// A file's column names and the bytes each column is expected to take in memory.
struct Shape {
    names: Vec<String>,
    bytes_per_column: u64,
}

fn shape(path: &Path, csv: &CsvOptions) -> Result<Shape> {
    if riskops_parquet::is_parquet(path) {
        let (names, rows) = riskops_parquet::parquet_shape(path)?;
        return Ok(Shape { names, bytes_per_column: rows as u64 * BYTES_PER_VALUE });
    }
    let (reader, delimiter) = open_with_delimiter(path, csv.delimiter)?;
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).from_reader(reader);
    let names: Vec<String> = reader
        .headers()
        .with_context(|| format!("cannot read the header of {}", path.display()))?
        .iter()
        .map(str::to_string)
        .collect();
    let size = std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?.len();
    let bytes_per_column = size * CSV_EXPANSION * BYTES_PER_VALUE / 8 / names.len().max(1) as u64;
    Ok(Shape { names, bytes_per_column })
}

/// The compared columns in groups that each fit `budget` bytes (at least one column per
/// group), or `None` when everything fits at once and the tables are CSV, read whole.
pub(super) fn plan(
    reference: &Path,
    current: &Path,
    csv: &CsvOptions,
    options: &DriftOptions,
    budget: u64,
) -> Result<Option<Vec<Vec<String>>>> {
    let (r, c) = (shape(reference, csv)?, shape(current, csv)?);
    let per_column = r.bytes_per_column + c.bytes_per_column;
    let wanted: Vec<String> = match &options.columns {
        Some(list) => r.names.iter().filter(|n| list.contains(n)).cloned().collect(),
        None => r.names.clone(),
    };
    // Parquet pairs always go through groups (one, when everything fits): a group decodes the
    // larger file on every core, where reading the two whole files gives each one thread.
    let parquet = riskops_parquet::is_parquet(reference) && riskops_parquet::is_parquet(current);
    if per_column.saturating_mul(wanted.len() as u64) <= budget && !parquet {
        return Ok(None);
    }
    if options.columns.is_none()
        && let Some(missing) = r.names.iter().chain(&c.names).find(|n| !r.names.contains(n) || !c.names.contains(n))
    {
        bail!(
            "the files have different columns ({missing:?} is in only one of {} and {}): compare the shared ones \
             with --columns",
            reference.display(),
            current.display()
        );
    }
    // Overrides must name columns of both files, as when the tables are read whole.
    let named = options.columns.iter().flatten().chain(&options.numerical).chain(&options.categorical);
    for name in named.chain(options.column_methods.keys()) {
        for (names, side) in [(&r.names, "reference"), (&c.names, "current")] {
            if !names.contains(name) {
                bail!("column {name:?} is not in the {side} data");
            }
        }
    }
    let per_group = (budget / per_column.max(1)).max(1) as usize;
    Ok(Some(wanted.chunks(per_group).map(<[String]>::to_vec).collect()))
}

/// Compares the files group by group (see [`plan`]); progress counts columns done.
pub(super) fn detect(
    reference: &Path,
    current: &Path,
    csv: &CsvOptions,
    options: &DriftOptions,
    groups: Vec<Vec<String>>,
) -> Result<(DriftReport, Vec<(String, String)>)> {
    let total: usize = groups.iter().map(Vec::len).sum();
    let bar = Progress::steps(total as u64, "columns");
    let mut parts = Vec::with_capacity(groups.len());
    let mut skipped: Vec<(String, String)> = Vec::new();
    let mut done = 0;
    for group in groups {
        let only = CsvOptions { delimiter: csv.delimiter, columns: Some(group.clone()) };
        let ((r, skipped_r), (c, skipped_c)): (Read, Read) =
            if riskops_parquet::is_parquet(reference) && riskops_parquet::is_parquet(current) {
                (read_parquet_columns(reference, &group)?, read_parquet_columns(current, &group)?)
            } else {
                read_both(reference, current, &only, false)?
            };
        skipped.extend(skipped_r.into_iter().chain(skipped_c));
        // The group's columns and the overrides that name them; a column left out of one file
        // (a type pandas cannot compare) is compared in neither.
        let here = |n: &String| group.contains(n) && r.column(n).is_some() && c.column(n).is_some();
        let options = DriftOptions {
            columns: Some(group.iter().filter(|n| here(n)).cloned().collect()),
            column_methods: options
                .column_methods
                .iter()
                .filter(|(n, _)| here(n))
                .map(|(n, m)| (n.clone(), *m))
                .collect(),
            numerical: options.numerical.iter().filter(|n| here(n)).cloned().collect(),
            categorical: options.categorical.iter().filter(|n| here(n)).cloned().collect(),
            ..options.clone()
        };
        let report = detect_drift(r, c, &options, &|_, _| {}).map_err(|e| anyhow!("{e}"))?;
        done += group.len();
        bar.set(done as u64);
        parts.push(report);
    }
    bar.finish();
    Ok((DriftReport::combine(parts, options.drift_share), skipped))
}

/// A group of a Parquet file's columns, decoded on every core (each thread reads a slice of
/// the columns' chunks): the larger file of a pair would otherwise be read on one.
fn read_parquet_columns(path: &Path, group: &[String]) -> Result<Read> {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get).min(group.len()).max(1);
    let slices: Vec<&[String]> = group.chunks(group.len().div_ceil(threads)).collect();
    let parts: Vec<Result<riskops_parquet::ParquetTable, riskops_data::DataError>> = std::thread::scope(|s| {
        let handles: Vec<_> = slices
            .iter()
            .map(|slice| s.spawn(move || riskops_parquet::read_parquet(path, Some(slice), &|_| {})))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    let message = "reading stopped unexpectedly".to_string();
                    Err(riskops_data::DataError::Malformed { path: path.to_path_buf(), message })
                })
            })
            .collect()
    });
    let mut table = riskops_data::Table { columns: Vec::new(), rows: 0 };
    let mut skipped = Vec::new();
    for part in parts {
        let part = part?;
        table.rows = part.table.rows;
        table.columns.extend(part.table.columns);
        skipped.extend(part.skipped);
    }
    Ok((table, skipped))
}

/// `--memory-limit`: `512M`, `2G`, `1.5GiB`, or bytes; by default a quarter of the machine's
/// memory (4 GiB when it cannot be read).
pub(super) fn memory_limit(text: Option<&str>) -> Result<u64> {
    let Some(text) = text else {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<u64>().ok()).map(|kb| kb * 1024))
        });
        return Ok(total.map_or(4 << 30, |t| t / 4));
    };
    let t = text.trim();
    let split = t.find(|ch: char| !(ch.is_ascii_digit() || ch == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| anyhow!("--memory-limit {text:?}: give a size such as 512M or 2G"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => bail!("--memory-limit {text:?}: the unit must be K, M, G or T"),
    };
    let bytes = number * scale as f64;
    if bytes.is_nan() || bytes < 1.0 {
        bail!("--memory-limit {text:?}: give a positive size");
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use riskops_drift::Method;

    /// Two tables with numbers, integers, text and missing values; the current one shifted.
    fn tables(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut write = |name: &str, rows: usize, shift: f64| {
            let mut text = String::from("amount,count,kind,score,flag\n");
            for _ in 0..rows {
                let kind = ["a", "b", "c"][((next() + shift / 3.0) * 3.0) as usize % 3];
                let score = if next() < 0.1 { String::new() } else { format!("{:.3}", next() + shift) };
                text.push_str(&format!(
                    "{:.4},{},{kind},{score},{}\n",
                    next() * 100.0 + shift * 30.0,
                    (next() * 6.0) as i64,
                    next() < 0.5 + shift / 4.0
                ));
            }
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        (write("reference.csv", 400, 0.0), write("current.csv", 300, 0.6))
    }

    fn in_memory(reference: &Path, current: &Path, options: &DriftOptions) -> Result<String> {
        let csv = CsvOptions::default();
        let ((r, _), (c, _)) = read_both(reference, current, &csv, false)?;
        Ok(riskops_core::drift_json::render(&detect_drift(r, c, options, &|_, _| {}).map_err(|e| anyhow!("{e}"))?))
    }

    fn streamed(reference: &Path, current: &Path, options: &DriftOptions) -> Result<String> {
        let csv = CsvOptions::default();
        let groups = plan(reference, current, &csv, options, 1)?.expect("one byte of memory cannot hold the tables");
        assert!(groups.iter().all(|g| g.len() == 1), "{groups:?}");
        let (report, _) = detect(reference, current, &csv, options, groups)?;
        Ok(riskops_core::drift_json::render(&report))
    }

    #[test]
    fn column_groups_give_the_in_memory_answer_on_every_method() {
        let dir = tempfile::tempdir().unwrap();
        let (reference, current) = tables(dir.path());
        let mut compared = 0;
        for method in std::iter::once(None).chain(Method::ALL.into_iter().map(Some)) {
            let options = DriftOptions { method, ..DriftOptions::default() };
            let (whole, grouped) =
                (in_memory(&reference, &current, &options), streamed(&reference, &current, &options));
            match (whole, grouped) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a, b, "{method:?}");
                    compared += 1;
                }
                // A method that does not apply to some column is refused either way.
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{method:?}"),
                (a, b) => panic!("{method:?}: in memory {a:?}, by column groups {b:?}"),
            }
        }
        assert!(compared >= 2, "the default and at least one forced method compared");
        // Overrides per column and a chosen subset go through the groups too.
        let mut options = DriftOptions { columns: Some(vec!["score".into(), "kind".into()]), ..Default::default() };
        options.column_methods.insert("score".into(), Method::Wasserstein);
        assert_eq!(
            in_memory(&reference, &current, &options).unwrap(),
            streamed(&reference, &current, &options).unwrap()
        );
    }

    #[test]
    fn parquet_column_groups_read_only_their_columns_and_agree() {
        use riskops_parquet::ColumnValues;
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, rows: usize, shift: f64| {
            let x: Vec<Option<f64>> = (0..rows).map(|i| Some(((i * 37) % 101) as f64 + shift)).collect();
            let y: Vec<Option<f64>> =
                (0..rows).map(|i| if i % 9 == 0 { None } else { Some((i % 13) as f64) }).collect();
            let z = (0..rows)
                .map(|i| Some(std::borrow::Cow::Borrowed(["u", "v", "w"][(i + shift as usize) % 3])))
                .collect();
            let columns = vec![
                ("x".into(), ColumnValues::Float64(x)),
                ("y".into(), ColumnValues::Float64(y)),
                ("z".into(), ColumnValues::Utf8(z)),
            ];
            let path = dir.path().join(name);
            riskops_parquet::write_columns(std::fs::File::create(&path).unwrap(), columns, &[]).unwrap();
            path
        };
        let (reference, current) = (write("r.parquet", 500, 0.0), write("c.parquet", 200, 20.0));
        let options = DriftOptions::default();
        // Even when they fit, Parquet pairs are read as one group (decoded on every core).
        let one = plan(&reference, &current, &CsvOptions::default(), &options, 1 << 30).unwrap();
        assert_eq!(one, Some(vec![vec!["x".to_string(), "y".to_string(), "z".to_string()]]));
        let whole = in_memory(&reference, &current, &options).unwrap();
        assert_eq!(whole, streamed(&reference, &current, &options).unwrap());
        assert!(whole.contains("\"x\""), "{whole}");
    }

    #[test]
    fn tables_that_fit_are_read_whole_and_different_columns_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let (reference, current) = tables(dir.path());
        let csv = CsvOptions::default();
        assert!(plan(&reference, &current, &csv, &DriftOptions::default(), 1 << 30).unwrap().is_none());
        let other = dir.path().join("other.csv");
        std::fs::write(&other, "amount,extra\n1,2\n").unwrap();
        let err = plan(&reference, &other, &csv, &DriftOptions::default(), 1).unwrap_err().to_string();
        assert!(err.contains("different columns") && err.contains("--columns"), "{err}");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(memory_limit(Some("512M")).unwrap(), 512 << 20);
        assert_eq!(memory_limit(Some("1.5GiB")).unwrap(), 3 << 29);
        assert_eq!(memory_limit(Some("4096")).unwrap(), 4096);
        assert!(memory_limit(Some("lots")).is_err() && memory_limit(Some("2X")).is_err());
        assert!(memory_limit(Some("0")).is_err());
        assert!(memory_limit(None).unwrap() > 0);
    }
}
