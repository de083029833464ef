//! Closing a window exactly: a 1M-record window with 20 features (14 float, 3 wide
//! integer, 3 text) kept as 10 raw-record segments (Parquet, zstd, as the server writes
//! them), compared with a 100k-row reference prepared once (as the server caches it per
//! model version). Prints a table: preparing the reference (once per version), reading the
//! window's records from its segments, the drift engine, and the close (read + drift).
//! Run with `cargo bench -p riskops-server --bench exact` (release build);
//! `RISKOPS_BENCH_RECORDS=1000000` and `RISKOPS_BENCH_REFERENCE=100000` change the sizes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_core::service::RecordTables;
use riskops_data::profile::Dtype;
use riskops_drift::{DriftOptions, PreparedReference, detect_drift_prepared};
use riskops_parquet::{ColumnValues, write_columns};
use riskops_server::record_tables::FileRecordTables;
use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Instant;

const FLOATS: usize = 14;
const INTS: usize = 3;
const TEXTS: usize = 3;
const SEGMENTS: usize = 10;
const T0: i64 = 1_790_812_800;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A fixed pseudo-random number in [0, 1) for row `i`, column `j`.
fn u(i: usize, j: usize) -> f64 {
    let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ (j as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x ^= x >> 29;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 32;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn names() -> Vec<(String, Dtype)> {
    let mut out: Vec<(String, Dtype)> = (0..FLOATS).map(|j| (format!("f{j}"), Dtype::Float64)).collect();
    out.extend((0..INTS).map(|j| (format!("i{j}"), Dtype::Int64)));
    out.extend((0..TEXTS).map(|j| (format!("t{j}"), Dtype::Object)));
    out
}

const CATEGORIES: [&str; 6] = ["north", "south", "east", "west", "centre", "abroad"];

/// Rows `rows` of the features, `shift` moving the floats; the window's segments also get
/// `timestamp` and `version` as the server writes them (every number as float64).
fn columns<'a>(rows: std::ops::Range<usize>, shift: f64, segment: bool) -> Vec<(String, ColumnValues<'a>)> {
    let mut out = Vec::new();
    if segment {
        out.push((
            "timestamp".to_string(),
            ColumnValues::Int64(rows.clone().map(|i| Some(T0 + (i % 3600) as i64)).collect()),
        ));
        out.push(("version".to_string(), ColumnValues::Utf8(rows.clone().map(|_| Some(Cow::Borrowed("1"))).collect())));
    }
    for j in 0..FLOATS {
        let values =
            rows.clone().map(|i| Some((-2.0 * (u(i, j) + 1e-12).ln()).sqrt() * (j + 1) as f64 + shift)).collect();
        out.push((format!("f{j}"), ColumnValues::Float64(values)));
    }
    for j in 0..INTS {
        let value = |i: usize| (u(i, 100 + j) * 1e6) as i64;
        out.push((
            format!("i{j}"),
            if segment {
                ColumnValues::Float64(rows.clone().map(|i| Some(value(i) as f64)).collect())
            } else {
                ColumnValues::Int64(rows.clone().map(|i| Some(value(i))).collect())
            },
        ));
    }
    for j in 0..TEXTS {
        let values = rows.clone().map(|i| Some(Cow::Borrowed(CATEGORIES[(u(i, 200 + j) * 6.0) as usize]))).collect();
        out.push((format!("t{j}"), ColumnValues::Utf8(values)));
    }
    out
}

/// This process's CPU time (user + system) in seconds, from /proc (Linux; 0 elsewhere): on
/// a shared machine the wall time says more about the neighbours than about the close.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let records = env("RISKOPS_BENCH_RECORDS", 1_000_000);
    let reference_rows = env("RISKOPS_BENCH_REFERENCE", 100_000);
    let dir = tempfile::tempdir().unwrap();
    let reference_file = dir.path().join("reference.parquet");
    let mut bytes = Vec::new();
    write_columns(&mut bytes, columns(0..reference_rows, 0.0, false), &[]).unwrap();
    std::fs::write(&reference_file, bytes).unwrap();
    let per = records.div_ceil(SEGMENTS);
    let segments: Vec<PathBuf> = (0..SEGMENTS)
        .map(|s| {
            let path = dir.path().join(format!("segment-{s}.parquet"));
            let rows = (s * per).min(records)..((s + 1) * per).min(records);
            let mut bytes = Vec::new();
            write_columns(&mut bytes, columns(rows, 0.05, true), &[]).unwrap();
            std::fs::write(&path, bytes).unwrap();
            path
        })
        .collect();
    let features = names();
    let feature_names: Vec<String> = features.iter().map(|(n, _)| n.clone()).collect();
    let tables = FileRecordTables;

    let start = Instant::now();
    let reference = PreparedReference::new(tables.dataset(&reference_file, &feature_names).unwrap(), 0);
    let prepare = start.elapsed().as_secs_f64();

    println!(
        "| records | features | segments | reference rows | prepare reference, once (s) | read records (s) | drift (s) | close = read + drift (s) \
         | close CPU time (s) | load average |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for _ in 0..3 {
        let (start, cpu) = (Instant::now(), cpu_seconds());
        let window = tables.records(&segments, 1, T0, T0 + 3600, &features).unwrap();
        assert_eq!(window.rows, records);
        let read = start.elapsed().as_secs_f64();
        let options = DriftOptions { columns: Some(feature_names.clone()), ..DriftOptions::default() };
        let report = detect_drift_prepared(&reference, window, &options, &|_, _| {}).unwrap();
        let total = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        assert_eq!(report.columns.len(), features.len());
        let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        println!(
            "| {records} | {} | {SEGMENTS} | {reference_rows} | {prepare:.3} | {read:.3} | {:.3} | {total:.3} | {cpu:.2} | {} |",
            features.len(),
            total - read,
            load.split_whitespace().next().unwrap_or("-")
        );
    }
    println!(
        "\n{} cores; each close computed {} features exactly ({} drifted)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        features.len(),
        {
            let window = tables.records(&segments, 1, T0, T0 + 3600, &features).unwrap();
            let options = DriftOptions { columns: Some(feature_names.clone()), ..DriftOptions::default() };
            detect_drift_prepared(&reference, window, &options, &|_, _| {}).unwrap().n_drifted
        }
    );
}
