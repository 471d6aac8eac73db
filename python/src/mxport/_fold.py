"""Folded image transforms (spec/FORMAT.md section 12): an input's ToTensor (+ Normalize) as one oneDNN
convolution, on the transforms graph as a dict."""

import mxnet as mx
import numpy as np

from . import _graph, _mx
from ._errors import MxportError


FOLD_PREFIX = "mxport_fold_"


def fold_image_transforms(transforms, spec):
    """One input's transforms with each ToTensor (and the Normalize that alone reads it) on a 4-D NHWC
    input replaced by Cast, expand_dims, Reshape and one Convolution (spec section 12).

    ToTensor + Normalize is a per-channel affine map, x / 255 then (x - mean) / std, plus the change from
    NHWC to NCHW. Seen as a (N, 1, H, W*C) image, each pixel's C values are one 1xC window at stride C, so
    a convolution with C filters whose one non-zero weight is 1 / (255 std) and whose bias is -mean / std
    gives (N, C, H, W) in one oneDNN primitive, about a third of the cost of MXNet's single-threaded image
    kernels. It equals them within float rounding (a few ulps). A ToTensor whose input rank or channel count
    is not known at export, or a Normalize whose mean or std does not have 1 or C values, stays as written.

    Returns ``(graph, params)``: ``params`` maps the new variables to their arrays.
    """
    nodes = transforms["nodes"]
    readers = {}
    for i, node in enumerate(nodes):
        for ref in node.get("inputs", []):
            readers.setdefault(ref[0], []).append(i)
    for head in transforms["heads"]:
        readers.setdefault(head[0], []).append(None)
    plans = {}  # to_tensor index -> (normalize index or None, channels, mean, std)
    for i, node in enumerate(nodes):
        if node["op"] != "_image_to_tensor" or len(node.get("inputs", [])) != 1:
            continue
        shape = _entry_shape(transforms, node["inputs"][0], spec)
        if shape is None or len(shape) != 4 or shape[3] <= 0:
            continue
        channels = shape[3]
        mean, std, normalize = (0.0,), (1.0,), None
        after = readers.get(i, [])
        if len(after) == 1 and after[0] is not None and nodes[after[0]]["op"] == "_image_normalize":
            normalize = after[0]
            attrs = nodes[normalize].get("attrs", {})
            mean = _floats(attrs.get("mean", "(0, 0, 0, 0)"))
            std = _floats(attrs.get("std", "(1, 1, 1, 1)"))
            if (
                mean is None
                or std is None
                or len(mean) not in (1, channels)
                or len(std) not in (1, channels)
                or any(s == 0 for s in std)
            ):
                continue
        plans[i] = (normalize, channels, mean, std)
    if not plans:
        return transforms, {}
    out, index, params = [], {}, {}
    skipped = {p[0]: i for i, p in plans.items() if p[0] is not None}
    for i, node in enumerate(nodes):
        if i in skipped:
            index[i] = index[skipped[i]]
            continue
        if i in plans:
            normalize, channels, mean, std = plans[i]
            index[i], folded = _fold(
                node, _graph.remap(index[node["inputs"][0][0]], node["inputs"][0]), channels, mean, std, out
            )
            params.update(folded)
            continue
        new = dict(node)
        new["inputs"] = [_graph.remap(index[r[0]], r) for r in node.get("inputs", [])]
        index[i] = [len(out), 0]
        out.append(new)
    result = {
        "nodes": out,
        "arg_nodes": [i for i, n in enumerate(out) if n["op"] == "null"],
        "heads": [_graph.remap(index[h[0]], h) for h in transforms["heads"]],
    }
    if "attrs" in transforms:
        result["attrs"] = transforms["attrs"]
    return result, params


def _fold(to_tensor, source, channels, mean, std, out):
    """Appends the fold of one ToTensor (+ Normalize) to ``out``, reading its entry ``source``; returns the
    entry of its result and its params."""
    name = FOLD_PREFIX + to_tensor["name"]
    sub = _fold_nodes(name, channels)
    local = {}
    for j, node in enumerate(sub):
        if node["name"] == "pixels":
            local[j] = source
            continue
        node = dict(node)
        node["inputs"] = [_graph.remap(local[r[0]], r) for r in node.get("inputs", [])]
        local[j] = [len(out), 0]
        out.append(node)
    mean = np.broadcast_to(np.asarray(mean, np.float64), channels)
    std = np.broadcast_to(np.asarray(std, np.float64), channels)
    w = np.zeros((channels, 1, 1, channels), np.float32)
    w[np.arange(channels), 0, 0, np.arange(channels)] = 1.0 / (255.0 * std)
    params = {name + "_weight": mx.nd.array(w), name + "_bias": mx.nd.array((-mean / std).astype(np.float32))}
    return local[len(sub) - 1], params


def _fold_nodes(name, channels):
    """The nodes of one fold as MXNet writes them (node 0, ``pixels``, stands for the ToTensor's input):
    Cast, expand_dims and Reshape to (N, 1, H, W*C), then a 1 x C convolution at stride C."""
    kernel = f"(1, {channels})"
    return [
        {"op": "null", "name": "pixels", "inputs": []},
        {"op": "Cast", "name": name + "_cast", "attrs": {"dtype": "float32"}, "inputs": [[0, 0, 0]]},
        {"op": "expand_dims", "name": name + "_expand", "attrs": {"axis": "1"}, "inputs": [[1, 0, 0]]},
        {"op": "Reshape", "name": name + "_rows", "attrs": {"shape": "(0, 0, 0, -1)"}, "inputs": [[2, 0, 0]]},
        {"op": "null", "name": name + "_weight", "inputs": []},
        {"op": "null", "name": name + "_bias", "inputs": []},
        {
            "op": "Convolution",
            "name": name + "_conv",
            "attrs": {"kernel": kernel, "num_filter": str(channels), "stride": kernel},
            "inputs": [[3, 0, 0], [4, 0, 0], [5, 0, 0]],
        },
    ]


def _entry_shape(graph, entry, spec):
    """The shape of ``entry`` inferred from the input's signature shape (0 where unknown), or None."""
    sub = _graph.reduce_to(graph, [entry])
    try:
        symbol = _mx.symbol_from_graph(sub, "the transforms")
        if spec.name not in symbol.list_arguments():
            return None
        _, shapes, _ = symbol.infer_shape_partial(**{spec.name: tuple(max(d, 0) for d in spec.shape)})
    except (mx.base.MXNetError, MxportError):
        return None
    return tuple(shapes[0]) if shapes and shapes[0] else None


def _floats(text):
    try:
        values = tuple(float(v) for v in text.strip("()[] ").split(",") if v.strip())
    except ValueError:
        return None
    return values or None
