//! `riskops report model`: the committee's document in JSON, Markdown and HTML, and the HTML
//! as headless Chromium renders it.

use super::*;

/// A served model with lineage, risks, evidence (a plain file and a JSON results report),
/// two approvals and a production deployment. Returns the server and the admin token.
fn reported_model(dir: &Path) -> Server {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let server = Server::start(&data, Some("rep-admin"));
    let admin = |args: &[&str]| json_stdout(&server.riskops("rep-admin", &[args, &["--format", "json"]].concat()));
    let token_of = |name: &str, role: &str| {
        admin(&["user", "create", name, "--role", role])["token"].as_str().unwrap().to_string()
    };
    let (ds, val, risk) =
        (token_of("dana", "data_scientist"), token_of("victor", "validator"), token_of("rita", "risk_officer"));
    let as_ = |token: &str, args: &[&str]| json_stdout(&server.riskops(token, &[args, &["--format", "json"]].concat()));
    // The story is about what the report shows of uploaded evidence and approvals.
    super::governance::accept_uploaded_evidence(&server, "rep-admin", dir);

    admin(&[
        "project",
        "create",
        "credit",
        "--description",
        "Retail credit decisions <for personal loans>",
        "--industry",
        "finance",
        "--workflow",
        "credit_decisioning",
        "--workflow-description",
        "loan officers review every decline",
    ]);
    admin(&[
        "risk",
        "add",
        "credit",
        "--failure-mode",
        "threshold_misalignment",
        "--severity",
        "4",
        "--likelihood",
        "3",
    ]);
    let train = dir.join("train.csv");
    std::fs::write(&train, "income,age,default\n10,30,0\n20,40,1\n30,50,0\n").unwrap();
    as_(&ds, &["dataset", "push", "loans", train.to_str().unwrap(), "--project", "credit"]);
    let artifact = dir.join("model.bin");
    std::fs::write(&artifact, b"weights v1").unwrap();
    as_(
        &ds,
        &[
            "model",
            "register",
            "scorer",
            "--artifact",
            artifact.to_str().unwrap(),
            "--project",
            "credit",
            "--training-data",
            "loans@1",
            "--code-repo",
            "https://git.example.com/credit/scorer",
            "--code-commit",
            "4f2c9e1",
            "--description",
            "gradient-boosted default scorer",
        ],
    );
    let asked = as_(&ds, &["model", "promote", "scorer@1", "--to", "production", "--reason", "first release"]);
    let id = asked["id"].to_string();

    // Validation as a JSON report of results (the shape `riskops validate` files); the
    // others are plain uploaded files.
    let results = dir.join("validation.json");
    let report = serde_json::json!({
        "kind": "validation", "passed": true, "n": 5000,
        "metrics": {"roc_auc": {"value": 0.8123, "ci_low": 0.79, "ci_high": 0.83},
                    "accuracy": {"value": 0.76, "ci_low": 0.74, "ci_high": 0.78}},
        "calibration": {"ece": 0.031, "bins": [
            {"mean_predicted": 0.1, "fraction_positive": 0.08, "n": 2000},
            {"mean_predicted": 0.5, "fraction_positive": 0.55, "n": 1500},
            {"mean_predicted": 0.9, "fraction_positive": 0.86, "n": 1500}]},
        "segments": [{"segment": "age<25", "n": 310, "metric": "roc_auc", "value": 0.71, "gap": -0.10, "p_value": 0.004}],
        "checks": [{"name": "min_roc_auc", "value": 0.8123, "threshold": 0.7, "passed": true}]
    });
    std::fs::write(&results, report.to_string()).unwrap();
    let plain = dir.join("notes.txt");
    std::fs::write(&plain, "reviewed by the second line").unwrap();
    for (kind, file) in [("validation", &results), ("fairness", &plain), ("documentation", &plain)] {
        let args =
            ["evidence", "add", "scorer@1", "--kind", kind, "--file", file.to_str().unwrap(), "--passed", "true"];
        as_(&val, &args);
    }
    // A stress test that found a weakness, filed after the gate's evidence.
    let stress = dir.join("stress.json");
    let stress_report = serde_json::json!({
        "kind": "stress_test", "passed": false,
        "checks": [
            {"name": "edge_cases", "passed": false, "value": 1, "threshold": 0,
             "failures": [{"input": {"income": null, "age": 30}, "output": null, "reason": "no output for a missing income"}]},
            {"name": "noise_robustness", "passed": true, "value": 0.021, "threshold": 0.05,
             "by_feature": {"income": 0.034, "age": 0.008}}
        ]
    });
    std::fs::write(&stress, stress_report.to_string()).unwrap();
    let args = [
        "evidence",
        "add",
        "scorer@1",
        "--kind",
        "stress_test",
        "--file",
        stress.to_str().unwrap(),
        "--passed",
        "false",
    ];
    as_(&val, &args);
    as_(&val, &["promotion", "approve", &id, "--comment", "validated on holdout"]);
    assert_eq!(as_(&risk, &["promotion", "approve", &id])["status"], "completed");

    // Production traffic: a day of labelled predictions, an hour ago by the server's clock.
    admin(&[
        "monitor",
        "configure",
        "--project",
        "credit",
        "--model",
        "scorer",
        "--window",
        "day",
        "--exclude",
        "default",
    ]);
    #[allow(clippy::disallowed_methods)] // records must be recent for the server's own (real) clock
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 3600;
    let mut logs = String::from("id,timestamp,version,income,age,prediction,label\n");
    for i in 0..60 {
        logs.push_str(&format!("p{i},{now},1,{},{},{},{}\n", 10 + i % 25, 30 + i % 20, i % 2, (i / 2) % 2));
    }
    let file = dir.join("logs.csv");
    std::fs::write(&file, logs).unwrap();
    let sent = admin(&["log", file.to_str().unwrap(), "--project", "credit", "--model", "scorer"]);
    assert_eq!(sent["accepted"], 60, "{sent}");
    server
}

#[test]
fn the_model_report_gathers_lineage_risks_evidence_approvals_and_deployments_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let server = reported_model(dir.path());
    let run = |args: &[&str]| server.riskops("rep-admin", args);

    let doc = json_stdout(&run(&["report", "model", "scorer@1", "--format", "json"]));
    assert_eq!((doc["model"]["name"].as_str(), doc["model"]["version"].as_u64()), (Some("scorer"), Some(1)));
    assert_eq!(doc["project"]["description"], "Retail credit decisions <for personal loans>");
    assert_eq!(doc["stages"], serde_json::json!(["production"]));
    assert_eq!(doc["model"]["training_data"], "loans@1");
    assert!(doc["lineage"]["edges"].as_array().unwrap().iter().any(|e| e["relation"] == "trained_on"), "{doc}");
    assert_eq!(
        (doc["risks"][0]["severity"].as_u64(), doc["risks"][0]["failure_mode"].as_str()),
        (Some(4), Some("threshold_misalignment"))
    );
    let evidence = doc["evidence"].as_array().unwrap();
    assert_eq!(evidence.len(), 4);
    assert_eq!(evidence[3]["report"]["checks"][0]["failures"][0]["reason"], "no output for a missing income");
    assert_eq!(evidence[0]["report"]["metrics"]["roc_auc"]["value"], 0.8123, "the JSON report is read");
    assert!(evidence[1]["report"].is_null(), "a plain file has no report");
    assert!(doc["explanations"].is_null());
    let decisions = doc["promotions"][0]["decisions"].as_array().unwrap();
    assert_eq!(decisions.len(), 2);
    assert_eq!(decisions[0]["comment"], "validated on holdout");
    assert_eq!(doc["deployments"][0]["environment"], "production");
    assert_eq!(doc["deployments"][0]["signature"]["algorithm"], "ed25519");
    assert_eq!(doc["open_incidents"], serde_json::json!([]));
    let windows = doc["monitoring"]["windows"].as_array().unwrap();
    assert_eq!(windows.len(), 1, "{}", doc["monitoring"]);
    assert_eq!(windows[0]["records"], 60);

    let md = run(&["report", "model", "scorer@1", "--format", "markdown"]);
    assert!(md.status.success(), "{}", String::from_utf8_lossy(&md.stderr));
    let md = String::from_utf8(md.stdout).unwrap();
    for expected in [
        "# Model report: scorer@1",
        "## 1. Intended use",
        "Retail credit decisions &lt;for personal loans&gt;",
        "https://git.example.com/credit/scorer",
        "| threshold_misalignment |",
        "| roc_auc | 0.8123 | 0.7900 – 0.8300 |",
        "| age&lt;25 | 310 | roc_auc |",
        "| min_roc_auc | passed |",
        "| edge_cases | failed | 1 | 0 | 1 failure(s): {&quot;income&quot;:null,&quot;age&quot;:30} → no output for a missing income |",
        "by feature: income 0.0340, age 0.0080",
        "Not yet produced: run `riskops explain` on this version.",
        "| approve | victor | validator |",
        "| production |",
        "ed25519 key",
        "No open incidents.",
    ] {
        assert!(md.contains(expected), "{expected:?} in\n{md}");
    }
    let text = String::from_utf8(run(&["report", "model", "scorer@1"]).stdout).unwrap();
    let undated = |doc: &str| doc.lines().filter(|l| !l.contains(" · generated ")).collect::<Vec<_>>().join("\n");
    assert_eq!(undated(&text), undated(&md), "text is the Markdown");

    let html = run(&["report", "model", "scorer", "--format", "html"]);
    assert!(html.status.success(), "{}", String::from_utf8_lossy(&html.stderr));
    let html = String::from_utf8(html.stdout).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("@import"), "self-contained");
    assert!(!html.contains("href=\"http") && !html.contains("url("), "no remote assets");
    assert!(html.contains("@media print"), "a print stylesheet");
    assert!(html.contains("aria-label=\"reliability diagram\"") && html.contains("aria-label=\"metric bars\""));
    assert!(html.contains("aria-label=\"risk matrix\""));
    assert!(html.contains("Retail credit decisions &lt;for personal loans&gt;"), "text is escaped");
    assert!(html.contains("uploaded by victor"), "evidence says who filed it");

    // Only report formats; an unknown version is the server's 404.
    assert_eq!(run(&["report", "model", "scorer@1", "--format", "dot"]).status.code(), Some(2));
    let missing = run(&["report", "model", "scorer@9"]);
    assert_ne!(missing.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("HTTP 404"));
}

/// Debian's `chromium`, if installed.
fn chromium() -> Option<std::path::PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(std::path::PathBuf::from).find(|p| p.exists())
}

#[test]
fn the_html_model_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        eprintln!("SKIPPED: chromium is not installed (apt-get install chromium); the HTML report was not rendered");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let server = reported_model(dir.path());
    let html = server.riskops("rep-admin", &["report", "model", "scorer@1", "--format", "html"]);
    assert!(html.status.success());
    let page = dir.path().join("report.html");
    std::fs::write(&page, &html.stdout).unwrap();
    // Kept for people to look at when RISKOPS_REPORT_KEEP names a folder.
    let keep = std::env::var_os("RISKOPS_REPORT_KEEP").map_or_else(|| dir.path().to_path_buf(), Into::into);
    std::fs::write(Path::new(&keep).join("report.html"), &html.stdout).unwrap();
    let shot = Path::new(&keep).join("report.png");
    let pdf = Path::new(&keep).join("report.pdf");
    let profile = dir.path().join("profile");
    let url = format!("file://{}", page.display());
    for output in [format!("--screenshot={}", shot.display()), format!("--print-to-pdf={}", pdf.display())] {
        let out = Command::new(&browser)
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(["--window-size=1280,2400", "--no-pdf-header-footer", &output, &url])
            .output()
            .unwrap();
        assert!(out.status.success(), "chromium {output}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 20_000, "a screenshot with content: {} bytes", png.len());
    let pdf = std::fs::read(&pdf).unwrap();
    assert!(pdf.starts_with(b"%PDF") && pdf.len() > 10_000, "a printed report: {} bytes", pdf.len());
}
