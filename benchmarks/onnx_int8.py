"""The int8 recipe for the ONNX engines: ONNX Runtime's static quantiser on an mxport ONNX file (spec/FORMAT.md 13.7).

    .cache/venv-onnx-quant/bin/python benchmarks/onnx_int8.py MODEL.onnx NETWORK.onnx CALIBRATION.npz OUT.onnx \
        [FP32_LAYERS.json]

MODEL.onnx is the whole model (``mxport.export_onnx(prefix, path)``), NETWORK.onnx the network alone of the same
model (``load_transforms=False``): the nodes of MODEL.onnx that NETWORK.onnx does not hold (the image transforms,
the output transforms) stay fp32. CALIBRATION.npz holds the calibration inputs, one array per batch in the model's
own input format (uint8 NHWC pixels), the same ones ``mxport.export(..., optimize="int8", calibration=...)`` takes.
OUT.onnx is QDQ (QuantizeLinear / DequantizeLinear around the quantised operators; per-channel int8 weights, int8
activations, MinMax ranges, convolutions only; FP32_LAYERS.json, a list of MXNet node names, keeps those layers fp32 as
``exclude_layers=`` does for MXNet's int8 model), which ONNX Runtime runs with its int8 kernels and OpenVINO with its own; its
``metadata_props`` keep MODEL.onnx's and add ``mxport_quantization``.

Runs in a venv of its own (``make onnx-int8-setup``: onnx 1.18, onnxruntime, ml_dtypes): ONNX Runtime's quantiser
needs onnx 1.16 or later, and mxport's venv holds onnx at 1.14.1 for MXNet 1.9.1's own exporter (its
``onnx.mapping`` is gone from later onnx). No mxport code runs here: only ONNX files and arrays cross.
"""

import json
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process


# only the convolutions, as in mxport's MXNet int8 models (the dense layer stays fp32 there too): quantising
# ResNet-18's dense layer (Gemm) as well cost 3 points of top-1 agreement (96.7 % against 100 %, FORMAT.md 13.7);
# MXPORT_INT8_OP_TYPES (comma-separated ONNX operator types) measures another choice
OP_TYPES = os.environ.get("MXPORT_INT8_OP_TYPES", "Conv").split(",")


def mxnet_node(name):
    """The MXNet node an ONNX node of mxport's converter came from: its names are node:<mxnet name>[:<part>]."""
    parts = name.split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "node" else name


class Batches(CalibrationDataReader):
    def __init__(self, name, batches):
        self.feeds = iter([{name: b} for b in batches])

    def get_next(self):
        return next(self.feeds, None)


def quantize(model_path, network_path, calibration_path, out_path, fp32_layers_path=None):
    network = {mxnet_node(n.name) for n in onnx.load(network_path).graph.node}
    fp32 = set(json.load(open(fp32_layers_path))) if fp32_layers_path else set()
    original = onnx.load(model_path)
    props = {p.key: p.value for p in original.metadata_props}
    calibration = np.load(calibration_path)
    batches = [calibration[k] for k in sorted(calibration.files, key=lambda k: int(k.split("_")[-1]))]
    with tempfile.TemporaryDirectory() as tmp:
        # ONNX Runtime's own pre-processing (shape inference, batch norms folded into the convolutions), as its
        # documentation asks before quantize_static
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(model_path, pre, skip_symbolic_shape=True)
        nodes = onnx.load(pre).graph.node
        outside = [n.name for n in nodes if mxnet_node(n.name) not in network or mxnet_node(n.name) in fp32]
        quantized = os.path.join(tmp, "int8.onnx")
        quantize_static(
            pre,
            quantized,
            Batches(original.graph.input[0].name, batches),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=outside,
            op_types_to_quantize=OP_TYPES,
        )
        model = onnx.load(quantized)
    record = {
        "kind": "int8",
        "format": "QDQ",
        "quantizer": f"onnxruntime {onnxruntime.__version__} quantize_static",
        "per_channel": True,
        "calibrate_method": "MinMax",
        "calibration_samples": int(sum(len(b) for b in batches)),
        "fp32_nodes": len(outside),
        "fp32_layers": sorted(fp32),
        "op_types": OP_TYPES,
    }
    props["mxport_quantization"] = json.dumps(record, sort_keys=True)
    del model.metadata_props[:]
    for key, value in props.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, out_path)
    return record


if __name__ == "__main__":
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__.split("\n\n")[1])
    print(json.dumps(quantize(*sys.argv[1:])))
