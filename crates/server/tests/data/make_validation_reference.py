"""Reference values for `riskops validate`: scikit-learn's roc_auc_score on the predictions of
riskops-model's fixture models (onnxruntime's probabilities, committed beside the models in
crates/model/tests/data), so the API test can check riskops's AUC to 1e-9.

Run with the venv that has scikit-learn: python make_validation_reference.py
"""
import csv, json, pathlib, sklearn
from sklearn.metrics import roc_auc_score

HERE = pathlib.Path(__file__).parent
MODELS = HERE / "../../../model/tests/data"
out = {"sklearn": sklearn.__version__, "roc_auc": {}}
for name, label in [("credit_gbc", "default"), ("adult_logreg", "income")]:
    rows = list(csv.DictReader(open(MODELS / f"{name}_input.csv")))
    expected = list(csv.DictReader(open(MODELS / f"{name}_expected.csv")))
    y = [int(float(r[label])) for r in rows]
    p = [float(r["proba_1"]) for r in expected]
    out["roc_auc"][name] = roc_auc_score(y, p)
json.dump(out, open(HERE / "validation_reference.json", "w"), indent=2)
