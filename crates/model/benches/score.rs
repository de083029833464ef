//! Scoring speed, side by side with onnxruntime on the same models and rows.
//!
//! `cargo bench -p riskops-model --bench score` scores each committed fixture's 300 input
//! rows tiled to `RISKOPS_BENCH_ROWS` rows (default 200,000) with riskops-model (every core,
//! as `Model::predict` does for large batches; best of 3), then asks onnxruntime (Python, `RISKOPS_BENCH_PYTHON`, default
//! `/work/venv/bin/python` when it exists, else `python3`) to score the same rows with one
//! thread and with all of them, and prints rows/s and the ratios. Without onnxruntime the
//! peer's columns say so.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_model::{Column, ColumnValues, Model, bind_columns};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// Fixture name and its label column (left out of the inputs).
const MODELS: &[(&str, &str)] = &[
    ("credit_gbc", "default"),
    ("credit_rf", "default"),
    ("credit_xgb", "default"),
    ("credit_lgbm", "default"),
    ("credit_mlp", "default"),
    ("adult_logreg", "income"),
];

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// The fixture's input rows tiled to `rows`, typed as the tests type them.
fn columns(name: &str, rows: usize) -> Vec<Column> {
    let text = std::fs::read_to_string(data(&format!("{name}_input.csv"))).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let cells: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    header
        .iter()
        .enumerate()
        .map(|(j, h)| {
            let column: Vec<&str> = (0..rows).map(|r| cells[r % cells.len()][j]).collect();
            let numbers: Option<Vec<f64>> =
                column.iter().map(|c| if c.is_empty() { Some(f64::NAN) } else { c.parse().ok() }).collect();
            let values = match numbers {
                Some(v) => ColumnValues::Float(v),
                None => ColumnValues::Str(column.iter().map(|c| Some(c.to_string())).collect()),
            };
            Column { name: h.to_string(), values }
        })
        .collect()
}

fn riskops_rows_per_second(name: &str, label: &str, rows: usize) -> f64 {
    let model = Model::load(&std::fs::read(data(&format!("{name}.onnx"))).unwrap()).unwrap();
    let cols = columns(name, rows);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let (inputs, _) = bind_columns(model.signature(), &cols, Some(label), None, &HashMap::new()).unwrap();
        let started = Instant::now();
        let prediction = model.predict(inputs).unwrap();
        best = best.min(started.elapsed().as_secs_f64());
        std::hint::black_box(prediction);
    }
    rows as f64 / best
}

const PEER: &str = r#"
import sys, time
import numpy as np, pandas as pd, onnxruntime as ort
path, csv, label, rows = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
frame = pd.read_csv(csv)
frame = pd.concat([frame] * (rows // len(frame) + 1), ignore_index=True).iloc[:rows].drop(columns=[label])
frame = frame.drop(columns=[c for c in frame.columns if c == "id" or c.endswith("_id")])
out = []
for threads in (1, 0):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    inputs = session.get_inputs()
    if len(inputs) == 1:
        feed = {inputs[0].name: frame.to_numpy(dtype=np.float32)}
    else:
        feed = {}
        for i in inputs:
            column = frame[i.name]
            kind = np.float32 if "float" in i.type else (np.int64 if "int64" in i.type else object)
            feed[i.name] = column.to_numpy().astype(kind).reshape(-1, 1)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - started)
    out.append(rows / best)
print(" ".join(f"{x:.0f}" for x in out))
"#;

/// onnxruntime's rows/s with one thread and with all, or why there are none.
fn onnxruntime_rows_per_second(python: &str, name: &str, label: &str, rows: usize) -> Result<(f64, f64), String> {
    let output = Command::new(python)
        .args(["-c", PEER])
        .arg(data(&format!("{name}.onnx")))
        .arg(data(&format!("{name}_input.csv")))
        .args([label, &rows.to_string()])
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !output.status.success() {
        let err = String::from_utf8_lossy(&output.stderr);
        return Err(err.lines().last().unwrap_or("failed").to_string());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let numbers: Vec<f64> = text.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    match numbers.as_slice() {
        [one, all] => Ok((*one, *all)),
        _ => Err(format!("unexpected answer {text:?}")),
    }
}

fn main() {
    let rows: usize = std::env::var("RISKOPS_BENCH_ROWS").ok().and_then(|r| r.parse().ok()).unwrap_or(200_000);
    let python = std::env::var("RISKOPS_BENCH_PYTHON").unwrap_or_else(|_| {
        if std::path::Path::new("/work/venv/bin/python").exists() {
            "/work/venv/bin/python".into()
        } else {
            "python3".into()
        }
    });
    println!("scoring {rows} rows per model (best of 3); onnxruntime through {python}\n");
    println!(
        "| model | riskops rows/s | onnxruntime rows/s (1 thread) | onnxruntime rows/s (all threads) | riskops ÷ ort (1 thread) | riskops ÷ ort (all threads) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, label) in MODELS {
        let ours = riskops_rows_per_second(name, label, rows);
        match onnxruntime_rows_per_second(&python, name, label, rows) {
            Ok((one, all)) => {
                println!("| {name} | {ours:.0} | {one:.0} | {all:.0} | {:.2} | {:.2} |", ours / one, ours / all)
            }
            Err(why) => println!("| {name} | {ours:.0} | – ({why}) | – | – | – |"),
        }
    }
}
