"""Writes what OnnxRuntimeEngineTest compares against, with the Python exporter and MXNet as the reference.

    python reference.py <mxport prefix> <out dir>

<out>/model.onnx and <out>/network.onnx (mxport.export_onnx, both parts); for each part, <part>-input.bin and
<part>-mxnet.bin: a seeded input (uint8 1x300x300x3 pixels; float32 of the network's input shape) and MXNet's
output on it (mxport.load), raw little-endian, with their shapes and dtypes in <out>/reference.json.
"""

import json
import os
import sys

import numpy as np

import mxport


def main(prefix, out):
    os.makedirs(out, exist_ok=True)
    cases = {}
    for part, transforms in (("model", True), ("network", False)):
        mxport.export_onnx(prefix, os.path.join(out, part + ".onnx"), load_transforms=transforms)
        block = mxport.load(prefix, load_transforms=transforms)
        spec = block.signature.inputs[0]
        rng = np.random.default_rng(7)
        if transforms:
            x = rng.integers(0, 256, (1, 300, 300, 3), dtype=np.uint8)
        else:
            shape = [1] + [d for d in spec.shape[1:]]
            x = rng.standard_normal(shape).astype(np.float32)
        y = block(x).asnumpy()
        x.tofile(os.path.join(out, part + "-input.bin"))
        y.astype("<f4").tofile(os.path.join(out, part + "-mxnet.bin"))
        cases[part] = {"input_shape": list(x.shape), "input_dtype": str(x.dtype), "output_shape": list(y.shape)}
    with open(os.path.join(out, "reference.json"), "w") as f:
        json.dump(cases, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
