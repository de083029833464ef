//! Drift benchmark: read two CSV files and compare them, at 100k, 1M and 5M rows per side
//! × 15 columns, and print a table. Run with `cargo bench -p riskops-drift` (release build).
//!
//! It uses Evidently's benchmark files (`tools/evidently/bench_data/bench_<N>x15.*.csv`,
//! made by `tools/evidently/bench_evidently.py --generate-only`) when they exist, so the
//! numbers compare with Evidently's on the same data; otherwise it writes similar files
//! (10 float, 3 small-integer and 2 text columns, some drifting) to a temporary folder.
//! `RISKOPS_BENCH_ROWS=100000,1000000` chooses the sizes. Whole-process comparisons with
//! Evidently (wall time and peak memory) are `tools/bench/drift_vs_evidently.py`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_data::{CsvOptions, read_csv};
use riskops_drift::{DriftOptions, detect_drift};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn main() {
    let sizes: Vec<usize> = std::env::var("RISKOPS_BENCH_ROWS")
        .ok()
        .map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![100_000, 1_000_000, 5_000_000]);
    let scratch = tempfile::tempdir().unwrap();
    println!(
        "| rows per side | columns | read (s) | compare (s) | total (s) | rows/s (both sides) | peak RSS (MiB) | data |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---|");
    for rows in sizes {
        let (reference, current, source) = files(rows, scratch.path());
        // Read both files once first: the page cache is warm, so the table measures
        // parsing and statistics, not the disk (the Evidently script warms it too).
        for path in [&reference, &current] {
            let _ = std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut std::io::sink());
        }
        let start = Instant::now();
        let (r, c) = std::thread::scope(|s| {
            let r = s.spawn(|| read_csv(&reference, &CsvOptions::default(), &|_| {}).unwrap());
            let c = read_csv(&current, &CsvOptions::default(), &|_| {}).unwrap();
            (r.join().unwrap(), c)
        });
        let read = start.elapsed().as_secs_f64();
        let columns = r.columns.len();
        let compare_start = Instant::now();
        let report = detect_drift(r, c, &DriftOptions::default(), &|_, _| {}).unwrap();
        let compare = compare_start.elapsed().as_secs_f64();
        let total = start.elapsed().as_secs_f64();
        println!(
            "| {rows} | {columns} | {read:.2} | {compare:.2} | {total:.2} | {:.0} | {} | {source} ({} drifted) |",
            2.0 * rows as f64 / total,
            peak_rss_mib().map(|m| m.to_string()).unwrap_or_else(|| "?".into()),
            report.n_drifted
        );
    }
}

/// The process's peak resident memory so far (Linux); sizes run in increasing order, so
/// each row's figure is that size's peak.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn files(rows: usize, scratch: &Path) -> (PathBuf, PathBuf, &'static str) {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/evidently/bench_data");
    let (r, c) =
        (shared.join(format!("bench_{rows}x15.reference.csv")), shared.join(format!("bench_{rows}x15.current.csv")));
    if r.exists() && c.exists() {
        return (r, c, "Evidently's files");
    }
    let (r, c) = (scratch.join(format!("{rows}.reference.csv")), scratch.join(format!("{rows}.current.csv")));
    write_synthetic(&r, rows, false, 1);
    write_synthetic(&c, rows, true, 2);
    (r, c, "generated")
}

/// A small deterministic generator (splitmix64 + Box–Muller): no dependency for a bench.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

fn write_synthetic(path: &Path, rows: usize, current: bool, seed: u64) {
    let mut rng = Rng(seed);
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(out, "f0,f1,f2,f3,f4,f5,f6,f7,f8,f9,c0,c1,c2,s0,s1").unwrap();
    let shift = if current { 0.5 } else { 0.0 };
    for _ in 0..rows {
        let f: Vec<f64> = (0..10).map(|i| rng.normal() * (1.0 + i as f64) + if i < 3 { shift } else { 0.0 }).collect();
        let c0 = rng.next() % 10;
        let c1 = if current { rng.next() % 5 } else { rng.next() % 4 };
        let c2 = 1 + rng.next() % 3;
        let s0 = ["A", "B", "C", "D", "E"][(rng.next() % 5) as usize];
        let s1 = rng.next() % if current { 9 } else { 8 };
        for x in &f {
            write!(out, "{x:.7},").unwrap();
        }
        writeln!(out, "{c0},{c1},{c2},{s0},cat_{s1}").unwrap();
    }
}
