"""Loading: read_signature, load (a Gluon block) and load_module (a bound Module)."""

import glob
import hashlib
import os
import re
from dataclasses import dataclass

import mxnet as mx
import numpy as np
from mxnet import gluon

from . import _graph, _mx, _threads
from ._errors import MxportError
from ._signature import Signature, TensorSpec


def model_paths(prefix, epoch=None):
    """The two files a prefix means: (``<prefix>-symbol.json``, ``<prefix>.params`` or
    ``<prefix>-NNNN.params`` for an old model saved at epoch NNNN)."""
    prefix = os.fspath(prefix)
    params = f"{prefix}-{epoch:04d}.params" if epoch is not None else f"{prefix}.params"
    return f"{prefix}-symbol.json", params


_SUFFIXES = ("-symbol.json", ".params")


def resolve_prefix(prefix, epoch=None):
    """The prefix (and epoch) a caller meant. A path to one of the model's files is accepted in place of its
    prefix (``out/m-symbol.json``, ``out/m.params``, ``old/m-0005.params``, which also says epoch 5), but only
    when that file exists, the literal prefix names no model, and the file's own model is there: so the model
    loaded is always the one whose file was named."""
    if not isinstance(prefix, (str, os.PathLike)) or not os.fspath(prefix):
        raise MxportError("INVALID_ARGUMENT", f"the model prefix must be a path such as 'out/my_model' (for "
                          f"out/my_model-symbol.json and out/my_model.params), got {prefix!r}")
    prefix = os.fspath(prefix)
    if os.path.lexists(prefix + "-symbol.json") or not os.path.isfile(prefix) or not prefix.endswith(_SUFFIXES):
        return prefix, epoch
    stem = prefix[:-len("-symbol.json")] if prefix.endswith("-symbol.json") else prefix[:-len(".params")]
    candidates = [(stem, epoch)]
    numbered = re.match(r"^(.*)-(\d{4})\.params$", prefix)
    if numbered:
        candidates.append((numbered.group(1), int(numbered.group(2))))
    for stem, file_epoch in candidates:
        if os.path.lexists(stem + "-symbol.json"):
            if epoch is not None and file_epoch != epoch:
                raise MxportError("INVALID_ARGUMENT", f"{prefix} is the params file of epoch {file_epoch}, but "
                                  f"epoch={epoch} was given: drop epoch=, or give the prefix {stem}")
            return stem, file_epoch
    return prefix, epoch


def _not_found_fix(path):
    given = re.sub(r"(-symbol\.json|(-\d{4})?\.params)$", "", path)  # the prefix the caller gave
    for suffix in _SUFFIXES:
        if given.endswith(suffix):
            return (f"; the prefix names the model without its file suffix: drop the {suffix} suffix "
                    f"('{given[:-len(suffix)]}')")
    return ("; check the model prefix (a model is <prefix>-symbol.json and <prefix>.params, written by "
            "mxport.export)")


def _read(path):
    if not os.path.lexists(path):
        if os.path.lexists(path + ".mxport-backup"):
            raise MxportError("MODEL_NOT_FOUND", f"{path} does not exist: an export to this prefix was "
                              f"interrupted, and the previous model is in {path}.mxport-backup (and its params "
                              "file's .mxport-backup): rename them back, or export again")
        raise MxportError("MODEL_NOT_FOUND", f"{path} does not exist" + _not_found_fix(path))
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

    >>> sig = mxport.read_signature("out/my_model")
    >>> print(sig.describe())                                     # the table `mxport inspect` prints

    Raises MxportError ``NO_SIGNATURE`` for an old model.
    """
    prefix, _ = resolve_prefix(prefix)
    symbol_path, _ = model_paths(prefix)
    graph = _graph.parse_graph(_decode(_read(symbol_path), symbol_path), symbol_path)
    sig = _graph.find_signature(graph, symbol_path)
    if sig is None:
        raise _no_signature(prefix, graph)
    _graph.check_connectors(graph, sig, symbol_path)
    return sig


def _decode(data, path):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MxportError("BAD_SYMBOL_JSON", f"{path} is not UTF-8 text, so not a symbol file") from None


_DTYPE_CODES = {"0": "float32", "1": "float64", "2": "float16", "3": "uint8", "4": "int32", "5": "int8",
                "6": "int64"}
_PARAM_SUFFIXES = ("_weight", "_bias", "_gamma", "_beta", "_moving_mean", "_moving_var", "_running_mean",
                   "_running_var", "_label")


@dataclass
class OldModelHint:
    """What a loader can say about an old model's inputs and epochs, for the message that asks for them."""
    inputs: list  # (name, shape with -1 for the batch or None when unknown, dtype)
    epochs: list  # the NNNN of each <prefix>-NNNN.params on disk, ascending

    @property
    def epoch(self):
        return self.epochs[-1] if self.epochs else None


def epochs_on_disk(prefix):
    found = glob.glob(glob.escape(os.fspath(prefix)) + "-[0-9][0-9][0-9][0-9].params")
    return sorted(int(p[-len("0000.params"):-len(".params")]) for p in found)


def old_model_hint(prefix, graph):
    """The graph's own input variables (those that are not parameters), with the shape and dtype the graph's
    ``__shape__``/``__dtype__`` attributes give, and the epochs whose params files are on disk."""
    epochs = epochs_on_disk(prefix)
    params = set()
    params_path = model_paths(prefix, epochs[-1] if epochs else None)[1]
    if os.path.isfile(params_path):
        try:
            params = set(_mx.params_from_bytes(_read(params_path), params_path))
        except MxportError:
            pass
    inputs = []
    for node in graph["nodes"]:
        attrs, name = node.get("attrs", {}), node["name"]
        if node["op"] != "null" or name in params or name.endswith(_PARAM_SUFFIXES) \
                or "__lr_mult__" in attrs or "__init__" in attrs:
            continue
        shape = None
        try:
            dims = [int(d) for d in attrs["__shape__"].strip("()[] ").split(",") if d.strip()]
            if dims and all(d > 0 for d in dims[1:]):
                shape = tuple([-1] + dims[1:])
        except (KeyError, ValueError):
            pass
        inputs.append((name, shape, _DTYPE_CODES.get(attrs.get("__dtype__"), "float32")))
    return OldModelHint(inputs, epochs)


def old_model_hint_of(prefix):
    """old_model_hint for the model a caller named (for messages that cannot hold the graph)."""
    prefix, _ = resolve_prefix(prefix)
    symbol_path, _ = model_paths(prefix)
    return old_model_hint(prefix, _graph.parse_graph(_decode(_read(symbol_path), symbol_path), symbol_path))


def _spec_text(name, shape, dtype):
    dims = ", ".join(str(d) for d in shape) if shape else "-1, ..."
    return f"TensorSpec({name!r}, ({dims}{',' if shape and len(shape) == 1 else ''}), '{dtype}')"


def _no_signature(prefix, graph):
    hint = old_model_hint(prefix, graph)
    specs = ", ".join(_spec_text(*i) for i in hint.inputs) or "TensorSpec('data', (-1, ...), 'float32')"
    epoch = f", epoch={hint.epoch}" if hint.epoch is not None else ""
    unknown = " (write each input's shape in place of ...)" if any(i[1] is None for i in hint.inputs) or \
        not hint.inputs else ""
    return MxportError("NO_SIGNATURE", f"{model_paths(prefix)[0]} carries no mxport signature: it is an old MXNet "
                       f"model. Load it with inputs=[{specs}]{epoch}{unknown}, or re-export it with mxport.export")


def open_model(prefix, inputs=None, epoch=None):
    """Reads and checks both files (spec section 6, steps 1-3)."""
    prefix, epoch = resolve_prefix(prefix, epoch)
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
        raise _no_signature(prefix, graph)
    specs = _as_specs(inputs, "inputs")
    variables = {n["name"] for n in graph["nodes"] if n["op"] == "null"}
    unknown = [s.name for s in specs if s.name not in variables]
    if unknown:
        raise MxportError("UNKNOWN_INPUT", f"the graph in {symbol_path} has no input {unknown}; its variables "
                          f"are {sorted(variables)}")
    _, params_path = model_paths(prefix, epoch)
    epochs = epochs_on_disk(prefix)
    if epoch is None and epochs and not os.path.lexists(params_path):
        raise MxportError("MODEL_NOT_FOUND", f"{params_path} does not exist, but {model_paths(prefix, epochs[-1])[1]}"
                          f" does: pass epoch={epochs[-1]} (the NNNN of <prefix>-NNNN.params)")
    data = _read(params_path)
    params = _mx.params_from_bytes(data, params_path)
    clash = [s.name for s in specs if s.name in params]
    if clash:
        inputs = [i[0] for i in old_model_hint(prefix, graph).inputs]
        raise MxportError("INVALID_ARGUMENT", f"input {clash[0]!r} is a parameter of the network (an array of "
                          f"{params_path}), not an input: describe the graph's inputs {inputs}")
    symbol = _mx.symbol_from_graph(graph, symbol_path)
    example = {s.name: tuple(1 if d == -1 else d for d in s.shape) for s in specs}
    outputs = _mx.infer_output_specs(symbol, specs, example, symbol.list_outputs(),
                                     [None] * len(symbol.list_outputs()))
    return _Model(graph, Signature(specs, outputs), params, symbol_path, params_path)


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
            image = ("; an image (uint8) feeds the model with its transforms: load it with load_transforms=True"
                     if dtype == "uint8" and spec.dtype.startswith("float") else "")
            raise MxportError("DTYPE_MISMATCH", f"input '{spec.name}' has dtype {dtype} but the model takes "
                              f"{spec.dtype}: convert it to {spec.dtype}, x.astype(np.{spec.dtype}){image}")
        if len(shape) != len(spec.shape) or any(w != -1 and g != w for g, w in zip(shape, spec.shape)):
            raise MxportError("SHAPE_MISMATCH", f"input '{spec.name}' has shape {_fmt(shape)} but the model "
                              f"takes {_fmt(spec.shape)}{_shape_fix(shape, spec.shape)}")
        if shape[0] < 1 or any(d < 1 for d in shape):
            raise MxportError("SHAPE_MISMATCH", f"input '{spec.name}' has shape {_fmt(shape)}: every dimension, "
                              "the batch included, must be at least 1")
        if batch is not None and shape[0] != batch:
            raise MxportError("SHAPE_MISMATCH", f"input '{spec.name}' has batch size {shape[0]} but "
                              f"'{specs[0].name}' has {batch}: all inputs of a call share one batch size")
        batch = shape[0]
    return arrays


def _fits(shape, want):
    return len(shape) == len(want) and all(w == -1 or g == w for g, w in zip(shape, want))


def _shape_fix(shape, want):
    """The likely fix for a shape mismatch: a missing batch axis, or channels on the wrong side."""
    if _fits((1,) + shape, want):
        return ": add the batch axis, x[None] (numpy) or x.expand_dims(0) (NDArray), for a batch of one"
    if len(shape) == 4 and len(want) == 4:
        if _fits((shape[0], shape[3], shape[1], shape[2]), want):
            return (": the array is channels-last (NHWC) and the model takes channels-first (NCHW): use "
                    "x.transpose(0, 3, 1, 2); an image feeds the model with its transforms: load it with "
                    "load_transforms=True")
        if _fits((shape[0], shape[2], shape[3], shape[1]), want):
            return ": the array is channels-first (NCHW) and the model takes channels-last (NHWC): use x.transpose(0, 2, 3, 1)"
    return ""


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
        with _threads.engine_push_lock:  # spec/RUNTIME.md section 5: the CachedOp's push, not the computation
            return super().forward(*arrays)

    def __del__(self):
        with _threads.engine_push_lock:  # freeing the CachedOp pushes too (spec/RUNTIME.md section 5)
            self._cached_op = None


def _context(ctx):
    """The one context a model runs on; a GPU is refused up front when this MXNet build has no CUDA."""
    if ctx is None:
        return mx.cpu()
    if not isinstance(ctx, mx.Context):
        raise MxportError("INVALID_ARGUMENT", f"ctx must be an mx.Context such as mx.cpu(), got {ctx!r:.100}")
    if ctx.device_type != "cpu" and not mx.runtime.Features().is_enabled("CUDA"):
        raise MxportError("INVALID_ARGUMENT", f"context {ctx} is not available: the mxnet=={mx.__version__} wheel "
                          "is CPU-only; use mx.cpu()")
    return ctx


def load(prefix, load_transforms=True, ctx=None, *, inputs=None, epoch=None, engine="mxnet"):
    """Loads a model as a Gluon block (or, with ``engine=``, as a model on ONNX Runtime or OpenVINO).

    >>> block = mxport.load("out/my_model")                       # transforms included
    >>> pixels = np.zeros((1, 64, 64, 3), np.uint8)               # a batch of one 64x64 RGB image
    >>> prob = block(pixels)                                      # numpy or NDArray in, NDArray out
    >>> block.signature                                           # what it takes and gives

    Parameters
    ----------
    prefix : str or path
        The model: ``<prefix>-symbol.json`` and ``<prefix>.params``. The path of either file is accepted too
        (``out/my_model-symbol.json``; ``old/m-0005.params`` also says epoch 5) when no model has that path as
        its prefix.
    load_transforms : bool
        False cuts the graph at its connectors (spec section 5) and gives the network alone, whose
        signature is ``read_signature(prefix).network``.
    ctx : mx.Context, optional
        Where to run; ``mx.cpu()`` when None.
    inputs : list of TensorSpec or dict name -> shape, keyword-only
        Only for an old model (no signature): its input descriptions, named as its graph names its input
        variables, whatever the names (a converter's ``input.1`` or ``0``); the outputs keep MXNet's names
        (``/Softmax_output``). Nothing is renamed (spec/FORMAT.md section 7).
    epoch : int, keyword-only
        Only for an old model whose params file is ``<prefix>-NNNN.params``.
    engine : str, keyword-only
        ``"mxnet"`` (the default, the bit-exact reference), ``"onnxruntime"`` or ``"openvino"``: the model's
        ONNX graph (converted in memory, nothing written; ``prefix`` may also be an ``.onnx`` file written by
        ``export_onnx``) on that engine, within spec/onnx_tolerances.json of MXNet. Needs the extra of that
        name (``pip install 'mxport[onnxruntime]'``). Returns an ``EngineModel``, called like the block.

    Returns
    -------
    MxportBlock
        A hybridized ``gluon.SymbolBlock`` with a ``signature`` attribute. Multiple outputs come as a list.

    Raises
    ------
    MxportError
        With a code of spec/FORMAT.md section 8: ``INVALID_ARGUMENT`` for a GPU context on the CPU-only wheel.
    """
    if engine != "mxnet":
        from ._onnx._engines import load as load_on_engine
        return load_on_engine(prefix, engine, load_transforms, ctx, inputs, epoch)
    ctx = _context(ctx)
    model, signature, symbol = _prepare(prefix, load_transforms, inputs, epoch)
    block = MxportBlock(symbol, signature)
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
        with _threads.engine_push_lock:  # spec/RUNTIME.md section 5
            return super().forward(data_batch, is_train=False)

    def __del__(self):
        with _threads.engine_push_lock:  # freeing the executors pushes too (spec/RUNTIME.md section 5)
            self._exec_group = None


def load_module(prefix, load_transforms=True, ctx=None, *, batch_size=None, data_shapes=None, inputs=None,
                epoch=None):
    """Loads a model as an ``mx.mod.Module`` bound for inference only.

    >>> mod = mxport.load_module("out/my_model", load_transforms=False)    # the network alone, batch 1
    >>> mod.forward(mx.io.DataBatch([mx.nd.zeros((1, 3, 32, 32))]))
    >>> scores = mod.get_outputs()[0]

    The Module is bound at ``batch_size`` (1 when None) along each input's batch dimension; a batch of another
    size re-binds it (MXNet's Module does that itself). ``data_shapes`` (one concrete shape per input, batch
    first) is needed only when an input has dynamic dimensions other than the batch; it then says the batch
    size too, and a ``batch_size`` that differs from it is refused. Each ``DataDesc`` carries the input's
    layout from the signature (None when unknown). Other parameters as in :func:`load`.
    """
    ctx = _context(ctx)
    model, signature, symbol = _prepare(prefix, load_transforms, inputs, epoch)
    if data_shapes is None:
        if any(d == -1 for s in signature.inputs for d in s.shape[1:]):
            raise MxportError("INVALID_ARGUMENT", "an input has dynamic dimensions besides the batch: pass "
                              "data_shapes=[...], one concrete shape per input")
        data_shapes = [(batch_size or 1,) + tuple(s.shape[1:]) for s in signature.inputs]
    if len(data_shapes) != len(signature.inputs):
        raise MxportError("INPUT_COUNT", f"data_shapes has {len(data_shapes)} shapes but the model takes "
                          f"{len(signature.inputs)} inputs")
    batches = sorted({int(shape[0]) for shape in data_shapes if len(shape)})
    if batch_size is not None and batches != [batch_size]:
        raise MxportError("INVALID_ARGUMENT", f"batch_size={batch_size} but data_shapes {list(data_shapes)} say "
                          f"batch {', '.join(map(str, batches))}: give one of them (data_shapes alone binds at "
                          "its own batch)")
    check_inputs(signature, [_Shaped(shape, s.dtype)
                             for shape, s in zip(data_shapes, signature.inputs)])
    mod = MxportModule(symbol, data_names=signature.input_names, label_names=None, context=ctx)
    mod.signature = signature
    # Module reads the batch axis from the layout's 'N' (axis 0 when None): dimension 0 in mxport (spec 2).
    mod.bind(data_shapes=[mx.io.DataDesc(s.name, tuple(shape), np.dtype(s.dtype),
                                         s.layout if s.layout and s.layout[0] == "N" else None)
                          for shape, s in zip(data_shapes, signature.inputs)], for_training=False)
    arg = {n: model.params[n] for n in symbol.list_arguments() if n in model.params}
    aux = {n: model.params[n] for n in symbol.list_auxiliary_states() if n in model.params}
    mod.set_params(arg, aux, allow_missing=False, allow_extra=True)
    return mod


class _Shaped:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype
