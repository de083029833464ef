"""Makes scorer.onnx, the quickstart's model: a logistic regression on customers.csv (the
numbers imputed and scaled, `sex` one-hot encoded), one ONNX input per column, so riskops can
validate and stress-test it on holdout.csv. Run with scikit-learn and skl2onnx installed:

    python make_scorer_onnx.py
"""
import pathlib

import pandas as pd
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

HERE = pathlib.Path(__file__).parent
NUMERIC = ["limit_bal", "education", "marriage", "age", "pay_0", "bill_amt1", "pay_amt1"]

train = pd.read_csv(HERE / "customers.csv")
numbers = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
prep = ColumnTransformer([("num", numbers, NUMERIC), ("cat", OneHotEncoder(handle_unknown="ignore"), ["sex"])])
model = Pipeline([("prep", prep), ("logreg", LogisticRegression(C=0.01, max_iter=1000))])
model.fit(train[NUMERIC + ["sex"]], train["default"])
inputs = [(c, FloatTensorType([None, 1])) for c in NUMERIC] + [("sex", StringTensorType([None, 1]))]
onx = convert_sklearn(model, initial_types=inputs, target_opset={"": 17, "ai.onnx.ml": 3},
                      options={id(model): {"zipmap": False}})
(HERE / "scorer.onnx").write_bytes(onx.SerializeToString())
