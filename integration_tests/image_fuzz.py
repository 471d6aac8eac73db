"""The image fuzz: seeded hostile images, decoded by Python and Java in worker processes, compared case by case.

    python integration_tests/image_fuzz.py --cases 10000 --seed 0     # make fuzz; prints the counts

Cases are made from the image corpus (integration_tests/image_corpus.py): random bit flips and byte changes,
truncations, inserted JPEG markers and PNG chunks, JPEG frame headers and PNG IHDRs claiming huge (or zero)
sizes, frame headers turned progressive, lossless, hierarchical or arithmetic-coded, PNG chunks with bad CRCs or
lengths, splices of two files, and files that are not images. They are written to .cache/image_fuzz/<seed>/ (with
index.json saying what each is). Each language decodes them in batches in worker processes (Python
`mxport.read_image`, Java `Images.read`, both with the same pixel limit and the same libmxnet.so), one result line
per case, so that a crash is counted (the case after the last line) and the batch goes on in a new process.

The result holds when: no worker crashed or hung, every failure is INVALID_ARGUMENT naming the file, Python
and Java agree on every case (the same pixels, or the same code), and no output holds memory the decoder did not
write: before each decode a worker fills freed native memory with a byte pattern, and no output may contain a run
of it; two decodes of a case in one process give the same pixels.
"""

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# lower than the default: a fuzzed header may claim up to this many pixels and the decoder allocates them
FUZZ_MAX_PIXELS = 16_000_000
BATCH = 500
BATCH_TIMEOUT_S = 900

JPEG_MARKERS = [
    0xC0,
    0xC1,
    0xC2,
    0xC3,
    0xC4,
    0xC5,
    0xC9,
    0xCA,
    0xCB,
    0xCC,
    0xCD,
    0xD0,
    0xD7,
    0xD8,
    0xD9,
    0xDA,
    0xDB,
    0xDD,
    0xE0,
    0xE1,
    0xEE,
    0xFE,
    0x01,
    0xFF,
]
PNG_CHUNKS = [
    b"IHDR",
    b"PLTE",
    b"IDAT",
    b"IEND",
    b"tRNS",
    b"gAMA",
    b"iCCP",
    b"sBIT",
    b"tEXt",
    b"zTXt",
    b"acTL",
    b"fcTL",
    b"CgBI",
    b"xxXx",
]


# ---- the cases ----


def _segments(jpeg):
    """(offset, marker) of each JPEG marker segment before the scan data."""
    out, i = [], 2
    while i + 3 < len(jpeg) and jpeg[i] == 0xFF:
        marker = jpeg[i + 1]
        out.append((i, marker))
        if marker == 0xDA:
            break
        i += 2 + int.from_bytes(jpeg[i + 2 : i + 4], "big")
    return out


def _sof(jpeg):
    return next((at for at, m in _segments(jpeg) if 0xC0 <= m <= 0xCF and m not in (0xC4, 0xC8, 0xCC)), None)


def _chunks(png):
    """(offset, length, type) of each PNG chunk that fits in the file."""
    out, i = [], 8
    while i + 12 <= len(png):
        length = int.from_bytes(png[i : i + 4], "big")
        out.append((i, length, png[i + 4 : i + 8]))
        i += 12 + length
    return out


def _chunk(kind, data, crc_ok=True):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc if crc_ok else crc ^ 0x5A5A5A5A)


def flip_bits(rng, data, _):
    out = bytearray(data)
    n = rng.randint(1, 16)
    for _ in range(n):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out), f"{n} bit(s) flipped"


def flip_header(rng, data, _):
    out = bytearray(data)
    n = rng.randint(1, 6)
    for _ in range(n):
        out[rng.randrange(min(len(out), rng.choice([32, 128, 512])))] ^= 1 << rng.randrange(8)
    return bytes(out), f"{n} bit(s) flipped in the first bytes"


def scramble(rng, data, _):
    out = bytearray(data)
    n = rng.randint(1, 32)
    for _ in range(n):
        out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out), f"{n} byte(s) replaced"


def truncate(rng, data, _):
    cut = rng.choice([rng.randrange(1, len(data)), rng.randrange(1, min(len(data), 300))])
    return data[:cut], f"truncated to {cut} of {len(data)} bytes"


def insert_marker(rng, data, _):
    at = rng.randrange(2, len(data))
    if data[:2] == b"\xff\xd8":
        marker = rng.choice(JPEG_MARKERS)
        length = rng.choice([0, 1, 2, 3, rng.randrange(65536), rng.randrange(64)])
        piece = (
            bytes([0xFF, marker])
            + struct.pack(">H", length)
            + bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        )
        return data[:at] + piece + data[at:], f"marker FF{marker:02X} length {length} inserted at {at}"
    chunks = _chunks(data)
    at = rng.choice([c[0] for c in chunks] + [at])
    kind = rng.choice(PNG_CHUNKS)
    piece = _chunk(kind, bytes(rng.randrange(256) for _ in range(rng.randrange(60))), rng.random() < 0.5)
    return data[:at] + piece + data[at:], f"chunk {kind.decode()} inserted at {at}"


def _claim_size(rng):
    return rng.choice(
        [
            lambda: (rng.randrange(65536), rng.randrange(65536)),  # anything a JPEG header holds
            lambda: (rng.choice([0, 1, 65535]), rng.choice([0, 1, 65535])),
            lambda: (rng.randrange(3000, 6000), rng.randrange(3000, 6000)),  # near the fuzz limit
            lambda: (rng.randrange(1, 300), rng.randrange(1, 300)),  # smaller than the data
        ]
    )()


def huge_dimensions(rng, data, _):
    if data[:2] == b"\xff\xd8":
        at = _sof(data)
        if at is None:
            return flip_header(rng, data, _)
        w, h = _claim_size(rng)
        out = bytearray(data)
        struct.pack_into(">HH", out, at + 5, h, w)
        return bytes(out), f"frame header claims {w}x{h}"
    w, h = rng.choice(
        [
            lambda: _claim_size(rng),
            lambda: (rng.randrange(2**32), rng.randrange(2**32)),
            lambda: (2**31 - 1, rng.randrange(1, 4)),
        ]
    )()
    out = bytearray(data)
    struct.pack_into(">II", out, 16, w, h)
    crc_ok = rng.random() < 0.7
    if crc_ok:
        struct.pack_into(">I", out, 29, zlib.crc32(bytes(out[12:29])) & 0xFFFFFFFF)
    return bytes(out), f"IHDR claims {w}x{h}" + ("" if crc_ok else ", its CRC stale")


def coding(rng, data, _):
    """A frame header turned extended, progressive, lossless, hierarchical or arithmetic-coded."""
    at = _sof(data) if data[:2] == b"\xff\xd8" else None
    if at is None:
        return scramble(rng, data, _)
    marker = rng.choice([0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF])
    out = bytearray(data)
    out[at + 1] = marker
    note = f"frame header turned SOF{marker - 0xC0}"
    if rng.random() < 0.3:
        out, more = flip_bits(rng, bytes(out), _)
        note += f", {more}"
    return bytes(out), note


def png_chunks(rng, data, _):
    if data[:2] == b"\xff\xd8":
        return insert_marker(rng, data, _)
    chunks = _chunks(data)
    if not chunks:
        return truncate(rng, data, _)
    at, length, kind = rng.choice(chunks)
    out = bytearray(data)
    choice = rng.randrange(5)
    if choice == 0 and at + 12 + length <= len(out):
        out[at + 8 + length] ^= 0xFF
        return bytes(out), f"{kind.decode('latin-1')} CRC wrong"
    if choice == 1:
        new = rng.choice([0, length + 1, max(length - 1, 0), rng.randrange(2**31), 2**32 - 1, 2**31])
        struct.pack_into(">I", out, at, new)
        return bytes(out), f"{kind.decode('latin-1')} length {length} -> {new}"
    if choice == 2:
        return data[:at] + data[at + 12 + length :], f"{kind.decode('latin-1')} dropped"
    if choice == 3:
        piece = data[at : at + 12 + length]
        return data[:at] + piece + data[at:], f"{kind.decode('latin-1')} doubled"
    struct.pack_into("4s", out, at + 4, rng.choice(PNG_CHUNKS))
    return bytes(out), f"{kind.decode('latin-1')} renamed"


def splice(rng, data, others):
    other = rng.choice(others)
    cut = rng.randrange(1, len(data))
    return data[:cut] + other[rng.randrange(len(other)) :], f"spliced with another file at {cut}"


def not_an_image(rng, _data, others):
    kinds = [
        ("random bytes", lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 2000)))),
        ("zeros", lambda: bytes(rng.randrange(1, 5000))),
        ("text", lambda: b"not an image, just text\n" * rng.randrange(1, 50)),
        ("JSON", lambda: json.dumps({"nodes": [], "heads": [[0, 0, 0]]}).encode()),
        ("JPEG signature then noise", lambda: b"\xff\xd8\xff" + bytes(rng.randrange(256) for _ in range(200))),
        ("PNG signature then noise", lambda: b"\x89PNG\r\n\x1a\n" + bytes(rng.randrange(256) for _ in range(200))),
        ("PNG signature only", lambda: b"\x89PNG\r\n\x1a\n"),
        ("JPEG SOI and EOI only", lambda: b"\xff\xd8\xff\xd9"),
        ("GIF", lambda: next(o for o in others if o.startswith(b"GIF"))),
        ("BMP", lambda: next(o for o in others if o.startswith(b"BM"))),
        ("TIFF header", lambda: b"II*\x00\x08\x00\x00\x00" + bytes(rng.randrange(256) for _ in range(100))),
        ("a params file", lambda: open(os.path.join(REPO, "spec", "params_cases", "ok_source.params"), "rb").read()),
    ]
    note, make = rng.choice(kinds)
    return make(), f"not an image: {note}"


MUTATIONS = [
    flip_bits,
    flip_bits,
    flip_header,
    flip_header,
    scramble,
    truncate,
    insert_marker,
    insert_marker,
    huge_dimensions,
    huge_dimensions,
    coding,
    coding,
    png_chunks,
    png_chunks,
    splice,
    not_an_image,
]


def sources():
    """The corpus files mutations start from: name -> bytes."""
    sys.path.insert(0, HERE)
    import image_corpus

    return {name: data for name, data in image_corpus.files().items() if data}


def generate(out, cases, seed):
    """Writes cases 00000.. into out with index.json; returns the index."""
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    src = sources()
    images = {n: d for n, d in src.items() if (d[:2] == b"\xff\xd8" or d[:4] == b"\x89PNG") and len(d) >= 64}
    others = list(src.values())
    rng = random.Random(seed)
    index = []
    for k in range(cases):
        name = rng.choice(sorted(images))
        mutation = rng.choice(MUTATIONS)
        data, note = mutation(rng, images[name], others)
        with open(os.path.join(out, f"{k:05d}"), "wb") as f:
            f.write(data)
        index.append({"case": k, "source": name, "mutation": mutation.__name__, "note": note})
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=0)
    os.makedirs(os.path.join(out, "poison"))
    with open(os.path.join(out, "poison.txt"), "w") as f:
        for k in range(cases):
            with open(os.path.join(out, f"{k:05d}"), "rb") as case:
                sizes = poison_sizes(case.read())
            for (w, h), value in ((size, value) for size in sizes for value in POISONS):
                path = os.path.join(out, "poison", f"{w}x{h}-{value:02x}.png")
                if not os.path.exists(path):
                    with open(path, "wb") as png:
                        png.write(poison_png(w, h, value))
            f.write(" ".join(f"{w}x{h}" for w, h in sizes) + "\n")
    return index


# ---- the workers ----


# Before each decode, a worker decodes images of the sizes the case's header declares whose every byte is one poison
# value (the decoder's own buffers, freed: what an earlier request leaves behind in a server): POISONS[0] before
# the first decode, POISONS[1] before the second. An output holding a run of POISON_RUN bytes of the value it was
# poisoned with, where the other output has none, holds memory the decoder never wrote (the value survives
# libmxnet's R/B swap; an image's own run of that value is in both outputs). The poison images are
# poison/WxH-VV.png; poison.txt lists a case's sizes per line.
POISONS = (0xA5, 0x5A)
POISON_RUN = 48
POISON_MAX_PIXELS = 1_000_000


def poison_png(width, height, value):
    """An 8-bit RGB PNG of one colour, (value, value, value)."""
    row = b"\0" + bytes([value]) * (3 * width)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compress = zlib.compressobj(9)
    idat = b"".join(compress.compress(row) for _ in range(height)) + compress.flush()
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def poison_sizes(data):
    """The sizes (width, height) a case's header declares, both ways of reading it."""
    from mxport._images import declared_size, mxnet_declared_size

    return sorted(
        {d for d in (declared_size(data), mxnet_declared_size(data)) if d and 0 < d[0] * d[1] <= POISON_MAX_PIXELS}
    )


def python_worker(folder, first, end, max_pixels):
    import resource

    import mxnet as mx

    import mxport

    with open(os.path.join(folder, "poison.txt")) as f:
        names = [line.split() for line in f]

    def poison(case, value):
        for size in names[case]:
            with open(os.path.join(folder, "poison", f"{size}-{value:02x}.png"), "rb") as f:
                mxport.decode_image(f.read())
        mx.nd.waitall()

    def stale(first, second):
        """Whether an output holds a run of the value it was poisoned with that the other output lacks."""
        runs = [bytes([value]) * POISON_RUN for value in POISONS]
        return (runs[0] in first and runs[0] not in second) or (runs[1] in second and runs[1] not in first)

    out = sys.stdout
    sys.stdout = sys.stderr  # only the results on stdout
    for i in range(first, end):
        path = os.path.join(folder, f"{i:05d}")
        try:
            poison(i, POISONS[0])
            pixels = mxport.read_image(path, max_pixels=max_pixels).asnumpy()
            poison(i, POISONS[1])
            again = mxport.read_image(path, max_pixels=max_pixels).asnumpy()  # while the first is held
            line = {
                "case": i,
                "shape": list(pixels.shape),
                "sha256": hashlib.sha256(pixels.tobytes()).hexdigest(),
                "stable": hashlib.sha256(again.tobytes()).hexdigest() == hashlib.sha256(pixels.tobytes()).hexdigest(),
                "poisoned": stale(pixels.tobytes(), again.tobytes()),
            }
        except mxport.MxportError as e:
            line = {"case": i, "code": e.code, "names_file": path in str(e)}
        except Exception as e:  # noqa: BLE001 - a Python failure of another kind is a finding too
            line = {"case": i, "code": type(e).__name__, "names_file": False}
        out.write(json.dumps(line) + "\n")
        out.flush()
    out.write(json.dumps({"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}) + "\n")
    out.flush()


def _libmxnet():
    import mxnet.libinfo

    return mxnet.libinfo.find_lib_path()[0]


def _integration_conftest():
    """integration_tests/conftest.py by its path: under pytest, `conftest` may name another folder's."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("mxport_integration_conftest", os.path.join(HERE, "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def worker_command(language, folder, first, end, max_pixels):
    if language == "python":
        return [sys.executable, os.path.abspath(__file__), "--worker", folder, str(first), str(end), str(max_pixels)]
    classpath = _integration_conftest().classpath
    java = os.path.join(os.environ["JAVA_HOME"], "bin", "java") if os.environ.get("JAVA_HOME") else "java"
    # the very libmxnet.so Python decodes with: the comparison is of the languages, not of two builds
    return [
        java,
        "-Xmx768m",
        f"-Dmxport.library.path={_libmxnet()}",
        "-cp",
        classpath(),
        "io.mxport.it.ImageFuzzWorker",
        folder,
        str(first),
        str(end),
        str(max_pixels),
    ]


def run_language(language, folder, cases, max_pixels=FUZZ_MAX_PIXELS, batch=BATCH, log=None):
    """Runs every case through the language's workers: ({case: result}, [crashes], [peak RSS MB per worker])."""
    results, crashes, peaks = {}, [], []
    first = 0
    while first < cases:
        end = min(first + batch, cases)
        try:
            run = subprocess.run(
                worker_command(language, folder, first, end, max_pixels),
                cwd=folder,
                stdout=subprocess.PIPE,
                stderr=log or subprocess.DEVNULL,
                timeout=BATCH_TIMEOUT_S,
            )
            stdout, status = run.stdout, run.returncode
        except subprocess.TimeoutExpired as e:
            stdout, status = e.stdout or b"", "hang"
        last = first - 1
        for line in stdout.decode(errors="replace").splitlines():
            item = json.loads(line)
            if "peak_rss_mb" in item:
                peaks.append(item["peak_rss_mb"])
            else:
                results[item["case"]] = item
                last = item["case"]
        if last + 1 < end:  # the worker died on (or hung in) the case after its last line
            crashes.append({"case": last + 1, "language": language, "status": status})
            first = last + 2
        else:
            first = end
    return results, crashes, peaks


def compare(index, python, java, crashes, folder):
    """The counts, and every finding: a crash, a failure that is not INVALID_ARGUMENT naming the file, a
    disagreement."""
    findings = [f"case {c['case']}: {c['language']} worker ended with {c['status']}" for c in crashes]
    tally = collections.Counter()
    for case in index:
        k = case["case"]
        p, j = python.get(k), java.get(k)
        if p is None or j is None:
            continue
        tally["decoded" if "sha256" in p else p["code"]] += 1
        for language, r in (("python", p), ("java", j)):
            if "code" in r and (r["code"] != "INVALID_ARGUMENT" or not r["names_file"]):
                findings.append(
                    f"case {k} ({case['note']}): {language} failed with {r['code']}"
                    f"{'' if r['names_file'] else ', not naming the file'}"
                )
        for language, r in (("python", p), ("java", j)):
            if "sha256" in r and (not r["stable"] or r["poisoned"]):
                # pixels the decoder did not write: memory left by earlier work (a server's earlier request)
                tally[f"stale memory ({language})"] += 1
                findings.append(
                    f"case {k} ({case['source']}: {case['note']}): {language} returned pixels the decoder did not "
                    + ("write (the fill pattern)" if r["poisoned"] else "write (two decodes differ)")
                )
        same = (p.get("sha256"), p.get("shape"), p.get("code")) == (j.get("sha256"), j.get("shape"), j.get("code"))
        if not same:
            tally["disagreements"] += 1
            findings.append(f"case {k} ({case['source']}: {case['note']}): python {p}, java {j}")
    return tally, findings


def run(cases, seed, folder=None):
    folder = folder or os.path.join(REPO, ".cache", "image_fuzz", str(seed))
    index = generate(folder, cases, seed)
    with open(os.path.join(folder, "workers.log"), "w") as log:  # the decoders' warnings
        python, py_crashes, py_peaks = run_language("python", folder, cases, log=log)
        java, java_crashes, java_peaks = run_language("java", folder, cases, log=log)
    tally, findings = compare(index, python, java, py_crashes + java_crashes, folder)
    summary = {
        "cases": cases,
        "seed": seed,
        "outcomes": dict(sorted(tally.items())),
        "crashes": len(py_crashes) + len(java_crashes),
        "peak_rss_mb": {"python": max(py_peaks, default=None), "java": max(java_peaks, default=None)},
    }
    return summary, findings


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        python_worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    summary, findings = run(args.cases, args.seed)
    print(json.dumps(summary))
    for f in findings[:50]:
        print(f)
    sys.exit(1 if findings else 0)
