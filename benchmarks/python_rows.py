"""Times one Python row of the benchmark table, in a process of its own, and prints one JSON line.

    python benchmarks/python_rows.py --api gluon|module --mode e2e|split --batch 1 --runs 500 --model PREFIX

e2e: the fused model (uint8 NHWC pixels in). split ("non end-to-end"): the same Resize(224,224) + ToTensor +
Normalize run outside the model as separate MXNet calls, then the network-only model (load_transforms=False).
The time covers everything from the uint8 batch to the probabilities in host memory, after warm-up.
"""

import argparse
import json
import os
import sys
import time

import mxport  # first, as the README's threads section says: mxport loads MXNet with its thread settings

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "demo"))
from export_resnet import MEAN, STD  # noqa: E402


def transforms_outside(x):
    """What a Python user does without mxport: the same image ops, called one by one."""
    x = mx.nd.image.resize(x, size=(224, 224))
    x = mx.nd.image.to_tensor(x)
    return mx.nd.image.normalize(x, mean=MEAN, std=STD)


def runner(api, mode, prefix, batch):
    full = mode == "e2e"
    if api == "gluon":
        block = mxport.load(prefix, load_transforms=full)
        if full:
            return lambda x: block(x).asnumpy()
        return lambda x: mx.nd.softmax(block(transforms_outside(x))).asnumpy()
    mod = mxport.load_module(
        prefix, load_transforms=full, batch_size=batch, data_shapes=[(batch, 300, 300, 3)] if full else None
    )

    def run(x):
        mod.forward(mx.io.DataBatch([x if full else transforms_outside(x)]))
        out = mod.get_outputs()[0]
        return (out if full else mx.nd.softmax(out)).asnumpy()

    return run


def timed(run, x, batch, warmup, runs):
    """``run(x)`` ``warmup`` times, then ``runs`` times timed: ms per sample (mean, p50, p90, every run)."""
    for _ in range(warmup):
        run(x)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run(x)
        times.append(time.perf_counter() - start)
    times = np.array(times) * 1000 / batch
    return {
        "ms_per_sample": float(times.mean()),
        "p50": float(np.median(times)),
        "p90": float(np.percentile(times, 90)),
        "raw_ms": [round(float(t), 4) for t in times],
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--api", choices=["gluon", "module"], required=True)
    p.add_argument("--mode", choices=["e2e", "split"], required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--model", required=True)
    a = p.parse_args()
    x = mx.nd.array(np.random.RandomState(0).uniform(0, 255, (a.batch, 300, 300, 3)), dtype="uint8")
    run = runner(a.api, a.mode, a.model, a.batch)
    row = {"language": "Python", "api": "Module API" if a.api == "module" else "Gluon", "mode": a.mode}
    print(json.dumps(dict(row, batch=a.batch, runs=a.runs, **timed(run, x, a.batch, a.warmup, a.runs))))


if __name__ == "__main__":
    main()
