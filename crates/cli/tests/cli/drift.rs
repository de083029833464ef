//! `riskops drift`: local drift reports in JSON and HTML, overrides, and bad input named.

use super::*;

fn drift(args: &[&str]) -> Output {
    Command::new(BIN).arg("drift").args(args).output().unwrap()
}

#[test]
fn drift_reports_json_in_the_documented_shape_and_fails_on_drift() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = write_pair(dir.path());
    let (r, c) = (r.to_str().unwrap(), c.to_str().unwrap());
    let out = drift(&[r, c, "--format", "json"]);
    let report = json_stdout(&out);
    let dataset = &report["dataset"];
    assert_eq!((dataset["n_reference"].as_u64(), dataset["n_current"].as_u64()), (Some(400), Some(400)));
    assert_eq!(dataset["n_columns"], 3);
    assert_eq!(dataset["drift_share_threshold"], 0.5);
    let by_name = |n: &str| report["columns"].as_array().unwrap().iter().find(|c| c["name"] == n).unwrap().clone();
    let x = by_name("x");
    assert_eq!(
        (x["type"].as_str(), x["method"].as_str(), x["drifted"].as_bool()),
        (Some("numerical"), Some("ks"), Some(true))
    );
    assert!(x["p_value"].as_f64().unwrap() < 1e-10 && x["statistic"].as_f64().unwrap() > 0.2);
    let group = by_name("group");
    assert_eq!((group["type"].as_str(), group["method"].as_str()), (Some("categorical"), Some("chisquare")));
    // "c" never occurs in the reference: Evidently's chi-square is infinite, written as null.
    assert!(group["statistic"].is_null() && group["p_value"] == 0.0 && group["drifted"] == true);
    let same = by_name("same");
    assert_eq!((same["method"].as_str(), same["drifted"].as_bool()), (Some("chisquare"), Some(false)));
    assert_eq!(dataset["n_drifted"], 2);
    assert_eq!(dataset["drifted"], true);

    assert_eq!(drift(&[r, c, "--fail-on-drift"]).status.code(), Some(1));
    assert_eq!(drift(&[r, r, "--fail-on-drift"]).status.code(), Some(0));
    let text = String::from_utf8(drift(&[r, c]).stdout).unwrap();
    assert!(text.starts_with("DATASET DRIFT: 2 of 3 columns drifted"), "{text}");
    // Drifted columns come first.
    let order: Vec<&str> = text.lines().skip(4).map(|l| l.split_whitespace().next().unwrap()).collect();
    assert_eq!(order, ["x", "group", "same"]);
}

#[test]
fn drift_overrides_methods_thresholds_and_types() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = write_pair(dir.path());
    let (r, c) = (r.to_str().unwrap(), c.to_str().unwrap());
    let report = json_stdout(&drift(&[
        r,
        c,
        "--method",
        "psi",
        "--method",
        "x=wasserstein",
        "--threshold",
        "0.9",
        "--format",
        "json",
    ]));
    let methods: Vec<&str> =
        report["columns"].as_array().unwrap().iter().map(|c| c["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["wasserstein", "psi", "psi"]);
    assert!(report["columns"].as_array().unwrap().iter().all(|c| c["threshold"] == 0.9));
    let report = json_stdout(&drift(&[r, c, "--numerical", "same", "--columns", "same", "--format", "json"]));
    assert_eq!(report["columns"][0]["type"], "numerical");
    assert_eq!(report["dataset"]["n_columns"], 1);
}

#[test]
fn drift_html_is_self_contained_with_one_chart_per_column() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = write_pair(dir.path());
    let html_path = dir.path().join("report.html");
    let out = drift(&[r.to_str().unwrap(), c.to_str().unwrap(), "--format", "html", "-o", html_path.to_str().unwrap()]);
    assert!(out.status.success() && out.stdout.is_empty());
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert_eq!(html.matches("<svg class=\"chart").count(), 3);
    for name in ["x", "group", "same"] {
        assert!(html.contains(&format!("data-column=\"{name}\"")), "{name}");
    }
    // Nothing is fetched: no scripts, links or remote URLs (the SVG namespace is not a fetch).
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://") && !html.contains("<script"));
    assert!(!html.contains("<link"));
}

#[test]
fn drift_bad_input_names_the_file_or_column() {
    let dir = tempfile::tempdir().unwrap();
    let (r, c) = write_pair(dir.path());
    let (r, c) = (r.to_str().unwrap(), c.to_str().unwrap());
    let expect_error = |args: &[&str], needle: &str| {
        let out = drift(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    expect_error(&["/no/such/file.csv", c], "/no/such/file.csv");
    let other = dir.path().join("other.csv");
    std::fs::write(&other, "x,group,extra\n1,a,2\n").unwrap();
    expect_error(&[r, other.to_str().unwrap()], "\"same\"");
    let empty_col = dir.path().join("empty.csv");
    std::fs::write(&empty_col, "x,group,same\n,a,1\n,b,2\n").unwrap();
    expect_error(&[r, empty_col.to_str().unwrap()], "\"x\" has no values");
    expect_error(&[r, c, "--method", "t-test"], "unknown method \"t-test\"");
    expect_error(&[r, c, "--method", "group=ks"], "does not fit column \"group\"");
    expect_error(&[r, c, "--columns", "nope"], "\"nope\"");
    expect_error(&[r, c, "--drift-share", "2"], "drift share");
    let ragged = dir.path().join("ragged.csv");
    std::fs::write(&ragged, "x,group,same\n1,a\n").unwrap();
    expect_error(&[r, ragged.to_str().unwrap()], "ragged.csv: line 2");
}

/// `riskops ood` scores a file's records as pyod's ECOD does: the synthetic case of
/// riskops-stats's committed pyod reference (tests/data/ecod_reference.json), written as CSV,
/// gives pyod's `decision_function` scores, the 99th percentile of its `decision_scores_` as
/// the threshold, and the records above it as out of distribution.
#[test]
fn ood_scores_records_as_pyod_does() {
    let doc: Value = serde_json::from_str(include_str!("../../../stats/tests/data/ecod_reference.json")).unwrap();
    let case = doc["cases"].as_array().unwrap().iter().find(|c| c["name"] == "synthetic").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, columns: &Value| {
        let columns = columns.as_array().unwrap();
        let rows = columns[0].as_array().unwrap().len();
        let mut text = (0..columns.len()).map(|j| format!("f{j}")).collect::<Vec<_>>().join(",") + "\n";
        for i in 0..rows {
            let row: Vec<String> = columns.iter().map(|c| format!("{:?}", c[i].as_f64().unwrap())).collect();
            text.push_str(&(row.join(",") + "\n"));
        }
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let (reference, records) = (write("ref.csv", &case["reference"]), write("cur.csv", &case["batch"]));
    let out = Command::new(BIN)
        .args(["ood", "--reference", reference.to_str().unwrap(), records.to_str().unwrap(), "--format", "json"])
        .output()
        .unwrap();
    let answer = json_stdout(&out);
    let pyod: Vec<f64> = case["batch_scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let ours: Vec<f64> = answer["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(ours.len(), pyod.len());
    for (a, b) in ours.iter().zip(&pyod) {
        assert!((a - b).abs() <= 1e-9 * b.abs().max(1.0), "{a} != pyod's {b}");
    }
    let mut reference_scores: Vec<f64> =
        case["reference_scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    reference_scores.sort_by(f64::total_cmp);
    let position = 0.99 * (reference_scores.len() - 1) as f64;
    let (low, frac) = (position.floor() as usize, position.fract());
    let threshold = reference_scores[low] + frac * (reference_scores[low + 1] - reference_scores[low]);
    assert!((answer["threshold"].as_f64().unwrap() - threshold).abs() < 1e-9, "{answer}");
    let outside = pyod.iter().filter(|&&s| s > threshold).count();
    assert_eq!(answer["ood"], outside);
    assert!(outside >= 3, "the batch's planted outliers are found: {outside}");

    // Bad input: no shared numeric feature.
    let text_only = dir.path().join("text.csv");
    std::fs::write(&text_only, "name\na\nb\n").unwrap();
    let out = Command::new(BIN)
        .args(["ood", "--reference", reference.to_str().unwrap(), text_only.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no numeric feature"), "{out:?}");
}
