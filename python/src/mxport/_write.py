"""Writing a model (spec/FORMAT.md section 9): both files under temporary names, then renamed into place, the
symbol file last, so that a prefix always holds a whole model; files that are not an mxport model are kept."""

import dataclasses
import hashlib
import json
import os
import tempfile

import mxnet as mx

from . import _graph, _mx
from ._errors import Fix, MxportError
from ._files import model_paths


BACKUP_SUFFIX = ".mxport-backup"


def check_prefix(prefix):
    """Refuses a prefix that is not a path, or that ends with a file suffix (m-symbol.json-symbol.json)."""
    if not isinstance(prefix, (str, os.PathLike)) or not os.fspath(prefix):
        raise MxportError("INVALID_ARGUMENT", f"prefix must be a path such as 'out/my_model', got {prefix!r}")
    for suffix in ("-symbol.json", ".params"):
        if os.fspath(prefix).endswith(suffix):
            raise MxportError(
                "INVALID_ARGUMENT",
                f"prefix {os.fspath(prefix)!r} ends with {suffix}: drop the "
                f"{suffix} suffix; export writes <prefix>-symbol.json and <prefix>.params",
            )


def params_file_arrays(graph, params):
    """The arrays of a params file for ``graph``: ``arg:<name>`` and ``aux:<name>`` as the graph uses them."""
    symbol = _mx.symbol_from_graph(graph, "the graph")
    aux = set(symbol.list_auxiliary_states())
    return {("aux:" if n in aux else "arg:") + n: v for n, v in sorted(params.items())}


def write_atomically(prefix, graph, params, signature, overwrite):
    """Writes ``graph`` with ``signature`` and its ``params`` (name -> NDArray) at ``prefix``."""
    arrays = params_file_arrays(graph, params)
    symbol_path, params_path = model_paths(prefix)
    folder = os.path.dirname(os.path.abspath(symbol_path))
    os.makedirs(folder, exist_ok=True)
    if not overwrite:
        _refuse_foreign(symbol_path, params_path)
    mode = 0o666 & ~_umask()  # mkstemp makes 0600 files; a model is shared like any file the user writes
    tmp_params = tmp_symbol = None
    try:
        fd, tmp_params = tempfile.mkstemp(prefix=".mxport-", suffix=".params.tmp", dir=folder)
        os.close(fd)
        mx.nd.save(tmp_params, arrays)
        with open(tmp_params, "rb") as f:
            data = f.read()
        signature = dataclasses.replace(
            signature, params_sha256=hashlib.sha256(data).hexdigest(), params_size=len(data)
        )
        first = _graph.connectors(graph, _graph.BATCHIFY)[signature.inputs[0].name]
        graph["nodes"][first].setdefault("attrs", {})[_graph.SIGNATURE_ATTR] = signature.to_json()
        fd, tmp_symbol = tempfile.mkstemp(prefix=".mxport-", suffix="-symbol.json.tmp", dir=folder)
        with os.fdopen(fd, "w") as f:
            json.dump(graph, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        with open(tmp_params, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp_params, mode)
        os.chmod(tmp_symbol, mode)
        # The symbol file is the commit point. The old files step aside as backups first, so that at every
        # instant the prefix holds the old model whole, no model, or the new model whole; never new params
        # beside an old symbol. A kill in between leaves the backups, which the loader's error names.
        backups = [(path, path + BACKUP_SUFFIX) for path in (symbol_path, params_path)]
        for path, backup in backups:
            if os.path.lexists(path):
                os.replace(path, backup)
        os.replace(tmp_params, params_path)
        tmp_params = None
        os.replace(tmp_symbol, symbol_path)
        tmp_symbol = None
        for _, backup in backups:
            if os.path.lexists(backup):
                os.unlink(backup)
    finally:
        for t in (tmp_params, tmp_symbol):
            if t is not None and os.path.exists(t):
                os.unlink(t)


def _umask():
    try:  # Linux says it without changing it; os.umask() can only read by setting, which races other threads
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    current = os.umask(0o022)
    os.umask(current)
    return current


def _refuse_foreign(symbol_path, params_path):
    def is_mxport(path):
        """A symbol file with a node that carries the signature attribute, valid or not."""
        try:
            with open(path, "rb") as f:
                graph = _graph.parse_graph(f.read().decode("utf-8"), path)
        except (OSError, UnicodeDecodeError, MxportError):
            return False
        return any(_graph.SIGNATURE_ATTR in n.get("attrs", {}) for n in graph["nodes"])

    if os.path.lexists(symbol_path) and not is_mxport(symbol_path):
        raise MxportError(
            "TARGET_EXISTS",
            f"{symbol_path} exists and is not an mxport model",
            Fix.argument("overwrite", True, before="choose another prefix, or ", after=" to replace it"),
        )
    ours = is_mxport(symbol_path) or is_mxport(symbol_path + BACKUP_SUFFIX)  # the backup: an interrupted export
    if os.path.lexists(params_path) and not ours:
        raise MxportError(
            "TARGET_EXISTS",
            f"{params_path} exists without an mxport symbol file beside it",
            Fix.argument("overwrite", True, before="choose another prefix, or ", after=" to replace it"),
        )
