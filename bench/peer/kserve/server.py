"""The KServe peer of `npm run bench`: KServe's Python ModelServer (what a KServe custom predictor
runs) serving the same ONNX file as plinth with onnxruntime, on the Open Inference Protocol v2
(`POST /v2/models/{name}/infer`). A benchmark fixture, not product code.

Written as KServe's custom-model docs show it: a `kserve.Model` subclass that loads in `load()` and
answers `predict()` with an `InferResponse`; the request's raw pixels (0-255, FP32, [N,1,28,28]) are
normalised as plinth normalises them (the model's "plinth.metadata"), so both servers do the same
work. ONNX Runtime's threads are the service's.

With PEER_WORKERS > 1 the ModelServer spawns that many uvicorn worker processes (`--workers`) and
pickles the model into each: the ONNX Runtime session cannot be pickled, so each worker loads its
own (`__getstate__` / `__setstate__`), as a multi-process server must.

Per-request logs are off, as plinth's are in the bench (LOG_LEVEL=warn): no latency log line
(`enable_latency_logging=False`) and KServe's and uvicorn's loggers at WARNING, from the log config
the bench passes with KServe's own `--log_config_file` argument (read by every worker).

Started by the bench as
    .tools/kserve-venv/bin/python bench/peer/kserve/server.py --log_config_file bench/peer/quiet-logging.json
with PEER_MODEL, PEER_MODEL_NAME, PEER_PORT, PEER_WORKERS, PEER_INTRA_OP_THREADS, PEER_INTER_OP_THREADS.
"""

import json
import os
import uuid

import numpy as np
import onnxruntime as ort
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer

METADATA_KEY = "plinth.metadata"


class OnnxModel(Model):
    def __init__(self, name: str, path: str):
        super().__init__(name)
        self.path = path
        self.load()

    def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("PEER_INTRA_OP_THREADS", "1"))
        options.inter_op_num_threads = int(os.environ.get("PEER_INTER_OP_THREADS", "1"))
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        meta = json.loads(self.session.get_modelmeta().custom_metadata_map[METADATA_KEY])
        norm = meta["input"]["normalization"]
        self.scale, self.mean, self.std = norm["scale"], norm["mean"], norm["std"]
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        self.ready = True
        return self.ready

    def __getstate__(self):
        # A spawned uvicorn worker gets the model pickled: without its session, which it reloads.
        state = self.__dict__.copy()
        state.pop("session", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.load()

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        pixels = payload.inputs[0].as_numpy().astype(np.float32).reshape(-1, 1, 28, 28)
        x = (pixels * self.scale - self.mean) / self.std
        probabilities = self.session.run([self.output_name], {self.input_name: x.astype(np.float32)})[0]
        output = InferOutput(name=self.output_name, shape=list(probabilities.shape), datatype="FP32")
        output.set_data_from_numpy(probabilities, binary_data=False)
        # A request without an id gets one, as the protocol asks of the server.
        response_id = payload.id or str(uuid.uuid4())
        return InferResponse(model_name=self.name, infer_outputs=[output], response_id=response_id)


if __name__ == "__main__":
    model = OnnxModel(os.environ["PEER_MODEL_NAME"], os.environ["PEER_MODEL"])
    ModelServer(
        http_port=int(os.environ["PEER_PORT"]),
        workers=int(os.environ.get("PEER_WORKERS", "1")),
        enable_grpc=False,
        enable_docs_url=False,
        enable_latency_logging=False,
        access_log_format=None,
    ).start([model])
