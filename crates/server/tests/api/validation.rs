//! Evidence riskops produces: `POST …/validations` scores a dataset version with the model on
//! the server and files `validation` and `fairness` evidence, produced by riskops.

use super::*;

fn model_fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)).unwrap()
}

/// scikit-learn's roc_auc_score on the same predictions (tests/data/make_validation_reference.py).
fn reference_auc(name: &str) -> f64 {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/validation_reference.json");
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["roc_auc"][name].as_f64().unwrap()
}

#[tokio::test]
async fn validate_scores_the_dataset_on_the_server_and_files_produced_evidence() {
    for s in servers().await {
        let (status, _) =
            s.upload("/api/v1/datasets/credit/versions", json!({}), model_fixture("credit_gbc_input.csv")).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, m) = s
            .upload("/api/v1/models/credit/versions", json!({"framework": "onnx"}), model_fixture("credit_gbc.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");

        // Bad input: a 422 naming the field, and nothing filed.
        let url = "/api/v1/models/credit/versions/1/validations";
        let (status, body) = s.post(url, json!({"data": "credit@1", "label": "nope"})).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("label")),
            "{body}"
        );
        let (status, body) = s.post(url, json!({"data": "credit@1", "label": "default", "threshold": 2.0})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("threshold")));
        let (_, listed) = s.get("/api/v1/models/credit/versions/1/evidence", Some(TOKEN)).await;
        assert_eq!(listed["evidence"].as_array().unwrap().len(), 0);

        let request = json!({"data": "credit@1", "label": "default", "protected": ["SEX"], "seed": 7});
        let (status, report) = s.post(url, request.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        assert_eq!((report["kind"].as_str(), report["produced_by"].as_str()), (Some("validation"), Some("riskops")));
        assert_eq!(report["n"], 300);
        let auc = &report["metrics"]["roc_auc"];
        let expected = reference_auc("credit_gbc");
        assert!((auc["value"].as_f64().unwrap() - expected).abs() < 1e-9, "{auc} vs sklearn {expected}");
        assert!(auc["ci_low"].as_f64().unwrap() < expected && expected < auc["ci_high"].as_f64().unwrap(), "{auc}");
        let accuracy = &report["metrics"]["accuracy"];
        assert!(accuracy["ci_low"].as_f64().unwrap() <= accuracy["value"].as_f64().unwrap());
        assert_eq!(report["calibration"]["bins"].as_array().unwrap().len(), 10);
        let checks: Vec<&str> =
            report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(checks, ["validation.min_roc_auc", "validation.max_ece"]);
        // The default policy's threshold for an unassessed (high) project.
        assert_eq!(report["checks"][0]["threshold"], 0.7);
        assert_eq!(report["passed"], report["checks"].as_array().unwrap().iter().all(|c| c["passed"] == true));
        assert!(report["segment_test"].as_str().unwrap().contains("Holm"));
        for seg in report["segments"].as_array().unwrap() {
            assert!(seg["gap"].as_f64().unwrap() < 0.0 && seg["n"].as_u64().unwrap() >= 30, "{seg}");
        }
        let sex = &report["fairness"]["attributes"][0];
        assert_eq!((sex["attribute"].as_str(), sex["groups"].as_array().unwrap().len()), (Some("SEX"), 2));
        assert!(report["fairness_evidence_id"].is_i64());

        // The same seed gives the same report.
        let (_, again) = s.post(url, request).await;
        assert_eq!(again["metrics"], report["metrics"]);

        // Filed as evidence produced by riskops, on the dataset, and linked in lineage.
        let (_, listed) = s.get("/api/v1/models/credit/versions/1/evidence", Some(TOKEN)).await;
        let first = &listed["evidence"][0];
        assert_eq!((first["kind"].as_str(), first["produced_by"].as_str()), (Some("validation"), Some("riskops")));
        assert_eq!(first["dataset"], "credit@1");
        assert_eq!(listed["evidence"][1]["kind"], "fairness");
        let (_, lineage) = s.get("/api/v1/lineage/model/credit/1", Some(TOKEN)).await;
        let edges = lineage["edges"].as_array().unwrap();
        assert!(edges.iter().any(|e| e["from"] == "dataset:credit@1" && e["relation"] == "validated_on"), "{lineage}");
    }
}
