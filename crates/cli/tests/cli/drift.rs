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
