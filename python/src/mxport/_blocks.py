"""What mxport.load and mxport.load_module run on MXNet: the Gluon block and the bound Module, over the checked
files of _files (``_load`` imports this only where MXNet is installed)."""

from dataclasses import dataclass

import mxnet as mx
import numpy as np
from mxnet import gluon

from . import _graph, _mx, _threads
from ._errors import MxportError
from ._files import open_files
from ._inputs import check_inputs
from ._signature import Signature


@dataclass
class Model:
    """A model's checked files with its params parsed by MXNet, and its whole signature (an old model's outputs
    inferred from its described inputs)."""

    graph: dict
    signature: Signature  # the whole model's; for an old model, network is None
    params: dict  # name -> NDArray, without the 'arg:'/'aux:' prefixes
    symbol_path: str
    params_path: str

    @property
    def old(self):
        return self.signature.network is None


def open_model(prefix, inputs=None, epoch=None):
    """Reads and checks both files (spec section 6, steps 1-3), then hands the params to MXNet."""
    files = open_files(prefix, inputs, epoch)
    params = _mx.params_from_bytes(files.params_data, files.params_path)
    signature = files.signature
    if files.old:
        symbol = _mx.symbol_from_graph(files.graph, files.symbol_path)
        names = symbol.list_outputs()
        example = {s.name: tuple(1 if d == -1 else d for d in s.shape) for s in files.inputs}
        signature = Signature(
            files.inputs, _mx.infer_output_specs(symbol, files.inputs, example, names, [None] * len(names))
        )
    return Model(files.graph, signature, params, files.symbol_path, files.params_path)


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
        arrays = [
            mx.nd.array(a, dtype=a.dtype) if isinstance(a, np.ndarray) else a
            for a in check_inputs(self.signature, given)
        ]
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
        raise MxportError(
            "INVALID_ARGUMENT",
            f"context {ctx} is not available: the mxnet=={mx.__version__} wheel is CPU-only; use mx.cpu()",
        )
    return ctx


def block(prefix, load_transforms, ctx, inputs, epoch):
    """mxport.load on MXNet."""
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


def module(prefix, load_transforms, ctx, batch_size, data_shapes, inputs, epoch):
    """mxport.load_module."""
    ctx = _context(ctx)
    model, signature, symbol = _prepare(prefix, load_transforms, inputs, epoch)
    if data_shapes is None:
        if any(d == -1 for s in signature.inputs for d in s.shape[1:]):
            raise MxportError(
                "INVALID_ARGUMENT",
                "an input has dynamic dimensions besides the batch: pass "
                "data_shapes=[...], one concrete shape per input",
            )
        data_shapes = [(batch_size or 1,) + tuple(s.shape[1:]) for s in signature.inputs]
    if len(data_shapes) != len(signature.inputs):
        raise MxportError(
            "INPUT_COUNT",
            f"data_shapes has {len(data_shapes)} shapes but the model takes {len(signature.inputs)} inputs",
        )
    batches = sorted({int(shape[0]) for shape in data_shapes if len(shape)})
    if batch_size is not None and batches != [batch_size]:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"batch_size={batch_size} but data_shapes {list(data_shapes)} say "
            f"batch {', '.join(map(str, batches))}: give one of them (data_shapes alone binds at "
            "its own batch)",
        )
    check_inputs(signature, [_Shaped(shape, s.dtype) for shape, s in zip(data_shapes, signature.inputs)])
    mod = MxportModule(symbol, data_names=signature.input_names, label_names=None, context=ctx)
    mod.signature = signature
    # Module reads the batch axis from the layout's 'N' (axis 0 when None): dimension 0 in mxport (spec 2).
    mod.bind(
        data_shapes=[
            mx.io.DataDesc(
                s.name, tuple(shape), np.dtype(s.dtype), s.layout if s.layout and s.layout[0] == "N" else None
            )
            for shape, s in zip(data_shapes, signature.inputs)
        ],
        for_training=False,
    )
    arg = {n: model.params[n] for n in symbol.list_arguments() if n in model.params}
    aux = {n: model.params[n] for n in symbol.list_auxiliary_states() if n in model.params}
    mod.set_params(arg, aux, allow_missing=False, allow_extra=True)
    return mod


class _Shaped:
    def __init__(self, shape, dtype):
        self.shape, self.dtype = tuple(shape), dtype
