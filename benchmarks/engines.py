"""The engine table of issue 23: ResNet-18 on MXNet, ONNX Runtime and OpenVINO, through mxport and bare, in Python.

    python benchmarks/engines.py --runs 200 --rounds 3      # make bench (after the tables of bench.py)
    python benchmarks/engines.py --runs 5 --rounds 1 --quick   # proves the harness, asserts nothing

Rows: each engine through ``mxport.load(..., engine=...)`` and, for the ONNX engines, the bare engine on the same
file (no mxport code: benchmarks/engine_cell.py), so that mxport's own cost shows; precisions fp32, bf16 where
OpenVINO offers it (bare only: mxport's OpenVINO engine pins f32), int8 (MXNet: the ``optimize="int8"`` model
of ``make models``; ONNX: the QDQ file of benchmarks/onnx_int8.py, calibrated on int8_accuracy.py's images, when
``make onnx-int8-setup`` made its venv). Columns: end to end (uint8 300x300 in) and the network alone (float32
3x224x224 in), batch 1 and 25, ms per sample. Every cell runs in a fresh process, one after another; the cells
run in rounds (reversed every other round) and a cell's figure is the mean of its rounds. The CPU's ISA flags
(AVX-512, AMX, VNNI) are recorded beside the table: which engine wins depends on them. Writes
benchmarks/results/engines-<name>.json and .md; RESULTS.md takes its table from an idle machine's run.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = sys.executable
MODES = ("e2e", "network")
BATCHES = (1, 25)


def isa_flags():
    """The CPU's flags that decide the int8 and bf16 kernels: AVX-512 (all), AMX, AVX-VNNI."""
    text = open("/proc/cpuinfo").read()
    return sorted(set(re.findall(r"\b(avx512\w*|amx\w*|avx_vnni)\b", text)))


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    versions = {}
    for module in ("mxnet", "onnxruntime", "openvino"):
        try:
            versions[module] = __import__(module).__version__
        except ImportError:
            versions[module] = None
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "isa_flags": isa_flags(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": versions,
        "MXPORT_NUM_THREADS": os.environ.get("MXPORT_NUM_THREADS"),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def files(models, quantizer, tmp):
    """{(kind, mode): model path or prefix} for every engine file, made once: the ONNX files by
    mxport.export_onnx, the int8 ones by benchmarks/onnx_int8.py when its venv exists."""
    import mxport

    prefix = os.path.join(models, "resnet18")
    out = {("mxnet fp32", m): prefix for m in MODES}
    if os.path.exists(os.path.join(models, "resnet18-int8-symbol.json")):
        out.update({("mxnet int8", m): os.path.join(models, "resnet18-int8") for m in MODES})
    whole, network = os.path.join(tmp, "resnet18.onnx"), os.path.join(tmp, "resnet18-network.onnx")
    mxport.export_onnx(prefix, whole)
    mxport.export_onnx(prefix, network, load_transforms=False)
    out.update({("onnx fp32", "e2e"): whole, ("onnx fp32", "network"): network})
    if os.path.exists(quantizer):
        sys.path.insert(0, HERE)
        import int8_accuracy as photos
        import python_rows

        images = photos.photo_set(photos.CALIB_PHOTOS, 8, 2000)
        inputs = {
            "e2e": [image[np.newaxis] for image in images],
            "network": [
                python_rows.transforms_outside(mxport_array(image)).expand_dims(0).asnumpy() for image in images
            ],
        }
        for mode, path in (("e2e", whole), ("network", network)):
            calibration = os.path.join(tmp, f"calibration-{mode}.npz")
            np.savez(calibration, **{f"batch_{i}": b for i, b in enumerate(inputs[mode])})
            int8 = path[: -len(".onnx")] + "-int8.onnx"
            script = os.path.join(HERE, "onnx_int8.py")
            subprocess.run([quantizer, script, path, network, calibration, int8], check=True, capture_output=True)
            out[("onnx int8", mode)] = int8
    return out


def mxport_array(image):
    import mxnet as mx

    return mx.nd.array(image, dtype="uint8")


def cells(paths, bf16):
    """[(row label, mode, command)] for every cell."""
    script = [PY, os.path.join(HERE, "engine_cell.py")]
    out = []
    for mode in MODES:
        for kind in ("mxnet fp32", "mxnet int8"):
            if (kind, mode) in paths:
                label = f"mxport on MXNet, {kind.split()[1]}"
                out.append((label, mode, script + ["--engine", "mxnet", "--model", paths[(kind, mode)]]))
        for precision in ("fp32", "int8"):
            path = paths.get((f"onnx {precision}", mode))
            if path is None:
                continue
            for engine, name in (("onnxruntime", "ONNX Runtime"), ("openvino", "OpenVINO")):
                engine_args = ["--engine", engine, "--model", path]
                out.append((f"mxport on {name}, {precision}", mode, script + engine_args))
                out.append((f"bare {name}, {precision}", mode, script + engine_args + ["--bare"]))
        if bf16:
            out.append(
                (
                    "bare OpenVINO, bf16",
                    mode,
                    script
                    + ["--engine", "openvino", "--model", paths[("onnx fp32", mode)], "--bare", "--precision", "bf16"],
                )
            )
    return out


def run(command, mode, batch, runs, warmup):
    args = command + ["--mode", mode, "--batch", str(batch), "--runs", str(max(3, -(-runs // batch)))]
    args += ["--warmup", str(max(2, warmup // batch))]
    done = subprocess.run(args, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]}
    return json.loads(lines[-1])


def table(results, info):
    lines = [
        f"CPU: {info['cpu']}, {info['cores']} cores; ISA flags: {' '.join(info['isa_flags']) or 'none of them'}",
        "",
        "| Row | e2e batch 1 | e2e batch 25 | network batch 1 | network batch 25 |",
        "|---|---|---|---|---|",
    ]
    labels = list(dict.fromkeys(label for label, _, _ in results))  # keys: (row, mode, batch)
    for label in labels:
        figures = []
        for mode in MODES:
            for batch in BATCHES:
                rounds = results.get((label, mode, batch))
                if rounds is None:
                    figures.append("")
                elif any("error" in r for r in rounds):
                    figures.append("error: " + next(r["error"] for r in rounds if "error" in r)[:60])
                else:
                    figures.append(f"{statistics.mean(r['ms_per_sample'] for r in rounds):.2f}")
        lines.append(f"| {label} | " + " | ".join(figures) + " |")
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=200, help="calls per cell at batch 1 (the same samples at batch 25)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="a short run that proves the harness")
    p.add_argument("--models", default=os.path.join(REPO, ".cache", "models"))
    p.add_argument("--quantizer-python", default=os.path.join(REPO, ".cache", "venv-onnx-quant", "bin", "python"))
    p.add_argument("--name", default=None)
    a = p.parse_args()
    import mxport  # noqa: F401  (before MXNet runs anything: spec/RUNTIME.md)
    import openvino as ov

    info = machine()
    bf16 = "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        todo = cells(files(a.models, a.quantizer_python, tmp), bf16)
        for r in range(a.rounds):
            for label, mode, command in todo if r % 2 == 0 else todo[::-1]:
                for batch in BATCHES:
                    cell = run(command, mode, batch, a.runs, a.warmup)
                    results.setdefault((label, mode, batch), []).append(cell)
                    shown = f"{cell['ms_per_sample']:.2f} ms" if "ms_per_sample" in cell else cell["error"]
                    print(f"round {r + 1} {label:28} {mode:7} batch {batch:2}: {shown}", flush=True)
    name = a.name or ("quick" if a.quick else "full")
    out = os.path.join(HERE, "results", f"engines-{name}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out + ".json", "w") as f:
        json.dump(
            {
                "machine": info,
                "cells": [{"row": k[0], "mode": k[1], "batch": k[2], "rounds": v} for k, v in results.items()],
            },
            f,
            indent=1,
        )
    text = table(results, info)
    with open(out + ".md", "w") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
