"""Converters of the image operators behind Gluon's transforms (``_image_resize`` as OpenCV computes it in uint8,
``_image_to_tensor``, ``_image_normalize``, ``_image_crop``): they take an HWC image or an NHWC batch."""

import numpy as np

from ._builder import _NP, _ints, _onnx_type, _same


# -- the image operators (Gluon's transforms; they take an HWC image or an NHWC batch) --


def _image_to_tensor(ctx):
    x = ctx.inputs[0]
    perm = [2, 0, 1] if x.rank == 3 else [0, 3, 1, 2] if x.rank == 4 else None
    if perm is None:
        ctx.fail("the input's rank is unknown")
    # the transpose first: it meets the one that ends a uint8 resize (_opencv_uint8), and both go
    t = ctx.op("Transpose", [x.name], perm=perm, hint=ctx.name + ":chw")
    f = ctx.op("Cast", [t], to=_onnx_type("float32"), hint=ctx.name + ":float")
    return _same(ctx, ctx.op("Div", [f, ctx.scalar(255.0, "float32", "255")]), dtype="float32")


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
    y = ctx.op(
        "Slice",
        [x.name, ctx.ints([top, left], "starts"), ctx.ints([top + h, left + w], "ends"), ctx.ints(axes, "axes")],
    )
    return _same(ctx, y)


# OpenCV's interpolations (MXNet's `interp`) as ONNX Resize attributes, for what _opencv_uint8 does not take
# (float images, nearest). OpenCV maps a target pixel to (x + 0.5) * scale - 0.5 (ONNX "half_pixel") for linear
# and cubic (cubic coefficient -0.75, as OpenCV), and to floor(x * scale) ("asymmetric", nearest_mode "floor")
# for nearest. Area and Lanczos have no ONNX form.
_INTERP = {
    0: dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    1: dict(mode="linear", coordinate_transformation_mode="half_pixel"),
    2: dict(mode="cubic", coordinate_transformation_mode="half_pixel", cubic_coeff_a=-0.75),
}


def _image_resize(ctx):
    x = ctx.inputs[0]
    interp = int(ctx.attr("interp", 1))
    if interp not in _INTERP:
        ctx.fail(
            f"interp={interp} (OpenCV's area or Lanczos resampling) has no ONNX Resize equivalent; export "
            "the model with interp=1 (bilinear), 2 (bicubic) or 0 (nearest)"
        )
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
        source = ctx.op(
            "Reshape", [source, ctx.op("Shape", [source], hint=ctx.name + ":nchw_shape")], hint=ctx.name + ":pinned"
        )
    resized = ctx.op("Resize", [source, "", "", sizes], hint=ctx.name + ":resized", **_INTERP[interp])
    if x.dtype != "float32":
        info = np.iinfo(_NP[x.dtype]) if np.issubdtype(_NP[x.dtype], np.integer) else None
        if info is not None:
            resized = ctx.op("Round", [resized], hint=ctx.name + ":rounded")
            resized = ctx.op(
                "Clip",
                [resized, ctx.scalar(float(info.min), "float32", "lo"), ctx.scalar(float(info.max), "float32", "hi")],
                hint=ctx.name + ":saturated",
            )
        resized = ctx.op("Cast", [resized], to=_onnx_type(x.dtype), hint=ctx.name + ":cast")
    return _same(ctx, ctx.op("Transpose", [resized], perm=back))


def _opencv_uint8(ctx, x, interp, h_axis, rows, cols):
    """OpenCV's bilinear (1) or bicubic (2) resize of a uint8 image, in OpenCV's own fixed-point arithmetic
    (FORMAT.md 13.4): columns, then rows, each output position taking 2 or 4 source pixels with 11-bit integer
    coefficients computed from float32 positions as OpenCV computes them. Separable gathers and element-wise
    arithmetic, so ONNX Runtime's slow generic cubic kernel is not used either. It computes on the planar
    (N)CHW image, where the coefficients of a column broadcast along the innermost axis (OpenVINO's and ONNX
    Runtime's vector kernels; on HWC, with 3 channels innermost, OpenVINO gathered the columns with its reference
    kernel and the pre-processing took longer than its int8 network), gathers the columns from the uint8 image,
    and transposes back to HWC at the end: a ToTensor after it cancels that transpose (_Builder.op).

    Measured and left out (2026-12-07; ResNet-18's 300x300 to 224, batch 25, CPU time with 1 thread, OpenVINO
    2026.4 at f32, the pre-processing alone, interleaved with this form): the planar image widened to int32
    before the gathers (1.42 -> 1.89 ms per sample); all the column taps in one Gather, one Cast, a Mul and a
    ReduceSum (1.50 -> 1.97, and OpenVINO's outputs moved by 2.8e-6); the columns on (N)CWH with whole-row
    gathers, the rows then gathered along the innermost axis (1.47 -> 1.84); ToTensor reading the int32 values
    before the uint8 Cast (OpenVINO 1.24 -> 1.12, but nothing end to end on the int8 file, where OpenVINO
    already folds that Cast into the input's FakeQuantize, and ONNX Runtime 2.75 -> 3.00); HWC seen as
    [H, W * C], the column taps ``tap * C + c`` and no transposes (1.31 -> 1.36, and OpenVINO's int8 file 5.95
    -> 6.17 end to end: its Transpose moves to the float32 image after ToTensor's Cast; and the Reshape back to
    HWC loses the rank in shape inference, so ONNX Runtime fuses the network differently: outputs off by 1e-8)."""
    lead = list(range(h_axis))  # the batch axis, if any
    planar = ctx.op("Transpose", [x], perm=lead + [h_axis + 2, h_axis, h_axis + 1], hint=ctx.name + ":planar")
    rank = h_axis + 3
    # columns: the innermost axis, along which their coefficients broadcast; picked from the uint8 image
    taps, coeffs = _opencv_taps(ctx, interp, *cols, tag="x")
    across = _weighted(ctx, planar, taps, coeffs, rank - 1, "x")
    taps, coeffs = _opencv_taps(ctx, interp, *rows, tag="y")
    coeffs = [
        ctx.op("Unsqueeze", [b, ctx.ints([1], "row_axis")], hint=f"{ctx.name}:y:b{k}:c") for k, b in enumerate(coeffs)
    ]
    if interp == 1:  # r >> 4 of every row before the rows are picked: once, not once per tap
        across = ctx.op("Div", [across, ctx.scalar(16, "int32", "16")], hint=f"{ctx.name}:x:shifted")
    picked = [ctx.op("Gather", [across, t], axis=rank - 2, hint=f"{ctx.name}:y:rows{k}") for k, t in enumerate(taps)]
    if interp == 1:  # ((((r0 >> 4) * b0) >> 16) + (((r1 >> 4) * b1) >> 16) + 2) >> 2, all values >= 0
        terms = []
        for k, (r, b) in enumerate(zip(picked, coeffs)):
            r = ctx.op("Mul", [r, b], hint=f"{ctx.name}:y:weighted{k}")
            terms.append(ctx.op("Div", [r, ctx.scalar(65536, "int32", "65536")], hint=f"{ctx.name}:y:high{k}"))
        total = ctx.op(
            "Add",
            [ctx.op("Add", terms, hint=ctx.name + ":y:sum"), ctx.scalar(2, "int32", "two")],
            hint=ctx.name + ":y:rounding",
        )
        out = ctx.op("Div", [total, ctx.scalar(4, "int32", "four")], hint=ctx.name + ":y:value")
        lo, hi = ctx.scalar(0, "int32", "lo"), ctx.scalar(255, "int32", "hi")
    else:  # float32: ((r0 * b0' + r1 * b1') + r2 * b2') + r3 * b3', b' = b / 2^22, rounded to nearest even
        unit = ctx.scalar(1.0 / (1 << 22), "float32", "unit")
        total = None
        for k, (r, b) in enumerate(zip(picked, coeffs)):
            scaled = ctx.op(
                "Mul",
                [ctx.op("Cast", [b], to=_onnx_type("float32"), hint=f"{ctx.name}:y:bf{k}"), unit],
                hint=f"{ctx.name}:y:bs{k}",
            )
            term = ctx.op(
                "Mul",
                [ctx.op("Cast", [r], to=_onnx_type("float32"), hint=f"{ctx.name}:y:rf{k}"), scaled],
                hint=f"{ctx.name}:y:term{k}",
            )
            total = term if total is None else ctx.op("Add", [total, term], hint=f"{ctx.name}:y:sum{k}")
        out = ctx.op("Round", [total], hint=ctx.name + ":y:rounded")
        lo, hi = ctx.scalar(0.0, "float32", "lo"), ctx.scalar(255.0, "float32", "hi")
    out = ctx.op("Clip", [out, lo, hi], hint=ctx.name + ":saturated")
    out = ctx.op("Cast", [out], to=_onnx_type("uint8"), hint=ctx.name + ":uint8")
    return ctx.op("Transpose", [out], perm=lead + [h_axis + 1, h_axis + 2, h_axis])


def _weighted(ctx, source, taps, coeffs, axis, tag):
    """sum_k int32(source[taps[k] along axis]) * coeffs[k], in int32 (source: the uint8 image, whose gathers move
    a quarter of the bytes of an int32 copy's)."""
    total = None
    for k, (t, a) in enumerate(zip(taps, coeffs)):
        picked = ctx.op("Gather", [source, t], axis=axis, hint=f"{ctx.name}:{tag}:tap{k}")
        term = ctx.op(
            "Mul",
            [ctx.op("Cast", [picked], to=_onnx_type("int32"), hint=f"{ctx.name}:{tag}:int{k}"), a],
            hint=f"{ctx.name}:{tag}:term{k}",
        )
        total = term if total is None else ctx.op("Add", [total, term], hint=f"{ctx.name}:{tag}:sum{k}")
    return total


def _opencv_taps(ctx, interp, old, new, tag):
    """For one axis: the source indices of each tap and the int32 coefficients (rint(c * 2048)), per output
    position, as OpenCV computes them: f = float32((i + 0.5) * (1 / (new / old)) - 0.5), s = floor(f), f -= s."""
    name = f"{ctx.name}:{tag}"
    frac, start = _source_positions(ctx, name, old, new)
    last = ctx.op("Sub", [old, ctx.ints([1], "one")], hint=name + ":last")
    zero = ctx.ints([0], "zero_index")

    def clamp(i, k):
        return ctx.op("Max", [ctx.op("Min", [i, last], hint=f"{name}:below{k}"), zero], hint=f"{name}:tap{k}")

    def const(v, tag2):
        return ctx.scalar(v, "float32", tag2)

    if interp == 1:  # at a border the position is clamped and its fraction is 0
        inside = ctx.op(
            "And",
            [
                ctx.op("GreaterOrEqual", [start, zero], hint=name + ":from_first"),
                ctx.op("Less", [start, last], hint=name + ":before_last"),
            ],
            hint=name + ":inside",
        )
        frac = ctx.op("Where", [inside, frac, const(0.0, "f0")], hint=name + ":frac_clamped")
        start = clamp(start, "s")
        taps = [start, clamp(ctx.op("Add", [start, ctx.ints([1], "plus1")], hint=name + ":next"), 1)]
        cs = [ctx.op("Sub", [const(1.0, "f1"), frac], hint=name + ":c0"), frac]
    else:  # OpenCV's interpolateCubic, A = -0.75, in float32 and in its order of operations
        cs = _cubic_coefficients(ctx, name, frac, const)
        taps = [
            clamp(ctx.op("Add", [start, ctx.ints([k - 1], f"offset{k}")], hint=f"{name}:off{k}"), k) for k in range(4)
        ]
    coeffs = [
        ctx.op(
            "Cast", [ctx.op("Round", [mul_2048], hint=f"{name}:r{k}")], to=_onnx_type("int32"), hint=f"{name}:coeff{k}"
        )
        for k, mul_2048 in enumerate(
            ctx.op("Mul", [c, const(2048.0, "2048")], hint=f"{name}:c{k}x") for k, c in enumerate(cs)
        )
    ]
    return taps, coeffs


def _source_positions(ctx, name, old, new):
    """Per output position of one axis: the fraction and the first source index, as OpenCV computes them."""
    f64, f32, i64 = _onnx_type("float64"), _onnx_type("float32"), _onnx_type("int64")
    old_f = ctx.op("Cast", [old], to=f64, hint=name + ":old")
    scale = ctx.op(
        "Div",
        [
            ctx.scalar(1.0, "float64", "one64"),
            ctx.op("Div", [ctx.op("Cast", [new], to=f64, hint=name + ":new"), old_f], hint=name + ":ratio"),
        ],
        hint=name + ":scale",
    )
    count = ctx.op("Squeeze", [new, ctx.ints([0], "first")], hint=name + ":count")
    at = ctx.op(
        "Cast",
        [
            ctx.op(
                "Range", [ctx.scalar(0, "int64", "zero"), count, ctx.scalar(1, "int64", "step")], hint=name + ":range"
            )
        ],
        to=f64,
        hint=name + ":at",
    )
    centre = ctx.op(
        "Sub",
        [
            ctx.op(
                "Mul",
                [ctx.op("Add", [at, ctx.scalar(0.5, "float64", "half64")], hint=name + ":mid"), scale],
                hint=name + ":scaled",
            ),
            ctx.scalar(0.5, "float64", "half64b"),
        ],
        hint=name + ":centre",
    )
    f = ctx.op("Cast", [centre], to=f32, hint=name + ":f")
    floor = ctx.op("Floor", [f], hint=name + ":floor")
    frac = ctx.op("Sub", [f, floor], hint=name + ":frac")
    return frac, ctx.op("Cast", [floor], to=i64, hint=name + ":start")


def _cubic_coefficients(ctx, name, frac, const):
    """OpenCV's interpolateCubic (A = -0.75) of the fractions, in float32 and in its order of operations."""
    u = ctx.op("Add", [frac, const(1.0, "one32")], hint=name + ":u")

    def mul(a, b, t):
        return ctx.op("Mul", [a, b], hint=f"{name}:{t}")

    def add(a, b, t):
        return ctx.op("Add", [a, b], hint=f"{name}:{t}")

    def sub(a, b, t):
        return ctx.op("Sub", [a, b], hint=f"{name}:{t}")

    c0 = sub(
        mul(
            add(
                mul(sub(mul(const(-0.75, "a"), u, "au"), const(-3.75, "5a"), "au5"), u, "au5u"),
                const(-6.0, "8a"),
                "au5u8",
            ),
            u,
            "au5u8u",
        ),
        const(-3.0, "4a"),
        "c0",
    )

    def middle(v, t):  # ((A + 2) * v - (A + 3)) * v * v + 1
        inner = sub(mul(const(1.25, "a2"), v, t + "a"), const(2.25, "a3"), t + "b")
        return add(mul(mul(inner, v, t + "c"), v, t + "d"), const(1.0, "one_c"), t)

    c1 = middle(frac, "c1")
    c2 = middle(sub(const(1.0, "one_y"), frac, "y"), "c2")
    c3 = sub(sub(sub(const(1.0, "one_d"), c0, "c3a"), c1, "c3b"), c2, "c3")
    return [c0, c1, c2, c3]
