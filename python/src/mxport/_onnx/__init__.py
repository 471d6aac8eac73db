"""ONNX export of mxport models, and the ONNX Runtime and OpenVINO engines behind ``mxport.load``.

The ONNX file is the contract of spec/FORMAT.md section 13: the whole graph (or the network alone), the
signature's names on its inputs and outputs, and the signature itself in ``metadata_props``.
"""

import os
import tempfile

import numpy as np

from .._errors import Fix, MxportError
from .._version import __version__

SIGNATURE_KEY = "mxport_signature"
GRAPH_KEY = "mxport_graph"  # "model" (transforms included) or "network" (cut at the connectors)
MODEL, NETWORK = "model", "network"

_EXTRAS = {"onnx": "onnx", "onnxruntime": "onnxruntime", "openvino": "openvino"}


def require(module, what):
    """Imports an optional dependency, or raises INVALID_ARGUMENT naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = _EXTRAS[module.split(".")[0]]
        raise MxportError(
            "INVALID_ARGUMENT",
            f"{what} needs the '{module.split('.')[0]}' package, which is not "
            f"installed ({e}): pip install 'mxport[{extra}]'",
        ) from None


def onnx_model(prefix, load_transforms=True):
    """The ONNX ModelProto of the mxport model at ``prefix`` (the whole graph, or the network alone). MXNet reads
    the params, so this runs where MXNet is installed (spec/RUNTIME.md section 8)."""
    from .. import _threads

    _threads.need_mxnet("converting an mxport model to ONNX (mxport.export_onnx, or mxport.load of a model prefix)")
    onnx = require("onnx", "ONNX export")
    from onnx import helper
    from .. import _graph
    from .._blocks import open_model
    from ._convert import IR_VERSION, OPSET, convert_graph
    from ._float import float_graph

    try:
        model = open_model(prefix)
    except MxportError as e:
        if e.code != "NO_SIGNATURE":
            raise
        raise MxportError(
            "NO_SIGNATURE",
            e.detail.split(": it is an old MXNet model")[0] + ": it is an old MXNet "
            "model, and an ONNX file carries a signature: export it with mxport.export(net, prefix, "
            "inputs=[...]) first (mxport.load(prefix, inputs=[...]) gives the net)",
        ) from None
    graph, signature = model.graph, model.signature
    raw = next(n["attrs"][_graph.SIGNATURE_ATTR] for n in graph["nodes"] if _graph.SIGNATURE_ATTR in n.get("attrs", {}))
    params = {name: array.asnumpy() for name, array in model.params.items()}
    if signature.optimization is not None:
        low = sorted(n for n, a in params.items() if a.dtype in (np.int8, np.uint8))
        if low:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"{model.params_path} holds 8-bit weights ({low[:3]}): the fp32 "
                "network cannot be recovered from this optimised model; export the fp32 model it "
                "was made from",
            )
        graph = float_graph(graph)
    if load_transforms:
        inputs, outputs, part = signature.inputs, signature.outputs, MODEL
    else:
        graph = _graph.cut_network(graph, signature)
        inputs, outputs, part = signature.network.inputs, signature.network.outputs, NETWORK
    body = convert_graph(graph, inputs, outputs, params, f"mxport {part}")
    proto = helper.make_model(
        body,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="mxport",
        producer_version=__version__,
        ir_version=IR_VERSION,
    )
    helper.set_model_props(proto, {SIGNATURE_KEY: raw, GRAPH_KEY: part})
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as e:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"the ONNX graph converted from {model.symbol_path} is not valid ONNX: {str(e).splitlines()[0]}",
        ) from None
    return proto


def export_onnx(prefix, path, *, load_transforms=True, overwrite=False):
    """Writes the mxport model at ``prefix`` as one self-contained ONNX file (spec/FORMAT.md section 13).

    >>> sig = mxport.export_onnx("out/my_model", "out/my_model.onnx")                     # the whole graph
    >>> sig = mxport.export_onnx("out/my_model", "out/net.onnx", load_transforms=False)   # the network alone
    >>> import onnxruntime, json                                                          # no mxport needed:
    >>> s = onnxruntime.InferenceSession("out/my_model.onnx")
    >>> json.loads(s.get_modelmeta().custom_metadata_map["mxport_signature"])["inputs"]

    The graph's inputs and outputs are the signature's (uint8 NHWC pixels in, its outputs out; ``-1``
    dimensions are named dimensions), its weights are initializers, and ``metadata_props`` carries the
    signature (labels, metadata, optimisation record) as FORMAT.md section 2 writes it. An optimised model
    (``fused``, ``int8``) is written as the fp32 network it was made from (section 13). ``load_transforms=False``
    writes the network alone, cut at the connectors (section 5). Needs the ``onnx`` extra
    (``pip install 'mxport[onnx]'``). An existing ``path`` is replaced only when mxport wrote it, or with
    ``overwrite=True`` (else ``TARGET_EXISTS``); the file is written whole under a temporary name first.

    Returns the signature of what the file takes and gives (the network's with ``load_transforms=False``).
    """
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise MxportError("INVALID_ARGUMENT", f"path must be a file path such as 'out/model.onnx', got {path!r}")
    path = os.fspath(path)
    if os.path.isdir(path):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"{path} is a directory: give the ONNX file's path, e.g. {os.path.join(path, 'model.onnx')}",
        )
    if os.path.lexists(path) and not overwrite and not _written_by_mxport(path):
        raise MxportError(
            "TARGET_EXISTS",
            f"{path} exists and is not an ONNX file written by mxport",
            Fix.argument("overwrite", True, before="choose another path, or ", after=" to replace it"),
        )
    proto = onnx_model(prefix, load_transforms)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise MxportError("INVALID_ARGUMENT", f"the folder {folder} does not exist: create it first")
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(proto.SerializeToString())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return contract(proto)[0]


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _written_by_mxport(path):
    try:
        onnx = require("onnx", "ONNX export")
        proto = onnx.load(path, load_external_data=False)
    except Exception:  # noqa: BLE001 - not readable as ONNX: not ours
        return False
    return any(p.key == SIGNATURE_KEY for p in proto.metadata_props)


def contract(props):
    """(signature of the graph, the model's whole signature, part) from an ONNX model's metadata_props: a
    ModelProto, or a dict key -> value (``InferenceSession.get_modelmeta().custom_metadata_map``)."""
    from .._signature import Signature

    if not isinstance(props, dict):
        props = {p.key: p.value for p in props.metadata_props}
    if SIGNATURE_KEY not in props:
        raise MxportError(
            "NO_SIGNATURE",
            f"the ONNX model has no '{SIGNATURE_KEY}' in its metadata_props: it was "
            "not written by mxport.export_onnx; export it from the mxport model",
        )
    whole = Signature.from_json(props[SIGNATURE_KEY])
    part = props.get(GRAPH_KEY, MODEL)
    if part not in (MODEL, NETWORK):
        raise MxportError("BAD_SIGNATURE", f"'{GRAPH_KEY}' is {part!r}; it must be '{MODEL}' or '{NETWORK}'")
    return (whole if part == MODEL else whole.network), whole, part


def model_bytes(source, load_transforms):
    """The ONNX bytes an engine runs, the graph's signature and the whole signature. ``source`` is an ONNX file
    written by export_onnx, or an mxport model's prefix (converted in memory: nothing is written)."""
    path = os.fspath(source) if isinstance(source, (str, os.PathLike)) else None
    if path and path.endswith(".onnx") and os.path.isfile(path):
        onnx = require("onnx", "Reading an ONNX file's signature")
        with open(path, "rb") as f:
            data = f.read()
        sig, whole, part = contract(onnx.load_from_string(data))
        want = MODEL if load_transforms else NETWORK
        if part != want:
            held = "the network alone" if part == NETWORK else "the whole model"
            raise MxportError(
                "INVALID_ARGUMENT",
                f"{path} holds {held} but load_transforms={load_transforms} "
                f"asks for {'the whole model' if load_transforms else 'the network alone'}",
                Fix.argument(
                    "load_transforms",
                    not load_transforms,
                    after=", or export what you need with "
                    f"mxport.export_onnx(prefix, path{'' if load_transforms else ', load_transforms=False'})",
                ),
            )
        return data, sig, whole
    if path and path.endswith(".onnx") and not os.path.lexists(path) and not os.path.lexists(path + "-symbol.json"):
        raise MxportError(
            "MODEL_NOT_FOUND", f"{path} does not exist: give the path of an ONNX file mxport.export_onnx wrote"
        )
    proto = onnx_model(source, load_transforms)
    sig, whole, _ = contract(proto)
    return proto.SerializeToString(), sig, whole


__all__ = ["export_onnx", "onnx_model", "contract", "model_bytes", "require"]
