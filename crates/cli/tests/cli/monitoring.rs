//! Monitoring from the command line: prediction logs and labels from files, windows,
//! monitors, webhooks, incidents and status; `monitor analyze`, the offline back-test.

use super::*;

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
        "--explain-sample",
        "20",
    ]));
    assert_eq!((configured["window"].as_str(), configured["explain_sample"].as_u64()), (Some("hour"), Some(20)));
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
    // A CSV without a version column takes `--version` (and without it, the version in
    // production, which this model does not have: every record would be refused).
    let unversioned = dir.path().join("unversioned.csv");
    let mut text = String::from("id,timestamp,age,segment,prediction,score\n");
    for i in 0..30 {
        text.push_str(&format!("u{i},1795000000,{},{},{},0.4\n", 30 + i % 10, ["a", "b"][i % 2], i % 2));
    }
    std::fs::write(&unversioned, text).unwrap();
    let args = ["log", unversioned.to_str().unwrap(), "--project", "default", "--model", "churn", "--format", "json"];
    let refused = json_stdout(&server.riskops(&token, &[&args[..], &["--allow-rejected"]].concat()));
    assert_eq!(refused["rejected"], 30, "{refused}");
    let versioned = json_stdout(&server.riskops(&token, &[&args[..], &["--version", "1"]].concat()));
    assert_eq!(versioned["accepted"], 30, "{versioned}");

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
    // The window has ended: its drift is exact, from its records, and says so.
    let drift = text.lines().find(|l| l.trim_start().starts_with("drift")).unwrap_or_default();
    assert!(drift.contains("exact (from the window's records)") && !drift.contains('≈'), "{text}");
    // The sample is kept, but a model riskops cannot run is not explained: the reason shows.
    let attribution = text.lines().find(|l| l.trim_start().starts_with("attribution")).unwrap_or_default();
    assert!(attribution.contains("- (") && attribution.contains("ONNX"), "{text}");
    let business = &shown["windows"][0]["business"];
    assert!(business.is_null(), "no values per outcome when shown as JSON above: {business}");
    let help =
        String::from_utf8(Command::new(BIN).args(["monitor", "show", "--help"]).output().unwrap().stdout).unwrap();
    assert!(help.contains("business.cost_per_1000 and business.cost are the same numbers negated"), "{help}");
}

#[test]
fn closed_windows_show_performance_estimated_from_the_reference_scores() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("est-admin"));
    let admin = |args: &[&str]| server.riskops("est-admin", args);
    let score = |i: usize| ((i * 37) % 100) as f64 / 100.0;
    let reference = dir.path().join("validation.csv");
    let mut text = String::from("age,income,score,label\n");
    for i in 0..400 {
        let label = u8::from((i * 7919) % 100 < (score(i) * 100.0) as usize);
        text.push_str(&format!("{},{},{},{label}\n", 20 + i % 40, 1000 + (i * 13) % 500, score(i)));
    }
    std::fs::write(&reference, text).unwrap();
    assert!(admin(&["dataset", "push", "applicants", reference.to_str().unwrap()]).status.success());
    let model = dir.path().join("m.bin");
    std::fs::write(&model, b"m").unwrap();
    let registered = admin(&[
        "model",
        "register",
        "loans",
        "--artifact",
        model.to_str().unwrap(),
        "--training-data",
        "applicants@1",
    ]);
    assert!(registered.status.success());
    let base = ["--project", "default", "--model", "loans"];
    // A label column needs a score column.
    let refused = admin(&[&["monitor", "configure"], &base[..], &["--label-column", "label"]].concat());
    assert!(!refused.status.success());
    let configured = admin(
        &[&["monitor", "configure"], &base[..], &["--score-column", "score", "--label-column", "label"]].concat(),
    );
    let said = String::from_utf8_lossy(&configured.stdout);
    assert!(said.contains("performance estimated from the reference's score and label"), "{said}");

    let csv = dir.path().join("logs.csv");
    let mut text = String::from("id,timestamp,version,age,income,prediction,score\n");
    for i in 0..150 {
        let s = score(i * 3 + 1);
        text.push_str(&format!("r{i},1790000000,1,{},{},{},{s}\n", 20 + i % 40, 1000 + i, u8::from(s > 0.5)));
    }
    std::fs::write(&csv, text).unwrap();
    let sent = admin(&[&["log", csv.to_str().unwrap()], &base[..], &["--format", "json"]].concat());
    assert_eq!(json_stdout(&sent)["accepted"], 150);
    let shown = admin(&[&["monitor", "show"], &base[..], &["--from", "1789990000", "--to", "1790010000"]].concat());
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(text.contains("EST AUC") && text.contains("RECON ERR"), "{text}");
    assert!(text.contains("estimated    CBPE from 150 records"), "{text}");
    let auc = text.lines().find(|l| l.trim_start().starts_with("roc_auc ")).unwrap_or_else(|| panic!("{text}"));
    assert!(auc.contains("thresholds"), "{auc}");
    let multivariate = text.lines().find(|l| l.starts_with("  multivariate")).unwrap_or_else(|| panic!("{text}"));
    assert!(multivariate.contains("reconstruction error"), "{multivariate}");
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

/// `monitor analyze --reference NAME@V` fetches the registered reference and answers as
/// with the same file given locally.
#[test]
fn monitor_analyze_reads_a_registered_reference() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("bt-admin"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stats/tests/data/nannyml");
    let (reference, analysis) = (fixtures.join("reference.csv"), fixtures.join("analysis.csv"));
    let pushed = server.riskops("bt-admin", &["dataset", "push", "validation", reference.to_str().unwrap()]);
    assert!(pushed.status.success(), "{}", String::from_utf8_lossy(&pushed.stderr));
    let args = |reference: &str| {
        vec![
            "monitor".to_string(),
            "analyze".into(),
            "--reference".into(),
            reference.into(),
            "--analysis".into(),
            analysis.to_str().unwrap().into(),
            "--chunk-size".into(),
            "500".into(),
            "--columns".into(),
            "AGE,PAY_0,BILL_AMT1,BILL_AMT2,EDUCATION".into(),
            "--format".into(),
            "json".into(),
        ]
    };
    let registered: Vec<String> = args("validation@1");
    let registered: Vec<&str> = registered.iter().map(String::as_str).collect();
    let local: Vec<String> = args(reference.to_str().unwrap());
    let local: Vec<&str> = local.iter().map(String::as_str).collect();
    let from_server = json_stdout(&server.riskops("bt-admin", &registered));
    let from_file = json_stdout(&Command::new(BIN).args(&local).output().unwrap());
    assert_eq!(from_server["chunks"], from_file["chunks"]);
    assert_eq!(from_server["reference"]["records"], 2892);
    // A name that is neither a file nor NAME@V is said as such.
    let missing = Command::new(BIN)
        .args(["monitor", "analyze", "--reference", "nofile.csv", "--analysis"])
        .arg(&analysis)
        .args(["--chunk-size", "10"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such file"));
}

/// `riskops monitor analyze` (alias `backfill`) on riskops-stats' NannyML fixture (credit
/// default; a relational shift in chunks 5–6, a population shift and no labels in 7–9):
/// the JSON shape, NannyML's estimated ROC AUC/F1 and reconstruction error per chunk to
/// 1e-6 with its alerts, realized only where labels exist, and an HTML page of series.
#[test]
fn monitor_analyze_back_tests_a_file_as_nannyml_chunks_it() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../stats/tests/data");
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("nannyml_reference.json")).unwrap()).unwrap();
    let features: Vec<&str> = expected["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    let (reference, analysis) = (data.join("nannyml/reference.csv"), data.join("nannyml/analysis.csv"));
    let run = |command: &str, format: &str| {
        Command::new(BIN)
            .args(["monitor", command, "--reference"])
            .arg(&reference)
            .arg("--analysis")
            .arg(&analysis)
            .args(["--chunk-size", "300", "--columns", &features.join(","), "--format", format])
            .output()
            .unwrap()
    };
    let report = json_stdout(&run("analyze", "json"));
    let chunks = report["chunks"].as_array().unwrap();
    let (cbpe, drc) =
        (expected["cbpe"][0]["analysis"].as_array().unwrap(), expected["drc"]["analysis"].as_array().unwrap());
    assert_eq!(chunks.len(), 10);
    assert_eq!(
        (chunks[9]["start"].as_u64(), chunks[9]["end"].as_u64(), chunks[9]["records"].as_u64()),
        (Some(2700), Some(2949), Some(250))
    );
    let close = |got: &Value, want: &Value, what: &str| {
        let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
        assert!((g - w).abs() <= 1e-6, "{what}: {g} vs NannyML {w}");
    };
    for (k, c) in chunks.iter().enumerate() {
        for m in ["roc_auc", "f1"] {
            close(&c["estimated"][m]["value"], &cbpe[k][m]["value"], &format!("chunk {k} {m}"));
            close(&c["estimated"][m]["lower"], &cbpe[k][m]["lower"], &format!("chunk {k} {m} lower"));
            assert_eq!(c["estimated"][m]["alert"], cbpe[k][m]["alert"], "chunk {k} {m} alert");
        }
        let recon = &c["multivariate"]["reconstruction_error"];
        close(&recon["value"], &drc[k]["value"], &format!("chunk {k} reconstruction error"));
        assert_eq!(recon["alert"], drc[k]["alert"]);
        assert_eq!(c["realized"].is_null(), k >= 7, "chunk {k}: realized only with labels");
        let feature = &c["drift"]["features"][0];
        assert!(feature["name"].is_string() && feature["method"].is_string() && feature["statistic"].is_number());
    }
    // The shuffled BILL_AMT2 moves no single column but the reconstruction error alerts.
    assert_eq!(chunks[5]["multivariate"]["reconstruction_error"]["alert"], true);
    assert_eq!(chunks[7]["estimated"]["f1"]["alert"], true);

    let html = run("backfill", "html");
    assert!(html.status.success());
    let page = String::from_utf8(html.stdout).unwrap();
    for metric in ["roc_auc", "f1", "reconstruction_error", "drift_share"] {
        assert!(page.contains(&format!("data-metric=\"{metric}\"")), "{metric} chart");
    }
    assert!(page.contains("data-chunk=\"5\"") && page.contains("data-alert=\"true\"") && !page.contains("<script"));
    let text = String::from_utf8(run("analyze", "text").stdout).unwrap();
    assert!(text.starts_with("reference: 2892 rows, 10 chunks of 300"), "{text}");
}
