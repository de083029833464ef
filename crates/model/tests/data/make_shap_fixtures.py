"""Makes the TreeSHAP reference vectors of riskops-model's tests (tests/data/shap/).

Small tree models are trained on real data (shared/data: credit default, bike sharing),
exported to ONNX (skl2onnx; onnxmltools for XGBoost and LightGBM), and explained with shap's
TreeExplainer two ways:

* path-dependent (`feature_perturbation="tree_path_dependent"`, the model's own covers),
* interventional (`feature_perturbation="interventional"`, background = the first
  BACKGROUND training rows).

Files written (all small; run from anywhere):

    /work/venv-shap/bin/python make_shap_fixtures.py [path/to/shared/data]

* `shap/<dataset>_train.csv`: the TRAIN training rows (float32 values; the first BACKGROUND
  are the interventional background), so tests can recompute covers from the data;
* `shap/<dataset>_rows.csv`: the EXPLAINED rows explained (held out from training);
* `shap/<model>.onnx` and `shap/<model>.json`: shap's `expected_value` and values for both
  perturbations (values[row][feature][output]; one output for binary log-odds models and
  regressors), and `covers`: shap's `node_sample_weight` per tree, in the ONNX file's node
  order (matched to shap's arrays by walking both trees from the root).

Versions are in shap/versions.json. Seeds are fixed.
"""

import json
import os
import sys

import numpy as np
import onnx
import pandas as pd
import shap
import sklearn
import skl2onnx
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "shap")
DATA = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../../../shared/data")
TRAIN = 1000
EXPLAINED = 80
BACKGROUND = 100
SEED = 11
OPSET = {"": 15, "ai.onnx.ml": 3}


def split(df, features, label):
    """float32 training rows and explained rows (disjoint), as the ONNX models see them."""
    shuffled = df.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    shuffled[features] = shuffled[features].astype(np.float32)
    return shuffled.iloc[:TRAIN][features + [label]], shuffled.iloc[TRAIN:TRAIN + EXPLAINED][features + [label]]


def write_rows(name, frame):
    # float32 values printed with repr: parsing them back as f64 then f32 gives the same float32.
    frame.to_csv(os.path.join(OUT, f"{name}.csv"), index=False, float_format="%.9g")


def onnx_trees(onx):
    """Per tree (in order of first appearance): node ids in attribute order and id -> node."""
    node = next(n for n in onx.graph.node if n.op_type.startswith("TreeEnsemble"))
    a = {x.name: onnx.helper.get_attribute_value(x) for x in node.attribute}
    trees = {}
    for i, (t, nid) in enumerate(zip(a["nodes_treeids"], a["nodes_nodeids"])):
        order, nodes = trees.setdefault(t, ([], {}))
        order.append(nid)
        mode = a["nodes_modes"][i].decode()
        nodes[nid] = (mode, a["nodes_featureids"][i], a["nodes_values"][i], a["nodes_truenodeids"][i],
                      a["nodes_falsenodeids"][i])
    return list(trees.values())


def shap_covers(explainer, onx):
    """shap's node_sample_weight, tree by tree, in the ONNX node order (walking both trees
    from the root: the ONNX 'true' child is shap's left child; features must agree)."""
    covers = []
    shap_trees = explainer.model.trees
    onnx_tree_list = onnx_trees(onx)
    assert len(shap_trees) == len(onnx_tree_list), (len(shap_trees), len(onnx_tree_list))
    for st, (order, nodes) in zip(shap_trees, onnx_tree_list):
        cover = {}
        stack = [(order[0], 0)]
        while stack:
            o, s = stack.pop()
            mode, feature, threshold, t, f = nodes[o]
            cover[o] = float(st.node_sample_weight[s])
            if mode == "LEAF":
                assert st.children_left[s] < 0
                continue
            assert st.features[s] == feature, (st.features[s], feature)
            assert abs(st.thresholds[s] - threshold) <= 1e-6 * max(1.0, abs(threshold)), (st.thresholds[s], threshold)
            stack.append((t, st.children_left[s]))
            stack.append((f, st.children_right[s]))
        covers.append([cover[o] for o in order])
    return covers


def as_rows_features_outputs(values):
    """shap's values as [row][feature][output]."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 2:
        v = v[:, :, None]
    return v


def brute_force_interventional(onx_bytes, x, background, outputs):
    """Exact interventional Shapley values of one row by enumerating every coalition (2^n
    hybrid rows per background row, scored by onnxruntime): the definition shap's
    interventional TreeSHAP computes, to check shap where it disagrees with riskops."""
    import itertools
    import math

    import onnxruntime as ort

    n = x.shape[0]
    masks = np.array(list(itertools.product([0, 1], repeat=n)), dtype=bool)
    hybrid = np.where(masks[:, None, :], x[None, None, :], background[None, :, :]).reshape(-1, n)
    sess = ort.InferenceSession(onx_bytes, providers=["CPUExecutionProvider"])
    out = sess.run(None, {"input": hybrid.astype(np.float32)})
    margin = np.asarray(out[outputs], dtype=np.float64).reshape(len(masks), len(background), -1).mean(axis=1)
    index = {m.tobytes(): i for i, m in enumerate(masks)}
    phi = np.zeros((n, margin.shape[1]))
    for i, m in enumerate(masks):
        k = int(m.sum())
        for j in np.flatnonzero(~m):
            with_j = m.copy()
            with_j[j] = True
            weight = math.factorial(k) * math.factorial(n - k - 1) / math.factorial(n)
            phi[j] += weight * (margin[index[with_j.tobytes()]] - margin[i])
    return phi


def explain(name, model, onx, train, rows, features, shap_output, pick=None, exact_rows=0):
    """Writes NAME.onnx and NAME.json. `pick` selects shap's outputs that the ONNX margin has
    (the positive class of a binary random forest, whose ONNX scores one column)."""
    data = onx.SerializeToString()
    with open(os.path.join(OUT, f"{name}.onnx"), "wb") as f:
        f.write(data)
    X = rows[features].to_numpy(dtype=np.float64)  # the float32 values, exactly
    background = train[features].iloc[:BACKGROUND].to_numpy(dtype=np.float64)
    doc = {"shap_output": shap_output, "features": features}
    path = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    inter = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
    for key, explainer in (("path_dependent", path), ("interventional", inter)):
        values = as_rows_features_outputs(explainer.shap_values(X))
        expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=np.float64))
        if pick is not None:
            values, expected = values[:, :, pick:pick + 1], expected[pick:pick + 1]
        doc[key] = {
            "expected_value": [float(f"{e:.10g}") for e in expected],
            "values": [[[float(f"{x:.10g}") for x in fo] for fo in r] for r in values],
        }
    doc["covers"] = shap_covers(path, onx)
    if exact_rows:
        # Regressors only: their ONNX output 0 is the margin.
        exact = [brute_force_interventional(data, X[r], background, 0) for r in range(exact_rows)]
        doc["interventional_exact"] = [[[float(f"{x:.10g}") for x in fo] for fo in r] for r in exact]
    with open(os.path.join(OUT, f"{name}.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(name, len(data), "bytes onnx;", os.path.getsize(os.path.join(OUT, f"{name}.json")), "bytes json")


def credit_models():
    df = pd.read_csv(os.path.join(DATA, "credit_default/default_of_credit_card_clients.csv"), sep=";")
    df = df.rename(columns={"ID": "id", "default payment next month": "default"})
    features = [c for c in df.columns if c not in ("id", "default")]
    train, rows = split(df, features, "default")
    write_rows("credit_train", train)
    write_rows("credit_rows", rows)
    X, y = train[features].to_numpy(dtype=np.float32), train["default"].to_numpy()
    initial = [("input", FloatTensorType([None, len(features)]))]
    options = {"zipmap": False}

    gbc = GradientBoostingClassifier(n_estimators=50, max_depth=4, random_state=SEED).fit(X, y)
    onx = convert_sklearn(gbc, initial_types=initial, target_opset=OPSET, options={id(gbc): options})
    explain("credit_gbc", gbc, onx, train, rows, features, "log-odds of class 1")

    # Bootstrapped: shap's covers count bootstrap draws, which the data alone cannot replay.
    rf = RandomForestClassifier(n_estimators=30, max_depth=5, random_state=SEED).fit(X, y)
    onx = convert_sklearn(rf, initial_types=initial, target_opset=OPSET, options={id(rf): options})
    explain("credit_rf", rf, onx, train, rows, features, "probability of class 1 (shap's class-1 output)", pick=1)

    import lightgbm
    import onnxmltools
    import xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat

    ml_initial = [("input", MlFloat([None, len(features)]))]
    xgb = xgboost.XGBClassifier(n_estimators=50, max_depth=4, random_state=SEED).fit(X, y)
    onx = onnxmltools.convert_xgboost(xgb, initial_types=ml_initial, target_opset=15)
    explain("credit_xgb", xgb, onx, train, rows, features, "log-odds of class 1 (XGBoost margin)")

    lgb = lightgbm.LGBMClassifier(n_estimators=50, num_leaves=15, random_state=SEED, verbose=-1).fit(X, y)
    onx = onnxmltools.convert_lightgbm(lgb, initial_types=ml_initial, target_opset=15, zipmap=False)
    explain("credit_lgbm", lgb, onx, train, rows, features, "log-odds of class 1 (LightGBM raw score)")


def bike_models():
    df = pd.read_csv(os.path.join(DATA, "bike_sharing/hour.csv"))
    features = ["season", "year", "month", "hour", "holiday", "weekday", "workingday", "weathersit",
                "temp", "feelingTemp", "humidity", "windspeed"]
    df = df[features + ["count"]].copy()
    df["count"] = df["count"].astype(np.float32)
    train, rows = split(df, features, "count")
    write_rows("bike_train", train)
    write_rows("bike_rows", rows)
    X = train[features].to_numpy(dtype=np.float32)
    initial = [("input", FloatTensorType([None, len(features)]))]

    gbr = GradientBoostingRegressor(n_estimators=50, max_depth=4, random_state=SEED).fit(X, train["count"])
    onx = convert_sklearn(gbr, initial_types=initial, target_opset=OPSET)
    explain("bike_gbr", gbr, onx, train, rows, features, "predicted count", exact_rows=3)

    # No bootstrap: every tree sees every training row, so covers are counts of the data.
    rfr = RandomForestRegressor(n_estimators=20, max_depth=5, bootstrap=False, max_features=0.5,
                                random_state=SEED).fit(X, train["count"])
    onx = convert_sklearn(rfr, initial_types=initial, target_opset=OPSET)
    explain("bike_rfr", rfr, onx, train, rows, features, "predicted count (average of trees)", exact_rows=3)

    # Multi-class: the weather situation from the other features, one output per class (shap
    # does not explain sklearn's multi-class gradient boosting; LightGBM's it does).
    import lightgbm
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat

    others = [f for f in features if f != "weathersit"]
    lgb = lightgbm.LGBMClassifier(n_estimators=10, num_leaves=7, random_state=SEED, verbose=-1)
    lgb.fit(train[others].to_numpy(dtype=np.float32), train["weathersit"])
    onx = onnxmltools.convert_lightgbm(lgb, initial_types=[("input", MlFloat([None, len(others)]))],
                                       target_opset=15, zipmap=False)
    explain("bike_weather_lgbm", lgb, onx, train, rows, others, f"raw score per class {[int(c) for c in lgb.classes_]}")


def main():
    os.makedirs(OUT, exist_ok=True)
    credit_models()
    bike_models()
    versions = {"shap": shap.__version__, "scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__,
                "onnx": onnx.__version__, "numpy": np.__version__, "pandas": pd.__version__}
    for mod in ("xgboost", "lightgbm", "onnxmltools"):
        versions[mod] = __import__(mod).__version__
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(versions, f, indent=2)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("total", total, "bytes")


if __name__ == "__main__":
    main()
