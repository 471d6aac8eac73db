"""Reads a legacy (pre-1.6) ``torch.save`` file into numpy arrays, without torch and without running its code.

    >>> from torch_pickle import read_state_dict
    >>> weights = read_state_dict(".cache/real/efficientnet-lite0-57934424.pth")   # {name: np.ndarray}

A ``.pth`` file is a Python pickle, and a pickle can call any function it names (``os.system`` included).
This reader's unpickler resolves exactly these globals and refuses every other one with ``UnsafePickleError``:

- ``torch._utils._rebuild_tensor_v2``: becomes a record (storage, offset, size, stride), never a call;
- ``torch.FloatStorage`` and the other typed storage classes of ``_STORAGES``: markers of an element type;
- ``collections.OrderedDict``: the state dict itself and the (empty) backward hooks.

The legacy layout: pickles of the magic number, the protocol version and the system info, the pickle of the
state dict (storages as persistent ids ``('storage', type, key, location, numel, view)``), the pickle of the
storage keys in file order, then per key the storage's element count (int64, little-endian) and its raw
little-endian bytes.
"""

import collections
import io
import pickle
import struct

import numpy as np

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
_STORAGES = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class UnsafePickleError(ValueError):
    """The file names a global that a tensor file has no reason to name: it may run code; nothing was run."""


class _Rebuild:
    """Stands for ``torch._utils._rebuild_tensor_v2``: records its arguments instead of calling anything."""

    def __call__(self, storage, offset, size, stride, requires_grad=False, hooks=None, *extra):
        return _Tensor(storage, offset, tuple(size), tuple(stride))


_Tensor = collections.namedtuple("_Tensor", "storage offset size stride")
_StorageRef = collections.namedtuple("_StorageRef", "key dtype numel")


class _StorageType(str):
    """Stands for ``torch.<X>Storage``: only its numpy element type matters."""


class _Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _Rebuild()
        if module == "torch" and name in _STORAGES:
            return _StorageType(_STORAGES[name])
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise UnsafePickleError(
            f"the pickle names the global {module}.{name}, which a tensor file does not "
            "need: refused (a pickle can run any function it names); nothing was run. "
            "Use a .pth file written by torch.save of a state dict"
        )

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage" and isinstance(pid[1], _StorageType)):
            raise UnsafePickleError(f"unexpected persistent id {pid!r:.100}: not a legacy torch storage")
        return _StorageRef(str(pid[2]), np.dtype(str(pid[1])), int(pid[4]))


def _load(f):
    return _Unpickler(f).load()


def read_state_dict(path):
    """The file's tensors as {name: float/int numpy array, C order}, in file order.

    Raises UnsafePickleError for any global other than the few above, ValueError for a file that is not a
    legacy torch.save file.
    """
    with open(path, "rb") as f:
        data = f.read()
    return parse_state_dict(data, path)


def parse_state_dict(data, what="<bytes>"):
    f = io.BytesIO(data)
    if _load(f) != MAGIC:
        raise ValueError(
            f"{what} is not a legacy torch.save file (bad magic number); re-save it with "
            "torch.save(..., _use_new_zipfile_serialization=False)"
        )
    if _load(f) != PROTOCOL:
        raise ValueError(f"{what}: unsupported torch.save protocol version")
    info = _load(f)
    if not (isinstance(info, dict) and info.get("little_endian") is True):
        raise ValueError(f"{what}: not written on a little-endian machine ({info!r:.100})")
    state = _load(f)
    keys = _load(f)
    if not isinstance(state, dict) or not isinstance(keys, list):
        raise ValueError(f"{what}: does not hold a state dict")
    storages = {}
    refs = {t.storage.key: t.storage for t in state.values() if isinstance(t, _Tensor)}
    for key in keys:
        ref = refs.get(str(key))
        (numel,) = struct.unpack("<q", f.read(8))
        if ref is None or numel != ref.numel:
            raise ValueError(
                f"{what}: storage {key} has {numel} elements, the pickle says {ref.numel if ref else 'nothing'}"
            )
        raw = f.read(numel * ref.dtype.itemsize)
        if len(raw) != numel * ref.dtype.itemsize:
            raise ValueError(f"{what}: truncated in storage {key}")
        storages[str(key)] = np.frombuffer(raw, dtype=ref.dtype)
    if f.read(1):
        raise ValueError(f"{what}: bytes after the last storage")
    arrays = collections.OrderedDict()
    for name, t in state.items():
        if not isinstance(t, _Tensor):
            raise ValueError(f"{what}: entry {name!r} is not a tensor")
        flat = storages[t.storage.key]
        item = flat.dtype.itemsize
        ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (t.offset,) + t.size + t.stride)
        if not ints or len(t.size) != len(t.stride) or min((t.offset,) + t.size + t.stride, default=0) < 0:
            raise ValueError(f"{what}: tensor {name!r} has a bad offset, size or stride")
        last = t.offset + sum((n - 1) * s for n, s in zip(t.size, t.stride)) if all(t.size) else -1
        if last >= len(flat):
            raise ValueError(f"{what}: tensor {name!r} reaches beyond its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[t.offset :], shape=t.size, strides=tuple(s * item for s in t.stride), writeable=False
        )
        arrays[name] = np.ascontiguousarray(view).astype(flat.dtype.newbyteorder("="))
    return arrays
