"""The design proposal's table, measured here: end-to-end (fused) vs not, per language, single and batch.

    python benchmarks/bench.py --runs 500            # make bench
    python benchmarks/bench.py --runs 5 --quick      # make bench-quick: proves the harness, asserts nothing

A second table times the optimised models (``mxport.optimize``: fp32 as exported, oneDNN-fused, int8) end to end,
for ResNet-18 and EfficientNet-Lite0, in Python (Module, Gluon), Java and Scala, batch 1 and 25; beside it, the
int8-vs-fp32 agreement of benchmarks/int8_accuracy.py when its report exists (.cache/reports/int8_accuracy.json).

Every row runs in a fresh process (Python rows: benchmarks/python_rows.py; JVM rows: io.mxport.bench.JvmBench,
timed inside the JVM), one after another so that they do not compete for the 2 cores. Writes
benchmarks/results/<name>.json (every raw figure and the machine), .md (the table) and .png (a bar chart).
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = sys.executable
SHAPES = {1: "Single Request Inference", 25: "Batch Inference (Batch size = 25)"}
PROPOSAL_CPU = {  # the proposal's C5.2X table: (non end-to-end ms, end-to-end ms)
    (1, "Python (Module API)"): (17, 14), (1, "Java"): (17.09, 14.16), (1, "Scala"): (17.93, 13.19),
    (25, "Python (Module API)"): (15.18, 12.57), (25, "Java"): (18.54, 13), (25, "Scala"): (17, 13.26),
}


def rows(jvm_classpath):
    """(label, command prefix or None with the reason) for every row of the table."""
    out = [("Python (Module API)", [PY, os.path.join(HERE, "python_rows.py"), "--api", "module"]),
           ("Python (Gluon)", [PY, os.path.join(HERE, "python_rows.py"), "--api", "gluon"])]
    for label, main in (("Java", ["io.mxport.bench.JvmBench", "--lang", "java"]),
                        ("Scala", ["io.mxport.bench.ScalaBench"]),
                        ("DJL 0.29 MXNet engine (peer)", ["io.mxport.bench.JvmBench", "--lang", "djl"])):
        if jvm_classpath:
            out.append((label, ["java", "-cp", jvm_classpath] + main))
        else:
            out.append((label, "not measured: the JVM benchmark is not built (make bench builds it)"))
    return out


OPTIMISED_MODELS = ("resnet18", "efficientnet_lite0")
KINDS = ("fp32", "fused", "int8")
OPTIMISED_ROWS = ("Python (Module API)", "Python (Gluon)", "Java", "Scala")


def optimised_models(models):
    """{(model, kind): prefix}: writes the fused and int8 copies that are missing (demo/export_resnet.py writes
    ResNet-18's; EfficientNet-Lite0's int8 is calibrated and excluded as benchmarks/int8_accuracy.py's recipe)."""
    import mxport
    import int8_accuracy
    out = {}
    for model in OPTIMISED_MODELS:
        base = os.path.join(models, model)
        if not os.path.exists(base + ".params"):
            continue  # make real-model builds EfficientNet-Lite0
        out[(model, "fp32")] = base
        for kind in KINDS[1:]:
            prefix = f"{base}-{kind}"
            if not os.path.exists(prefix + ".params"):
                extra = {}
                if kind == "int8":
                    extra = {"calibration": [c[None] for c in int8_accuracy.photo_set(int8_accuracy.CALIB_PHOTOS, 8,
                                                                                       2000)],
                             "exclude_layers": int8_accuracy.lite0_fp32_layers(base)}
                mxport.optimize(base, prefix, kind, overwrite=True, **extra)
            out[(model, kind)] = prefix
    return out


def optimised_table(results, accuracy):
    lines = ["| Model | Request | Row | fp32 (ms) | fused (ms) | int8 (ms) | int8 speed-up | int8 top-1 agreement |",
             "|---|---|---|---|---|---|---|---|"]
    for model in OPTIMISED_MODELS:
        agree = next((r for r in accuracy if r["model"] == model and r["kind"] == "int8"
                      and r["calibration_mode"] == "naive"
                      and r["fp32_layers"] == ("depthwise+early" if model == "efficientnet_lite0" else "none")), None)
        agreement = f"{100 * agree['top1_agreement']:.1f} % of {agree['eval_inputs']}" if agree else "not measured"
        for batch, request in SHAPES.items():
            for label in OPTIMISED_ROWS:
                cells = [results.get((model, kind, label, batch), {}) for kind in KINDS]
                shown = [f"{c['ms_per_sample']:.2f}" if "ms_per_sample" in c else c.get("error", "not measured")[:60]
                         for c in cells]
                ok = all("ms_per_sample" in c for c in (cells[0], cells[2]))
                speedup = f"{cells[0]['ms_per_sample'] / cells[2]['ms_per_sample']:.2f}x" if ok else ""
                lines.append(f"| {model} | {request} | {label} | {' | '.join(shown)} | {speedup} | {agreement} |")
    return "\n".join(lines)


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    import mxnet as mx
    gpus = mx.context.num_gpus() if hasattr(mx.context, "num_gpus") else 0
    return {"cpu": cpu, "cores": len(os.sched_getaffinity(0)), "platform": platform.platform(),
            "python": platform.python_version(), "mxnet": mx.__version__, "java": java[0] if java else "?",
            "gpus": gpus, "avx512": "avx512f" in open("/proc/cpuinfo").read(),
            "threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS",
                                                      "MXNET_ENGINE_TYPE")},
            "thread_rule": "mxport default: every core the process may run on, unless the variables above are set",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def run_cell(command, mode, batch, runs, warmup, model):
    args = command + ["--mode", mode, "--batch", str(batch), "--runs", str(runs), "--warmup", str(warmup),
                      "--model", model]
    import mxnet.libinfo
    # every JVM row (DJL included) loads the very libmxnet.so that the Python rows use
    env = dict(os.environ, MXNET_LIBRARY_PATH=mxnet.libinfo.find_lib_path()[0])
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]}
    return json.loads(lines[-1])


def table(results, info):
    lines = ["| Device | Request | Row | Non end-to-end (ms) | End-to-end (ms) | Boost % | Proposal (C5.2X): non / e2e / boost |",
             "|---|---|---|---|---|---|---|"]
    for batch, request in SHAPES.items():
        for label, cells in results.items():
            split, e2e = cells.get(f"split/{batch}", {}), cells.get(f"e2e/{batch}", {})
            if "ms_per_sample" in split and "ms_per_sample" in e2e:
                a, b = split["ms_per_sample"], e2e["ms_per_sample"]
                figures = f"{a:.2f} | {b:.2f} | {100 * (a - b) / a:.1f}%"
            else:
                reason = cells.get("skipped") or split.get("error") or e2e.get("error") or "not measured"
                figures = f"{reason} | | "
            key = (batch, "Java" if label == "Java" else "Scala" if label == "Scala" else label)
            prop = PROPOSAL_CPU.get(key)
            proposal = f"{prop[0]} / {prop[1]} / {100 * (prop[0] - prop[1]) / prop[0]:.1f}%" if prop else ""
            lines.append(f"| CPU ({info['cores']} cores) | {request} | {label} | {figures} | {proposal} |")
    gpu = "not measured: no GPU build of MXNet is installed" if not info["gpus"] else "GPU rows: TODO"
    lines.append(f"| CPU | both | oneDNN-fused and int8 exports | in the table of optimised models below | | | |")
    lines.append(f"| GPU | both | every row | {gpu} | | | |")
    return "\n".join(lines)


def chart(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    labels, split, e2e = [], [], []
    for batch in SHAPES:
        for label, cells in results.items():
            s, e = cells.get(f"split/{batch}", {}), cells.get(f"e2e/{batch}", {})
            if "ms_per_sample" in s and "ms_per_sample" in e:
                labels.append(f"{label}\nbatch {batch}")
                split.append(s["ms_per_sample"])
                e2e.append(e["ms_per_sample"])
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(labels)), 4.5))
    xs = range(len(labels))
    ax.bar([x - 0.2 for x in xs], split, 0.4, label="non end-to-end")
    ax.bar([x + 0.2 for x in xs], e2e, 0.4, label="end-to-end (fused)")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel("ms per sample (lower is better)")
    ax.set_title("ResNet-18 v1 with Resize+ToTensor+Normalize, CPU")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--quick", action="store_true", help="a short run that proves the harness")
    p.add_argument("--model", default=os.path.join(REPO, ".cache", "models", "resnet18"))
    p.add_argument("--jvm-classpath", default=os.environ.get("MXPORT_BENCH_CLASSPATH"))
    p.add_argument("--name", default=None)
    a = p.parse_args()
    from tqdm import tqdm
    sys.path.insert(0, os.path.join(REPO, "demo"))
    sys.path.insert(0, HERE)
    import export_resnet
    export_resnet.main(a.model)
    optimised = optimised_models(os.path.dirname(a.model))
    info = machine()
    warmup = 2 if a.quick else a.warmup
    jobs = [(label, cmd, mode, batch) for label, cmd in rows(a.jvm_classpath)
            for batch in SHAPES for mode in ("split", "e2e")]
    results = {label: {} for label, _ in rows(a.jvm_classpath)}
    for label, cmd, mode, batch in tqdm(jobs, desc="benchmark", unit="cell"):
        if isinstance(cmd, str):
            results[label]["skipped"] = cmd
            continue
        results[label][f"{mode}/{batch}"] = run_cell(cmd, mode, batch, a.runs, warmup, a.model)
    commands = dict(rows(a.jvm_classpath))
    opt_jobs = [(model, kind, label, batch) for (model, kind) in optimised for batch in SHAPES
                for label in OPTIMISED_ROWS]
    opt_results = {}
    for model, kind, label, batch in tqdm(opt_jobs, desc="optimised", unit="cell"):
        cmd = commands[label]
        opt_results[(model, kind, label, batch)] = (
            {"error": cmd} if isinstance(cmd, str) else
            run_cell(cmd, "e2e", batch, a.runs, warmup, optimised[(model, kind)]))
    accuracy_report = os.path.join(REPO, ".cache", "reports", "int8_accuracy.json")
    accuracy = json.load(open(accuracy_report)) if os.path.exists(accuracy_report) else []
    bridge = None
    if a.jvm_classpath:
        done = subprocess.run([PY, os.path.join(HERE, "bridge_row.py"), "--runs", str(a.runs), "--warmup",
                               str(warmup), "--model", a.model, "--jvm-classpath", a.jvm_classpath],
                              capture_output=True, text=True)
        lines = [l for l in done.stdout.splitlines() if l.startswith("{")]
        bridge = json.loads(lines[-1]) if lines else {"error": (done.stderr.strip().splitlines() or ["?"])[-1]}
    name = a.name or ("quick" if a.quick else "full")
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    doc = {"command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]), "runs": a.runs,
           "warmup": warmup, "machine": info, "results": results, "bridge": bridge,
           "optimised": [dict(zip(("model", "kind", "row", "batch"), k), **v) for k, v in opt_results.items()],
           "int8_accuracy": accuracy}
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(doc, f, indent=1)
    md = table(results, info)
    if bridge and "bridge_ms" in bridge:
        md += (f"\n\nBridge (Python -> Java through JPype, batch 1 e2e, {bridge['runs']} calls): "
               f"{bridge['ms_through_jpype']:.2f} ms per call from Python vs {bridge['ms_inside_jvm']:.2f} ms "
               f"inside the JVM: the bridge costs {bridge['bridge_ms']:.2f} ms per call.")
    elif bridge:
        md += f"\n\nBridge: not measured: {bridge['error']}"
    md += ("\n\nOptimised models, end to end (uint8 300x300 pixels in, probabilities out), ms per sample:\n\n"
           + optimised_table(opt_results, accuracy))
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write(md + "\n")
    chart(results, os.path.join(out, f"{name}.png"))
    print(md)
    print(f"\nwritten: benchmarks/results/{name}.json, .md, .png")


if __name__ == "__main__":
    main()
