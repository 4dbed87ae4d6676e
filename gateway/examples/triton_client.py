#!/usr/bin/env python3
"""Classifies image files through the gateway with NVIDIA's tritonclient, a client this project did not write.

    pip install -r gateway/examples/requirements.txt
    python3 gateway/examples/triton_client.py --url 127.0.0.1:8000 --token "$TOKEN" data/samples/demo/*.png

Prints one JSON line per call: the server and model checks first (--check), then one line per file with the
label, top-k scores and class indices, the version that served and the latency. A refused file prints its HTTP
status and the gateway's error message instead of stopping the run.
"""
import argparse
import base64
import json
import sys
import time

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

OUTPUTS = ["label", "top_labels", "top_scores", "top_classes"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="127.0.0.1:8000", help="host:port of the gateway")
    p.add_argument("--token", required=True, help="bearer token (one of GATEWAY_TOKENS)")
    p.add_argument("--model", default="fashion-mnist")
    p.add_argument("--version", default="", help="pin a version (e.g. v2); empty lets the experiment decide")
    p.add_argument("--json", action="store_true", help="send the image base64 in JSON instead of binary data")
    p.add_argument("--json-outputs", action="store_true", help="ask for outputs in JSON instead of binary data")
    p.add_argument("--check", action="store_true", help="first print server and model health and metadata")
    p.add_argument("files", nargs="*")
    return p.parse_args()


def text(element):
    """BYTES elements come back as bytes from binary data and as str from JSON."""
    return element.decode() if isinstance(element, bytes) else str(element)


def emit(record):
    print(json.dumps(record), flush=True)


def checks(client, headers, model, version):
    emit({"check": "server_live", "value": client.is_server_live(headers=headers)})
    emit({"check": "server_ready", "value": client.is_server_ready(headers=headers)})
    emit({"check": "server_metadata", "value": client.get_server_metadata(headers=headers)})
    emit({"check": "model_metadata", "value": client.get_model_metadata(model, model_version=version, headers=headers)})
    emit({"check": "model_ready", "value": client.is_model_ready(model, model_version=version, headers=headers)})


def infer(client, headers, args, path):
    with open(path, "rb") as f:
        data = f.read()
    image = httpclient.InferInput("image", [1], "BYTES")
    if args.json:
        # In JSON a BYTES element is a string: the gateway reads it as the base64 of the file.
        image.set_data_from_numpy(np.array([base64.b64encode(data)], dtype=np.object_), binary_data=False)
    else:
        image.set_data_from_numpy(np.array([data], dtype=np.object_), binary_data=True)
    outputs = [httpclient.InferRequestedOutput(name, binary_data=not args.json_outputs) for name in OUTPUTS]
    started = time.perf_counter()
    try:
        result = client.infer(args.model, [image], model_version=args.version, outputs=outputs, headers=headers)
    except InferenceServerException as e:
        emit({"file": path, "status": int(e.status() or 0), "error": e.message()})
        return
    response = result.get_response()
    emit({
        "file": path,
        "status": 200,
        "ms": round((time.perf_counter() - started) * 1000, 2),
        "id": response.get("id"),
        "model_name": response.get("model_name"),
        "model_version": response.get("model_version"),
        "label": text(result.as_numpy("label")[0]),
        "top_labels": [text(b) for b in result.as_numpy("top_labels")[0]],
        "top_scores": [float(s) for s in result.as_numpy("top_scores")[0]],
        "top_classes": [int(c) for c in result.as_numpy("top_classes")[0]],
    })


def main():
    args = parse_args()
    headers = {"Authorization": f"Bearer {args.token}"}
    client = httpclient.InferenceServerClient(url=args.url)
    try:
        if args.check:
            checks(client, headers, args.model, args.version)
        for path in args.files:
            infer(client, headers, args, path)
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
