"""Logs models to a real MLflow server the way a data scientist does, for
test/interop/mlflow-onnx-flavor.test.ts; run in .tools/mlflow-venv (test/support/mlflow-requirements.txt)
with MLFLOW_TRACKING_URI set.

    mlflow-onnx-models.py <out dir>

Registers, each with alias champion and none with plinth's sha256 tag:
  iris-onnx-flavor      scaler + random forest (skl2onnx, zipmap=False) logged with
                        mlflow.onnx.log_model: a column-based signature (the iris DataFrame's
                        columns), an input example and metadata={"plinth": {...}}
  digits-onnx-external  a softmax regression over 64 pixels written with onnx.helper and raw tensor
                        data (as torch.onnx.export writes weights), logged with mlflow.onnx.log_model's
                        defaults: its 2.5 KB weight tensor is saved as external data
  iris-sklearn-flavor   a scikit-learn pipeline itself (mlflow.sklearn.log_model): no onnx flavor
and saves, without a server, a tensor-signature and a bare ONNX-flavor model under <out>/saved/.
Writes <out>/case.json ({"inputs": [<v2 tensor>], "outputs": [<v2 tensor>]}: iris-onnx-flavor's
outputs as onnxruntime computes them) and prints {"<name>": {"version", "artifact_uri"}} as JSON.
"""

import json
import os
import sys
import warnings

import mlflow
import mlflow.onnx
import mlflow.sklearn
import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from mlflow import MlflowClient
from mlflow.models import infer_signature
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.datasets import load_digits, load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

# Opsets onnxruntime-node 1.30 runs (the service's runtime), as in third-party-models.py.
OPSETS = {"": 17, "ai.onnx.ml": 3}
ROWS = 25
LABELS = ["setosa", "versicolor", "virginica"]


def v2_tensor(name, array):
    datatype = {np.dtype(np.float32): "FP32", np.dtype(np.int64): "INT64"}[array.dtype]
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": array.ravel().tolist()}


def iris_classifier():
    iris = load_iris(as_frame=True)
    frame = iris.data.astype(np.float32)
    forest = RandomForestClassifier(n_estimators=15, max_depth=4, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("forest", forest)]).fit(frame, iris.target)
    types = [("input", FloatTensorType([None, frame.shape[1]]))]
    model = to_onnx(pipe, initial_types=types, options={id(pipe): {"zipmap": False}}, target_opset=OPSETS)
    return pipe, model, frame


def digits_classifier():
    """skl2onnx writes weights as float lists, which onnx never moves to external files; a graph
    whose weights are numpy arrays (raw_data) is what a PyTorch export looks like."""
    x, y = load_digits(return_X_y=True)
    regression = LogisticRegression(max_iter=500).fit(x / 16.0, y)
    weights = numpy_helper.from_array(regression.coef_.T.astype(np.float32), "weights")
    bias = numpy_helper.from_array(regression.intercept_.astype(np.float32), "bias")
    nodes = [
        helper.make_node("MatMul", ["pixels", "weights"], ["scores"]),
        helper.make_node("Add", ["scores", "bias"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        [weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def iris_sklearn():
    """A scaler + logistic regression pipeline as scikit-learn keeps it (skops trusts its types)."""
    x, y = load_iris(return_X_y=True)
    return Pipeline([("scale", StandardScaler()), ("regression", LogisticRegression(max_iter=300))]).fit(x, y)


def register(name, log):
    """Logs a model in a run of its own, registers it as `name` and points champion at the version."""
    with mlflow.start_run(run_name=name):
        info = log(registered_model_name=name)
    client = MlflowClient()
    version = str(info.registered_model_version)
    client.set_registered_model_alias(name, "champion", version)
    return {"version": version, "artifact_uri": client.get_model_version_download_uri(name, version)}


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    pipe, model, frame = iris_classifier()
    rows = frame.to_numpy()[np.linspace(0, len(frame) - 1, ROWS).astype(int)]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    outputs = session.run(names, {"input": rows})
    case = {"inputs": [v2_tensor("input", rows)], "outputs": [v2_tensor(n, r) for n, r in zip(names, outputs)]}
    with open(os.path.join(out, "case.json"), "w", encoding="utf-8") as f:
        json.dump(case, f)

    mlflow.set_experiment("data-science")
    # MLflow's pyfunc check of the input example builds a DataFrame from both outputs (labels [N],
    # probabilities [N, 3]) and warns that it cannot; the model itself is logged as given.
    warnings.filterwarnings("ignore")
    signature = infer_signature(frame.head(5), pipe.predict_proba(frame.head(5)).astype(np.float32))
    plinth = {"task": "classification", "labels": LABELS}
    registered = {
        "iris-onnx-flavor": register(
            "iris-onnx-flavor",
            lambda **kw: mlflow.onnx.log_model(
                model,
                name="model",
                signature=signature,
                input_example=frame.head(3),
                metadata={"plinth": plinth},
                **kw,
            ),
        ),
        "digits-onnx-external": register(
            "digits-onnx-external",
            lambda **kw: mlflow.onnx.log_model(digits_classifier(), name="model", **kw),
        ),
        "iris-sklearn-flavor": register(
            "iris-sklearn-flavor",
            lambda **kw: mlflow.sklearn.log_model(iris_sklearn(), name="model", **kw),
        ),
    }

    saved = os.path.join(out, "saved")
    tensor_signature = infer_signature({"input": rows[:5]}, dict(zip(names, [o[:5] for o in outputs])))
    mlflow.onnx.save_model(model, os.path.join(saved, "tensor-signature"), signature=tensor_signature)
    mlflow.onnx.save_model(model, os.path.join(saved, "no-signature"))
    print(json.dumps(registered))


if __name__ == "__main__":
    main()
