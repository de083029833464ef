//! Models served over HTTP. Against a real MLServer: `.ci/run` trains one scikit-learn model
//! (tools/mlserver/make_model.py), serves it with `mlserver start` and exports
//! `RISKOPS_TEST_MLSERVER_URL` (the server) and `RISKOPS_TEST_MLSERVER_DIR` (the model's ONNX
//! file and its data); without them that test says it skipped and passes. MLflow and a failing
//! endpoint against stand-ins in the test.

use super::*;

/// The served model's URL and the folder with `credit_lr.onnx` and `german.csv`.
fn mlserver() -> Option<(String, std::path::PathBuf)> {
    match (std::env::var("RISKOPS_TEST_MLSERVER_URL"), std::env::var("RISKOPS_TEST_MLSERVER_DIR")) {
        (Ok(url), Ok(dir)) => Some((format!("{}/v2/models/credit-lr", url.trim_end_matches('/')), dir.into())),
        _ => {
            eprintln!("skipped: RISKOPS_TEST_MLSERVER_URL unset (.ci/run starts an MLServer)");
            None
        }
    }
}

#[tokio::test]
async fn mlserver_endpoint_validates_like_the_onnx_file_of_the_same_model() {
    let Some((url, dir)) = mlserver() else { return };
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    for s in servers().await {
        let (status, body) = s.upload("/api/v1/datasets/german/versions", json!({}), read("german.csv")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) =
            s.upload("/api/v1/models/credit-onnx/versions", json!({"framework": "onnx"}), read("credit_lr.onnx")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let register = json!({"endpoint": url, "protocol": "v2", "classes": ["0", "1"],
            "metadata": {"framework": "sklearn", "training_data": "german@1"}});
        let (status, served) = s.post("/api/v1/models/credit-served/endpoints", register.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{served}");
        assert_eq!(served["endpoint"], json!({"url": url, "protocol": "v2"}));
        // The signature comes from the model's v2 metadata (its declared input) and the classes.
        let signature = &served["signature"];
        assert_eq!(signature["inputs"][0]["name"], "input-0", "{signature}");
        assert_eq!(signature["outputs"]["probabilities"], json!({"name": "predict_proba", "classes": ["0", "1"]}));
        assert_eq!(served["training_data"], "german@1");

        let request = json!({"data": "german@1", "label": "CLASSIFICATION", "seed": 7});
        let (status, onnx) = s.post("/api/v1/models/credit-onnx/versions/1/validations", request.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{onnx}");
        let (status, endpoint) = s.post("/api/v1/models/credit-served/versions/1/validations", request).await;
        assert_eq!(status, StatusCode::CREATED, "{endpoint}");
        assert_eq!(endpoint["n"], 1000);
        // The same model, run by riskops from ONNX (float32) and by scikit-learn behind MLServer.
        for metric in ["roc_auc", "accuracy", "precision", "recall"] {
            let (a, b) = (&onnx["metrics"][metric]["value"], &endpoint["metrics"][metric]["value"]);
            assert!((a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 1e-6, "{metric}: onnx {a}, endpoint {b}");
        }

        // Stress tests score through the endpoint too.
        let stress = json!({"data": "german@1", "label": "CLASSIFICATION", "monotone": ["DURATION_MONTHS:+"]});
        let (status, report) = s.post("/api/v1/models/credit-served/versions/1/stress-tests", stress).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        assert_eq!(report["kind"], "stress_test");

        // A model the server does not serve, and a port nobody listens on: 422, nothing stored.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let closed_url = format!("http://{}/v2/models/credit-lr", closed.local_addr().unwrap());
        drop(closed);
        let unknown = url.replace("credit-lr", "no-such-model");
        for bad in [unknown, closed_url] {
            let (status, body) =
                s.post("/api/v1/models/refused/endpoints", json!({"endpoint": bad, "protocol": "v2"})).await;
            assert_eq!(
                (status, body["error"]["field"].as_str()),
                (StatusCode::UNPROCESSABLE_ENTITY, Some("endpoint")),
                "{body}"
            );
            assert!(body["error"]["message"].as_str().unwrap().contains(&bad), "{body}");
        }
        let (status, _) = s.get("/api/v1/models/refused/versions", Some(TOKEN)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

/// An MLflow scoring server stand-in that runs `credit_gbc.onnx` with riskops-model on the
/// `dataframe_split` it receives and answers the probabilities, as a pyfunc returning
/// `predict_proba` does.
pub(crate) async fn fake_mlflow(onnx: Vec<u8>) -> String {
    use axum::routing::{get, post};
    let model = Arc::new(riskops_model::Model::load(&onnx).unwrap());
    let app = axum::Router::new().route("/ping", get(|| async { "\n" })).route(
        "/invocations",
        post(move |axum::Json(body): axum::Json<Value>| {
            let model = model.clone();
            async move {
                let frame = &body["dataframe_split"];
                let names: Vec<String> =
                    frame["columns"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
                let rows = frame["data"].as_array().unwrap();
                let columns: Vec<riskops_model::Column> = names
                    .iter()
                    .enumerate()
                    .map(|(j, name)| riskops_model::Column {
                        name: name.clone(),
                        values: riskops_model::ColumnValues::Float(
                            rows.iter().map(|r| r[j].as_f64().unwrap()).collect(),
                        ),
                    })
                    .collect();
                let map = std::collections::HashMap::new();
                let (inputs, _) = riskops_model::bind_columns(model.signature(), &columns, None, None, &map).unwrap();
                let p = model.predict(inputs).unwrap();
                let probs: Vec<Value> = p.probabilities.unwrap().chunks(2).map(|r| json!(r)).collect();
                axum::Json(json!({"predictions": probs}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_mlflow_endpoint_validates_like_the_onnx_file_it_serves() {
    let fixture = |name: &str| {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)).unwrap()
    };
    let url = fake_mlflow(fixture("credit_gbc.onnx")).await;
    for s in servers().await {
        let (status, _) =
            s.upload("/api/v1/datasets/credit/versions", json!({}), fixture("credit_gbc_input.csv")).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, served) = s
            .post(
                "/api/v1/models/credit/endpoints",
                json!({"endpoint": url, "protocol": "mlflow", "classes": ["0", "1"]}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{served}");
        assert_eq!(served["endpoint"]["protocol"], "mlflow");
        // The artifact is the endpoint's descriptor, checked like any other.
        let file = s.http.get(s.url("/api/v1/models/credit/versions/1/file")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        let descriptor: Value = serde_json::from_slice(&file.bytes().await.unwrap()).unwrap();
        assert_eq!(descriptor, json!({"kind": "riskops-endpoint-v1", "protocol": "mlflow", "url": url}));

        let request = json!({"data": "credit@1", "label": "default", "seed": 7});
        let (status, report) = s.post("/api/v1/models/credit/versions/1/validations", request).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        // The probabilities travel as JSON (f32 → f64 → f32: exact), so this is the ONNX
        // model's AUC, as scikit-learn computed it on onnxruntime's outputs.
        let expected = super::validation::reference_auc("credit_gbc");
        let auc = report["metrics"]["roc_auc"]["value"].as_f64().unwrap();
        assert!((auc - expected).abs() < 1e-9, "{auc} vs sklearn {expected}");
    }
}

#[tokio::test]
async fn an_endpoint_that_stops_answering_fails_the_run_naming_it_and_files_nothing() {
    use axum::routing::{get, post};
    let metadata = json!({"name": "m", "versions": [], "platform": "", "inputs": [], "outputs": []});
    let app = axum::Router::new()
        .route("/v2/models/m", get(move || async move { axum::Json(metadata.clone()) }))
        .route("/v2/models/m/infer", post(|| async { (StatusCode::SERVICE_UNAVAILABLE, "overloaded") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/v2/models/m", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let fixture = |name: &str| {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data").join(name)).unwrap()
    };
    let s = TestServer::start_on(tempfile::tempdir().unwrap(), None, 1 << 20).await;
    s.upload("/api/v1/datasets/credit/versions", json!({}), fixture("credit_gbc_input.csv")).await;
    let register = json!({"endpoint": url, "protocol": "v2", "classes": ["0", "1"]});
    let (status, body) = s.post("/api/v1/models/busy/endpoints", register).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let request = json!({"data": "credit@1", "label": "default"});
    for path in ["validations", "stress-tests"] {
        let (status, body) = s.post(&format!("/api/v1/models/busy/versions/1/{path}"), request.clone()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(&format!("{url}/infer")) && message.contains("HTTP 503: overloaded"), "{message}");
    }
    let (_, listed) = s.get("/api/v1/models/busy/versions/1/evidence", Some(TOKEN)).await;
    assert_eq!(listed["evidence"].as_array().unwrap().len(), 0);
}
