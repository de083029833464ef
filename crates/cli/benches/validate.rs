//! Produced evidence at scale: `riskops validate` and `riskops stress` of a 300-tree depth-5
//! gradient-boosted classifier on the credit data tiled to 1M rows, through a `riskops serve`
//! (release build, its own process, SQLite), next to onnxruntime scoring the same rows.
//!
//! `cargo bench -p riskops-cli --bench validate` (RISKOPS_BENCH_ROWS=1000000 by default).
//! The model, the data and onnxruntime's times come from `tools/bench/validate_model.py`, run
//! with RISKOPS_BENCH_PYTHON (default `/work/venv/bin/python` when it exists, else `python3`;
//! it needs scikit-learn, skl2onnx, onnxruntime and pandas). Printed: the time of each
//! command as the user waits for it (the CLI's answer), riskops-model scoring the rows in
//! process (read beforehand, as onnxruntime's are) and onnxruntime's rows/s.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_data::Values;
use riskops_model::{Column, ColumnValues, Model, bind_columns};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

const TOKEN: &str = "bench-admin-token";

fn python() -> String {
    std::env::var("RISKOPS_BENCH_PYTHON").unwrap_or_else(|_| {
        if Path::new("/work/venv/bin/python").exists() { "/work/venv/bin/python".into() } else { "python3".into() }
    })
}

/// Runs the CLI against the server; panics with its output when it fails. Returns seconds.
fn riskops(url: &str, args: &[&str]) -> f64 {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_riskops"))
        .args(args)
        .env("RISKOPS_URL", url)
        .env("RISKOPS_TOKEN", TOKEN)
        .output()
        .unwrap();
    let seconds = start.elapsed().as_secs_f64();
    // validate and stress exit non-zero when a check fails; their evidence is still filed.
    let filed = String::from_utf8_lossy(&out.stdout).contains("evidence_id");
    if !out.status.success() && !filed {
        panic!("riskops {args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
    seconds
}

/// riskops-model alone on the rows (read beforehand, as onnxruntime's are): best of 3.
fn score_in_process(model: &Path, data: &Path) -> f64 {
    let table = riskops_data::read_csv(data, &riskops_data::CsvOptions::default(), &|_| {}).unwrap();
    let columns: Vec<Column> = table
        .columns
        .iter()
        .map(|c| {
            let values = match &c.values {
                Values::Int(v) => ColumnValues::Int(v.clone()),
                Values::Float(v) => ColumnValues::Float(v.clone()),
                Values::Bool(v) => ColumnValues::Bool(v.clone()),
                Values::Str(s) => ColumnValues::Str((0..s.codes.len()).map(|i| s.get(i).map(str::to_string)).collect()),
            };
            Column { name: c.name.clone(), values }
        })
        .collect();
    let model = Model::load(&std::fs::read(model).unwrap()).unwrap();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let (inputs, _) = bind_columns(model.signature(), &columns, Some("default"), None, &HashMap::new()).unwrap();
        let start = Instant::now();
        model.predict(inputs).unwrap();
        best = best.min(start.elapsed().as_secs_f64());
    }
    best
}

fn main() {
    let rows: usize = std::env::var("RISKOPS_BENCH_ROWS").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let work = std::env::temp_dir().join("riskops-bench-validate");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/bench/validate_model.py");
    eprintln!("making the model and {rows} rows, timing onnxruntime ({})…", python());
    let peer = Command::new(python()).arg(&script).arg(&work).arg(rows.to_string()).output().unwrap();
    assert!(peer.status.success(), "{}", String::from_utf8_lossy(&peer.stderr));
    let peer: serde_json::Value = serde_json::from_slice(&peer.stdout).unwrap();
    let ort_1 = peer["ort_seconds_1"].as_f64().unwrap();
    let ort_all = peer["ort_seconds_all"].as_f64().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_riskops"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("RISKOPS_BOOTSTRAP_TOKEN", TOKEN)
        .env_remove("RISKOPS_DATABASE_URL")
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut url = String::new();
    for line in BufReader::new(server.stderr.take().unwrap()).lines() {
        if let Some(rest) = line.unwrap().strip_prefix("riskops listening on ") {
            url = rest.split_whitespace().next().unwrap().to_string();
            break;
        }
    }
    let data = work.join("data.csv");
    let model = work.join("model.onnx");
    riskops(&url, &["project", "create", "bench", "--industry", "finance", "--workflow", "credit_decisioning"]);
    let push = riskops(&url, &["dataset", "push", "big", data.to_str().unwrap(), "--project", "bench"]);
    riskops(
        &url,
        &[
            "model",
            "register",
            "gb",
            "--project",
            "bench",
            "--artifact",
            model.to_str().unwrap(),
            "--framework",
            "onnx",
        ],
    );
    let predictions = dir.path().join("predictions.csv");
    let predict = riskops(
        &url,
        &[
            "predict",
            "gb@1",
            "--data",
            data.to_str().unwrap(),
            "--label",
            "default",
            "--output",
            predictions.to_str().unwrap(),
        ],
    );
    let validate = riskops(&url, &["validate", "gb@1", "--data", "big@1", "--label", "default", "--format", "json"]);
    let stress = riskops(&url, &["stress", "gb@1", "--data", "big@1", "--label", "default", "--format", "json"]);
    let _ = server.kill();
    let _ = server.wait();
    let scoring = score_in_process(&model, &data);

    let rate = |s: f64| format!("{:>12.0}", rows as f64 / s);
    println!("\n{rows} rows × 23 features, 300 trees of depth 5 (2 cores)\n");
    println!("{:<44} {:>10} {:>12}", "step", "seconds", "rows/s");
    println!("{:<44} {push:>10.2} {}", "dataset push (upload, hash, profile)", rate(push));
    println!("{:<44} {predict:>10.2} {}", "riskops predict (read CSV, score, write CSV)", rate(predict));
    println!("{:<44} {validate:>10.2} {}", "riskops validate (score, metrics, segments)", rate(validate));
    println!("{:<44} {stress:>10.2} {}", "riskops stress (every check)", rate(stress));
    println!("{:<44} {scoring:>10.2} {}", "riskops-model scoring (in process)", rate(scoring));
    println!("{:<44} {ort_1:>10.2} {}", "onnxruntime scoring, 1 thread", rate(ort_1));
    println!("{:<44} {ort_all:>10.2} {}", format!("onnxruntime scoring, {} threads", peer["threads"]), rate(ort_all));
    println!("\nriskops-model / onnxruntime ({} threads): {:.2}× the rows/s", peer["threads"], ort_all / scoring);
    println!("validate target: under 10 s at 1M rows");
}
