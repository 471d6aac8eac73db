"""The loaders: load (a Gluon block on MXNet, or a model on an ONNX engine) and load_module (a bound Module).

MXNet runs in ``_blocks``, imported only where MXNet is installed: without it ``load(..., engine="onnxruntime")``
still runs an ONNX file, and the rest raises LIBRARY_NOT_FOUND naming the fix (spec/RUNTIME.md section 8).
"""

from . import _threads


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
        name (``pip install 'mxport[onnxruntime]'``). Returns an ``EngineModel``, called like the block. Where
        MXNet is not installed, these run ``.onnx`` files (numpy arrays out; spec/RUNTIME.md section 8).

    Returns
    -------
    MxportBlock
        A hybridized ``gluon.SymbolBlock`` with a ``signature`` attribute. Multiple outputs come as a list.

    Raises
    ------
    MxportError
        With a code of spec/FORMAT.md section 8: ``INVALID_ARGUMENT`` for a GPU context on the CPU-only wheel;
        ``LIBRARY_NOT_FOUND`` on the ``mxnet`` engine where MXNet is not installed, naming the fix.
    """
    if engine != "mxnet":
        from ._onnx._engines import load as load_on_engine

        return load_on_engine(prefix, engine, load_transforms, ctx, inputs, epoch)
    _threads.need_mxnet(
        "mxport.load(..., engine='mxnet')",
        (
            "engine",
            "onnxruntime",
            " (or 'openvino') with an ONNX file that mxport.export_onnx wrote where MXNet is installed",
        ),
    )
    from . import _blocks

    return _blocks.block(prefix, load_transforms, ctx, inputs, epoch)


def load_module(prefix, load_transforms=True, ctx=None, *, batch_size=None, data_shapes=None, inputs=None, epoch=None):
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
    _threads.need_mxnet("mxport.load_module")
    from . import _blocks

    return _blocks.module(prefix, load_transforms, ctx, batch_size, data_shapes, inputs, epoch)
