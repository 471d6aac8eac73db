"""Reads an MXNet params file's header before MXNet does, so that a file that lies is refused, not allocated.

>>> arrays = check_params_header(open("old/resnet-0000.params", "rb").read(), "old/resnet-0000.params")
>>> arrays[0]            # ('arg:conv0_weight', 'float32', (64, 3, 7, 7))

MXNet 1.9.1's reader (``NDArray::Load`` in src/ndarray/ndarray.cc) allocates what the header claims before it
reads the bytes: an array's elements, a shape's dimensions, the vector of arrays and of names. A flipped bit in
a header made it allocate 9-11 GB for a file of a few KB. This reader walks the same layout (spec/FORMAT.md
section 10) and checks every count against the bytes that remain, so that nothing MXNet then allocates exceeds
the file's own size by more than MXNet's per-array bookkeeping. Java's ``io.mxport.ParamsHeader`` reads the same
layout; both run the cases of spec/params_cases.
"""

import struct

from ._errors import MxportError

LIST_MAGIC = 0x112
V1_MAGIC = 0xF993FAC8  # int64 shape, no storage type
V2_MAGIC = 0xF993FAC9  # with storage type
V3_MAGIC = 0xF993FACA  # NumPy shape semantics (ndim -1: unknown, ndim 0: a scalar)
# mshadow type flags MXNet 1.9.1 knows the size of (mshadow_sizeof): the rest make it fail
DTYPES = {
    0: ("float32", 4),
    1: ("float64", 8),
    2: ("float16", 2),
    3: ("uint8", 1),
    4: ("int32", 4),
    5: ("int8", 1),
    6: ("int64", 8),
    7: ("bool", 1),
    12: ("bfloat16", 2),
}
AUX_ARRAYS = {0: 0, 1: 1, 2: 2}  # storage type: dense, row_sparse (indices), csr (indptr, indices)
# the fewest bytes an array takes (MXNet's "none" array: magic, storage type, ndim 0); a first bound on the
# count, before every array is walked
MIN_ARRAY_BYTES = 12
_FIX = "the file is damaged or not an MXNet params file: export or download the model again"


class _Lie(Exception):
    pass


class _Reader:
    def __init__(self, data):
        self.data = data
        self.at = 0

    def left(self):
        return len(self.data) - self.at

    def take(self, fmt, what):
        size = struct.calcsize(fmt)
        if size > self.left():
            raise _Lie(f"the file ends inside {what} (at byte {self.at} of {len(self.data)})")
        values = struct.unpack_from(fmt, self.data, self.at)
        self.at += size
        return values if len(values) > 1 else values[0]

    def skip(self, count, what):
        if count > self.left():
            raise _Lie(f"{what} claims {count} bytes, but only {self.left()} remain in the file")
        self.at += count

    def shape(self, dim_format, ndim, what):
        dim_size = struct.calcsize(dim_format)
        if ndim * dim_size > self.left():
            raise _Lie(
                f"{what} claims {ndim} dimensions ({ndim * dim_size} bytes), but only {self.left()} bytes "
                "remain in the file"
            )
        dims = struct.unpack_from(f"<{ndim}{dim_format[-1]}", self.data, self.at) if ndim else ()
        self.at += ndim * dim_size
        return tuple(dims)


def _elements(shape, what):
    count = 1
    for d in shape:
        if d < 0:
            raise _Lie(f"{what} has a negative dimension")
        count *= d
    if count >= 2**63:
        raise _Lie(f"{what} has more than 2^63 elements")
    return count


def _array(r):
    """Walks one array (NDArray::Load); returns (dtype name or None, shape or None) and leaves r after its data."""
    magic = r.take("<I", "an array's magic number")
    if magic in (V2_MAGIC, V3_MAGIC):
        stype = r.take("<i", "the storage type")
        if stype not in AUX_ARRAYS or (magic == V3_MAGIC and stype != 0):
            raise _Lie(f"unknown storage type {stype}")
        aux = AUX_ARRAYS[stype]
        storage_shape = r.shape("<q", _ndim(r, magic), "the storage shape") if aux else None
        ndim = _ndim(r, magic)
        if ndim == -1 or (magic == V2_MAGIC and ndim == 0):
            return None, None  # MXNet's "none" array: nothing more follows
        shape = r.shape("<q", ndim, "the shape")
        if magic == V3_MAGIC and -1 in shape:
            return None, None  # unknown shape in NumPy semantics: nothing more follows
    elif magic == V1_MAGIC:
        aux, storage_shape = 0, None
        shape = r.shape("<q", _ndim(r, magic), "the shape")
        if -1 in shape:
            return None, None  # MXNet's "none" array
    else:  # before V1 the magic number was the ndim of a shape of uint32 dimensions
        aux, storage_shape = 0, None
        if magic > r.left() // 4:
            raise _Lie(
                f"an array of the oldest layout claims {magic} dimensions ({magic * 4} bytes), but only "
                f"{r.left()} bytes remain in the file (or its magic number {magic:#x} is damaged)"
            )
        shape = r.shape("<I", magic, "the shape")
    r.take("<ii", "the context")
    flag = r.take("<i", "the dtype")
    if flag not in DTYPES:
        raise _Lie(f"unknown dtype code {flag}")
    dtype, size = DTYPES[flag]
    what = f"its shape {list(shape)} of {dtype}"
    elements = _elements(shape, what)
    if not aux:
        r.skip(elements * size, f"{what} ({elements} elements)")
        return dtype, shape
    aux_specs = []
    for i in range(aux):
        aux_flag = r.take("<i", "an auxiliary dtype")
        if aux_flag not in DTYPES:
            raise _Lie(f"unknown dtype code {aux_flag} of auxiliary array {i}")
        aux_shape = r.shape("<q", _ndim(r, V2_MAGIC), f"auxiliary shape {i}")
        if not aux_shape:  # MXNet reads its first dimension
            raise _Lie(f"auxiliary shape {i} has no dimensions")
        aux_specs.append(
            (DTYPES[aux_flag][1], aux_shape, _elements(aux_shape, f"auxiliary shape {i} {list(aux_shape)}"))
        )
    # MXNet sizes a sparse array's storage from its indices (row_sparse: one row per index, csr: one value per
    # column index), whatever the saved storage shape says; a saved one that disagrees is a damaged file
    index_shape = aux_specs[-1][1]
    stored = index_shape[0] * _elements(shape[1:], what) if aux == 1 else aux_specs[-1][2]
    if _elements(storage_shape, f"its storage shape {list(storage_shape)}") != stored:
        raise _Lie(f"its storage shape {list(storage_shape)} disagrees with its indices {list(index_shape)}")
    r.skip(stored * size, f"{what} ({stored} stored elements)")
    for i, (aux_size, aux_shape, aux_elements) in enumerate(aux_specs):
        r.skip(aux_elements * aux_size, f"auxiliary array {i} {list(aux_shape)}")
    return dtype, shape


def _ndim(r, magic):
    ndim = r.take("<i", "the number of dimensions")
    if ndim < (-1 if magic == V3_MAGIC else 0):
        raise _Lie(f"{ndim} dimensions")
    return ndim


def check_params_header(data, path):
    """Checks a params file's layout against its size; returns [(name or None, dtype, shape)] per array.

    Raises ``MxportError`` ``BAD_PARAMS`` naming the array (its index, and its name when the names were read)
    and what it claims, before MXNet allocates anything for it.
    """
    if len(data) < 24:  # magic number, reserved, array count
        raise MxportError("BAD_PARAMS", f"{path} is {len(data)} bytes, too short for a params file; {_FIX}")
    r = _Reader(data)
    header, _reserved, count = r.take("<QQQ", "the file header")
    if header != LIST_MAGIC:
        raise MxportError(
            "BAD_PARAMS",
            f"{path} does not start with MXNet's params magic number 0x112 (it starts with {header:#x}); {_FIX}",
        )
    if count > r.left() // MIN_ARRAY_BYTES:
        raise MxportError(
            "BAD_PARAMS",
            f"{path} claims {count} arrays, but its {r.left()} bytes after the header "
            f"hold at most {r.left() // MIN_ARRAY_BYTES}; {_FIX}",
        )
    arrays = []
    for index in range(count):
        try:
            arrays.append(_array(r))
        except _Lie as lie:
            raise MxportError("BAD_PARAMS", f"{path}: array {index} of {count}: {lie}; {_FIX}") from None
    try:
        names = r.take("<Q", "the name count")
        if names not in (0, count):
            raise _Lie(f"{names} names for {count} arrays")
        found = []
        for i in range(names):
            length = r.take("<Q", f"the length of name {i}")
            start = r.at
            r.skip(length, f"name {i}")
            found.append(data[start : r.at].decode("utf-8", "replace"))
    except _Lie as lie:
        raise MxportError("BAD_PARAMS", f"{path}: the array names: {lie}; {_FIX}") from None
    names = found or [None] * count
    return [(n, dtype, shape) for n, (dtype, shape) in zip(names, arrays)]
