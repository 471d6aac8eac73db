"""Converters of MXNet's network operators to ONNX (one function per operator, see ``_convert._OPS``)."""

import numpy as np

from .._graph import CONNECTOR_ATTR, PORT_ATTR
from ._builder import _INT64_MAX, _NP, _ints, _onnx_type, _same, _Value


def _identity(ctx):
    """MXNet's _copy; a connector (spec/FORMAT.md section 4) is named connector:<kind>:<port> (section 13.1)."""
    kind = ctx.attrs.get(CONNECTOR_ATTR)
    name = f"connector:{kind}:{ctx.attrs.get(PORT_ATTR)}" if kind else None
    return _same(ctx, ctx.op("Identity", [ctx.inputs[0].name], node_name=name))


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
    y = ctx.op(
        "Conv",
        inputs,
        kernel_shape=kernel,
        strides=_spatial(ctx, "stride", n, 1),
        dilations=_spatial(ctx, "dilate", n, 1),
        pads=pad + pad,
        group=int(ctx.attr("num_group", 1)),
    )
    return _same(ctx, y)


def _batch_norm(ctx):
    x, gamma, beta, mean, var = ctx.inputs[:5]
    if int(ctx.attr("axis", 1)) != 1:
        ctx.fail("only axis=1 converts")
    scale = gamma.name
    if ctx.attr("fix_gamma", True):  # MXNet's symbol default: gamma is taken as 1 whatever the array holds
        ones = ctx.op("Mul", [gamma.name, ctx.scalar(0.0, gamma.dtype, "zero")], hint=ctx.name + ":zero_gamma")
        scale = ctx.op("Add", [ones, ctx.scalar(1.0, gamma.dtype, "one")], hint=ctx.name + ":unit_gamma")
    y = ctx.op(
        "BatchNormalization", [x.name, scale, beta.name, mean.name, var.name], epsilon=float(ctx.attr("eps", 1e-3))
    )
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
    common = dict(
        kernel_shape=kernel,
        strides=_spatial(ctx, "stride", n, 1),
        pads=pad + pad,
        ceil_mode=1 if convention == "full" else 0,
    )
    if kind == "max":
        return _same(ctx, ctx.op("MaxPool", [x.name], **common))
    if kind == "avg":
        include = ctx.attr("count_include_pad", True)
        return _same(
            ctx, ctx.op("AveragePool", [x.name], count_include_pad=1 if include is None or include else 0, **common)
        )
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
    return [_Value(ctx.op("Concat", [v.name for v in ctx.inputs], axis=dim), ctx.inputs[0].dtype, ctx.inputs[0].rank)]


def _cast(ctx):
    dtype = ctx.attr("dtype")
    return _same(ctx, ctx.op("Cast", [ctx.inputs[0].name], to=_onnx_type(dtype)), dtype=dtype)


def _clip(ctx):
    x = ctx.inputs[0]
    return _same(
        ctx,
        ctx.op(
            "Clip",
            [
                x.name,
                ctx.scalar(float(ctx.attr("a_min")), x.dtype, "min"),
                ctx.scalar(float(ctx.attr("a_max")), x.dtype, "max"),
            ],
        ),
    )


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
    return _same(
        ctx,
        ctx.op("Unsqueeze", [x.name, ctx.ints([int(ctx.attr("axis"))], "axes")]),
        rank=None if x.rank is None else x.rank + 1,
    )


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
    y = ctx.op(
        "Slice",
        [x.name, ctx.ints([begin], "starts"), ctx.ints([end], "ends"), ctx.ints([int(ctx.attr("axis"))], "axes")],
    )
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
    y = ctx.op(
        "Slice",
        [
            x.name,
            ctx.ints(starts, "starts"),
            ctx.ints(ends, "ends"),
            ctx.ints(list(range(len(begin))), "axes"),
            ctx.ints(steps, "steps"),
        ],
    )
    return _same(ctx, y)


def _take(ctx):
    x, idx = ctx.inputs[:2]
    axis = int(ctx.attr("axis", 0))
    mode = ctx.attr("mode", "clip")
    i = ctx.op("Cast", [idx.name], to=_onnx_type("int64"), hint=ctx.name + ":indices")  # MXNet truncates too
    if mode in ("clip", "wrap"):
        size = ctx.op(
            "Gather",
            [ctx.op("Shape", [x.name], hint=ctx.name + ":shape"), ctx.ints([axis], "axis")],
            hint=ctx.name + ":size",
            axis=0,
        )
        if mode == "clip":
            last = ctx.op("Sub", [size, ctx.ints([1], "one")], hint=ctx.name + ":last")
            i = ctx.op(
                "Max",
                [ctx.op("Min", [i, last], hint=ctx.name + ":below"), ctx.ints([0], "zero")],
                hint=ctx.name + ":clipped",
            )
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
