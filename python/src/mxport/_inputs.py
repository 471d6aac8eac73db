"""A call's inputs (the twin of Java's Inputs): checked against the signature before any native call, with
the likely fix for a wrong dtype or shape."""

import numpy as np

from ._errors import Fix, MxportError


def check_inputs(signature, arrays):
    """Checks a call's inputs against a signature (spec section 6) before any native call.

    ``arrays`` is a list in signature order, or a dict name -> array; each array has ``shape`` and ``dtype``.
    Returns the arrays as a list in signature order.
    """
    specs = signature.inputs
    names = [s.name for s in specs]
    if isinstance(arrays, dict):
        unknown = [n for n in arrays if n not in names]
        if unknown:
            raise MxportError(
                "UNKNOWN_INPUT", f"Unknown input name '{unknown[0]}', expected one of [{', '.join(names)}]"
            )
        missing = [n for n in names if n not in arrays]
        if missing:
            raise MxportError("INPUT_COUNT", f"missing input(s) {missing}: the model takes {names}")
        arrays = [arrays[n] for n in names]
    arrays = list(arrays)
    if len(arrays) != len(specs):
        raise MxportError("INPUT_COUNT", f"got {len(arrays)} input(s) but the model takes {len(specs)}: {names}")
    batch = None
    for spec, array in zip(specs, arrays):
        shape = tuple(int(d) for d in array.shape)
        dtype = np.dtype(array.dtype).name
        if dtype != spec.dtype:
            convert = f"convert it to {spec.dtype}, x.astype(np.{spec.dtype})"
            fix = (
                Fix.argument(
                    "load_transforms", True, before=convert + "; an image (uint8) feeds the model with its transforms: "
                )
                if dtype == "uint8" and spec.dtype.startswith("float")
                else Fix.text(convert)
            )
            raise MxportError(
                "DTYPE_MISMATCH", f"input '{spec.name}' has dtype {dtype} but the model takes {spec.dtype}", fix
            )
        if len(shape) != len(spec.shape) or any(w != -1 and g != w for g, w in zip(shape, spec.shape)):
            raise MxportError(
                "SHAPE_MISMATCH",
                f"input '{spec.name}' has shape {_fmt(shape)} but the model takes {_fmt(spec.shape)}",
                _shape_fix(shape, spec.shape),
            )
        if shape[0] < 1 or any(d < 1 for d in shape):
            raise MxportError(
                "SHAPE_MISMATCH",
                f"input '{spec.name}' has shape {_fmt(shape)}: every dimension, the batch included, must be at least 1",
            )
        if batch is not None and shape[0] != batch:
            raise MxportError(
                "SHAPE_MISMATCH",
                f"input '{spec.name}' has batch size {shape[0]} but "
                f"'{specs[0].name}' has {batch}: all inputs of a call share one batch size",
            )
        batch = shape[0]
    return arrays


def _fits(shape, want):
    return len(shape) == len(want) and all(w == -1 or g == w for g, w in zip(shape, want))


def _shape_fix(shape, want):
    """The likely fix for a shape mismatch: a missing batch axis, or channels on the wrong side."""
    if _fits((1,) + shape, want):
        return Fix.text("add the batch axis, x[None] (numpy) or x.expand_dims(0) (NDArray), for a batch of one")
    if len(shape) == 4 and len(want) == 4:
        if _fits((shape[0], shape[3], shape[1], shape[2]), want):
            return Fix.argument(
                "load_transforms",
                True,
                before="the array is channels-last (NHWC) and the model "
                "takes channels-first (NCHW): use x.transpose(0, 3, 1, 2); an image feeds the model "
                "with its transforms: ",
            )
        if _fits((shape[0], shape[2], shape[3], shape[1]), want):
            return Fix.text(
                "the array is channels-first (NCHW) and the model takes channels-last (NHWC): use "
                "x.transpose(0, 2, 3, 1)"
            )
    return None


def _fmt(shape):
    return "[" + ",".join(str(d) for d in shape) + "]"
