"""The model's files (the twin of Java's ModelFiles): what a prefix means, reading and checking both files
(spec/FORMAT.md section 6, steps 1-3), the params digest, and what an old model's files say about its inputs.
It reads bytes and checks them; MXNet parses the params later, in ``_load``."""

import glob
import hashlib
import os
import re
from dataclasses import dataclass

from . import _graph
from ._errors import Fix, MxportError
from ._params_header import check_params_header
from ._signature import Signature, TensorSpec


def model_paths(prefix, epoch=None):
    """The two files a prefix means: (``<prefix>-symbol.json``, ``<prefix>.params`` or
    ``<prefix>-NNNN.params`` for an old model saved at epoch NNNN)."""
    prefix = os.fspath(prefix)
    params = f"{prefix}-{epoch:04d}.params" if epoch is not None else f"{prefix}.params"
    return f"{prefix}-symbol.json", params


_SUFFIXES = ("-symbol.json", ".params")


def resolve_prefix(prefix, epoch=None):
    """The prefix (and epoch) a caller meant. A path to one of the model's files is accepted in place of its
    prefix (``out/m-symbol.json``, ``out/m.params``, ``old/m-0005.params``, which also says epoch 5), but only
    when that file exists, the literal prefix names no model, and the file's own model is there: so the model
    loaded is always the one whose file was named."""
    if not isinstance(prefix, (str, os.PathLike)) or not os.fspath(prefix):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"the model prefix must be a path such as 'out/my_model' (for "
            f"out/my_model-symbol.json and out/my_model.params), got {prefix!r}",
        )
    prefix = os.fspath(prefix)
    if os.path.lexists(prefix + "-symbol.json") or not os.path.isfile(prefix) or not prefix.endswith(_SUFFIXES):
        return prefix, epoch
    stem = prefix[: -len("-symbol.json")] if prefix.endswith("-symbol.json") else prefix[: -len(".params")]
    candidates = [(stem, epoch)]
    numbered = re.match(r"^(.*)-(\d{4})\.params$", prefix)
    if numbered:
        candidates.append((numbered.group(1), int(numbered.group(2))))
    for stem, file_epoch in candidates:
        if os.path.lexists(stem + "-symbol.json"):
            if epoch is not None and file_epoch != epoch:
                raise MxportError(
                    "INVALID_ARGUMENT",
                    f"{prefix} is the params file of epoch {file_epoch}, but epoch {epoch} was given",
                    Fix.drop(("epoch", epoch), after=f", or give the prefix {stem}"),
                )
            return stem, file_epoch
    return prefix, epoch


def _not_found_fix(path):
    given = re.sub(r"(-symbol\.json|(-\d{4})?\.params)$", "", path)  # the prefix the caller gave
    for suffix in _SUFFIXES:
        if given.endswith(suffix):
            return (
                f"; the prefix names the model without its file suffix: drop the {suffix} suffix "
                f"('{given[: -len(suffix)]}')"
            )
    return "; check the model prefix (a model is <prefix>-symbol.json and <prefix>.params, written by mxport.export)"


def read_file(path):
    if not os.path.lexists(path):
        if os.path.lexists(path + ".mxport-backup"):
            raise MxportError(
                "MODEL_NOT_FOUND",
                f"{path} does not exist: an export to this prefix was "
                f"interrupted, and the previous model is in {path}.mxport-backup (and its params "
                "file's .mxport-backup): rename them back, or export again",
            )
        raise MxportError("MODEL_NOT_FOUND", f"{path} does not exist" + _not_found_fix(path))
    if os.path.isdir(path):
        raise MxportError("MODEL_UNREADABLE", f"{path} is a directory, not a model file")
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise MxportError("MODEL_UNREADABLE", f"cannot read {path}: {e.strerror}; check its permissions") from None


@dataclass
class ModelFiles:
    graph: dict
    signature: Signature  # the whole model's; None for an old model
    inputs: tuple  # an old model's input descriptions (TensorSpec); the signature's inputs otherwise
    params_data: bytes  # the params file's bytes, its header checked
    symbol_path: str
    params_path: str

    @property
    def old(self):
        return self.signature is None


def as_specs(inputs, what):
    """Input descriptions as TensorSpecs: a list of TensorSpec, or a dict name -> shape (float32)."""
    if isinstance(inputs, dict):
        return tuple(TensorSpec(name, tuple(shape)) for name, shape in inputs.items())
    if isinstance(inputs, TensorSpec):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)) or not inputs or not all(isinstance(s, TensorSpec) for s in inputs):
        raise MxportError(
            "INVALID_ARGUMENT", f"{what} must be a list of TensorSpec or a dict name -> shape, got {inputs!r:.200}"
        )
    names = [s.name for s in inputs]
    if len(set(names)) != len(names):
        raise MxportError("INVALID_ARGUMENT", f"{what} has duplicate names {names}")
    return tuple(inputs)


def read_signature(prefix):
    """The signature of the model at ``prefix``, read from ``<prefix>-symbol.json`` alone.

    >>> sig = mxport.read_signature("out/my_model")
    >>> print(sig.describe())                                     # the table `mxport inspect` prints

    Raises MxportError ``NO_SIGNATURE`` for an old model.
    """
    prefix, _ = resolve_prefix(prefix)
    symbol_path, _ = model_paths(prefix)
    graph = read_graph(symbol_path)
    sig = _graph.find_signature(graph, symbol_path)
    if sig is None:
        raise no_signature(prefix, graph)
    _graph.check_connectors(graph, sig, symbol_path)
    return sig


def read_graph(symbol_path):
    """The symbol file's graph, checked to be an MXNet graph (spec section 6, step 1)."""
    return _graph.parse_graph(_decode(read_file(symbol_path), symbol_path), symbol_path)


def _decode(data, path):
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MxportError("BAD_SYMBOL_JSON", f"{path} is not UTF-8 text, so not a symbol file") from None


_DTYPE_CODES = {"0": "float32", "1": "float64", "2": "float16", "3": "uint8", "4": "int32", "5": "int8", "6": "int64"}


_PARAM_SUFFIXES = (
    "_weight",
    "_bias",
    "_gamma",
    "_beta",
    "_moving_mean",
    "_moving_var",
    "_running_mean",
    "_running_var",
    "_label",
)


@dataclass
class OldModelHint:
    """What a loader can say about an old model's inputs and epochs, for the message that asks for them."""

    inputs: list  # (name, shape with -1 for the batch or None when unknown, dtype)
    epochs: list  # the NNNN of each <prefix>-NNNN.params on disk, ascending

    @property
    def epoch(self):
        return self.epochs[-1] if self.epochs else None


def epochs_on_disk(prefix):
    found = glob.glob(glob.escape(os.fspath(prefix)) + "-[0-9][0-9][0-9][0-9].params")
    return sorted(int(p[-len("0000.params") : -len(".params")]) for p in found)


def old_model_hint(prefix, graph):
    """The graph's own input variables (those that are not parameters), with the shape and dtype the graph's
    ``__shape__``/``__dtype__`` attributes give, and the epochs whose params files are on disk."""
    epochs = epochs_on_disk(prefix)
    params = set()
    params_path = model_paths(prefix, epochs[-1] if epochs else None)[1]
    if os.path.isfile(params_path):
        try:
            params = param_names(read_file(params_path), params_path)
        except MxportError:
            pass
    inputs = []
    for node in graph["nodes"]:
        attrs, name = node.get("attrs", {}), node["name"]
        if (
            node["op"] != "null"
            or name in params
            or name.endswith(_PARAM_SUFFIXES)
            or "__lr_mult__" in attrs
            or "__init__" in attrs
        ):
            continue
        shape = None
        try:
            dims = [int(d) for d in attrs["__shape__"].strip("()[] ").split(",") if d.strip()]
            if dims and all(d > 0 for d in dims[1:]):
                shape = tuple([-1] + dims[1:])
        except (KeyError, ValueError):
            pass
        inputs.append((name, shape, _DTYPE_CODES.get(attrs.get("__dtype__"), "float32")))
    return OldModelHint(inputs, epochs)


def param_names(data, path):
    """The array names of a params file's bytes, without their 'arg:'/'aux:' prefixes (its header checked)."""
    names = (name or "" for name, _, _ in check_params_header(data, path))
    return {n[4:] if n.startswith(("arg:", "aux:")) else n for n in names}


def no_signature(prefix, graph):
    """NO_SIGNATURE, whose fix describes the graph's own inputs and the epoch on disk."""
    hint = old_model_hint(prefix, graph)
    return MxportError(
        "NO_SIGNATURE",
        f"{model_paths(prefix)[0]} carries no mxport signature: it is an old MXNet model",
        Fix.describe_inputs(hint.inputs, hint.epoch),
    )


def open_files(prefix, inputs=None, epoch=None):
    """Reads and checks both files (spec section 6, steps 1-3): the graph and the params bytes, whose header is
    checked before MXNet allocates what it claims."""
    prefix, epoch = resolve_prefix(prefix, epoch)
    symbol_path, _ = model_paths(prefix)
    graph = read_graph(symbol_path)
    sig = _graph.find_signature(graph, symbol_path)
    if sig is not None:
        if inputs is not None or epoch is not None:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"{symbol_path} carries its own signature",
                Fix.drop(("inputs", inputs), ("epoch", epoch), after=", which only old models need"),
            )
        _graph.check_connectors(graph, sig, symbol_path)
        _, params_path = model_paths(prefix)
        data = read_file(params_path)
        digest = hashlib.sha256(data).hexdigest()
        if len(data) != sig.params_size or digest != sig.params_sha256:
            raise MxportError(
                "DIGEST_MISMATCH",
                f"{params_path} is not the params file this model was exported "
                f"with ({len(data)} bytes, sha256 {digest[:12]}..., expected {sig.params_size} "
                f"bytes, sha256 {sig.params_sha256[:12]}...): it was damaged or replaced; "
                "copy or export the model again",
            )
        check_params_header(data, params_path)  # a file whose digest was recomputed can still lie
        return ModelFiles(graph, sig, sig.inputs, data, symbol_path, params_path)
    if inputs is None:
        raise no_signature(prefix, graph)
    specs = as_specs(inputs, "inputs")
    variables = {n["name"] for n in graph["nodes"] if n["op"] == "null"}
    unknown = [s.name for s in specs if s.name not in variables]
    if unknown:
        raise MxportError(
            "UNKNOWN_INPUT", f"the graph in {symbol_path} has no input {unknown}; its variables are {sorted(variables)}"
        )
    _, params_path = model_paths(prefix, epoch)
    epochs = epochs_on_disk(prefix)
    if epoch is None and epochs and not os.path.lexists(params_path):
        raise MxportError(
            "MODEL_NOT_FOUND",
            f"{params_path} does not exist, but {model_paths(prefix, epochs[-1])[1]} does",
            Fix.argument("epoch", epochs[-1], after=" (the NNNN of <prefix>-NNNN.params)"),
        )
    data = read_file(params_path)
    clash = [s.name for s in specs if s.name in param_names(data, params_path)]
    if clash:
        hint = old_model_hint(prefix, graph)
        raise MxportError(
            "INVALID_ARGUMENT",
            f"input {clash[0]!r} is a parameter of the network (an array of {params_path}), not an input",
            Fix.describe_inputs(hint.inputs, hint.epoch),
        )
    return ModelFiles(graph, None, specs, data, symbol_path, params_path)
