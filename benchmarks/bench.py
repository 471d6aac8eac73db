"""The design proposal's table, measured here: end-to-end (fused) vs not, per language, single and batch.

    python benchmarks/bench.py --runs 500            # make bench
    python benchmarks/bench.py --runs 5 --quick      # make bench-quick: proves the harness, asserts nothing

A second table times the optimised models (``mxport.optimize``: fp32 as exported, oneDNN-fused, int8) end to end,
for ResNet-18 and EfficientNet-Lite0, in Python (Module, Gluon), Java and Scala, batch 1 and 25; beside it, the
int8-vs-fp32 agreement of benchmarks/int8_accuracy.py when its report exists (.cache/reports/int8_accuracy.json).

Every cell runs in a fresh process (Python rows: benchmarks/python_rows.py; JVM rows: io.mxport.bench.JvmBench,
timed inside the JVM), one after another so that they do not compete for the 2 cores. The cells run in rounds:
each round runs every cell once, the languages of one setting next to each other (and in reverse order every
other round), so that a slow minute of the machine hits every language alike; a cell's figure is the mean of
its rounds, and the Java/Python ratio is taken per round, then the median; benchmarks/paired_row.py then
measures that ratio again in one process, in alternating blocks (drift cannot bias it). ``--runs`` calls per cell at batch 1,
the same number of samples at batch 25. Writes benchmarks/results/<name>.json (every raw figure and the
machine), .md (the tables) and .png (a bar chart).
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PY = sys.executable
SHAPES = {1: "Single Request Inference", 25: "Batch Inference (Batch size = 25)"}
PROPOSAL_CPU = {  # the proposal's C5.2X table: (non end-to-end ms, end-to-end ms)
    (1, "Python (Module API)"): (17, 14),
    (1, "Java"): (17.09, 14.16),
    (1, "Scala"): (17.93, 13.19),
    (25, "Python (Module API)"): (15.18, 12.57),
    (25, "Java"): (18.54, 13),
    (25, "Scala"): (17, 13.26),
}


DJL = "DJL 0.29 MXNet engine (peer)"
DJL_2 = "DJL 0.29 MXNet engine, OMP_NUM_THREADS=2 (peer)"


def rows(jvm_classpath):
    """{label: (command prefix, extra environment)}, or {label: the reason it is not measured}, for every row."""
    out = {
        "Python (Module API)": ([PY, os.path.join(HERE, "python_rows.py"), "--api", "module"], {}),
        "Python (Gluon)": ([PY, os.path.join(HERE, "python_rows.py"), "--api", "gluon"], {}),
    }
    for label, main, env in (
        ("Java", ["io.mxport.bench.JvmBench", "--lang", "java"], {}),
        ("Scala", ["io.mxport.bench.ScalaBench"], {}),
        (DJL, ["io.mxport.bench.JvmBench", "--lang", "djl"], {}),
        (DJL_2, ["io.mxport.bench.JvmBench", "--lang", "djl"], {"OMP_NUM_THREADS": "2"}),
    ):
        if jvm_classpath:
            out[label] = (["java", "-cp", jvm_classpath] + main, env)
        else:
            out[label] = "not measured: the JVM benchmark is not built (make bench builds it)"
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
            extra = {}
            if kind == "int8":
                extra = {
                    "exclude_layers": int8_accuracy.lite0_fp32_layers(base) if model == "efficientnet_lite0" else []
                }
            made = mxport.read_signature(prefix).optimization if os.path.exists(prefix + ".params") else None
            if made and _holds_op(prefix, "_image_to_tensor"):
                made = None  # written before spec section 12 folded ToTensor + Normalize: write it again
            if not made or sorted(made.get("excluded_layers", [])) != sorted(extra.get("exclude_layers", [])):
                if kind == "int8":
                    extra["calibration"] = [
                        c[None] for c in int8_accuracy.photo_set(int8_accuracy.CALIB_PHOTOS, 8, 2000)
                    ]
                mxport.optimize(base, prefix, kind, overwrite=True, **extra)
            out[(model, kind)] = prefix
    return out


def _holds_op(prefix, op):
    with open(prefix + "-symbol.json") as f:
        return any(node["op"] == op for node in json.load(f)["nodes"])


def optimised_table(results, accuracy):
    import int8_accuracy

    lines = [
        "| Model | Request | Row | fp32 (ms) | fused (ms) | int8 (ms) | int8 speed-up | int8 top-1 agreement |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model in OPTIMISED_MODELS:
        agree = next(
            (
                r
                for r in accuracy
                if r["model"] == model
                and r["kind"] == "int8"
                and r["calibration_mode"] == "naive"
                and r["fp32_layers"] == int8_accuracy.RECIPE_LABEL[model]
            ),
            None,
        )
        agreement = f"{100 * agree['top1_agreement']:.1f} % of {agree['eval_inputs']}" if agree else "not measured"
        for batch, request in SHAPES.items():
            for label in OPTIMISED_ROWS:
                cells = [results.get((model, kind, label, batch), {}) for kind in KINDS]
                shown = [
                    f"{c['ms_per_sample']:.2f}" if "ms_per_sample" in c else c.get("error", "not measured")[:60]
                    for c in cells
                ]
                ok = all("ms_per_sample" in c for c in (cells[0], cells[2]))
                speedup = f"{cells[0]['ms_per_sample'] / cells[2]['ms_per_sample']:.2f}x" if ok else ""
                lines.append(f"| {model} | {request} | {label} | {' | '.join(shown)} | {speedup} | {agreement} |")
    return "\n".join(lines)


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()
    import mxnet as mx

    gpus = mx.context.num_gpus() if hasattr(mx.context, "num_gpus") else 0
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "mxnet": mx.__version__,
        "java": java[0] if java else "?",
        "gpus": gpus,
        "avx512": "avx512f" in open("/proc/cpuinfo").read(),
        "threads": {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "MXNET_ENGINE_TYPE")},
        "thread_rule": "mxport default: every core the process may run on, unless the variables above are set",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MXNET_OMP_MAX_THREADS",
    "OMP_WAIT_POLICY",
    "GOMP_SPINCOUNT",
    "MXPORT_NUM_THREADS",
    "MXPORT_ENGINE_WORKERS",
    "MXNET_CPU_WORKER_NTHREADS",
)


def calls(batch, runs):
    """Calls per cell: ``runs`` at batch 1, the same number of samples at a larger batch (at least 3 calls)."""
    return max(3, -(-runs // batch))


def run_cell(row, mode, batch, runs, warmup, model):
    command, extra = row
    args = command + [
        "--mode",
        mode,
        "--batch",
        str(batch),
        "--runs",
        str(calls(batch, runs)),
        "--warmup",
        str(max(2, warmup // batch) if batch > 1 else warmup),
        "--model",
        model,
    ]
    import mxnet.libinfo

    # every JVM row (DJL included) loads the very libmxnet.so that the Python rows use; thread settings only
    # as the row says (mxport's default otherwise)
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    env.update(extra, MXNET_LIBRARY_PATH=mxnet.libinfo.find_lib_path()[0])
    done = subprocess.run(args, capture_output=True, text=True, env=env)
    return last_json(done, require_success=True)


def last_json(done, require_success=False):
    """The last JSON line a row's process printed, else {"error": the last line of its stderr}; with
    ``require_success``, an error too when the process failed."""
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines or (require_success and done.returncode != 0):
        return {"error": (done.stderr.strip().splitlines() or ["exit %d" % done.returncode])[-1]}
    return json.loads(lines[-1])


def table(results, info):
    lines = [
        "| Device | Request | Row | Non end-to-end (ms) | End-to-end (ms) | Boost % | Proposal (C5.2X): non / e2e / boost |",
        "|---|---|---|---|---|---|---|",
    ]
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
    lines.append("| CPU | both | oneDNN-fused and int8 exports | in the table of optimised models below | | | |")
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


def combine(cells):
    """One cell's rounds -> its figures: mean of the round means, p50/p90 over every call, the round means."""
    done = [c for c in cells if "ms_per_sample" in c]
    if len(done) < len(cells):
        return next(c for c in cells if "error" in c)
    raw = [t for c in done for t in c["raw_ms"]]
    means = [c["ms_per_sample"] for c in done]
    return {
        "ms_per_sample": sum(means) / len(means),
        "p50": percentile(raw, 50),
        "p90": percentile(raw, 90),
        "round_means": means,
        "calls": len(raw),
    }


def percentile(values, q):
    import numpy as np

    return float(np.percentile(values, q))


def ratios(rounds_of, label, reference):
    """Per batch: the median over rounds of (label's e2e ms / reference's e2e ms), and the per-round ratios."""
    out = {}
    for batch in SHAPES:
        a, b = rounds_of.get((label, "e2e", batch), []), rounds_of.get((reference, "e2e", batch), [])
        per_round = [
            x["ms_per_sample"] / y["ms_per_sample"]
            for x, y in zip(a, b)
            if "ms_per_sample" in x and "ms_per_sample" in y
        ]
        if per_round:
            out[batch] = {"median": statistics.median(per_round), "rounds": per_round}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=200, help="calls per cell at batch 1 (the same samples at batch 25)")
    p.add_argument("--rounds", type=int, default=3)
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
    commands = rows(a.jvm_classpath)
    # one round: for each setting, every language next to each other
    main_jobs = [("main", None, mode, batch) for batch in SHAPES for mode in ("split", "e2e")]
    opt_jobs = [
        ("opt", (model, kind), "e2e", batch)
        for (model, kind) in optimised
        for batch in SHAPES
        if not (model == "resnet18" and kind == "fp32")
    ]  # that one is the main table's e2e cell
    rounds_of = {}  # (label, mode, batch) or (model, kind, label, batch) -> [cell per round]
    started = datetime.datetime.now(datetime.timezone.utc)
    total = a.rounds * (len(main_jobs) * len(commands) + len(opt_jobs) * len(OPTIMISED_ROWS))
    with tqdm(total=total, desc="benchmark", unit="cell") as bar:
        for r in range(a.rounds):
            for table_name, opt, mode, batch in main_jobs + opt_jobs:
                labels = list(commands) if table_name == "main" else list(OPTIMISED_ROWS)
                for label in labels if r % 2 == 0 else labels[::-1]:
                    row = commands[label]
                    prefix = a.model if opt is None else optimised[opt]
                    cell = (
                        {"error": row} if isinstance(row, str) else run_cell(row, mode, batch, a.runs, warmup, prefix)
                    )
                    key = (label, mode, batch) if opt is None else opt + (label, batch)
                    rounds_of.setdefault(key, []).append(cell)
                    bar.update()
    finished = datetime.datetime.now(datetime.timezone.utc)
    results = {label: {} for label in commands}
    for label, row in commands.items():
        if isinstance(row, str):
            results[label]["skipped"] = row
    opt_results = {}
    for key, cells in rounds_of.items():
        if len(key) == 3:
            label, mode, batch = key
            results[label][f"{mode}/{batch}"] = combine(cells)
        else:
            opt_results[key] = combine(cells)
    for label in OPTIMISED_ROWS:  # ResNet-18 fp32 end to end is the main table's cell
        for batch in SHAPES:
            if ("resnet18", "fp32") in optimised:
                opt_results[("resnet18", "fp32", label, batch)] = results[label].get(f"e2e/{batch}", {})
    versus_python = {label: ratios(rounds_of, label, "Python (Gluon)") for label in ("Java", "Scala")}
    accuracy_report = os.path.join(REPO, ".cache", "reports", "int8_accuracy.json")
    accuracy = json.load(open(accuracy_report)) if os.path.exists(accuracy_report) else []
    bridge = None
    if a.jvm_classpath:
        done = subprocess.run(
            [
                PY,
                os.path.join(HERE, "bridge_row.py"),
                "--runs",
                str(a.runs),
                "--warmup",
                str(warmup),
                "--model",
                a.model,
                "--jvm-classpath",
                a.jvm_classpath,
            ],
            capture_output=True,
            text=True,
        )
        bridge = last_json(done)
    paired = {}
    if a.jvm_classpath:  # Java against Python in one process, alternating blocks (benchmarks/paired_row.py)
        for batch, (blocks, per_block) in {1: (20, 15), 25: (20, 2)}.items():
            if a.quick:
                blocks, per_block = 2, 1
            done = subprocess.run(
                [
                    PY,
                    os.path.join(HERE, "paired_row.py"),
                    "--batch",
                    str(batch),
                    "--blocks",
                    str(blocks),
                    "--calls",
                    str(per_block),
                    "--warmup",
                    str(warmup),
                    "--model",
                    a.model,
                    "--jvm-classpath",
                    a.jvm_classpath,
                ],
                capture_output=True,
                text=True,
            )
            paired[batch] = last_json(done)
    name = a.name or ("quick" if a.quick else "full")
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    doc = {
        "command": " ".join([os.path.relpath(sys.argv[0], REPO)] + sys.argv[1:]),
        "runs": a.runs,
        "rounds": a.rounds,
        "warmup": warmup,
        "machine": info,
        "started": started.isoformat(timespec="seconds"),
        "finished": finished.isoformat(timespec="seconds"),
        "load_average_after": os.getloadavg(),
        "results": results,
        "bridge": bridge,
        "versus_python": versus_python,
        "paired": paired,
        "optimised": [dict(zip(("model", "kind", "row", "batch"), k), **v) for k, v in opt_results.items()],
        "int8_accuracy": accuracy,
    }
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(doc, f, indent=1)
    md = (
        f"{info['cpu']}, {info['cores']} cores, {'AVX-512' if info['avx512'] else 'AVX2'}; "
        f"{started:%Y-%m-%d %H:%M}-{finished:%H:%M} UTC; {a.rounds} round(s), {a.runs} samples per cell and round; "
        f"load average at the end {os.getloadavg()[0]:.2f}\n\n" + table(results, info)
    )
    for label, by_batch in versus_python.items():
        if by_batch:
            md += f"\n\n{label} / Python (Gluon), end to end, median of the per-round ratios: " + "; ".join(
                f"batch {b}: {v['median']:.3f}x (rounds: {', '.join(f'{x:.3f}' for x in v['rounds'])})"
                for b, v in by_batch.items()
            )
    for batch, row in paired.items():
        md += f"\n\nJava / Python (Gluon) in one process, alternating blocks (paired_row.py), batch {batch}: " + (
            f"{row['java_over_python']:.3f}x ({row['java_ms_per_sample']:.2f} vs {row['python_ms_per_sample']:.2f}"
            f" ms per sample; median of {row['blocks']} block pairs {row['median_pair_ratio']:.3f}x)"
            if "java_over_python" in row
            else f"not measured: {row['error']}"
        )
    if bridge and "bridge_ms" in bridge:
        md += (
            f"\n\nBridge (Python -> Java through JPype, batch 1 e2e, {bridge['runs']} calls): "
            f"{bridge['ms_through_jpype']:.2f} ms per call from Python vs {bridge['ms_inside_jvm']:.2f} ms "
            f"inside the JVM: the bridge costs {bridge['bridge_ms']:.2f} ms per call."
        )
    elif bridge:
        md += f"\n\nBridge: not measured: {bridge['error']}"
    md += (
        "\n\nOptimised models, end to end (uint8 300x300 pixels in, probabilities out), ms per sample:\n\n"
        + optimised_table(opt_results, accuracy)
    )
    with open(os.path.join(out, f"{name}.md"), "w") as f:
        f.write(md + "\n")
    chart(results, os.path.join(out, f"{name}.png"))
    print(md)
    print(f"\nwritten: benchmarks/results/{name}.json, .md, .png")


if __name__ == "__main__":
    main()
