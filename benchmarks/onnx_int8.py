"""The int8 recipe for the ONNX engines, as a script: ``mxport.quantize_onnx`` on an mxport ONNX file (spec/FORMAT.md
13.7).

    .cache/venv-onnx-quant/bin/python benchmarks/onnx_int8.py MODEL.onnx CALIBRATION.npz OUT.onnx [FP32_LAYERS.json [TARGET]]

MODEL.onnx is the whole model (``mxport.export_onnx(prefix, path)``). CALIBRATION.npz holds the calibration inputs,
one array per batch in the model's own input format (uint8 NHWC pixels), the same ones ``mxport.export(...,
optimize="int8", calibration=...)`` takes. FP32_LAYERS.json, a list of MXNet node names, keeps those layers fp32 (as
``exclude_layers=``). Prints the ``mxport_quantization`` record.

Runs in the quantiser's venv (``make onnx-int8-setup``: mxport without MXNet, onnx 1.18, onnxruntime): ONNX Runtime's
quantiser needs onnx 1.16 or later, and mxport's venv holds onnx 1.14.1 for MXNet 1.9.1's own exporter.
"""

import json
import sys

import numpy as np

import mxport


def main(model, calibration_path, out, fp32_layers_path=None, target="onnxruntime"):
    calibration = np.load(calibration_path)
    batches = [calibration[k] for k in calibration.files]
    layers = json.load(open(fp32_layers_path)) if fp32_layers_path else []
    return mxport.quantize_onnx(model, out, batches, exclude_layers=layers, target=target, overwrite=True)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5, 6):
        sys.exit(__doc__.split("\n\n")[1])
    print(json.dumps(main(*sys.argv[1:])))
