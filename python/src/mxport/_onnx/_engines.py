"""The ONNX Runtime and OpenVINO engines: the model's ONNX graph (spec/FORMAT.md section 13) behind the call of
mxport's Gluon block, with the same input checks and error codes first. MXNet is not needed here: where it is
installed (``import mxport`` imported it) outputs are NDArrays as a block's, where it is not numpy arrays
(spec/RUNTIME.md section 8)."""

import sys
import threading

import numpy as np

from .._errors import Fix, MxportError, native_message
from .._inputs import check_inputs
from ..environment import onnx_threads
from . import model_bytes, require

ENGINES = ("mxnet", "onnxruntime", "openvino")


class EngineModel:
    """A model on an ONNX engine, made by ``mxport.load(prefix, engine="onnxruntime" | "openvino")``.

    >>> model = mxport.load("out/my_model", engine="onnxruntime")
    >>> prob = model(np.zeros((1, 64, 64, 3), np.uint8))          # as a block: numpy or NDArray in, NDArray out
    >>> model.signature                                           # what it takes and gives

    Called like :class:`MxportBlock`: inputs in signature order or by name; one output as an NDArray (a numpy
    array where MXNet is not installed), several as a list. Inputs are checked against ``signature`` before the
    engine runs (the codes of FORMAT.md 6). ``engine`` names the engine; ``onnx`` is the ONNX model's bytes it runs.
    """

    engine = None

    def __init__(self, data, signature):
        self.onnx = data
        self.signature = signature
        self._lock = threading.Lock()

    def __call__(self, x, *args):
        given = x if isinstance(x, dict) and not args else (x,) + args
        mx = sys.modules.get("mxnet")  # imported by `import mxport` where installed
        arrays = [
            np.ascontiguousarray(a.asnumpy() if mx is not None and isinstance(a, mx.nd.NDArray) else np.asarray(a))
            for a in check_inputs(self.signature, given)
        ]
        feed = {s.name: a for s, a in zip(self.signature.inputs, arrays)}
        try:
            outs = self._run(feed)
        except MxportError:
            raise
        except Exception as e:  # noqa: BLE001 - the engine's own failure, whatever its type
            raise MxportError("NATIVE_ERROR", f"{self.engine} failed: {native_message(e)}") from None
        if mx is not None:
            outs = [mx.nd.array(o, dtype=o.dtype) for o in outs]
        return outs[0] if len(outs) == 1 else outs

    def __repr__(self):
        return f"<{type(self).__name__} {self.engine} {self.signature.input_names} -> {self.signature.output_names}>"


class OnnxRuntimeModel(EngineModel):
    engine = "onnxruntime"

    def __init__(self, data, signature):
        super().__init__(data, signature)
        ort = require("onnxruntime", "engine='onnxruntime'")
        options = ort.SessionOptions()
        options.intra_op_num_threads = onnx_threads()  # spec/RUNTIME.md section 6, rule 4
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001
            raise MxportError("NATIVE_ERROR", f"ONNX Runtime cannot load the model: {native_message(e)}") from None

    def _run(self, feed):
        return self.session.run(self.signature.output_names, feed)  # ONNX Runtime's sessions are thread-safe


class OpenVinoModel(EngineModel):
    """OpenVINO's CPU plugin at fp32 (``INFERENCE_PRECISION_HINT`` f32): on CPUs with bf16 it would otherwise
    pick bf16, outside the tolerance spec/onnx_tolerances.json states. No bf16 option: no layer set kept in f32
    holds issue 23's top-1 agreement on EfficientNet-Lite0 (spec/FORMAT.md 13.8)."""

    engine = "openvino"

    def __init__(self, data, signature):
        super().__init__(data, signature)
        ov = require("openvino", "engine='openvino'")
        try:
            core = ov.Core()
            self.compiled = core.compile_model(
                core.read_model(data),
                "CPU",
                {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": onnx_threads()},
            )
        except Exception as e:  # noqa: BLE001
            raise MxportError("NATIVE_ERROR", f"OpenVINO cannot load the model: {native_message(e)}") from None
        self._request = self.compiled.create_infer_request()
        self._outputs = [self.compiled.output(name) for name in signature.output_names]

    def _run(self, feed):
        with self._lock:  # one infer request, one call at a time (as a Python block: spec/RUNTIME.md rule 7)
            result = self._request.infer(feed)
            return [np.array(result[port]) for port in self._outputs]


def load(source, engine, load_transforms=True, ctx=None, inputs=None, epoch=None):
    """mxport.load for the ONNX engines: the model at ``source`` (an mxport prefix, converted in memory, or an
    ``.onnx`` file written by mxport.export_onnx) on ONNX Runtime or OpenVINO."""
    if engine not in ENGINES:
        raise MxportError("INVALID_ARGUMENT", f"engine={engine!r}: give one of {list(ENGINES)}")
    mx = sys.modules.get("mxnet")
    if ctx is not None and (mx is None or not isinstance(ctx, mx.Context) or ctx.device_type != "cpu"):
        raise MxportError(
            "INVALID_ARGUMENT", f"engine='{engine}' runs on the CPU (got ctx={ctx!r:.100})", Fix.drop(("ctx", ctx))
        )
    if inputs is not None or epoch is not None:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"engine='{engine}' runs mxport models (with a signature) only",
            Fix.drop(
                *((name, value) for name, value in (("inputs", inputs), ("epoch", epoch)) if value is not None),
                after=", or re-export the old model with mxport.export",
            ),
        )
    require({"onnxruntime": "onnxruntime", "openvino": "openvino"}[engine], f"engine='{engine}'")
    data, signature, _ = model_bytes(source, load_transforms)
    return (OnnxRuntimeModel if engine == "onnxruntime" else OpenVinoModel)(data, signature)
