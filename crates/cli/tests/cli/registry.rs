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
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no dataset version events@5"));
    let m = json_stdout(&run(&[
        "model",
        "register",
        "ranker",
        "--artifact",
        artifact.to_str().unwrap(),
        "--framework",
        "onnx",
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
