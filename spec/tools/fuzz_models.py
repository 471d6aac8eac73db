"""A seeded generator of broken model sets, for the loaders of every language.

    python spec/tools/fuzz_models.py OUT_DIR --cases 300 --seed 0

Each case is OUT_DIR/<nnnn>/ holding a model at prefix `model` (two files, or one, or a directory where a
file should be...) and `mutation.txt` saying what was done. `OUT_DIR/index.json` lists the cases with their
mutation, and, for an old model (no signature, converter-style names), the `load` to load it with: input
descriptions and epoch, as in a vector's case.json. A loader, given any case, MUST end in success or in an MxportError carrying a code of
spec/FORMAT.md section 8 — never a crash, a hang, or another exception type. python/tests/test_fuzz.py holds
Python to that; integration_tests/test_fuzz_agreement.py asserts that Java and Scala end each case with Python's code.
"""

import argparse
import copy
import hashlib
import json
import os
import random
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
# an old model (no signature), loaded with the input descriptions and epoch of its vector's case.json
OLD_SOURCE = "old_converter_names"
SOURCES = ["single_in_single_out", "multi_in_multi_out", "uint8_image", "postprocess", OLD_SOURCE]
SIG = "__mxport_signature__"


def load_source(name):
    folder = os.path.join(HERE, "..", "vectors", name)
    graph = json.load(open(os.path.join(folder, "model-symbol.json")))
    load = json.load(open(os.path.join(folder, "case.json")))["load"]
    params_name = f"model-{load['epoch']:04d}.params" if load["epoch"] is not None else "model.params"
    params = open(os.path.join(folder, params_name), "rb").read()
    return graph, params, load if load["inputs"] is not None else None


def signature_of(graph):
    return next(json.loads(n["attrs"][SIG]) for n in graph["nodes"] if SIG in n.get("attrs", {}))


def set_signature(graph, sig):
    for n in graph["nodes"]:
        if SIG in n.get("attrs", {}):
            n["attrs"][SIG] = json.dumps(sig, separators=(",", ":"))


def redigest(sig, params):
    sig["params"] = {"sha256": hashlib.sha256(params).hexdigest(), "size": len(params)}


# Each mutation takes (rng, graph, params) and returns (graph_or_bytes, params_or_None, note).
# graph may come back as bytes (written as is); params None means the file is left out.


def truncate_params(rng, g, p):
    cut = rng.randrange(0, len(p))
    return g, p[:cut], f"params truncated to {cut} of {len(p)} bytes"


def truncate_params_redigested(rng, g, p):
    cut = rng.randrange(0, len(p))
    sig = signature_of(g)
    redigest(sig, p[:cut])
    set_signature(g, sig)
    return g, p[:cut], f"params truncated to {cut} bytes, digest updated to match"


def flip_params(rng, g, p):
    data = bytearray(p)
    flips = rng.randint(1, 8)
    for _ in range(flips):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return g, bytes(data), f"{flips} bit(s) flipped in params"


def flip_params_redigested(rng, g, p):
    data = bytearray(p)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(min(len(data), 256))  # the header: counts, shapes, dtypes
        data[i] ^= 1 << rng.randrange(8)
    sig = signature_of(g)
    redigest(sig, bytes(data))
    set_signature(g, sig)
    return g, bytes(data), "bits flipped in the params header, digest updated to match"


def not_json(rng, g, p):
    text = json.dumps(g)
    choice = rng.randrange(4)
    if choice == 0:
        return text[: rng.randrange(len(text))].encode(), p, "symbol JSON truncated"
    if choice == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))), p, "symbol is random bytes"
    if choice == 2:
        return b"", p, "symbol file empty"
    return text.replace('"', "'", rng.randint(1, 20)).encode(), p, "symbol quotes swapped"


def wrong_shape_json(rng, g, p):
    choices = [
        ("nodes is an object", lambda: g.update(nodes={"a": 1})),
        ("heads empty", lambda: g.update(heads=[])),
        ("a head points past the nodes", lambda: g.update(heads=[[len(g["nodes"]) + 5, 0, 0]])),
        ("a node input points forward", lambda: g["nodes"][1].update(inputs=[[len(g["nodes"]) - 1, 0, 0]])),
        ("a node input is negative", lambda: g["nodes"][1].update(inputs=[[-1, 0, 0]])),
        ("a node has no op", lambda: g["nodes"][rng.randrange(len(g["nodes"]))].pop("op")),
        ("a node name is a number", lambda: g["nodes"][0].update(name=7)),
        ("attrs values are numbers", lambda: g["nodes"][-1].update(attrs={"x": 1})),
        ("the top level is a list", None),
        ("an input entry is a string", lambda: g["nodes"][1].update(inputs=["0"])),
        ("an unknown op", lambda: g["nodes"][-1].update(op="NoSuchOperator")),
    ]
    note, fn = rng.choice(choices)
    if fn is None:
        return json.dumps([g]).encode(), p, note
    fn()
    return g, p, note


def mutate_signature(rng, g, p):
    sig = signature_of(g)
    spec = rng.choice(sig["inputs"] + sig["outputs"] + sig["network"]["inputs"])
    choices = [
        ("a spec lost its dtype", lambda: spec.pop("dtype")),
        ("a spec lost its shape", lambda: spec.pop("shape")),
        ("inputs missing", lambda: sig.pop("inputs")),
        ("params missing", lambda: sig.pop("params")),
        ("a negative dimension", lambda: spec.update(shape=[-1] + [-rng.randint(2, 10)] * (len(spec["shape"]) - 1))),
        ("a zero dimension", lambda: spec.update(shape=[-1, 0])),
        ("an enormous dimension", lambda: spec.update(shape=[-1, rng.choice([2**31, 2**40, 10**30])])),
        ("an enormous product", lambda: spec.update(shape=[-1, 65536, 65536])),
        ("a float dimension", lambda: spec.update(shape=[-1, 2.5])),
        ("rank 9", lambda: spec.update(shape=[-1] + [1] * 8)),
        ("an unknown dtype", lambda: spec.update(dtype=rng.choice(["bfloat16", "float128", "", "FLOAT32", 3]))),
        ("an unknown layout", lambda: spec.update(layout=rng.choice(["nchw", "NN", "N C", 5, "NCHWNCHWX"]))),
        ("names collide", lambda: sig["inputs"].append(copy.deepcopy(sig["inputs"][0]))),
        ("an empty name", lambda: spec.update(name="")),
        ("a params path outside the folder", lambda: sig["params"].update(file="../../etc/passwd")),
        ("an extra top-level field", lambda: sig.update(weights="http://example.invalid/w.params")),
        ("format version 3", lambda: sig.update(mxport_format=3)),
        (
            "version 2 with labels of the right count",
            lambda: (
                sig.update(mxport_format=2),
                sig["outputs"][0].update(labels=[f"class {i}" for i in range(max(sig["outputs"][0]["shape"][-1], 1))]),
            ),
        ),
        (
            "version 2 with labels of the wrong count",
            lambda: (
                sig.update(mxport_format=2),
                sig["outputs"][0].update(labels=["a"] * (abs(sig["outputs"][0]["shape"][-1]) + 1)),
            ),
        ),
        ("labels on a version-1 output", lambda: sig["outputs"][0].update(labels=["a"])),
        (
            "version 2 with labels on an input",
            lambda: (sig.update(mxport_format=2), sig["inputs"][0].update(labels=["a"])),
        ),
        (
            "version 2 metadata",
            lambda: sig.update(mxport_format=2, metadata={"name": rng.choice(["x", "", "é" * 4096])}),
        ),
        (
            "version 2 metadata too long or not a string",
            lambda: sig.update(
                mxport_format=2,
                metadata=rng.choice(
                    [{"name": "x" * 4097}, {"year": 2020}, {"bad key": "x"}, ["name"], {f"k{i}": "" for i in range(65)}]
                ),
            ),
        ),
        ("metadata in version 1", lambda: sig.update(metadata={"name": "x"})),
        ("format version as a string", lambda: sig.update(mxport_format="1")),
        ("a digest of the wrong length", lambda: sig["params"].update(sha256="abc")),
        ("network names differ", lambda: sig["network"]["inputs"][0].update(name="other")),
    ]
    note, fn = rng.choice(choices)
    fn()
    set_signature(g, sig)
    return g, p, note


def signature_not_json(rng, g, p):
    for n in g["nodes"]:
        if SIG in n.get("attrs", {}):
            n["attrs"][SIG] = n["attrs"][SIG][: rng.randrange(len(n["attrs"][SIG]))]
    return g, p, "signature attribute truncated"


def connectors(rng, g, p):
    marked = [n for n in g["nodes"] if "__mxport_connector__" in n.get("attrs", {})]
    target = rng.choice(marked)
    choices = [
        ("a connector lost its kind", lambda: target["attrs"].pop("__mxport_connector__")),
        ("a connector's port renamed", lambda: target["attrs"].update(__mxport_port__="elsewhere")),
        ("a connector of an unknown kind", lambda: target["attrs"].update(__mxport_connector__="teleport")),
        ("a connector is not an identity", lambda: target.update(op="relu")),
        (
            "a second signature",
            lambda: (
                target["attrs"].update({SIG: next(n["attrs"][SIG] for n in g["nodes"] if SIG in n.get("attrs", {}))})
                if SIG not in target["attrs"]
                else g["nodes"][0].setdefault("attrs", {}).update({SIG: target["attrs"][SIG]})
            ),
        ),
        (
            "a connector port is duplicated",
            lambda: [
                m["attrs"].update(__mxport_port__=target["attrs"]["__mxport_port__"])
                for m in marked
                if m["attrs"]["__mxport_connector__"] == target["attrs"]["__mxport_connector__"]
            ],
        ),
    ]
    note, fn = rng.choice(choices)
    fn()
    return g, p, note


# Pieces of the names converters and other tools give nodes (spec section 7: an old model keeps them). No tab
# and no newline: the JVM adapters of integration_tests take descriptions as tab-separated lines.
NAME_PIECES = [
    "/",
    " ",
    "0",
    "123",
    ".",
    ":",
    ";",
    "onnx::",
    "input.1",
    "/layer1/layer1.0/conv1/Conv_output_0",
    "\u00e9",
    "\u540d",
    "\U0001f431",
    "'",
    '"',
    "\\",
    "-",
    "_output",
    "#",
    "%",
    "?",
    "=",
    ",",
    "[",
    "{",
]


def converter_name(rng):
    roll = rng.random()
    if roll < 0.04:
        return ""
    if roll < 0.08:
        return rng.choice(["x" * 128, "y" * 129, "/" + "z" * 1000])
    return "".join(rng.choice(NAME_PIECES) for _ in range(rng.randint(1, 6)))


def old_names(rng, g, p, load):
    """Renames an old model's operator nodes (so its outputs) and input variables to converter-style names; the
    input descriptions follow the renamed inputs (or, now and then, go stale or name a parameter)."""
    names = {s["name"] for s in load["inputs"]}
    ops = [n for n in g["nodes"] if n["op"] != "null"]
    for n in rng.sample(ops, rng.randint(1, len(ops))):
        n["name"] = converter_name(rng)
    notes = ["operators renamed"]
    inputs = [n for n in g["nodes"] if n["op"] == "null" and n["name"] in names]
    if rng.random() < 0.7:
        target = rng.choice(inputs)
        new = (
            converter_name(rng)
            if rng.random() < 0.9
            else rng.choice([n["name"] for n in g["nodes"] if n["op"] == "null" and n["name"] not in names])
        )  # a parameter's name
        for spec in load["inputs"]:
            if spec["name"] == target["name"]:
                spec["name"] = new
        target["name"] = new
        notes.append(f"input renamed {new!r:.40}")
    roll = rng.random()
    if roll < 0.08:
        load["inputs"][0]["name"] = converter_name(rng)
        notes.append("a stale input description")
    elif roll < 0.12:
        load["inputs"][0]["shape"] = [-1, load["inputs"][0]["shape"][1] + 1]
        notes.append("a description of the wrong width")
    return g, p, ", ".join(notes)


def files(rng, g, p):
    return (
        g,
        p,
        rng.choice(
            [
                "params missing",
                "symbol missing",
                "params empty",
                "params is a directory",
                "symbol is a directory",
                "params is a symlink outside the folder",
            ]
        ),
    )


MUTATIONS = [
    truncate_params,
    truncate_params_redigested,
    flip_params,
    flip_params_redigested,
    not_json,
    wrong_shape_json,
    mutate_signature,
    mutate_signature,
    signature_not_json,
    connectors,
    connectors,
    files,
]


def flip_param_names(rng, g, p):
    """Bits flipped in the array names of a params file (an old model has no digest to catch it)."""
    data = bytearray(p)
    spots = []  # the bytes of each name, not the uint64 length before it (MXNet would allocate what it says)
    for prefix in (b"arg:", b"aux:"):
        at = p.find(prefix)
        while at >= 8:
            length = int.from_bytes(p[at - 8 : at], "little")
            if 4 <= length <= len(p) - at:
                spots.extend(range(at, at + length))
            at = p.find(prefix, at + 1)
    flips = rng.randint(1, 4)
    for _ in range(flips):
        data[rng.choice(spots)] ^= 1 << rng.randrange(8)
    return g, bytes(data), f"{flips} bit(s) flipped in the params' array names"


def scramble_params(rng, g, p):
    """Random bytes of a params file (anywhere: header, data, names) replaced by random values."""
    data = bytearray(p)
    count = rng.randint(1, 8)
    for _ in range(count):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return g, bytes(data), f"{count} byte(s) replaced in params"


# An old model has no signature to break: its names are renamed, then now and then its files are broken too. Its
# params have no digest, so a flipped header reaches the loaders' header check (spec/FORMAT.md section 10), which
# must refuse it before MXNet allocates what it claims.
OLD_MUTATIONS = [
    truncate_params,
    flip_params,
    flip_params,
    scramble_params,
    flip_param_names,
    not_json,
    wrong_shape_json,
    files,
]


def write_case(folder, graph, params, note, params_name="model.params"):
    os.makedirs(folder)
    symbol = os.path.join(folder, "model-symbol.json")
    params_path = os.path.join(folder, params_name)
    with open(symbol, "wb") as f:
        f.write(graph if isinstance(graph, bytes) else json.dumps(graph, indent=1).encode())
    with open(params_path, "wb") as f:
        f.write(params)
    if note == "params missing":
        os.remove(params_path)
    elif note == "symbol missing":
        os.remove(symbol)
    elif note == "params empty":
        open(params_path, "wb").close()
    elif note == "params is a directory":
        os.remove(params_path)
        os.mkdir(params_path)
    elif note == "symbol is a directory":
        os.remove(symbol)
        os.mkdir(symbol)
    elif note == "params is a symlink outside the folder":
        outside = os.path.join(os.path.dirname(folder), "outside.params")
        if not os.path.exists(outside):
            with open(outside, "wb") as f:
                f.write(b"\x00" * 64)
        os.remove(params_path)
        os.symlink(os.path.relpath(outside, folder), params_path)
    with open(os.path.join(folder, "mutation.txt"), "w") as f:
        f.write(note + "\n")


def generate(out, cases, seed):
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    rng = random.Random(seed)
    sources = {name: load_source(name) for name in SOURCES}
    index = []
    for k in range(cases):
        source = rng.choice(SOURCES)
        graph, params, load = copy.deepcopy(sources[source][0]), sources[source][1], copy.deepcopy(sources[source][2])
        name = f"{k:04d}"
        if load is None:
            mutation = rng.choice(MUTATIONS)
            graph, params, note = mutation(rng, graph, params)
            write_case(os.path.join(out, name), graph, params, note)
            index.append({"case": name, "source": source, "mutation": mutation.__name__, "note": note})
            continue
        graph, params, note = old_names(rng, graph, params, load)
        mutation = old_names
        if rng.random() < 0.4:
            mutation = rng.choice(OLD_MUTATIONS)
            graph, params, more = mutation(rng, graph, params)
            note = f"{note}; {more}"
        write_case(
            os.path.join(out, name),
            graph,
            params,
            note.rsplit("; ", 1)[-1],
            params_name=f"model-{load['epoch']:04d}.params",
        )
        index.append({"case": name, "source": source, "mutation": mutation.__name__, "note": note, "load": load})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
    return index


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out")
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generate(args.out, args.cases, args.seed)
