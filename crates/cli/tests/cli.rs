//! The `riskops` binary as a user runs it: help, serve (bootstrap, restart, SIGTERM) and
//! the client commands against it. One test binary for the crate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_riskops");

/// `riskops serve` in a child process, with its stderr lines collected.
struct Server {
    child: Child,
    url: String,
    stderr: Vec<String>,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(data_dir: &Path, bootstrap_token: Option<&str>) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("RISKOPS_BOOTSTRAP_TOKEN")
            .env_remove("RISKOPS_DATABASE_URL")
            .env_remove("RISKOPS_CONFIG")
            .current_dir(data_dir) // so no ./riskops.toml of the developer's is read
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(t) = bootstrap_token {
            cmd.env("RISKOPS_BOOTSTRAP_TOKEN", t);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server { child, url: String::new(), stderr: Vec::new(), lines };
        loop {
            let line = server
                .lines
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("server did not start; stderr so far:\n{}", server.stderr.join("\n")));
            server.stderr.push(line.clone());
            if let Some(rest) = line.strip_prefix("riskops listening on ") {
                server.url = rest.split_whitespace().next().unwrap().to_string();
                return server;
            }
        }
    }

    /// The token printed at bootstrap, if any.
    fn printed_token(&self) -> Option<String> {
        self.stderr.iter().map(|l| l.trim()).find(|l| l.starts_with("rsk_")).map(str::to_string)
    }

    fn riskops(&self, token: &str, args: &[&str]) -> Output {
        Command::new(BIN).args(args).env("RISKOPS_URL", &self.url).env("RISKOPS_TOKEN", token).output().unwrap()
    }

    /// Sends SIGTERM and returns the exit status and the rest of stderr.
    fn terminate(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stderr.push(line);
        }
        (status, std::mem::take(&mut self.stderr))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn json_stdout(output: &Output) -> Value {
    assert!(output.status.success(), "stderr: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

#[test]
fn help_lists_the_commands_and_version_prints() {
    let help = Command::new(BIN).arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    for command in ["serve", "whoami", "project"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(command)), "{command} missing from:\n{text}");
    }
    let version = Command::new(BIN).arg("--version").output().unwrap();
    assert_eq!(String::from_utf8(version.stdout).unwrap().trim(), format!("riskops {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn help_never_shows_secret_environment_values() {
    let help = Command::new(BIN)
        .args(["serve", "--help"])
        .env("RISKOPS_DATABASE_URL", "postgres://u:hunter2@h/db")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("hunter2"));
    let help = Command::new(BIN).args(["whoami", "--help"]).env("RISKOPS_TOKEN", "tok-hunter2").output().unwrap();
    assert!(!String::from_utf8_lossy(&help.stdout).contains("hunter2"));
}

#[test]
fn first_start_prints_a_token_once_and_a_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), None);
    let token = server.printed_token().expect("a generated token on stderr");
    let me = json_stdout(&server.riskops(&token, &["whoami", "--format", "json"]));
    assert_eq!(me["name"], "admin");
    assert_eq!(me["roles"], serde_json::json!(["admin"]));
    let made = json_stdout(
        &server.riskops(&token, &["project", "create", "fraud", "--description", "card fraud", "--format", "json"]),
    );
    assert_eq!(made["name"], "fraud");

    let (status, stderr) = server.terminate();
    assert!(status.success(), "{status:?}\n{}", stderr.join("\n"));
    assert!(stderr.iter().any(|l| l.contains("shutting down")), "{}", stderr.join("\n"));

    let again = Server::start(dir.path(), Some("ignored-on-restart"));
    assert_eq!(again.printed_token(), None, "{}", again.stderr.join("\n"));
    let list = json_stdout(&again.riskops(&token, &["project", "list", "--format", "json"]));
    let names: Vec<&str> = list["projects"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["default", "fraud"]);
    let refused = again.riskops("ignored-on-restart", &["whoami"]);
    assert_eq!(refused.status.code(), Some(2));
}

#[test]
fn client_commands_print_text_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), Some("cli-test-token"));
    let whoami = server.riskops("cli-test-token", &["whoami"]);
    assert!(whoami.status.success());
    assert_eq!(String::from_utf8(whoami.stdout).unwrap(), "admin (user)\nroles: admin\n");

    let created = server.riskops("cli-test-token", &["project", "create", "claims"]);
    assert!(created.status.success());
    let dup = server.riskops("cli-test-token", &["project", "create", "claims"]);
    assert_eq!(dup.status.code(), Some(2));
    let err = String::from_utf8(dup.stderr).unwrap();
    assert!(err.contains("already exists") && err.contains("409"), "{err}");

    let bad = server.riskops("cli-test-token", &["project", "create", "no spaces"]);
    assert!(String::from_utf8(bad.stderr).unwrap().contains("name:"));

    let shown = server.riskops("cli-test-token", &["project", "show", "claims"]);
    assert!(String::from_utf8(shown.stdout).unwrap().starts_with("name:         claims\n"));

    let wrong = server.riskops("nope", &["whoami", "--format", "json"]);
    assert_eq!(wrong.status.code(), Some(2));
    assert!(wrong.stdout.is_empty());
    assert!(String::from_utf8(wrong.stderr).unwrap().contains("401"));
}

#[test]
fn an_unreachable_server_is_named_in_the_error() {
    let out = Command::new(BIN)
        .args(["whoami", "--server", "http://127.0.0.1:9"])
        .env("RISKOPS_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cannot reach the riskops server at http://127.0.0.1:9"), "{err}");
}

#[test]
fn serve_refuses_bad_configuration_with_a_message() {
    let out = Command::new(BIN)
        .args(["serve", "--database-url", "mysql://nope", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("postgres://"));
    let out = Command::new(BIN).args(["serve", "--listen", "not-an-address"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A small drifting pair: `x` shifts, `group` changes mix, `same` does not move.
fn write_pair(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (r, c) = (dir.join("ref.csv"), dir.join("cur.csv"));
    let mut ref_text = String::from("x,group,same\n");
    let mut cur_text = String::from("x,group,same\n");
    for i in 0..400 {
        ref_text.push_str(&format!("{},{},{}\n", (i % 97) as f64 / 10.0, ["a", "b"][i % 2], i % 3));
        cur_text.push_str(&format!("{},{},{}\n", (i % 97) as f64 / 10.0 + 3.0, ["a", "b", "b", "c"][i % 4], i % 3));
    }
    std::fs::write(&r, ref_text).unwrap();
    std::fs::write(&c, cur_text).unwrap();
    (r, c)
}

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
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no dataset version events@5"));
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
fn the_audit_trail_verifies_and_any_tampering_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("audit-token"));
    let run = |args: &[&str]| server.riskops("audit-token", args);
    for p in ["alpha", "beta", "gamma"] {
        assert!(run(&["project", "create", p]).status.success());
    }
    let ok = json_stdout(&run(&["audit", "verify", "--format", "json"]));
    assert_eq!((ok["ok"].as_bool(), ok["events"].as_u64(), ok["first_bad_seq"].is_null()), (Some(true), Some(5), true));
    let log = json_stdout(&run(&["audit", "log", "--target", "project:", "--format", "json"]));
    assert_eq!(log["events"].as_array().unwrap().len(), 4, "{log}");
    assert_eq!(log["events"][1]["actor"], "admin");

    let export = dir.path().join("trail.jsonl");
    assert!(run(&["audit", "export", "-o", export.to_str().unwrap()]).status.success());
    let verify_file = |path: &Path| {
        Command::new(BIN).args(["audit", "verify", "--format", "json", "--file"]).arg(path).output().unwrap()
    };
    assert_eq!(verify_file(&export).status.code(), Some(0));
    let tampered = dir.path().join("tampered.jsonl");
    std::fs::write(&tampered, std::fs::read_to_string(&export).unwrap().replace("\"beta\"", "\"BETA\"")).unwrap();
    let out = verify_file(&tampered);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json_stdout_allowing_failure(&out)["first_bad_seq"], 4);
    // Texts the hash alone would take for event 4: a key twice (the last one as sealed), the
    // time spelled `+00:00`, added white space. And an empty file proves nothing.
    let text = std::fs::read_to_string(&export).unwrap();
    let line4 = text.lines().find(|l| l.starts_with("{\"seq\":4,")).unwrap().to_string();
    let time4 = serde_json::from_str::<Value>(&line4).unwrap()["time"].as_str().unwrap().to_string();
    assert!(time4.ends_with('Z'), "{time4}");
    let respelled = [
        ("duplicate key", line4.replacen("\"actor\":", "\"actor\":\"mallory\",\"actor\":", 1)),
        ("canonical form", line4.replace(&time4, &time4.replace('Z', "+00:00"))),
        ("white space", line4.replacen(",", ", ", 1)),
    ];
    for (reason, line) in respelled {
        assert_ne!(line, line4, "{reason}");
        std::fs::write(&tampered, text.replace(&line4, &line)).unwrap();
        let out = verify_file(&tampered);
        assert_eq!(out.status.code(), Some(1), "{reason}");
        let report = json_stdout_allowing_failure(&out);
        assert_eq!(report["first_bad_seq"], 4, "{reason}: {report}");
        assert!(report["reason"].as_str().unwrap().contains(reason), "{reason}: {report}");
    }
    std::fs::write(&tampered, "").unwrap();
    let out = verify_file(&tampered);
    assert_eq!(out.status.code(), Some(1), "an empty file is not an intact trail");
    assert_eq!(json_stdout_allowing_failure(&out)["reason"], "the trail holds no events");

    let (status, _) = server.terminate();
    assert!(status.success());
    // On copies of the data directory, with the append-only triggers removed as a forger would.
    let verify_dir = |d: &Path| {
        Command::new(BIN).args(["audit", "verify", "--format", "json", "--data-dir"]).arg(d).output().unwrap()
    };
    assert_eq!(verify_dir(&data).status.code(), Some(0));
    for (case, sql, bad) in [
        ("edit", "UPDATE audit_events SET actor = 'mallory' WHERE seq = 3", 3),
        ("delete", "DELETE FROM audit_events WHERE seq = 2", 2),
        // Respellings the hash alone would take for the event sealed.
        ("time", "UPDATE audit_events SET time = replace(time, 'Z', '+00:00') WHERE seq = 3", 3),
        ("space", "UPDATE audit_events SET after_json = ' ' || after_json WHERE seq = 3", 3),
        (
            "duplicate",
            "UPDATE audit_events SET after_json = '{\"name\":\"mallory\",' || substr(after_json, 2) WHERE seq = 3",
            3,
        ),
    ] {
        let copy = dir.path().join(case);
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(data.join("riskops.sqlite"), copy.join("riskops.sqlite")).unwrap();
        let conn = rusqlite::Connection::open(copy.join("riskops.sqlite")).unwrap();
        conn.execute_batch(&format!(
            "DROP TRIGGER audit_events_no_update; DROP TRIGGER audit_events_no_delete; {sql};"
        ))
        .unwrap();
        drop(conn);
        let out = verify_dir(&copy);
        assert_eq!(out.status.code(), Some(1), "{case}");
        assert_eq!(json_stdout_allowing_failure(&out)["first_bad_seq"], bad, "{case}");
    }
}

fn json_stdout_allowing_failure(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn a_model_is_promoted_by_separate_people_and_verified_against_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("gov-admin"));
    let admin = |args: &[&str]| json_stdout(&server.riskops("gov-admin", &[args, &["--format", "json"]].concat()));
    let token_of = |name: &str, role: &str| {
        admin(&["user", "create", name, "--role", role])["token"].as_str().unwrap().to_string()
    };
    let (ds, val, risk, viewer) = (
        token_of("dana", "data_scientist"),
        token_of("victor", "validator"),
        token_of("rita", "risk_officer"),
        token_of("vera", "viewer"),
    );
    let as_ = |token: &str, args: &[&str]| server.riskops(token, &[args, &["--format", "json"]].concat());

    let artifact = dir.path().join("model.bin");
    std::fs::write(&artifact, b"weights v1").unwrap();
    let a = artifact.to_str().unwrap();
    assert!(as_(&ds, &["model", "register", "scorer", "--artifact", a]).status.success());
    let asked = json_stdout(&as_(&ds, &["model", "promote", "scorer@1", "--to", "production"]));
    assert_eq!(asked["status"], "pending");
    assert!(asked["missing"].as_array().unwrap().iter().any(|m| m == "approval:validator"), "{asked}");
    let id = asked["id"].to_string();
    for (token, who) in [(&ds, "requester"), (&viewer, "viewer")] {
        let out = as_(token, &["promotion", "approve", &id]);
        assert_eq!(out.status.code(), Some(2), "{who}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("HTTP 403"), "{who}");
    }
    let evidence = dir.path().join("report.txt");
    std::fs::write(&evidence, "all good").unwrap();
    for kind in ["validation", "fairness", "documentation"] {
        let out = as_(
            &val,
            &["evidence", "add", "scorer@1", "--kind", kind, "--file", evidence.to_str().unwrap(), "--passed", "true"],
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(json_stdout(&as_(&val, &["promotion", "approve", &id]))["status"], "pending");
    assert_eq!(json_stdout(&as_(&risk, &["promotion", "approve", &id]))["status"], "completed");
    let stage = json_stdout(&as_(&viewer, &["model", "stage", "scorer"]));
    assert_eq!(stage["environments"]["production"]["version"], 1);

    let ok = as_(&viewer, &["model", "verify", "scorer@1", a]);
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
    assert_eq!(json_stdout(&ok)["signature_valid"], true);
    let modified = dir.path().join("modified.bin");
    std::fs::write(&modified, b"weights v1 + backdoor").unwrap();
    let bad = as_(&viewer, &["model", "verify", "scorer@1", modified.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert_eq!(json_stdout_allowing_failure(&bad)["ok"], false);
    // Offline: a saved stage record and the pinned key, no server asked.
    let signing = std::fs::read(data.join("signing-key.pk8")).unwrap();
    let public = riskops_core::signing::SigningKey::from_pkcs8(&signing).unwrap().public_key().to_hex();
    let record = dir.path().join("stage.json");
    std::fs::write(&record, as_(&viewer, &["model", "stage", "scorer"]).stdout).unwrap();
    let offline = Command::new(BIN)
        .args([
            "model",
            "verify",
            "scorer@1",
            a,
            "--public-key",
            &public,
            "--record",
            record.to_str().unwrap(),
            "--format",
            "json",
        ])
        .env("RISKOPS_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(offline.status.code(), Some(0), "{}", String::from_utf8_lossy(&offline.stderr));
    // Pinning a different key fails too: the signature is the server's, not anyone's.
    let other_key = "00".repeat(32);
    let pinned = as_(&viewer, &["model", "verify", "scorer@1", a, "--public-key", &other_key]);
    assert_ne!(pinned.status.code(), Some(0));

    let log =
        json_stdout(&server.riskops("gov-admin", &["audit", "log", "--target", "promotion:", "--format", "json"]));
    let actors: Vec<(&str, &str)> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap(), e["actor"].as_str().unwrap()))
        .collect();
    assert!(
        actors.contains(&("promotion.approve", "victor")) && actors.contains(&("promotion.completed", "rita")),
        "{actors:?}"
    );
}

#[test]
fn promote_wait_blocks_until_the_request_completes_is_rejected_or_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("wait-admin"));
    let admin = |args: &[&str]| json_stdout(&server.riskops("wait-admin", &[args, &["--format", "json"]].concat()));
    let token_of = |name: &str, role: &str| {
        admin(&["user", "create", name, "--role", role])["token"].as_str().unwrap().to_string()
    };
    let (ds, val, risk) =
        (token_of("dana", "data_scientist"), token_of("victor", "validator"), token_of("rita", "risk_officer"));
    let as_ = |token: &str, args: &[&str]| server.riskops(token, &[args, &["--format", "json"]].concat());
    let artifact = dir.path().join("model.bin");
    for v in 1..=3 {
        std::fs::write(&artifact, format!("weights v{v}")).unwrap();
        assert!(as_(&ds, &["model", "register", "scorer", "--artifact", artifact.to_str().unwrap()]).status.success());
    }
    let waiting = |version: &str, timeout: &str| {
        Command::new(BIN)
            .args(["model", "promote", version, "--to", "production", "--wait", "--timeout", timeout])
            .args(["--format", "json"])
            .env("RISKOPS_URL", &server.url)
            .env("RISKOPS_TOKEN", &ds)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let pending_id = |model_version: u64| loop {
        let list = admin(&["promotion", "list", "--status", "pending"]);
        if let Some(p) = list["promotions"].as_array().unwrap().iter().find(|p| p["version"] == model_version) {
            return p["id"].to_string();
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    // Completed while waiting: exit 0 with the completed request.
    let child = waiting("scorer@1", "60s");
    let id = pending_id(1);
    let evidence = dir.path().join("report.txt");
    std::fs::write(&evidence, "all good").unwrap();
    for kind in ["validation", "fairness", "documentation"] {
        let args = ["evidence", "add", "scorer@1", "--kind", kind, "--file", evidence.to_str().unwrap()];
        assert!(as_(&val, &[&args[..], &["--passed", "true"]].concat()).status.success());
    }
    assert!(as_(&val, &["promotion", "approve", &id]).status.success());
    assert!(as_(&risk, &["promotion", "approve", &id]).status.success());
    let done = child.wait_with_output().unwrap();
    assert_eq!(done.status.code(), Some(0), "{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(json_stdout(&done)["status"], "completed");
    assert!(String::from_utf8_lossy(&done.stderr).contains("waiting for promotion"));

    // Rejected while waiting: exit 1.
    let child = waiting("scorer@2", "60s");
    let id = pending_id(2);
    assert!(as_(&val, &["promotion", "reject", &id, "--comment", "holdout AUC too low"]).status.success());
    let rejected = child.wait_with_output().unwrap();
    assert_eq!(rejected.status.code(), Some(1));
    assert_eq!(json_stdout_allowing_failure(&rejected)["status"], "rejected");
    assert!(String::from_utf8_lossy(&rejected.stderr).contains("was rejected"));

    // Nobody decides: exit 1 once the timeout passes, the request still pending.
    let started = std::time::Instant::now();
    let timed_out = waiting("scorer@3", "1s").wait_with_output().unwrap();
    assert_eq!(timed_out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(json_stdout_allowing_failure(&timed_out)["status"], "pending");
    assert!(String::from_utf8_lossy(&timed_out.stderr).contains("still pending after 1s"));

    // Without --wait the answer is as before: the request, exit 0 although pending.
    let asked = as_(&ds, &["model", "promote", "scorer@3", "--to", "staging"]);
    assert_eq!(asked.status.code(), Some(0));
    let bad = as_(&ds, &["model", "promote", "scorer@3", "--to", "staging", "--wait", "--timeout", "soon"]);
    assert_eq!(bad.status.code(), Some(2));

    // `model list` and `model show` say which version is in each environment.
    let list = admin(&["model", "list"]);
    assert_eq!(list["items"][0]["environments"], serde_json::json!({"staging": null, "production": 1}), "{list}");
    let text = String::from_utf8(server.riskops("wait-admin", &["model", "list"]).stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains("STAGING") && header.contains("PRODUCTION"), "{text}");
    assert_eq!(admin(&["model", "show", "scorer@1"])["stages"], serde_json::json!(["production"]));
    let shown = admin(&["model", "show", "scorer@2"]);
    assert_eq!(
        (shown["stages"][0].as_str(), shown["environments"]["production"].as_u64()),
        (Some("development"), Some(1))
    );
    let text = String::from_utf8(server.riskops("wait-admin", &["model", "show", "scorer@2"]).stdout).unwrap();
    assert!(text.contains("staging: -, production: 1"), "{text}");
}

#[test]
fn a_cut_off_tail_and_a_forged_checkpoint_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("tail-token"));
    let run = |args: &[&str]| server.riskops("tail-token", args);
    for p in ["alpha", "beta", "gamma"] {
        assert!(run(&["project", "create", p]).status.success());
    }
    // The server signs the new head moments after the change, without waiting for its tick.
    let mut report = Value::Null;
    for _ in 0..100 {
        report = json_stdout(&run(&["audit", "verify", "--format", "json"]));
        if report["unsigned_tail"] == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!((&report["ok"], &report["checkpoint"]["seq"]), (&Value::from(true), &Value::from(5)), "{report}");
    let export = dir.path().join("trail.jsonl");
    assert!(run(&["audit", "export", "-o", export.to_str().unwrap()]).status.success());
    let (status, _) = server.terminate();
    assert!(status.success());

    let key = std::fs::read(data.join("signing-key.pk8")).unwrap();
    let public = riskops_core::signing::SigningKey::from_pkcs8(&key).unwrap().public_key().to_hex();
    let verify = |flag: &str, path: &Path, extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["audit", "verify", "--format", "json", flag])
            .arg(path)
            .args(extra)
            .output()
            .unwrap();
        (out.status.code(), json_stdout_allowing_failure(&out))
    };
    let (code, intact) = verify("--data-dir", &data, &["--public-key", &public]);
    assert_eq!(
        (code, &intact["checkpoint"]["seq"], &intact["unsigned_tail"]),
        (Some(0), &Value::from(5), &Value::from(0)),
        "{intact}"
    );
    let (code, _) = verify("--data-dir", &data, &["--public-key", &"ab".repeat(32)]);
    assert_eq!(code, Some(1), "a key other than the pinned one");

    // Copies of the data directory, changed as a forger would, triggers dropped first.
    for (case, sql, bad) in [
        ("cut", "DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq > 3", 4),
        (
            "forged",
            "DROP TRIGGER audit_checkpoints_no_update; UPDATE audit_checkpoints SET signature = hex(zeroblob(64)) WHERE seq = 5",
            5,
        ),
    ] {
        let copy = dir.path().join(case);
        std::fs::create_dir_all(&copy).unwrap();
        std::fs::copy(data.join("riskops.sqlite"), copy.join("riskops.sqlite")).unwrap();
        let conn = rusqlite::Connection::open(copy.join("riskops.sqlite")).unwrap();
        conn.execute_batch(sql).unwrap();
        drop(conn);
        let (code, report) = verify("--data-dir", &copy, &[]);
        assert_eq!((code, &report["first_bad_seq"]), (Some(1), &Value::from(bad)), "{case}: {report}");
    }
    let (_, cut) = verify("--data-dir", &dir.path().join("cut"), &[]);
    assert!(cut["reason"].as_str().unwrap().contains("events after seq 3 are missing"), "{cut}");

    // The export carries its checkpoints: the same cut is found there.
    let (code, report) = verify("--file", &export, &["--public-key", &public]);
    assert_eq!((code, &report["checkpoint"]["seq"]), (Some(0), &Value::from(5)), "{report}");
    let text = std::fs::read_to_string(&export).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[5].starts_with("{\"checkpoint\""), "{}", lines[5]);
    let cut_export = dir.path().join("cut.jsonl");
    std::fs::write(&cut_export, [&lines[..3], &lines[5..]].concat().join("\n")).unwrap();
    let (code, report) = verify("--file", &cut_export, &[]);
    assert_eq!((code, &report["first_bad_seq"]), (Some(1), &Value::from(4)), "{report}");
}

#[test]
fn risks_are_assessed_from_the_context_and_only_a_risk_officer_overrides_the_tier() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("risk-admin"));
    let admin = |args: &[&str]| server.riskops("risk-admin", &[args, &["--format", "json"]].concat());
    let created = json_stdout(&admin(&[
        "project",
        "create",
        "callcentre",
        "--template",
        "healthcare",
        "--workflow",
        "billing_information",
        "--data-sensitivity",
        "phi",
        "--workflow-description",
        "hospital call centre",
    ]));
    assert_eq!(created["context"]["industry"], "healthcare");
    assert!(json_stdout(&admin(&["risk", "assess", "callcentre"]))["added"].as_array().unwrap().len() >= 8);
    let list = json_stdout(&admin(&["risk", "list", "callcentre"]));
    let entry =
        list["risks"].as_array().unwrap().iter().find(|e| e["failure_mode"] == "incorrect_information").unwrap();
    for key in ["failure_mode", "severity", "likelihood", "inherent_score", "residual_score"] {
        assert!(!entry[key].is_null(), "{key} in {entry}");
    }
    let shown = json_stdout(&admin(&["project", "show", "callcentre"]));
    assert!(matches!(shown["tier"].as_str(), Some("high" | "critical")), "{shown}");

    let ds = json_stdout(&admin(&["user", "create", "dana", "--role", "data_scientist"]))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let refused = server.riskops(&ds, &["project", "update", "callcentre", "--tier", "low", "--reason", "cheaper"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("HTTP 403"));
    let text = server.riskops("risk-admin", &["risk", "list", "callcentre"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("INHERENT"), "a table for people");
}

#[test]
fn compliance_reports_print_json_markdown_and_html_and_attestations_flip_controls() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("comp-admin"));
    let run = |args: &[&str]| server.riskops("comp-admin", args);
    let created =
        run(&["project", "create", "clinic", "--template", "healthcare", "--workflow", "billing_information"]);
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));

    let report = json_stdout(&run(&["compliance", "report", "clinic", "--format", "json"]));
    assert_eq!(report["project"], "clinic");
    assert_eq!(report["controls"].as_array().unwrap().len(), 27);
    for c in report["controls"].as_array().unwrap() {
        for key in ["id", "status", "reason", "frameworks"] {
            assert!(!c[key].is_null(), "{key} in {c}");
        }
    }
    assert!(report["coverage"]["hipaa"].is_f64(), "the healthcare pack handles phi: {}", report["coverage"]);
    let c11 =
        |r: &Value| r["controls"].as_array().unwrap().iter().find(|c| c["id"] == "C11").unwrap()["status"].clone();
    assert_eq!(c11(&report), "unsatisfied");

    let md = run(&["compliance", "report", "clinic", "--format", "markdown", "--framework", "hipaa"]);
    assert_eq!(md.status.code(), Some(0), "{}", String::from_utf8_lossy(&md.stderr));
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.starts_with("# Compliance report: clinic") && md.contains("| C21 |") && !md.contains("| C01 |"), "{md}");

    let html = run(&["compliance", "report", "clinic", "--format", "html"]);
    assert_eq!(html.status.code(), Some(0));
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("badge unsatisfied") && !html.contains("<script"));

    let text = run(&["compliance", "report", "clinic"]);
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("STATUS") && text.contains("HIPAA 45 CFR 164.312"), "{text}");

    // Attest C11 with a file; the next report says attested.
    let minutes = dir.path().join("minutes.txt");
    std::fs::write(&minutes, "the committee accepts the residual risk").unwrap();
    let file = minutes.to_str().unwrap();
    let args = ["control", "attest", "clinic", "C11", "--statement", "accepted on 3 Nov", "--file", file];
    let attested = json_stdout(&run(&[&args[..], &["--format", "json"]].concat()));
    assert!(attested["evidence"]["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(c11(&json_stdout(&run(&["compliance", "report", "clinic", "--format", "json"]))), "attested");
    let listed = json_stdout(&run(&["control", "attestations", "clinic", "--format", "json"]));
    assert_eq!(listed["attestations"].as_array().unwrap().len(), 1);
    let catalogue = json_stdout(&run(&["control", "list", "--format", "json"]));
    assert_eq!(catalogue["controls"].as_array().unwrap().len(), 27);

    // Markdown and html are for reports; elsewhere, and for unknown frameworks, exit 2.
    for args in [
        &["control", "list", "--format", "markdown"][..],
        &["project", "list", "--format", "html"],
        &["compliance", "report", "clinic", "--framework", "gdpr"],
        &["compliance", "report", "clinic", "--format", "dot"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stdout));
    }
    // Each command names the formats it accepts, given after the command or before it.
    let after = String::from_utf8(run(&["project", "list", "--format", "html"]).stderr).unwrap();
    assert!(after.contains("[possible values: text, json]"), "{after}");
    let before = String::from_utf8(run(&["--format", "html", "project", "list"]).stderr).unwrap();
    assert!(before.contains("riskops project list prints --format text, json, not html"), "{before}");
}

#[test]
fn a_checkpoint_kept_outside_catches_a_tail_cut_together_with_its_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("kept-token"));
    let run = |args: &[&str]| server.riskops("kept-token", args);
    for p in ["alpha", "beta", "gamma"] {
        assert!(run(&["project", "create", p]).status.success());
    }
    // Wait for the head (seq 5) to be signed, then keep that checkpoint outside.
    let mut kept = String::new();
    for _ in 0..100 {
        let out = run(&["audit", "checkpoint"]);
        kept = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() && serde_json::from_str::<Value>(kept.trim()).unwrap()["checkpoint"]["seq"] == 5 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let kept_file = dir.path().join("kept.jsonl");
    std::fs::write(&kept_file, &kept).unwrap();
    let (status, _) = server.terminate();
    assert!(status.success());

    // A forger cuts events 4 and 5 and the checkpoints that covered them.
    let copy = dir.path().join("cut");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(data.join("riskops.sqlite"), copy.join("riskops.sqlite")).unwrap();
    let conn = rusqlite::Connection::open(copy.join("riskops.sqlite")).unwrap();
    conn.execute_batch(
        "DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_checkpoints_no_delete;
         DELETE FROM audit_events WHERE seq > 3; DELETE FROM audit_checkpoints WHERE seq > 3;",
    )
    .unwrap();
    drop(conn);
    let verify = |extra: &[&str]| {
        let out = Command::new(BIN)
            .args(["audit", "verify", "--format", "json", "--data-dir"])
            .arg(&copy)
            .args(extra)
            .output()
            .unwrap();
        (out.status.code(), json_stdout_allowing_failure(&out))
    };
    let (code, blind) = verify(&[]);
    assert_eq!(code, Some(0), "without an outside anchor the cut is consistent: {blind}");
    let (code, caught) = verify(&["--checkpoint", kept_file.to_str().unwrap()]);
    assert_eq!((code, &caught["first_bad_seq"]), (Some(1), &Value::from(4)), "{caught}");
}

#[test]
fn prediction_logs_are_sent_from_files_and_windows_shown() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("mon-admin"));
    let admin = |args: &[&str]| server.riskops("mon-admin", &[args, &["--format", "json"]].concat());
    let reference = dir.path().join("reference.csv");
    let mut text = String::from("age,segment,target\n");
    for i in 0..200 {
        text.push_str(&format!("{},{},{}\n", 20 + i % 40, ["a", "b"][i % 2], i % 2));
    }
    std::fs::write(&reference, text).unwrap();
    assert!(admin(&["dataset", "push", "customers", reference.to_str().unwrap()]).status.success());
    let model = dir.path().join("m.bin");
    std::fs::write(&model, b"m").unwrap();
    assert!(
        admin(&["model", "register", "churn", "--artifact", model.to_str().unwrap(), "--training-data", "customers@1"])
            .status
            .success()
    );
    let configured = json_stdout(&admin(&[
        "monitor",
        "configure",
        "--project",
        "default",
        "--model",
        "churn",
        "--exclude",
        "target",
    ]));
    assert_eq!(configured["window"], "hour");
    let token = json_stdout(&admin(&["user", "create", "collector", "--service-account", "--role", "ingest@default"]))
        ["token"]
        .as_str()
        .unwrap()
        .to_string();

    let csv = dir.path().join("logs.csv");
    let mut text = String::from("id,timestamp,version,age,segment,prediction,score,label,attr.sex,latency_ms\n");
    for i in 0..120 {
        text.push_str(&format!(
            "c{i},1790000000,1,{},{},{},0.7,{},{},{}\n",
            60 + i % 10,
            ["a", "b"][i % 2],
            i % 2,
            (i / 2) % 2,
            ["f", "m"][i % 2],
            10 + i % 7
        ));
    }
    std::fs::write(&csv, text).unwrap();
    let sent = server.riskops(
        &token,
        &[
            "log",
            csv.to_str().unwrap(),
            "--project",
            "default",
            "--model",
            "churn",
            "--batch",
            "50",
            "--format",
            "json",
        ],
    );
    let sent = json_stdout(&sent);
    assert_eq!((sent["records"].as_u64(), sent["accepted"].as_u64()), (Some(120), Some(120)), "{sent}");
    let again = json_stdout(&server.riskops(
        &token,
        &["log", csv.to_str().unwrap(), "--project", "default", "--model", "churn", "--format", "json"],
    ));
    assert_eq!(again["duplicates"], 120, "re-sending a file is safe");
    assert_eq!(again["rejected"], 0, "{again}");

    let shown = json_stdout(&admin(&[
        "monitor",
        "show",
        "--project",
        "default",
        "--model",
        "churn",
        "--from",
        "1789990000",
        "--to",
        "1790010000",
    ]));
    let w = &shown["windows"][0];
    assert_eq!(w["records"], 120, "{shown}");
    assert!(
        w["drift"]["features"].as_array().unwrap().iter().any(|f| f["name"] == "age" && f["drifted"] == true),
        "{w}"
    );
    // Text: every section of the report, not only drift and F1; business values once the
    // model has values per outcome.
    assert!(
        admin(&["model", "kpi", "churn", "--currency", "EUR", "--tp", "10", "--fp", "-25", "--fn", "-400"])
            .status
            .success()
    );
    let text = server.riskops(
        "mon-admin",
        &["monitor", "show", "--project", "default", "--model", "churn", "--from", "1789990000", "--to", "1790010000"],
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("DRIFTED FEATURES") && text.contains("PARITY RATIO") && text.contains("P95 MS"), "{text}");
    for section in ["drift", "performance", "fairness", "quality", "business", "latency"] {
        let line =
            text.lines().find(|l| l.trim_start().starts_with(section)).unwrap_or_else(|| panic!("{section}: {text}"));
        assert!(!line.contains(" - ("), "{section} has values: {line}");
    }
    assert!(text.contains("sex: parity ratio") && text.contains("f1 ") && text.contains("p95 "), "{text}");
    let business = &shown["windows"][0]["business"];
    assert!(business.is_null(), "no values per outcome when shown as JSON above: {business}");
    let help =
        String::from_utf8(Command::new(BIN).args(["monitor", "show", "--help"]).output().unwrap().stdout).unwrap();
    assert!(help.contains("business.cost_per_1000 and business.cost are the same numbers negated"), "{help}");
}

/// A model `churn` in project `default` trained on `customers@1` (age, segment, target),
/// monitored hourly without `target`.
fn monitored_model(server: &Server, token: &str, dir: &Path) {
    let admin = |args: &[&str]| server.riskops(token, &[args, &["--format", "json"]].concat());
    let reference = dir.join("reference.csv");
    let mut text = String::from("age,segment,target\n");
    for i in 0..200 {
        text.push_str(&format!("{},{},{}\n", 20 + i % 40, ["a", "b"][i % 2], i % 2));
    }
    std::fs::write(&reference, text).unwrap();
    assert!(admin(&["dataset", "push", "customers", reference.to_str().unwrap()]).status.success());
    let model = dir.join("m.bin");
    std::fs::write(&model, b"m").unwrap();
    let registered =
        admin(&["model", "register", "churn", "--artifact", model.to_str().unwrap(), "--training-data", "customers@1"]);
    assert!(registered.status.success());
    let configure = ["monitor", "configure", "--project", "default", "--model", "churn", "--exclude", "target"];
    assert!(admin(&configure).status.success());
}

#[test]
fn log_exits_1_when_records_are_rejected_and_prints_one_summary_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("log-admin"));
    monitored_model(&server, "log-admin", dir.path());
    let file = dir.path().join("mixed.ndjson");
    let mut text = String::new();
    for i in 0..9 {
        let features = match i % 3 {
            0 => r#"{"age":30,"segment":"a"}"#,
            1 => r#"{"age":30,"segment":"a","zip":"123"}"#,
            _ => r#"{"segment":"b"}"#,
        };
        text.push_str(&format!(
            "{{\"id\":\"r{i}\",\"timestamp\":1790000000,\"version\":\"1\",\"features\":{features},\"prediction\":1}}\n"
        ));
    }
    std::fs::write(&file, text).unwrap();
    let f = file.to_str().unwrap();
    let args = ["log", f, "--project", "default", "--model", "churn", "--batch", "2"];

    let json = server.riskops("log-admin", &[&args[..], &["--format", "json"]].concat());
    assert_eq!(json.status.code(), Some(1), "{}", String::from_utf8_lossy(&json.stderr));
    let summary: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!((summary["records"].as_u64(), summary["accepted"].as_u64()), (Some(9), Some(3)), "{summary}");
    assert_eq!(summary["rejected"], 6, "{summary}");
    let by_reason = summary["rejected_by_reason"].as_array().unwrap();
    assert_eq!(by_reason.len(), 2, "{summary}");
    assert!(by_reason.iter().all(|r| r["count"] == 3), "{summary}");
    assert!(by_reason.iter().any(|r| r["reason"].as_str().unwrap().contains("zip")), "{summary}");
    let third = &summary["first_rejected"][2];
    assert_eq!((third["index"].as_u64(), third["id"].as_str()), (Some(4), Some("r4")), "file indices: {summary}");
    assert!(String::from_utf8_lossy(&json.stderr).contains("6 of 9 records were rejected"));

    // Text: one summary for all five batches, then the reasons with their counts.
    let text = server.riskops("log-admin", &args);
    assert_eq!(text.status.code(), Some(1));
    let out = String::from_utf8_lossy(&text.stdout);
    assert_eq!(out.matches("records:").count(), 1, "{out}");
    assert!(out.contains("9 records: 0 accepted, 3 already sent, 6 rejected"), "{out}");
    assert!(out.lines().any(|l| l.trim_start().starts_with("3  unknown feature")), "{out}");

    let allowed = server.riskops("log-admin", &[&args[..], &["--allow-rejected"]].concat());
    assert_eq!(allowed.status.code(), Some(0), "{}", String::from_utf8_lossy(&allowed.stderr));
}

#[test]
fn late_labels_are_sent_from_parquet_csv_and_ndjson_files() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("lab-admin"));
    monitored_model(&server, "lab-admin", dir.path());
    let run = |args: &[&str]| server.riskops("lab-admin", &[args, &["--format", "json"]].concat());
    let label = |file: &Path, extra: &[&str]| {
        run(&[&["label", file.to_str().unwrap(), "--project", "default", "--model", "churn"][..], extra].concat())
    };
    // The fixture's records without their labels: the labels come later.
    let unlabelled = dir.path().join("unlabelled.csv");
    let text: Vec<String> = std::fs::read_to_string(fixture("predictions.csv"))
        .unwrap()
        .lines()
        .map(|line| {
            let mut cells: Vec<&str> = line.split(',').collect();
            cells.remove(7);
            cells.join(",")
        })
        .collect();
    assert!(text[0].ends_with("score,attr.sex"), "{}", text[0]);
    std::fs::write(&unlabelled, text.join("\n")).unwrap();
    let sent = json_stdout(&run(&["log", unlabelled.to_str().unwrap(), "--project", "default", "--model", "churn"]));
    assert_eq!(sent["accepted"], 120, "{sent}");
    let labelled = || -> Vec<u64> {
        let args = ["monitor", "show", "--project", "default", "--model", "churn", "--from", "1789990000"];
        let shown = json_stdout(&run(&[&args[..], &["--to", "1790020000"]].concat()));
        shown["windows"].as_array().unwrap().iter().map(|w| w["labelled"].as_u64().unwrap()).collect()
    };
    assert_eq!(labelled(), [0, 0, 0]);

    // Parquet, in batches of 25: every seventh row has no label, and the server says so.
    let out = label(&fixture("predictions.parquet"), &["--batch", "25"]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["accepted"].as_u64(), summary["rejected"].as_u64()), (Some(102), Some(18)), "{summary}");
    assert!(summary["rejected_by_reason"][0]["reason"].as_str().unwrap().contains("label is null"), "{summary}");
    // The same labels the records would have carried in the log (see the Parquet log test).
    assert_eq!(labelled(), [40, 51, 11]);

    // CSV: the labels already in count once.
    let again = label(&fixture("predictions.csv"), &["--allow-rejected"]);
    let again = json_stdout(&again);
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(102)), "{again}");

    // NDJSON: an unknown id is rejected with its reason; a record without an id stops the
    // command before anything is sent.
    let ndjson = dir.path().join("late.ndjson");
    std::fs::write(&ndjson, "{\"id\":\"nope\",\"label\":1}\n{\"id\":\"p0\",\"label\":0,\"note\":\"x\"}\n").unwrap();
    let out = label(&ndjson, &[]);
    assert_eq!(out.status.code(), Some(1));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["accepted"], 1, "{summary}");
    assert_eq!(summary["first_rejected"][0]["reasons"][0], "no prediction with this id", "{summary}");
    std::fs::write(&ndjson, "{\"label\":1}\n").unwrap();
    let out = label(&ndjson, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("record 1 has no id"));
}

#[test]
fn monitors_webhooks_incidents_and_status_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("alert-admin"));
    let run = |args: &[&str]| server.riskops("alert-admin", args);
    let text = |args: &[&str]| {
        let out = run(args);
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let reference = dir.path().join("reference.csv");
    let mut csv = String::from("age,segment\n");
    for i in 0..200 {
        csv.push_str(&format!("{},{}\n", 20 + i % 40, ["a", "b"][i % 2]));
    }
    std::fs::write(&reference, csv).unwrap();
    assert!(run(&["dataset", "push", "customers", reference.to_str().unwrap()]).status.success());
    let artifact = dir.path().join("m.bin");
    std::fs::write(&artifact, b"m").unwrap();
    let registered = run(&[
        "model",
        "register",
        "churn",
        "--artifact",
        artifact.to_str().unwrap(),
        "--training-data",
        "customers@1",
    ]);
    assert!(registered.status.success(), "{}", String::from_utf8_lossy(&registered.stderr));

    // The help teaches metric paths and what --relative means.
    let help = text(&["monitor", "add", "--help"]);
    for needed in
        ["drift.feature.<name>", "fairness.<attribute|*>.demographic_parity_ratio", "--relative --below -0.05"]
    {
        assert!(help.contains(needed), "{needed} missing from:\n{help}");
    }

    let m = ["--project", "default", "--model", "churn"];
    let f1 = ["--metric", "performance.f1", "--relative", "--below", "-0.05", "--for", "3", "--severity", "high"];
    let added = json_stdout(&run(&[&["monitor", "add"][..], &m, &f1, &["--format", "json"]].concat()));
    assert_eq!(added["id"], "m1", "{added}");
    assert_eq!(
        (added["comparison"].as_str(), added["threshold"].as_f64(), added["relative"].as_bool(), added["for"].as_u64()),
        (Some("below"), Some(-0.05), Some(true), Some(3)),
        "{added}"
    );
    let said = text(&[&["monitor", "add"][..], &m, &["--metric", "volume", "--below", "10"]].concat());
    assert!(said.starts_with("added monitor m2 to churn: volume < 10 for 1 window (medium)"), "{said}");
    let said = text(&[&["monitor", "add"][..], &m, &["--metric", "drift.share", "--above", "0.4"]].concat());
    assert!(said.starts_with("added monitor m3 to churn: drift.share ≥ 0.4 for 1 window (medium)"), "{said}");
    let refused = run(&[&["monitor", "add"][..], &m, &["--metric", "drift.sharee", "--above", "0.4"]].concat());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a window metric"), "{refused:?}");

    // Tier defaults are the risk function's bar: the model's author (here the admin) may
    // not lower it; a risk officer may.
    let refused = run(&[&["monitor", "remove"][..], &m, &["default:drift_share"]].concat());
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("author"), "{refused:?}");
    let made = json_stdout(&run(&["user", "create", "rita", "--role", "risk_officer", "--format", "json"]));
    let risk = made["token"].as_str().unwrap().to_string();
    let out = server.riskops(&risk, &[&["monitor", "remove"][..], &m, &["default:drift_share"]].concat());
    let removed = String::from_utf8(out.stdout).unwrap();
    assert!(removed.contains("switched the tier default default:drift_share off"), "{removed}");
    let list = text(&[&["monitor", "list"][..], &m].concat());
    assert!(list.starts_with("churn (project default, tier high)"), "{list}");
    for needed in [
        "CONDITION",
        "m1",
        "performance.f1 change from the reference < -0.05",
        "default:fairness",
        "switched off: default:drift_share",
    ] {
        assert!(list.contains(needed), "{needed} missing from:\n{list}");
    }
    let listed = json_stdout(&run(&[&["monitor", "list"][..], &m, &["--format", "json"]].concat()));
    let own: Vec<&str> = listed["monitors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["origin"] == "model")
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(own, ["m1", "m2", "m3"], "{listed}");
    assert_eq!(listed["disabled_defaults"], serde_json::json!(["default:drift_share"]));

    // A webhook's secret comes from the environment and is never printed back.
    let secret = "hook-secret-0123456789";
    let hook = Command::new(BIN)
        .args([
            "webhook",
            "add",
            "--project",
            "default",
            "--url",
            "https://hooks.example.com/riskops",
            "--format",
            "slack",
        ])
        .env("RISKOPS_URL", &server.url)
        .env("RISKOPS_TOKEN", "alert-admin")
        .env("RISKOPS_WEBHOOK_SECRET", secret)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&hook.stdout).to_string();
    assert!(hook.status.success(), "{}", String::from_utf8_lossy(&hook.stderr));
    assert!(said.starts_with("added webhook 1 to default: https://hooks.example.com/… (slack)"), "{said}");
    let listed = text(&["webhook", "list", "--project", "default"]);
    assert!(listed.contains("https://hooks.example.com/…") && listed.contains("slack"), "{listed}");
    assert!(!listed.contains("/riskops"), "a receiver's path may be its credential: {listed}");
    let as_json = json_stdout(&run(&["webhook", "list", "--project", "default", "--format", "json"]));
    assert_eq!(as_json["webhooks"][0]["id"], 1, "{as_json}");
    for out in [&said, &listed, &as_json.to_string()] {
        assert!(!out.contains(secret), "the secret was printed: {out}");
    }
    // The issue's own spelling: the secret as a flag, the payload shape as --format.
    let second = json_stdout(&run(&[
        "webhook",
        "add",
        "--project",
        "default",
        "--url",
        "http://hooks.example.net:9/hook",
        "--secret",
        secret,
        "--format",
        "json",
    ]));
    assert_eq!((second["id"].as_i64(), second["format"].as_str()), (Some(2), Some("json")), "{second}");
    assert!(!second.to_string().contains(secret));
    assert!(text(&["webhook", "remove", "--project", "default", "2"]).contains("removed webhook 2"));
    assert!(text(&["webhook", "deliveries", "--project", "default"]).contains("no deliveries"));
    assert!(text(&["incident", "list", "--project", "default", "--state", "open"]).contains("no incidents"));

    // The project's status: one block per model.
    let status = text(&["monitor", "status", "--project", "default"]);
    assert!(status.starts_with("churn  (tier high; not deployed)"), "{status}");
    assert!(status.contains("last window  none") && status.contains("incidents    none open"), "{status}");
    let status = json_stdout(&run(&["monitor", "status", "--project", "default", "--format", "json"]));
    assert_eq!(status["models"][0]["model"], "churn", "{status}");
    assert_eq!(status["models"][0]["last_window"], Value::Null, "{status}");

    assert!(text(&["webhook", "remove", "--project", "default", "1"]).contains("removed webhook 1"));
    assert!(text(&["webhook", "list", "--project", "default"]).contains("no webhooks"));
}

/// Committed fixtures of `tests/data`, written by `tests/data/make_log_fixtures.py`.
fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

#[test]
fn a_parquet_log_means_the_same_records_as_its_csv() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("pq-admin"));
    let admin = |args: &[&str]| json_stdout(&server.riskops("pq-admin", &[args, &["--format", "json"]].concat()));
    let reference = dir.path().join("reference.csv");
    let mut text = String::from("age,segment,target\n");
    for i in 0..200 {
        text.push_str(&format!("{},{},{}\n", 20 + i % 40, ["a", "b"][i % 2], i % 2));
    }
    std::fs::write(&reference, text).unwrap();
    admin(&["dataset", "push", "customers", reference.to_str().unwrap()]);
    let artifact = dir.path().join("m.bin");
    std::fs::write(&artifact, b"m").unwrap();
    for model in ["from-csv", "from-parquet"] {
        admin(&[
            "model",
            "register",
            model,
            "--artifact",
            artifact.to_str().unwrap(),
            "--training-data",
            "customers@1",
        ]);
        let args = ["monitor", "configure", "--project", "default", "--model", model, "--exclude", "target"];
        let configured = admin(&[&args[..], &["--sensitive", "sex", "--min-records", "20"]].concat());
        assert_eq!(configured["min_records"], 20, "{configured}");
    }
    let log = |file: &Path, model: &str| {
        admin(&["log", file.to_str().unwrap(), "--project", "default", "--model", model, "--batch", "50"])
    };
    let windows = |model: &str| {
        let args = ["monitor", "show", "--project", "default", "--model", model];
        admin(&[&args[..], &["--from", "1789990000", "--to", "1790020000"]].concat())["windows"].clone()
    };

    let sent = log(&fixture("predictions.csv"), "from-csv");
    assert_eq!((sent["records"].as_u64(), sent["accepted"].as_u64()), (Some(120), Some(120)), "{sent}");
    // Found by its magic bytes, not its name.
    let renamed = dir.path().join("predictions.log");
    std::fs::copy(fixture("predictions.parquet"), &renamed).unwrap();
    let sent = log(&renamed, "from-parquet");
    assert_eq!((sent["records"].as_u64(), sent["accepted"].as_u64()), (Some(120), Some(120)), "{sent}");

    let (by_csv, by_parquet) = (windows("from-csv"), windows("from-parquet"));
    let counts = |w: &Value| -> Vec<(u64, u64)> {
        w.as_array()
            .unwrap()
            .iter()
            .map(|w| (w["records"].as_u64().unwrap(), w["labelled"].as_u64().unwrap()))
            .collect()
    };
    // 120 records a minute apart from 800 s into an hour; every seventh has no label yet.
    assert_eq!(counts(&by_csv), [(47, 40), (60, 51), (13, 11)], "{by_csv}");
    let status: Vec<&str> = by_csv.as_array().unwrap().iter().map(|w| w["drift"]["status"].as_str().unwrap()).collect();
    assert_eq!(status, ["ok", "ok", "insufficient"], "under --min-records 20: {by_csv}");
    assert_eq!(by_parquet, by_csv, "the same records, read from either file, make the same windows");
    // The same ids too: the Parquet file's records are the CSV's, already sent.
    let again = log(&fixture("predictions.parquet"), "from-csv");
    assert_eq!((again["accepted"].as_u64(), again["duplicates"].as_u64()), (Some(0), Some(120)), "{again}");

    // A file without ids is refused whole, before any request: the server named here is not
    // even there.
    let refused = Command::new(BIN)
        .args(["log", fixture("no_id.parquet").to_str().unwrap(), "--project", "default", "--model", "from-csv"])
        .args(["--server", "http://127.0.0.1:9"])
        .env("RISKOPS_TOKEN", "pq-admin")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8(refused.stderr).unwrap();
    assert!(err.contains("no_id.parquet: no column \"id\"") && !err.contains("cannot reach"), "{err}");
    assert!(refused.stdout.is_empty());
}

// ---- Crash safety: the server SIGKILLed during ingestion -------------------------------
//
// The promise under test: a 2xx from `…/predictions` means the batch is committed, and ids
// count once. Two senders post fresh batches while a thread SIGKILLs the server after a
// random delay; the server restarts on the same data directory, batches that got no 2xx are
// sent again (as a client would), and so on for a few rounds. A batch in flight at the kill
// may or may not have been committed; either is right, but only wholly, and only once.

const CRASH_TOKEN: &str = "crash-admin";
const CRASH_MODEL: &str = "crashy";
const CRASH_ROUNDS: usize = 5;
const CRASH_SENDERS: usize = 2;
const CRASH_BATCH_RECORDS: usize = 100;
/// Records alternate between two hourly windows, so each batch's one transaction spans both.
const CRASH_FIRST_HOUR: i64 = 1_790_000_000;

/// xorshift64: random kill delays without a crate. The seed is printed (and can be set with
/// `RISKOPS_CRASH_SEED`) so that a failing run can be replayed as closely as timing allows.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

#[derive(Clone)]
struct CrashBatch {
    ids: Vec<String>,
    body: String,
}

impl CrashBatch {
    /// Batch `seq` of `sender` in `round`: ids unique across the whole test.
    fn fresh(round: usize, sender: usize, seq: usize) -> CrashBatch {
        let mut ids = Vec::with_capacity(CRASH_BATCH_RECORDS);
        let mut body = String::new();
        for i in 0..CRASH_BATCH_RECORDS {
            let id = format!("r{round}-s{sender}-b{seq}-{i}");
            let segment = ["a", "b"][i % 2];
            let record = serde_json::json!({
                "id": id,
                "timestamp": CRASH_FIRST_HOUR + (i as i64 % 2) * 3600,
                "version": "1",
                "features": {"x": (i % 37) as f64 / 4.0, "segment": segment},
                "prediction": i % 2,
                "score": (i % 10) as f64 / 10.0,
            });
            body.push_str(&record.to_string());
            body.push('\n');
            ids.push(id);
        }
        CrashBatch { ids, body }
    }
}

fn crash_http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap()
}

/// The answer to one POST: a status and the JSON body, or no answer at all (the server died).
async fn post_predictions(http: &reqwest::Client, url: &str, body: String) -> Option<(u16, Option<Value>)> {
    let response = http
        .post(format!("{url}/api/v1/projects/default/models/{CRASH_MODEL}/predictions"))
        .bearer_auth(CRASH_TOKEN)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .ok()?;
    let status = response.status().as_u16();
    // A 2xx whose body is lost to the kill still says "committed": the status is what counts.
    Some((status, response.json::<Value>().await.ok()))
}

/// Sends a batch to a server that stays up and checks it was taken all or nothing:
/// returns whether it had been committed before (every record a duplicate).
async fn resend(http: &reqwest::Client, url: &str, batch: &CrashBatch, seed: u64) -> bool {
    let (status, answer) =
        post_predictions(http, url, batch.body.clone()).await.unwrap_or_else(|| panic!("seed {seed}: no answer"));
    assert_eq!(status, 200, "seed {seed}: {answer:?}");
    let answer = answer.unwrap_or_else(|| panic!("seed {seed}: a 200 without a JSON body"));
    let n = batch.ids.len() as u64;
    let (accepted, duplicates) = (answer["accepted"].as_u64(), answer["duplicates"].as_u64());
    assert!(answer["rejected"].as_array().is_some_and(Vec::is_empty), "seed {seed}: {answer}");
    assert!(
        (accepted, duplicates) == (Some(n), Some(0)) || (accepted, duplicates) == (Some(0), Some(n)),
        "seed {seed}: a batch is one transaction, committed wholly or not at all: {answer}"
    );
    duplicates == Some(n)
}

async fn counted_records(http: &reqwest::Client, url: &str, seed: u64) -> u64 {
    let view: Value = http
        .get(format!(
            "{url}/api/v1/projects/default/models/{CRASH_MODEL}/monitoring?from={}&to={}",
            CRASH_FIRST_HOUR - 7200,
            CRASH_FIRST_HOUR + 7200
        ))
        .bearer_auth(CRASH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let windows = view["windows"].as_array().unwrap_or_else(|| panic!("seed {seed}: {view}"));
    windows.iter().map(|w| w["records"].as_u64().unwrap_or_else(|| panic!("seed {seed}: {w}"))).sum()
}

/// What one sender saw in a round: batches answered 2xx, and those that got no 2xx.
#[derive(Default)]
struct SenderLog {
    acknowledged: Vec<CrashBatch>,
    unanswered: Vec<CrashBatch>,
}

/// Posts fresh batches until the server is gone.
async fn send_until_killed(url: String, round: usize, sender: usize, seed: u64) -> SenderLog {
    let http = crash_http();
    let started = std::time::Instant::now();
    let mut log = SenderLog::default();
    for seq in 0.. {
        assert!(started.elapsed() < Duration::from_secs(15), "seed {seed}: the server was never killed");
        let batch = CrashBatch::fresh(round, sender, seq);
        match post_predictions(&http, &url, batch.body.clone()).await {
            Some((200, answer)) => {
                if let Some(answer) = answer {
                    assert_eq!(answer["accepted"].as_u64(), Some(batch.ids.len() as u64), "seed {seed}: {answer}");
                }
                log.acknowledged.push(batch);
            }
            // The two senders' batches meet in the same windows; a batch that lost the race
            // five times is refused with 503 and nothing committed. Anything else is a bug.
            Some((status, answer)) => {
                assert_eq!(status, 503, "seed {seed}: {answer:?}");
                log.unanswered.push(batch);
            }
            None => {
                log.unanswered.push(batch);
                break;
            }
        }
    }
    log
}

#[test]
fn acknowledged_records_survive_sigkill_exactly_once() {
    // A new seed per run (the standard library's per-process hash keys), never zero, which
    // xorshift would keep forever.
    let seed = std::env::var("RISKOPS_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        use std::hash::BuildHasher;
        std::collections::hash_map::RandomState::new().hash_one(0u8)
    }) | 1;
    eprintln!("crash test seed {seed} (set RISKOPS_CRASH_SEED to replay)");
    let mut random = XorShift(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    let mut server = Server::start(&data, Some(CRASH_TOKEN));
    let reference = dir.path().join("reference.csv");
    let mut text = String::from("x,segment\n");
    for i in 0..200 {
        text.push_str(&format!("{},{}\n", (i % 37) as f64 / 4.0, ["a", "b"][i % 2]));
    }
    std::fs::write(&reference, text).unwrap();
    let admin = |server: &Server, args: &[&str]| json_stdout(&server.riskops(CRASH_TOKEN, args));
    admin(&server, &["dataset", "push", "crash-reference", reference.to_str().unwrap(), "--format", "json"]);
    let artifact = dir.path().join("model.bin");
    std::fs::write(&artifact, b"model").unwrap();
    let args = [
        "model",
        "register",
        CRASH_MODEL,
        "--artifact",
        artifact.to_str().unwrap(),
        "--training-data",
        "crash-reference@1",
    ];
    admin(&server, &[&args[..], &["--format", "json"]].concat());

    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let mut acknowledged: Vec<CrashBatch> = Vec::new();
    let mut unanswered: Vec<CrashBatch> = Vec::new();
    let mut committed_unanswered = 0usize;
    let started = std::time::Instant::now();
    for round in 0..CRASH_ROUNDS {
        // First, as a client would, the batches of the last round that got no 2xx.
        runtime.block_on(async {
            let http = crash_http();
            for batch in unanswered.drain(..) {
                committed_unanswered += usize::from(resend(&http, &server.url, &batch, seed).await);
                acknowledged.push(batch);
            }
        });
        let delay = Duration::from_millis(100 + random.next() % 600);
        let pid = server.child.id().to_string();
        let killer = std::thread::spawn(move || {
            std::thread::sleep(delay);
            assert!(Command::new("kill").args(["-KILL", &pid]).status().unwrap().success());
        });
        let logs = runtime.block_on(async {
            let senders: Vec<_> = (0..CRASH_SENDERS)
                .map(|s| runtime.spawn(send_until_killed(server.url.clone(), round, s, seed)))
                .collect();
            let mut logs = Vec::new();
            for s in senders {
                logs.push(s.await.unwrap());
            }
            logs
        });
        killer.join().unwrap();
        let status = server.child.wait().unwrap();
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "seed {seed}: {status:?}");
        for log in logs {
            acknowledged.extend(log.acknowledged);
            unanswered.extend(log.unanswered);
        }
        eprintln!(
            "round {round}: killed after {delay:?}; {} batches acknowledged so far, {} unanswered",
            acknowledged.len(),
            unanswered.len()
        );
        server = Server::start(&data, None);
    }

    runtime.block_on(async {
        let http = crash_http();
        let acknowledged_ids: std::collections::HashSet<&str> =
            acknowledged.iter().flat_map(|b| b.ids.iter().map(String::as_str)).collect();
        assert_eq!(acknowledged_ids.len(), acknowledged.len() * CRASH_BATCH_RECORDS, "ids are unique");
        let counted = counted_records(&http, &server.url, seed).await;
        // The last round's unanswered batches, in or not: counted once if in.
        let mut in_from_unanswered = 0u64;
        for batch in &unanswered {
            if resend(&http, &server.url, batch, seed).await {
                in_from_unanswered += batch.ids.len() as u64;
                committed_unanswered += 1;
            }
        }
        assert_eq!(
            counted,
            acknowledged_ids.len() as u64 + in_from_unanswered,
            "seed {seed}: every acknowledged record once, plus the unanswered ones that were committed"
        );
        for batch in &acknowledged {
            assert!(resend(&http, &server.url, batch, seed).await, "seed {seed}: an acknowledged batch was lost");
        }
        let every_id = (acknowledged.len() + unanswered.len()) * CRASH_BATCH_RECORDS;
        assert_eq!(counted_records(&http, &server.url, seed).await, every_id as u64, "seed {seed}");
    });
    eprintln!(
        "{} batches acknowledged, {committed_unanswered} unanswered batches found committed; {:?}",
        acknowledged.len(),
        started.elapsed()
    );
}

/// The shell commands of README.md's blocks marked `<!-- quickstart -->` … `<!-- /quickstart -->`,
/// in order, as one script.
fn readme_quickstart_script() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let mut script = String::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("<!-- quickstart -->") {
        let after = &rest[start..];
        let end = after.find("<!-- /quickstart -->").expect("a quickstart block is closed");
        let block = &after["<!-- quickstart -->".len()..end];
        let code = block.trim().strip_prefix("```sh").and_then(|b| b.trim_end().strip_suffix("```"));
        script.push_str(code.expect("a quickstart block holds one ```sh fence"));
        rest = &after[end..];
    }
    assert!(script.lines().count() > 50, "the quickstart blocks were not found:\n{script}");
    script
}

/// README.md's quickstart, run as written (in order, in one bash, `set -e`) in a fresh
/// directory holding only the example files, against the server the quickstart starts. The
/// one change: the server listens on a free port instead of 8080 (RISKOPS_LISTEN and
/// RISKOPS_URL, and `127.0.0.1:8080` in the commands), so tests can run side by side.
#[test]
fn readme_quickstart_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/quickstart");
    let copy = dir.path().join("examples/quickstart");
    std::fs::create_dir_all(&copy).unwrap();
    for entry in std::fs::read_dir(&examples).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), copy.join(entry.file_name())).unwrap();
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let script = format!(
        "set -euo pipefail\n\
         trap 'echo \"quickstart command failed (status $?): $BASH_COMMAND\" >&2' ERR\n\
         trap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n{}",
        readme_quickstart_script().replace("127.0.0.1:8080", &address)
    );
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap_or_default());
    let mut child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("RISKOPS_LISTEN", &address)
        .env("RISKOPS_URL", format!("http://{address}"))
        .env("RISKOPS_WINDOW_QUIET", "1")
        .env_remove("RISKOPS_TOKEN")
        .env_remove("RISKOPS_BOOTSTRAP_TOKEN")
        .env_remove("RISKOPS_DATABASE_URL")
        .env_remove("RISKOPS_DATA_DIR")
        .env_remove("RISKOPS_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained while it runs, so a full pipe cannot stall it; killed if it hangs.
    let (out, err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let read = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            r.read_to_string(&mut s).ok();
            s
        })
    };
    let (out, err) = (read(Box::new(out)), read(Box::new(err)));
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(300) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    let serve_log = std::fs::read_to_string(dir.path().join("serve.log")).unwrap_or_default();
    assert!(
        status.success(),
        "the quickstart failed ({status}):\n--- stderr\n{err}\n--- stdout\n{out}\n--- serve.log\n{serve_log}"
    );
    // It did what it says: the promotion completed and the monitoring windows hold the logs.
    assert!(out.contains("audit trail intact"), "{out}");
    assert!(out.contains("300 records: 300 accepted"), "{out}");
}
