"""The cost of calling the Java Predictor from Python through JPype, on its own line of the table.

    python benchmarks/bridge_row.py --runs 500 --model PREFIX --jvm-classpath CP

Times the same end-to-end batch-1 call (a uint8 (1,300,300,3) image, synthetic) two ways in one process: from
Python through JPype (the array crosses as a Java byte[], the output comes back as bytes), and inside the JVM
(io.mxport.bench.JvmBench's loop, called once through JPype). The difference is the bridge. Prints a JSON line.
"""

import argparse
import json
import os
import time

import mxnet  # noqa: F401  - Python loads libmxnet first; the JVM reuses that file
import numpy as np


def in_process_jvm(parser):
    """Parses the arguments every in-process row takes (--warmup, --model, --jvm-classpath, and the parser's own),
    starts the JVM through JPype on that classpath, and returns (arguments, jpype)."""
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--model", required=True)
    parser.add_argument("--jvm-classpath", required=True)
    a = parser.parse_args()
    import jpype

    jpype.startJVM(classpath=a.jvm_classpath.split(os.pathsep), convertStrings=True)
    return a, jpype


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=500)
    a, jpype = in_process_jvm(p)
    JList = jpype.JClass("java.util.List")
    Predictor = jpype.JClass("io.mxport.Predictor")
    NDArray, Shape = jpype.JClass("io.mxport.NDArray"), jpype.JClass("io.mxport.Shape")
    pixels = np.random.RandomState(0).randint(0, 256, (1, 300, 300, 3)).astype("uint8")
    predictor = Predictor(a.model)
    shape = Shape(1, 300, 300, 3)

    def call():
        x = NDArray.ofBytes(jpype.JArray(jpype.JByte)(pixels.reshape(-1).view(np.int8)), shape)
        out = predictor.predictWithNDArray(JList.of(x)).get(0).toRawBytes()
        return np.frombuffer(memoryview(out), dtype="<f4")

    def inside_jvm():  # the same call, looped in Java: no Python between calls
        raw = jpype.JArray(jpype.JByte)(pixels.reshape(-1).view(np.int8))
        loop = jpype.JClass("io.mxport.bench.BridgeLoop")
        return loop.msPerCall(predictor, raw, a.runs)

    for _ in range(a.warmup):
        call()
    start = time.perf_counter()
    for _ in range(a.runs):
        call()
    through = (time.perf_counter() - start) / a.runs * 1000
    inside = float(inside_jvm())
    predictor.close()
    print(
        json.dumps(
            {
                "row": "bridge (JPype), batch 1 e2e",
                "runs": a.runs,
                "ms_through_jpype": through,
                "ms_inside_jvm": inside,
                "bridge_ms": through - inside,
            }
        )
    )


if __name__ == "__main__":
    main()
