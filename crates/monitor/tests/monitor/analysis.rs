//! `riskops_monitor::analysis` (the back-test behind `riskops monitor analyze`) against
//! NannyML 0.13.1's fixture and against `detect_drift` on files of each chunk's rows.

use super::*;

/// `analysis::analyze` on the NannyML fixture (riskops-stats' `tests/data/nannyml`: credit
/// default, a relational shift in chunks 5–6, a population shift and no labels in 7–9):
/// estimates and reconstruction errors equal NannyML 0.13.1's to 1e-6, realized values
/// only where labels exist, and each chunk's drift equals `detect_drift` on a CSV file of
/// just that chunk's rows (what `riskops drift` reads).
#[test]
fn analyze_equals_nannyml_and_drift_on_the_same_rows() {
    use riskops_monitor::analysis::{AnalysisOptions, analyze};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stats/tests/data");
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("nannyml_reference.json")).unwrap()).unwrap();
    let read = |name: &str| read_csv(&dir.join("nannyml").join(name), &CsvOptions::default(), &|_| {}).unwrap();
    let (reference, analysis) = (read("reference.csv"), read("analysis.csv"));
    let features: Vec<String> =
        expected["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap().to_owned()).collect();
    let options = AnalysisOptions {
        chunk_size: expected["chunk_size"].as_u64().unwrap() as usize,
        score_column: "score".into(),
        prediction_column: "prediction".into(),
        label_column: "label".into(),
        features: Some(features.clone()),
        drift: DriftOptions::default(),
    };
    let report = analyze(&reference, &analysis, &options).unwrap();
    assert_eq!(report.reference.calibrated, Some(true));
    let json = serde_json::to_value(&report).unwrap();
    let chunks = json["chunks"].as_array().unwrap();
    let cbpe = expected["cbpe"][0]["analysis"].as_array().unwrap();
    let drc = expected["drc"]["analysis"].as_array().unwrap();
    assert_eq!(chunks.len(), cbpe.len());
    let close = |got: &serde_json::Value, want: &serde_json::Value, what: String| match want.as_f64() {
        None => assert!(got.is_null(), "{what}: got {got}, NannyML null"),
        Some(w) => {
            let g = got.as_f64().unwrap_or_else(|| panic!("{what}: got {got}, NannyML {w}"));
            assert!((g - w).abs() <= 1e-6 * w.abs().max(1.0), "{what}: got {g}, NannyML {w}");
        }
    };
    let lines: Vec<&str> = include_str!("../../../stats/tests/data/nannyml/analysis.csv").lines().collect();
    let ref_features = {
        let mut t = reference.clone();
        t.columns.retain(|c| features.contains(&c.name));
        t
    };
    let tmp = std::env::temp_dir().join(format!("riskops-analyze-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    for (k, chunk) in chunks.iter().enumerate() {
        let (want, want_drc) = (&cbpe[k], &drc[k]);
        assert_eq!(chunk["start"], want["start"]);
        assert_eq!(chunk["end"], want["end"]);
        for m in ["roc_auc", "f1", "precision", "recall", "accuracy", "true_positive", "false_negative"] {
            let (got, w) = (&chunk["estimated"][m], &want[m]);
            for (field, wfield) in [
                ("value", "value"),
                ("lower", "lower"),
                ("upper", "upper"),
                ("lower_threshold", "lower_threshold"),
                ("upper_threshold", "upper_threshold"),
            ] {
                close(&got[field], &w[wfield], format!("chunk {k} {m} {field}"));
            }
            assert_eq!(got["alert"], w["alert"], "chunk {k} {m} alert");
            if w["realized"].is_null() {
                assert!(chunk["realized"].is_null() || chunk["realized"][m].is_null(), "chunk {k} realized {m}");
            } else {
                close(&chunk["realized"][m], &w["realized"], format!("chunk {k} realized {m}"));
            }
        }
        let got = &chunk["multivariate"]["reconstruction_error"];
        for field in ["value", "lower", "upper", "lower_threshold", "upper_threshold"] {
            close(&got[field], &want_drc[field], format!("chunk {k} reconstruction {field}"));
        }
        assert_eq!(got["alert"], want_drc["alert"], "chunk {k} reconstruction alert");
        // Drift: the chunk's rows as a file of their own, read and compared as `riskops drift` does.
        let (start, end) = (want["start"].as_u64().unwrap() as usize, want["end"].as_u64().unwrap() as usize);
        let file = tmp.join(format!("chunk{k}.csv"));
        std::fs::write(&file, [&[lines[0]][..], &lines[start + 1..end + 2]].concat().join("\n")).unwrap();
        let mut current = read_csv(&file, &CsvOptions::default(), &|_| {}).unwrap();
        current.columns.retain(|c| features.contains(&c.name));
        let direct = detect_drift(ref_features.clone(), current, &DriftOptions::default(), &|_, _| {}).unwrap();
        let ours = chunk["drift"]["features"].as_array().unwrap();
        assert_eq!(ours.len(), direct.columns.len());
        for (o, d) in ours.iter().zip(&direct.columns) {
            assert_eq!(o["name"], d.name.as_str());
            assert_eq!(o["method"], d.method.name());
            assert_eq!(o["statistic"].as_f64(), Some(d.statistic), "chunk {k} {}", d.name);
            assert_eq!(o["drifted"], d.drifted);
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
    // Chunks 7–9 have no labels: nothing realized, everything estimated.
    assert!(chunks[7..].iter().all(|c| c["realized"].is_null() && c["estimated"]["roc_auc"]["value"].is_number()));
    // The relational shift alerts multivariate drift in chunks 5 and 6.
    assert_eq!(chunks[5]["multivariate"]["reconstruction_error"]["alert"], true);
}

/// A text feature with no value at all in the analysis file reads as numbers (as pandas
/// types an empty column): multivariate drift imputes it like any missing value, and
/// univariate drift lists it as skipped instead of failing the back-test.
#[test]
fn analyze_imputes_a_text_feature_that_is_empty_in_the_analysis() {
    use riskops_monitor::analysis::{AnalysisOptions, analyze};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stats/tests/data/nannyml");
    let read = |name: &str| read_csv(&dir.join(name), &CsvOptions::default(), &|_| {}).unwrap();
    let (reference, mut analysis) = (read("reference.csv"), read("analysis.csv"));
    let rows = analysis.rows;
    let education = analysis.columns.iter_mut().find(|c| c.name == "EDUCATION").unwrap();
    education.values = Values::Float(vec![f64::NAN; rows]);
    let options = AnalysisOptions {
        chunk_size: 1000,
        score_column: "score".into(),
        prediction_column: "prediction".into(),
        label_column: "label".into(),
        features: Some(vec!["LIMIT_BAL".into(), "AGE".into(), "EDUCATION".into(), "MARRIAGE".into()]),
        drift: DriftOptions::default(),
    };
    let report = analyze(&reference, &analysis, &options).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.chunks.iter().all(|c| c.multivariate.unwrap().reconstruction_error.value.is_finite()));
    // Nothing to compare it on in univariate drift: skipped, said, the others compared.
    assert!(report.chunks.iter().all(|c| c.drift.skipped == ["EDUCATION"] && c.drift.features.len() == 3));
}
