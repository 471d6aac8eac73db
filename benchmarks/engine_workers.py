"""Calls per second from one and two calling threads, with one MXNet CPU engine worker and with two.

    python benchmarks/engine_workers.py --calls 60 --rounds 5      # make bench-workers

spec/RUNTIME.md rule 7. Rows: mxport's default (one engine worker with every core) and MXPORT_ENGINE_WORKERS=2
(two workers, each with half the cores); each with 1 and 2 calling threads, every thread with its own
``mxport.load`` of ResNet-18 end to end, batch 1, seeded 300x300 pixels. Each cell is a fresh process (the rule
is decided once per process); cells are interleaved round by round so that drift hits all of them. Prints a
Markdown table; writes benchmarks/results/engine_workers.json.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from bench import THREAD_VARIABLES, machine  # noqa: E402

SETTINGS = [("1 worker x every core (default)", {}), ("2 workers x half the cores", {"MXPORT_ENGINE_WORKERS": "2"})]

CELL = """
import json, sys, threading, time
import numpy as np
import mxport
callers, calls, model = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pixels = np.random.RandomState(0).randint(0, 256, (1, 300, 300, 3)).astype(np.uint8)
blocks = [mxport.load(model) for _ in range(callers)]
for b in blocks:
    for _ in range(3):
        b(pixels).asnumpy()
start = threading.Barrier(callers + 1)
def work(block):
    start.wait()
    for _ in range(calls):
        block(pixels).asnumpy()
threads = [threading.Thread(target=work, args=(b,)) for b in blocks]
[t.start() for t in threads]
start.wait()
t0 = time.perf_counter()
[t.join() for t in threads]
seconds = time.perf_counter() - t0
print(json.dumps({"calls_per_s": callers * calls / seconds, "workers": mxport.environment.engine_workers(),
                  "threads": mxport.environment.threads()}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60, help="calls per calling thread and cell")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model", default=os.path.join(REPO, ".cache", "models", "resnet18"))
    args = parser.parse_args()
    base = {k: v for k, v in os.environ.items() if k not in THREAD_VARIABLES}
    cells = [(label, env, callers) for label, env in SETTINGS for callers in (1, 2)]
    seen = {(label, callers): [] for label, _, callers in cells}
    decided = {}
    for r in range(args.rounds):
        for label, env, callers in cells if r % 2 == 0 else cells[::-1]:
            done = subprocess.run(
                [sys.executable, "-c", CELL, str(callers), str(args.calls), args.model],
                env=dict(base, **env),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                sys.exit(done.stderr)
            got = json.loads(done.stdout.strip().splitlines()[-1])
            seen[(label, callers)].append(got["calls_per_s"])
            decided[label] = f"{got['workers']} x {got['threads']}"
    m = machine()
    lines = [
        f"`benchmarks/engine_workers.py --calls {args.calls} --rounds {args.rounds}`, {m['date']}, {m['cpu']} "
        f"({m['cores']} cores, {'AVX-512' if m['avx512'] else 'AVX2'}); ResNet-18 end to end, batch 1, calls/s "
        "(mean of the rounds' rates; each round's in brackets).",
        "",
        "| engine workers x threads each | 1 calling thread | 2 calling threads | 2 threads vs 1 |",
        "|---|---:|---:|---:|",
    ]
    for label, _ in SETTINGS:
        one, two = (sum(seen[(label, c)]) / len(seen[(label, c)]) for c in (1, 2))

        def rounds(c, label=label):
            return ", ".join(f"{x:.1f}" for x in seen[(label, c)])

        lines.append(
            f"| {label}: {decided[label]} | {one:.1f} ({rounds(1)}) | {two:.1f} ({rounds(2)}) | {two / one:.2f}x |"
        )
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    with open(os.path.join(HERE, "results", "engine_workers.json"), "w") as f:
        json.dump(
            {"machine": m, "calls_per_s": {f"{k[0]} | {k[1]} callers": v for k, v in seen.items()}, "table": text},
            f,
            indent=1,
        )


if __name__ == "__main__":
    main()
