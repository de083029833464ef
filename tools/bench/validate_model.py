"""Makes the model and data of `cargo bench -p riskops-cli --bench validate`, and times
onnxruntime on them.

    python validate_model.py OUT_DIR ROWS

Trains a 300-tree depth-5 GradientBoostingClassifier on UCI "default of credit card clients"
(shared/data/credit_default, CC BY 4.0; see its SOURCE.md), exports it with skl2onnx
(float32 inputs, no ZipMap), writes OUT_DIR/model.onnx and OUT_DIR/data.csv (the 30,000
rows tiled to ROWS, label column `default`), then scores data.csv with onnxruntime with one
intra-op thread and with every core, and prints one JSON line:
{"rows", "ort_seconds_1", "ort_seconds_all", "threads"}. Nothing here is committed output.
"""
import json
import os
import sys
import time

import numpy as np
import onnxruntime as ort
import pandas as pd
from skl2onnx import to_onnx
from sklearn.ensemble import GradientBoostingClassifier

HERE = os.path.dirname(os.path.abspath(__file__))
CREDIT = os.path.join(HERE, "../../../shared/data/credit_default/default_of_credit_card_clients.csv")


def main(out, rows):
    os.makedirs(out, exist_ok=True)
    df = pd.read_csv(os.environ.get("RISKOPS_BENCH_CREDIT", CREDIT), sep=";")
    df = df.drop(columns=["ID"]).rename(columns={"default payment next month": "default"})
    X = df.drop(columns=["default"]).astype(np.float32)
    y = df["default"].to_numpy()
    model_path = os.path.join(out, "model.onnx")
    if not os.path.exists(model_path):
        model = GradientBoostingClassifier(n_estimators=300, max_depth=5, random_state=0).fit(X, y)
        onx = to_onnx(model, X[:1].to_numpy(), options={id(model): {"zipmap": False}}, target_opset=17)
        with open(model_path, "wb") as f:
            f.write(onx.SerializeToString())
    data_path = os.path.join(out, "data.csv")
    reps = -(-rows // len(df))
    big = pd.concat([df] * reps, ignore_index=True).iloc[:rows]
    if not os.path.exists(data_path) or sum(1 for _ in open(data_path)) != rows + 1:
        big.to_csv(data_path, index=False)
    features = big.drop(columns=["default"]).astype(np.float32).to_numpy()
    times = {}
    for threads in (1, os.cpu_count()):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            session.run(None, {name: features})
            best = min(best, time.perf_counter() - start)
        times[threads] = best
    print(json.dumps({"rows": rows, "ort_seconds_1": times[1], "ort_seconds_all": times[os.cpu_count()],
                      "threads": os.cpu_count()}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
