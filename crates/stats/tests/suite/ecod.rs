//! `riskops_stats::ecod` against pyod's `ECOD` (`tests/data/ecod_reference.json`, written by
//! `tests/data/make_ecod_reference.py`): the reference's own scores (`decision_scores_`) and a
//! batch's (`decision_function`, reference and batch pooled), to 1e-9 relative.

use super::json::Json;
use super::nannyml::{ANALYSIS_CSV, Csv, REFERENCE_CSV};
use riskops_stats::ecod::Ecod;

const REFERENCE: &str = include_str!("../data/ecod_reference.json");

/// A side of a case: its columns as written in the JSON, or the named columns of the committed
/// credit CSV, keeping its first rows without a missing value (as the script's `dropna`).
fn columns_of(case: &Json, side: &str) -> Vec<Vec<f64>> {
    if case.entries().iter().any(|(k, _)| k == side) {
        return case.get(side).arr().iter().map(Json::f64s).collect();
    }
    let (csv, rows) = match side {
        "reference" => (Csv::parse(REFERENCE_CSV), case.get("reference_rows").num() as usize),
        _ => (Csv::parse(ANALYSIS_CSV), case.get("batch_rows").num() as usize),
    };
    let columns: Vec<Vec<f64>> = case.get("columns").arr().iter().map(|name| csv.num(name.str())).collect();
    let complete: Vec<usize> =
        (0..columns[0].len()).filter(|&i| columns.iter().all(|c| c[i].is_finite())).take(rows).collect();
    assert_eq!(complete.len(), rows);
    columns.iter().map(|c| complete.iter().map(|&i| c[i]).collect()).collect()
}

fn assert_close(ours: &[f64], pyod: &[f64], what: &str) {
    assert_eq!(ours.len(), pyod.len(), "{what}");
    for (i, (a, b)) in ours.iter().zip(pyod).enumerate() {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{what} row {i}: {a} != pyod's {b}");
    }
}

#[test]
fn ecod_scores_equal_pyods() {
    let doc = Json::parse(REFERENCE);
    let cases = doc.get("cases").arr();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let name = case.get("name").str();
        let reference = columns_of(case, "reference");
        let batch = columns_of(case, "batch");
        let refs: Vec<&[f64]> = reference.iter().map(Vec::as_slice).collect();
        let ecod = Ecod::fit(&refs).unwrap();
        assert_close(&ecod.reference_scores(), &case.get("reference_scores").f64s(), name);
        let batch: Vec<&[f64]> = batch.iter().map(Vec::as_slice).collect();
        assert_close(&ecod.scores(&batch).unwrap(), &case.get("batch_scores").f64s(), name);
    }
}
