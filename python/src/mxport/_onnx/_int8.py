"""The int8 recipe for the ONNX engines (spec/FORMAT.md 13.7): ONNX Runtime's static quantiser on an ONNX file that
``mxport.export_onnx`` wrote, giving one QDQ file that ONNX Runtime and OpenVINO both run in int8.

Needs onnx 1.16 or later and onnxruntime (the ``onnx-int8`` extra), and no MXNet: only ONNX files and arrays.
"""

import json
import os
import tempfile

import numpy as np

from .._errors import Fix, MxportError

QUANTIZATION_KEY = "mxport_quantization"
EXTRA = "pip install 'mxport[onnx-int8]'"
# what the recipe quantises: the convolutions; the ReLU / ReLU6 (Clip) right after one is folded into its output's
# range, as MXNet's oneDNN fuses it (its range is taken after the activation, unsigned); the dense layer stays fp32,
# as in mxport's MXNet int8 models
OP_TYPES = ["Conv", "Clip", "Relu"]
# the engine whose int8 fusions the QDQ placement is made for (both engines run either file): "onnxruntime", the
# residual sums read the fp32 tensors; "openvino", a sum of an int8 convolution's output reads the quantised tensors,
# so that OpenVINO fuses it into that convolution and keeps the block's output uint8 (spec/FORMAT.md 13.7)
TARGETS = ("onnxruntime", "openvino")


def quantizer():
    """onnx and ONNX Runtime's quantisation module, or INVALID_ARGUMENT naming the extra."""
    try:
        import onnx
    except ImportError as e:
        raise MxportError("INVALID_ARGUMENT", f"quantize_onnx needs onnx 1.16 or later ({e}): {EXTRA}") from None
    if tuple(int(p) for p in onnx.__version__.split(".")[:2]) < (1, 16):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"quantize_onnx needs onnx 1.16 or later (ONNX Runtime's quantiser imports its INT4 types), this "
            f"Python has onnx {onnx.__version__}: {EXTRA} (in a venv of its own if you use MXNet 1.9.1's own ONNX "
            "exporter, mx.onnx, which needs onnx below 1.16; mxport.export_onnx does not)",
        )
    try:
        import onnxruntime
        from onnxruntime import quantization
    except ImportError as e:
        raise MxportError(
            "INVALID_ARGUMENT", f"quantize_onnx needs onnxruntime and its quantiser's imports ({e}): {EXTRA}"
        ) from None
    return onnx, onnxruntime, quantization


def mxnet_node(name):
    """The MXNet node an ONNX node of mxport's converter came from: its names are node:<mxnet name>[:<part>]."""
    parts = name.split(":")
    return parts[1] if len(parts) > 1 and parts[0] == "node" else name


def _feeds(calibration, inputs):
    """The caller's calibration batches as ONNX Runtime feeds {input name: array}."""
    if isinstance(calibration, (np.ndarray, dict, str, bytes)) or not hasattr(calibration, "__iter__"):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"calibration must be a list (or iterable) of input batches, got {type(calibration).__name__}: "
            "e.g. [batch0, batch1] with each batch a uint8 NHWC array, as mxport.export(..., optimize='int8') takes",
        )
    feeds = []
    for i, batch in enumerate(calibration):
        if isinstance(batch, dict):
            arrays = batch
        elif isinstance(batch, (list, tuple)):
            arrays = dict(zip(inputs, batch))
        else:
            arrays = {inputs[0]: batch}
        if sorted(arrays) != sorted(inputs) or (isinstance(batch, (list, tuple)) and len(batch) != len(inputs)):
            raise MxportError(
                "INVALID_ARGUMENT",
                f"calibration batch {i} gives {sorted(arrays)}, the model's inputs are {inputs}: give one array "
                "per input (a dict by name, or a list in input order)",
            )
        feeds.append({name: np.asarray(a) for name, a in arrays.items()})
    if not feeds:
        raise MxportError("INVALID_ARGUMENT", "calibration gave no batch: pass at least one input batch")
    return feeds


def network_nodes(model, part):
    """The names of the nodes of the network: downstream of the batchify connectors (the graph's inputs in a file
    of the network alone), up to the no-op connectors (spec/FORMAT.md 13.1): a transform never runs in int8 (an
    optimised model's folded image transforms are a convolution)."""
    from . import NETWORK

    consumers = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    if part == NETWORK:
        frontier = [i.name for i in model.graph.input]
    else:
        frontier = [o for n in model.graph.node if n.name.startswith("connector:batchify:") for o in n.output]
        if not frontier:
            raise MxportError(
                "INVALID_ARGUMENT",
                "the ONNX file names no batchify connector (connector:batchify:<port>): it was written by an older "
                "mxport; export it again with mxport.export_onnx",
            )
    seen = set()
    while frontier:
        for node in consumers.get(frontier.pop(), []):
            if node.name not in seen and not node.name.startswith("connector:noop:"):
                seen.add(node.name)
                frontier.extend(node.output)
    return seen


def _residuals_fp32(model, int8_sums=False):
    """Where a tensor computed in fp32 is quantised as a quantised node's input, its other readers (the residual
    sums, fp32 layers) read the fp32 tensor again: ONNX Runtime gives every reader the dequantised copy. With
    ``int8_sums`` (target "openvino"), a sum that also reads a quantised convolution's dequantised output keeps the
    dequantised copy: OpenVINO then runs that sum inside the convolution, in int8."""
    nodes = model.graph.node
    producer = {out: n for n in nodes for out in n.output}

    weights = {i.name for i in model.graph.initializer}

    def quantised(node):  # a quantised node reads its weight, an 8-bit initializer, through a DequantizeLinear
        source = producer.get(node.input[1]) if len(node.input) > 1 else None
        return source is not None and source.op_type == "DequantizeLinear" and source.input[0] in weights

    quantize_input = {n.output[0]: n.input[0] for n in nodes if n.op_type == "QuantizeLinear"}
    fp32 = {}
    for n in nodes:
        if n.op_type == "DequantizeLinear" and n.input[0] in quantize_input:
            source = producer.get(quantize_input[n.input[0]])
            if source is not None and not quantised(source):
                fp32[n.output[0]] = quantize_input[n.input[0]]

    def int8_sum(node):  # an Add of a quantised convolution's output, through its QuantizeLinear and DequantizeLinear
        copies = [producer[i] for i in node.input if i in producer and producer[i].op_type == "DequantizeLinear"]
        sources = [producer.get(quantize_input.get(n.input[0])) for n in copies]
        return node.op_type == "Add" and any(n is not None and n.op_type == "Conv" and quantised(n) for n in sources)

    for n in nodes:
        if n.op_type not in ("QuantizeLinear", "DequantizeLinear") and not quantised(n):
            if int8_sums and int8_sum(n):
                continue
            for k, name in enumerate(n.input):
                if name in fp32:
                    n.input[k] = fp32[name]


def quantize_onnx(model, path, calibration, *, exclude_layers=None, target="onnxruntime", overwrite=False):
    """Writes ``path``: the int8 QDQ file of an ONNX file written by ``mxport.export_onnx`` (spec/FORMAT.md 13.7).

    >>> mxport.export_onnx("out/my_model", "out/my_model.onnx")              # where MXNet is installed
    >>> mxport.quantize_onnx("out/my_model.onnx", "out/my_model-int8.onnx",  # pip install 'mxport[onnx-int8]'
    ...                      calibration=[batch0, batch1])                   # the model's uint8 NHWC inputs
    >>> mxport.load("out/my_model-int8.onnx", engine="openvino")             # or onnxruntime
    >>> mxport.quantize_onnx("out/my_model.onnx", "out/my_model-ov-int8.onnx",  # faster on OpenVINO
    ...                      calibration=[batch0, batch1], target="openvino")

    ONNX Runtime's ``quantize_static`` after its ``quant_pre_process`` (batch norms folded), calibrated on the
    ``calibration`` batches (what ``mxport.export(..., optimize="int8", calibration=...)`` takes: a list of input
    batches, each an array, a list in input order or a dict by name): QDQ, per-channel int8 weights, uint8
    activations with MinMax ranges, the convolutions only, a ReLU or ReLU6 after one folded into its output's
    range, and the residual sums fed the fp32 tensors. ``exclude_layers`` (MXNet node names, as for
    ``optimize="int8"``) stay fp32; by default those the file's ``optimization`` record excluded when it was
    exported from an int8 model, else none. ``target="openvino"`` places the QDQ pairs for OpenVINO's fusions
    instead: a residual sum of an int8 convolution's output reads the quantised tensors, so OpenVINO runs the sum
    and the activation after it inside that convolution, in int8 (both engines run either file; faster on
    OpenVINO). The file keeps the signature; ``metadata_props`` gains ``mxport_quantization``. Needs onnx 1.16 or
    later and onnxruntime, and no MXNet: ``pip install 'mxport[onnx-int8]'``. An existing ``path`` is replaced
    only with ``overwrite=True`` (else ``TARGET_EXISTS``).

    Returns the ``mxport_quantization`` record (a dict).
    """
    if target not in TARGETS:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"target must be one of {list(TARGETS)}, got {target!r}: the engine the int8 file is placed for "
            "(both run either file; 'openvino' is faster there)",
        )
    onnx, onnxruntime, q = quantizer()
    model, path = os.fspath(model), os.fspath(path)
    original, props, folder = _source(onnx, model, path, overwrite)
    fp32 = _fp32_layers(original, props, model, exclude_layers)
    feeds = _feeds(calibration, [i.name for i in original.graph.input])
    out = _quantized(onnx, q, model, original, props, feeds, fp32)
    _residuals_fp32(out, int8_sums=target == "openvino")
    record = {
        "kind": "int8",
        "format": "QDQ",
        "quantizer": f"onnxruntime {onnxruntime.__version__} quantize_static",
        "per_channel": True,
        "activations": "uint8",
        "calibrate_method": "MinMax",
        "calibration_samples": int(sum(len(next(iter(f.values()))) for f in feeds)),
        "fp32_layers": sorted(fp32),
        "op_types": ["Conv"],
        "target": target,
    }
    props[QUANTIZATION_KEY] = json.dumps(record, sort_keys=True)
    del out.metadata_props[:]
    for key, value in props.items():
        out.metadata_props.add(key=key, value=value)
    _write(out, path, folder)
    return record


def _source(onnx, model, path, overwrite):
    """The checked source file (its model and metadata_props) and the folder of ``path``, which may be written."""
    from . import SIGNATURE_KEY

    if not os.path.isfile(model):
        raise MxportError("INVALID_ARGUMENT", f"{model} is not a file: give an ONNX file that mxport.export_onnx wrote")
    if os.path.lexists(path) and not overwrite:
        raise MxportError(
            "TARGET_EXISTS",
            f"{path} exists",
            Fix.argument("overwrite", True, before="choose another path, or ", after=" to replace it"),
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MxportError("INVALID_ARGUMENT", f"the folder {folder} does not exist: create it first")
    try:
        original = onnx.load(model)
    except Exception as e:  # noqa: BLE001 - any parse failure is the caller's file
        raise MxportError("INVALID_ARGUMENT", f"{model} is not an ONNX file ({e})") from None
    props = {p.key: p.value for p in original.metadata_props}
    if SIGNATURE_KEY not in props:
        raise MxportError(
            "NO_SIGNATURE", f"{model} has no {SIGNATURE_KEY}: quantise an ONNX file that mxport.export_onnx wrote"
        )
    if QUANTIZATION_KEY in props:
        raise MxportError(
            "INVALID_ARGUMENT", f"{model} is quantised already: quantise the fp32 file mxport.export_onnx wrote"
        )
    return original, props, folder


def _fp32_layers(original, props, model, exclude_layers):
    """The MXNet node names that stay fp32: ``exclude_layers``, checked, or the int8 record's own by default."""
    from . import SIGNATURE_KEY

    if exclude_layers is None:
        optimization = json.loads(props[SIGNATURE_KEY]).get("optimization") or {}
        exclude_layers = optimization.get("excluded_layers", []) if optimization.get("kind") == "int8" else []
    if not isinstance(exclude_layers, (list, tuple, set)) or not all(isinstance(n, str) for n in exclude_layers):
        raise MxportError(
            "INVALID_ARGUMENT", f"exclude_layers must be a list of MXNet node names, got {exclude_layers!r}"
        )
    fp32 = set(exclude_layers)
    unknown = sorted(fp32 - {mxnet_node(n.name) for n in original.graph.node})
    if unknown:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"exclude_layers names {unknown[:3]}, which {model} does not hold: give MXNet node names of the model "
            "(a layer such as 'resnetv10_conv0_fwd')",
        )
    return fp32


def _quantized(onnx, q, model, original, props, feeds, fp32):
    """ONNX Runtime's quant_pre_process and quantize_static on ``model``: the QDQ model, not yet post-processed."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from . import GRAPH_KEY, MODEL

    class Batches(q.CalibrationDataReader):
        def __init__(self):
            self.feeds = iter(feeds)

        def get_next(self):
            return next(self.feeds, None)

    network = network_nodes(original, props.get(GRAPH_KEY, MODEL))
    with tempfile.TemporaryDirectory() as tmp:
        pre = os.path.join(tmp, "pre.onnx")
        quant_pre_process(model, pre, skip_symbolic_shape=True)
        excluded = [n.name for n in onnx.load(pre).graph.node if n.name not in network or mxnet_node(n.name) in fp32]
        quantized = os.path.join(tmp, "int8.onnx")
        q.quantize_static(
            pre,
            quantized,
            Batches(),
            quant_format=q.QuantFormat.QDQ,
            per_channel=True,
            activation_type=q.QuantType.QUInt8,
            weight_type=q.QuantType.QInt8,
            calibrate_method=q.CalibrationMethod.MinMax,
            nodes_to_exclude=excluded,
            op_types_to_quantize=OP_TYPES,
        )
        return onnx.load(quantized)


def _write(out, path, folder):
    """``out`` to ``path`` through a temporary file in ``folder``: a failure leaves what was at ``path``."""
    fd, tmp_path = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(out.SerializeToString())
        os.replace(tmp_path, path)
    except BaseException:
        if os.path.exists(tmp_path):
            os.remove(tmp_path)
        raise
