"""The engine table of issue #23: each engine through mxport, in Python and in Java side by side, and the bare
engine on the same file beside them, so that mxport's own cost and the Java/Python ratio show.

    python benchmarks/engine_bench.py --runs 200 --rounds 3 --jvm-classpath CP   # make bench-engines (make bench)
    python benchmarks/engine_bench.py --runs 5 --rounds 1 --quick ...            # proves the harness, asserts nothing

ResNet-18 (demo/export_resnet.py), the model part (uint8 [N, 300, 300, 3] in, probabilities out: end to end) and
the network part (float32 [N, 3, 224, 224] in, logits out), batch 1 and 25. Settings (engine, precision):
- MXNet fp32 and int8: the mxport models (int8: ``optimize="int8"`` of ``make models``).
- ONNX Runtime and OpenVINO fp32: the files mxport.export_onnx writes from the fp32 model.
- ONNX Runtime and OpenVINO int8: the QDQ file of benchmarks/onnx_int8.py (spec/FORMAT.md 13.7), calibrated on
  int8_accuracy.py's calibration images, each engine its own (``target="onnxruntime"`` / ``"openvino"``); only
  where ``make onnx-int8-setup`` made the quantiser's venv.
- OpenVINO bf16: bare only (mxport's OpenVINO engine pins f32), only where OpenVINO finds bf16 on the CPU.
Rows of a setting: mxport in Python (benchmarks/engine_rows.py) and, on MXNet and ONNX Runtime, in Java
(io.mxport.bench.EngineBench: no OpenVINO engine in Java); for the ONNX engines also the bare engine on the same
file in each of those languages (no mxport code). Every cell is a fresh process, the rows of one setting run next
to each other (reversed every other round); ratios are taken per round, then the median. Every row computes with
``--threads`` threads (default: every core; MXPORT_NUM_THREADS for mxport's rows). The CPU's ISA flags (AVX-512,
VNNI, AMX) are recorded beside the table: which engine wins depends on them. Writes
benchmarks/results/engines-<name>.json (every raw figure, the ISA flags, the engines' versions) and .md (the
table); RESULTS.md takes its table from an idle machine's run.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

import cpu

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = sys.executable
BATCHES = (1, 25)
PARTS = ("model", "network")
SETTINGS = (
    ("mxnet", "fp32"),
    ("mxnet", "int8"),
    ("onnxruntime", "fp32"),
    ("onnxruntime", "int8"),
    ("openvino", "fp32"),
    ("openvino", "int8"),
    ("openvino", "bf16"),
)
JAVA_ENGINES = ("mxnet", "onnxruntime")
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def rows(engine, precision):
    if engine == "mxnet":
        return ("mxport",)
    return ("bare",) if precision == "bf16" else ("mxport", "bare")


# the exporter and the int8 recipe: a file made before they last changed is made again
MAKERS = os.path.join(os.path.dirname(HERE), "python", "src", "mxport", "_onnx")


def fresh(path, source):
    """Whether ``path`` is newer than ``source`` and than every module of mxport's ONNX exporter and quantiser."""
    makers = [os.path.join(MAKERS, f) for f in os.listdir(MAKERS) if f.endswith(".py")]
    newest = max(os.path.getmtime(f) for f in [source] + makers)
    return os.path.exists(path) and os.path.getmtime(path) >= newest


def model_files(prefix, quantizer_python):
    """{(engine, precision, part): what the row loads}: the mxport prefixes; the ONNX files exported (again, when
    older than the params or the exporter) from the fp32 model; their QDQ int8 files, one per engine's target
    (again, when older than the ONNX file or the recipe) where the quantiser's venv exists; the fp32 file for bf16 where OpenVINO finds bf16 on this CPU."""
    import mxport
    import openvino as ov

    bf16 = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    onnx = {"model": prefix + ".onnx", "network": prefix + "-network.onnx"}
    files = {}
    for part, path in onnx.items():
        files[("mxnet", "fp32", part)] = prefix
        files[("mxnet", "int8", part)] = prefix + "-int8"
        if not fresh(path, prefix + ".params"):
            mxport.export_onnx(prefix, path, load_transforms=part == "model", overwrite=True)
        files[("onnxruntime", "fp32", part)] = files[("openvino", "fp32", part)] = path
        if bf16:
            files[("openvino", "bf16", part)] = path
    if not os.path.exists(quantizer_python):
        print(f"no ONNX int8 rows: {quantizer_python} is missing (make onnx-int8-setup)", flush=True)
        return files
    for part, path in onnx.items():
        for engine, suffix in (("onnxruntime", "-qdq.onnx"), ("openvino", "-ov-qdq.onnx")):
            int8 = path[: -len(".onnx")] + suffix
            if not fresh(int8, path):
                quantize(prefix, part, path, int8, quantizer_python, engine)
            files[(engine, "int8", part)] = int8
    return files


def quantize(prefix, part, path, out, quantizer_python, target):
    """The recipe of onnx_agreement.py on int8_accuracy.py's calibration images: as uint8 pixels for the whole
    model, through the model's transforms (python_rows.py's, called one by one) for the network alone."""
    import tempfile

    import mxnet as mx
    import numpy as np
    import int8_accuracy as photos
    import onnx_agreement
    import python_rows

    images = photos.photo_set(photos.CALIB_PHOTOS, 8, 2000)
    if part == "model":
        batches = [image[np.newaxis] for image in images]
    else:
        as_network_input = python_rows.transforms_outside
        batches = [as_network_input(mx.nd.array(image, dtype="uint8")).expand_dims(0).asnumpy() for image in images]
    with tempfile.TemporaryDirectory() as tmp:
        onnx_agreement.quantized(path, batches, out, quantizer_python, tmp, target=target)


def command(language, row, setting, part, batch, runs, warmup, threads, pixels, model, classpath):
    engine, precision = setting
    args = ["--row", row, "--engine", engine, "--part", part, "--batch", str(batch), "--runs", str(runs)]
    args += ["--warmup", str(warmup), "--pixels", pixels, "--model", model]
    if language == "Python":
        script = os.path.join(HERE, "engine_rows.py")
        return [PY, script, "--threads", str(threads), "--precision", precision] + args
    return ["java", f"-Dmxport.threads={threads}", "-cp", classpath, "io.mxport.bench.EngineBench"] + args


def run_cell(argv, threads):
    import mxnet.libinfo

    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env.update(MXPORT_NUM_THREADS=str(threads), MXNET_LIBRARY_PATH=mxnet.libinfo.find_lib_path()[0])
    done = subprocess.run(argv, capture_output=True, text=True, env=env)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines or done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(lines[-1])


def machine(classpath):
    import onnxruntime
    import openvino as ov

    java_ort = next(
        (os.path.basename(p) for p in (classpath or "").split(":") if os.path.basename(p).startswith("onnxruntime-")),
        "not on the classpath",
    )
    return {
        **cpu.describe(),
        "platform": platform.platform(),
        "python_onnxruntime": onnxruntime.__version__,
        "openvino": ov.__version__,
        "openvino_cpu_capabilities": ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"),
        "java_onnxruntime": java_ort,
        "java": (subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines() or ["?"])[0],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def median_ratio(a, b):
    per_round = [
        x["ms_per_sample"] / y["ms_per_sample"] for x, y in zip(a, b) if "ms_per_sample" in x and "ms_per_sample" in y
    ]
    return (statistics.median(per_round), per_round) if per_round else (None, [])


def table(rounds_of):
    def ms(key):
        cells = rounds_of.get(key, [])
        done = [c["ms_per_sample"] for c in cells if "ms_per_sample" in c]
        if not cells:
            return ""
        return (
            f"{sum(done) / len(done):.2f}"
            if len(done) == len(cells)
            else next(c for c in cells if "error" in c)["error"][:50]
        )

    def ratio(a, b):
        r, _ = median_ratio(rounds_of.get(a, []), rounds_of.get(b, []))
        return f"{r:.3f}x" if r else ""

    lines = [
        "| Part | Batch | Engine | Precision | Python mxport (ms) | Java mxport (ms) | Java / Python | Python bare (ms) | "
        "Java bare (ms) | mxport / bare, Python | mxport / bare, Java |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for part in PARTS:
        for batch in BATCHES:
            for engine, precision in SETTINGS:
                setting = (engine, precision, part, batch)
                py, java = setting + ("Python", "mxport"), setting + ("Java", "mxport")
                py_bare, java_bare = setting + ("Python", "bare"), setting + ("Java", "bare")
                if not any(k in rounds_of for k in (py, java, py_bare, java_bare)):
                    continue
                figures = [ms(py), ms(java), ratio(java, py), ms(py_bare), ms(java_bare)]
                figures += [ratio(py, py_bare), ratio(java, java_bare)]
                part_name = "end to end" if part == "model" else "network alone"
                lines.append(f"| {part_name} | {batch} | {engine} | {precision} | " + " | ".join(figures) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200, help="calls per cell at batch 1 (the same samples at batch 25)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--batches", default="1,25", help="the batch sizes, comma-separated")
    p.add_argument("--parts", default=",".join(PARTS), help="model (end to end) and/or network, comma-separated")
    p.add_argument("--quick", action="store_true", help="a short run that proves the harness")
    p.add_argument("--model", default=os.path.join(REPO, ".cache", "models", "resnet18"))
    p.add_argument("--jvm-classpath", default=os.environ.get("MXPORT_BENCH_CLASSPATH"))
    p.add_argument("--quantizer-python", default=os.path.join(REPO, ".cache", "venv-onnx-quant", "bin", "python"))
    p.add_argument(
        "--settings",
        default=",".join(f"{e}:{p}" for e, p in SETTINGS),
        help="the engine:precision settings to run, comma-separated (default: all of them)",
    )
    p.add_argument("--name", default=None)
    a = p.parse_args()
    settings = [tuple(s.split(":")) for s in a.settings.split(",")]
    unknown = [":".join(s) for s in settings if s not in SETTINGS]
    if unknown:
        p.error(f"unknown --settings {', '.join(unknown)}; choose from {', '.join(f'{e}:{p}' for e, p in SETTINGS)}")
    sys.path.insert(0, os.path.join(REPO, "demo"))
    import export_resnet

    export_resnet.main(a.model)  # writes <model>-int8 too; a no-op when up to date
    files = model_files(a.model, a.quantizer_python)
    pixels = os.path.join(REPO, ".cache", "reports", "engine_pixels.bin")
    os.makedirs(os.path.dirname(pixels), exist_ok=True)
    import numpy as np

    np.random.default_rng(0).integers(0, 256, max(BATCHES) * 300 * 300 * 3, dtype=np.uint8).tofile(pixels)
    batches = [int(b) for b in a.batches.split(",")]
    languages = ("Python", "Java") if a.jvm_classpath else ("Python",)
    warmup = 2 if a.quick else a.warmup
    started = datetime.datetime.now(datetime.timezone.utc)
    rounds_of = {}
    for r in range(a.rounds):
        for part in [part for part in PARTS if part in a.parts.split(",")]:
            for batch in batches:
                for setting in [s for s in settings if s + (part,) in files]:
                    java = languages if setting[0] in JAVA_ENGINES else ("Python",)
                    cells = [(lang, row) for row in rows(*setting) for lang in java]
                    for lang, row in cells if r % 2 == 0 else cells[::-1]:
                        argv = command(
                            lang,
                            row,
                            setting,
                            part,
                            batch,
                            max(3, -(-a.runs // batch)),
                            max(2, warmup // batch) if batch > 1 else warmup,
                            a.threads,
                            pixels,
                            files[setting + (part,)],
                            a.jvm_classpath,
                        )
                        cell = run_cell(argv, a.threads)
                        rounds_of.setdefault(setting + (part, batch, lang, row), []).append(cell)
                        print(
                            *setting, part, batch, lang, row, cell.get("ms_per_sample", cell.get("error")), flush=True
                        )
    finished = datetime.datetime.now(datetime.timezone.utc)
    info = machine(a.jvm_classpath)
    name = "engines-" + (a.name or ("quick" if a.quick else "full"))
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    doc = {
        "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "runs": a.runs,
        "rounds": a.rounds,
        "threads": a.threads,
        "machine": info,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "load_average_after": os.getloadavg(),
        "cells": [
            dict(zip(("engine", "precision", "part", "batch", "language", "row"), k), rounds=v)
            for k, v in rounds_of.items()
        ],
    }
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(doc, f, indent=1)
    isa = cpu.isa_line(info["isa"])
    md = (
        f"{info['cpu']}, {info['cores']} cores; ISA: {isa}; ONNX Runtime {info['python_onnxruntime']} (Python), "
        f"{info['java_onnxruntime']} (Java); OpenVINO {info['openvino']} (CPU capabilities: "
        f"{' '.join(info['openvino_cpu_capabilities'])}); {a.threads} thread(s) per row; {started:%Y-%m-%d %H:%M}-"
        f"{finished:%H:%M} UTC; {a.rounds} round(s), {a.runs} samples per cell and round; load average at the end "
        f"{os.getloadavg()[0]:.2f}\n\n" + table(rounds_of)
    )
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write(md + "\n")
    print(md)
    print(f"\nwritten: benchmarks/results/{name}.json, .md")


if __name__ == "__main__":
    main()
