"""Loading: read_signature, load (a Gluon block) and load_module (a bound Module)."""

import hashlib
import os
from dataclasses import dataclass

import mxnet as mx
import numpy as np
from mxnet import gluon

from . import _graph, _mx
from ._errors import MxportError
from ._signature import Signature, TensorSpec


def model_paths(prefix, epoch=None):
    """The two files a prefix means: (``<prefix>-symbol.json``, ``<prefix>.params`` or
    ``<prefix>-NNNN.params`` for an old model saved at epoch NNNN)."""
    prefix = os.fspath(prefix)
    params = f"{prefix}-{epoch:04d}.params" if epoch is not None else f"{prefix}.params"
    return f"{prefix}-symbol.json", params


def _read(path):
    if not os.path.lexists(path):
        if os.path.lexists(path + ".mxport-backup"):
            raise MxportError("MODEL_NOT_FOUND", f"{path} does not exist: an export to this prefix was "
                              f"interrupted, and the previous model is in {path}.mxport-backup (and its params "
                              "file's .mxport-backup): rename them back, or export again")
        raise MxportError("MODEL_NOT_FOUND", f"{path} does not exist; check the model prefix (a model is "
                          "<prefix>-symbol.json and <prefix>.params, written by mxport.export)")
    if os.path.isdir(path):
        raise MxportError("MODEL_UNREADABLE", f"{path} is a directory, not a model file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise MxportError("MODEL_UNREADABLE", f"cannot read {path}: {e.strerror}; check its permissions") from None


@dataclass
class _Model:
    graph: dict
    signature: Signature  # the whole model's; for an old model, network is None
    params: dict
    symbol_path: str
    params_path: str

    @property
    def old(self):
        return self.signature.network is None


def _as_specs(inputs, what):
    """Input descriptions as TensorSpecs: a list of TensorSpec, or a dict name -> shape (float32)."""
    if isinstance(inputs, dict):
        return tuple(TensorSpec(name, tuple(shape)) for name, shape in inputs.items())
    if isinstance(inputs, TensorSpec):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs or \
            not all(isinstance(s, TensorSpec) for s in inputs):
        raise MxportError("INVALID_ARGUMENT", f"{what} must be a list of TensorSpec or a dict name -> shape, "
                          f"got {inputs!r:.200}")
    names = [s.name for s in inputs]
    if len(set(names)) != len(names):
        raise MxportError("INVALID_ARGUMENT", f"{what} has duplicate names {names}")
    return tuple(inputs)


def read_signature(prefix):
    """The signature of the model at ``prefix``, read from ``<prefix>-symbol.json`` alone.

    Raises MxportError ``NO_SIGNATURE`` for an old model.
    """
    symbol_path, _ = model_paths(prefix)
    graph = _graph.parse_graph(_decode(_read(symbol_path), symbol_path), symbol_path)
    sig = _graph.find_signature(graph, symbol_path)
    if sig is None:
        raise _no_signature(symbol_path)
    _graph.check_connectors(graph, sig, symbol_path)
    return sig


def _decode(data, path):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MxportError("BAD_SYMBOL_JSON", f"{path} is not UTF-8 text, so not a symbol file") from None


def _no_signature(path):
    return MxportError("NO_SIGNATURE", f"{path} carries no mxport signature: it is an old MXNet model. Load it "
                       "with inputs=[TensorSpec('data', (-1, 3, 224, 224), 'float32', 'NCHW')] (one per input) "
                       "and epoch=N when its params file is <prefix>-NNNN.params, or re-export it with "
                       "mxport.export")


def open_model(prefix, inputs=None, epoch=None):
    """Reads and checks both files (spec section 6, steps 1-3)."""
    symbol_path, _ = model_paths(prefix)
    graph = _graph.parse_graph(_decode(_read(symbol_path), symbol_path), symbol_path)
    sig = _graph.find_signature(graph, symbol_path)
    if sig is not None:
        if inputs is not None or epoch is not None:
            raise MxportError("INVALID_ARGUMENT", f"{symbol_path} carries its own signature: drop inputs= and "
                              "epoch=, which only old models need")
        _graph.check_connectors(graph, sig, symbol_path)
        _, params_path = model_paths(prefix)
        data = _read(params_path)
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != sig.params_size or digest != sig.params_sha256:
            raise MxportError("DIGEST_MISMATCH", f"{params_path} is not the params file this model was exported "
                              f"with ({len(data)} bytes, sha256 {digest[:12]}..., expected {sig.params_size} "
                              f"bytes, sha256 {sig.params_sha256[:12]}...): it was damaged or replaced; "
                              "copy or export the model again")
        return _Model(graph, sig, _mx.params_from_bytes(data, params_path), symbol_path, params_path)
    if inputs is None:
        raise _no_signature(symbol_path)
    specs = _as_specs(inputs, "inputs")
    variables = {n["name"] for n in graph["nodes"] if n["op"] == "null"}
    unknown = [s.name for s in specs if s.name not in variables]
    if unknown:
        raise MxportError("UNKNOWN_INPUT", f"the graph in {symbol_path} has no input {unknown}; its variables "
                          f"are {sorted(variables)}")
    _, params_path = model_paths(prefix, epoch)
    data = _read(params_path)
    symbol = _mx.symbol_from_graph(graph, symbol_path)
    example = {s.name: tuple(1 if d == -1 else d for d in s.shape) for s in specs}
    outputs = _mx.infer_output_specs(symbol, specs, example, symbol.list_outputs(),
                                     [None] * len(symbol.list_outputs()))
    return _Model(graph, Signature(specs, outputs), _mx.params_from_bytes(data, params_path),
                  symbol_path, params_path)


def _prepare(prefix, load_transforms, inputs, epoch):
    """What load and load_module share: the checked files, the graph they run (cut when asked), its signature,
    and the MXNet symbol with its params checked against it."""
    model = open_model(prefix, inputs, epoch)
    if load_transforms or model.old:
        graph, signature = model.graph, model.signature
    else:
        graph, signature = _graph.cut_network(model.graph, model.signature), model.signature.network
    symbol = _mx.symbol_from_graph(graph, model.symbol_path)
    _mx.check_params(symbol, model.params, signature.inputs, model.params_path)
    return model, signature, symbol


def check_inputs(signature, arrays):
    """Checks a call's inputs against a signature (spec section 6) before any native call.

    ``arrays`` is a list in signature order, or a dict name -> array; each array has ``shape`` and ``dtype``.
    Returns the arrays as a list in signature order.
    """
    specs = signature.inputs
    names = [s.name for s in specs]
    if isinstance(arrays, dict):
        unknown = [n for n in arrays if n not in names]
        if unknown:
            raise MxportError("UNKNOWN_INPUT", f"Unknown input name '{unknown[0]}', expected one of "
                              f"[{', '.join(names)}]")
        missing = [n for n in names if n not in arrays]
        if missing:
            raise MxportError("INPUT_COUNT", f"missing input(s) {missing}: the model takes {names}")
        arrays = [arrays[n] for n in names]
    arrays = list(arrays)
    if len(arrays) != len(specs):
        raise MxportError("INPUT_COUNT", f"got {len(arrays)} input(s) but the model takes {len(specs)}: {names}")
    batch = None
    for spec, array in zip(specs, arrays):
        shape = tuple(int(d) for d in array.shape)
        dtype = np.dtype(array.dtype).name
        if dtype != spec.dtype:
            raise MxportError("DTYPE_MISMATCH", f"input '{spec.name}' has dtype {dtype} but the model takes "
                              f"{spec.dtype}")
        if len(shape) != len(spec.shape) or any(w != -1 and g != w for g, w in zip(shape, spec.shape)):
            raise MxportError("SHAPE_MISMATCH", f"input '{spec.name}' has shape {_fmt(shape)} but the model "
                              f"takes {_fmt(spec.shape)}")
        if shape[0] < 1 or any(d < 1 for d in shape):
            raise MxportError("SHAPE_MISMATCH", f"input '{spec.name}' has shape {_fmt(shape)}: every dimension, "
                              "the batch included, must be at least 1")
        if batch is not None and shape[0] != batch:
            raise MxportError("SHAPE_MISMATCH", f"input '{spec.name}' has batch size {shape[0]} but "
                              f"'{specs[0].name}' has {batch}: all inputs of a call share one batch size")
        batch = shape[0]
    return arrays


def _fmt(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"


class MxportBlock(gluon.SymbolBlock):
    """A Gluon block over an mxport model, made by :func:`load`. ``signature`` says what it takes and gives;
    a call checks its inputs against it first, so a wrong input gets an MxportError, not an MXNet crash.

    Call it with the inputs in signature order (``block(a, b)``) or by name (``block({"a": a, "b": b})``),
    as NDArrays or numpy arrays."""

    def __init__(self, symbol, signature):
        super().__init__(symbol, [mx.sym.var(s.name, dtype=s.dtype) for s in signature.inputs])
        self.signature = signature

    def forward(self, x, *args):
        if isinstance(x, mx.sym.Symbol):
            return super().forward(x, *args)
        given = x if isinstance(x, dict) and not args else (x,) + args  # by name, or in signature order
        arrays = [mx.nd.array(a, dtype=a.dtype) if isinstance(a, np.ndarray) else a
                  for a in check_inputs(self.signature, given)]
        return super().forward(*arrays)


def load(prefix, load_transforms=True, ctx=None, *, inputs=None, epoch=None):
    """Loads a model as a Gluon block.

    >>> block = mxport.load("out/my_model")                       # transforms included
    >>> probs = block(mx.nd.array(pixels, dtype="uint8"))         # shape (1, 300, 300, 3)
    >>> block.signature                                           # what it takes and gives

    Parameters
    ----------
    prefix : str or path
        The model: ``<prefix>-symbol.json`` and ``<prefix>.params``.
    load_transforms : bool
        False cuts the graph at its connectors (spec section 5) and gives the network alone, whose
        signature is ``read_signature(prefix).network``.
    ctx : mx.Context, optional
        Where to run; ``mx.cpu()`` when None.
    inputs : list of TensorSpec or dict name -> shape, keyword-only
        Only for an old model (no signature): its input descriptions.
    epoch : int, keyword-only
        Only for an old model whose params file is ``<prefix>-NNNN.params``.

    Returns
    -------
    MxportBlock
        A hybridized ``gluon.SymbolBlock`` with a ``signature`` attribute. Multiple outputs come as a list.

    Raises
    ------
    MxportError
        With a code of spec/FORMAT.md section 8.
    """
    model, signature, symbol = _prepare(prefix, load_transforms, inputs, epoch)
    block = MxportBlock(symbol, signature)
    ctx = ctx or mx.cpu()
    try:
        block.collect_params().load_dict(model.params, ctx=ctx, allow_missing=False, ignore_extra=True)
    except (AssertionError, mx.base.MXNetError) as e:
        raise MxportError("BAD_PARAMS", f"cannot set the parameters from {model.params_path}: {e}") from None
    block.hybridize(static_alloc=True, static_shape=True)
    return block


class MxportModule(mx.mod.Module):
    """A Module bound for inference, made by :func:`load_module`; ``signature`` says what it takes, and
    ``forward`` checks a batch against it first."""

    signature = None

    def forward(self, data_batch, is_train=None):
        check_inputs(self.signature, data_batch.data)
        return super().forward(data_batch, is_train=False)


def load_module(prefix, load_transforms=True, ctx=None, *, batch_size=1, data_shapes=None, inputs=None,
                epoch=None):
    """Loads a model as an ``mx.mod.Module`` bound for inference only.

    >>> mod = mxport.load_module("out/my_model", load_transforms=False)
    >>> mod.forward(mx.io.DataBatch([mx.nd.zeros((1, 3, 224, 224))]))
    >>> probs = mod.get_outputs()[0]

    The Module is bound at ``batch_size`` along each input's dynamic batch dimension; a batch of another size
    re-binds it (MXNet's Module does that itself). ``data_shapes`` (one shape per input) is needed only when
    an input has dynamic dimensions other than the batch. Other parameters as in :func:`load`.
    """
    model, signature, symbol = _prepare(prefix, load_transforms, inputs, epoch)
    if data_shapes is None:
        if any(d == -1 for s in signature.inputs for d in s.shape[1:]):
            raise MxportError("INVALID_ARGUMENT", "an input has dynamic dimensions besides the batch: pass "
                              "data_shapes=[...], one concrete shape per input")
        data_shapes = [(batch_size,) + tuple(s.shape[1:]) for s in signature.inputs]
    if len(data_shapes) != len(signature.inputs):
        raise MxportError("INPUT_COUNT", f"data_shapes has {len(data_shapes)} shapes but the model takes "
                          f"{len(signature.inputs)} inputs")
    check_inputs(signature, [_Shaped(shape, s.dtype)
                             for shape, s in zip(data_shapes, signature.inputs)])
    mod = MxportModule(symbol, data_names=signature.input_names, label_names=None, context=ctx or mx.cpu())
    mod.signature = signature
    # DataDesc's layout only tells Module where the batch axis is: dimension 0 in mxport (spec section 2).
    mod.bind(data_shapes=[mx.io.DataDesc(s.name, tuple(shape), np.dtype(s.dtype), "NCHW")
                          for shape, s in zip(data_shapes, signature.inputs)], for_training=False)
    arg = {n: model.params[n] for n in symbol.list_arguments() if n in model.params}
    aux = {n: model.params[n] for n in symbol.list_auxiliary_states() if n in model.params}
    mod.set_params(arg, aux, allow_missing=False, allow_extra=True)
    return mod


class _Shaped:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype
