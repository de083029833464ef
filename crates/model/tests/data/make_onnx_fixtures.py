"""Makes the ONNX fixtures of riskops-model's tests from the real datasets in shared/data.

For each model NAME it writes NAME.onnx, NAME_input.csv (the rows scored: an id column, the
features, the label) and NAME_expected.csv (onnxruntime's outputs on those rows: `label` and
`proba_<class>` for classifiers, `prediction` for regressors). Run from anywhere:

    /work/venv/bin/python make_onnx_fixtures.py [path/to/shared/data]

Versions used are written to versions.json. Seeds are fixed, so a rerun with the same
versions gives the same models and outputs (the .onnx bytes differ: skl2onnx names graphs
with random identifiers).
"""

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import sklearn
import skl2onnx
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.svm import SVC

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../../shared/data")
ROWS = 300
SEED = 7
OPSET = {"": 15, "ai.onnx.ml": 3}


def credit():
    df = pd.read_csv(os.path.join(DATA, "credit_default/default_of_credit_card_clients.csv"), sep=";")
    df = df.rename(columns={"ID": "id", "default payment next month": "default"})
    return df


def adult():
    df = pd.read_csv(os.path.join(DATA, "adult/adult.data"), skipinitialspace=True)
    df = df.rename(columns=lambda c: c.replace("-", "_"))
    df.insert(0, "id", np.arange(1, len(df) + 1))
    df["income"] = (df["income"] == ">50K").astype(np.int64)
    return df


def bike():
    df = pd.read_csv(os.path.join(DATA, "bike_sharing/hour.csv"))
    return df.rename(columns={"instant": "id"})


def split(df, seed=SEED):
    """Training rows and the ROWS scored rows (disjoint)."""
    shuffled = df.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return shuffled.iloc[ROWS:], shuffled.iloc[:ROWS]


def save(name, onx, rows, feed, classes=None):
    path = os.path.join(HERE, f"{name}.onnx")
    data = onx.SerializeToString()
    assert len(data) < 1_000_000, f"{name}: {len(data)} bytes"
    with open(path, "wb") as f:
        f.write(data)
    rows.to_csv(os.path.join(HERE, f"{name}_input.csv"), index=False)
    # One thread: onnxruntime then sums trees in order; with more threads it adds per-thread
    # partial sums, whose float32 rounding differs (by ~1 ulp of the largest partial sum).
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sess = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    outputs = sess.run(None, feed)
    names = [o.name for o in sess.get_outputs()]
    expected = pd.DataFrame({"id": rows["id"].to_numpy()})
    if len(outputs) == 1:  # a regressor
        expected["prediction"] = np.asarray(outputs[0], dtype=np.float32).reshape(-1)
    else:
        expected["label"] = np.asarray(outputs[0]).reshape(-1)
        probs = outputs[1]
        if isinstance(probs, list):  # ZipMap: one dict per row
            classes = list(probs[0].keys())
            probs = np.array([[row[c] for c in classes] for row in probs], dtype=np.float32)
        elif classes is None:
            classes = list(range(probs.shape[1]))
        for j, c in enumerate(classes):
            expected[f"proba_{c}"] = probs[:, j]
    expected.to_csv(os.path.join(HERE, f"{name}_expected.csv"), index=False, float_format="%.9g")
    print(name, len(data), "bytes;", "outputs", names, "ops", sorted({(n.domain, n.op_type) for n in onx.graph.node}))


def matrix_feed(rows, features):
    return {"input": rows[features].to_numpy(dtype=np.float32)}


def credit_models():
    df = credit()
    features = [c for c in df.columns if c not in ("id", "default")]
    train, rows = split(df)
    X, y = train[features].to_numpy(dtype=np.float32), train["default"].to_numpy()
    kinds = {
        "credit_gbc": GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=SEED),
        "credit_rf": RandomForestClassifier(n_estimators=20, max_depth=7, random_state=SEED),
        "credit_mlp": Pipeline([
            ("scale", StandardScaler()),
            ("mlp", MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=200, random_state=SEED)),
        ]),
    }
    initial = [("input", FloatTensorType([None, len(features)]))]
    for name, model in kinds.items():
        model.fit(X, y)
        options = {id(model): {"zipmap": False}} if name != "credit_mlp" else None
        onx = convert_sklearn(model, initial_types=initial, target_opset=OPSET, options=options)
        save(name, onx, rows, matrix_feed(rows, features))
    boosters(train, rows, features)
    unsupported(train, rows, features)


def boosters(train, rows, features):
    """XGBoost and LightGBM through onnxmltools, when they are installed."""
    try:
        import lightgbm
        import onnxmltools
        import xgboost
        from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat
    except ImportError as e:
        print("skipping boosters:", e)
        return
    X, y = train[features].to_numpy(dtype=np.float32), train["default"].to_numpy()
    initial = [("input", MlFloat([None, len(features)]))]
    xgb = xgboost.XGBClassifier(n_estimators=50, max_depth=4, random_state=SEED).fit(X, y)
    onx = onnxmltools.convert_xgboost(xgb, initial_types=initial, target_opset=15)
    save("credit_xgb", onx, rows, matrix_feed(rows, features))
    lgb = lightgbm.LGBMClassifier(n_estimators=50, num_leaves=15, random_state=SEED, verbose=-1).fit(X, y)
    onx = onnxmltools.convert_lightgbm(lgb, initial_types=initial, target_opset=15, zipmap=False)
    save("credit_lgbm", onx, rows, matrix_feed(rows, features))


def unsupported(train, rows, features):
    """An SVC exports an SVMClassifier, which riskops-model does not run."""
    small = train.iloc[:200]
    svc = SVC(probability=True, random_state=SEED).fit(small[features].to_numpy(dtype=np.float32), small["default"])
    onx = convert_sklearn(svc, initial_types=[("input", FloatTensorType([None, len(features)]))], target_opset=OPSET)
    with open(os.path.join(HERE, "credit_svc_unsupported.onnx"), "wb") as f:
        f.write(onx.SerializeToString())


def adult_pipeline():
    """One input per column: numerics (float, some missing) imputed and scaled, categoricals one-hot."""
    df = adult()
    numeric = ["age", "education_num", "capital_gain", "capital_loss", "hours_per_week"]
    categorical = ["workclass", "education", "marital_status", "occupation", "relationship", "race", "sex"]
    df = df[["id"] + numeric + categorical + ["income"]].copy()
    df[numeric] = df[numeric].astype(np.float32)
    rng = np.random.default_rng(SEED)
    for c in ("age", "hours_per_week"):  # some missing values, so the imputer has work to do
        df.loc[rng.random(len(df)) < 0.05, c] = np.nan
    train, rows = split(df)
    pipe = Pipeline([
        ("prep", ColumnTransformer([
            ("num", Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]), numeric),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ])),
        ("logreg", LogisticRegression(max_iter=1000)),
    ])
    pipe.fit(train[numeric + categorical], train["income"])
    initial = [(c, FloatTensorType([None, 1])) for c in numeric] + [(c, StringTensorType([None, 1])) for c in categorical]
    onx = convert_sklearn(pipe, initial_types=initial, target_opset=OPSET)
    feed = {c: rows[[c]].to_numpy(dtype=np.float32) for c in numeric}
    feed.update({c: rows[[c]].to_numpy(dtype=object).astype(str) for c in categorical})
    save("adult_logreg", onx, rows, feed)


def adult_ordinal():
    """Ordinal-encoded categoricals into gradient boosting; string class labels."""
    df = adult()
    numeric = ["age", "education_num", "hours_per_week"]
    categorical = ["workclass", "marital_status", "occupation", "sex"]
    df = df[["id"] + numeric + categorical + ["income"]].copy()
    df[numeric] = df[numeric].astype(np.float32)
    df["income"] = np.where(df["income"] == 1, ">50K", "<=50K")
    train, rows = split(df)
    pipe = Pipeline([
        ("prep", ColumnTransformer([
            ("num", SimpleImputer(strategy="median"), numeric),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), categorical),
        ])),
        ("gbc", GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=SEED)),
    ])
    pipe.fit(train[numeric + categorical], train["income"])
    initial = [(c, FloatTensorType([None, 1])) for c in numeric] + [(c, StringTensorType([None, 1])) for c in categorical]
    onx = convert_sklearn(pipe, initial_types=initial, target_opset=OPSET)
    feed = {c: rows[[c]].to_numpy(dtype=np.float32) for c in numeric}
    feed.update({c: rows[[c]].to_numpy(dtype=object).astype(str) for c in categorical})
    save("adult_ordinal_gbc", onx, rows, feed)


def bike_models():
    df = bike()
    features = ["season", "year", "month", "hour", "holiday", "weekday", "workingday", "weathersit",
                "temp", "feelingTemp", "humidity", "windspeed"]
    df = df[["id"] + features + ["count"]]
    train, rows = split(df)
    X = train[features].to_numpy(dtype=np.float32)
    initial = [("input", FloatTensorType([None, len(features)]))]
    gbr = GradientBoostingRegressor(n_estimators=50, max_depth=4, random_state=SEED).fit(X, train["count"])
    save("bike_gbr", convert_sklearn(gbr, initial_types=initial, target_opset=OPSET), rows, matrix_feed(rows, features))
    # Multi-class: the weather situation (1..4) from the other features, softmax over trees.
    others = [f for f in features if f != "weathersit"]
    rows_m = rows[["id"] + others + ["weathersit"]]
    gbc = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=SEED)
    gbc.fit(train[others].to_numpy(dtype=np.float32), train["weathersit"])
    onx = convert_sklearn(gbc, initial_types=[("input", FloatTensorType([None, len(others)]))], target_opset=OPSET,
                          options={id(gbc): {"zipmap": False}})
    save("bike_weather_gbc", onx, rows_m, matrix_feed(rows_m, others), classes=list(gbc.classes_))
    # Multinomial logistic regression: a LinearClassifier with a softmax.
    logreg = Pipeline([("scale", StandardScaler()), ("logreg", LogisticRegression(max_iter=2000))])
    logreg.fit(train[others].to_numpy(dtype=np.float32), train["weathersit"])
    onx = convert_sklearn(logreg, initial_types=[("input", FloatTensorType([None, len(others)]))], target_opset=OPSET,
                          options={id(logreg): {"zipmap": False}})
    save("bike_weather_logreg", onx, rows_m, matrix_feed(rows_m, others), classes=list(logreg.classes_))
    # Normalizer and a linear regressor.
    ridge = Pipeline([("scale", StandardScaler()), ("norm", Normalizer()), ("ridge", Ridge(alpha=1.0))])
    ridge.fit(X, train["count"])
    save("bike_ridge", convert_sklearn(ridge, initial_types=initial, target_opset=OPSET), rows, matrix_feed(rows, features))


def operator_graph():
    """A hand-made graph of the operators the exported models above do not use, with
    onnxruntime's outputs for each (ops_misc.onnx, ops_misc.json)."""
    from onnx import TensorProto, helper, numpy_helper

    df = adult().dropna(subset=["workclass"]).iloc[:ROWS]
    x = np.stack([df["age"] / 10, df["education_num"], df["hours_per_week"] / 10, df["capital_gain"] / 1e4], axis=1)
    feed = {
        "X": x.astype(np.float32),
        "C": df[["workclass"]].to_numpy(dtype=object).astype(str),
        "K": df[["education_num"]].to_numpy(dtype=np.int64),
    }
    rng = np.random.default_rng(SEED)
    init = [
        numpy_helper.from_array(rng.normal(size=(3, 4)).astype(np.float32), "W"),
        numpy_helper.from_array(rng.normal(size=(3,)).astype(np.float32), "B"),
        numpy_helper.from_array(np.array(3.0, dtype=np.float32), "three"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "s_start"),
        numpy_helper.from_array(np.array([3], dtype=np.int64), "s_end"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "s_axes"),
        numpy_helper.from_array(np.array([3, 0], dtype=np.int64), "g_idx"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "u_axes"),
    ]
    ml = "ai.onnx.ml"
    cats = sorted(df["workclass"].unique())[:5]
    nodes = [
        helper.make_node("Gemm", ["X", "W", "B"], ["G"], alpha=0.5, beta=2.0, transB=1),
        helper.make_node("Softmax", ["G"], ["S"], axis=-1),
        helper.make_node("ArgMax", ["S"], ["AM"], axis=1, keepdims=0),
        helper.make_node("Tanh", ["G"], ["T"]),
        helper.make_node("Div", ["T", "three"], ["D"]),
        helper.make_node("Slice", ["X", "s_start", "s_end", "s_axes"], ["XS"]),
        helper.make_node("Gather", ["X", "g_idx"], ["XG"], axis=1),
        helper.make_node("Unsqueeze", ["XS", "u_axes"], ["XU"]),
        helper.make_node("Flatten", ["XU"], ["XF"], axis=1),
        helper.make_node("Squeeze", ["XU", "u_axes"], ["XQ"]),
        helper.make_node("Binarizer", ["X"], ["XB"], domain=ml, threshold=1.5),
        helper.make_node("Normalizer", ["X"], ["XN"], domain=ml, norm="L2"),
        helper.make_node("Normalizer", ["X"], ["XN1"], domain=ml, norm="L1"),
        helper.make_node("CategoryMapper", ["C"], ["CM"], domain=ml, cats_strings=cats,
                         cats_int64s=list(range(len(cats))), default_int64=-1),
        helper.make_node("LabelEncoder", ["K"], ["LE"], domain=ml, keys_int64s=[9, 10, 13],
                         values_strings=["hs", "college", "bachelors"], default_string="other"),
        helper.make_node("LabelEncoder", ["C"], ["LEF"], domain=ml, keys_strings=cats,
                         values_floats=[float(i) / 2 for i in range(len(cats))], default_float=-1.0),
        helper.make_node("FeatureVectorizer", ["XG", "XS"], ["FV"], domain=ml, inputdimensions=[2, 2]),
        helper.make_node("LinearRegressor", ["X"], ["LR"], domain=ml, targets=2,
                         coefficients=[0.5, -1.0, 0.25, 2.0, 1.0, 0.0, -0.5, 0.125], intercepts=[0.1, -0.2]),
        helper.make_node("Cast", ["X"], ["XD"], to=TensorProto.DOUBLE),
        helper.make_node("Scaler", ["XD"], ["SC"], domain=ml, offset=[3.5, 10.0, 4.0, 0.1], scale=[0.3, 0.4, 0.5, 2.0]),
        helper.make_node("Sigmoid", ["D"], ["SG"]),
        helper.make_node("Relu", ["G"], ["RL"]),
        helper.make_node("Mul", ["XS", "XG"], ["MU"]),
    ]
    output_types = {"AM": TensorProto.INT64, "CM": TensorProto.INT64, "LE": TensorProto.STRING}
    outputs = ["S", "AM", "D", "XF", "XQ", "XB", "XN", "XN1", "CM", "LE", "LEF", "FV", "LR", "SC", "SG", "RL", "MU"]
    graph = helper.make_graph(
        nodes, "ops_misc",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, 4]),
         helper.make_tensor_value_info("C", TensorProto.STRING, [None, 1]),
         helper.make_tensor_value_info("K", TensorProto.INT64, [None, 1])],
        [helper.make_tensor_value_info(o, output_types.get(o, TensorProto.FLOAT), None) for o in outputs],
        initializer=init,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15), helper.make_opsetid(ml, 3)])
    data = model.SerializeToString()
    with open(os.path.join(HERE, "ops_misc.onnx"), "wb") as f:
        f.write(data)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    sess = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    results = sess.run(outputs, feed)

    def tensor(a):
        a = np.asarray(a)
        values = a.reshape(-1).tolist() if a.dtype != object else [str(v) for v in a.reshape(-1)]
        if a.dtype == np.float32:
            values = [float(v) for v in a.reshape(-1)]
        return {"type": str(a.dtype), "shape": list(a.shape), "values": values}

    doc = {"inputs": {k: tensor(v) for k, v in feed.items()}, "outputs": dict(zip(outputs, map(tensor, results)))}
    with open(os.path.join(HERE, "ops_misc.json"), "w") as f:
        json.dump(doc, f)
    print("ops_misc", len(data), "bytes")


def main():
    credit_models()
    adult_pipeline()
    adult_ordinal()
    bike_models()
    operator_graph()
    versions = {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__, "onnx": onnx.__version__,
                "onnxruntime": ort.__version__, "numpy": np.__version__, "pandas": pd.__version__}
    for mod in ("xgboost", "lightgbm", "onnxmltools"):
        try:
            versions[mod] = __import__(mod).__version__
        except ImportError:
            pass
    with open(os.path.join(HERE, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
