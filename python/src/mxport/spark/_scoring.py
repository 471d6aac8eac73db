"""The worker side of a transform: the model once per Python worker process, rows to samples, batches, outputs
and the error column (spec/SPARK.md)."""

import os
import shutil
import sys
import threading
import time
from typing import Dict, List, Optional

import numpy as np

from .._errors import MxportError, native_message
from ._plan import _OUT_NUMPY, _Plan, _local_prefix, _read_signature

# ---- the worker side ----

_models: Dict[tuple, object] = {}
_lock = threading.Lock()


def _model(plan):
    key = (plan.uri, plan.params_sha256, plan.load_transforms, plan.engine)
    with _lock:
        block = _models.get(key)
        if block is None:
            from .._load import load

            started = time.perf_counter()
            prefix, folder = _local_prefix(plan.uri, with_params=True)
            try:
                found = _read_signature(prefix).params_sha256 or ""
                if found != plan.params_sha256:
                    raise MxportError(
                        "DIGEST_MISMATCH",
                        f"the model at {plan.uri} changed after the job was planned "
                        f"(params sha256 {found[:12]}... here, {plan.params_sha256[:12]}... on the "
                        "driver): give every worker the same model files",
                    )
                block = load(prefix, load_transforms=plan.load_transforms, engine=plan.engine)
            finally:
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)
            _models[key] = block
            # one line per load in the executor's stderr log, as the Scala ModelCache logs
            print(
                f"mxport: loaded {plan.uri} (params sha256 {plan.params_sha256[:12]}) in "
                f"{time.perf_counter() - started:.2f} s in Python worker {os.getpid()}",
                file=sys.stderr,
                flush=True,
            )
    return block


def _dims(shape):
    """A shape as the error texts write it in every API: [1,224,224,3]."""
    return "[" + ",".join(str(int(d)) for d in shape) + "]"


class _BadRow(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.text = f"[{code}] {message}"


def _decode_image(value, inp, max_pixels):
    """The core's decoder with the pixel limit (spec/RUNTIME.md section 4), as the Scala API's Samples.image: a
    row's error is the core's message after the column's name."""
    from .._images import decode_image

    what = f"column '{inp.column}' (model input '{inp.name}')"
    try:
        img = decode_image(bytes(value), max_pixels=max_pixels)[0].asnumpy()
    except MxportError as e:
        raise _BadRow(e.code, f"{what}: {e.detail}") from None
    h, w = img.shape[:2]
    want = inp.shape
    if (want[1] != -1 and want[1] != h) or (want[2] != -1 and want[2] != w):
        raise _BadRow(
            "SHAPE_MISMATCH",
            f"{what}: the image is {w}x{h} (shape [1,{h},{w},3]) but the model takes "
            f"{_dims(want)}; resize the images to {want[2]}x{want[1]} first",
        )
    return np.ascontiguousarray(img, dtype=np.uint8)


def _numeric(value, inp):
    what = f"column '{inp.column}' (model input '{inp.name}')"
    want = inp.shape[1:]
    try:
        arr = np.array(value, dtype=object)
    except ValueError:
        arr = None
    if arr is None or (
        arr.dtype == object and arr.ndim > 0 and any(isinstance(v, (list, tuple, np.ndarray)) for v in arr.reshape(-1))
    ):
        raise _BadRow("SHAPE_MISMATCH", f"{what}: nested arrays of different lengths; a sample is a rectangular array")
    if any(v is None for v in arr.reshape(-1)):
        raise _BadRow("INVALID_ARGUMENT", f"{what} holds a null element")
    if arr.ndim != len(want):
        if arr.ndim == 1 and len(want) > 1:
            fixed = int(np.prod([d for d in want if d != -1]))
            free = sum(1 for d in want if d == -1)
            n = arr.size
            if free > 1:
                raise _BadRow(
                    "SHAPE_MISMATCH",
                    f"{what}: a flat array of {n} values cannot say the shape of one sample "
                    f"of {_dims(inp.shape)}; give nested arrays",
                )
            if n == 0 or n % fixed or (free == 0 and n != fixed):
                raise _BadRow(
                    "SHAPE_MISMATCH",
                    f"{what} has {n} values but one sample of {_dims(inp.shape)} takes "
                    + (f"{fixed}" if free == 0 else f"a positive multiple of {fixed}"),
                )
            arr = arr.reshape([n // fixed if d == -1 else d for d in want])
        else:
            raise _BadRow(
                "SHAPE_MISMATCH",
                f"{what} has rank {arr.ndim} but one sample of {_dims(inp.shape)} has rank {len(want)}",
            )
    if any(g < 1 or (w != -1 and w != g) for g, w in zip(arr.shape, want)):
        raise _BadRow(
            "SHAPE_MISMATCH",
            f"{what} has sample shape {_dims(arr.shape)} (shape {_dims((1,) + arr.shape)}) "
            f"but the model takes {_dims(inp.shape)}",
        )
    if inp.dtype in ("float32", "float64"):
        return arr.astype(inp.dtype)
    info = np.iinfo(inp.dtype)
    as_float = arr.astype("float64")
    ints = arr.astype("int64") if all(isinstance(v, (int, np.integer)) for v in arr.reshape(-1)) else None
    if ints is None:
        if not np.all(np.isfinite(as_float)) or np.any(as_float != np.rint(as_float)):
            raise _BadRow("DTYPE_MISMATCH", f"{what}: values are not all integers, as {inp.dtype} takes")
        ints = as_float.astype("int64")
    if ints.min() < info.min or ints.max() > info.max:
        raise _BadRow("DTYPE_MISMATCH", f"{what}: values outside {info.min}..{info.max}, the range of {inp.dtype}")
    return ints.astype(inp.dtype)


def _sample(values, inp, max_pixels):
    if values is None:
        raise _BadRow("INVALID_ARGUMENT", f"column '{inp.column}' (model input '{inp.name}') is null")
    return _decode_image(values, inp, max_pixels) if inp.image else _numeric(values, inp)


def _predict(block, plan, batch, padded):
    """Runs rows ``batch`` (lists of per-input arrays) padded to ``padded`` rows; per-row output arrays."""
    import mxnet as mx

    n = len(batch)
    rows = batch + [batch[-1]] * (padded - n)
    arrays = [mx.nd.array(np.stack([r[i] for r in rows]), dtype=inp.dtype) for i, inp in enumerate(plan.inputs)]
    outs = block(*arrays)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    result = []
    flat = [o.asnumpy().reshape(padded, -1).astype(_OUT_NUMPY[spec.dtype]) for o, spec in zip(outs, plan.outputs)]
    for k in range(n):
        result.append([f[k] for f in flat])
    return result


def _error_text(e):
    if isinstance(e, _BadRow):
        return e.text
    if isinstance(e, MxportError):
        return str(e)
    return f"[NATIVE_ERROR] {type(e).__name__}: {native_message(e)}"


def _score(plan, batches):
    import pyarrow as pa
    from pyspark import TaskContext

    ctx = TaskContext.get()
    partition = ctx.partitionId() if ctx is not None else 0
    block = None
    index = 0
    out_types = [
        pa.list_(
            pa.from_numpy_dtype(np.dtype(_OUT_NUMPY[o.dtype])),
        )
        for o in plan.outputs
    ]
    for rb in batches:
        n = rb.num_rows
        if n == 0:
            continue
        if block is None:
            block = _model(plan)
        columns = {inp.column: rb.column(rb.schema.get_field_index(inp.column)).to_pylist() for inp in plan.inputs}
        ids = rb.column(rb.schema.get_field_index(plan.id_col)).to_pylist() if plan.id_col else None
        samples: List[Optional[list]] = [None] * n
        errors: List[Optional[str]] = [None] * n
        for r in range(n):
            try:
                samples[r] = [_sample(columns[inp.column][r], inp, plan.max_image_pixels) for inp in plan.inputs]
            except _BadRow as e:
                errors[r] = e.text
            except Exception as e:  # a value no check foresaw: the row's error, not the job's
                errors[r] = f"[INVALID_ARGUMENT] {type(e).__name__}: {e}"
        results: List[Optional[list]] = [None] * n
        r = 0
        while r < n:  # batches: consecutive good rows of one shape; bad rows in between do not close a batch
            if samples[r] is None:
                r += 1
                continue
            shape = [a.shape for a in samples[r]]
            members = [r]
            j = r + 1
            while j < n and len(members) < plan.batch_size:
                if samples[j] is not None:
                    if [a.shape for a in samples[j]] != shape:
                        break
                    members.append(j)
                j += 1
            padded = plan.batch_size if plan.pad_tail else len(members)
            try:
                for m, res in zip(members, _predict(block, plan, [samples[m] for m in members], padded)):
                    results[m] = res
            except Exception:
                for m in members:  # find the row: each alone
                    try:
                        results[m] = _predict(block, plan, [samples[m]], 1)[0]
                    except Exception as e:
                        errors[m] = _error_text(e)
            r = j
        if plan.fail_on_error:
            for r in range(n):
                if errors[r] is not None:
                    name = f" ({plan.id_col} = {ids[r]})" if ids is not None else ""
                    raise RuntimeError(
                        f"mxport cannot score row {index + r} of partition {partition}{name} with "
                        f"{plan.uri}: {errors[r]}"
                    )
        arrays = list(rb.columns)
        for k in range(len(plan.outputs)):
            arrays.append(
                pa.array([None if results[r] is None else results[r][k] for r in range(n)], type=out_types[k])
            )
        names = list(rb.schema.names) + [o.column for o in plan.outputs]
        if plan.error_col:
            arrays.append(pa.array(errors, type=pa.string()))
            names.append(plan.error_col)
        index += n
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def score_state(state, batches):
    """The task's entry after ``_task.run`` prepared the worker: the plan from plain data, then the batches."""
    return _score(_Plan.from_state(state["plan"]), batches)
