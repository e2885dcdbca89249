"""Makes the churn model of test/e2e/three-models.test.ts the way a team makes one, and scikit-learn's
own answers to check the served model against.

    churn-model.py <out dir>

A scikit-learn pipeline (StandardScaler, then GradientBoostingClassifier) fitted on a synthetic
customer table (tenure, monthly charges, support calls, contract length; churn more likely with
short tenure, high charges, many calls, short contracts), converted with skl2onnx (no ZipMap: label
and probability tensors). Writes <out>/model.onnx, <out>/model-config.json (task, labels, feature
names) and <out>/case.json: {"features", "labels", "rows", "probabilities", "predicted"}, where
`probabilities` and `predicted` are scikit-learn's predict_proba and predict on `rows`. Exits non-zero
when onnxruntime in Python disagrees with scikit-learn on them, so the reference is sound. Runs in
.tools/models-venv (test/support/third-party-models-requirements.txt).
"""

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# Opsets onnxruntime-node runs (the service's runtime), as test/support/third-party-models.py.
OPSETS = {"": 17, "ai.onnx.ml": 3}
FEATURES = ["tenure_months", "monthly_charges", "support_calls", "contract_months"]
LABELS = ["stays", "churns"]
CUSTOMERS = 2000
ROWS = 8


def customers(rng):
    """The table, every value exact in float32 (whole numbers, charges in quarters)."""
    tenure = rng.integers(0, 73, CUSTOMERS)
    charges = np.round(rng.uniform(20, 120, CUSTOMERS) * 4) / 4
    calls = rng.poisson(1.5, CUSTOMERS)
    contract = rng.choice([1, 12, 24], CUSTOMERS)
    x = np.column_stack([tenure, charges, calls, contract]).astype(np.float32)
    logit = -1.0 + 0.035 * charges - 0.05 * tenure + 0.6 * calls - 0.08 * contract
    y = (rng.random(CUSTOMERS) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return x, y


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(21)
    x, y = customers(rng)
    boost = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("boost", boost)]).fit(x, y)
    model = to_onnx(
        pipe,
        initial_types=[("input", FloatTensorType([None, len(FEATURES)]))],
        options={id(pipe): {"zipmap": False}},
        target_opset=OPSETS,
    )
    path = os.path.join(out, "model.onnx")
    onnx.save_model(model, path)

    rows = x[np.linspace(0, CUSTOMERS - 1, ROWS).astype(int)]
    probabilities = pipe.predict_proba(rows)
    predicted = pipe.predict(rows)
    # Both answers on the rows, so the reference covers both classes.
    if len(set(predicted.tolist())) != 2:
        raise SystemExit(f"the reference rows are all of one class: {predicted.tolist()}")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    label, onnx_probabilities = session.run(None, {"input": rows})
    worst = float(np.max(np.abs(onnx_probabilities - probabilities)))
    if worst > 1e-5 or label.tolist() != predicted.tolist():
        raise SystemExit(f"onnxruntime disagrees with scikit-learn: worst {worst}, {label} != {predicted}")

    config = {
        "schemaVersion": 1,
        "task": "classification",
        "labels": LABELS,
        "input": {"features": FEATURES},
        # A tree ensemble scores each row alone; skl2onnx leaves the batch dimension unnamed.
        "batching": {"enabled": True},
    }
    with open(os.path.join(out, "model-config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f)
    case = {
        "features": FEATURES,
        "labels": LABELS,
        "rows": rows.tolist(),
        "probabilities": probabilities.tolist(),
        "predicted": predicted.tolist(),
    }
    with open(os.path.join(out, "case.json"), "w", encoding="utf-8") as f:
        json.dump(case, f)


if __name__ == "__main__":
    main()
