"""Scores one model's test case with the unmodified third-party Open Inference Protocol v2 client
tritonclient[http] (pinned in test/support/fuzz-requirements.txt), as JSON and as binary tensors,
and prints the model metadata and the outputs it read as JSON.

    v2_tensors_client.py <host:port> <model name> <case.json>

case.json is a test case of test/support/third-party-models.py ({"inputs": [v2 tensors]}); the
API key comes from PLINTH_API_KEY. Test-only: it only runs a third-party tool for
third-party-models.test.ts.
"""

import argparse
import json
import os

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import triton_to_np_dtype


def as_numpy(tensor):
    """A case tensor as the numpy array a client would hold (strings as an object array)."""
    dtype = np.object_ if tensor["datatype"] == "BYTES" else triton_to_np_dtype(tensor["datatype"])
    return np.array(tensor["data"], dtype=dtype).reshape(tensor["shape"])


def plain(value):
    """A numpy element as JSON: bytes decoded, numbers as Python numbers."""
    if isinstance(value, bytes):
        return value.decode("utf-8")
    return value.item() if hasattr(value, "item") else value


def infer(client, model, case, binary, headers):
    inputs = []
    for tensor in case["inputs"]:
        request_input = httpclient.InferInput(tensor["name"], tensor["shape"], tensor["datatype"])
        request_input.set_data_from_numpy(as_numpy(tensor), binary_data=binary)
        inputs.append(request_input)
    names = [o["name"] for o in client.get_model_metadata(model, headers=headers)["outputs"]]
    outputs = [httpclient.InferRequestedOutput(n, binary_data=binary) for n in names]
    result = client.infer(model, inputs, outputs=outputs, headers=headers)
    response = {o["name"]: o for o in result.get_response()["outputs"]}
    read = {}
    for name in names:
        array = result.as_numpy(name)
        read[name] = {
            "datatype": response[name]["datatype"],
            "shape": list(array.shape),
            "data": [plain(v) for v in array.ravel()],
        }
    return read


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("model")
    parser.add_argument("case")
    args = parser.parse_args()
    headers = {"x-api-key": os.environ["PLINTH_API_KEY"]}
    with open(args.case, encoding="utf-8") as f:
        case = json.load(f)
    client = httpclient.InferenceServerClient(url=args.url)
    out = {
        "model_ready": client.is_model_ready(args.model, headers=headers),
        "model_metadata": client.get_model_metadata(args.model, headers=headers),
        "json": infer(client, args.model, case, False, headers),
        "binary": infer(client, args.model, case, True, headers),
    }
    client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
