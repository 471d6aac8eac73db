"""mxport's own MXNet-to-ONNX converter: walks the symbol JSON of an mxport model, node by node.

Each MXNet operator has one converter below (``_OPS``). A converter gets the node's attributes, the ONNX
names of its inputs and what is known of them (dtype, rank), and adds ONNX nodes through ``_Builder``. The
graph's variables that are parameters become initializers (never graph inputs, so runtimes fold them); the
signature's inputs and outputs become the graph's inputs and outputs, under the same names (spec/FORMAT.md
section 13).
"""

import ast

import numpy as np

from .._errors import MxportError

OPSET = 13
IR_VERSION = 8  # the lowest IR that opset 13 needs: readable by older runtimes too

_NP = {"float32": np.float32, "float64": np.float64, "float16": np.float16, "uint8": np.uint8,
       "int8": np.int8, "int32": np.int32, "int64": np.int64}
_INT64_MAX = np.iinfo(np.int64).max


def _onnx_type(dtype):
    from onnx import TensorProto
    return {"float32": TensorProto.FLOAT, "float64": TensorProto.DOUBLE, "float16": TensorProto.FLOAT16,
            "uint8": TensorProto.UINT8, "int8": TensorProto.INT8, "int32": TensorProto.INT32,
            "int64": TensorProto.INT64, "bool": TensorProto.BOOL}[dtype]


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
            raise MxportError("INVALID_ARGUMENT", f"the name '{name}' is both a signature input or output and a "
                              "weight of the graph, and ONNX names each tensor once: export the model with "
                              "other input/output names")
        self._names.add(name)

    def op(self, op_type, inputs, hint, n_out=1, **attrs):
        from onnx import helper
        outs = [self.fresh(hint if n_out == 1 else f"{hint}:{k}") for k in range(n_out)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, name=self.fresh("node:" + hint), **attrs))
        return outs[0] if n_out == 1 else outs

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

    def op(self, op_type, inputs, n_out=1, hint=None, **attrs):
        return self.b.op(op_type, inputs, hint or self.name, n_out, **attrs)

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


def _identity(ctx):
    return _same(ctx, ctx.op("Identity", [ctx.inputs[0].name]))


def _unary(onnx_op):
    return lambda ctx: _same(ctx, ctx.op(onnx_op, [ctx.inputs[0].name]))


def _binary(onnx_op):
    def convert(ctx):
        a, b = ctx.inputs[:2]
        return [_Value(ctx.op(onnx_op, [a.name, b.name]), a.dtype, _max_rank(a.rank, b.rank))]
    return convert


def _max_rank(a, b):
    return None if a is None or b is None else max(a, b)


def _scalar_op(onnx_op, reverse=False):
    def convert(ctx):
        x = ctx.inputs[0]
        s = ctx.scalar(float(ctx.attr("scalar")), x.dtype)
        return _same(ctx, ctx.op(onnx_op, [s, x.name] if reverse else [x.name, s]))
    return convert


def _activation(ctx):
    kind = ctx.attr("act_type")
    x = ctx.inputs[0].name
    if kind == "relu":
        return _same(ctx, ctx.op("Relu", [x]))
    if kind == "sigmoid":
        return _same(ctx, ctx.op("Sigmoid", [x]))
    if kind == "tanh":
        return _same(ctx, ctx.op("Tanh", [x]))
    if kind == "softrelu":
        return _same(ctx, ctx.op("Softplus", [x]))
    if kind == "softsign":
        return _same(ctx, ctx.op("Softsign", [x]))
    ctx.fail(f"act_type {kind!r} has no converter")


def _leaky_relu(ctx):
    kind = ctx.attr("act_type", "leaky")
    if kind != "leaky":
        ctx.fail(f"act_type {kind!r} has no converter")
    return _same(ctx, ctx.op("LeakyRelu", [ctx.inputs[0].name], alpha=float(ctx.attr("slope", 0.25))))


def _fully_connected(ctx):
    x, w = ctx.inputs[0], ctx.inputs[1]
    no_bias = ctx.attr("no_bias", False)
    flatten = ctx.attr("flatten", True)
    if flatten:
        flat = ctx.op("Flatten", [x.name], axis=1, hint=ctx.name + ":flatten") if x.rank != 2 else x.name
        inputs = [flat, w.name] + ([] if no_bias else [ctx.inputs[2].name])
        return [_Value(ctx.op("Gemm", inputs, transB=1), x.dtype, 2)]
    wt = ctx.op("Transpose", [w.name], perm=[1, 0], hint=ctx.name + ":weight_t")
    y = ctx.op("MatMul", [x.name, wt], hint=ctx.name + ":matmul" if not no_bias else None)
    if not no_bias:
        y = ctx.op("Add", [y, ctx.inputs[2].name])
    return [_Value(y, x.dtype, x.rank)]


def _spatial(ctx, key, n, default):
    v = ctx.attr(key)
    return list(v) if v not in (None, ()) else [default] * n


def _convolution(ctx):
    if ctx.attr("layout") not in (None, "NCW", "NCHW", "NCDHW"):
        ctx.fail(f"layout {ctx.attr('layout')} (only channels-first convolutions convert)")
    kernel = list(ctx.attr("kernel"))
    n = len(kernel)
    pad = _spatial(ctx, "pad", n, 0)
    inputs = [v.name for v in ctx.inputs[:2]] + ([] if ctx.attr("no_bias", False) else [ctx.inputs[2].name])
    y = ctx.op("Conv", inputs, kernel_shape=kernel, strides=_spatial(ctx, "stride", n, 1),
               dilations=_spatial(ctx, "dilate", n, 1), pads=pad + pad, group=int(ctx.attr("num_group", 1)))
    return _same(ctx, y)


def _batch_norm(ctx):
    x, gamma, beta, mean, var = ctx.inputs[:5]
    if int(ctx.attr("axis", 1)) != 1:
        ctx.fail("only axis=1 converts")
    scale = gamma.name
    if ctx.attr("fix_gamma", True):  # MXNet's symbol default: gamma is taken as 1 whatever the array holds
        ones = ctx.op("Mul", [gamma.name, ctx.scalar(0.0, gamma.dtype, "zero")], hint=ctx.name + ":zero_gamma")
        scale = ctx.op("Add", [ones, ctx.scalar(1.0, gamma.dtype, "one")], hint=ctx.name + ":unit_gamma")
    y = ctx.op("BatchNormalization", [x.name, scale, beta.name, mean.name, var.name],
               epsilon=float(ctx.attr("eps", 1e-3)))
    return _same(ctx, y)


def _pooling(ctx):
    kind = ctx.attr("pool_type", "max")
    x = ctx.inputs[0]
    if ctx.attr("layout") not in (None, "NCW", "NCHW", "NCDHW"):
        ctx.fail(f"layout {ctx.attr('layout')}")
    if ctx.attr("global_pool", False):
        op = {"max": "GlobalMaxPool", "avg": "GlobalAveragePool"}.get(kind)
        if op is None:
            ctx.fail(f"global pool_type {kind!r}")
        return _same(ctx, ctx.op(op, [x.name]))
    kernel = list(ctx.attr("kernel"))
    n = len(kernel)
    pad = _spatial(ctx, "pad", n, 0)
    convention = ctx.attr("pooling_convention", "valid")
    if convention not in ("valid", "full"):
        ctx.fail(f"pooling_convention {convention!r}")
    common = dict(kernel_shape=kernel, strides=_spatial(ctx, "stride", n, 1), pads=pad + pad,
                  ceil_mode=1 if convention == "full" else 0)
    if kind == "max":
        return _same(ctx, ctx.op("MaxPool", [x.name], **common))
    if kind == "avg":
        include = ctx.attr("count_include_pad", True)
        return _same(ctx, ctx.op("AveragePool", [x.name], count_include_pad=1 if include is None or include
                                 else 0, **common))
    ctx.fail(f"pool_type {kind!r}")


def _flatten(ctx):
    return _same(ctx, ctx.op("Flatten", [ctx.inputs[0].name], axis=1), rank=2)


def _softmax(onnx_op):
    def convert(ctx):
        if ctx.attr("use_length", False):
            ctx.fail("use_length=True")
        x = ctx.inputs[0]
        name = x.name
        t = ctx.attr("temperature")
        if t not in (None, 1, 1.0):
            name = ctx.op("Div", [name, ctx.scalar(float(t), x.dtype, "temperature")], hint=ctx.name + ":t")
        dtype = ctx.attr("dtype") or x.dtype
        y = ctx.op(onnx_op, [name], axis=int(ctx.attr("axis", -1)))
        if dtype != x.dtype:
            y = ctx.op("Cast", [y], to=_onnx_type(dtype), hint=ctx.name + ":cast")
        return _same(ctx, y, dtype=dtype)
    return convert


def _concat(ctx):
    dim = int(ctx.attr("dim", 1))
    return [_Value(ctx.op("Concat", [v.name for v in ctx.inputs], axis=dim), ctx.inputs[0].dtype,
                   ctx.inputs[0].rank)]


def _cast(ctx):
    dtype = ctx.attr("dtype")
    return _same(ctx, ctx.op("Cast", [ctx.inputs[0].name], to=_onnx_type(dtype)), dtype=dtype)


def _clip(ctx):
    x = ctx.inputs[0]
    return _same(ctx, ctx.op("Clip", [x.name, ctx.scalar(float(ctx.attr("a_min")), x.dtype, "min"),
                                      ctx.scalar(float(ctx.attr("a_max")), x.dtype, "max")]))


def _pad(ctx):
    mode = ctx.attr("mode", "constant")
    if mode not in ("constant", "edge", "reflect"):
        ctx.fail(f"mode {mode!r}")
    width = list(ctx.attr("pad_width"))
    pads = width[0::2] + width[1::2]
    x = ctx.inputs[0]
    inputs = [x.name, ctx.ints(pads, "pads")]
    if mode == "constant":
        inputs.append(ctx.scalar(float(ctx.attr("constant_value", 0)), x.dtype, "value"))
    return _same(ctx, ctx.op("Pad", inputs, mode=mode))


def _reduce(onnx_op):
    def convert(ctx):
        x = ctx.inputs[0]
        axes = _ints(ctx.attrs.get("axis", "None"))
        keep = bool(ctx.attr("keepdims", False))
        if ctx.attr("exclude", False):
            if x.rank is None:
                ctx.fail("exclude=True on an input of unknown rank")
            axes = [a for a in range(x.rank) if a not in {a % x.rank for a in axes or []}]
        kwargs = {"keepdims": 1 if keep else 0}
        if axes is not None:
            kwargs["axes"] = axes
        rank = None if x.rank is None else (x.rank if keep else (0 if axes is None else x.rank - len(axes)))
        return _same(ctx, ctx.op(onnx_op, [x.name], **kwargs), rank=rank)
    return convert


def _transpose(ctx):
    x = ctx.inputs[0]
    axes = ctx.attr("axes")
    if axes in (None, ()):
        if x.rank is None:
            ctx.fail("default axes on an input of unknown rank")
        axes = list(range(x.rank))[::-1]
    return _same(ctx, ctx.op("Transpose", [x.name], perm=[int(a) for a in axes]))


def _expand_dims(ctx):
    x = ctx.inputs[0]
    return _same(ctx, ctx.op("Unsqueeze", [x.name, ctx.ints([int(ctx.attr("axis"))], "axes")]),
                 rank=None if x.rank is None else x.rank + 1)


def _reshape(ctx):
    if ctx.attr("reverse", False):
        ctx.fail("reverse=True")
    shape = [int(d) for d in ctx.attr("shape")]
    if any(d < -1 for d in shape):
        ctx.fail(f"shape {shape} uses MXNet's special codes -2/-3/-4, which have no ONNX equivalent")
    return _same(ctx, ctx.op("Reshape", [ctx.inputs[0].name, ctx.ints(shape, "shape")]), rank=len(shape))


def _shape_array(ctx):
    return _same(ctx, ctx.op("Shape", [ctx.inputs[0].name]), dtype="int64", rank=1)


def _slice_axis(ctx):
    x = ctx.inputs[0]
    begin, end = int(ctx.attr("begin")), ctx.attr("end")
    end = _INT64_MAX if end is None else int(end)
    y = ctx.op("Slice", [x.name, ctx.ints([begin], "starts"), ctx.ints([end], "ends"),
                         ctx.ints([int(ctx.attr("axis"))], "axes")])
    return _same(ctx, y)


def _slice(ctx):
    x = ctx.inputs[0]
    begin, end = list(ctx.attr("begin")), list(ctx.attr("end"))
    step = list(ctx.attr("step") or [None] * len(begin))
    starts, ends, steps = [], [], []
    for b, e, s in zip(begin, end, step):
        s = 1 if s is None else int(s)
        starts.append((0 if s > 0 else -1) if b is None else int(b))
        ends.append((_INT64_MAX if s > 0 else -_INT64_MAX) if e is None else int(e))
        steps.append(s)
    y = ctx.op("Slice", [x.name, ctx.ints(starts, "starts"), ctx.ints(ends, "ends"),
                         ctx.ints(list(range(len(begin))), "axes"), ctx.ints(steps, "steps")])
    return _same(ctx, y)


def _take(ctx):
    x, idx = ctx.inputs[:2]
    axis = int(ctx.attr("axis", 0))
    mode = ctx.attr("mode", "clip")
    i = ctx.op("Cast", [idx.name], to=_onnx_type("int64"), hint=ctx.name + ":indices")  # MXNet truncates too
    if mode in ("clip", "wrap"):
        size = ctx.op("Gather", [ctx.op("Shape", [x.name], hint=ctx.name + ":shape"), ctx.ints([axis], "axis")],
                      hint=ctx.name + ":size", axis=0)
        if mode == "clip":
            last = ctx.op("Sub", [size, ctx.ints([1], "one")], hint=ctx.name + ":last")
            i = ctx.op("Max", [ctx.op("Min", [i, last], hint=ctx.name + ":below"), ctx.ints([0], "zero")],
                       hint=ctx.name + ":clipped")
        else:
            i = ctx.op("Mod", [i, size], hint=ctx.name + ":wrapped")
    rank = None if x.rank is None or idx.rank is None else x.rank + idx.rank - 1
    return _same(ctx, ctx.op("Gather", [x.name, i], axis=axis), rank=rank)


def _arange(ctx):
    if ctx.attr("infer_range", False):
        ctx.fail("a range whose stop is inferred from another operator (infer_range=True)")
    dtype = ctx.attr("dtype", "float32")
    start, stop, step = float(ctx.attr("start", 0)), ctx.attr("stop"), float(ctx.attr("step", 1))
    if stop is None:  # MXNet's arange(n): 0 to n
        start, stop = 0.0, start
    values = np.repeat(np.arange(start, stop, step, dtype=np.float64), int(ctx.attr("repeat", 1)))
    return [_Value(ctx.op("Identity", [ctx.const(values.astype(_NP[dtype]), "values")]), dtype, 1)]


def _dropout(ctx):
    return _identity(ctx)


# -- the image operators (Gluon's transforms; they take an HWC image or an NHWC batch) --

def _image_to_tensor(ctx):
    x = ctx.inputs[0]
    f = ctx.op("Cast", [x.name], to=_onnx_type("float32"), hint=ctx.name + ":float")
    f = ctx.op("Div", [f, ctx.scalar(255.0, "float32", "255")], hint=ctx.name + ":scaled")
    perm = [2, 0, 1] if x.rank == 3 else [0, 3, 1, 2] if x.rank == 4 else None
    if perm is None:
        ctx.fail("the input's rank is unknown")
    return _same(ctx, ctx.op("Transpose", [f], perm=perm), dtype="float32")


def _image_normalize(ctx):
    x = ctx.inputs[0]
    mean = np.array(_ints_or_floats(ctx.attr("mean", 0.0)), np.float32)
    std = np.array(_ints_or_floats(ctx.attr("std", 1.0)), np.float32)
    shape = (-1, 1, 1)
    y = ctx.op("Sub", [x.name, ctx.const(mean.reshape(shape), "mean")], hint=ctx.name + ":centred")
    return _same(ctx, ctx.op("Div", [y, ctx.const(std.reshape(shape), "std")]))


def _ints_or_floats(v):
    return [float(a) for a in v] if isinstance(v, (list, tuple)) else [float(v)]


def _image_crop(ctx):
    x = ctx.inputs[0]
    left, top = int(ctx.attr("x")), int(ctx.attr("y"))
    w, h = int(ctx.attr("width")), int(ctx.attr("height"))
    axes = [0, 1] if x.rank == 3 else [1, 2] if x.rank == 4 else None
    if axes is None:
        ctx.fail("the input's rank is unknown")
    y = ctx.op("Slice", [x.name, ctx.ints([top, left], "starts"), ctx.ints([top + h, left + w], "ends"),
                         ctx.ints(axes, "axes")])
    return _same(ctx, y)


# OpenCV's interpolations (MXNet's `interp`) as ONNX Resize attributes, for what _opencv_uint8 does not take
# (float images, nearest). OpenCV maps a target pixel to (x + 0.5) * scale - 0.5 (ONNX "half_pixel") for linear
# and cubic (cubic coefficient -0.75, as OpenCV), and to floor(x * scale) ("asymmetric", nearest_mode "floor")
# for nearest. Area and Lanczos have no ONNX form.
_INTERP = {0: dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
           1: dict(mode="linear", coordinate_transformation_mode="half_pixel"),
           2: dict(mode="cubic", coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75)}


def _image_resize(ctx):
    x = ctx.inputs[0]
    interp = int(ctx.attr("interp", 1))
    if interp not in _INTERP:
        ctx.fail(f"interp={interp} (OpenCV's area or Lanczos resampling) has no ONNX Resize equivalent; export "
                 "the model with interp=1 (bilinear), 2 (bicubic) or 0 (nearest)")
    if x.rank not in (3, 4):
        ctx.fail("the input's rank is unknown")
    size = _ints(ctx.attrs.get("size"))
    keep_ratio = bool(ctx.attr("keep_ratio", False))
    batched = x.rank == 4
    h_axis = 1 if batched else 0
    shape = ctx.op("Shape", [x.name], hint=ctx.name + ":shape")

    def dim(axis, tag):
        return ctx.op("Gather", [shape, ctx.ints([axis], f"axis{axis}")], axis=0, hint=f"{ctx.name}:{tag}")

    h, w = dim(h_axis, "h"), dim(h_axis + 1, "w")
    if len(size) == 2:
        new_h, new_w = ctx.ints([size[1]], "height"), ctx.ints([size[0]], "width")  # MXNet's size is (w, h)
    elif not keep_ratio:
        new_h = new_w = ctx.ints([size[0]], "size")
    else:  # the short side becomes size, the long side floor(long * size / short), as MXNet computes it
        s = ctx.ints([size[0]], "size")
        taller = ctx.op("Greater", [h, w], hint=ctx.name + ":taller")
        scaled_h = ctx.op("Div", [ctx.op("Mul", [h, s], hint=ctx.name + ":hs"), w], hint=ctx.name + ":scaled_h")
        scaled_w = ctx.op("Div", [ctx.op("Mul", [w, s], hint=ctx.name + ":ws"), h], hint=ctx.name + ":scaled_w")
        new_h = ctx.op("Where", [taller, scaled_h, s], hint=ctx.name + ":new_h")
        new_w = ctx.op("Where", [taller, s, scaled_w], hint=ctx.name + ":new_w")
    if x.dtype == "uint8" and interp in (1, 2):
        return _same(ctx, _opencv_uint8(ctx, x.name, interp, h_axis, (h, new_h), (w, new_w)))
    # Resize works on NCHW: ONNX Runtime's linear and cubic kernels interpolate the two innermost axes
    if batched:
        n, c = dim(0, "n"), dim(3, "c")
        nchw = ctx.op("Transpose", [x.name], perm=[0, 3, 1, 2], hint=ctx.name + ":nchw")
        back = [0, 2, 3, 1]
        sizes = ctx.op("Concat", [n, c, new_h, new_w], axis=0, hint=ctx.name + ":sizes")
    else:
        c = dim(2, "c")
        nchw = ctx.op("Transpose", [x.name], perm=[2, 0, 1], hint=ctx.name + ":chw")
        back = [1, 2, 0]
        sizes = ctx.op("Concat", [c, new_h, new_w], axis=0, hint=ctx.name + ":sizes")
    source = nchw
    if x.dtype != "float32":  # interpolate in float, then round as OpenCV's saturate_cast does
        source = ctx.op("Cast", [nchw], to=_onnx_type("float32"), hint=ctx.name + ":float")
    if interp == 2:  # a reshape to its own shape keeps ONNX Runtime from moving the transpose past Resize
        # (its cubic kernel takes NCHW only)
        source = ctx.op("Reshape", [source, ctx.op("Shape", [source], hint=ctx.name + ":nchw_shape")],
                        hint=ctx.name + ":pinned")
    resized = ctx.op("Resize", [source, "", "", sizes], hint=ctx.name + ":resized", **_INTERP[interp])
    if x.dtype != "float32":
        info = np.iinfo(_NP[x.dtype]) if np.issubdtype(_NP[x.dtype], np.integer) else None
        if info is not None:
            resized = ctx.op("Round", [resized], hint=ctx.name + ":rounded")
            resized = ctx.op("Clip", [resized, ctx.scalar(float(info.min), "float32", "lo"),
                                      ctx.scalar(float(info.max), "float32", "hi")], hint=ctx.name + ":saturated")
        resized = ctx.op("Cast", [resized], to=_onnx_type(x.dtype), hint=ctx.name + ":cast")
    return _same(ctx, ctx.op("Transpose", [resized], perm=back))


def _opencv_uint8(ctx, x, interp, h_axis, rows, cols):
    """OpenCV's bilinear (1) or bicubic (2) resize of a uint8 image, in OpenCV's own fixed-point arithmetic
    (FORMAT.md 13.4): columns, then rows, each output position taking 2 or 4 source pixels with 11-bit integer
    coefficients computed from float32 positions as OpenCV computes them. Separable gathers and element-wise
    arithmetic, so ONNX Runtime's slow generic cubic kernel is not used either."""
    wide = ctx.op("Cast", [x], to=_onnx_type("int32"), hint=ctx.name + ":int32")
    # columns: the axis after H, whose coefficients broadcast over the channels
    taps, coeffs = _opencv_taps(ctx, interp, *cols, tag="x")
    coeffs = [ctx.op("Unsqueeze", [a, ctx.ints([1], "channel_axis")], hint=f"{ctx.name}:x:a{k}:c")
              for k, a in enumerate(coeffs)]
    across = _weighted(ctx, wide, taps, coeffs, h_axis + 1, "x")
    taps, coeffs = _opencv_taps(ctx, interp, *rows, tag="y")
    coeffs = [ctx.op("Unsqueeze", [b, ctx.ints([1, 2], "row_axes")], hint=f"{ctx.name}:y:b{k}:c")
              for k, b in enumerate(coeffs)]
    picked = [ctx.op("Gather", [across, t], axis=h_axis, hint=f"{ctx.name}:y:rows{k}") for k, t in enumerate(taps)]
    if interp == 1:  # ((((r0 >> 4) * b0) >> 16) + (((r1 >> 4) * b1) >> 16) + 2) >> 2, all values >= 0
        terms = []
        for k, (r, b) in enumerate(zip(picked, coeffs)):
            r = ctx.op("Div", [r, ctx.scalar(16, "int32", "16")], hint=f"{ctx.name}:y:shift{k}")
            r = ctx.op("Mul", [r, b], hint=f"{ctx.name}:y:weighted{k}")
            terms.append(ctx.op("Div", [r, ctx.scalar(65536, "int32", "65536")], hint=f"{ctx.name}:y:high{k}"))
        total = ctx.op("Add", [ctx.op("Add", terms, hint=ctx.name + ":y:sum"), ctx.scalar(2, "int32", "two")],
                       hint=ctx.name + ":y:rounding")
        out = ctx.op("Div", [total, ctx.scalar(4, "int32", "four")], hint=ctx.name + ":y:value")
        lo, hi = ctx.scalar(0, "int32", "lo"), ctx.scalar(255, "int32", "hi")
    else:  # float32: ((r0 * b0' + r1 * b1') + r2 * b2') + r3 * b3', b' = b / 2^22, rounded to nearest even
        unit = ctx.scalar(1.0 / (1 << 22), "float32", "unit")
        total = None
        for k, (r, b) in enumerate(zip(picked, coeffs)):
            scaled = ctx.op("Mul", [ctx.op("Cast", [b], to=_onnx_type("float32"), hint=f"{ctx.name}:y:bf{k}"), unit],
                            hint=f"{ctx.name}:y:bs{k}")
            term = ctx.op("Mul", [ctx.op("Cast", [r], to=_onnx_type("float32"), hint=f"{ctx.name}:y:rf{k}"), scaled],
                          hint=f"{ctx.name}:y:term{k}")
            total = term if total is None else ctx.op("Add", [total, term], hint=f"{ctx.name}:y:sum{k}")
        out = ctx.op("Round", [total], hint=ctx.name + ":y:rounded")
        lo, hi = ctx.scalar(0.0, "float32", "lo"), ctx.scalar(255.0, "float32", "hi")
    out = ctx.op("Clip", [out, lo, hi], hint=ctx.name + ":saturated")
    return ctx.op("Cast", [out], to=_onnx_type("uint8"))


def _weighted(ctx, source, taps, coeffs, axis, tag):
    """sum_k source[taps[k] along axis] * coeffs[k], in int32."""
    total = None
    for k, (t, a) in enumerate(zip(taps, coeffs)):
        term = ctx.op("Mul", [ctx.op("Gather", [source, t], axis=axis, hint=f"{ctx.name}:{tag}:tap{k}"), a],
                      hint=f"{ctx.name}:{tag}:term{k}")
        total = term if total is None else ctx.op("Add", [total, term], hint=f"{ctx.name}:{tag}:sum{k}")
    return total


def _opencv_taps(ctx, interp, old, new, tag):
    """For one axis: the source indices of each tap and the int32 coefficients (rint(c * 2048)), per output
    position, as OpenCV computes them: f = float32((i + 0.5) * (1 / (new / old)) - 0.5), s = floor(f), f -= s."""
    name = f"{ctx.name}:{tag}"
    f64, f32, i64 = _onnx_type("float64"), _onnx_type("float32"), _onnx_type("int64")
    old_f = ctx.op("Cast", [old], to=f64, hint=name + ":old")
    scale = ctx.op("Div", [ctx.scalar(1.0, "float64", "one64"),
                           ctx.op("Div", [ctx.op("Cast", [new], to=f64, hint=name + ":new"), old_f],
                                  hint=name + ":ratio")], hint=name + ":scale")
    count = ctx.op("Squeeze", [new, ctx.ints([0], "first")], hint=name + ":count")
    at = ctx.op("Cast", [ctx.op("Range", [ctx.scalar(0, "int64", "zero"), count, ctx.scalar(1, "int64", "step")],
                                hint=name + ":range")], to=f64, hint=name + ":at")
    centre = ctx.op("Sub", [ctx.op("Mul", [ctx.op("Add", [at, ctx.scalar(0.5, "float64", "half64")],
                                                  hint=name + ":mid"), scale], hint=name + ":scaled"),
                            ctx.scalar(0.5, "float64", "half64b")], hint=name + ":centre")
    f = ctx.op("Cast", [centre], to=f32, hint=name + ":f")
    floor = ctx.op("Floor", [f], hint=name + ":floor")
    frac = ctx.op("Sub", [f, floor], hint=name + ":frac")
    start = ctx.op("Cast", [floor], to=i64, hint=name + ":start")
    last = ctx.op("Sub", [old, ctx.ints([1], "one")], hint=name + ":last")
    zero = ctx.ints([0], "zero_index")

    def clamp(i, k):
        return ctx.op("Max", [ctx.op("Min", [i, last], hint=f"{name}:below{k}"), zero], hint=f"{name}:tap{k}")

    def const(v, tag2):
        return ctx.scalar(v, "float32", tag2)

    if interp == 1:  # at a border the position is clamped and its fraction is 0
        inside = ctx.op("And", [ctx.op("GreaterOrEqual", [start, zero], hint=name + ":from_first"),
                                ctx.op("Less", [start, last], hint=name + ":before_last")], hint=name + ":inside")
        frac = ctx.op("Where", [inside, frac, const(0.0, "f0")], hint=name + ":frac_clamped")
        start = clamp(start, "s")
        taps = [start, clamp(ctx.op("Add", [start, ctx.ints([1], "plus1")], hint=name + ":next"), 1)]
        cs = [ctx.op("Sub", [const(1.0, "f1"), frac], hint=name + ":c0"), frac]
    else:  # OpenCV's interpolateCubic, A = -0.75, in float32 and in its order of operations
        u = ctx.op("Add", [frac, const(1.0, "one32")], hint=name + ":u")

        def mul(a, b, t):
            return ctx.op("Mul", [a, b], hint=f"{name}:{t}")

        def add(a, b, t):
            return ctx.op("Add", [a, b], hint=f"{name}:{t}")

        def sub(a, b, t):
            return ctx.op("Sub", [a, b], hint=f"{name}:{t}")

        c0 = sub(mul(add(mul(sub(mul(const(-0.75, "a"), u, "au"), const(-3.75, "5a"), "au5"), u, "au5u"),
                         const(-6.0, "8a"), "au5u8"), u, "au5u8u"), const(-3.0, "4a"), "c0")

        def middle(v, t):  # ((A + 2) * v - (A + 3)) * v * v + 1
            inner = sub(mul(const(1.25, "a2"), v, t + "a"), const(2.25, "a3"), t + "b")
            return add(mul(mul(inner, v, t + "c"), v, t + "d"), const(1.0, "one_c"), t)

        c1 = middle(frac, "c1")
        c2 = middle(sub(const(1.0, "one_y"), frac, "y"), "c2")
        c3 = sub(sub(sub(const(1.0, "one_d"), c0, "c3a"), c1, "c3b"), c2, "c3")
        cs = [c0, c1, c2, c3]
        taps = [clamp(ctx.op("Add", [start, ctx.ints([k - 1], f"offset{k}")], hint=f"{name}:off{k}"), k)
                for k in range(4)]
    coeffs = [ctx.op("Cast", [ctx.op("Round", [mul_2048], hint=f"{name}:r{k}")], to=_onnx_type("int32"),
                     hint=f"{name}:coeff{k}")
              for k, mul_2048 in enumerate(ctx.op("Mul", [c, const(2048.0, "2048")], hint=f"{name}:c{k}x")
                                           for k, c in enumerate(cs))]
    return taps, coeffs


_OPS = {
    "_copy": _identity, "identity": _identity, "Dropout": _dropout, "BlockGrad": _identity,
    "Activation": _activation, "LeakyReLU": _leaky_relu,
    "relu": _unary("Relu"), "sigmoid": _unary("Sigmoid"), "tanh": _unary("Tanh"), "exp": _unary("Exp"),
    "log": _unary("Log"), "sqrt": _unary("Sqrt"), "abs": _unary("Abs"), "negative": _unary("Neg"),
    "floor": _unary("Floor"), "ceil": _unary("Ceil"), "erf": _unary("Erf"),
    "FullyConnected": _fully_connected, "Convolution": _convolution, "BatchNorm": _batch_norm,
    "Pooling": _pooling, "Flatten": _flatten, "flatten": _flatten,
    "softmax": _softmax("Softmax"), "log_softmax": _softmax("LogSoftmax"),
    "Concat": _concat, "concat": _concat, "Cast": _cast, "cast": _cast, "clip": _clip, "Pad": _pad,
    "pad": _pad, "mean": _reduce("ReduceMean"), "sum": _reduce("ReduceSum"), "max": _reduce("ReduceMax"),
    "min": _reduce("ReduceMin"), "transpose": _transpose, "expand_dims": _expand_dims, "Reshape": _reshape,
    "reshape": _reshape, "shape_array": _shape_array, "slice_axis": _slice_axis, "slice": _slice,
    "take": _take, "_arange": _arange,
    "elemwise_add": _binary("Add"), "elemwise_sub": _binary("Sub"), "elemwise_mul": _binary("Mul"),
    "elemwise_div": _binary("Div"), "broadcast_add": _binary("Add"), "broadcast_sub": _binary("Sub"),
    "broadcast_mul": _binary("Mul"), "broadcast_div": _binary("Div"), "_plus": _binary("Add"),
    "_minus": _binary("Sub"), "_mul": _binary("Mul"), "_div": _binary("Div"), "broadcast_plus": _binary("Add"),
    "broadcast_minus": _binary("Sub"), "_Plus": _binary("Add"), "_Minus": _binary("Sub"),
    "_Mul": _binary("Mul"), "_Div": _binary("Div"), "broadcast_maximum": _binary("Max"),
    "broadcast_minimum": _binary("Min"), "_maximum": _binary("Max"), "_minimum": _binary("Min"),
    "_plus_scalar": _scalar_op("Add"), "_minus_scalar": _scalar_op("Sub"), "_mul_scalar": _scalar_op("Mul"),
    "_div_scalar": _scalar_op("Div"), "_rminus_scalar": _scalar_op("Sub", reverse=True),
    "_rdiv_scalar": _scalar_op("Div", reverse=True), "_PlusScalar": _scalar_op("Add"),
    "_MinusScalar": _scalar_op("Sub"), "_MulScalar": _scalar_op("Mul"), "_DivScalar": _scalar_op("Div"),
    "_maximum_scalar": _scalar_op("Max"), "_minimum_scalar": _scalar_op("Min"),
    "_image_to_tensor": _image_to_tensor, "_image_normalize": _image_normalize, "_image_crop": _image_crop,
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
                raise MxportError("BAD_PARAMS", f"the graph's variable '{name}' is neither an input of the "
                                  "signature nor an array of the params file; export the model again")
            continue
        convert = _OPS.get(op)
        if convert is None:
            raise MxportError("INVALID_ARGUMENT", f"operator {op} (node '{name}') has no ONNX converter in mxport;"
                              f" the operators it converts are: {', '.join(SUPPORTED_OPS)}")
        ins = [values[(ref[0], ref[1])] for ref in node.get("inputs", [])]
        try:
            outs = convert(_Ctx(b, node, ins))
        except Unsupported as e:
            raise MxportError("INVALID_ARGUMENT", f"cannot convert to ONNX: {e}") from None
        except (KeyError, TypeError, ValueError) as e:
            raise MxportError("INVALID_ARGUMENT", f"cannot convert {op} node '{name}' to ONNX: its attributes "
                              f"{node.get('attrs', {})} are not understood ({type(e).__name__}: {e})") from None
        for k, v in enumerate(outs):
            values[(i, k)] = v
    out_infos = []
    for spec, head in zip(outputs, graph["heads"]):
        v = values[(head[0], head[1])]
        b.reserve(spec.name)
        b.nodes.append(helper.make_node("Identity", [v.name], [spec.name], name=b.fresh("output:" + spec.name)))
        out_infos.append(helper.make_tensor_value_info(spec.name, _onnx_type(spec.dtype),
                                                       _dims(spec.shape, spec.name, "batch")))
    in_infos = [helper.make_tensor_value_info(s.name, _onnx_type(s.dtype), _dims(s.shape, s.name, "batch"))
                for s in inputs]
    return helper.make_graph(b.nodes, graph_name, in_infos, out_infos, initializer=b.initializers)
