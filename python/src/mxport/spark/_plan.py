"""The plan of a transform, made on the driver: which column feeds which input, the output schema, the options
(spec/SPARK.md); and where the model's files are, on the driver and in the workers."""

import os
import shutil
import tempfile
from dataclasses import dataclass
from typing import Optional, Tuple

from .._errors import Fix, MxportError

CONTENT_COLUMN = "content"
PATH_COLUMN = "path"
_SPARKFILES = "sparkfiles:"

# dtype -> (numpy dtype of the model, Spark SQL type name, pyarrow type factory name)
_SPARK_TYPES = {
    "float32": "float",
    "float16": "float",
    "float64": "double",
    "uint8": "short",
    "int8": "byte",
    "int32": "int",
    "int64": "bigint",
}
_OUT_NUMPY = {
    "float32": "float32",
    "float16": "float32",
    "float64": "float64",
    "uint8": "int16",
    "int8": "int8",
    "int32": "int32",
    "int64": "int64",
}


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
    max_image_pixels: int
    engine: str = "mxnet"

    def to_state(self):
        """Plain data (tuples, strings, numbers) for the task: unpickling it imports nothing of mxport."""
        d = dict(self.__dict__)
        d["inputs"] = tuple(tuple(i.__dict__.values()) for i in self.inputs)
        d["outputs"] = tuple(tuple(o.__dict__.values()) for o in self.outputs)
        return d

    @staticmethod
    def from_state(d):
        d = dict(d)
        d["inputs"] = tuple(_Input(*i) for i in d["inputs"])
        d["outputs"] = tuple(_Output(*o) for o in d["outputs"])
        return _Plan(**d)


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

        name = uri[len(_SPARKFILES) :]
        if not name or "/" in name:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"a sparkfiles: URI names the prefix of files added with "
                f"SparkContext.addFile, e.g. sparkfiles:resnet18; got {uri!r}",
            )
        return SparkFiles.get(name), None
    import pyarrow.fs as pafs

    fs, path = pafs.FileSystem.from_uri(uri)
    folder = tempfile.mkdtemp(prefix="mxport-spark-")
    try:
        local = os.path.join(folder, "model")
        for suffix in ("-symbol.json",) + ((".params",) if with_params else ()):
            info = fs.get_file_info(path + suffix)
            if info.type != pafs.FileType.File:
                raise MxportError(
                    "MODEL_NOT_FOUND",
                    f"{uri}{suffix} does not exist; check the model URI (a model is "
                    "<prefix>-symbol.json and <prefix>.params, written by mxport.export)",
                )
            with fs.open_input_stream(path + suffix) as src, open(local + suffix, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        return local, folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _read_signature(uri):
    from .._files import read_signature

    prefix, folder = _local_prefix(uri, with_params=False)
    try:
        return read_signature(prefix)
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


# ---- the plan, on the driver ----


def _is_image(spec):
    s = spec.shape
    return spec.dtype == "uint8" and len(s) == 4 and s[3] in (3, -1) and spec.layout in (None, "NHWC")


def _leaf(data_type):
    from pyspark.sql.types import ArrayType

    depth = 0
    while isinstance(data_type, ArrayType):
        data_type, depth = data_type.elementType, depth + 1
    return data_type, depth


def _plan(
    schema,
    uri,
    *,
    batch_size,
    input_cols,
    output_cols,
    pad_tail,
    on_error,
    error_col,
    id_col,
    load_transforms,
    max_image_pixels,
    engine="mxnet",
):
    _check_options(batch_size, max_image_pixels, on_error, engine)
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
        raise MxportError(
            "INVALID_ARGUMENT",
            f"output_cols names {unknown}, but the model's outputs are {[s.name for s in sig.outputs]}",
        )
    inputs = [_input_plan(spec, schema, len(sig.inputs), input_cols) for spec in sig.inputs]
    outputs = tuple(_Output(s.name, tuple(s.shape), s.dtype, output_cols.get(s.name, s.name)) for s in sig.outputs)
    err = None if on_error == "fail" else error_col
    _check_added_columns([o.column for o in outputs] + ([err] if err else []), names)
    if id_col is None:
        id_col = PATH_COLUMN if PATH_COLUMN in names else None
    elif id_col not in names:
        raise MxportError("INVALID_ARGUMENT", f"id_col '{id_col}' is not a column: {names}")
    return _Plan(
        uri,
        whole.params_sha256 or "",
        load_transforms,
        tuple(inputs),
        outputs,
        batch_size,
        pad_tail,
        on_error == "fail",
        err,
        id_col,
        max_image_pixels,
        engine,
    )


def _check_options(batch_size, max_image_pixels, on_error, engine):
    if not isinstance(batch_size, int) or batch_size < 1:
        raise MxportError("INVALID_ARGUMENT", f"batch_size must be an integer >= 1, got {batch_size!r}")
    if not isinstance(max_image_pixels, int) or isinstance(max_image_pixels, bool) or max_image_pixels < 1:
        raise MxportError("INVALID_ARGUMENT", f"max_image_pixels must be an integer >= 1, got {max_image_pixels!r}")
    if on_error not in ("column", "fail"):
        raise MxportError("INVALID_ARGUMENT", f"on_error must be 'column' or 'fail', got {on_error!r}")
    if engine not in ("mxnet", "onnxruntime", "openvino"):
        raise MxportError("INVALID_ARGUMENT", f"engine must be 'mxnet', 'onnxruntime' or 'openvino', got {engine!r}")


def _column_of(spec, schema, n_inputs, input_cols):
    """The column that feeds one model input: named in input_cols, else the input's own name, else 'content'
    for a single image input."""
    from pyspark.sql.types import BinaryType

    names = schema.fieldNames()
    column = input_cols.get(spec.name)
    if column is None:
        if spec.name in names:
            return spec.name
        if (
            n_inputs == 1
            and _is_image(spec)
            and CONTENT_COLUMN in names
            and isinstance(schema[CONTENT_COLUMN].dataType, BinaryType)
        ):
            return CONTENT_COLUMN
        raise MxportError(
            "INVALID_ARGUMENT",
            f"no column for model input '{spec.name}' {spec.dtype}{list(spec.shape)}: the DataFrame has {names}",
            Fix.argument("input_cols", {spec.name: "<column>"}, before=f"name a column '{spec.name}' or "),
        )
    if column not in names:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"column '{column}' (for model input '{spec.name}') is not in the DataFrame: {names}",
        )
    return column


def _input_plan(spec, schema, n_inputs, input_cols):
    from pyspark.sql.types import BinaryType, ByteType, DoubleType, FloatType, IntegerType, LongType, ShortType

    column = _column_of(spec, schema, n_inputs, input_cols)
    if spec.dtype == "float16":
        raise MxportError(
            "DTYPE_MISMATCH", f"model input '{spec.name}' is float16, which the Spark integration does not feed yet"
        )
    t = schema[column].dataType
    if isinstance(t, BinaryType):
        if not _is_image(spec):
            raise MxportError(
                "DTYPE_MISMATCH",
                f"column '{column}' holds bytes, which are decoded as images, but "
                f"model input '{spec.name}' is {spec.dtype}{list(spec.shape)}, not uint8 NHWC with 3 "
                "channels; give it a numeric array column",
            )
        return _Input(spec.name, tuple(spec.shape), spec.dtype, column, True)
    leaf, depth = _leaf(t)
    if not isinstance(leaf, (ByteType, ShortType, IntegerType, LongType, FloatType, DoubleType)):
        raise MxportError(
            "DTYPE_MISMATCH",
            f"column '{column}' is {t.simpleString()}; model input "
            f"'{spec.name}' takes a numeric array column or, for images, binary",
        )
    rank = len(spec.shape) - 1
    if depth != rank and not (depth == 1 and rank > 1):
        raise MxportError(
            "SHAPE_MISMATCH",
            f"column '{column}' is {t.simpleString()} (arrays nested {depth} "
            f"deep) but one sample of model input '{spec.name}' has rank {rank}",
        )
    return _Input(spec.name, tuple(spec.shape), spec.dtype, column, False)


def _check_added_columns(added, names):
    for c in added:
        if added.count(c) > 1:
            raise MxportError(
                "INVALID_ARGUMENT", f"two output columns would be named '{c}'; rename one with output_cols or error_col"
            )
        if c in names:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"the DataFrame already has a column '{c}'; rename the model's "
                "output with output_cols={'<output>': '<new column>'} or error_col, or drop the column",
            )


def _schema(schema, plan):
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType, _parse_datatype_string

    fields = list(schema.fields)
    for o in plan.outputs:
        fields.append(StructField(o.column, ArrayType(_parse_datatype_string(_SPARK_TYPES[o.dtype]), False), True))
    if plan.error_col:
        fields.append(StructField(plan.error_col, StringType(), True))
    return StructType(fields)
