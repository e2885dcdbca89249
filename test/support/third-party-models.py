"""Makes the third-party models of test/interop/third-party-models.test.ts the way a team makes them,
and the reference outputs: onnxruntime in Python on the same inputs.

    third-party-models.py <out dir>

For each model it writes <out>/<model>/model.onnx and <out>/<model>/case.json:
{"inputs": [<v2 tensor>], "outputs": [<v2 tensor>]} with flat `data` (the outputs as onnxruntime
computed them). Pinned in test/support/third-party-models-requirements.txt (.tools/models-venv).
Test-only: it only makes models and references; everything that serves them is TypeScript.
"""

import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
from onnx import TensorProto, helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

# Opsets onnxruntime-node 1.30 runs (the service's runtime), whatever skl2onnx would pick by default.
OPSETS = {"": 17, "ai.onnx.ml": 3}
ROWS = 25

V2_DATATYPE = {
    np.dtype(np.bool_): "BOOL",
    np.dtype(np.int8): "INT8",
    np.dtype(np.int16): "INT16",
    np.dtype(np.int32): "INT32",
    np.dtype(np.int64): "INT64",
    np.dtype(np.uint8): "UINT8",
    np.dtype(np.uint16): "UINT16",
    np.dtype(np.uint32): "UINT32",
    np.dtype(np.uint64): "UINT64",
    np.dtype(np.float16): "FP16",
    np.dtype(np.float32): "FP32",
    np.dtype(np.float64): "FP64",
}


def v2_tensor(name, array):
    """A v2 JSON tensor: strings as BYTES, everything else by its numpy dtype, data flat."""
    array = np.asarray(array)
    if array.dtype.kind in "OUS":
        datatype, data = "BYTES", [str(v) for v in array.ravel()]
    else:
        datatype, data = V2_DATATYPE[array.dtype], array.ravel().tolist()
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": data}


def write_case(out, name, model, feeds):
    """Saves the model, runs it with onnxruntime on `feeds` and saves inputs and outputs."""
    folder = os.path.join(out, name)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "model.onnx")
    onnx.save_model(model, path)
    case = {"inputs": [v2_tensor(k, v) for k, v in feeds.items()]}
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    results = session.run(names, feeds)
    # A ZipMap output is a list of dicts, not a tensor: such a model has no tensor reference.
    tensors = all(isinstance(r, np.ndarray) for r in results)
    case["outputs"] = [v2_tensor(n, r) for n, r in zip(names, results)] if tensors else None
    with open(os.path.join(folder, "case.json"), "w", encoding="utf-8") as f:
        json.dump(case, f)


def sample_rows(x):
    """ROWS rows spread over the dataset (every class of iris)."""
    return x[np.linspace(0, len(x) - 1, ROWS).astype(int)]


def iris_forest(zipmap):
    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    forest = RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("forest", forest)]).fit(x, y)
    options = None if zipmap else {id(pipe): {"zipmap": False}}
    types = [("input", FloatTensorType([None, 4]))]
    model = to_onnx(pipe, initial_types=types, options=options, target_opset=OPSETS)
    return model, {"input": sample_rows(x)}


def diabetes_ridge():
    """A regression in double precision: FP64 in, FP64 out."""
    x, y = load_diabetes(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()), ("ridge", Ridge(alpha=0.5))]).fit(x, y)
    types = [("features", DoubleTensorType([None, x.shape[1]]))]
    model = to_onnx(pipe, initial_types=types, target_opset=OPSETS)
    return model, {"features": sample_rows(x).astype(np.float64)}


def diabetes_forest():
    """A tree-ensemble regression in single precision: FP32 in, FP32 out."""
    x, y = load_diabetes(return_X_y=True)
    x = x.astype(np.float32)
    forest = RandomForestRegressor(n_estimators=15, max_depth=6, random_state=0)
    pipe = Pipeline([("scale", StandardScaler()), ("forest", forest)]).fit(x, y)
    types = [("features", FloatTensorType([None, x.shape[1]]))]
    model = to_onnx(pipe, initial_types=types, target_opset=OPSETS)
    return model, {"features": sample_rows(x)}


def iris_mixed():
    """A string column one-hot encoded next to scaled measurements, as skl2onnx converts a
    ColumnTransformer over a DataFrame: one input per column (a BYTES input and four FP32 inputs),
    string class labels (a BYTES output) and FP32 probabilities."""
    iris = load_iris()
    numeric = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame = pd.DataFrame(iris.data.astype(np.float32), columns=numeric)
    frame.insert(0, "region", np.random.default_rng(0).choice(["north", "south", "east"], size=len(frame)))
    y = np.asarray(iris.target_names)[iris.target]
    pre = ColumnTransformer(
        [("region", OneHotEncoder(handle_unknown="ignore"), ["region"]), ("numeric", StandardScaler(), numeric)]
    )
    forest = RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0)
    pipe = Pipeline([("pre", pre), ("forest", forest)]).fit(frame, y)
    types = [("region", StringTensorType([None, 1]))] + [(c, FloatTensorType([None, 1])) for c in numeric]
    model = to_onnx(pipe, initial_types=types, options={id(pipe): {"zipmap": False}}, target_opset=OPSETS)
    rows = frame.iloc[np.linspace(0, len(frame) - 1, ROWS).astype(int)]
    feeds = {"region": rows[["region"]].to_numpy()}
    feeds.update({c: rows[[c]].to_numpy().astype(np.float32) for c in numeric})
    return model, feeds


# Every element type the Open Inference Protocol names, as ONNX types and test values (64-bit
# integers within +-2**53, the range a JSON number carries exactly; FP16 values exact in half).
ALL_TYPES = [
    ("BOOL", TensorProto.BOOL, np.array([[True, False], [False, True]])),
    ("INT8", TensorProto.INT8, np.array([[-128, 127], [0, -1]], dtype=np.int8)),
    ("INT16", TensorProto.INT16, np.array([[-32768, 32767], [0, -1]], dtype=np.int16)),
    ("INT32", TensorProto.INT32, np.array([[-(2**31), 2**31 - 1], [0, -1]], dtype=np.int32)),
    ("INT64", TensorProto.INT64, np.array([[-(2**53) + 1, 2**53 - 1], [0, -1]], dtype=np.int64)),
    ("UINT8", TensorProto.UINT8, np.array([[0, 255], [1, 128]], dtype=np.uint8)),
    ("UINT16", TensorProto.UINT16, np.array([[0, 65535], [1, 256]], dtype=np.uint16)),
    ("UINT32", TensorProto.UINT32, np.array([[0, 2**32 - 1], [1, 65536]], dtype=np.uint32)),
    ("UINT64", TensorProto.UINT64, np.array([[0, 2**53 - 1], [1, 2**32]], dtype=np.uint64)),
    ("FP16", TensorProto.FLOAT16, np.array([[0.5, -2.25], [65504, 0.0009765625]], dtype=np.float16)),
    ("FP32", TensorProto.FLOAT, np.array([[1.5, -3.25e-8], [3.4e38, 0]], dtype=np.float32)),
    ("FP64", TensorProto.DOUBLE, np.array([[1e-300, -2.5], [1.7976931348623157e308, 0.1]], dtype=np.float64)),
    ("BYTES", TensorProto.STRING, np.array([["north", ""], ["\u00e9t\u00e9", "a b"]], dtype=object)),
]


def all_types():
    """One Identity per element type, batch dimension symbolic: every datatype in and out."""
    inputs, outputs, nodes, feeds = [], [], [], {}
    for datatype, onnx_type, values in ALL_TYPES:
        x, y = f"x_{datatype.lower()}", f"y_{datatype.lower()}"
        inputs.append(helper.make_tensor_value_info(x, onnx_type, ["N", 2]))
        outputs.append(helper.make_tensor_value_info(y, onnx_type, ["N", 2]))
        nodes.append(helper.make_node("Identity", [x], [y], name=f"identity_{datatype.lower()}"))
        feeds[x] = values
    graph = helper.make_graph(nodes, "all_types", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="onnx.helper")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model, feeds


def main():
    out = sys.argv[1]
    for name, zipmap in [("iris-forest", False), ("iris-forest-zipmap", True)]:
        write_case(out, name, *iris_forest(zipmap))
    write_case(out, "diabetes-ridge", *diabetes_ridge())
    write_case(out, "diabetes-forest", *diabetes_forest())
    write_case(out, "iris-mixed", *iris_mixed())
    write_case(out, "all-types", *all_types())


if __name__ == "__main__":
    main()
