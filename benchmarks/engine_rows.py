"""Times one Python row of benchmarks/engine_bench.py, in a process of its own, and prints one JSON line.

    python benchmarks/engine_rows.py --row mxport|bare --engine mxnet|onnxruntime --part model|network
        --batch 1 --runs 200 --threads 2 --model .cache/models/resnet18[.onnx]

mxport: ``mxport.load`` on the engine (a model prefix on MXNet, an ``.onnx`` file written by export_onnx on ONNX
Runtime). bare: ``onnxruntime.InferenceSession`` on the same file, no mxport code, with ``--threads`` intra-op
threads, as io.mxport.bench.EngineBench's bare row. The model part takes a uint8 batch of [N, 300, 300, 3], the
bytes of ``--pixels`` (which the Java rows read too); the network part a seeded float32 batch of [N, 3, 224, 224].
The time covers the input as the API takes it to the output in host memory.
"""

import argparse
import json
import os
import time

import mxport  # first: the thread rule of spec/RUNTIME.md (MXPORT_NUM_THREADS), then MXNet

import numpy as np  # noqa: E402


def inputs(part, batch, pixels):
    if part == "model":
        with open(pixels, "rb") as f:  # the Java rows' bytes: both languages compute on one input
            return np.frombuffer(f.read(), np.uint8)[: batch * 300 * 300 * 3].reshape(batch, 300, 300, 3)
    return np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)


def runner(row, engine, part, model, threads):
    if row == "mxport":
        import mxnet as mx

        block = mxport.load(model, load_transforms=part == "model", engine=engine)
        how = (
            str(mxport.environment.applied()) if engine == "mxnet" else "mxport.load's session (ONNX Runtime defaults)"
        )
        if engine == "mxnet":
            return (lambda x: block(x).asnumpy()), how, (lambda x: mx.nd.array(x, dtype=x.dtype))
        return (lambda x: block(x).asnumpy()), how, (lambda x: x)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    how = f"per-session pool of {threads} intra-op thread(s), inter-op 1 (onnxruntime {ort.__version__})"
    return (lambda x: session.run(None, {name: x})[0]), how, (lambda x: x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--row", choices=["mxport", "bare"], required=True)
    p.add_argument("--engine", choices=["mxnet", "onnxruntime"], required=True)
    p.add_argument("--part", choices=["model", "network"], required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--pixels", required=True, help="the uint8 input's bytes, shared with the Java rows")
    p.add_argument("--model", required=True)
    a = p.parse_args()
    run, how, as_input = runner(a.row, a.engine, a.part, a.model, a.threads)
    x = as_input(inputs(a.part, a.batch, a.pixels))  # built once, as the Java rows build theirs once
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
                "language": "Python",
                "row": a.row,
                "engine": a.engine,
                "part": a.part,
                "batch": a.batch,
                "runs": a.runs,
                "ms_per_sample": float(times.mean()),
                "p50": float(np.median(times)),
                "p90": float(np.percentile(times, 90)),
                "threads": how,
                "raw_ms": [round(float(t), 4) for t in times],
            }
        )
    )


if __name__ == "__main__":
    main()
