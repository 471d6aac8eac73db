"""The value rules of spec/FORMAT.md sections 2 and 7 (names, shapes, dtypes, labels, metadata, optimisation
records): each ``*_problem`` returns what is wrong with a value, or None."""

import re

FORMAT_VERSION = 3  # the newest version this package reads and writes
READ_VERSIONS = (1, 2, 3)
DTYPES = ("float32", "float64", "float16", "uint8", "int8", "int32", "int64")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
_LAYOUT = re.compile(r"^[A-Z]+$")
_MAX_DIM = 2147483647
_TOP_KEYS = {"mxport_format", "inputs", "outputs", "network", "params", "producer", "metadata", "optimization"}
_NEW_KEYS = {1: set(), 2: {"metadata"}, 3: {"optimization"}}  # top-level fields each version added
_SPEC_KEYS = {"name", "shape", "dtype", "layout"}
_MAX_LABEL = 1024  # characters per class name
_MAX_METADATA = 64  # entries
_MAX_METADATA_VALUE = 4096  # characters
_METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")
OPTIMIZATION_KINDS = ("fused", "int8")
CALIBRATION_MODES = ("naive", "entropy")
_MAX_EXCLUDED = 4096  # excluded layers
_MAX_LAYER_NAME = 1024  # characters


def _labels_problem(name, shape, labels):
    """What is wrong with an output's class names (spec section 2), or None."""
    if not isinstance(labels, (list, tuple)) or not all(isinstance(x, str) for x in labels):
        return f"'{name}': labels must be a list of strings"
    if shape[-1] != len(labels):
        return (
            f"'{name}': {len(labels)} labels for a last dimension of {shape[-1]} in {list(shape)}: give one "
            "name per index of the last dimension, which must be fixed"
        )
    for i, x in enumerate(labels):
        if not 1 <= len(x) <= _MAX_LABEL:
            return f"'{name}': label {i} must have 1 to {_MAX_LABEL} characters, got {len(x)}"
    return None


def metadata_problem(metadata):
    """What is wrong with a signature's metadata map (spec section 2), or None."""
    if not isinstance(metadata, dict):
        return f"metadata must be a map of strings to strings, got {type(metadata).__name__}"
    if len(metadata) > _MAX_METADATA:
        return f"metadata has {len(metadata)} entries; at most {_MAX_METADATA}"
    for k, v in metadata.items():
        if not isinstance(k, str) or not _METADATA_KEY.fullmatch(k):
            return f"metadata key {k!r} must match {_METADATA_KEY.pattern}"
        if not isinstance(v, str) or len(v) > _MAX_METADATA_VALUE:
            return f"metadata '{k}' must be a string of at most {_MAX_METADATA_VALUE} characters"
    return None


def optimization_problem(opt):
    """What is wrong with a signature's optimization record (spec section 2), or None."""
    if not isinstance(opt, dict):
        return f"'optimization' must be an object, got {type(opt).__name__}"
    kind = opt.get("kind")
    if kind not in OPTIMIZATION_KINDS:
        return f"optimization kind {kind!r} must be one of {list(OPTIMIZATION_KINDS)}"
    keys = {"kind", "backend"} | (
        {"calibration_mode", "calibration_samples", "excluded_layers"} if kind == "int8" else set()
    )
    if set(opt) != keys:
        return f"an optimization of kind '{kind}' has exactly the fields {sorted(keys)}, got {sorted(opt)}"
    if not isinstance(opt["backend"], str) or not _NAME.fullmatch(opt["backend"]):
        return f"optimization backend {opt['backend']!r} must match {_NAME.pattern}"
    if kind == "int8":
        if opt["calibration_mode"] not in CALIBRATION_MODES:
            return f"calibration_mode {opt['calibration_mode']!r} must be one of {list(CALIBRATION_MODES)}"
        n = opt["calibration_samples"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= _MAX_DIM:
            return f"calibration_samples {n!r} must be an integer from 1 to {_MAX_DIM}"
        layers = opt["excluded_layers"]
        if (
            not isinstance(layers, list)
            or len(layers) > _MAX_EXCLUDED
            or not all(isinstance(x, str) and 1 <= len(x) <= _MAX_LAYER_NAME for x in layers)
        ):
            return (
                f"excluded_layers must be a list of at most {_MAX_EXCLUDED} node names of 1 to "
                f"{_MAX_LAYER_NAME} characters"
            )
    return None


def name_problem(name):
    """What is wrong with a name mxport writes into a signature (spec section 2), or None. An old model's own
    names (spec section 7) are not held to this rule."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return f"name {name!r} must match {_NAME.pattern}"
    return None


def _spec_problem(name, shape, dtype, layout):
    """Returns what is wrong with a tensor spec's fields, or None. Any non-empty name is a name here: an old
    model keeps its graph's names (spec section 7); the signature's name rule is checked where mxport writes or
    reads a signature (name_problem)."""
    if not isinstance(name, str) or not name:
        return f"name {name!r} must be a non-empty string"
    if not isinstance(shape, (list, tuple)) or not 1 <= len(shape) <= 8:
        return f"'{name}': shape {shape!r} must be a list of 1 to 8 dimensions"
    fixed = 1
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, int) or not (d == -1 or 1 <= d <= _MAX_DIM):
            return f"'{name}': dimension {d!r} in {list(shape)} must be -1 (dynamic) or 1..{_MAX_DIM}"
        if d > 0:
            fixed *= d
    if fixed > _MAX_DIM:
        return f"'{name}': shape {list(shape)} has more than {_MAX_DIM} elements per dynamic slice"
    if dtype not in DTYPES:
        return f"'{name}': dtype {dtype!r} is not one of {list(DTYPES)}"
    if layout is not None:
        if not isinstance(layout, str) or not _LAYOUT.fullmatch(layout) or len(set(layout)) != len(layout):
            return f"'{name}': layout {layout!r} must be distinct upper-case letters, e.g. 'NCHW', or null"
        if len(layout) != len(shape):
            return f"'{name}': layout {layout!r} has {len(layout)} letters but the shape {list(shape)} has rank {len(shape)}"
    return None
