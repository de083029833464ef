#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Against tiny in-process servers: batching, retries, timeouts, refusals, both protocols.

use super::*;
use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};
use riskops_core::ErrorKind;
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake server saw: the rows of each scoring request, failed or not.
type Seen = Arc<Mutex<Vec<usize>>>;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn settings(batch_rows: usize, timeout_ms: u64, retries: u32) -> EndpointSettings {
    EndpointSettings {
        batch_rows,
        timeout: Duration::from_millis(timeout_ms),
        retries,
        backoff: Duration::from_millis(1),
    }
}

/// Ten rows of two features; a row's class is 1 when its first feature is at least 5.
fn rows() -> (HashMap<String, Tensor>, Vec<InputBinding>) {
    let data: Vec<f64> = (0..10).flat_map(|i| [f64::from(i), 0.5]).collect();
    let inputs = HashMap::from([("input-0".to_string(), Tensor { shape: vec![10, 2], data: Data::F64(data) })]);
    (inputs, vec![InputBinding { input: "input-0".into(), columns: vec!["a".into(), "b".into()] }])
}

/// A v2 model whose first `fail` scoring requests answer `status`, each after `delay`.
fn v2_model(seen: Seen, fail: usize, status: StatusCode, delay: Duration) -> Router {
    let metadata = json!({"name": "m", "versions": [], "platform": "", "outputs": [],
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, 2]}]});
    Router::new().route("/v2/models/m", get(move || async move { Json(metadata.clone()) })).route(
        "/v2/models/m/infer",
        post(move |Json(body): Json<Value>| async move {
            tokio::time::sleep(delay).await;
            let x = body["inputs"][0]["data"].as_array().unwrap().clone();
            let n = body["inputs"][0]["shape"][0].as_u64().unwrap() as usize;
            let attempt = {
                let mut seen = seen.lock().unwrap();
                seen.push(n);
                seen.len()
            };
            if attempt <= fail {
                return Err((status, "try later"));
            }
            assert_eq!(body["outputs"], json!([{"name": "predict_proba"}, {"name": "predict"}]));
            let first: Vec<f64> = x.iter().step_by(2).map(|v| v.as_f64().unwrap()).collect();
            let p: Vec<f64> = first.iter().flat_map(|&v| [1.0 - v / 10.0, v / 10.0]).collect();
            let label: Vec<i64> = first.iter().map(|&v| i64::from(v >= 5.0)).collect();
            Ok(Json(json!({"outputs": [
                {"name": "predict_proba", "shape": [n, 2], "datatype": "FP64", "data": p},
                {"name": "predict", "shape": [n, 1], "datatype": "INT64", "data": label},
            ]})))
        }),
    )
}

async fn registered(base: &str, settings: EndpointSettings) -> EndpointModel {
    let endpoint = Endpoint::new(&format!("{base}/v2/models/m"), Protocol::V2).unwrap();
    let classes = ["0".to_string(), "1".to_string()];
    let interface = inspect(&endpoint, Some(&classes), settings.clone()).await.unwrap();
    assert_eq!(interface.inputs[0].name, "input-0");
    EndpointModel::new(endpoint, &interface, settings).unwrap()
}

#[tokio::test]
async fn v2_scores_in_batches_and_retries_what_may_pass() {
    let seen = Seen::default();
    let base = serve(v2_model(seen.clone(), 2, StatusCode::SERVICE_UNAVAILABLE, Duration::ZERO)).await;
    let model = registered(&base, settings(4, 5_000, 3)).await;
    let (inputs, bindings) = rows();
    let p = model.predict(&inputs, &bindings).await.unwrap();
    // Two 503s on the first batch, then 4 + 4 + 2 rows.
    assert_eq!(*seen.lock().unwrap(), [4, 4, 4, 4, 2]);
    assert_eq!(p.labels, Data::I64(vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 1]));
    let probabilities = p.probabilities.unwrap();
    assert_eq!(probabilities.len(), 20);
    assert!((probabilities[2 * 7 + 1] - 0.7).abs() < 1e-6);
    assert_eq!(p.classes, Some(ClassLabels::Int(vec![0, 1])));
}

#[tokio::test]
async fn v2_gives_up_after_the_retries_naming_the_endpoint() {
    let seen = Seen::default();
    let base = serve(v2_model(seen.clone(), 100, StatusCode::BAD_GATEWAY, Duration::ZERO)).await;
    let model = registered(&base, settings(1000, 5_000, 2)).await;
    let (inputs, bindings) = rows();
    let e = model.predict(&inputs, &bindings).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Busy, "{e:?}");
    assert!(e.message.contains(&format!("{base}/v2/models/m/infer")), "{}", e.message);
    assert!(e.message.contains("HTTP 502") && e.message.contains("after 3 attempts"), "{}", e.message);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn v2_does_not_retry_a_refusal_nor_wait_past_the_timeout() {
    let seen = Seen::default();
    let base = serve(v2_model(seen.clone(), 100, StatusCode::BAD_REQUEST, Duration::ZERO)).await;
    let model = registered(&base, settings(1000, 5_000, 3)).await;
    let (inputs, bindings) = rows();
    let e = model.predict(&inputs, &bindings).await.unwrap_err();
    assert_eq!((e.kind, e.field.as_deref()), (ErrorKind::Invalid, Some("endpoint")), "{e:?}");
    assert!(e.message.contains("HTTP 400: try later"), "{}", e.message);
    assert_eq!(seen.lock().unwrap().len(), 1, "a 400 is not sent again");

    let slow = Seen::default();
    let base = serve(v2_model(slow.clone(), 0, StatusCode::OK, Duration::from_secs(5))).await;
    let model = registered(&base, settings(1000, 200, 1)).await;
    let started = std::time::Instant::now();
    let e = model.predict(&inputs, &bindings).await.unwrap_err();
    assert!(e.message.contains("no answer in time (after 2 attempts)"), "{}", e.message);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}

#[tokio::test]
async fn registration_refuses_what_does_not_answer_as_v2() {
    let app = Router::new().route("/v2/models/m", get(|| async { "<html>not a model</html>" }));
    let base = serve(app).await;
    let quick = settings(1000, 1_000, 0);
    for url in [format!("{base}/v2/models/m"), format!("{base}/v2/models/other")] {
        let endpoint = Endpoint::new(&url, Protocol::V2).unwrap();
        let e = inspect(&endpoint, None, quick.clone()).await.unwrap_err();
        assert_eq!(e.field.as_deref(), Some("endpoint"), "{e:?}");
        assert!(e.message.contains(&url), "{}", e.message);
    }
}

#[tokio::test]
async fn missing_values_are_refused_before_they_are_sent() {
    let seen = Seen::default();
    let base = serve(v2_model(seen.clone(), 0, StatusCode::OK, Duration::ZERO)).await;
    let model = registered(&base, settings(1000, 5_000, 0)).await;
    let (mut inputs, bindings) = rows();
    if let Some(Tensor { data: Data::F64(v), .. }) = inputs.get_mut("input-0") {
        v[7] = f64::NAN;
    }
    let e = model.predict(&inputs, &bindings).await.unwrap_err();
    assert!(e.message.contains("row 4"), "{}", e.message);
    assert!(seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn mlflow_gets_named_columns_and_answers_probabilities() {
    let seen = Seen::default();
    let recorded = seen.clone();
    let app = Router::new().route("/ping", get(|| async { "\n" })).route(
        "/invocations",
        post(move |Json(body): Json<Value>| async move {
            let frame = &body["dataframe_split"];
            assert_eq!(frame["columns"], json!(["a", "b"]));
            let data = frame["data"].as_array().unwrap();
            recorded.lock().unwrap().push(data.len());
            let p: Vec<Value> =
                data.iter().map(|r| r[0].as_f64().unwrap() / 10.0).map(|v| json!([1.0 - v, v])).collect();
            Json(json!({"predictions": p}))
        }),
    );
    let base = serve(app).await;
    let endpoint = Endpoint::new(&base, Protocol::Mlflow).unwrap();
    let classes = ["good".to_string(), "bad".to_string()];
    let interface = inspect(&endpoint, Some(&classes), settings(3, 5_000, 0)).await.unwrap();
    let model = EndpointModel::new(endpoint, &interface, settings(3, 5_000, 0)).unwrap();
    let (inputs, bindings) = rows();
    let p = model.predict(&inputs, &bindings).await.unwrap();
    assert_eq!(*seen.lock().unwrap(), [3, 3, 3, 1]);
    // No labels in the answer: the most probable class.
    let Data::Str(labels) = &p.labels else { panic!("{:?}", p.labels) };
    assert_eq!((labels[0].as_str(), labels[9].as_str()), ("good", "bad"));
    assert_eq!(p.classes, Some(ClassLabels::Str(classes.to_vec())));

    // Labels only, from a regressor's or classifier's plain `predict`.
    let app = Router::new()
        .route("/ping", get(|| async { "" }))
        .route("/invocations", post(|| async { Json(json!({"predictions": [1.5, 2.5]})) }));
    let base = serve(app).await;
    let endpoint = Endpoint::new(&base, Protocol::Mlflow).unwrap();
    let interface = inspect(&endpoint, None, settings(1000, 5_000, 0)).await.unwrap();
    assert_eq!(interface.task, "regression");
    let model = EndpointModel::new(endpoint, &interface, settings(1000, 5_000, 0)).unwrap();
    let (inputs, bindings) = rows();
    let e = model.predict(&inputs, &bindings).await.unwrap_err();
    assert!(e.message.contains("2 predictions for 10 rows"), "{}", e.message);
}
