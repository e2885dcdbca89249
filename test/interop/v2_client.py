"""Drives the service's Open Inference Protocol v2 routes with the unmodified third-party client
tritonclient[http] (pinned in test/support/fuzz-requirements.txt) and prints what it read as JSON.

    v2_client.py <host:port> <model name> <rows.json>

rows.json holds {"rows": [[784 raw pixels], ...]}; the API key comes from PLINTH_API_KEY. The rows
are sent in batches of --batch as JSON FP32 tensors, binary FP32 tensors and binary UINT8 tensors.
Test-only: it only runs a third-party tool for v2-client.test.ts.
"""

import argparse
import json
import os

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException


def infer_all(client, model, input_meta, output_name, rows, batch, headers, datatype, binary):
    """Argmax and output shapes of every row, scored in batches as the given tensor kind."""
    argmax, shapes, versions = [], [], set()
    dtype = np.float32 if datatype == "FP32" else np.uint8
    for start in range(0, len(rows), batch):
        chunk = np.asarray(rows[start : start + batch], dtype=dtype).reshape([-1, *input_meta["shape"][1:]])
        tensor = httpclient.InferInput(input_meta["name"], list(chunk.shape), datatype)
        tensor.set_data_from_numpy(chunk, binary_data=binary)
        requested = httpclient.InferRequestedOutput(output_name, binary_data=binary)
        result = client.infer(model, [tensor], outputs=[requested], headers=headers, request_id=f"r{start}")
        probs = result.as_numpy(output_name)
        response = result.get_response()
        shapes.append(list(probs.shape))
        versions.add(response["model_version"])
        argmax.extend(int(i) for i in probs.argmax(axis=1))
    return {"argmax": argmax, "shapes": shapes, "model_versions": sorted(versions)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("model")
    parser.add_argument("rows")
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args()
    headers = {"x-api-key": os.environ["PLINTH_API_KEY"]}
    with open(args.rows, encoding="utf-8") as f:
        rows = json.load(f)["rows"]

    client = httpclient.InferenceServerClient(url=args.url)
    metadata = client.get_model_metadata(args.model, headers=headers)
    version = metadata["versions"][0]
    out = {
        "server_live": client.is_server_live(),
        "server_ready": client.is_server_ready(),
        "server_metadata": client.get_server_metadata(headers=headers),
        "model_ready": client.is_model_ready(args.model, headers=headers),
        "model_version_ready": client.is_model_ready(args.model, version, headers=headers),
        "model_metadata": metadata,
        "model_version_metadata": client.get_model_metadata(args.model, version, headers=headers),
    }
    input_meta, output_name = metadata["inputs"][0], metadata["outputs"][0]["name"]
    out["infer"] = {
        f"{kind}_{datatype}": infer_all(
            client, args.model, input_meta, output_name, rows, args.batch, headers, datatype, kind == "binary"
        )
        for kind, datatype in [("json", "FP32"), ("binary", "FP32"), ("binary", "UINT8")]
    }
    try:
        client.get_model_metadata("no-such-model", headers=headers)
        out["unknown_model_error"] = None
    except InferenceServerException as e:
        out["unknown_model_error"] = {"status": e.status(), "message": e.message()}
    client.close()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
