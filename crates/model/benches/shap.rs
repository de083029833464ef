//! TreeSHAP speed, side by side with shap's TreeExplainer on the same models and rows.
//!
//! `cargo bench -p riskops-model --bench shap` first runs `benches/shap_peer.py` (Python,
//! `RISKOPS_BENCH_PYTHON`, default `/work/venv-shap/bin/python` when it exists, else
//! `python3`; it needs shap, scikit-learn, skl2onnx, onnxmltools, xgboost, lightgbm), which
//! trains four classifiers on the credit default data (23 features) into
//! `RISKOPS_SHAP_BENCH_DIR` (default /tmp/riskops-shap-bench; kept, so later runs skip
//! this), exports them to ONNX and times shap on 10,000 rows (path-dependent) and 1,000 rows
//! (interventional, 100 background rows). Then riskops explains the same rows with the same
//! covers (shap's, in ONNX node order), on every core and on one, checks it agrees with shap
//! on the first 100 rows, and prints the times and ratios.
//!
//! Measured 2026-12-06 on this 2-core machine while two other builds ran, so wall times are
//! noisy and "2 cores" often had one; the CPU-second ratios in brackets (riskops's
//! explaining thread against shap's process) are the steady measure. shap ÷ riskops:
//!
//! | model | path-dependent, 10,000 rows: 1 thread (CPU) / 2 cores | interventional, 1,000 rows: 1 thread (CPU) / 2 cores |
//! |---|---|---|
//! | GradientBoostingClassifier 300 trees, depth 5 | 5.3 (5.2) / 10.4 | 19.6 (19.3) / 30.2 |
//! | RandomForestClassifier 200 trees, depth 10 | 9.8 (8.8) / 9.3 | 3.5 (4.9) / 4.6 |
//! | XGBClassifier 300 trees, depth 6 | 3.3 (6.8) / 3.3 | 22.9 (20.9) / 22.8 |
//! | LGBMClassifier 300 trees, 31 leaves | 6.9 (8.6) / 7.2 | 7.8 (9.5) / 6.0 |
//!
//! (shap's XGBoost path-dependent values come from XGBoost's own multi-threaded
//! `pred_contribs`, hence its wall time below its CPU time.) Peak memory: riskops 73 MiB for
//! the whole bench process (rows, four models, per-leaf tables). Values agree with shap's to
//! ≤ 6.1e-7 of each row's largest value (XGBoost: shap reads float32 covers), ≤ 6e-8
//! elsewhere.
//!
//! What made the difference: path-dependent tables are read once per 64 rows (masks carried
//! down the tree for all of them, branch by branch), and interventional walks take the whole
//! background at once (128 rows per bitmask, split with one AND per node) instead of one
//! background row at a time — the random forest's interventional ratio went from 1.7 to 4.9.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use riskops_model::Model;
use riskops_model::shap::{self, Covers, Explanation, Rows};

const MODELS: &[&str] = &["gbc_300x5", "rf_200x10", "xgb_300x6", "lgbm_300x31"];

fn read_rows(path: &Path) -> (Vec<f64>, usize) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let cols = lines.next().unwrap().split(',').count();
    let values = lines.flat_map(|l| l.split(',').map(|c| f64::from(c.parse::<f64>().unwrap() as f32))).collect();
    (values, cols)
}

fn seconds(f: impl FnOnce() -> Explanation) -> (f64, Explanation) {
    let started = Instant::now();
    let e = f();
    (started.elapsed().as_secs_f64(), e)
}

/// CPU seconds the calling thread has run (Linux: /proc/thread-self/schedstat, in ns). The
/// machine may be shared, so wall time alone would charge riskops for other processes' work.
fn thread_cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|ns| ns.parse::<f64>().ok()))
        .map_or(f64::NAN, |ns| ns / 1e9)
}

/// The largest difference from shap's values of the first rows, relative to each row's largest.
fn difference(got: &Explanation, want: &serde_json::Value) -> f64 {
    let mut worst = 0f64;
    for (r, row) in want.as_array().unwrap().iter().enumerate() {
        let row: Vec<f64> = row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let scale = row.iter().fold(1f64, |m, v| m.max(v.abs()));
        for (f, v) in row.iter().enumerate() {
            worst = worst.max((got.value(r, f, 0) - v).abs() / scale);
        }
    }
    worst
}

fn main() {
    let dir =
        PathBuf::from(std::env::var("RISKOPS_SHAP_BENCH_DIR").unwrap_or_else(|_| "/tmp/riskops-shap-bench".into()));
    let python = std::env::var("RISKOPS_BENCH_PYTHON").unwrap_or_else(|_| {
        if Path::new("/work/venv-shap/bin/python").exists() {
            "/work/venv-shap/bin/python".into()
        } else {
            "python3".into()
        }
    });
    if !dir.join("timings.json").exists() {
        println!("training the models and timing shap ({python} benches/shap_peer.py {}) …", dir.display());
        let status = Command::new(&python)
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/shap_peer.py"))
            .arg(&dir)
            .status()
            .unwrap();
        assert!(status.success(), "shap_peer.py failed");
    }
    let timings: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("timings.json")).unwrap()).unwrap();
    let (x, cols) = read_rows(&dir.join("rows.csv"));
    let (background, _) = read_rows(&dir.join("background.csv"));
    let background = Rows::new(&background, cols).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    println!(
        "shap {} vs riskops ({cores} cores); wall seconds (CPU seconds of the explaining thread / shap's process)\n",
        timings["shap"].as_str().unwrap_or("?")
    );
    println!(
        "| model | perturbation | rows | shap | riskops (1 thread) | riskops ({cores} cores) | shap ÷ riskops (1 thread) | shap ÷ riskops ({cores} cores) | largest difference |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    // RISKOPS_SHAP_BENCH_MODELS=gbc_300x5,xgb_300x6 runs only those.
    let only = std::env::var("RISKOPS_SHAP_BENCH_MODELS").ok();
    for name in MODELS.iter().filter(|m| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == **m))) {
        let model = Model::load(&std::fs::read(dir.join(format!("{name}.onnx"))).unwrap()).unwrap();
        let (ensemble, _) = model.explained_ensemble().unwrap();
        let covers: Vec<Vec<f64>> =
            serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}_covers.json"))).unwrap()).unwrap();
        let covers = Covers::new(covers);
        for kind in ["path_dependent", "interventional"] {
            let peer = &timings["models"][name][kind];
            let n = peer["rows"].as_u64().unwrap() as usize;
            let rows = Rows::new(&x[..n * cols], cols).unwrap();
            let explain = |threads: usize| match kind {
                "path_dependent" => shap::path_dependent_on(ensemble, &covers, rows, threads).unwrap(),
                _ => shap::interventional_on(ensemble, background, rows, threads).unwrap(),
            };
            let cpu_before = thread_cpu_seconds();
            let (one, _) = seconds(|| explain(1));
            let one_cpu = thread_cpu_seconds() - cpu_before;
            let (all, explanation) = seconds(|| explain(cores));
            let margins = shap::margins(ensemble, rows).unwrap();
            shap::check_additivity(&explanation, &margins, 1e-6).unwrap();
            let worst = difference(&explanation, &peer["values"]);
            let theirs = peer["seconds"].as_f64().unwrap();
            let theirs_cpu = peer["cpu_seconds"].as_f64().unwrap_or(f64::NAN);
            println!(
                "| {name} | {kind} | {n} | {theirs:.2} ({theirs_cpu:.2}) | {one:.2} ({one_cpu:.2}) | {all:.2} | {:.1} ({:.1}) | {:.1} | {worst:.1e} |",
                theirs / one,
                theirs_cpu / one_cpu,
                theirs / all
            );
        }
    }
    let shap_peak =
        timings["peak_rss_mib"].as_f64().map_or("not measured (rerun shap_peer.py)".into(), |m| format!("{m:.0} MiB"));
    println!(
        "\npeak memory: riskops {} (this process: rows, models, tables), shap {shap_peak} (its process, training included)",
        peak_rss()
    );
}

/// The process's peak resident memory (Linux: VmHWM in /proc/self/status).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(|l| l["VmHWM:".len()..].trim().to_string()))
        .map_or("unknown".into(), |kb| match kb.trim_end_matches(" kB").parse::<f64>() {
            Ok(k) => format!("{:.0} MiB", k / 1024.0),
            Err(_) => kb,
        })
}
