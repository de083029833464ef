"""Trains one small scikit-learn model and writes it twice: as MLServer serves it
(models/credit-lr/model.joblib + model-settings.json) and as ONNX (credit_lr.onnx, by
skl2onnx), with the dataset it was trained on (german.csv). The server's `mlserver` tests
register both and check that validating the endpoint gives what validating the ONNX file gives.

Data: testdata/german_credit (UCI Statlog German Credit, CC BY 4.0; see its SOURCE.md), its
numeric columns only. Run by .ci/run: python make_model.py OUT_DIR
"""

import json
import os
import sys

import joblib
import pandas as pd
from skl2onnx import to_onnx
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
GERMAN = os.path.join(HERE, "../../testdata/german_credit/german.data")
FEATURES = [
    "DURATION_MONTHS",
    "AMOUNT",
    "INSTALLMENT_RATE",
    "PRESENT_RESIDENCE_SINCE",
    "AGE",
    "NUMBER_OF_CREDIT_CARDS",
    "LIABLE_PEOPLE",
]
LABEL = "CLASSIFICATION"


def main(out):
    df = pd.read_csv(GERMAN, sep=" ")[FEATURES + [LABEL]]
    X, y = df[FEATURES].to_numpy(dtype="float64"), df[LABEL].to_numpy()
    model = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(max_iter=1000))]).fit(X, y)

    served = os.path.join(out, "models", "credit-lr")
    os.makedirs(served, exist_ok=True)
    joblib.dump(model, os.path.join(served, "model.joblib"))
    settings = {
        "name": "credit-lr",
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "v1"},
        # Declared, so the model's v2 metadata names its input (riskops records it).
        "inputs": [{"name": "input-0", "datatype": "FP64", "shape": [-1, len(FEATURES)]}],
    }
    with open(os.path.join(served, "model-settings.json"), "w") as f:
        json.dump(settings, f, indent=2)

    onx = to_onnx(model, X[:1].astype("float32"), options={id(model): {"zipmap": False}}, target_opset=17)
    with open(os.path.join(out, "credit_lr.onnx"), "wb") as f:
        f.write(onx.SerializeToString())
    df.to_csv(os.path.join(out, "german.csv"), index=False)


if __name__ == "__main__":
    main(sys.argv[1])
