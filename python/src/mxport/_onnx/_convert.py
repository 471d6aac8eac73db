"""mxport's own MXNet-to-ONNX converter: walks the symbol JSON of an mxport model, node by node.

Each MXNet operator has one converter below (``_OPS``). A converter gets the node's attributes, the ONNX
names of its inputs and what is known of them (dtype, rank), and adds ONNX nodes through ``_Builder``. The
graph's variables that are parameters become initializers (never graph inputs, so runtimes fold them); the
signature's inputs and outputs become the graph's inputs and outputs, under the same names (spec/FORMAT.md
section 13).
"""

import numpy as np

from .._errors import MxportError
from ._builder import IR_VERSION, OPSET, Unsupported, _Builder, _Ctx, _onnx_type, _Value  # noqa: F401
from ._image_ops import _image_crop, _image_normalize, _image_resize, _image_to_tensor
from ._ops import (
    _activation,
    _arange,
    _batch_norm,
    _binary,
    _cast,
    _clip,
    _concat,
    _convolution,
    _dropout,
    _expand_dims,
    _flatten,
    _fully_connected,
    _identity,
    _leaky_relu,
    _pad,
    _pooling,
    _reduce,
    _reshape,
    _scalar_op,
    _shape_array,
    _slice,
    _slice_axis,
    _softmax,
    _take,
    _transpose,
    _unary,
)


_OPS = {
    "_copy": _identity,
    "identity": _identity,
    "Dropout": _dropout,
    "BlockGrad": _identity,
    "Activation": _activation,
    "LeakyReLU": _leaky_relu,
    "relu": _unary("Relu"),
    "sigmoid": _unary("Sigmoid"),
    "tanh": _unary("Tanh"),
    "exp": _unary("Exp"),
    "log": _unary("Log"),
    "sqrt": _unary("Sqrt"),
    "abs": _unary("Abs"),
    "negative": _unary("Neg"),
    "floor": _unary("Floor"),
    "ceil": _unary("Ceil"),
    "erf": _unary("Erf"),
    "FullyConnected": _fully_connected,
    "Convolution": _convolution,
    "BatchNorm": _batch_norm,
    "Pooling": _pooling,
    "Flatten": _flatten,
    "flatten": _flatten,
    "softmax": _softmax("Softmax"),
    "log_softmax": _softmax("LogSoftmax"),
    "Concat": _concat,
    "concat": _concat,
    "Cast": _cast,
    "cast": _cast,
    "clip": _clip,
    "Pad": _pad,
    "pad": _pad,
    "mean": _reduce("ReduceMean"),
    "sum": _reduce("ReduceSum"),
    "max": _reduce("ReduceMax"),
    "min": _reduce("ReduceMin"),
    "transpose": _transpose,
    "expand_dims": _expand_dims,
    "Reshape": _reshape,
    "reshape": _reshape,
    "shape_array": _shape_array,
    "slice_axis": _slice_axis,
    "slice": _slice,
    "take": _take,
    "_arange": _arange,
    "elemwise_add": _binary("Add"),
    "elemwise_sub": _binary("Sub"),
    "elemwise_mul": _binary("Mul"),
    "elemwise_div": _binary("Div"),
    "broadcast_add": _binary("Add"),
    "broadcast_sub": _binary("Sub"),
    "broadcast_mul": _binary("Mul"),
    "broadcast_div": _binary("Div"),
    "_plus": _binary("Add"),
    "_minus": _binary("Sub"),
    "_mul": _binary("Mul"),
    "_div": _binary("Div"),
    "broadcast_plus": _binary("Add"),
    "broadcast_minus": _binary("Sub"),
    "_Plus": _binary("Add"),
    "_Minus": _binary("Sub"),
    "_Mul": _binary("Mul"),
    "_Div": _binary("Div"),
    "broadcast_maximum": _binary("Max"),
    "broadcast_minimum": _binary("Min"),
    "_maximum": _binary("Max"),
    "_minimum": _binary("Min"),
    "_plus_scalar": _scalar_op("Add"),
    "_minus_scalar": _scalar_op("Sub"),
    "_mul_scalar": _scalar_op("Mul"),
    "_div_scalar": _scalar_op("Div"),
    "_rminus_scalar": _scalar_op("Sub", reverse=True),
    "_rdiv_scalar": _scalar_op("Div", reverse=True),
    "_PlusScalar": _scalar_op("Add"),
    "_MinusScalar": _scalar_op("Sub"),
    "_MulScalar": _scalar_op("Mul"),
    "_DivScalar": _scalar_op("Div"),
    "_maximum_scalar": _scalar_op("Max"),
    "_minimum_scalar": _scalar_op("Min"),
    "_image_to_tensor": _image_to_tensor,
    "_image_normalize": _image_normalize,
    "_image_crop": _image_crop,
    "_image_resize": _image_resize,
}

SUPPORTED_OPS = tuple(sorted(_OPS))


def _dims(shape, name, batch):
    out = []
    for axis, d in enumerate(shape):
        out.append(batch if axis == 0 and d == -1 else f"{name}_dim{axis}" if d == -1 else int(d))
    return out


def convert_graph(graph, inputs, outputs, params, graph_name):
    """An ONNX GraphProto for an MXNet graph (symbol JSON as a dict) whose variables are ``inputs`` (tensor
    specs, by name) or arrays of ``params`` (name -> numpy array), and whose heads are ``outputs`` (specs, in
    order). Raises MxportError INVALID_ARGUMENT naming the first operator that has no converter."""
    from onnx import helper, numpy_helper

    b = _Builder()
    for s in inputs:
        b.reserve(s.name)
    by_name = {s.name: s for s in inputs}
    values = {}  # (node index, output index) -> _Value
    used = set()
    for i, node in enumerate(graph["nodes"]):
        op, name = node["op"], node["name"]
        if op == "null":
            if name in by_name:
                s = by_name[name]
                values[(i, 0)] = _Value(name, s.dtype, len(s.shape))
            elif name in params:
                if name not in used:
                    used.add(name)
                    b.reserve(name)
                    b.initializers.append(numpy_helper.from_array(np.ascontiguousarray(params[name]), name))
                values[(i, 0)] = _Value(name, np.dtype(params[name].dtype).name, params[name].ndim)
            else:
                raise MxportError(
                    "BAD_PARAMS",
                    f"the graph's variable '{name}' is neither an input of the "
                    "signature nor an array of the params file; export the model again",
                )
            continue
        convert = _OPS.get(op)
        if convert is None:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"operator {op} (node '{name}') has no ONNX converter in mxport;"
                f" the operators it converts are: {', '.join(SUPPORTED_OPS)}",
            )
        ins = [values[(ref[0], ref[1])] for ref in node.get("inputs", [])]
        try:
            outs = convert(_Ctx(b, node, ins))
        except Unsupported as e:
            raise MxportError("INVALID_ARGUMENT", f"cannot convert to ONNX: {e}") from None
        except (KeyError, TypeError, ValueError) as e:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"cannot convert {op} node '{name}' to ONNX: its attributes "
                f"{node.get('attrs', {})} are not understood ({type(e).__name__}: {e})",
            ) from None
        for k, v in enumerate(outs):
            values[(i, k)] = v
    out_infos = []
    for spec, head in zip(outputs, graph["heads"]):
        v = values[(head[0], head[1])]
        b.reserve(spec.name)
        b.nodes.append(helper.make_node("Identity", [v.name], [spec.name], name=b.fresh("output:" + spec.name)))
        out_infos.append(
            helper.make_tensor_value_info(spec.name, _onnx_type(spec.dtype), _dims(spec.shape, spec.name, "batch"))
        )
    in_infos = [
        helper.make_tensor_value_info(s.name, _onnx_type(s.dtype), _dims(s.shape, s.name, "batch")) for s in inputs
    ]
    nodes, initializers = b.live([spec.name for spec in outputs])
    return helper.make_graph(nodes, graph_name, in_infos, out_infos, initializer=initializers)
