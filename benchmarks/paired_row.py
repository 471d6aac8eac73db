"""Java against Python in one process, in alternating blocks: the per-sample ratio that drift cannot bias.

    python benchmarks/paired_row.py --batch 1 --blocks 20 --calls 15 --model PREFIX --jvm-classpath CP

The separate-process cells of benchmarks/bench.py run a minute or more apart, and this machine's speed drifts by
10 % over minutes, so their Java/Python ratio carries that drift. Here one process holds both: Python's
``mxport.load`` (Gluon CachedOp) and the Java ``Predictor`` in a JVM started by JPype, on the same libmxnet, the
same engine worker and the same OpenMP threads (``import mxport`` first: mxport's thread rule and short spin).
Blocks of ``--calls`` calls alternate (Python, Java, then Java, Python, ...); each language's input is built once
beforehand, as in the separate cells; the Java block is timed inside the JVM (io.mxport.bench.BridgeLoop), so no
bridge cost is counted. Prints one JSON line: ms per sample of each language and the ratio Java/Python of the
sums, with the median of the per-pair ratios.
"""

import argparse
import json
import statistics
import time

import mxport  # first: the thread rule of spec/RUNTIME.md, then MXNet

import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from bridge_row import in_process_jvm  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--blocks", type=int, default=20)
    p.add_argument("--calls", type=int, default=15)
    a, jpype = in_process_jvm(p)
    Predictor, NDArray, Shape = (jpype.JClass(f"io.mxport.{n}") for n in ("Predictor", "NDArray", "Shape"))
    loop = jpype.JClass("io.mxport.bench.BridgeLoop")
    JvmBench = jpype.JClass("io.mxport.bench.JvmBench")
    pixels = JvmBench.syntheticPixels(a.batch)  # JvmBench's bytes, in both languages
    x_py = mx.nd.array(np.asarray(pixels).view(np.uint8).reshape(a.batch, 300, 300, 3), dtype="uint8")
    x_java = NDArray.ofBytes(pixels, Shape(a.batch, 300, 300, 3))
    block = mxport.load(a.model)
    predictor = Predictor(a.model)

    def python_block(calls):
        start = time.perf_counter()
        for _ in range(calls):
            block(x_py).asnumpy()
        return (time.perf_counter() - start) * 1000 / calls / a.batch

    def java_block(calls):
        return float(loop.msPerSample(predictor, x_java, calls))

    python_block(a.warmup)
    java_block(a.warmup)
    pairs = []
    for b in range(a.blocks):
        if b % 2 == 0:
            py, jv = python_block(a.calls), java_block(a.calls)
        else:
            jv, py = java_block(a.calls), python_block(a.calls)
        pairs.append((py, jv))
    predictor.close()
    py_ms = sum(p for p, _ in pairs) / len(pairs)
    java_ms = sum(j for _, j in pairs) / len(pairs)
    print(
        json.dumps(
            {
                "row": "paired, one process",
                "batch": a.batch,
                "blocks": a.blocks,
                "calls": a.calls,
                "python_ms_per_sample": py_ms,
                "java_ms_per_sample": java_ms,
                "java_over_python": java_ms / py_ms,
                "median_pair_ratio": statistics.median(j / p for p, j in pairs),
                "pairs": [[round(p, 3), round(j, 3)] for p, j in pairs],
            }
        )
    )


if __name__ == "__main__":
    main()
