//! Evidence riskops produces: `POST …/validations` scores a dataset version with the model on
//! the server and files `validation` and `fairness` evidence, produced by riskops.

use super::*;

fn model_fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)).unwrap()
}

/// scikit-learn's roc_auc_score on the same predictions (tests/data/make_validation_reference.py).
pub(crate) fn reference_auc(name: &str) -> f64 {
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
        let segments = report["segments"].as_array().unwrap();
        for seg in segments {
            assert!(seg["gap"].as_f64().unwrap() < 0.0 && seg["n"].as_u64().unwrap() >= 30, "{seg}");
        }
        let p_values: Vec<f64> = segments.iter().map(|s| s["p_value"].as_f64().unwrap()).collect();
        assert!(p_values.windows(2).all(|w| w[0] <= w[1]), "ranked by adjusted p-value");
        assert!(segments.iter().any(|s| s["segment"].as_str().unwrap().contains(" & ")), "two-feature slices");
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

#[tokio::test]
async fn stress_tests_are_produced_on_the_server_and_find_a_pipeline_without_an_imputer() {
    for s in servers().await {
        s.upload("/api/v1/datasets/bike/versions", json!({}), model_fixture("bike_weather_logreg_input.csv")).await;
        s.upload("/api/v1/datasets/adult/versions", json!({}), model_fixture("adult_logreg_input.csv")).await;
        for (name, file) in [("weather", "bike_weather_logreg.onnx"), ("adult", "adult_logreg.onnx")] {
            let (status, m) = s
                .upload(&format!("/api/v1/models/{name}/versions"), json!({"framework": "onnx"}), model_fixture(file))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{m}");
        }
        let (status, body) = s
            .post("/api/v1/models/weather/versions/1/stress-tests", json!({"data": "bike@1", "monotone": ["temp"]}))
            .await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("monotone")));

        // A scaler and a logistic regression without an imputer: a missing number gives no valid output.
        let request = json!({"data": "bike@1", "label": "weathersit", "monotone": ["temp:+"], "seed": 3});
        let (status, report) = s.post("/api/v1/models/weather/versions/1/stress-tests", request.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        assert_eq!((report["kind"].as_str(), report["produced_by"].as_str()), (Some("stress_test"), Some("riskops")));
        let check =
            |name: &str| report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
        let edge = check("edge_cases");
        assert_eq!(edge["passed"], false);
        let missing: Vec<&Value> = edge["failures"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["reason"].as_str().unwrap().starts_with("missing"))
            .collect();
        assert_eq!(missing.len(), 11, "every feature missing fails: {edge}");
        assert_eq!(missing[0]["input"].as_object().unwrap().values().next().unwrap(), &Value::Null);
        let noise = check("noise_robustness");
        let all = &noise["by_feature"]["(all features)"];
        assert!(all["flip_rate@1%"].as_f64().unwrap() <= all["flip_rate@10%"].as_f64().unwrap() + 0.05, "{noise}");
        assert_eq!(noise["value"], all["flip_rate@5%"]);
        assert_eq!(noise["threshold"], 0.05);
        assert!(noise["by_feature"]["humidity"]["score_change@10%"].as_f64().unwrap() >= 0.0);
        let shift = check("shift_degradation");
        assert_eq!(shift["by_feature"]["temp"].as_object().unwrap().len(), 5, "{shift}");
        assert!(check("monotonicity")["by_feature"]["temp"]["violation_rate"].is_f64());
        assert_eq!(report["passed"], false);
        // Reproduced from its seed.
        let (_, again) = s.post("/api/v1/models/weather/versions/1/stress-tests", request).await;
        assert_eq!(again["checks"], report["checks"]);

        // The adult pipeline imputes missing numbers and ignores unseen categories; its later
        // rows (the second half, as unseen data) are compared with the whole, with intervals.
        let text = String::from_utf8(model_fixture("adult_logreg_input.csv")).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let late = format!("{}\n{}\n", lines[0], lines[151..].join("\n"));
        s.upload("/api/v1/datasets/late/versions", json!({}), late.into_bytes()).await;
        let request = json!({"data": "adult@1", "label": "income", "unseen": "late@1"});
        let (status, report) = s.post("/api/v1/models/adult/versions/1/stress-tests", request).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        let check =
            |name: &str| report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
        assert_eq!(check("edge_cases")["passed"], true, "{}", check("edge_cases"));
        let unseen = check("unseen_data");
        let (data, late) = (&unseen["by_feature"]["data"], &unseen["by_feature"]["late@1"]);
        assert!(late["ci_low"].as_f64().unwrap() <= late["roc_auc"].as_f64().unwrap(), "{unseen}");
        let drop = data["roc_auc"].as_f64().unwrap() - late["roc_auc"].as_f64().unwrap();
        assert!((unseen["value"].as_f64().unwrap() - drop).abs() < 1e-12);

        // More rows than the checks sample: noise is added to the sampled rows themselves
        // (a perturbed table once held every row of the feature next to the sample's others),
        // so 1% noise flips few decisions.
        let tiled = format!(
            "{}\n{}\n",
            lines[0],
            std::iter::repeat_n(lines[1..].join("\n"), 10).collect::<Vec<_>>().join("\n")
        );
        s.upload("/api/v1/datasets/many/versions", json!({}), tiled.into_bytes()).await;
        let request = json!({"data": "many@1", "label": "income", "seed": 5});
        let (status, report) = s.post("/api/v1/models/adult/versions/1/stress-tests", request).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        let noise = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "noise_robustness").unwrap();
        let flips = noise["by_feature"]["(all features)"]["flip_rate@1%"].as_f64().unwrap();
        assert!(flips < 0.05, "1% noise flipped {flips} of the decisions: {noise}");

        let (_, listed) = s.get("/api/v1/models/weather/versions/1/evidence", Some(TOKEN)).await;
        assert_eq!(listed["evidence"][0]["kind"], "stress_test");
        assert_eq!(listed["evidence"][0]["produced_by"], "riskops");
    }
}

#[tokio::test]
async fn a_gate_asking_for_produced_evidence_opens_on_validate_and_stress_not_on_uploads() {
    for s in servers().await {
        s.post("/api/v1/projects", json!({"name": "credit"})).await;
        let ds = s.user("dana", &["data_scientist@credit"]).await;
        let val = s.user("victor", &["validator"]).await;
        let risk = s.user("rita", &["risk_officer"]).await;
        // Lenient thresholds: this story is about who produced the evidence, not its numbers.
        let (_, current) = s.get("/api/v1/policy", Some(TOKEN)).await;
        let mut policy = current["policy"].clone();
        policy["thresholds"]["high"] =
            json!({"validation.max_ece": 1.0, "stress.max_flip_rate": 1.0, "stress.max_shift_auc_drop": 1.0});
        let (status, body) = s.call("PUT", "/api/v1/policy", TOKEN, Some(policy)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        s.upload("/api/v1/datasets/holdout/versions", json!({}), model_fixture("credit_gbc_input.csv")).await;
        let metadata = json!({"project": "credit", "framework": "onnx"});
        let (status, body) =
            s.upload_as(&ds, "/api/v1/models/scorer/versions", metadata, model_fixture("credit_gbc.onnx")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        let (_, p) =
            s.call("POST", "/api/v1/models/scorer/versions/1/promotions", &ds, Some(json!({"to": "production"}))).await;
        let id = p["id"].as_i64().unwrap();
        assert_eq!(p["gate"]["produced"], json!(["validation", "stress_test"]), "{p}");
        // Uploaded files, even passing ones, do not count where the gate asks for produced evidence.
        for kind in ["validation", "stress_test", "fairness", "documentation"] {
            let (status, e) = s
                .upload_as(
                    &val,
                    "/api/v1/models/scorer/versions/1/evidence",
                    json!({"kind": kind, "passed": true}),
                    format!("{kind} report").into_bytes(),
                )
                .await;
            assert_eq!(status, StatusCode::CREATED, "{e}");
        }
        s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &val, Some(json!({}))).await;
        let (_, p) = s.call("POST", &format!("/api/v1/promotions/{id}/approve"), &risk, Some(json!({}))).await;
        assert_eq!(p["status"], "pending", "{p}");
        assert_eq!(p["missing"], json!(["evidence:validation", "evidence:stress_test"]));
        assert_eq!(
            p["missing_reasons"][0]["reason"],
            "only uploaded validation evidence on file (1); the gate asks for validation evidence riskops produced (riskops validate)"
        );

        // Who may not add evidence may not have riskops produce it either.
        let request = json!({"data": "holdout@1", "label": "default"});
        let (status, report) =
            s.call("POST", "/api/v1/models/scorer/versions/1/validations", &ds, Some(request.clone())).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{report}");

        let (status, report) =
            s.call("POST", "/api/v1/models/scorer/versions/1/validations", &val, Some(request.clone())).await;
        assert_eq!((status, report["passed"].clone()), (StatusCode::CREATED, json!(true)), "{report}");
        let (_, p) = s.get(&format!("/api/v1/promotions/{id}"), Some(TOKEN)).await;
        assert_eq!(p["missing"], json!(["evidence:stress_test"]));
        let (status, report) =
            s.call("POST", "/api/v1/models/scorer/versions/1/stress-tests", &val, Some(request)).await;
        assert_eq!((status, report["passed"].clone()), (StatusCode::CREATED, json!(true)), "{report}");
        let (_, p) = s.get(&format!("/api/v1/promotions/{id}"), Some(TOKEN)).await;
        assert_eq!(p["status"], "completed", "{p}");

        // Compliance judges the produced evidence: C07 (validation) and C14 (thresholds).
        let (_, r) = s.call("GET", "/api/v1/projects/credit/compliance", TOKEN, None).await;
        let control = |id: &str| r["controls"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap().clone();
        assert_eq!(control("C07")["status"], "satisfied", "{}", control("C07"));
        assert_eq!(control("C14")["status"], "satisfied", "{}", control("C14"));

        // A challenger is compared with the version in production on the same rows.
        let metadata = json!({"project": "credit", "framework": "onnx"});
        let (status, body) =
            s.upload_as(&ds, "/api/v1/models/scorer/versions", metadata, model_fixture("credit_xgb.onnx")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let request = json!({"data": "holdout@1", "label": "default", "compare_with": "production"});
        let (status, report) =
            s.call("POST", "/api/v1/models/scorer/versions/2/validations", &val, Some(request)).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        let champion = &report["champion"];
        assert_eq!((champion["model"].as_str(), champion["version"].as_u64()), (Some("scorer"), Some(1)));
        let champion_auc = champion["metrics"]["roc_auc"]["value"].as_f64().unwrap();
        assert!((champion_auc - reference_auc("credit_gbc")).abs() < 1e-9);
        let diff = &champion["roc_auc_difference"];
        let d = diff["value"].as_f64().unwrap();
        assert!((d - (report["metrics"]["roc_auc"]["value"].as_f64().unwrap() - champion_auc)).abs() < 1e-12);
        assert!(diff["ci_low"].as_f64().unwrap() <= d && d <= diff["ci_high"].as_f64().unwrap(), "{diff}");
        assert!(
            report["checks"].as_array().unwrap().iter().any(|c| c["name"] == "validation.max_auc_drop_vs_champion")
        );
        let (status, body) = s
            .call(
                "POST",
                "/api/v1/models/scorer/versions/2/validations",
                &val,
                Some(json!({"data": "holdout@1", "label": "default", "compare_with": "staging"})),
            )
            .await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("compare_with")));
    }
}

#[tokio::test]
async fn a_regressor_is_validated_with_regression_metrics() {
    for s in servers().await {
        s.upload("/api/v1/datasets/bike/versions", json!({}), model_fixture("bike_gbr_input.csv")).await;
        let (status, m) = s
            .upload("/api/v1/models/rides/versions", json!({"framework": "onnx"}), model_fixture("bike_gbr.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let (status, report) =
            s.post("/api/v1/models/rides/versions/1/validations", json!({"data": "bike@1", "label": "count"})).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        assert_eq!(report["task"], "regression");
        let metrics: Vec<&str> = report["metrics"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(metrics, ["mae", "mape", "r2", "rmse"]);
        let r2 = &report["metrics"]["r2"];
        assert!(r2["ci_low"].as_f64().unwrap() <= r2["value"].as_f64().unwrap(), "{r2}");
        assert!(report["calibration"].is_null() && report["segments"].as_array().unwrap().is_empty());
        assert_eq!(report["checks"][0]["name"], "validation.min_r2");
    }
}

#[tokio::test]
async fn explain_files_produced_explainability_evidence_whose_values_add_up() {
    for s in servers().await {
        s.upload("/api/v1/datasets/credit/versions", json!({}), model_fixture("credit_gbc_input.csv")).await;
        let (status, m) = s
            .upload("/api/v1/models/gbc/versions", json!({"framework": "onnx"}), model_fixture("credit_gbc.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let url = "/api/v1/models/gbc/versions/1/explanations";
        let (status, body) = s.post(url, json!({"data": "credit@1", "rows": 0})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("rows")));

        let request = json!({"data": "credit@1", "label": "default", "rows": 200, "repeats": 3, "seed": 7});
        let (status, report) = s.post(url, request.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        assert_eq!(
            (report["kind"].as_str(), report["produced_by"].as_str()),
            (Some("explainability"), Some("riskops"))
        );
        assert_eq!(
            (report["method"].as_str(), report["output"].as_str()),
            (Some("tree_shap_interventional"), Some("log_odds"))
        );
        assert_eq!(report["passed"], true, "{}", report["additivity_max_error"]);
        assert!(report["additivity_max_error"].as_f64().unwrap() <= 1e-6);
        // The features are the model's input columns (the id is carried, never a feature).
        let features: Vec<&str> = report["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert_eq!(features.len(), 23, "{features:?}");
        assert!(features.contains(&"PAY_0") && !features.contains(&"id") && !features.contains(&"default"));
        // Each row: base value + contributions = the output the model gives.
        let base = report["base_value"].as_f64().unwrap();
        let rows = report["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 200);
        for r in rows {
            let sum: f64 = r["contributions"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).sum();
            assert!((base + sum - r["output"].as_f64().unwrap()).abs() < 1e-6, "{r}");
        }
        // Global importance, most important first, with permutation importance (ROC AUC drop).
        let global = report["global"].as_array().unwrap();
        let shap: Vec<f64> = global.iter().map(|g| g["mean_abs_shap"].as_f64().unwrap()).collect();
        assert!(shap.windows(2).all(|w| w[0] >= w[1]), "{shap:?}");
        assert_eq!(report["permutation_metric"], "roc_auc");
        assert!(global.iter().all(|g| g["permutation_importance"].is_f64() && g["std"].as_f64().unwrap() >= 0.0));
        assert!(global[0]["permutation_importance"].as_f64().unwrap() > 0.0, "the top feature matters: {}", global[0]);
        // The rows' values as a Parquet table: the same numbers, one column per feature.
        let artifact = report["rows_artifact"].as_str().unwrap();
        let answer = s.http.get(s.url(artifact)).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.headers()["content-type"], "application/vnd.apache.parquet");
        let bytes = answer.bytes().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("attributions.parquet");
        std::fs::write(&path, &bytes).unwrap();
        let table = riskops_parquet::read_parquet(&path, None, &|_| {}).unwrap().table;
        assert_eq!((table.rows, table.columns.len()), (200, 2 + 23));
        let column = |name: &str| table.columns.iter().find(|c| c.name == name).unwrap();
        let riskops_data::Values::Float(pay) = &column("PAY_0").values else { panic!("PAY_0 is a float column") };
        let at = features.iter().position(|f| *f == "PAY_0").unwrap();
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(pay[r], row["contributions"][at].as_f64().unwrap());
        }
        let missing = artifact.replace("/evidence/", "/evidence/9").to_string();
        let (status, _) = s.get(&missing, Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // Reproduced from its seed; filed by a validator (not the model's author), it is
        // produced explainability evidence that counts toward the gates.
        let validator = s.user("val", &["validator"]).await;
        let (status, again) = s.call("POST", url, &validator, Some(request)).await;
        assert_eq!(status, StatusCode::CREATED, "{again}");
        assert_eq!(again["global"], report["global"]);
        let (_, listed) = s.get("/api/v1/models/gbc/versions/1/evidence", Some(TOKEN)).await;
        let by_validator = &listed["evidence"][1];
        assert_eq!(
            (by_validator["kind"].as_str(), by_validator["produced_by"].as_str(), by_validator["created_by"].as_str()),
            (Some("explainability"), Some("riskops"), Some("val"))
        );
        assert_eq!(by_validator["counts"], true, "{by_validator}");
    }
}

#[tokio::test]
async fn one_decision_is_explained_feature_by_feature_against_the_versions_data() {
    for s in servers().await {
        s.upload("/api/v1/datasets/credit/versions", json!({}), model_fixture("credit_gbc_input.csv")).await;
        let (status, m) = s
            .upload("/api/v1/models/gbc/versions", json!({"framework": "onnx"}), model_fixture("credit_gbc.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let text = String::from_utf8(model_fixture("credit_gbc_input.csv")).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let cells: Vec<&str> = lines.next().unwrap().split(',').collect();
        let record: serde_json::Map<String, Value> = header
            .iter()
            .zip(&cells)
            .filter(|(h, _)| **h != "default")
            .map(|(h, c)| (h.to_string(), json!(c.parse::<f64>().unwrap())))
            .collect();
        let url = "/api/v1/projects/default/models/gbc/versions/1/explain";
        // Without data to explain against, the answer says what to register.
        let (status, body) = s.post(url, json!({"record": record})).await;
        assert_eq!(
            (status, body["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("model")),
            "{body}"
        );

        let metadata = json!({"framework": "onnx", "validation_data": "credit@1"});
        let (status, m) = s.upload("/api/v1/models/gbc/versions", metadata, model_fixture("credit_gbc.onnx")).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let url = "/api/v1/projects/default/models/gbc/versions/2/explain";
        let (status, answer) = s.post(url, json!({"record": record})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let e = &answer["explanations"][0];
        assert!(["0", "1"].contains(&e["prediction"].as_str().unwrap()), "{e}");
        assert_eq!(e["output_space"], "log_odds");
        let contributions = e["contributions"].as_array().unwrap();
        assert_eq!(contributions.len(), 23);
        let sizes: Vec<f64> = contributions.iter().map(|c| c["contribution"].as_f64().unwrap().abs()).collect();
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "largest first: {sizes:?}");
        let sum: f64 = contributions.iter().map(|c| c["contribution"].as_f64().unwrap()).sum();
        assert!((e["base_value"].as_f64().unwrap() + sum - e["output"].as_f64().unwrap()).abs() < 1e-9, "{e}");
        let pay = contributions.iter().find(|c| c["feature"] == "PAY_0").unwrap();
        // Whole numbers read as integers (2, not 2.0): the words of a notice to a customer.
        assert_eq!(pay["value"], json!((record["PAY_0"].as_f64().unwrap() as i64).to_string()));
        // The output is the model's: its probability is the logistic of the log-odds.
        let probability = 1.0 / (1.0 + (-e["output"].as_f64().unwrap()).exp());
        let expected = model_fixture_text("credit_gbc_expected.csv");
        let first: Vec<&str> = expected.lines().nth(1).unwrap().split(',').collect();
        let p1: f64 = first.last().unwrap().parse().unwrap();
        assert!((probability - p1).abs() < 1e-5, "{probability} vs onnxruntime's {p1}");
        // Several at once; neither is an error.
        let (status, two) = s.post(url, json!({"records": [record, record]})).await;
        assert_eq!((status, two["explanations"].as_array().unwrap().len()), (StatusCode::OK, 2));
        let (status, _) = s.post(url, json!({})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

fn model_fixture_text(name: &str) -> String {
    String::from_utf8(model_fixture(name)).unwrap()
}

#[tokio::test]
async fn permutation_shap_explains_any_model_adds_up_and_is_exact_for_a_linear_one() {
    for s in servers().await {
        s.upload("/api/v1/datasets/adult/versions", json!({}), model_fixture("adult_logreg_input.csv")).await;
        let (status, m) = s
            .upload("/api/v1/models/lr/versions", json!({"framework": "onnx"}), model_fixture("adult_logreg.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let url = "/api/v1/models/lr/versions/1/explanations";
        // A logistic regression is no tree ensemble: `tree` is refused, `kernel` is not offered.
        for (method, field) in [("tree", "method"), ("kernel", "method"), ("shapley", "method")] {
            let (status, body) = s.post(url, json!({"data": "adult@1", "method": method})).await;
            assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some(field)));
        }
        let request = |seed: u64| json!({"data": "adult@1", "label": "income", "rows": 30, "background_rows": 40, "permutations": 4, "seed": seed});
        let (status, report) = s.post(url, request(1)).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        assert_eq!(
            (report["method"].as_str(), report["output"].as_str()),
            (Some("permutation_shap"), Some("log_odds"))
        );
        assert_eq!((report["orderings"].as_u64(), report["background_rows"].as_u64()), (Some(4), Some(40)));
        assert_eq!(report["background_sample"].as_array().unwrap().len(), 40);
        // Text columns are features like the others (coalitions mix the row's and the
        // background's categories), the label and the id are not.
        let features: Vec<&str> = report["features"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
        assert!(features.contains(&"occupation") && features.contains(&"age"), "{features:?}");
        assert!(!features.contains(&"income") && !features.contains(&"id"), "{features:?}");
        assert_eq!(report["passed"], true, "{}", report["additivity_max_error"]);
        // Linear in log-odds: every ordering gives the same contributions, so the sampling
        // error is nil but for the float32 rounding of the model's probabilities.
        assert!(report["sampling_error"].as_f64().unwrap() < 1e-4, "{}", report["sampling_error"]);
        let rows = report["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 30);
        let base = report["base_value"].as_f64().unwrap();
        for r in rows {
            let sum: f64 = r["contributions"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).sum();
            assert!((base + sum - r["output"].as_f64().unwrap()).abs() < 1e-9, "{r}");
        }
        assert!(report["global"][0]["permutation_importance"].is_f64());
        // Dependence of a text feature is by category.
        let dependence = report["dependence"].as_array().unwrap();
        assert_eq!(dependence.len(), 5);
        assert!(
            dependence.iter().all(|d| d["bins"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["rows"].as_u64().unwrap())
                .sum::<u64>()
                == 30)
        );
    }
}

#[tokio::test]
async fn permutation_shap_estimates_the_exact_tree_values_within_its_stated_error() {
    for s in servers().await {
        s.upload("/api/v1/datasets/credit/versions", json!({}), model_fixture("credit_gbc_input.csv")).await;
        let (status, m) = s
            .upload("/api/v1/models/gbc/versions", json!({"framework": "onnx"}), model_fixture("credit_gbc.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let url = "/api/v1/models/gbc/versions/1/explanations";
        // The same seed draws the same rows and background for both methods.
        let request = |method: &str| json!({"data": "credit@1", "label": "default", "rows": 8, "background_rows": 30, "permutations": 30, "seed": 3, "method": method});
        let (status, exact) = s.post(url, request("tree")).await;
        assert_eq!(status, StatusCode::CREATED, "{exact}");
        let (status, sampled) = s.post(url, request("permutation")).await;
        assert_eq!(status, StatusCode::CREATED, "{sampled}");
        assert_eq!(sampled["background_sample"], exact["background_sample"]);
        assert_eq!(exact["output"], "log_odds");
        assert!((exact["base_value"].as_f64().unwrap() - sampled["base_value"].as_f64().unwrap()).abs() < 1e-5);
        let error = sampled["sampling_error"].as_f64().unwrap();
        assert!(error > 1e-3, "a boosted model is not additive: orderings differ ({error})");
        let values = |r: &Value| -> Vec<f64> {
            r["rows"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|row| {
                    row["contributions"].as_array().unwrap().iter().map(|c| c.as_f64().unwrap()).collect::<Vec<_>>()
                })
                .collect()
        };
        let (want, got) = (values(&exact), values(&sampled));
        assert_eq!(want.len(), got.len());
        // Unbiased: every value within five of the largest standard errors (plus float32
        // rounding of the probabilities the sampled method reads).
        let worst = want.iter().zip(&got).map(|(w, g)| (w - g).abs()).fold(0.0, f64::max);
        assert!(worst <= 5.0 * error + 1e-4, "largest difference {worst} against standard error {error}");
        assert!(worst > 0.0);
    }
}

#[tokio::test]
async fn a_finance_projects_decisions_carry_the_principal_adverse_reasons_in_reviewed_words() {
    for s in servers().await {
        let body = json!({"name": "lending", "template": "finance", "workflow": "fraud_detection"});
        let (status, p) = s.post("/api/v1/projects", body).await;
        assert_eq!(status, StatusCode::CREATED, "{p}");
        let data = json!({"project": "lending"});
        s.upload("/api/v1/datasets/credit/versions", data, model_fixture("credit_gbc_input.csv")).await;
        let text = model_fixture_text("credit_gbc_input.csv");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        // The wording reviewed with the version: one phrase per feature but LIMIT_BAL.
        let wording: serde_json::Map<String, Value> = header
            .iter()
            .filter(|h| !["id", "default", "LIMIT_BAL"].contains(h))
            .map(|h| (h.to_string(), json!(format!("Reason about {h}"))))
            .collect();
        let metadata = json!({"framework": "onnx", "project": "lending", "validation_data": "credit@1",
            "params": {"reason_texts": wording}});
        let (status, m) = s.upload("/api/v1/models/gbc/versions", metadata, model_fixture("credit_gbc.onnx")).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let url = "/api/v1/projects/lending/models/gbc/versions/1/explain";
        let records: Vec<serde_json::Map<String, Value>> = lines
            .take(20)
            .map(|l| {
                header
                    .iter()
                    .zip(l.split(','))
                    .filter(|(h, _)| **h != "default")
                    .map(|(h, c)| (h.to_string(), json!(c.parse::<f64>().unwrap())))
                    .collect()
            })
            .collect();
        let (status, answer) = s.post(url, json!({"records": records})).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        let mut seen_reasons = 0;
        for e in answer["explanations"].as_array().unwrap() {
            let contribution = |f: &str| {
                e["contributions"].as_array().unwrap().iter().find(|c| c["feature"] == f).unwrap()["contribution"]
                    .as_f64()
                    .unwrap()
            };
            let reasons = e["reasons"].as_array().unwrap();
            assert!(reasons.len() <= 4, "{reasons:?}");
            let against = e["contributions"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| c["contribution"].as_f64().unwrap() > 0.0)
                .count();
            assert_eq!(reasons.len(), against.min(4), "every record with factors against it gets them");
            let weights: Vec<f64> = reasons.iter().map(|r| r["weight"].as_f64().unwrap()).collect();
            assert!(weights.windows(2).all(|w| w[0] >= w[1]) && weights.iter().all(|&w| w > 0.0), "{weights:?}");
            for (i, r) in reasons.iter().enumerate() {
                let feature = r["feature"].as_str().unwrap();
                assert_eq!(r["rank"], i + 1);
                assert!((contribution(feature) - r["weight"].as_f64().unwrap()).abs() < 1e-12);
                let want = match feature {
                    "LIMIT_BAL" => format!(
                        "The value of LIMIT_BAL ({}) weighed against the application",
                        r["value"].as_str().unwrap()
                    ),
                    f => format!("Reason about {f}"),
                };
                assert_eq!(r["text"], json!(want));
            }
            seen_reasons += reasons.len();
        }
        assert!(seen_reasons > 0);
        // Turned off on request; an unknown direction is a 422.
        let (_, off) = s.post(url, json!({"records": records, "reasons": false})).await;
        assert!(off["explanations"].as_array().unwrap().iter().all(|e| e["reasons"].as_array().unwrap().is_empty()));
        let (status, body) = s.post(url, json!({"record": records[0], "adverse": "sideways"})).await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("adverse")));
        // With the other direction, the reasons are the factors that lowered the output.
        let (_, turned) = s.post(url, json!({"record": records[0], "adverse": "decrease"})).await;
        let e = &turned["explanations"][0];
        for r in e["reasons"].as_array().unwrap() {
            let c = e["contributions"].as_array().unwrap().iter().find(|c| c["feature"] == r["feature"]).unwrap();
            assert!(
                c["contribution"].as_f64().unwrap() < 0.0
                    && (c["contribution"].as_f64().unwrap() + r["weight"].as_f64().unwrap()).abs() < 1e-12
            );
        }
    }
}

#[tokio::test]
async fn path_dependent_treeshap_equals_shaps_default_tree_explainer_with_covers_from_the_training_rows() {
    for s in servers().await {
        s.upload("/api/v1/datasets/train/versions", json!({}), model_fixture("shap/credit_train.csv")).await;
        s.upload("/api/v1/datasets/rows/versions", json!({}), model_fixture("shap/credit_rows.csv")).await;
        // Without training data there is nothing to count covers from.
        let (status, m) = s
            .upload("/api/v1/models/bare/versions", json!({"framework": "onnx"}), model_fixture("shap/credit_gbc.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let (status, body) = s
            .post("/api/v1/models/bare/versions/1/explanations", json!({"data": "rows@1", "method": "tree-path"}))
            .await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("method")));
        for (model, covers) in [("credit_gbc", "counts"), ("credit_xgb", "hessians")] {
            let metadata = json!({"framework": "onnx", "training_data": "train@1"});
            let onnx = model_fixture(&format!("shap/{model}.onnx"));
            let (status, m) =
                s.upload(&format!("/api/v1/models/{}/versions", model.replace('_', "-")), metadata, onnx).await;
            assert_eq!(status, StatusCode::CREATED, "{m}");
            let url = format!("/api/v1/models/{}/versions/1/explanations", model.replace('_', "-"));
            let request =
                json!({"data": "rows@1", "label": "default", "rows": 1000, "method": "tree-path", "covers": covers});
            let (status, report) = s.post(&url, request).await;
            assert_eq!(status, StatusCode::CREATED, "{report}");
            assert_eq!(report["method"], "tree_shap_path_dependent");
            assert_eq!(report["background_rows"], 1000, "the covers count the training rows");
            let want: Value = serde_json::from_slice(&model_fixture(&format!("shap/{model}.json"))).unwrap();
            let want = &want["path_dependent"];
            let base = want["expected_value"][0].as_f64().unwrap();
            assert!(
                (report["base_value"].as_f64().unwrap() - base).abs() < 1e-6,
                "{model}: {} vs {base}",
                report["base_value"]
            );
            let rows = report["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 80);
            for (r, row) in rows.iter().enumerate() {
                let theirs: Vec<f64> =
                    want["values"][r].as_array().unwrap().iter().map(|v| v[0].as_f64().unwrap()).collect();
                let scale = theirs.iter().fold(1f64, |m, v| m.max(v.abs()));
                for (f, ours) in row["contributions"].as_array().unwrap().iter().enumerate() {
                    let gap = (ours.as_f64().unwrap() - theirs[f]).abs() / scale;
                    assert!(gap <= 1e-6, "{model} row {r} feature {f}: {ours} vs shap's {}", theirs[f]);
                }
            }
        }
        let (status, body) = s
            .post("/api/v1/models/credit-gbc/versions/1/explanations", json!({"data": "rows@1", "covers": "hessians"}))
            .await;
        assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("covers")));
    }
}
