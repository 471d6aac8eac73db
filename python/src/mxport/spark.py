"""Score Spark DataFrames with an mxport model, in pure PySpark (``DataFrame.mapInArrow``, no py4j).

>>> from mxport.spark import transform
>>> images = spark.read.format("binaryFile").load("photos/")          # path, ..., content
>>> scored = transform(images, "/models/resnet18", batch_size=8)       # + prob: array<float>, mxport_error
>>> scored.select("path", "prob").show()

Works on classic Spark and on Spark Connect, whatever Scala build the cluster runs, because everything runs in
Python workers: the driver (or Connect client) reads the model's signature and builds the output schema; each
Python worker loads the model once (``mxport.load``) and keeps it for the tasks it serves.

Model URI: a local path prefix present on every worker, a ``file:`` URI, ``sparkfiles:NAME`` (files added with
``SparkContext.addFile``: ``NAME-symbol.json`` and ``NAME.params``), or any URI that ``pyarrow.fs`` opens
(``hdfs://``, ``s3://``, ``gs://``, ...), copied once per worker to a temporary folder.

Inputs: model input ``x`` reads column ``x`` (or ``input_cols={"x": "col"}``); a single uint8 NHWC image input
without a column of its name reads ``content``, the column of ``binaryFile``. A binary column is decoded in the
worker (``mx.image.imdecode``: OpenCV, RGB); a numeric column holds one sample per row: nested arrays of the
sample's rank, one flat array in C order, or a scalar for a rank-1 input. Values must convert exactly for integer
inputs; doubles are rounded to float32 for float32 inputs.

Outputs: one column per model output (``output_cols`` renames), a flat array (C order) of one sample's output,
of the output's dtype (float16 widens to float, uint8 to short).

Batches: up to ``batch_size`` consecutive rows whose inputs have the same shape run together; a short batch (a
size change or the end of an Arrow batch) is padded to ``batch_size`` by repeating its last row, unless
``pad_tail=False``. With padding every batch of a shape has one size, so a row's outputs do not depend on its
neighbours or on where partitions and Arrow batches are cut.

Bad rows (null, undecodable, misshaped): ``on_error="column"`` (default) gives null outputs and
``"[CODE] message"`` in ``error_col``; ``on_error="fail"`` raises an error naming the row (its index in the
partition and its ``id_col`` value, by default ``path``).

Threads: each concurrent task runs in its own Python worker process with its own MXNet; the worker computes
with ``spark.task.cpus`` OpenMP threads (unless ``OMP_NUM_THREADS`` or ``MXNET_OMP_MAX_THREADS`` is set), so N
concurrent tasks use the executor's cores without oversubscribing them.
"""

import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from ._errors import MxportError, native_message

__all__ = ["transform", "output_schema", "load_count"]

CONTENT_COLUMN = "content"
PATH_COLUMN = "path"
_SPARKFILES = "sparkfiles:"

# dtype -> (numpy dtype of the model, Spark SQL type name, pyarrow type factory name)
_SPARK_TYPES = {
    "float32": "float", "float16": "float", "float64": "double", "uint8": "short", "int8": "byte",
    "int32": "int", "int64": "bigint",
}
_OUT_NUMPY = {"float32": "float32", "float16": "float32", "float64": "float64", "uint8": "int16", "int8": "int8",
              "int32": "int32", "int64": "int64"}


@dataclass(frozen=True)
class _Input:
    name: str
    shape: Tuple[int, ...]
    dtype: str
    column: str
    image: bool


@dataclass(frozen=True)
class _Output:
    name: str
    shape: Tuple[int, ...]
    dtype: str
    column: str


@dataclass(frozen=True)
class _Plan:
    uri: str
    params_sha256: str
    load_transforms: bool
    inputs: Tuple[_Input, ...]
    outputs: Tuple[_Output, ...]
    batch_size: int
    pad_tail: bool
    fail_on_error: bool
    error_col: Optional[str]
    id_col: Optional[str]


# ---- where the model is ----

def _scheme(uri):
    colon = uri.find(":")
    head = uri[:colon]
    if colon <= 1 or not head[0].isalpha() or not all(c.isalnum() or c in "+.-" for c in head):
        return None  # a plain path (or a Windows drive letter)
    return head.lower()


def _local_prefix(uri, with_params):
    """(local prefix, temporary folder to delete or None) for the model at ``uri`` on this machine."""
    scheme = _scheme(uri)
    if scheme is None:
        return uri, None
    if scheme == "file":
        from urllib.parse import unquote, urlparse
        return unquote(urlparse(uri).path), None
    if uri.startswith(_SPARKFILES):
        from pyspark import SparkFiles
        name = uri[len(_SPARKFILES):]
        if not name or "/" in name:
            raise MxportError("INVALID_ARGUMENT", f"a sparkfiles: URI names the prefix of files added with "
                              f"SparkContext.addFile, e.g. sparkfiles:resnet18; got {uri!r}")
        return SparkFiles.get(name), None
    import pyarrow.fs as pafs
    fs, path = pafs.FileSystem.from_uri(uri)
    folder = tempfile.mkdtemp(prefix="mxport-spark-")
    try:
        local = os.path.join(folder, "model")
        for suffix in ("-symbol.json",) + ((".params",) if with_params else ()):
            info = fs.get_file_info(path + suffix)
            if info.type != pafs.FileType.File:
                raise MxportError("MODEL_NOT_FOUND", f"{uri}{suffix} does not exist; check the model URI (a model is "
                                  "<prefix>-symbol.json and <prefix>.params, written by mxport.export)")
            with fs.open_input_stream(path + suffix) as src, open(local + suffix, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        return local, folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _read_signature(uri):
    from ._load import read_signature
    prefix, folder = _local_prefix(uri, with_params=False)
    try:
        return read_signature(prefix)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


# ---- the plan, on the driver ----

def _is_image(spec):
    s = spec.shape
    return (spec.dtype == "uint8" and len(s) == 4 and s[3] in (3, -1) and spec.layout in (None, "NHWC"))


def _leaf(data_type):
    from pyspark.sql.types import ArrayType
    depth = 0
    while isinstance(data_type, ArrayType):
        data_type, depth = data_type.elementType, depth + 1
    return data_type, depth


def _plan(schema, uri, *, batch_size, input_cols, output_cols, pad_tail, on_error, error_col, id_col,
          load_transforms):
    from pyspark.sql.types import (BinaryType, ByteType, DoubleType, FloatType, IntegerType, LongType,
                                   ShortType)
    if not isinstance(batch_size, int) or batch_size < 1:
        raise MxportError("INVALID_ARGUMENT", f"batch_size must be an integer >= 1, got {batch_size!r}")
    if on_error not in ("column", "fail"):
        raise MxportError("INVALID_ARGUMENT", f"on_error must be 'column' or 'fail', got {on_error!r}")
    whole = _read_signature(uri)
    sig = whole if load_transforms else whole.network
    input_cols, output_cols = dict(input_cols or {}), dict(output_cols or {})
    names = schema.fieldNames()
    input_names = [s.name for s in sig.inputs]
    unknown = sorted(set(input_cols) - set(input_names))
    if unknown:
        raise MxportError("UNKNOWN_INPUT", f"input_cols names {unknown}, but the model's inputs are {input_names}")
    unknown = sorted(set(output_cols) - {s.name for s in sig.outputs})
    if unknown:
        raise MxportError("INVALID_ARGUMENT", f"output_cols names {unknown}, but the model's outputs are "
                          f"{[s.name for s in sig.outputs]}")
    numeric = (ByteType, ShortType, IntegerType, LongType, FloatType, DoubleType)
    inputs = []
    for spec in sig.inputs:
        column = input_cols.get(spec.name)
        if column is None:
            if spec.name in names:
                column = spec.name
            elif (len(sig.inputs) == 1 and _is_image(spec) and CONTENT_COLUMN in names
                  and isinstance(schema[CONTENT_COLUMN].dataType, BinaryType)):
                column = CONTENT_COLUMN
            else:
                raise MxportError("INVALID_ARGUMENT", f"no column for model input '{spec.name}' {spec.dtype}"
                                  f"{list(spec.shape)}: the DataFrame has {names}; name a column '{spec.name}' or "
                                  f"pass input_cols={{'{spec.name}': '<column>'}}")
        if column not in names:
            raise MxportError("INVALID_ARGUMENT", f"column '{column}' (for model input '{spec.name}') is not in the "
                              f"DataFrame: {names}")
        if spec.dtype == "float16":
            raise MxportError("DTYPE_MISMATCH", f"model input '{spec.name}' is float16, which the Spark integration "
                              "does not feed yet")
        t = schema[column].dataType
        if isinstance(t, BinaryType):
            if not _is_image(spec):
                raise MxportError("DTYPE_MISMATCH", f"column '{column}' holds bytes, which are decoded as images, but "
                                  f"model input '{spec.name}' is {spec.dtype}{list(spec.shape)}, not uint8 NHWC with 3 "
                                  "channels; give it a numeric array column")
            image = True
        else:
            leaf, depth = _leaf(t)
            if not isinstance(leaf, numeric):
                raise MxportError("DTYPE_MISMATCH", f"column '{column}' is {t.simpleString()}; model input "
                                  f"'{spec.name}' takes a numeric array column or, for images, binary")
            rank = len(spec.shape) - 1
            if depth != rank and not (depth == 1 and rank > 1):
                raise MxportError("SHAPE_MISMATCH", f"column '{column}' is {t.simpleString()} (arrays nested {depth} "
                                  f"deep) but one sample of model input '{spec.name}' has rank {rank}")
            image = False
        inputs.append(_Input(spec.name, tuple(spec.shape), spec.dtype, column, image))
    outputs = tuple(_Output(s.name, tuple(s.shape), s.dtype, output_cols.get(s.name, s.name)) for s in sig.outputs)
    err = None if on_error == "fail" else error_col
    added = [o.column for o in outputs] + ([err] if err else [])
    for c in added:
        if added.count(c) > 1:
            raise MxportError("INVALID_ARGUMENT", f"two output columns would be named '{c}'; rename one with "
                              "output_cols or error_col")
        if c in names:
            raise MxportError("INVALID_ARGUMENT", f"the DataFrame already has a column '{c}'; rename the model's "
                              "output with output_cols={'<output>': '<new column>'} or error_col, or drop the column")
    if id_col is None:
        id_col = PATH_COLUMN if PATH_COLUMN in names else None
    elif id_col not in names:
        raise MxportError("INVALID_ARGUMENT", f"id_col '{id_col}' is not a column: {names}")
    return _Plan(uri, whole.params_sha256 or "", load_transforms, tuple(inputs), outputs, batch_size, pad_tail,
                 on_error == "fail", err, id_col)


def _schema(schema, plan):
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType, _parse_datatype_string
    fields = list(schema.fields)
    for o in plan.outputs:
        fields.append(StructField(o.column, ArrayType(_parse_datatype_string(_SPARK_TYPES[o.dtype]), False), True))
    if plan.error_col:
        fields.append(StructField(plan.error_col, StringType(), True))
    return StructType(fields)


# ---- the worker side ----

_models: Dict[tuple, object] = {}
_loads: Dict[tuple, int] = {}
_lock = threading.Lock()


def load_count(uri=None):
    """How many models this Python process loaded (from ``uri`` only, when given); for tests."""
    return sum(n for k, n in _loads.items() if uri is None or k[0] == uri)


def _model(plan):
    key = (plan.uri, plan.params_sha256, plan.load_transforms)
    with _lock:
        block = _models.get(key)
        if block is None:
            from ._load import load
            prefix, folder = _local_prefix(plan.uri, with_params=True)
            try:
                found = _read_signature(prefix).params_sha256 or ""
                if found != plan.params_sha256:
                    raise MxportError("DIGEST_MISMATCH", f"the model at {plan.uri} changed after the job was planned "
                                      f"(params sha256 {found[:12]}... here, {plan.params_sha256[:12]}... on the "
                                      "driver): give every worker the same model files")
                block = load(prefix, load_transforms=plan.load_transforms)
            finally:
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)
            _models[key] = block
            _loads[key] = _loads.get(key, 0) + 1
    return block


class _BadRow(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.text = f"[{code}] {message}"


def _decode_image(value, inp):
    import mxnet as mx
    what = f"column '{inp.column}' (model input '{inp.name}')"
    if len(value) == 0:
        raise _BadRow("INVALID_ARGUMENT", f"{what}: 0 bytes, not an image")
    try:
        img = mx.image.imdecode(bytes(value), flag=1, to_rgb=1).asnumpy()
    except Exception as e:  # OpenCV's "Invalid image file" and its size limits
        raise _BadRow("INVALID_ARGUMENT", f"{what}: cannot decode the image ({native_message(e)[:200]}); "
                      "give JPEG or PNG bytes") from None
    h, w = img.shape[:2]
    want = inp.shape
    if (want[1] != -1 and want[1] != h) or (want[2] != -1 and want[2] != w):
        raise _BadRow("SHAPE_MISMATCH", f"{what}: the image is {w}x{h} (shape [1,{h},{w},3]) but the model takes "
                      f"{list(want)}; resize the images to {want[2]}x{want[1]} first")
    return np.ascontiguousarray(img, dtype=np.uint8)


def _numeric(value, inp):
    what = f"column '{inp.column}' (model input '{inp.name}')"
    want = inp.shape[1:]
    try:
        arr = np.array(value, dtype=object)
    except ValueError:
        arr = None
    if arr is None or (arr.dtype == object and arr.ndim > 0 and any(isinstance(v, (list, tuple, np.ndarray))
                                                                      for v in arr.reshape(-1))):
        raise _BadRow("SHAPE_MISMATCH", f"{what}: nested arrays of different lengths; a sample is a rectangular array")
    if any(v is None for v in arr.reshape(-1)):
        raise _BadRow("INVALID_ARGUMENT", f"{what} holds a null element")
    if arr.ndim != len(want):
        if arr.ndim == 1 and len(want) > 1:
            fixed = int(np.prod([d for d in want if d != -1]))
            free = sum(1 for d in want if d == -1)
            n = arr.size
            if free > 1:
                raise _BadRow("SHAPE_MISMATCH", f"{what}: a flat array of {n} values cannot say the shape of one sample "
                              f"of {list(inp.shape)}; give nested arrays")
            if n == 0 or n % fixed or (free == 0 and n != fixed):
                raise _BadRow("SHAPE_MISMATCH", f"{what} has {n} values but one sample of {list(inp.shape)} takes "
                              + (f"{fixed}" if free == 0 else f"a positive multiple of {fixed}"))
            arr = arr.reshape([n // fixed if d == -1 else d for d in want])
        else:
            raise _BadRow("SHAPE_MISMATCH", f"{what} has rank {arr.ndim} but one sample of {list(inp.shape)} has "
                          f"rank {len(want)}")
    if any(g < 1 or (w != -1 and w != g) for g, w in zip(arr.shape, want)):
        raise _BadRow("SHAPE_MISMATCH", f"{what} has sample shape {list(arr.shape)} (shape {[1] + list(arr.shape)}) "
                      f"but the model takes {list(inp.shape)}")
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


def _sample(values, inp):
    if values is None:
        raise _BadRow("INVALID_ARGUMENT", f"column '{inp.column}' (model input '{inp.name}') is null")
    return _decode_image(values, inp) if inp.image else _numeric(values, inp)


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
    out_types = [pa.list_(pa.from_numpy_dtype(np.dtype(_OUT_NUMPY[o.dtype])), ) for o in plan.outputs]
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
                samples[r] = [_sample(columns[inp.column][r], inp) for inp in plan.inputs]
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
                    raise RuntimeError(f"mxport cannot score row {index + r} of partition {partition}{name} with "
                                       f"{plan.uri}: {errors[r]}")
        arrays = list(rb.columns)
        for k, o in enumerate(plan.outputs):
            arrays.append(pa.array([None if results[r] is None else results[r][k] for r in range(n)],
                                   type=out_types[k]))
        names = list(rb.schema.names) + [o.column for o in plan.outputs]
        if plan.error_col:
            arrays.append(pa.array(errors, type=pa.string()))
            names.append(plan.error_col)
        index += n
        yield pa.RecordBatch.from_arrays(arrays, names=names)


def output_schema(df, model_uri, **options):
    """The schema :func:`transform` gives ``df`` (reads the model's signature only)."""
    return _schema(df.schema, _plan(df.schema, model_uri, **_options(options)))


def _options(options):
    defaults = dict(batch_size=8, input_cols=None, output_cols=None, pad_tail=True, on_error="column",
                    error_col="mxport_error", id_col=None, load_transforms=True)
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; the options are {sorted(defaults)}")
    defaults.update(options)
    return defaults


def transform(df, model_uri, *, batch_size=8, input_cols=None, output_cols=None, pad_tail=True, on_error="column",
              error_col="mxport_error", id_col=None, load_transforms=True):
    """Scores ``df`` with the mxport model at ``model_uri``; returns ``df`` with one column per model output.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Classic or Spark Connect.
    model_uri : str
        A model prefix: local path, ``file:``, ``sparkfiles:NAME`` or a ``pyarrow.fs`` URI (``hdfs://...``).
    batch_size : int
        Rows per native call.
    input_cols, output_cols : dict, optional
        ``{model input: column}`` and ``{model output: column}`` overrides of the by-name mapping.
    pad_tail : bool
        Pad short batches to ``batch_size`` (see the module's doc).
    on_error : {"column", "fail"}
        A bad row's outcome: an error in ``error_col`` and null outputs, or a failed job naming the row.
    error_col : str
        The error column (``on_error="column"``).
    id_col : str, optional
        A column that names a row in failures; ``path`` when the DataFrame has it.
    load_transforms : bool
        False runs the network alone (its signature: ``read_signature(uri).network``).

    Returns
    -------
    pyspark.sql.DataFrame
        ``df``'s columns, then the outputs (``array<float>`` etc.), then ``error_col``.

    Raises
    ------
    MxportError
        On the driver, before any task: the model cannot be read, or no column fits an input.
    """
    plan = _plan(df.schema, model_uri, batch_size=batch_size, input_cols=input_cols, output_cols=output_cols,
                 pad_tail=pad_tail, on_error=on_error, error_col=error_col, id_col=id_col,
                 load_transforms=load_transforms)
    schema = _schema(df.schema, plan)

    def score(batches: Iterator) -> Iterator:
        return _score(plan, batches)

    return df.mapInArrow(score, schema)
