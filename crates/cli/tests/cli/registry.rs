//! Datasets and models: versioned, pulled, compared and traced.

use super::*;

#[test]
fn datasets_and_models_are_versioned_pulled_compared_and_traced() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("registry-token"));
    let run = |args: &[&str]| server.riskops("registry-token", args);
    let (r, c) = write_pair(dir.path());
    let (r, c) = (r.to_str().unwrap(), c.to_str().unwrap());

    let v1 = json_stdout(&run(&["dataset", "push", "events", r, "--tag", "source=test", "--format", "json"]));
    assert_eq!((v1["version"].as_u64(), v1["tags"]["source"].as_str()), (Some(1), Some("test")));
    let again = json_stdout(&run(&["dataset", "push", "events", r, "--format", "json"]));
    assert_eq!(again["version"], 1);
    let v2 = json_stdout(&run(&["dataset", "push", "events", c, "--format", "json"]));
    assert_eq!(v2["version"], 2);

    let shown = json_stdout(&run(&["dataset", "show", "events@1", "--format", "json"]));
    assert_eq!(shown["schema"][0]["name"], "x");
    assert_eq!(shown["profile"]["columns"][0]["count"], 400);
    let text = String::from_utf8(run(&["dataset", "show", "events"]).stdout).unwrap();
    assert!(text.starts_with("events@2"), "{text}");

    let pulled = dir.path().join("pulled.csv");
    let out = run(&["dataset", "pull", "events@1", "-o", pulled.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&pulled).unwrap(), std::fs::read(r).unwrap());

    let diff = json_stdout(&run(&["dataset", "diff", "events@1", "events@2", "--format", "json"]));
    assert_eq!(diff["schema"]["added"], serde_json::json!([]));
    assert_eq!(diff["drift"]["dataset"]["n_drifted"], 2);

    let artifact = dir.path().join("model.bin");
    std::fs::write(&artifact, b"not really onnx").unwrap();
    let params = dir.path().join("params.json");
    std::fs::write(&params, r#"{"depth": 4}"#).unwrap();
    let refused =
        run(&["model", "register", "ranker", "--artifact", artifact.to_str().unwrap(), "--training-data", "events@5"]);
    let said = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{said}");
    assert!(said.contains("no dataset version events@5"), "{said}");
    let m = json_stdout(&run(&[
        "model",
        "register",
        "ranker",
        "--artifact",
        artifact.to_str().unwrap(),
        "--framework",
        "other",
        "--training-data",
        "events@1",
        "--validation-data",
        "events@2",
        "--code-repo",
        "https://git.example.com/r.git",
        "--code-commit",
        "abc1234",
        "--params",
        params.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!((m["version"].as_u64(), m["training_data"].as_str()), (Some(1), Some("events@1")));
    assert_eq!(m["params"]["depth"], 4);

    let lineage = json_stdout(&run(&["lineage", "ranker@1", "--format", "json"]));
    let relations: Vec<&str> =
        lineage["edges"].as_array().unwrap().iter().map(|e| e["relation"].as_str().unwrap()).collect();
    assert_eq!(relations, ["trained_on", "validated_on", "built_from"]);
    let dot = String::from_utf8(run(&["lineage", "ranker@1", "--format", "dot"]).stdout).unwrap();
    assert!(
        dot.starts_with("digraph lineage {") && dot.contains("\"dataset:events@1\" -> \"model:ranker@1\""),
        "{dot}"
    );
    let events = json_stdout(&run(&["lineage", "events@1", "--kind", "dataset", "--format", "openlineage"]));
    assert_eq!(events[0]["outputs"][0]["name"], "model/ranker@1");
}

/// A fixture of riskops-model's tests (made from real data by its committed script).
fn model_fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)
}

/// Rows of a CSV as maps from column to text.
fn csv_rows(text: &str) -> Vec<std::collections::HashMap<String, String>> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines.map(|l| header.iter().map(|h| h.to_string()).zip(l.split(',').map(str::to_string)).collect()).collect()
}

/// `predict`'s output agrees with onnxruntime's (`<fixture>_expected.csv`) to 1e-5.
fn assert_matches_onnxruntime(scored: &str, fixture: &str) {
    let got = csv_rows(scored);
    let want = csv_rows(&std::fs::read_to_string(model_fixture(&format!("{fixture}_expected.csv"))).unwrap());
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["id"], w["id"], "ids are carried through in order");
        assert_eq!(g["prediction"].parse::<f64>().unwrap(), w["label"].parse::<f64>().unwrap(), "{g:?}");
        for class in ["0", "1"] {
            let key = format!("proba_{class}");
            let (a, b): (f64, f64) = (g[&key].parse().unwrap(), w[&key].parse().unwrap());
            assert!((a - b).abs() <= 1e-5, "{fixture} {key}: {a} vs {b}");
        }
    }
}

#[test]
fn onnx_models_are_registered_with_their_signature_and_score_files_and_datasets() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("predict-token"));
    let run = |args: &[&str]| server.riskops("predict-token", args);
    let fixture = |name: &str| model_fixture(name).to_str().unwrap().to_string();

    // An unsupported operator is refused, named.
    let refused = run(&[
        "model",
        "register",
        "svc",
        "--artifact",
        &fixture("credit_svc_unsupported.onnx"),
        "--framework",
        "onnx",
    ]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("SVMClassifier (domain ai.onnx.ml)"));

    let registered =
        run(&["model", "register", "adult", "--artifact", &fixture("adult_logreg.onnx"), "--framework", "onnx"]);
    assert!(registered.status.success(), "{}", String::from_utf8_lossy(&registered.stderr));
    let shown = String::from_utf8(run(&["model", "show", "adult@1"]).stdout).unwrap();
    assert!(shown.contains("signature (classification):"), "{shown}");
    assert!(shown.contains("  input  age float [?, 1]") && shown.contains("  input  sex string [?, 1]"), "{shown}");
    assert!(shown.contains("  output output_probability (probabilities: 0, 1)"), "{shown}");
    assert!(shown.contains("  columns: one per input, by name"), "{shown}");

    // One input per column, by name; scores on standard output.
    let input = fixture("adult_logreg_input.csv");
    let out = run(&["predict", "adult@1", "--data", &input, "--label", "income"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let scored = String::from_utf8(out.stdout).unwrap();
    assert!(scored.starts_with("id,prediction,proba_0,proba_1\n"), "{}", &scored[..80]);
    assert_matches_onnxruntime(&scored, "adult_logreg");

    // Renamed columns are mapped back; a missing one is named.
    let renamed = dir.path().join("renamed.csv");
    std::fs::write(&renamed, std::fs::read_to_string(&input).unwrap().replacen(",sex,", ",gender,", 1)).unwrap();
    let renamed = renamed.to_str().unwrap();
    let missing = run(&["predict", "adult@1", "--data", renamed]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no column \"sex\""),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    let map = dir.path().join("map.json");
    std::fs::write(&map, r#"{"sex": "gender"}"#).unwrap();
    let out = run(&["predict", "adult@1", "--data", renamed, "--input-map", map.to_str().unwrap()]);
    assert_matches_onnxruntime(&String::from_utf8(out.stdout).unwrap(), "adult_logreg");

    // A single 2-D input takes the features in file order (label and id left out), from a
    // dataset version fetched through the API; CSV or Parquet by the output's extension.
    run(&["model", "register", "gbc", "--artifact", &fixture("credit_gbc.onnx"), "--framework", "onnx"]);
    let shown = json_stdout(&run(&["model", "show", "gbc@1", "--format", "json"]));
    let first_input = &shown["signature"]["inputs"][0];
    assert_eq!(*first_input, serde_json::json!({"name": "input", "type": "float", "shape": [null, 23]}));
    assert_eq!(shown["signature"]["columns"], "features_in_order");
    let pushed = run(&["dataset", "push", "credit", &fixture("credit_gbc_input.csv")]);
    assert!(pushed.status.success(), "{}", String::from_utf8_lossy(&pushed.stderr));
    let csv_out = dir.path().join("scores.csv");
    let out = run(&["predict", "gbc@1", "--data", "credit@1", "--label", "default", "-o", csv_out.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_matches_onnxruntime(&std::fs::read_to_string(&csv_out).unwrap(), "credit_gbc");
    let parquet_out = dir.path().join("scores.parquet");
    let out =
        run(&["predict", "gbc@1", "--data", "credit@1", "--label", "default", "-o", parquet_out.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(&std::fs::read(&parquet_out).unwrap()[..4], b"PAR1");
    // riskops validate: the server scores the dataset version and files produced evidence.
    let out = run(&["validate", "gbc@1", "--data", "credit@1", "--label", "default", "--protected", "SEX"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("validation of gbc@1 on credit@1: "), "{text}");
    assert!(text.contains("  roc_auc    0.77") && text.contains("validation.min_roc_auc"), "{text}");
    assert!(text.contains("fairness SEX: demographic parity ratio"), "{text}");
    let report = json_stdout(&run(&[
        "validate",
        "gbc@1",
        "--data",
        "credit@1",
        "--label",
        "default",
        "--segments",
        "AGE,LIMIT_BAL",
        "--format",
        "json",
    ]));
    assert_eq!((report["kind"].as_str(), report["produced_by"].as_str()), (Some("validation"), Some("riskops")));
    assert!(report["segments"].as_array().unwrap().iter().all(|s| {
        let name = s["segment"].as_str().unwrap();
        name.starts_with("AGE") || name.starts_with("LIMIT_BAL")
    }));
    let listed = json_stdout(&run(&["evidence", "list", "gbc@1", "--format", "json"]));
    let produced = listed["evidence"].as_array().unwrap().iter().filter(|e| e["produced_by"] == "riskops").count();
    assert_eq!(produced, 3, "{listed}");
    // --format html: the filed evidence as one self-contained page, as the model report shows it.
    let page = run(&["validate", "gbc@1", "--data", "credit@1", "--label", "default", "--format", "html"]);
    assert!(page.status.success(), "{}", String::from_utf8_lossy(&page.stderr));
    let page = String::from_utf8(page.stdout).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.contains("validation of gbc@1"), "{}", &page[..200]);
    assert!(page.contains("<svg") && page.contains("roc_auc") && !page.contains("<script"), "{page}");
    let page = run(&["stress", "gbc@1", "--data", "credit@1", "--label", "default", "--format", "html"]);
    assert!(page.status.success(), "{}", String::from_utf8_lossy(&page.stderr));
    let page = String::from_utf8(page.stdout).unwrap();
    assert!(page.contains("stress test of gbc@1") && page.contains("edge_cases"), "{page}");
    let bad = run(&["validate", "gbc@1", "--data", "credit@1", "--label", "nope"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no column \"nope\""));
    // riskops stress: produced stress_test evidence, reproduced from its seed.
    let stress = |seed: &str| {
        json_stdout(&run(&[
            "stress",
            "gbc@1",
            "--data",
            "credit@1",
            "--label",
            "default",
            "--monotone",
            "PAY_0:+",
            "--seed",
            seed,
            "--format",
            "json",
        ]))
    };
    let report = stress("5");
    assert_eq!((report["kind"].as_str(), report["produced_by"].as_str()), (Some("stress_test"), Some("riskops")));
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["edge_cases", "noise_robustness", "shift_degradation", "monotonicity"]);
    assert_eq!(stress("5")["checks"], report["checks"]);
    // Explained: the report in JSON, the rows' values as Parquet beside it.
    let rows_out = dir.path().join("shap.parquet");
    let explained = json_stdout(&run(&[
        "explain",
        "gbc@1",
        "--data",
        "credit@1",
        "--label",
        "default",
        "--rows",
        "40",
        "--repeats",
        "2",
        "--rows-out",
        rows_out.to_str().unwrap(),
        "--format",
        "json",
    ]));
    assert_eq!(
        (explained["method"].as_str(), explained["passed"].as_bool()),
        (Some("tree_shap_interventional"), Some(true))
    );
    assert_eq!(explained["dependence"].as_array().unwrap().len(), 5);
    assert!(std::fs::read(&rows_out).unwrap().starts_with(b"PAR1"));
    let text = String::from_utf8(
        run(&["explain", "gbc@1", "--data", "credit@1", "--label", "default", "--rows", "40", "--repeats", "2"]).stdout,
    )
    .unwrap();
    assert!(text.contains("additivity: holds on every row") && text.contains("dependence of PAY_0"), "{text}");
    let out = run(&["stress", "gbc@1", "--data", "credit@1", "--monotone", "PAY_0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("COL:+"));
    // Unseen data needs outcomes; text output.
    let out = run(&["stress", "gbc@1", "--data", "credit@1", "--label", "default", "--unseen", "credit@1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["stress", "adult@1", "--data", "credit@1", "--unseen", "credit@1"]);
    assert_eq!(out.status.code(), Some(2));
    run(&["dataset", "push", "adult", &input]);
    let out = run(&["stress", "adult@1", "--data", "adult@1", "--label", "income"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("stress test of adult@1 on adult@1 (seed 0): ") && text.contains("noise_robustness"),
        "{text}"
    );
    // Without --label the label counts as a feature: 24 columns for 23 inputs, explained.
    let wrong = run(&["predict", "gbc@1", "--data", "credit@1"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("takes 23 features, the data gives 24"));
    // A text column where the model takes numbers is a type mismatch, named.
    let text = dir.path().join("text.csv");
    std::fs::write(&text, std::fs::read_to_string(&input).unwrap().replacen(",1848.0,40.0,", ",1848.0,forty,", 1))
        .unwrap();
    let mismatch = run(&["predict", "adult@1", "--data", text.to_str().unwrap(), "--label", "income"]);
    assert_eq!(mismatch.status.code(), Some(2));
    let err = String::from_utf8_lossy(&mismatch.stderr);
    assert!(err.contains("column hours_per_week is text, but input hours_per_week takes float"), "{err}");
}

#[test]
fn a_model_served_over_http_is_registered_shown_and_scored_through_its_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("endpoint-token"));
    let run = |args: &[&str]| server.riskops("endpoint-token", args);

    // --protocol goes with --endpoint; an endpoint nobody answers at registers nothing.
    let usage = run(&["model", "register", "served", "--endpoint", "http://127.0.0.1:9/v2/models/m"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("--protocol"));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v2/models/m", closed.local_addr().unwrap());
    drop(closed);
    let refused = run(&["model", "register", "served", "--endpoint", &url, "--protocol", "v2"]);
    assert_eq!(refused.status.code(), Some(2));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains(&url) && said.contains("no HTTP answer"), "{said}");
    assert!(!run(&["model", "show", "served"]).status.success(), "nothing was stored");

    let (Ok(mlserver), Ok(models)) =
        (std::env::var("RISKOPS_TEST_MLSERVER_URL"), std::env::var("RISKOPS_TEST_MLSERVER_DIR"))
    else {
        eprintln!("skipped the MLServer part: RISKOPS_TEST_MLSERVER_URL unset (.ci/run starts one)");
        return;
    };
    let data = std::path::Path::new(&models).join("german.csv");
    let url = format!("{mlserver}/v2/models/credit-lr");
    let out = run(&["model", "register", "served", "--endpoint", &url, "--protocol", "v2", "--classes", "0,1"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let shown = String::from_utf8(run(&["model", "show", "served"]).stdout).unwrap();
    assert!(shown.contains(&format!("endpoint {url} (protocol v2")), "{shown}");
    let scored = run(&["predict", "served", "--data", data.to_str().unwrap(), "--label", "CLASSIFICATION"]);
    assert!(scored.status.success(), "{}", String::from_utf8_lossy(&scored.stderr));
    let text = String::from_utf8(scored.stdout).unwrap();
    assert!(text.starts_with("prediction,proba_0,proba_1\n"), "{text}");
    assert_eq!(text.lines().count(), 1001);

    // Explained through its endpoint by sampled orderings. It is a logistic regression, so
    // the orderings agree (no sampling error) and the values are those of the same model's
    // ONNX file explained in process, on the same seeded rows and background.
    run(&["dataset", "push", "german", data.to_str().unwrap()]);
    let onnx = std::path::Path::new(&models).join("credit_lr.onnx");
    let out = run(&["model", "register", "local", "--artifact", onnx.to_str().unwrap(), "--framework", "onnx"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let explain = |model: &str| {
        json_stdout(&run(&[
            "explain",
            model,
            "--data",
            "german@1",
            "--label",
            "CLASSIFICATION",
            "--rows",
            "6",
            "--background-rows",
            "25",
            "--permutations",
            "3",
            "--method",
            "permutation",
            "--format",
            "json",
        ]))
    };
    let (served, local) = (explain("served@1"), explain("local@1"));
    assert_eq!((served["method"].as_str(), served["passed"].as_bool()), (Some("permutation_shap"), Some(true)));
    assert!(served["sampling_error"].as_f64().unwrap() < 1e-6, "{}", served["sampling_error"]);
    let values = |r: &serde_json::Value| -> Vec<f64> {
        let rows = r["rows"].as_array().unwrap();
        rows.iter()
            .flat_map(|row| row["contributions"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()))
            .collect()
    };
    let worst = values(&served).iter().zip(values(&local)).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-3, "endpoint and ONNX explanations differ by {worst}");
    assert_eq!(values(&served).len(), 6 * 7);
}
