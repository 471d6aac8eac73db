"""export: fuse transforms + network + output transforms into one graph with connectors and a signature."""

import dataclasses
import hashlib
import json
import os
import tempfile

import mxnet as mx
import numpy as np
from mxnet import gluon

from . import _graph, _mx, _optimize
from ._errors import MxportError, native_message
from ._load import _as_specs, check_inputs, model_paths, open_model, read_signature
from ._signature import Signature, TensorSpec, metadata_problem, name_problem
from ._version import __version__


def export(net, prefix, *, inputs, preprocess=None, postprocess=None, output_names=None, layouts=None,
           example_inputs=None, overwrite=False, labels=None, metadata=None, optimize="none", calibration=None,
           calibration_mode="naive", exclude_layers=None):
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
    _check_prefix(prefix)
    exclude_layers = _optimize.check_arguments(optimize, calibration, calibration_mode, exclude_layers)
    specs = _as_specs(inputs, "inputs")
    for s in specs:
        problem = name_problem(s.name)
        if problem:
            raise MxportError("INVALID_ARGUMENT", f"input {problem}: an mxport model's names follow the spec's "
                              "name rule; give the input such a name (the network's own input names, e.g. an old "
                              "model's, do not matter: export feeds the network by position)")
    fixed = [s for s in specs if s.shape[0] != -1]
    if fixed:
        s = fixed[0]
        raise MxportError("INVALID_ARGUMENT", f"input '{s.name}' has a fixed batch of {s.shape[0]} "
                          f"(shape {list(s.shape)}): dimension 0 is the batch, and an mxport model takes any "
                          f"batch size: write -1 there, e.g. TensorSpec('{s.name}', {(-1,) + tuple(s.shape[1:])}, "
                          f"'{s.dtype}')")
    if isinstance(output_names, str):
        output_names = [output_names]  # one output's name, not a sequence of one-letter names
    if not isinstance(net, gluon.HybridBlock):
        raise MxportError("INVALID_ARGUMENT", f"net must be a gluon.HybridBlock, got {type(net).__name__}; "
                          "a plain Block cannot become a graph")
    pre = _per_port(preprocess, len(specs), "preprocess", "input")
    layouts = dict(layouts or {})
    examples = _examples(specs, example_inputs)

    # 1. one imperative pass: completes deferred initialisation and counts the outputs
    try:
        features = [p(x) if p is not None else x for p, x in zip(pre, examples)]
        raw = net(*features)
    except Exception as e:  # Gluon reports uninitialised parameters and bad shapes with several types
        raise MxportError("INVALID_ARGUMENT", f"the network does not run on the example inputs "
                          f"{[x.shape for x in examples]}: {type(e).__name__}: {e}") from None
    n_out = len(raw) if isinstance(raw, (list, tuple)) else 1
    post = _per_port(postprocess, n_out, "postprocess", "output")
    names = list(output_names) if output_names is not None else [f"output{j}" for j in range(n_out)]
    if len(names) != n_out or len(set(names)) != n_out:
        raise MxportError("INVALID_ARGUMENT", f"output_names {names} must name the network's {n_out} "
                          "output(s), each once")
    for n in names:
        problem = name_problem(n)
        if problem:
            raise MxportError("INVALID_ARGUMENT", f"output {problem}: an mxport model's names follow the spec's "
                              "name rule; give output_names=[...] such names, e.g. output_names=['prob']")
    outputs = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    try:
        for p, y in zip(post, outputs):
            if p is not None:
                p(y)
    except Exception as e:
        raise MxportError("INVALID_ARGUMENT", f"postprocess does not run on the network's outputs: "
                          f"{type(e).__name__}: {e}") from None

    # 2. the fused graph
    params = {}
    for block in [net] + [p for p in pre + post if p is not None]:
        for param in block.collect_params().values():
            params[param.name] = param
    clash = [s.name for s in specs if s.name in params]
    if clash:
        raise MxportError("INVALID_ARGUMENT", f"input '{clash[0]}' has the name of a parameter of the network "
                          "(the two would become one variable of the graph): give the input another name")
    variables = [mx.sym.var(s.name) for s in specs]
    connectors_in = []
    for s, p, v in zip(specs, pre, variables):
        t = _symbolic(p, v, f"preprocess of input '{s.name}'") if p is not None else v
        connectors_in.append(mx.sym.identity(t, name=f"mxport_batchify_{s.name}", attr={
            _graph.CONNECTOR_ATTR: _graph.BATCHIFY, _graph.PORT_ATTR: s.name}))
    y = _symbolic(net, connectors_in, "the network")
    ys = list(y) if isinstance(y, (list, tuple)) else [y]
    heads, connectors_out = [], []
    for name, p, yj in zip(names, post, ys):
        c = mx.sym.identity(yj, name=f"mxport_noop_{name}", attr={
            _graph.CONNECTOR_ATTR: _graph.NOOP, _graph.PORT_ATTR: name})
        connectors_out.append(c)
        heads.append(_symbolic(p, c, f"postprocess of output '{name}'") if p is not None else c)
    fused = mx.sym.Group(heads)

    # 3. the signature, by shape and type inference
    shapes = {s.name: tuple(x.shape) for s, x in zip(specs, examples)}
    out_specs = _mx.infer_output_specs(fused, specs, shapes, names, [layouts.get(n) for n in names])
    net_in = _mx.infer_output_specs(mx.sym.Group(connectors_in), specs, shapes, [s.name for s in specs], [
        layouts.get("network:" + s.name, s.layout if p is None else None) for s, p in zip(specs, pre)])
    net_out = _mx.infer_output_specs(mx.sym.Group(connectors_out), specs, shapes, names, [
        layouts.get("network:" + n, layouts.get(n) if p is None else None) for n, p in zip(names, post)])
    unknown = set(layouts) - set(names) - {"network:" + s.name for s in specs} - {"network:" + n for n in names}
    if unknown:
        raise MxportError("INVALID_ARGUMENT", f"layouts names {sorted(unknown)}, which are neither outputs "
                          f"{names} nor network tensors {['network:' + s.name for s in specs]}")
    out_specs = _with_labels(out_specs, labels)
    metadata = dict(metadata or {})
    problem = metadata_problem(metadata)
    if problem:
        raise MxportError("INVALID_ARGUMENT", problem)

    # 4. the params, then the symbol carrying the params' digest
    arg_names = set(fused.list_arguments()) - {s.name for s in specs}
    aux_names = set(fused.list_auxiliary_states())
    missing = sorted((arg_names | aux_names) - set(params))
    if missing:
        raise MxportError("INVALID_ARGUMENT", f"the graph needs variables that are neither inputs nor "
                          f"parameters: {missing}; list every input in inputs=")
    values = {n: params[n].data(params[n].list_ctx()[0]).copyto(mx.cpu()) for n in sorted(arg_names | aux_names)}
    signature = Signature(specs, out_specs, Signature(net_in, net_out), None, None,
                          {"name": "mxport", "version": __version__, "mxnet_version": mx.__version__}, metadata)
    graph = json.loads(fused.tojson())
    if optimize != "none":
        graph, values, record = _optimize.optimize_model(graph, signature, values, optimize, calibration,
                                                         calibration_mode, exclude_layers)
        signature = dataclasses.replace(signature, optimization=record)
    _write_atomically(prefix, graph, _optimize.params_file_arrays(graph, values), signature, overwrite)
    return read_signature(prefix)


def optimize(source, prefix, kind, *, calibration=None, calibration_mode="naive", exclude_layers=None,
             overwrite=False):
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
    _check_prefix(prefix)
    exclude_layers = _optimize.check_arguments(kind, calibration, calibration_mode, exclude_layers)
    if kind == "none":
        raise MxportError("INVALID_ARGUMENT", "optimize='none' would copy the model unchanged: give 'fused' or "
                          "'int8' (or copy the two files)")
    model = open_model(source)
    if model.signature.optimization is not None:
        raise MxportError("INVALID_ARGUMENT", f"{model.symbol_path} is already optimised "
                          f"({model.signature.optimization['kind']}): optimise the fp32 model it came from")
    graph, values, record = _optimize.optimize_model(model.graph, model.signature, model.params, kind,
                                                     calibration, calibration_mode, exclude_layers)
    signature = dataclasses.replace(model.signature, optimization=record,
                                    producer={"name": "mxport", "version": __version__,
                                              "mxnet_version": mx.__version__})
    _write_atomically(prefix, graph, _optimize.params_file_arrays(graph, values), signature, overwrite)
    return read_signature(prefix)


def _with_labels(out_specs, labels):
    if labels is None:
        return out_specs
    if not isinstance(labels, dict):
        raise MxportError("INVALID_ARGUMENT", f"labels must be a dict of output name -> list of class names, "
                          f"got {type(labels).__name__}")
    names = [s.name for s in out_specs]
    unknown = sorted(set(labels) - set(names))
    if unknown:
        raise MxportError("INVALID_ARGUMENT", f"labels names {unknown}, which are not outputs {names}")
    return [dataclasses.replace(s, labels=labels[s.name]) if s.name in labels else s for s in out_specs]


def _check_prefix(prefix):
    if not isinstance(prefix, (str, os.PathLike)) or not os.fspath(prefix):
        raise MxportError("INVALID_ARGUMENT", f"prefix must be a path such as 'out/my_model', got {prefix!r}")
    for suffix in ("-symbol.json", ".params"):
        if os.fspath(prefix).endswith(suffix):
            raise MxportError("INVALID_ARGUMENT", f"prefix {os.fspath(prefix)!r} ends with {suffix}: drop the "
                              f"{suffix} suffix; export writes <prefix>-symbol.json and <prefix>.params")


def _symbolic(block, x, what):
    """``block`` applied to symbols, or an error naming the block and why it cannot become a graph."""
    try:
        return block(*x) if isinstance(x, list) else block(x)
    except Exception as e:  # AttributeError (asnumpy), NotImplementedForSymbol (shape), TypeError (branches)...
        reason = f"{type(e).__name__}: {native_message(e)}"
        raise MxportError("INVALID_ARGUMENT", f"{what} ({type(block).__name__}) cannot be hybridized into a graph "
                          f"({reason[:300]}): its hybrid_forward must use only F.* operators, with no .asnumpy(), "
                          "no x.shape and no Python branch on values") from None


def _per_port(blocks, count, what, port):
    if blocks is None:
        return [None] * count
    if not isinstance(blocks, (list, tuple)):
        if count != 1:
            raise MxportError("INVALID_ARGUMENT", f"the model has {count} {port}s: give {what} as a list with "
                              f"one HybridBlock or None per {port}")
        blocks = [blocks]
    if len(blocks) != count:
        raise MxportError("INVALID_ARGUMENT", f"{what} has {len(blocks)} entries but the model has {count} "
                          f"{port}s")
    for b in blocks:
        if b is not None and not isinstance(b, gluon.HybridBlock):
            raise MxportError("INVALID_ARGUMENT", f"{what} entries must be gluon.HybridBlock or None, got "
                              f"{type(b).__name__}; wrap plain functions in gluon.nn.HybridLambda")
    return list(blocks)


def _examples(specs, example_inputs):
    if example_inputs is None:
        return [mx.nd.zeros(tuple(1 if d == -1 else d for d in s.shape), dtype=s.dtype) for s in specs]
    if len(example_inputs) != len(specs):
        raise MxportError("INVALID_ARGUMENT", f"example_inputs has {len(example_inputs)} arrays for "
                          f"{len(specs)} inputs")
    check_inputs(Signature(specs, specs), example_inputs)
    return [mx.nd.array(x, dtype=x.dtype) if isinstance(x, np.ndarray) else x for x in example_inputs]


BACKUP_SUFFIX = ".mxport-backup"


def _write_atomically(prefix, graph, arrays, signature, overwrite):
    symbol_path, params_path = model_paths(prefix)
    folder = os.path.dirname(os.path.abspath(symbol_path))
    os.makedirs(folder, exist_ok=True)
    if not overwrite:
        _refuse_foreign(symbol_path, params_path)
    mode = 0o666 & ~_umask()  # mkstemp makes 0600 files; a model is shared like any file the user writes
    tmp_params = tmp_symbol = None
    try:
        fd, tmp_params = tempfile.mkstemp(prefix=".mxport-", suffix=".params.tmp", dir=folder)
        os.close(fd)
        mx.nd.save(tmp_params, arrays)
        with open(tmp_params, "rb") as f:
            data = f.read()
        signature = dataclasses.replace(signature, params_sha256=hashlib.sha256(data).hexdigest(),
                                        params_size=len(data))
        first = _graph.connectors(graph, _graph.BATCHIFY)[signature.inputs[0].name]
        graph["nodes"][first].setdefault("attrs", {})[_graph.SIGNATURE_ATTR] = signature.to_json()
        fd, tmp_symbol = tempfile.mkstemp(prefix=".mxport-", suffix="-symbol.json.tmp", dir=folder)
        with os.fdopen(fd, "w") as f:
            json.dump(graph, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp_params, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_params, mode)
        os.chmod(tmp_symbol, mode)
        # The symbol file is the commit point. The old files step aside as backups first, so that at every
        # instant the prefix holds the old model whole, no model, or the new model whole; never new params
        # beside an old symbol. A kill in between leaves the backups, which the loader's error names.
        backups = [(path, path + BACKUP_SUFFIX) for path in (symbol_path, params_path)]
        for path, backup in backups:
            if os.path.lexists(path):
                os.replace(path, backup)
        os.replace(tmp_params, params_path)
        tmp_params = None
        os.replace(tmp_symbol, symbol_path)
        tmp_symbol = None
        for _, backup in backups:
            if os.path.lexists(backup):
                os.unlink(backup)
    finally:
        for t in (tmp_params, tmp_symbol):
            if t is not None and os.path.exists(t):
                os.unlink(t)


def _umask():
    try:  # Linux says it without changing it; os.umask() can only read by setting, which races other threads
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def _refuse_foreign(symbol_path, params_path):
    def is_mxport(path):
        """A symbol file with a node that carries the signature attribute, valid or not."""
        try:
            with open(path, "rb") as f:
                graph = _graph.parse_graph(f.read().decode("utf-8"), path)
        except (OSError, UnicodeDecodeError, MxportError):
            return False
        return any(_graph.SIGNATURE_ATTR in n.get("attrs", {}) for n in graph["nodes"])

    if os.path.lexists(symbol_path) and not is_mxport(symbol_path):
        raise MxportError("TARGET_EXISTS", f"{symbol_path} exists and is not an mxport model; choose another "
                          "prefix, or pass overwrite=True to replace it")
    ours = is_mxport(symbol_path) or is_mxport(symbol_path + BACKUP_SUFFIX)  # the backup: an interrupted export
    if os.path.lexists(params_path) and not ours:
        raise MxportError("TARGET_EXISTS", f"{params_path} exists without an mxport symbol file beside it; "
                          "choose another prefix, or pass overwrite=True to replace it")
