"""The FastAPI peer of `npm run bench`: the stack plinth is compared with.

FastAPI + uvicorn (uvloop, httptools) + onnxruntime serving the same ONNX file as plinth, with the
same preprocessing, read from the model's own "plinth.metadata" entry, and the same request and
response shapes as plinth's POST /predict (JSON rows of raw pixels) and POST /predict-image (a raw
image body). It is a benchmark fixture, not product code.

Written as a competent FastAPI service would be: pydantic validation of the JSON body, inference
inline in async endpoints (the model runs in well under a millisecond, so a thread-pool hop would
cost more than it saves), an API key compared in constant time, no access log.

Started by the bench as
    .tools/bench-venv/bin/python -m uvicorn server:app --app-dir bench/peer --host 127.0.0.1 ...
with its settings in the environment:
    PEER_MODEL          path of the ONNX file
    PEER_API_KEY        the key expected in the x-api-key header
    PEER_INTRA_OP_THREADS, PEER_INTER_OP_THREADS   ONNX Runtime threads (the service's values)
"""

import hmac
import io
import json
import os
import platform
import uuid
from importlib.metadata import version
from typing import Annotated

import numpy as np
import onnxruntime as ort
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse
from PIL import Image
from pydantic import BaseModel, Field

METADATA_KEY = "plinth.metadata"

MODEL_PATH = os.environ["PEER_MODEL"]
API_KEY = os.environ["PEER_API_KEY"].encode()


def create_session() -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ.get("PEER_INTRA_OP_THREADS", "1"))
    options.inter_op_num_threads = int(os.environ.get("PEER_INTER_OP_THREADS", "1"))
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(MODEL_PATH, options, providers=["CPUExecutionProvider"])


session = create_session()
meta = json.loads(session.get_modelmeta().custom_metadata_map[METADATA_KEY])
INPUT_NAME = meta["input"]["name"]
OUTPUT_NAME = meta["output"]["name"]
ROW_SHAPE = tuple(meta["input"]["shape"])
ROW_SIZE = int(np.prod(ROW_SHAPE))
WIDTH = meta["input"]["image"]["width"]
HEIGHT = meta["input"]["image"]["height"]
NORM = meta["input"]["normalization"]
LABELS = meta["labels"]
OUTPUT_IS_LOGITS = meta["output"]["kind"] == "logits"
MAX_ROWS = 64

app = FastAPI(title="plinth bench peer")


def require_api_key(x_api_key: str | None = Header(default=None)) -> None:
    if x_api_key is None or not hmac.compare_digest(x_api_key.encode(), API_KEY):
        raise HTTPException(status_code=401, detail="unknown API key")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


def score(pixels: np.ndarray) -> JSONResponse:
    """Normalises raw pixels (rows x ROW_SIZE), runs the model and shapes plinth's response."""
    x = ((pixels * NORM["scale"] - NORM["mean"]) / NORM["std"]).astype(np.float32, copy=False)
    (output,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.reshape((-1, *ROW_SHAPE))})
    probabilities = softmax(output) if OUTPUT_IS_LOGITS else output
    class_ids = probabilities.argmax(axis=1)
    return JSONResponse(
        {
            "prediction_id": str(uuid.uuid4()),
            "model": {"name": meta["name"], "version": os.path.basename(os.path.dirname(MODEL_PATH))},
            "predictions": [
                {"label": LABELS[c], "class_id": int(c), "probabilities": p.tolist()}
                for c, p in zip(class_ids, probabilities)
            ],
        }
    )


class PredictBody(BaseModel):
    # One row or a list of rows. Left to right: pydantic's default "smart" union validates integer
    # pixels against every member and costs about 10x more on a 784-pixel row.
    inputs: Annotated[list[float] | list[list[float]], Field(union_mode="left_to_right")]


@app.post("/predict", dependencies=[Depends(require_api_key)])
async def predict(body: PredictBody) -> JSONResponse:
    rows = np.asarray(body.inputs, dtype=np.float32)
    if rows.ndim == 1:
        rows = rows[np.newaxis, :]
    if rows.shape[0] == 0 or rows.shape[0] > MAX_ROWS or rows.shape[1] != ROW_SIZE:
        raise HTTPException(status_code=400, detail=f"expected 1..{MAX_ROWS} rows of {ROW_SIZE} pixels")
    if not np.isfinite(rows).all():
        raise HTTPException(status_code=400, detail="pixels must be finite numbers")
    return score(rows)


@app.post("/predict-image", dependencies=[Depends(require_api_key)])
async def predict_image(request: Request) -> JSONResponse:
    body = await request.body()
    try:
        image = Image.open(io.BytesIO(body))
        image = image.convert("L")
    except (OSError, ValueError) as err:
        raise HTTPException(status_code=400, detail=f"cannot decode image: {err}") from err
    if image.size != (WIDTH, HEIGHT):
        image = image.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    pixels = np.asarray(image, dtype=np.float32).reshape(1, ROW_SIZE)
    return score(pixels)


@app.get("/health")
async def health() -> dict[str, str]:
    """Liveness, and the versions the bench report names."""
    packages = ("fastapi", "uvicorn", "onnxruntime", "numpy", "pillow")
    return {"status": "ok", "python": platform.python_version(), **{p: version(p) for p in packages}}
