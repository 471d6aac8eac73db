"""Writes spec/params_cases: small params files that lie in their header, and a few that do not.

    python spec/tools/make_params_cases.py            # rewrites spec/params_cases (make vectors runs it)

Every loader reads a params file's header before MXNet does (spec/FORMAT.md section 10) and refuses a file whose
counts, shapes, dtypes or name lengths claim more than its bytes hold. Each case is built from the
old_converter_names vector's params file (5 float32 arrays, names 'arg:...'), changed in one place.
`cases.json` lists, per file: `code` (OK or BAD_PARAMS), `array` (the index of the array the message names, or
null), and `message`, the text the header check gives with the path written as <file>: the Python and the Java
tests both assert the code, the array and that text. OK cases are also loaded by MXNet, which must give the
same names, dtypes and shapes.
"""

import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "params_cases")
SOURCE = os.path.join(HERE, "..", "vectors", "old_converter_names", "model-0003.params")

V1, V2 = 0xF993FAC8, 0xF993FAC9
DTYPES = {"float32": (0, "f"), "int64": (6, "q"), "uint8": (3, "B")}


def dense_v2(shape, dtype="float32", values=None, ndim=None, flag=None):
    code, fmt = DTYPES[dtype]
    n = 1
    for d in shape:
        n *= d
    values = values if values is not None else [i % 7 for i in range(n)]
    return (
        struct.pack("<Ii", V2, 0)
        + struct.pack("<i", len(shape) if ndim is None else ndim)
        + struct.pack(f"<{len(shape)}q", *shape)
        + struct.pack("<ii", 1, 0)
        + struct.pack("<i", code if flag is None else flag)
        + struct.pack(f"<{len(values)}{fmt}", *values)
    )


def dense_v1(shape):
    n = 1
    for d in shape:
        n *= d
    return (
        struct.pack("<Ii", V1, len(shape))
        + struct.pack(f"<{len(shape)}q", *shape)
        + struct.pack("<iii", 1, 0, 0)
        + struct.pack(f"<{n}f", *range(n))
    )


def dense_oldest(shape):
    """Before V1: the magic number is the ndim, dimensions are uint32."""
    n = 1
    for d in shape:
        n *= d
    return (
        struct.pack("<I", len(shape))
        + struct.pack(f"<{len(shape)}I", *shape)
        + struct.pack("<iii", 1, 0, 0)
        + struct.pack(f"<{n}f", *range(n))
    )


def row_sparse(shape, rows, aux_ndim=1):
    """A row_sparse array (storage type 1) holding `rows` of its rows: data [rows, ...], int64 indices [rows]."""
    width = 1
    for d in shape[1:]:
        width *= d
    storage = (rows,) + tuple(shape[1:])
    index_shape = (rows,) if aux_ndim else ()
    return (
        struct.pack("<Ii", V2, 1)
        + struct.pack("<i", len(storage))
        + struct.pack(f"<{len(storage)}q", *storage)
        + struct.pack("<i", len(shape))
        + struct.pack(f"<{len(shape)}q", *shape)
        + struct.pack("<ii", 1, 0)
        + struct.pack("<i", 0)
        + struct.pack("<i", 6)
        + struct.pack("<i", len(index_shape))
        + struct.pack(f"<{len(index_shape)}q", *index_shape)
        + struct.pack(f"<{rows * width}f", *range(rows * width))
        + struct.pack(f"<{rows}q", *range(rows))
    )


def params_file(arrays, names, count=None, name_count=None, magic=0x112):
    out = struct.pack("<QQ", magic, 0) + struct.pack("<Q", len(arrays) if count is None else count)
    out += b"".join(arrays)
    out += struct.pack("<Q", len(names) if name_count is None else name_count)
    for n in names:
        raw = n.encode() if isinstance(n, str) else n
        out += struct.pack("<Q", len(raw)) + raw
    return out


def split_source(data):
    """The source file's arrays (as bytes) and names, found by walking its (known good) V2 layout."""
    at, arrays = 24, []
    (count,) = struct.unpack_from("<Q", data, 16)
    for _ in range(count):
        start = at
        ndim = struct.unpack_from("<i", data, at + 8)[0]
        shape = struct.unpack_from(f"<{ndim}q", data, at + 12)
        at += 12 + 8 * ndim + 8 + 4
        n = 1
        for d in shape:
            n *= d
        at += 4 * n
        arrays.append(data[start:at])
    names = []
    (count,) = struct.unpack_from("<Q", data, at)
    at += 8
    for _ in range(count):
        (length,) = struct.unpack_from("<Q", data, at)
        names.append(data[at + 8 : at + 8 + length].decode())
        at += 8 + length
    return arrays, names


def patch(blob, offset, fmt, value):
    out = bytearray(blob)
    struct.pack_into(fmt, out, offset, value)
    return bytes(out)


def cases():
    arrays, names = split_source(open(SOURCE, "rb").read())
    good = params_file(arrays, names)
    a2 = arrays[2]
    yield "ok_source", good, "OK", None
    yield "ok_v1_layout", params_file([dense_v1((2, 3)), dense_v1((4,))], ["arg:w", "aux:v"]), "OK", None
    yield "ok_oldest_layout", params_file([dense_oldest((2, 3)), dense_oldest((4,))], ["arg:w", "arg:b"]), "OK", None
    yield "ok_row_sparse", params_file([row_sparse((10, 3), 2), dense_v2((3,))], ["arg:emb", "arg:b"]), "OK", None
    yield "ok_unnamed", params_file([dense_v2((2, 2))], []), "OK", None
    yield "ok_int64_and_uint8", params_file([dense_v2((3,), "int64"), dense_v2((5,), "uint8")], ["a", "b"]), "OK", None
    yield "too_short", good[:12], "BAD_PARAMS", None
    yield "not_params_magic", patch(good, 0, "<Q", 0x113), "BAD_PARAMS", None
    yield "huge_array_count", patch(good, 16, "<Q", 2**60), "BAD_PARAMS", None
    yield "one_array_too_many", patch(good, 16, "<Q", len(arrays) + 1), "BAD_PARAMS", len(arrays)
    yield "huge_ndim", params_file(arrays[:2] + [patch(a2, 8, "<i", 2**30)] + arrays[3:], names), "BAD_PARAMS", 2
    yield "negative_ndim", params_file(arrays[:2] + [patch(a2, 8, "<i", -5)] + arrays[3:], names), "BAD_PARAMS", 2
    yield "huge_dimension", params_file(arrays[:2] + [patch(a2, 12, "<q", 2**40)] + arrays[3:], names), "BAD_PARAMS", 2
    yield "negative_dimension", params_file(arrays[:2] + [patch(a2, 12, "<q", -8)] + arrays[3:], names), "BAD_PARAMS", 2
    yield "elements_overflow", params_file([dense_v2((2**33, 2**33), values=[])], ["arg:w"]), "BAD_PARAMS", 0
    yield "unknown_dtype", params_file([dense_v2((2,), flag=99)], ["arg:w"]), "BAD_PARAMS", 0
    yield "unknown_storage_type", params_file([patch(arrays[0], 4, "<i", 7)] + arrays[1:], names), "BAD_PARAMS", 0
    yield (
        "oldest_layout_huge_ndim",
        params_file([struct.pack("<I", 0x40000000) + b"\0" * 64], ["arg:w"]),
        "BAD_PARAMS",
        0,
    )
    yield (
        "sparse_index_without_dimensions",
        params_file([row_sparse((10, 3), 0, aux_ndim=0)], ["arg:emb"]),
        "BAD_PARAMS",
        0,
    )
    yield (
        "sparse_storage_disagrees_with_indices",
        params_file([patch(row_sparse((10, 3), 2), 12, "<q", 2**35)], ["arg:emb"]),
        "BAD_PARAMS",
        0,
    )
    yield (
        "sparse_indices_larger_than_file",
        params_file([patch(patch(row_sparse((10, 3), 2), 12, "<q", 2**35), 68, "<q", 2**35)], ["arg:emb"]),
        "BAD_PARAMS",
        0,
    )
    yield "names_count_differs", params_file(arrays, names, name_count=len(names) - 1), "BAD_PARAMS", None
    yield (
        "huge_name_length",
        params_file(arrays, names[:-1] + [b"x"]).replace(struct.pack("<Q", 1) + b"x", struct.pack("<Q", 2**40) + b"x"),
        "BAD_PARAMS",
        None,
    )
    yield "names_missing", good[: len(good) - sum(8 + len(n) for n in names) - 8], "BAD_PARAMS", None


def main():
    sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "src"))
    from mxport import MxportError
    from mxport._params_header import check_params_header

    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    index = []
    for name, data, code, array in cases():
        file = f"{name}.params"
        with open(os.path.join(OUT, file), "wb") as f:
            f.write(data)
        try:
            check_params_header(data, "<file>")
            got, message = "OK", None
        except MxportError as e:
            got, message = e.code, e.detail
        if got != code or (array is not None and f"array {array} of" not in message):
            raise SystemExit(f"{file}: the header check gives {got} ({message}), the case says {code} array {array}")
        index.append({"file": file, "code": code, "array": array, "message": message})
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
