"""Python's answer for the Java tests: runs an mxport model with mxport.load on .npy inputs.

    python python_reference.py <prefix> <load_transforms 0|1> <out_dir> <in_0.npy> [<in_1.npy> ...]

Writes <out_dir>/out_<j>.npy for each output j, then prints one JSON line with the per-sample latency (ms,
median of repeated calls after a warm-up), for the Java-vs-Python comparison in the test log.
"""

import json
import os
import sys
import time

import mxport  # first: it sets up MXNet's threads and, on Python 3.12+, what MXNet needs to import (spec/RUNTIME.md)
import mxnet as mx
import numpy as np


def main(prefix, load_transforms, out_dir, *inputs):
    block = mxport.load(prefix, load_transforms=load_transforms == "1")
    host = [np.load(p) for p in inputs]
    arrays = [mx.nd.array(a, dtype=a.dtype) for a in host]
    outs = block(*arrays)
    outs = outs if isinstance(outs, list) else [outs]
    for j, o in enumerate(outs):
        np.save(os.path.join(out_dir, f"out_{j}.npy"), o.asnumpy())
    batch = arrays[0].shape[0]
    runs = max(3, 40 // batch)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()  # from numpy arrays to numpy outputs, as the Java figure (byte[] to float[])
        res = block(*[mx.nd.array(a, dtype=a.dtype) for a in host])
        [r.asnumpy() for r in (res if isinstance(res, list) else [res])]
        times.append((time.perf_counter() - t0) * 1000 / batch)
    print(json.dumps({"batch": batch, "ms_per_sample": sorted(times)[len(times) // 2]}))


if __name__ == "__main__":
    main(*sys.argv[1:])
