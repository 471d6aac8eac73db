"""export: fuse transforms + network + output transforms into one graph with connectors and a signature."""

import dataclasses
import json

import mxnet as mx
from mxnet import gluon

from . import _graph, _mx, _optimize, _write
from ._errors import MxportError
from ._files import as_specs, read_signature
from ._blocks import open_model
from ._rules import metadata_problem, name_problem
from ._signature import Signature
from ._trace import _symbolic, _trace
from ._version import __version__


def export(
    net,
    prefix,
    *,
    inputs,
    preprocess=None,
    postprocess=None,
    output_names=None,
    layouts=None,
    example_inputs=None,
    overwrite=False,
    labels=None,
    metadata=None,
    optimize="none",
    calibration=None,
    calibration_mode="naive",
    exclude_layers=None,
):
    """Exports a Gluon network with its pre- and post-processing as one mxport model.

    >>> sig = mxport.export(net, "out/my_model",                      # net, pre: as in help(mxport)
    ...                     inputs=[TensorSpec("data", (-1, 64, 64, 3), "uint8", "NHWC")],
    ...                     preprocess=pre, output_names=["prob"],
    ...                     layouts={"prob": "NC", "network:data": "NCHW"})

    Files written (spec/FORMAT.md section 1), both under temporary names first, then renamed into place:

    - ``<prefix>-symbol.json``: the fused graph ``inputs -> preprocess -> batchify connector -> net ->
      no-op connector -> postprocess -> outputs``, with the signature in the ``__mxport_signature__``
      attribute of the first batchify connector. It loads in stock MXNet 1.9.1.
    - ``<prefix>.params``: every parameter of net, preprocess and postprocess, keys ``arg:``/``aux:``.

    Parameters
    ----------
    net : gluon.HybridBlock
        The network, initialised (or trained). Deferred-initialised parameters are completed by one forward
        pass on example inputs.
    prefix : str or path
        Where to write; the folder is created if needed.
    inputs : list of TensorSpec, or dict name -> shape
        The model's inputs, in call order. Dimension 0 is the batch and must be -1. An input must not have
        the name of a parameter. A dict means float32
        with unknown layout, as the MXNet proposal writes it.
    preprocess, postprocess : gluon.HybridBlock, or list of HybridBlock or None
        Transforms per input (per output). A single block applies to a model with one input (output).
    output_names : list of str, or str, optional
        Names of the outputs (a single string names a single output); ``output0``, ``output1``... when None.
    layouts : dict, optional
        Layouts of the outputs (``{"prob": "NC"}``) and of the network alone's tensors
        (``{"network:data": "NCHW"}``). A network tensor with no transforms takes the model tensor's layout.
    example_inputs : list of numpy arrays, optional
        Used to complete deferred initialisation and to infer shapes; zeros of each input's shape (-1 as 1)
        when None. Needed when an input has dynamic dimensions that a transform cannot take as 1.
    overwrite : bool
        Allow writing over files that are not an mxport model (spec section 9). An existing mxport model at
        ``prefix`` is always replaced.
    labels : dict, optional
        Class names per output, ``{"prob": ["tench", "goldfish", ...]}``: one string per index of the output's
        last dimension, which must be fixed. Loaders expose them (``TensorSpec.labels``, ``top_k``).
    metadata : dict, optional
        A small map of strings about the model, e.g. ``{"name": ..., "licence": ..., "source": ...}``
        (``Signature.metadata``). With labels or metadata the signature is format version 2, else 1.
    optimize : {"none", "fused", "int8"}
        How to optimise the network for CPUs (connectors and output transforms are never changed; an input's
        ToTensor + Normalize become one oneDNN convolution, equal within float rounding, spec section 12):
        ``"fused"`` applies oneDNN subgraph fusion (conv + batch norm + activation into one op; fp32, outputs
        within float rounding of the plain graph); ``"int8"`` quantises it to 8-bit integers with MXNet's
        oneDNN quantisation, calibrated on ``calibration``. The signature records it (``optimization``,
        format version 3). The files still load in stock MXNet 1.9.1 and from every mxport language.
    calibration : iterable, optional
        For ``"int8"``: input batches in the model's own input format (what a caller passes to the loaded
        model, e.g. uint8 NHWC images ``[array (N, H, W, 3), ...]``; a list or tuple per batch, or a dict
        by name, when the model has several inputs). They run through the transforms, then the fp32 network,
        whose layer outputs set the 8-bit ranges. Use a few hundred samples like those the model will see,
        not the ones you evaluate on.
    calibration_mode : {"naive", "entropy"}
        ``"naive"`` (default) takes each layer's observed min and max; ``"entropy"`` clips each range where
        the KL divergence to the fp32 histogram is lowest (benchmarks/RESULTS.md compares both).
    exclude_layers : list of str, optional
        For ``"int8"``: names of network nodes to keep in fp32 (the node names of the fp32 model's symbol
        file, e.g. the first convolution), when quantising them costs too much accuracy.

    Returns
    -------
    Signature
        The signature written, ``network`` included.

    Raises
    ------
    MxportError
        ``INVALID_ARGUMENT`` for bad arguments, ``TARGET_EXISTS`` when the target holds foreign files.
    """
    _write.check_prefix(prefix)
    exclude_layers = _optimize.check_arguments(optimize, calibration, calibration_mode, exclude_layers)
    specs = _input_specs(inputs)
    if not isinstance(net, gluon.HybridBlock):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"net must be a gluon.HybridBlock, got {type(net).__name__}; a plain Block cannot become a graph",
        )
    traced = _trace(net, specs, preprocess, postprocess, output_names, example_inputs)
    graph, signature, values = _join(net, traced, dict(layouts or {}), labels, metadata)
    if optimize != "none":
        graph, values, record = _optimize.optimize_model(
            graph, signature, values, optimize, calibration, calibration_mode, exclude_layers
        )
        signature = dataclasses.replace(signature, optimization=record)
    _write.write_atomically(prefix, graph, values, signature, overwrite)
    return read_signature(prefix)


def _input_specs(inputs):
    """The input specs, each named by the name rule and taking any batch size (spec section 2)."""
    specs = as_specs(inputs, "inputs")
    for s in specs:
        problem = name_problem(s.name)
        if problem:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"input {problem}: an mxport model's names follow the spec's "
                "name rule; give the input such a name (the network's own input names, e.g. an old "
                "model's, do not matter: export feeds the network by position)",
            )
    fixed = [s for s in specs if s.shape[0] != -1]
    if fixed:
        s = fixed[0]
        raise MxportError(
            "INVALID_ARGUMENT",
            f"input '{s.name}' has a fixed batch of {s.shape[0]} "
            f"(shape {list(s.shape)}): dimension 0 is the batch, and an mxport model takes any "
            f"batch size: write -1 there, e.g. TensorSpec('{s.name}', {(-1,) + tuple(s.shape[1:])}, "
            f"'{s.dtype}')",
        )
    return specs


def _join(net, traced, layouts, labels, metadata):
    """The fused graph (inputs, preprocess, batchify connectors, net, no-op connectors, postprocess), its
    signature by shape and type inference, and the parameter values; the graph as a dict from here on."""
    specs, names = traced.specs, traced.names
    connectors_in = []
    for s, p in zip(specs, traced.pre):
        v = mx.sym.var(s.name)
        t = _symbolic(p, v, f"preprocess of input '{s.name}'") if p is not None else v
        connectors_in.append(
            mx.sym.identity(
                t,
                name=f"mxport_batchify_{s.name}",
                attr={_graph.CONNECTOR_ATTR: _graph.BATCHIFY, _graph.PORT_ATTR: s.name},
            )
        )
    y = _symbolic(net, connectors_in, "the network")
    ys = list(y) if isinstance(y, (list, tuple)) else [y]
    heads, connectors_out = [], []
    for name, p, yj in zip(names, traced.post, ys):
        c = mx.sym.identity(
            yj, name=f"mxport_noop_{name}", attr={_graph.CONNECTOR_ATTR: _graph.NOOP, _graph.PORT_ATTR: name}
        )
        connectors_out.append(c)
        heads.append(_symbolic(p, c, f"postprocess of output '{name}'") if p is not None else c)
    fused = mx.sym.Group(heads)
    signature = _sign(fused, connectors_in, connectors_out, traced, layouts, labels, metadata)
    arg_names = set(fused.list_arguments()) - {s.name for s in specs}
    aux_names = set(fused.list_auxiliary_states())
    missing = sorted((arg_names | aux_names) - set(traced.params))
    if missing:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"the graph needs variables that are neither inputs nor parameters: {missing}; list every input in inputs=",
        )
    values = {
        n: traced.params[n].data(traced.params[n].list_ctx()[0]).copyto(mx.cpu()) for n in sorted(arg_names | aux_names)
    }
    return json.loads(fused.tojson()), signature, values


def _sign(fused, connectors_in, connectors_out, traced, layouts, labels, metadata):
    """The signature of the fused graph and of the network alone, by inference at the example shapes."""
    specs, names = traced.specs, traced.names
    shapes = {s.name: tuple(x.shape) for s, x in zip(specs, traced.examples)}
    out_specs = _mx.infer_output_specs(fused, specs, shapes, names, [layouts.get(n) for n in names])
    net_in = _mx.infer_output_specs(
        mx.sym.Group(connectors_in),
        specs,
        shapes,
        [s.name for s in specs],
        [layouts.get("network:" + s.name, s.layout if p is None else None) for s, p in zip(specs, traced.pre)],
    )
    net_out = _mx.infer_output_specs(
        mx.sym.Group(connectors_out),
        specs,
        shapes,
        names,
        [layouts.get("network:" + n, layouts.get(n) if p is None else None) for n, p in zip(names, traced.post)],
    )
    unknown = set(layouts) - set(names) - {"network:" + s.name for s in specs} - {"network:" + n for n in names}
    if unknown:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"layouts names {sorted(unknown)}, which are neither outputs "
            f"{names} nor network tensors {['network:' + s.name for s in specs]}",
        )
    out_specs = _with_labels(out_specs, labels)
    metadata = dict(metadata or {})
    problem = metadata_problem(metadata)
    if problem:
        raise MxportError("INVALID_ARGUMENT", problem)
    return Signature(
        specs,
        out_specs,
        Signature(net_in, net_out),
        None,
        None,
        {"name": "mxport", "version": __version__, "mxnet_version": mx.__version__},
        metadata,
    )


def optimize(source, prefix, kind, *, calibration=None, calibration_mode="naive", exclude_layers=None, overwrite=False):
    """Writes an optimised copy of an mxport model: ``export(..., optimize=...)`` for a model already on disk.

    >>> sig = mxport.optimize("out/my_model", "out/my_model-int8", "int8",
    ...                       calibration=[np.random.randint(0, 256, (8, 64, 64, 3)).astype(np.uint8)])
    >>> sig.optimization["kind"]
    'int8'

    ``source`` is an fp32 mxport model (not an old model, not one optimised already); ``prefix`` is where the
    copy goes (``mxport optimize`` on the command line does the same); ``kind`` is ``"fused"`` or ``"int8"``,
    as :func:`export`'s ``optimize``. The copy keeps the source's signature, labels and metadata, and adds
    ``optimization``. The other parameters are :func:`export`'s.
    """
    _write.check_prefix(prefix)
    exclude_layers = _optimize.check_arguments(kind, calibration, calibration_mode, exclude_layers)
    if kind == "none":
        raise MxportError(
            "INVALID_ARGUMENT",
            "optimize='none' would copy the model unchanged: give 'fused' or 'int8' (or copy the two files)",
        )
    model = open_model(source)
    if model.signature.optimization is not None:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"{model.symbol_path} is already optimised "
            f"({model.signature.optimization['kind']}): optimise the fp32 model it came from",
        )
    graph, values, record = _optimize.optimize_model(
        model.graph, model.signature, model.params, kind, calibration, calibration_mode, exclude_layers
    )
    signature = dataclasses.replace(
        model.signature,
        optimization=record,
        producer={"name": "mxport", "version": __version__, "mxnet_version": mx.__version__},
    )
    _write.write_atomically(prefix, graph, values, signature, overwrite)
    return read_signature(prefix)


def _with_labels(out_specs, labels):
    if labels is None:
        return out_specs
    if not isinstance(labels, dict):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"labels must be a dict of output name -> list of class names, got {type(labels).__name__}",
        )
    names = [s.name for s in out_specs]
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise MxportError("INVALID_ARGUMENT", f"labels names {unknown}, which are not outputs {names}")
    return [dataclasses.replace(s, labels=labels[s.name]) if s.name in labels else s for s in out_specs]
