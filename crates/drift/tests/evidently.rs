//! The engine against Evidently 0.7.23 on real data: every pair in
//! `tools/evidently/pairs/` (made by `tools/evidently/make_pairs.py` from UCI datasets,
//! see `pairs/SOURCE.md`) has Evidently's answer beside it, and ours must equal it:
//! same column types, methods and verdicts, statistics within 1e-6 relative.
//! One test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use riskops_data::{CsvOptions, read_csv};
use riskops_drift::{DriftOptions, DriftReport, detect_drift};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn pairs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/evidently/pairs")
}

fn run(name: &str) -> (DriftReport, Value) {
    let dir = pairs_dir();
    let read = |side: &str| read_csv(&dir.join(format!("{name}.{side}.csv")), &CsvOptions::default(), &|_| {}).unwrap();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap()).unwrap();
    let report = detect_drift(read("reference"), read("current"), &DriftOptions::default(), &|_, _| {}).unwrap();
    (report, expected)
}

fn close(ours: f64, theirs: &Value, what: &str) -> Result<(), String> {
    let Some(theirs) = theirs.as_f64() else {
        // Evidently writes a non-finite statistic (chi-square with a new category) as null.
        return if ours.is_finite() { Err(format!("{what}: ours {ours}, Evidently null")) } else { Ok(()) };
    };
    let scale = theirs.abs().max(1e-300);
    // Relative 1e-6, with an absolute floor for p-values that are (nearly) zero.
    if (ours - theirs).abs() <= 1e-6 * scale || (ours - theirs).abs() <= 1e-12 {
        Ok(())
    } else {
        Err(format!("{what}: ours {ours:e}, Evidently {theirs:e}"))
    }
}

fn compare(name: &str) -> Vec<String> {
    let (report, expected) = run(name);
    let mut problems = Vec::new();
    for col in expected["columns"].as_array().unwrap() {
        let cname = col["name"].as_str().unwrap();
        let Some(ours) = report.columns.iter().find(|c| c.name == cname) else {
            problems.push(format!("{name}/{cname}: not compared by us"));
            continue;
        };
        let mut check = |ok: bool, what: String| {
            if !ok {
                problems.push(format!("{name}/{cname}: {what}"));
            }
        };
        check(ours.column_type.name() == col["type"], format!("type {} vs {}", ours.column_type.name(), col["type"]));
        check(ours.method.name() == col["method"], format!("method {} vs {}", ours.method, col["method"]));
        check(ours.drifted == col["drifted"], format!("drifted {} vs {}", ours.drifted, col["drifted"]));
        check(ours.threshold == col["threshold"].as_f64().unwrap(), format!("threshold {}", ours.threshold));
        if let Err(e) = close(ours.statistic, &col["statistic"], "statistic") {
            check(false, e);
        }
        if let (Some(p), false) = (ours.p_value, col["p_value"].is_null())
            && let Err(e) = close(p, &col["p_value"], "p_value")
        {
            check(false, e);
        }
    }
    let ds = &expected["dataset"];
    if report.columns.len() as u64 != ds["n_columns"].as_u64().unwrap() {
        problems.push(format!("{name}: {} columns vs {}", report.columns.len(), ds["n_columns"]));
    }
    if report.n_drifted as u64 != ds["n_drifted"].as_u64().unwrap() || report.drifted != ds["drifted"] {
        problems.push(format!(
            "{name}: {} drifted ({}) vs {} ({})",
            report.n_drifted, report.drifted, ds["n_drifted"], ds["drifted"]
        ));
    }
    problems
}

#[test]
fn every_pair_matches_evidently() {
    let mut names: Vec<String> = std::fs::read_dir(pairs_dir())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter_map(|f| f.strip_suffix(".expected.json").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "{names:?}");
    let problems: Vec<String> = names.iter().flat_map(|n| compare(n)).collect();
    assert!(problems.is_empty(), "{} differences:\n{}", problems.len(), problems.join("\n"));
}
