"""The baseline of ``make bench-serve``: the server a user writes today around ``mxport.load`` (FastAPI + uvicorn),
taking the same Open Inference Protocol REST requests as mxport-serve for one uint8 image input (JSON tensors,
binary tensors, JPEG bytes as BYTES) and answering binary or JSON FP32 outputs. No batching, one model call at a
time (a Gluon block computes one call at a time).

    .venv/bin/python benchmarks/serve_baseline.py --port 8100 --model resnet=.cache/models/resnet18 ...
"""

import argparse
import json
import struct
import threading

import mxport  # first: spec/RUNTIME.md
import numpy as np
import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()
MODELS = {}
LOCK = threading.Lock()


@app.get("/v2/health/ready")
def ready():
    return {"ready": True}


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request):
    body = await request.body()
    header_length = int(request.headers.get("inference-header-content-length", len(body)))
    header = json.loads(body[:header_length])
    tensor = header["inputs"][0]
    binary_size = tensor.get("parameters", {}).get("binary_data_size")
    if tensor["datatype"] == "BYTES":
        blob = body[header_length : header_length + binary_size]
        (n,) = struct.unpack("<I", blob[:4])
        pixels = mxport.decode_image(blob[4 : 4 + n]).asnumpy()
    elif binary_size is not None:
        pixels = np.frombuffer(body[header_length : header_length + binary_size], np.uint8).reshape(tensor["shape"])
    else:
        pixels = np.asarray(tensor["data"], np.uint8).reshape(tensor["shape"])
    with LOCK:
        prob = MODELS[name](pixels).asnumpy()
    outputs = header.get("outputs") or [{}]
    binary = outputs[0].get("parameters", {}).get("binary_data", False)
    meta = {"name": "prob", "datatype": "FP32", "shape": list(prob.shape)}
    if binary:
        raw = prob.astype("<f4").tobytes()
        meta["parameters"] = {"binary_data_size": len(raw)}
        head = json.dumps({"model_name": name, "outputs": [meta]}).encode()
        return Response(
            head + raw,
            media_type="application/octet-stream",
            headers={"Inference-Header-Content-Length": str(len(head))},
        )
    meta["data"] = prob.reshape(-1).tolist()
    return Response(json.dumps({"model_name": name, "outputs": [meta]}), media_type="application/json")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--model", action="append", required=True, help="NAME=PREFIX")
    args = parser.parse_args()
    for spec in args.model:
        name, prefix = spec.split("=", 1)
        MODELS[name] = mxport.load(prefix)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
