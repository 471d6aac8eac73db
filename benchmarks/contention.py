"""Batch-1 latency with the cores idle and with one competing CPU-bound process, per thread setting.

    python benchmarks/contention.py --runs 60 --rounds 3 --jvm-classpath CP    # make bench-contention

Rows: mxport's default (spec/RUNTIME.md: every core on the engine worker, GOMP_SPINCOUNT=3000 at load), the
same with ``import mxnet`` before ``import mxport`` (Python only: the installed start-up hook sets the spin as
MXNet loads) and with that hook turned off, the same with libgomp's default spin (GOMP_SPINCOUNT=300000, the first release's),
OMP_WAIT_POLICY=PASSIVE, and OMP_NUM_THREADS=1; each for Python (mxport.load) and Java (Predictor), ResNet-18
end to end. Cells run one process at a time, the settings interleaved round by round so that drift hits all of
them; "busy" starts `python3 -c 'while 1: pass'` beside the measured process. p50 and p90 pool every call of
every round. Writes benchmarks/results/contention.{json,md}.

    python benchmarks/contention.py --spin-counts 1000,3000,10000 ...   # the sweep behind the default's 3000

measures mxport's default order with each GOMP_SPINCOUNT instead (Python and Java), into contention-spin.{json,md}.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import THREAD_VARIABLES, machine  # noqa: E402

MXNET_FIRST = "mxport default, `import mxnet` first"
MXNET_FIRST_NO_HOOK = "`import mxnet` first, hook off (MXPORT_IMPORT_HOOK=0)"
PYTHON_ONLY = (MXNET_FIRST, MXNET_FIRST_NO_HOOK)
# python_rows.py imports mxport first; this runs it after a user's `import mxnet`
IMPORT_MXNET_THEN_RUN = (
    "import mxnet, runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)

DEFAULT_SPIN = 3000  # spec/RUNTIME.md rule 3's GOMP_SPINCOUNT
SETTINGS = [  # (label, environment)
    ("mxport default", {}),
    (MXNET_FIRST, {}),
    (MXNET_FIRST_NO_HOOK, {"MXPORT_IMPORT_HOOK": "0"}),  # what that order gave before the hook
    ("libgomp default spin (GOMP_SPINCOUNT=300000)", {"GOMP_SPINCOUNT": "300000"}),
    ("OMP_WAIT_POLICY=PASSIVE", {"OMP_WAIT_POLICY": "PASSIVE"}),
    ("OMP_NUM_THREADS=1", {"OMP_NUM_THREADS": "1"}),
]


def command(language, runs, model, classpath, mxnet_first=False):
    row = ["--mode", "e2e", "--batch", "1", "--runs", str(runs), "--model", model]  # what both runners measure
    if language == "Python":
        first = ["-c", IMPORT_MXNET_THEN_RUN] if mxnet_first else []
        return [sys.executable, *first, os.path.join(HERE, "python_rows.py"), "--api", "gluon"] + row
    return ["java", "-cp", classpath, "io.mxport.bench.JvmBench", "--lang", "java"] + row


def cell(cmd, env, busy):
    clean = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES + ("MXPORT_IMPORT_HOOK",)}
    hog = subprocess.Popen([sys.executable, "-c", "while 1: pass"]) if busy else None
    try:
        out = subprocess.run(cmd, env=dict(clean, **env), capture_output=True, text=True, check=True, cwd=REPO)
    finally:
        if hog:
            hog.kill()
            hog.wait()
    return json.loads(out.stdout.strip().splitlines()[-1])["raw_ms"]


def settings(language, spin_counts=None):
    """The import order is a Python matter: a JVM loads libmxnet itself."""
    if spin_counts:
        return [(f"GOMP_SPINCOUNT={n}", {"GOMP_SPINCOUNT": str(n)}) for n in spin_counts]
    return [(label, env) for label, env in SETTINGS if language == "Python" or label not in PYTHON_ONLY]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=60)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--model", default=os.path.join(REPO, ".cache", "models", "resnet18"))
    p.add_argument("--jvm-classpath")
    p.add_argument("--spin-counts", type=lambda v: [int(n) for n in v.split(",")], help="e.g. 1000,3000,10000")
    a = p.parse_args()
    name = "contention-spin" if a.spin_counts else "contention"
    languages = ["Python"] + (["Java"] if a.jvm_classpath else [])
    times = {}
    started = datetime.datetime.now(datetime.timezone.utc)
    for r in range(a.rounds):
        for language in languages:
            for label, env in settings(language, a.spin_counts):
                for busy in (False, True):
                    key = (language, label, busy)
                    cmd = command(language, a.runs, a.model, a.jvm_classpath, label in PYTHON_ONLY)
                    times.setdefault(key, []).extend(cell(cmd, env, busy))
                    print(
                        f"round {r + 1}/{a.rounds} {language:6} {label:55} {'busy' if busy else 'idle'} done",
                        flush=True,
                    )
    info = machine()
    rows = []
    for language in languages:
        labels = [label for label, _ in settings(language, a.spin_counts)]
        default = f"GOMP_SPINCOUNT={DEFAULT_SPIN}" if f"GOMP_SPINCOUNT={DEFAULT_SPIN}" in labels else labels[0]
        base_idle = float(np.median(times[(language, default, False)]))  # the sweep: against mxport's 3000
        for label in labels:
            idle, busy = (np.array(times[(language, label, b)]) for b in (False, True))
            row = {
                "language": language,
                "setting": label,
                "idle_p50": float(np.median(idle)),
                "idle_p90": float(np.percentile(idle, 90)),
                "busy_p50": float(np.median(busy)),
                "busy_p90": float(np.percentile(busy, 90)),
            }
            row["busy_p90_over_idle_p90"] = row["busy_p90"] / row["idle_p90"]
            row["idle_p50_vs_default"] = row["idle_p50"] / base_idle - 1
            rows.append(row)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", name + ".json"), "w") as f:
        json.dump(
            {
                "started": started.isoformat(),
                "runs": a.runs,
                "rounds": a.rounds,
                "machine": info,
                "rows": rows,
                "raw_ms": {"|".join([k[0], k[1], "busy" if k[2] else "idle"]): v for k, v in times.items()},
            },
            f,
            indent=1,
        )
    lines = [
        f"ResNet-18 end to end, batch 1, ms per call; {a.rounds} rounds x {a.runs} calls per cell; "
        f"{info['cpu']}, {info['cores']} cores, {'AVX-512' if info.get('avx512') else 'AVX2'}; "
        f"{started:%Y-%m-%d %H:%M} UTC",
        "",
        "| Language | Setting | idle p50 | idle p90 | busy p50 | busy p90 | busy p90 / idle p90 | idle p50 vs default |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['language']} | {r['setting']} | {r['idle_p50']:.2f} | {r['idle_p90']:.2f} | "
            f"{r['busy_p50']:.2f} | {r['busy_p90']:.2f} | {r['busy_p90_over_idle_p90']:.2f}x | "
            f"{100 * r['idle_p50_vs_default']:+.1f}% |"
        )
    text = "\n".join(lines) + "\n"
    with open(os.path.join(HERE, "results", name + ".md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
