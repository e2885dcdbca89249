"""Makes the third-party models of test/interop/third-party-models.test.ts the way a team makes them,
and the reference outputs: onnxruntime in Python on the same inputs.

    third-party-models.py <out dir>

Made with scikit-learn + skl2onnx, XGBoost and LightGBM + onnxmltools, and onnx.helper. For each
model it writes <out>/<model>/model.onnx and <out>/<model>/case.json:
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
from lightgbm import LGBMRegressor
from onnx import TensorProto, helper
from onnxmltools import convert_lightgbm, convert_xgboost
from onnxmltools.convert.common.data_types import FloatTensorType as MlFloatTensorType
from onnxmltools.convert.common.onnx_ex import get_maximum_opset_supported
from skl2onnx import to_onnx
from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType, StringTensorType
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from xgboost import XGBClassifier

# Opsets onnxruntime-node 1.30 runs (the service's runtime), whatever skl2onnx would pick by default.
OPSETS = {"": 17, "ai.onnx.ml": 3}
# onnxmltools takes one opset number (the default domain's) and converts XGBoost and LightGBM up to
# its own maximum (15 for onnxmltools 1.16), below the runtime's; it picks the ai.onnx.ml version.
ONNXMLTOOLS_OPSET = min(OPSETS[""], get_maximum_opset_supported())
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


def iris_xgboost():
    """A multi-class gradient-boosted classifier (XGBoost's scikit-learn API) converted by
    onnxmltools: FP32 in, INT64 labels and FP32 probabilities out (onnxmltools has no ZipMap for
    XGBoost: the probabilities are a tensor)."""
    x, y = load_iris(return_X_y=True)
    x = x.astype(np.float32)
    booster = XGBClassifier(n_estimators=25, max_depth=3, learning_rate=0.3, random_state=0, n_jobs=1)
    booster.fit(x, y)
    types = [("input", MlFloatTensorType([None, x.shape[1]]))]
    model = convert_xgboost(booster, initial_types=types, target_opset=ONNXMLTOOLS_OPSET)
    return model, {"input": sample_rows(x)}


def diabetes_lightgbm():
    """A LightGBM regression converted by onnxmltools: FP32 in, one FP32 value per row out."""
    x, y = load_diabetes(return_X_y=True)
    x = x.astype(np.float32)
    booster = LGBMRegressor(
        n_estimators=40, num_leaves=15, learning_rate=0.1, random_state=0, n_jobs=1, verbose=-1
    )
    booster.fit(x, y)
    types = [("features", MlFloatTensorType([None, x.shape[1]]))]
    model = convert_lightgbm(booster, initial_types=types, zipmap=False, target_opset=ONNXMLTOOLS_OPSET)
    return model, {"features": sample_rows(x)}


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


# A colour image model of another size and layout than the bundled one: 24x32 BGR, NHWC, with
# per-channel ImageNet normalisation, as a team exports a small CNN. Its model-config.json says so.
IMAGE_HEIGHT, IMAGE_WIDTH = 24, 32
IMAGE_MEAN_BGR = [0.406, 0.456, 0.485]
IMAGE_STD_BGR = [0.225, 0.224, 0.229]


def rgb_cnn():
    """NHWC float input -> Transpose -> Conv(3->4, 3x3) -> Relu -> GlobalAveragePool -> Gemm(4->5)
    -> Softmax. The reference input is a fixed RGB picture preprocessed here with numpy, the way the
    model's configuration describes (BGR order, (x/255 - mean) / std); the picture's raw RGB bytes
    are saved as pixels.rgb for the test to upload as a PNG."""
    rng = np.random.default_rng(7)
    conv_w = helper.make_tensor("conv_w", TensorProto.FLOAT, [4, 3, 3, 3], rng.normal(0, 0.5, 108).tolist())
    conv_b = helper.make_tensor("conv_b", TensorProto.FLOAT, [4], rng.normal(0, 0.1, 4).tolist())
    fc_w = helper.make_tensor("fc_w", TensorProto.FLOAT, [4, 5], rng.normal(0, 1.0, 20).tolist())
    fc_b = helper.make_tensor("fc_b", TensorProto.FLOAT, [5], rng.normal(0, 0.1, 5).tolist())
    nodes = [
        helper.make_node("Transpose", ["image"], ["nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "conv_w", "conv_b"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["relu"]),
        helper.make_node("GlobalAveragePool", ["relu"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Gemm", ["flat", "fc_w", "fc_b"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "rgb_cnn",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", IMAGE_HEIGHT, IMAGE_WIDTH, 3])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 5])],
        [conv_w, conv_b, fc_w, fc_b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="onnx.helper")
    model.ir_version = 8
    onnx.checker.check_model(model)
    pixels = rng.integers(0, 256, size=(IMAGE_HEIGHT, IMAGE_WIDTH, 3), dtype=np.uint8)
    bgr = pixels[..., ::-1].astype(np.float64)
    x = ((bgr / 255.0 - np.array(IMAGE_MEAN_BGR)) / np.array(IMAGE_STD_BGR)).astype(np.float32)
    return model, {"image": x[np.newaxis]}, pixels


# What each served model's team writes beside model.onnx (model-config.json), by model name.
IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
MODEL_CONFIGS = {
    "iris-forest": {
        "schemaVersion": 1,
        "task": "classification",
        "labels": ["setosa", "versicolor", "virginica"],
        "input": {"features": IRIS_FEATURES},
        # A tree ensemble scores each row alone; skl2onnx leaves the batch dimension unnamed.
        "batching": {"enabled": True},
    },
    "diabetes-ridge": {
        "schemaVersion": 1,
        "task": "regression",
        "input": {"features": ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]},
    },
    "iris-mixed": {
        "schemaVersion": 1,
        "task": "classification",
        "labels": ["setosa", "versicolor", "virginica"],
        "input": {"features": ["region", *IRIS_FEATURES]},
        "batching": {"enabled": True},
    },
    "rgb-cnn": {
        "schemaVersion": 1,
        "task": "classification",
        "labels": ["a", "b", "c", "d", "e"],
        "input": {
            "image": {
                "width": IMAGE_WIDTH,
                "height": IMAGE_HEIGHT,
                "channels": 3,
                "colorOrder": "BGR",
                "layout": "NHWC",
                "scale": 1 / 255,
                "mean": IMAGE_MEAN_BGR,
                "std": IMAGE_STD_BGR,
            }
        },
    },
}


def write_model_configs(out):
    for name, config in MODEL_CONFIGS.items():
        with open(os.path.join(out, name, "model-config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f)


def main():
    out = sys.argv[1]
    for name, zipmap in [("iris-forest", False), ("iris-forest-zipmap", True)]:
        write_case(out, name, *iris_forest(zipmap))
    write_case(out, "diabetes-ridge", *diabetes_ridge())
    write_case(out, "diabetes-forest", *diabetes_forest())
    write_case(out, "iris-mixed", *iris_mixed())
    write_case(out, "iris-xgboost", *iris_xgboost())
    write_case(out, "diabetes-lightgbm", *diabetes_lightgbm())
    write_case(out, "all-types", *all_types())
    cnn, cnn_feeds, pixels = rgb_cnn()
    write_case(out, "rgb-cnn", cnn, cnn_feeds)
    pixels.tofile(os.path.join(out, "rgb-cnn", "pixels.rgb"))
    write_model_configs(out)


if __name__ == "__main__":
    main()
