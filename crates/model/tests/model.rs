//! Every committed fixture (made by tests/data/make_onnx_fixtures.py from the real datasets)
//! scored by riskops-model agrees with onnxruntime's outputs to 1e-5.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::PathBuf;

use riskops_model::{ClassLabels, Column, ColumnValues, Data, Model, ModelError, Task, Tensor, bind_columns};

#[path = "model/shap.rs"]
mod shap;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data").join(name)
}

/// A plain CSV (no quoting in the fixtures): header and rows of text.
fn read_csv(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(str::to_string).collect();
    let rows = lines.map(|l| l.split(',').map(str::to_string).collect()).collect();
    (header, rows)
}

/// Columns typed as pandas would: numbers (empty = NaN) or text.
fn columns(name: &str) -> Vec<Column> {
    let (header, rows) = read_csv(name);
    header
        .iter()
        .enumerate()
        .map(|(j, h)| {
            let cells: Vec<&str> = rows.iter().map(|r| r[j].as_str()).collect();
            let numbers: Option<Vec<f64>> =
                cells.iter().map(|c| if c.is_empty() { Some(f64::NAN) } else { c.parse().ok() }).collect();
            let values = match numbers {
                Some(v) => ColumnValues::Float(v),
                None => ColumnValues::Str(cells.iter().map(|c| Some(c.to_string())).collect()),
            };
            Column { name: h.clone(), values }
        })
        .collect()
}

fn load(name: &str) -> Model {
    Model::load(&std::fs::read(data(&format!("{name}.onnx"))).unwrap()).unwrap()
}

fn check_fixture(name: &str, label: &str) {
    let model = load(name);
    let cols = columns(&format!("{name}_input.csv"));
    let (inputs, _) = bind_columns(model.signature(), &cols, Some(label), None, &HashMap::new()).unwrap();
    let prediction = model.predict(inputs).unwrap();
    let (header, expected) = read_csv(&format!("{name}_expected.csv"));
    let rows = expected.len();
    assert_eq!(rows, 300);
    let value = |r: usize, col: &str| -> f64 {
        let j = header.iter().position(|h| h == col).unwrap();
        expected[r][j].parse().unwrap()
    };
    if model.signature().task == Task::Regression {
        let Data::F32(v) = &prediction.labels else { panic!("{name}: regression values are not float") };
        for (r, got) in v.iter().enumerate() {
            let want = value(r, "prediction");
            assert!((f64::from(*got) - want).abs() <= 1e-5, "{name} row {r}: {got} vs {want}");
        }
        return;
    }
    let classes = prediction.classes.clone().unwrap().names();
    let probs = prediction.probabilities.as_ref().unwrap();
    let mut worst = 0f64;
    for r in 0..rows {
        for (k, class) in classes.iter().enumerate() {
            let want = value(r, &format!("proba_{class}"));
            let got = f64::from(probs[r * classes.len() + k]);
            worst = worst.max((got - want).abs());
        }
        let j = header.iter().position(|h| h == "label").unwrap();
        let got_label = match &prediction.labels {
            Data::I64(v) => v[r].to_string(),
            Data::Str(v) => v[r].clone(),
            other => panic!("{name}: labels {other:?}"),
        };
        assert_eq!(got_label, expected[r][j], "{name} row {r}: label");
    }
    assert!(worst <= 1e-5, "{name}: largest probability difference {worst}");
}

#[test]
fn sklearn_gradient_boosting_matches_onnxruntime() {
    check_fixture("credit_gbc", "default");
}

#[test]
fn sklearn_random_forest_matches_onnxruntime() {
    check_fixture("credit_rf", "default");
}

#[test]
fn sklearn_mlp_with_zipmap_matches_onnxruntime() {
    check_fixture("credit_mlp", "default");
}

#[test]
fn xgboost_matches_onnxruntime() {
    check_fixture("credit_xgb", "default");
}

#[test]
fn lightgbm_matches_onnxruntime() {
    check_fixture("credit_lgbm", "default");
}

#[test]
fn column_transformer_pipeline_with_one_input_per_column_matches_onnxruntime() {
    check_fixture("adult_logreg", "income");
}

#[test]
fn gradient_boosting_regressor_matches_onnxruntime() {
    check_fixture("bike_gbr", "count");
}

#[test]
fn multiclass_softmax_ensemble_matches_onnxruntime() {
    check_fixture("bike_weather_gbc", "weathersit");
}

#[test]
fn ordinal_encoded_pipeline_with_string_classes_matches_onnxruntime() {
    check_fixture("adult_ordinal_gbc", "income");
}

#[test]
fn multinomial_logistic_regression_matches_onnxruntime() {
    check_fixture("bike_weather_logreg", "weathersit");
}

#[test]
fn normalizer_and_linear_regressor_match_onnxruntime() {
    check_fixture("bike_ridge", "count");
}

/// A tensor of the operator graph's JSON (`{"type","shape","values"}`).
fn json_tensor(v: &serde_json::Value) -> Tensor {
    let shape: Vec<usize> = v["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
    let values = v["values"].as_array().unwrap();
    let data = match v["type"].as_str().unwrap() {
        "float32" => Data::F32(values.iter().map(|x| x.as_f64().unwrap() as f32).collect()),
        "int64" => Data::I64(values.iter().map(|x| x.as_i64().unwrap()).collect()),
        t if t == "object" || t.starts_with("<U") => {
            Data::Str(values.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        }
        other => panic!("type {other}"),
    };
    Tensor::new(shape, data).unwrap()
}

#[test]
fn every_other_operator_matches_onnxruntime_on_a_hand_made_graph() {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data("ops_misc.json")).unwrap()).unwrap();
    let model = load("ops_misc");
    let inputs: HashMap<String, Tensor> =
        doc["inputs"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), json_tensor(v))).collect();
    let outputs = model.run(inputs).unwrap();
    for (name, want) in doc["outputs"].as_object().unwrap() {
        let want = json_tensor(want);
        let got = &outputs[name];
        assert_eq!(got.shape, want.shape, "{name}");
        match (&got.data, &want.data) {
            (Data::F32(g), Data::F32(w)) => {
                for (i, (a, b)) in g.iter().zip(w).enumerate() {
                    assert!((a - b).abs() <= 1e-5 * b.abs().max(1.0), "{name}[{i}]: {a} vs {b}");
                }
            }
            (g, w) => assert_eq!(g, w, "{name}"),
        }
    }
}

#[test]
fn an_unsupported_operator_is_named_with_its_domain() {
    let err = Model::load(&std::fs::read(data("credit_svc_unsupported.onnx")).unwrap()).unwrap_err();
    assert_eq!(err, ModelError::Unsupported { op_type: "SVMClassifier".into(), domain: "ai.onnx.ml".into() });
    assert!(err.to_string().contains("SVMClassifier (domain ai.onnx.ml)"), "{err}");
}

#[test]
fn bytes_that_are_not_a_model_are_refused() {
    for bytes in [&b"not a model"[..], &[0x0a, 0xff, 0xff][..], &[][..]] {
        assert!(matches!(Model::load(bytes), Err(ModelError::Malformed(_))), "{bytes:?}");
    }
}

#[test]
fn cut_or_corrupted_models_are_errors_not_panics() {
    for name in ["credit_mlp.onnx", "adult_logreg.onnx", "ops_misc.onnx"] {
        let bytes = std::fs::read(data(name)).unwrap();
        for cut in 0..bytes.len() {
            let _ = Model::load(&bytes[..cut]);
        }
        // Flip one bit at a time across the file (a stride keeps it quick): load, and run
        // what loads, must answer without panicking.
        for at in (0..bytes.len()).step_by(3) {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << (at % 8);
            if let Ok(model) = Model::load(&flipped)
                && name == "credit_mlp.onnx"
            {
                let _ = model.run(HashMap::from([("input".to_string(), Tensor::f32(vec![2, 23], vec![1.0; 46]))]));
            }
        }
    }
}

#[test]
fn the_signature_names_inputs_outputs_and_classes() {
    let pipeline = load("adult_logreg");
    let sig = pipeline.signature();
    let names: Vec<&str> = sig.inputs.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names[..3], ["age", "education_num", "capital_gain"]);
    assert_eq!(sig.inputs.iter().find(|i| i.name == "sex").unwrap().elem_type.name(), "string");
    assert_eq!(sig.label, "output_label");
    assert_eq!(sig.probabilities, Some(("output_probability".into(), ClassLabels::Int(vec![0, 1]))));

    let gbc = load("credit_gbc");
    let input = &gbc.signature().inputs[0];
    assert_eq!((input.elem_type.name().as_str(), input.shape.clone()), ("float", vec![None, Some(23)]));
    let regressor = load("bike_gbr");
    assert_eq!((regressor.signature().task, regressor.signature().probabilities.clone()), (Task::Regression, None));
}

#[test]
fn the_tree_structure_is_public() {
    let model = load("credit_gbc");
    let ensembles = model.tree_ensembles();
    assert_eq!(ensembles.len(), 1);
    assert_eq!(ensembles[0].trees.len(), 50);
    let leaves: usize = ensembles[0]
        .trees
        .iter()
        .map(|t| t.nodes.iter().filter(|n| matches!(n, riskops_model::tree::TreeNode::Leaf { .. })).count())
        .sum();
    assert_eq!(leaves, 399, "one leaf per class weight in the fixture");
}

#[test]
fn a_missing_column_and_a_type_mismatch_are_explained() {
    let model = load("adult_logreg");
    let mut cols = columns("adult_logreg_input.csv");
    cols.retain(|c| c.name != "race");
    let err = bind_columns(model.signature(), &cols, Some("income"), None, &HashMap::new()).unwrap_err();
    assert!(err.to_string().contains("no column \"race\""), "{err}");

    let mut cols = columns("adult_logreg_input.csv");
    let age = cols.iter().position(|c| c.name == "age").unwrap();
    cols[age].values = ColumnValues::Str(vec![Some("old".into()); 300]);
    let err = bind_columns(model.signature(), &cols, Some("income"), None, &HashMap::new()).unwrap_err();
    assert_eq!(err.to_string(), "column age is text, but input age takes float");

    // Renamed columns are mapped back with an input map.
    let mut cols = columns("adult_logreg_input.csv");
    cols.iter_mut().find(|c| c.name == "sex").unwrap().name = "gender".into();
    let map = HashMap::from([("sex".to_string(), "gender".to_string())]);
    let (inputs, bindings) = bind_columns(model.signature(), &cols, Some("income"), None, &map).unwrap();
    assert!(bindings.iter().any(|b| b.input == "sex" && b.columns == ["gender"]));
    assert!(model.predict(inputs).is_ok());
}

#[test]
fn a_one_column_input_named_otherwise_takes_the_one_feature_column() {
    let signature = riskops_model::Signature {
        inputs: vec![riskops_model::InputSpec {
            name: "x".into(),
            elem_type: riskops_model::ElemType::Float,
            shape: vec![None, Some(1)],
        }],
        label: "y".into(),
        probabilities: None,
        task: Task::Regression,
    };
    let cols = vec![
        Column { name: "id".into(), values: ColumnValues::Int(vec![7, 8]) },
        Column { name: "amount".into(), values: ColumnValues::Float(vec![1.5, f64::NAN]) },
        Column { name: "y".into(), values: ColumnValues::Float(vec![0.0, 1.0]) },
    ];
    let (inputs, bindings) = bind_columns(&signature, &cols, Some("y"), None, &HashMap::new()).unwrap();
    assert_eq!(bindings[0].columns, ["amount"]);
    let Data::F32(x) = &inputs["x"].data else { panic!("not float") };
    assert_eq!((inputs["x"].shape.clone(), x[0], x[1].is_nan()), (vec![2, 1], 1.5, true));
}

#[test]
fn a_matrix_input_takes_the_listed_features() {
    let model = load("credit_gbc");
    let cols = columns("credit_gbc_input.csv");
    // Leaving the label in makes 24 features for 23 slots: the error says so.
    let err = bind_columns(model.signature(), &cols, None, None, &HashMap::new()).unwrap_err();
    assert!(err.to_string().contains("takes 23 features, the data gives 24"), "{err}");
    let features: Vec<String> = cols.iter().map(|c| c.name.clone()).filter(|n| n != "id" && n != "default").collect();
    let (inputs, bindings) = bind_columns(model.signature(), &cols, None, Some(&features), &HashMap::new()).unwrap();
    assert_eq!(bindings[0].columns, features);
    assert_eq!(inputs["input"].shape, vec![300, 23]);
}

/// The fixture's columns repeated `times` over (rows 0..300, then 0..300 again, …).
fn tiled(name: &str, times: usize) -> Vec<Column> {
    columns(name)
        .into_iter()
        .map(|c| {
            let values = match c.values {
                ColumnValues::Float(v) => {
                    ColumnValues::Float(v.iter().copied().cycle().take(v.len() * times).collect())
                }
                ColumnValues::Str(v) => ColumnValues::Str(v.iter().cloned().cycle().take(v.len() * times).collect()),
                other => other,
            };
            Column { name: c.name, values }
        })
        .collect()
}

#[test]
fn a_large_batch_scored_on_every_core_gives_each_row_its_own_answer() {
    // 300 rows are scored on one thread; 300 × 120 = 36,000 are cut into parts per core.
    for (name, label) in [("credit_gbc", "default"), ("adult_logreg", "income"), ("bike_gbr", "count")] {
        let model = load(name);
        let bind =
            |cols: &[Column]| bind_columns(model.signature(), cols, Some(label), None, &HashMap::new()).unwrap().0;
        let one = model.predict(bind(&columns(&format!("{name}_input.csv")))).unwrap();
        let many = model.predict(bind(&tiled(&format!("{name}_input.csv"), 120))).unwrap();
        assert_eq!(many.labels.len(), 300 * 120, "{name}");
        for tile in [0, 1, 59, 119] {
            let labels = many.labels.slice(tile * 300..(tile + 1) * 300);
            assert_eq!(labels, one.labels, "{name}: tile {tile}");
            if let (Some(p), Some(q)) = (&many.probabilities, &one.probabilities) {
                let width = q.len() / 300;
                assert_eq!(&p[tile * 300 * width..(tile + 1) * 300 * width], &q[..], "{name}: tile {tile}");
            }
        }
    }
}
