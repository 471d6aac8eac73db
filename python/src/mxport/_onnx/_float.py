"""The fp32 graph of an optimised model (spec/FORMAT.md section 12), recovered from the optimised graph itself.

MXNet's oneDNN passes keep what they replaced: a fused operator (``_sg_mkldnn_conv``, ...) carries the fp32
operators it stands for as its subgraph, fed by its inputs in order; a quantised operator
(``_contrib_quantized_<op>``) takes the fp32 operator's inputs followed by the ranges (min, max) of its
quantised inputs, and gives its output followed by its range; ``_contrib_quantize_v2``/``dequantize``/
``requantize`` only change the representation. The params file keeps every fp32 weight (convolutions quantise
theirs inside the fused operator at the first call). So inlining the subgraphs, dropping the range tensors and
the (de)quantisation, and renaming the quantised operators gives the network MXNet optimised, weight for weight.
The folded image transforms (Cast, expand_dims, Reshape, Convolution) are stock operators and stay.
"""

from .._errors import MxportError

_PASS_THROUGH = ("_contrib_quantize_v2", "_contrib_quantize", "_contrib_dequantize", "_contrib_requantize")
_QUANTIZED = "_contrib_quantized_"
_FLOAT_OPS = {
    "batch_norm": "BatchNorm",
    "flatten": "Flatten",
    "conv": "Convolution",
    "pooling": "Pooling",
    "fully_connected": "FullyConnected",
    "act": "Activation",
    "elemwise_add": "elemwise_add",
    "elemwise_mul": "elemwise_mul",
    "concat": "Concat",
    "reshape": "Reshape",
    "transpose": "transpose",
    "embedding": "Embedding",
}
_CALIBRATION_ATTRS = ("min_calib_range", "max_calib_range")
_RANGE = object()  # an entry that is a quantisation range: it has no fp32 counterpart


def float_graph(graph):
    """The graph with every oneDNN fused or quantised operator replaced by the fp32 operators it came from."""
    nodes = []
    entry = {}  # (old node, output) -> [new node, output, version], or _RANGE

    def add(node):
        nodes.append(node)
        return len(nodes) - 1

    def mapped(ref, where):
        e = entry.get((ref[0], ref[1]))
        if e is None:
            raise MxportError(
                "BAD_SYMBOL_JSON", f"{where}: an input refers to an output that the optimised graph does not define"
            )
        return e

    for i, node in enumerate(graph["nodes"]):
        op = node["op"]
        refs = node.get("inputs", [])
        if op == "null":
            entry[(i, 0)] = [add(dict(node)), 0, 0]
            continue
        ins = [mapped(r, node["name"]) for r in refs]
        floats = [e for e in ins if e is not _RANGE]
        if op in _PASS_THROUGH:
            entry[(i, 0)] = floats[0]
            entry[(i, 1)] = entry[(i, 2)] = _RANGE
        elif node.get("subgraphs"):
            heads = _inline(node, node["subgraphs"][0], floats, add)
            for k, h in enumerate(heads):
                entry[(i, k)] = h
            for k in range(len(heads), len(heads) + 2):
                entry[(i, k)] = _RANGE
        elif op.startswith(_QUANTIZED):
            base = op[len(_QUANTIZED) :]
            if base not in _FLOAT_OPS:
                raise MxportError(
                    "INVALID_ARGUMENT",
                    f"the optimised graph's operator {op} (node "
                    f"'{node['name']}') has no known fp32 form; export the fp32 model instead",
                )
            attrs = {k: v for k, v in node.get("attrs", {}).items() if k not in _CALIBRATION_ATTRS}
            new = {"op": _FLOAT_OPS[base], "name": node["name"], "inputs": floats}
            if attrs:
                new["attrs"] = attrs
            entry[(i, 0)] = [add(new), 0, 0]
            entry[(i, 1)] = entry[(i, 2)] = _RANGE
        else:
            if any(e is _RANGE for e in ins):
                raise MxportError(
                    "INVALID_ARGUMENT",
                    f"node '{node['name']}' ({op}) reads a quantisation range; "
                    "its fp32 form is unknown: export the fp32 model instead",
                )
            new = dict(node)
            new["inputs"] = ins
            n_out = 3 if op == "BatchNorm" else 1
            idx = add(new)
            for k in range(n_out):
                entry[(i, k)] = [idx, k, 0]
    heads = [mapped(h, "heads") for h in graph["heads"]]
    if any(h is _RANGE for h in heads):
        raise MxportError("INVALID_ARGUMENT", "a head of the optimised graph is a quantisation range")
    out = {"nodes": nodes, "arg_nodes": [i for i, n in enumerate(nodes) if n["op"] == "null"], "heads": heads}
    if "attrs" in graph:
        out["attrs"] = graph["attrs"]
    return out


def _inline(outer, sub, inputs, add):
    """Adds a fused operator's subgraph, its variables fed by the operator's fp32 inputs in order; returns the
    entries of its heads."""
    variables = [k for k, n in enumerate(sub["nodes"]) if n["op"] == "null"]
    if len(variables) > len(inputs):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"the fused operator '{outer['name']}' has {len(inputs)} fp32 "
            f"inputs for the {len(variables)} variables of its subgraph; export the fp32 model instead",
        )
    local = {}
    for var, e in zip(variables, inputs):
        local[(var, 0)] = e
    for k, node in enumerate(sub["nodes"]):
        if node["op"] == "null":
            continue
        if node.get("subgraphs"):
            raise MxportError(
                "INVALID_ARGUMENT",
                f"the fused operator '{outer['name']}' nests another fused operator; export the fp32 model instead",
            )
        new = dict(node)
        new["inputs"] = [local[(r[0], r[1])] for r in node.get("inputs", [])]
        idx = add(new)
        for out in range(3 if node["op"] == "BatchNorm" else 1):
            local[(k, out)] = [idx, out, 0]
    return [local[(h[0], h[1])] for h in sub["heads"]]
