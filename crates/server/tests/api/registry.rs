//! The registry over HTTP: content-addressed dataset and model versions, refused pushes,
//! corrupted artifacts, lineage, tags and notes, and artifacts in S3.

use super::*;

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    // The server's digest must equal `sha256sum`; compute it independently with the store's hasher.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, bytes).unwrap();
    let (digest, _) = riskops_store::artifacts::hash_file(&path).unwrap();
    let mut out = String::new();
    write!(out, "{digest}").unwrap();
    out
}

impl TestServer {
    pub(crate) async fn upload(&self, path: &str, metadata: Value, file: Vec<u8>) -> (StatusCode, Value) {
        let form = reqwest::multipart::Form::new()
            .part("metadata", reqwest::multipart::Part::text(metadata.to_string()))
            .part("file", reqwest::multipart::Part::bytes(file).file_name("data.csv"));
        read(self.http.post(self.url(path)).bearer_auth(TOKEN).multipart(form).send().await.unwrap()).await
    }

    pub(crate) fn artifact_count(&self) -> usize {
        let root = self._dir.path().join("artifacts/sha256");
        std::fs::read_dir(&root)
            .map(|dirs| {
                dirs.filter_map(Result::ok).map(|d| std::fs::read_dir(d.path()).map(|f| f.count()).unwrap_or(0)).sum()
            })
            .unwrap_or(0)
    }
}

pub(crate) fn csv(rows: usize, shift: f64) -> Vec<u8> {
    let mut text = String::from("age,income,segment\n");
    for i in 0..rows {
        text.push_str(&format!("{},{},{}\n", 20 + i % 50, (i as f64) * 1.5 + shift, ["a", "b", "c"][i % 3]));
    }
    text.into_bytes()
}

#[tokio::test]
async fn datasets_are_content_addressed_versions_with_schema_and_profile() {
    for s in servers().await {
        let bytes = csv(300, 0.0);
        let (status, v1) =
            s.upload("/api/v1/datasets/customers/versions", json!({"description": "first"}), bytes.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{v1}");
        assert_eq!(v1["version"], 1);
        assert_eq!(v1["project"], "default");
        assert_eq!(v1["digest"], sha256_hex(&bytes));
        assert_eq!(v1["rows"], 300);
        let types: Vec<(&str, &str)> = v1["schema"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c["type"].as_str().unwrap()))
            .collect();
        assert_eq!(types, [("age", "numerical"), ("income", "numerical"), ("segment", "categorical")]);
        let income = &v1["profile"]["columns"][1];
        assert_eq!(income["count"], 300);
        assert_eq!(income["min"], 0.0);
        assert_eq!(income["max"], 448.5);
        assert!((income["mean"].as_f64().unwrap() - 224.25).abs() < 1e-9);

        // The same bytes again: the same version, nothing new stored.
        let stored = s.artifact_count();
        let (status, again) = s.upload("/api/v1/datasets/customers/versions", json!({}), bytes.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((again["version"].clone(), s.artifact_count()), (json!(1), stored));

        let (status, v2) =
            s.upload("/api/v1/datasets/customers/versions", json!({"tags": {"month": "june"}}), csv(300, 9.0)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!((v2["version"].clone(), v2["tags"]["month"].clone()), (json!(2), json!("june")));

        // Pull returns the exact bytes of a version, with its digest.
        let response =
            s.http.get(s.url("/api/v1/datasets/customers/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.headers()["x-riskops-digest"], v1["digest"].as_str().unwrap());
        assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

        let (status, list) = s.get("/api/v1/datasets", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(list["items"][0]["latest_version"], 2);
        let (status, latest) = s.get("/api/v1/datasets/customers/versions/latest", Some(TOKEN)).await;
        assert_eq!((status, latest["version"].clone()), (StatusCode::OK, json!(2)));
        let (status, body) = s.get("/api/v1/datasets/customers/versions/7", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_error(&body, "not_found");
    }
}

#[tokio::test]
async fn bad_pushes_are_refused_and_store_nothing() {
    for s in servers().await {
        let (status, _) = s.post("/api/v1/projects", json!({"name": "other"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = s.upload("/api/v1/datasets/owned/versions", json!({"project": "other"}), csv(10, 0.0)).await;
        assert_eq!(status, StatusCode::CREATED);
        let stored = s.artifact_count();

        let cases: Vec<(&str, Value, Vec<u8>, StatusCode, &str)> = vec![
            (
                "/api/v1/datasets/bad%20name/versions",
                json!({}),
                csv(5, 0.0),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({"project": "nope"}),
                csv(5, 0.0),
                StatusCode::NOT_FOUND,
                "not_found",
            ),
            (
                "/api/v1/datasets/owned/versions",
                json!({"project": "default"}),
                csv(5, 1.0),
                StatusCode::CONFLICT,
                "conflict",
            ),
            ("/api/v1/datasets/x/versions", json!({}), Vec::new(), StatusCode::UNPROCESSABLE_ENTITY, "invalid_field"),
            (
                "/api/v1/datasets/x/versions",
                json!({}),
                b"a,b\n1,2\n3\n".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({}),
                b"a,b\n".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({"colour": 1}),
                csv(5, 0.0),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
            ),
            (
                "/api/v1/datasets/x/versions",
                json!({}),
                vec![b'1'; 2 << 20],
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
        ];
        for (path, metadata, file, expected, code) in cases {
            let (status, body) = s.upload(path, metadata.clone(), file).await;
            assert_eq!(status, expected, "{path} {metadata}: {body}");
            assert_error(&body, code);
        }
        assert_eq!(s.artifact_count(), stored, "a refused push left an artifact");
        let (_, list) = s.get("/api/v1/datasets", Some(TOKEN)).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
        // No half-received upload stays behind either.
        let leftovers = std::fs::read_dir(s._dir.path().join("tmp")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(leftovers, 0);
    }
}

#[tokio::test]
async fn a_corrupted_artifact_is_reported_and_never_served() {
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 64 * 1024).await;
    let (_, v) = s.upload("/api/v1/datasets/d/versions", json!({}), csv(20, 0.0)).await;
    let hex = v["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let stored = s._dir.path().join("artifacts/sha256").join(&hex[..2]).join(&hex);
    let mut bytes = std::fs::read(&stored).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&stored, bytes).unwrap();
    let (status, body) =
        read(s.http.get(s.url("/api/v1/datasets/d/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, "integrity_error");
    assert!(body["error"]["message"].as_str().unwrap().contains(&hex), "{body}");
}

/// An ONNX fixture of riskops-model's tests (made from real data by its committed script).
fn onnx_fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)).unwrap()
}

#[tokio::test]
async fn onnx_models_are_loaded_at_registration_and_keep_their_signature() {
    for s in servers().await {
        let stored = s.artifact_count();
        // An operator riskops cannot run: 422 naming it, and nothing stored.
        let svc = onnx_fixture("credit_svc_unsupported.onnx");
        let (status, body) = s.upload("/api/v1/models/svc/versions", json!({"framework": "onnx"}), svc).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["field"], "artifact");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains("SVMClassifier (domain ai.onnx.ml)"), "{message}");
        // Bytes that are not a model at all.
        let (status, body) =
            s.upload("/api/v1/models/svc/versions", json!({"framework": "onnx"}), b"not a model".to_vec()).await;
        assert_eq!((status, body["error"]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("artifact")));
        assert!(!body["error"]["message"].as_str().unwrap().contains('/'), "no server path: {body}");
        assert_eq!(s.artifact_count(), stored);
        let (status, _) = s.get("/api/v1/models/svc/versions", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // A pipeline with one input per column: the signature lists them, typed.
        let (status, m) = s
            .upload("/api/v1/models/adult/versions", json!({"framework": "onnx"}), onnx_fixture("adult_logreg.onnx"))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        let (status, shown) = s.get("/api/v1/models/adult/versions/1", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(shown["signature"], m["signature"]);
        let sig = &shown["signature"];
        assert_eq!(sig["inputs"][0], json!({"name": "age", "type": "float", "shape": [null, 1]}));
        assert_eq!(sig["inputs"].as_array().unwrap().iter().filter(|i| i["type"] == "string").count(), 7);
        assert_eq!(
            sig["outputs"],
            json!({"label": "output_label", "probabilities": {"name": "output_probability", "classes": ["0", "1"]}})
        );
        assert_eq!((sig["task"].as_str(), sig["columns"].as_str()), (Some("classification"), Some("one_per_input")));

        // Other frameworks are stored as they are, without a signature.
        let (status, m) =
            s.upload("/api/v1/models/opaque/versions", json!({"framework": "other"}), b"m".to_vec()).await;
        assert_eq!((status, m["signature"].clone()), (StatusCode::CREATED, Value::Null));
    }
}

#[tokio::test]
async fn models_record_their_data_and_code_and_lineage_follows_both_ways() {
    for s in servers().await {
        s.upload("/api/v1/datasets/train/versions", json!({}), csv(50, 0.0)).await;
        s.upload("/api/v1/datasets/holdout/versions", json!({}), csv(20, 1.0)).await;
        let stored = s.artifact_count();
        let (status, body) =
            s.upload("/api/v1/models/churn/versions", json!({"training_data": "train@9"}), b"model".to_vec()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["error"]["field"], "training_data");
        let (status, body) = s
            .upload(
                "/api/v1/models/churn/versions",
                json!({"code_repo": "https://x/y.git", "code_commit": "main"}),
                b"m".to_vec(),
            )
            .await;
        assert_eq!((status, body["error"]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("code_commit")));
        assert_eq!(s.artifact_count(), stored);

        let metadata = json!({
            "framework": "other", "training_data": "train@1", "validation_data": "holdout",
            "code_repo": "https://git.example.com/churn.git", "code_commit": "9f1c2ab",
            "params": {"depth": 6}, "metrics": {"auc": 0.8}, "description": "first model",
        });
        let (status, m) = s.upload("/api/v1/models/churn/versions", metadata, b"onnx-bytes".to_vec()).await;
        assert_eq!(status, StatusCode::CREATED, "{m}");
        assert_eq!((m["version"].clone(), m["author"].clone()), (json!(1), json!("admin")));
        assert_eq!((m["training_data"].as_str(), m["validation_data"].as_str()), (Some("train@1"), Some("holdout@1")));
        assert_eq!(m["digest"], sha256_hex(b"onnx-bytes"));

        let (status, lineage) = s.get("/api/v1/lineage/model/churn/1", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::OK);
        let edges: Vec<(String, String, String)> = lineage["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["from"].as_str().unwrap().into(),
                    e["to"].as_str().unwrap().into(),
                    e["relation"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            edges,
            [
                ("dataset:train@1".into(), "model:churn@1".into(), "trained_on".into()),
                ("dataset:holdout@1".into(), "model:churn@1".into(), "validated_on".into()),
                ("code:https://git.example.com/churn.git@9f1c2ab".into(), "model:churn@1".into(), "built_from".into()),
            ]
        );
        let kinds: Vec<&str> =
            lineage["nodes"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["model", "dataset", "dataset", "code"]);

        let (_, downstream) = s.get("/api/v1/lineage/dataset/train/1", Some(TOKEN)).await;
        assert!(downstream["edges"].as_array().unwrap().iter().any(|e| e["to"] == "model:churn@1"));

        let (_, events) = s.get("/api/v1/lineage/model/churn/1?format=openlineage", Some(TOKEN)).await;
        let event = &events[0];
        assert_eq!(event["eventType"], "COMPLETE");
        assert_eq!(event["run"]["runId"].as_str().unwrap().len(), 36);
        assert_eq!(event["outputs"][0]["name"], "model/churn@1");
        assert_eq!(event["inputs"].as_array().unwrap().len(), 2);

        let actions = audit_actions(&s).await;
        assert_eq!(actions.iter().filter(|a| a.as_str() == "model.register").count(), 1, "{actions:?}");
        assert_eq!(actions.iter().filter(|a| a.as_str() == "dataset.push").count(), 2, "{actions:?}");
    }
}

#[tokio::test]
async fn versions_take_tags_and_notes_without_changing_their_content() {
    for s in servers().await {
        let (_, v) = s.upload("/api/v1/datasets/tagged/versions", json!({"tags": {"a": "1"}}), csv(10, 0.0)).await;
        let (status, tags) =
            s.post("/api/v1/datasets/tagged/versions/1/tags", json!({"tags": {"b": "2", "a": "3"}})).await;
        assert_eq!(status, StatusCode::OK, "{tags}");
        assert_eq!(tags["tags"], json!({"a": "3", "b": "2"}));
        let (status, note) =
            s.post("/api/v1/datasets/tagged/versions/1/notes", json!({"text": "checked by risk"})).await;
        assert_eq!((status, note["created_by"].clone()), (StatusCode::CREATED, json!("admin")));
        let (_, notes) = s.get("/api/v1/datasets/tagged/versions/1/notes", Some(TOKEN)).await;
        assert_eq!(notes["notes"][0]["text"], "checked by risk");
        let (_, after) = s.get("/api/v1/datasets/tagged/versions/1", Some(TOKEN)).await;
        assert_eq!((after["digest"].clone(), after["tags"]["b"].clone()), (v["digest"].clone(), json!("2")));

        let (status, body) = s.post("/api/v1/datasets/tagged/versions/9/tags", json!({"tags": {"x": "y"}})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_error(&body, "not_found");
        let (status, body) = s.post("/api/v1/models/nope/versions/1/notes", json!({"text": ""})).await;
        assert_eq!((status, body["error"]["field"].clone()), (StatusCode::UNPROCESSABLE_ENTITY, json!("text")));
        let actions = audit_actions(&s).await;
        assert!(
            actions.contains(&"dataset.tag".to_string()) && actions.contains(&"dataset.note".to_string()),
            "{actions:?}"
        );
    }
}

/// With `RISKOPS_TEST_S3_ENDPOINT` (moto in CI), the registry stories run with artifacts in S3.
async fn s3_bucket() -> Option<riskops_s3::S3Config> {
    let endpoint = std::env::var("RISKOPS_TEST_S3_ENDPOINT").ok()?;
    let token = riskops_core::auth::generate_token().unwrap();
    let bucket = format!("riskops-{}", &token.expose()[4..16]);
    let config = riskops_s3::S3Config::new(bucket)
        .with_endpoint(endpoint)
        .with_credentials("test", "test-secret")
        .with_allow_http(true)
        .with_prefix("artifacts");
    riskops_s3::S3Client::new(config.clone()).unwrap().create_bucket().await.unwrap();
    Some(config)
}

#[tokio::test]
async fn the_registry_works_with_artifacts_in_s3() {
    let Some(config) = s3_bucket().await else {
        eprintln!("skipped: RISKOPS_TEST_S3_ENDPOINT is not set");
        return;
    };
    let s = TestServer::start_with(tempfile::tempdir().unwrap(), None, 64 * 1024, Some(config.clone())).await;
    let bytes = csv(200, 0.0);
    let (status, v) = s.upload("/api/v1/datasets/s3data/versions", json!({}), bytes.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(s.artifact_count(), 0, "nothing goes to the local folder");
    let response =
        s.http.get(s.url("/api/v1/datasets/s3data/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(response.bytes().await.unwrap().to_vec(), bytes);

    // Replace the object in the bucket: the next pull is an integrity error, not the bytes.
    let hex = v["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
    let key = format!("artifacts/sha256/{}/{hex}", &hex[..2]);
    let client = riskops_s3::S3Client::new(config).unwrap();
    client.put_object(&key, bytes::Bytes::from_static(b"tampered")).await.unwrap();
    let (status, body) =
        read(s.http.get(s.url("/api/v1/datasets/s3data/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap())
            .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, "integrity_error");
}

/// A table too large to upload is pushed as its profile (the Python package's
/// `Profile.to_bytes()`, merged from a Spark job's partitions): the version holds that
/// profile, its rows and schema come from it, and what needs rows says it has none.
#[tokio::test]
async fn a_profile_document_is_pushed_as_a_dataset_version() {
    for s in servers().await {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, csv(400, 0.0)).unwrap();
        let profile = riskops_data::profile::profile_csv(&path, None, &|_| {}).unwrap();
        let bytes = serde_json::to_vec(&profile.to_json()).unwrap();
        assert!(bytes.starts_with(riskops_data::profile::PROFILE_MAGIC));

        let (status, v) = s.upload("/api/v1/datasets/big/versions", json!({}), bytes.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{v}");
        assert_eq!(v["format"], "profile", "{v}");
        assert_eq!(v["rows"], 400);
        assert_eq!(v["digest"], sha256_hex(&bytes));
        let names: Vec<&str> = v["schema"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["age", "income", "segment"]);
        let (_, shown) = s.get("/api/v1/datasets/big/versions/1", Some(TOKEN)).await;
        // The stored profile is the pushed one: its sketches bit for bit (the statistics for
        // people may print a last digit differently after the database's JSON).
        let sketches =
            |doc: &Value| doc["columns"].as_array().unwrap().iter().map(|c| c["sketches"].clone()).collect::<Vec<_>>();
        assert_eq!(sketches(&shown["profile"]), sketches(&profile.to_json()));

        // Broken sketches or a profile without rows are refused, and nothing is stored.
        let artifacts = s.artifact_count();
        let mut broken = profile.to_json();
        broken["columns"][0]["sketches"]["moments"] = json!("not base64!");
        let (status, e) =
            s.upload("/api/v1/datasets/big/versions", json!({}), serde_json::to_vec(&broken).unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
        assert_eq!(e["error"]["field"], "file", "{e}");
        assert!(e["error"]["message"].as_str().unwrap().contains("profile"), "{e}");
        let empty = json!({"rows": 0, "columns": []});
        let (status, _) =
            s.upload("/api/v1/datasets/big/versions", json!({}), serde_json::to_vec(&empty).unwrap()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(s.artifact_count(), artifacts);
    }
}
