"""Times one engine cell of benchmarks/engines.py, in a process of its own, and prints one JSON line.

    python benchmarks/engine_cell.py --engine mxnet|onnxruntime|openvino --mode e2e|network --batch 1 \
        --runs 200 --model PREFIX_OR_ONNX [--bare] [--precision f32|bf16]

e2e: uint8 NHWC pixels (300x300) in, probabilities out, the whole graph. network: float32 NCHW (224x224) in, the
network alone (``load_transforms=False``, or the network-alone ONNX file). Without ``--bare`` the model runs
through ``mxport.load(..., engine=...)``; with it, an ONNX engine runs the same file with no mxport code
(``onnxruntime.InferenceSession``, ``openvino.Core().compile_model``), with the same thread count as mxport gives
its engines (``mxport.environment.onnx_threads()``: every core unless ``MXPORT_NUM_THREADS``), so that the
difference is mxport's own cost. The time covers the call up to the outputs in host memory, after warm-up.
"""

import argparse
import json
import os
import time

import numpy as np


def threads():
    requested = os.environ.get("MXPORT_NUM_THREADS", "").strip()
    return int(requested) if requested else len(os.sched_getaffinity(0))


def bare(engine, path, precision):
    if engine == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = threads(), 1
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return lambda x: session.run(None, {name: x})[0]
    import openvino as ov

    config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads()}
    request = ov.Core().compile_model(path, "CPU", config).create_infer_request()
    return lambda x: np.array(request.infer({0: x})[0])


def through_mxport(engine, model, mode):
    import mxport

    block = mxport.load(model, engine=engine, load_transforms=mode == "e2e")
    return lambda x: block(x).asnumpy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--engine", choices=["mxnet", "onnxruntime", "openvino"], required=True)
    p.add_argument("--mode", choices=["e2e", "network"], required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--model", required=True)
    p.add_argument("--bare", action="store_true")
    p.add_argument("--precision", default="f32")
    a = p.parse_args()
    rng = np.random.RandomState(0)
    if a.mode == "e2e":
        x = rng.uniform(0, 255, (a.batch, 300, 300, 3)).astype("uint8")
    else:
        x = rng.standard_normal((a.batch, 3, 224, 224)).astype("float32")
    run = bare(a.engine, a.model, a.precision) if a.bare else through_mxport(a.engine, a.model, a.mode)
    for _ in range(a.warmup):
        run(x)
    times = []
    for _ in range(a.runs):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    times = np.array(times) * 1000 / a.batch
    print(
        json.dumps(
            {
                "ms_per_sample": float(times.mean()),
                "p50": float(np.median(times)),
                "p90": float(np.percentile(times, 90)),
                "runs": a.runs,
                "raw_ms": [round(float(t), 4) for t in times],
            }
        )
    )


if __name__ == "__main__":
    main()
