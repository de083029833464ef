"""The Python side of `cargo bench -p riskops-model --bench shap`: trains the bench's models on
the credit default data, exports them to ONNX, and times shap's TreeExplainer on them.

    python shap_peer.py OUT_DIR [path/to/shared/data]

Writes into OUT_DIR (not committed; the models are megabytes): NAME.onnx, NAME_covers.json
(shap's node_sample_weight in ONNX node order, so both sides explain with the same covers),
rows.csv (the explained rows), background.csv (the interventional background), and
timings.json: shap's seconds (wall and the process's CPU) per model and perturbation, with shap's values of the first
CHECKED rows so the bench can check it computed the same thing.
"""

import json
import os
import resource
import sys
import time

import numpy as np
import pandas as pd
import shap
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../tests/data"))
from make_shap_fixtures import shap_covers  # noqa: E402  (the same ONNX ↔ shap node matching)

OUT = sys.argv[1]
DATA = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "../../../../shared/data")
EXPLAINED = 10_000
INTERVENTIONAL = 1_000  # shap's interventional walks every (row, background row) pair
BACKGROUND = 100
CHECKED = 100
SEED = 5


def main():
    os.makedirs(OUT, exist_ok=True)
    df = pd.read_csv(os.path.join(DATA, "credit_default/default_of_credit_card_clients.csv"), sep=";")
    df = df.rename(columns={"ID": "id", "default payment next month": "default"})
    features = [c for c in df.columns if c not in ("id", "default")]
    df = df.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    df[features] = df[features].astype(np.float32)
    train, rows = df.iloc[EXPLAINED:], df.iloc[:EXPLAINED]
    X, y = train[features].to_numpy(dtype=np.float32), train["default"].to_numpy()
    rows[features].to_csv(os.path.join(OUT, "rows.csv"), index=False, float_format="%.9g")
    train[features].iloc[:BACKGROUND].to_csv(os.path.join(OUT, "background.csv"), index=False, float_format="%.9g")
    explained = rows[features].to_numpy(dtype=np.float64)
    background = train[features].iloc[:BACKGROUND].to_numpy(dtype=np.float64)

    import lightgbm
    import onnxmltools
    import xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType as MlFloat

    initial = [("input", FloatTensorType([None, len(features)]))]
    ml_initial = [("input", MlFloat([None, len(features)]))]
    models = {}
    gbc = GradientBoostingClassifier(n_estimators=300, max_depth=5, random_state=SEED).fit(X, y)
    models["gbc_300x5"] = (gbc, convert_sklearn(gbc, initial_types=initial, target_opset={"": 15, "ai.onnx.ml": 3},
                                                options={id(gbc): {"zipmap": False}}), None)
    rf = RandomForestClassifier(n_estimators=200, max_depth=10, random_state=SEED, n_jobs=-1).fit(X, y)
    models["rf_200x10"] = (rf, convert_sklearn(rf, initial_types=initial, target_opset={"": 15, "ai.onnx.ml": 3},
                                               options={id(rf): {"zipmap": False}}), 1)
    xgb = xgboost.XGBClassifier(n_estimators=300, max_depth=6, random_state=SEED).fit(X, y)
    models["xgb_300x6"] = (xgb, onnxmltools.convert_xgboost(xgb, initial_types=ml_initial, target_opset=15), None)
    lgb = lightgbm.LGBMClassifier(n_estimators=300, num_leaves=31, random_state=SEED, verbose=-1).fit(X, y)
    models["lgbm_300x31"] = (lgb, onnxmltools.convert_lightgbm(lgb, initial_types=ml_initial, target_opset=15,
                                                               zipmap=False), None)

    timings = {"shap": shap.__version__, "explained": EXPLAINED, "interventional_rows": INTERVENTIONAL,
               "background": BACKGROUND, "models": {}}
    for name, (model, onx, pick) in models.items():
        with open(os.path.join(OUT, f"{name}.onnx"), "wb") as f:
            f.write(onx.SerializeToString())
        entry = {}
        path = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
        with open(os.path.join(OUT, f"{name}_covers.json"), "w") as f:
            json.dump(shap_covers(path, onx), f)
        inter = shap.TreeExplainer(model, data=background, feature_perturbation="interventional")
        for key, explainer, n in (("path_dependent", path, EXPLAINED), ("interventional", inter, INTERVENTIONAL)):
            started, cpu_started = time.perf_counter(), time.process_time()
            values = np.asarray(explainer.shap_values(explained[:n], check_additivity=False))
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
            if values.ndim == 3:
                values = values[:, :, pick]
            entry[key] = {"seconds": seconds, "cpu_seconds": cpu_seconds, "rows": n, "values": values[:CHECKED].tolist()}
            print(name, key, n, "rows", f"{seconds:.2f} s ({cpu_seconds:.2f} s CPU)", flush=True)
        timings["models"][name] = entry
    # Peak resident memory of the whole process (training included), in MiB (Linux: KiB).
    timings["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open(os.path.join(OUT, "timings.json"), "w") as f:
        json.dump(timings, f)


if __name__ == "__main__":
    main()
