"""The MLServer peer of `npm run bench`: Seldon's MLServer with a custom runtime serving the same
ONNX file as plinth with onnxruntime, on the Open Inference Protocol v2. A benchmark fixture, not
product code.

Written as MLServer's custom-runtime docs show it: an `MLModel` subclass that loads in `load()` and
decodes and encodes tensors with MLServer's `NumpyCodec`; the request's raw pixels (0-255, FP32,
[N,1,28,28]) are normalised as plinth normalises them (the model's "plinth.metadata").

The bench starts `mlserver start bench/peer/mlserver` with the model's settings in MLSERVER_MODEL_*
variables (name, implementation `runtime.OnnxRuntime`, uri) and the server's in MLSERVER_*.
"""

import json
import os

import numpy as np
import onnxruntime as ort
from mlserver import MLModel
from mlserver.codecs import NumpyCodec
from mlserver.types import InferenceRequest, InferenceResponse

METADATA_KEY = "plinth.metadata"


class OnnxRuntime(MLModel):
    async def load(self) -> bool:
        options = ort.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("PEER_INTRA_OP_THREADS", "1"))
        options.inter_op_num_threads = int(os.environ.get("PEER_INTER_OP_THREADS", "1"))
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        path = self.settings.parameters.uri
        self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        meta = json.loads(self.session.get_modelmeta().custom_metadata_map[METADATA_KEY])
        norm = meta["input"]["normalization"]
        self.scale, self.mean, self.std = norm["scale"], norm["mean"], norm["std"]
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name
        return True

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        pixels = NumpyCodec.decode_input(payload.inputs[0]).astype(np.float32).reshape(-1, 1, 28, 28)
        x = (pixels * self.scale - self.mean) / self.std
        probabilities = self.session.run([self.output_name], {self.input_name: x.astype(np.float32)})[0]
        return InferenceResponse(
            model_name=self.name,
            id=payload.id,
            outputs=[NumpyCodec.encode_output(self.output_name, probabilities)],
        )
