"""Graph optimisation at export: oneDNN subgraph fusion ("fused") and 8-bit quantisation ("int8").

MXNet's oneDNN passes rewrite the network only. They drop ``_copy`` nodes (the connectors of spec section 4)
and would fold transforms into the network, so the fused graph is cut at its connectors (spec section 5),
the network alone goes through MXNet's passes, and the pieces are joined again: connectors and output
transforms stay what the fp32 export wrote, and ``load_transforms=False`` still gives the network alone. In
the input transforms, a ToTensor (with the Normalize after it) becomes one oneDNN convolution (spec section
12, "Folded image transforms"); everything else in them stays as written.
"""

import json

import mxnet as mx
import numpy as np

from . import _fold, _graph, _mx
from ._errors import MxportError, native_message
from ._inputs import check_inputs
from ._rules import CALIBRATION_MODES

KINDS = ("none", "fused", "int8")
# Operators that int8 models keep in fp32. MXNet 1.9.1 (the wheel) quantises a dense layer's bias offline to
# int8; 1.9.0 (ai.djl.mxnet:mxnet-native-mkl, the library the JVM bundles) expects int32 there, so a quantised
# FullyConnected written by one cannot run on the other. Convolutions quantise their weights inside the fused op
# at the first call, from the fp32 weights in the params file, and run the same on both.
FP32_OPS = ["FullyConnected", "_sg_mkldnn_fully_connected"]  # the latter: its fused form
BACKEND = "MKLDNN"  # oneDNN; MXNet 1.x still calls it MKLDNN
QUANTIZE_BACKEND = "MKLDNN_QUANTIZE"


def check_arguments(optimize, calibration, calibration_mode, exclude_layers):
    """Checks export's optimisation arguments before any work; returns exclude_layers as a list."""
    if optimize not in KINDS:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"optimize={optimize!r}: give one of {list(KINDS)} ('fused': "
            "oneDNN fusion, fp32; 'int8': quantised with calibration data)",
        )
    if optimize == "int8":
        if calibration is None:
            raise MxportError(
                "INVALID_ARGUMENT",
                "optimize='int8' needs calibration=: a list (or iterable) of "
                "input batches in the model's own input format, e.g. [uint8 array of shape "
                "(N, H, W, 3), ...]; a few hundred samples like those the model will see",
            )
        if calibration_mode not in CALIBRATION_MODES:
            raise MxportError(
                "INVALID_ARGUMENT", f"calibration_mode={calibration_mode!r}: give one of {list(CALIBRATION_MODES)}"
            )
        if calibration_mode == "entropy":
            try:
                import scipy.stats  # noqa: F401  (MXNet's entropy thresholds use it)
            except ImportError:
                raise MxportError(
                    "INVALID_ARGUMENT",
                    "calibration_mode='entropy' needs scipy, which is not "
                    "installed: pip install 'scipy<1.12' (numpy stays below 1.24), or use "
                    "calibration_mode='naive'",
                ) from None
    elif calibration is not None or exclude_layers:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"calibration= and exclude_layers= apply to optimize='int8' only, not to optimize={optimize!r}",
        )
    if exclude_layers is None:
        return []
    if isinstance(exclude_layers, str) or not all(isinstance(x, str) for x in exclude_layers):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"exclude_layers must be a list of node names of the network, got {exclude_layers!r:.200}",
        )
    return list(exclude_layers)


def optimize_model(graph, signature, params, optimize, calibration, calibration_mode, exclude_layers):
    """The optimised fused graph and its params, and the signature's ``optimization`` record.

    ``graph`` is an mxport fused graph (dict) with ``signature``; ``params`` maps names to NDArrays.
    Returns ``(graph, params, optimization)``.
    """
    net_graph = _network_without_connectors(graph, signature)
    net_symbol = _mx.symbol_from_graph(net_graph, "the network")  # the one conversion in: MXNet's passes
    net_params = _graph_params(net_graph, params)
    if optimize == "fused":
        try:
            optimised = net_symbol.get_backend_symbol(BACKEND)
        except mx.base.MXNetError as e:
            raise MxportError("NATIVE_ERROR", f"oneDNN fusion failed: {native_message(e)}") from None
        new_params = net_params
        record = {"kind": "fused", "backend": BACKEND}
    else:
        optimised, new_params, samples = _quantize(
            graph,
            signature,
            params,
            net_graph,
            net_symbol,
            net_params,
            calibration,
            calibration_mode,
            list(exclude_layers),
        )
        record = {
            "kind": "int8",
            "backend": BACKEND,
            "calibration_mode": calibration_mode,
            "calibration_samples": samples,
            "excluded_layers": list(exclude_layers),
        }
    joined, fold_params = join(graph, signature, json.loads(optimised.tojson()))  # the one conversion out
    kept = {n["name"] for n in joined["nodes"] if n["op"] == "null"} - set(signature.input_names)
    all_params = dict(params)
    all_params.update(new_params)
    all_params.update(fold_params)
    return joined, {k: v for k, v in all_params.items() if k in kept}, record


def _network_without_connectors(graph, signature):
    """The network alone (spec section 5) with its heads moved from the no-op connectors to what they copy."""
    cut = _graph.cut_network(graph, signature)
    heads = [cut["nodes"][h[0]]["inputs"][0] for h in cut["heads"]]
    return _graph.reduce_to(cut, heads)


def _graph_params(graph, params):
    names = {n["name"] for n in graph["nodes"] if n["op"] == "null"}
    return {k: v for k, v in params.items() if k in names}


def _quantize(graph, signature, params, net_graph, net_symbol, net_params, calibration, mode, exclude):
    from mxnet.contrib import quantization as q

    nodes = {n["name"] for n in net_graph["nodes"] if n["op"] != "null"}
    unknown = [x for x in exclude if x not in nodes]
    if unknown:
        layers = [n["name"] for n in net_graph["nodes"] if n["op"] in ("Convolution", "FullyConnected")]
        raise MxportError(
            "INVALID_ARGUMENT",
            f"exclude_layers names {unknown}, which are not nodes of the "
            f"network; its convolution and dense layers are {layers[:6]}"
            f"{' ... ' + repr(layers[-2:]) if len(layers) > 6 else ''} (mxport inspect does not "
            "list nodes: read them from the fp32 model's -symbol.json)",
        )
    arg_names = set(net_symbol.list_arguments())
    aux_names = set(net_symbol.list_auxiliary_states())
    args = {k: v for k, v in net_params.items() if k in arg_names}
    aux = {k: v for k, v in net_params.items() if k in aux_names}
    fp32 = net_symbol.get_backend_symbol(QUANTIZE_BACKEND)
    try:
        qsym, qargs, qaux, collector = q.quantize_graph(
            fp32,
            args,
            aux,
            ctx=mx.cpu(),
            excluded_sym_names=exclude,
            excluded_op_names=FP32_OPS,
            calib_mode=mode,
            quantized_dtype="auto",
            quantize_mode="full",
            quantize_granularity="tensor-wise",
        )
    except mx.base.MXNetError as e:
        raise MxportError("NATIVE_ERROR", f"quantisation failed: {native_message(e)}") from None
    samples = _calibrate(graph, signature, params, fp32, args, aux, collector, calibration)
    qsym, qargs, qaux = q.calib_graph(qsym, args, aux, collector, calib_mode=mode, quantized_dtype="auto", logger=None)
    qsym = qsym.get_backend_symbol(QUANTIZE_BACKEND)
    out = dict(qargs)
    out.update(qaux)
    return qsym, out, samples


def _batches(calibration, signature):
    """The caller's calibration batches, each checked against the model's inputs, as lists of NDArrays."""
    try:
        iterator = iter(calibration)
    except TypeError:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"calibration must be a list or iterable of input batches, got {type(calibration).__name__}",
        ) from None
    for batch in iterator:
        if len(signature.inputs) == 1 and not isinstance(batch, (list, tuple, dict)):
            batch = [batch]
        arrays = check_inputs(signature, batch)
        yield [mx.nd.array(a, dtype=a.dtype) if isinstance(a, np.ndarray) else a for a in arrays]


def _calibrate(graph, signature, params, fp32, args, aux, collector, calibration):
    """Runs each calibration batch through the input transforms, then the fp32 network with the collector
    watching every layer output; returns the number of samples seen."""
    transforms = []
    for spec in signature.inputs:
        g = _graph.cut_input_transforms(graph, spec.name)
        sym = _mx.symbol_from_graph(g, "the transforms")
        block = mx.gluon.SymbolBlock(sym, [mx.sym.var(spec.name, dtype=spec.dtype)])
        block.collect_params().load_dict(_graph_params(g, params), ctx=mx.cpu(), allow_missing=False, ignore_extra=True)
        transforms.append(block)
    executors = {}
    samples = 0
    names = signature.input_names
    for batch in _batches(calibration, signature):
        features = [t(x) for t, x in zip(transforms, batch)]
        key = tuple(f.shape for f in features)
        exe = executors.get(key)
        if exe is None:
            exe = fp32.simple_bind(
                mx.cpu(),
                grad_req="null",
                type_dict={n: f.dtype for n, f in zip(names, features)},
                **{n: f.shape for n, f in zip(names, features)},
            )
            exe.copy_params_from(args, aux, allow_extra_params=True)
            exe.set_monitor_callback(collector.collect, monitor_all=True)
            executors[key] = exe
        exe.forward(is_train=False, **dict(zip(names, features)))
        for out in exe.outputs:
            out.wait_to_read()
        samples += int(features[0].shape[0])
    if samples == 0:
        raise MxportError("INVALID_ARGUMENT", "calibration gave no batch: pass at least one input batch")
    return samples


def join(graph, signature, network):
    """The fused graph with its network replaced: ``network`` takes a variable per input port and gives one
    head per output, in signature order. The connectors and output transforms of ``graph`` stay as they are;
    the input transforms are folded (``fold_image_transforms``). Returns ``(graph, params of the folds)``."""
    nodes = []
    variables = {}

    def append(sub, bound):
        """Appends sub's nodes; its variables named in ``bound`` become those entries, other variables are
        shared by name. Returns sub's heads as entries of the new graph."""
        index = {}
        for i, node in enumerate(sub["nodes"]):
            if node["op"] == "null":
                if node["name"] in bound:
                    index[i] = bound[node["name"]]
                    continue
                if node["name"] not in variables:
                    variables[node["name"]] = [len(nodes), 0, 0]
                    nodes.append(dict(node))
                index[i] = variables[node["name"]]
                continue
            new = dict(node)
            new["inputs"] = [_graph.remap(index[r[0]], r) for r in node.get("inputs", [])]
            index[i] = [len(nodes), 0, 0]
            nodes.append(new)
        return [_graph.remap(index[h[0]], h) for h in sub["heads"]]

    batchify = {}
    fold_params = {}
    for spec in signature.inputs:
        transforms, folds = _fold.fold_image_transforms(_graph.cut_input_transforms(graph, spec.name), spec)
        fold_params.update(folds)
        batchify[spec.name] = append(transforms, {})[0]
    net_heads = append(network, batchify)
    if len(net_heads) != len(signature.outputs):
        raise MxportError(
            "NATIVE_ERROR", f"the optimised network has {len(net_heads)} outputs, the model {len(signature.outputs)}"
        )
    noop = _graph.connectors(graph, _graph.NOOP)
    heads = []
    for spec, entry in zip(signature.outputs, net_heads):
        connector = dict(graph["nodes"][noop[spec.name]])
        connector["inputs"] = [entry]
        nodes.append(connector)
        out = _graph.cut_output_transforms(graph, signature, spec.name)
        heads.append(append(out, {spec.name: [len(nodes) - 1, 0, 0]})[0])
    result = {"nodes": nodes, "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"], "heads": heads}
    if "attrs" in graph:
        result["attrs"] = graph["attrs"]
    return result, fold_params
