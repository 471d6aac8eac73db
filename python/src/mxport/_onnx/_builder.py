"""What every converter of ``_convert`` shares: ONNX tensor types, MXNet attribute parsing, the builder that adds
ONNX nodes and initializers (``_Builder``) and one node's view of it (``_Ctx``)."""

import ast

import numpy as np

from .._errors import MxportError

OPSET = 13
IR_VERSION = 8  # the lowest IR that opset 13 needs: readable by older runtimes too

_NP = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "uint8": np.uint8,
    "int8": np.int8,
    "int32": np.int32,
    "int64": np.int64,
}
_INT64_MAX = np.iinfo(np.int64).max


def _onnx_type(dtype):
    from onnx import TensorProto

    return {
        "float32": TensorProto.FLOAT,
        "float64": TensorProto.DOUBLE,
        "float16": TensorProto.FLOAT16,
        "uint8": TensorProto.UINT8,
        "int8": TensorProto.INT8,
        "int32": TensorProto.INT32,
        "int64": TensorProto.INT64,
        "bool": TensorProto.BOOL,
    }[dtype]


class _Value:
    """What the converter knows of one tensor: its ONNX name, dtype, and rank (None when unknown)."""

    def __init__(self, name, dtype, rank):
        self.name, self.dtype, self.rank = name, dtype, rank


class Unsupported(Exception):
    pass


def _parse(text):
    """An MXNet attribute value ('(8, 8)', 'True', '1e-05', 'None', 'relu') as a Python value."""
    if not isinstance(text, str):
        return text
    t = text.strip()
    if t in ("True", "true"):
        return True
    if t in ("False", "false"):
        return False
    if t == "None":
        return None
    try:
        return ast.literal_eval(t)
    except (ValueError, SyntaxError):
        return t


def _ints(value):
    v = _parse(value)
    if v is None:
        return None
    return [int(x) for x in v] if isinstance(v, (list, tuple)) else [int(v)]


class _Builder:
    def __init__(self):
        self.nodes, self.initializers, self._names = [], [], set()
        self._transposed = {}  # the output of each Transpose -> (its input, its perm)

    def fresh(self, hint):
        name, i = hint, 0
        while name in self._names:
            i += 1
            name = f"{hint}_{i}"
        self._names.add(name)
        return name

    def reserve(self, name):
        """Claims a name the ONNX graph must carry as it is: an input, an output, a weight."""
        if name in self._names:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"the name '{name}' is both a signature input or output and a "
                "weight of the graph, and ONNX names each tensor once: export the model with "
                "other input/output names",
            )
        self._names.add(name)

    def op(self, op_type, inputs, hint, n_out=1, node_name=None, **attrs):
        from onnx import helper

        transpose = op_type == "Transpose" and "perm" in attrs
        if transpose and inputs[0] in self._transposed:  # two transposes in a row: one, or none
            source, first = self._transposed[inputs[0]]
            perm = [first[axis] for axis in attrs["perm"]]
            if perm == sorted(perm):
                return source
            inputs, attrs = [source], dict(attrs, perm=perm)
        outs = [self.fresh(hint if n_out == 1 else f"{hint}:{k}") for k in range(n_out)]
        if transpose:
            self._transposed[outs[0]] = (inputs[0], list(attrs["perm"]))
        name = self.fresh(node_name or "node:" + hint)
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=name, **attrs))
        return outs[0] if n_out == 1 else outs

    def live(self, outputs):
        """The nodes and initializers that the tensors ``outputs`` depend on, in order: what the builder wrote
        and no longer feeds anything (a transpose that ``op`` merged into the next) is left out."""
        needed, nodes = set(outputs), []
        for node in reversed(self.nodes):
            if needed.intersection(node.output):
                nodes.append(node)
                needed.update(node.input)
        return nodes[::-1], [t for t in self.initializers if t.name in needed]

    def const(self, array, hint):
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(array), name))
        return name


class _Ctx:
    """One node's conversion: its attributes, input values, and the builder."""

    def __init__(self, b, node, inputs):
        self.b, self.node, self.inputs = b, node, inputs
        self.attrs = node.get("attrs", {})
        self.name = node["name"]

    def attr(self, key, default=None):
        return _parse(self.attrs[key]) if key in self.attrs else default

    def op(self, op_type, inputs, n_out=1, hint=None, node_name=None, **attrs):
        return self.b.op(op_type, inputs, hint or self.name, n_out, node_name, **attrs)

    def const(self, array, suffix):
        return self.b.const(array, f"{self.name}:{suffix}")

    def scalar(self, value, dtype, suffix="scalar"):
        return self.const(np.array(value, dtype=_NP[dtype]), suffix)

    def ints(self, values, suffix):
        return self.const(np.array(values, dtype=np.int64), suffix)

    def fail(self, why):
        raise Unsupported(f"{self.node['op']} node '{self.name}': {why}")


def _same(ctx, name, dtype=None, rank=None):
    x = ctx.inputs[0]
    return [_Value(name, dtype or x.dtype, x.rank if rank is None else rank)]
