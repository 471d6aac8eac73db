"""``make bench-serve-paired``: mxport-serve's own cost per request at one client, with the in-process Java Predictor
in the same moments of the machine.

    .cache/serve-venv/bin/python benchmarks/serve_paired.py [--blocks 40] [--block 25] [--jar A.jar,B.jar] [--gap-us 800]

bench_serve.py measures the in-process Predictor first and each server after it, minutes apart; on this machine kind
a single process's batch-1 p50 has moved from 4.3 to 15 ms between two runs minutes apart, so that a difference of
0.5 ms (issue #24's bound on the server's own cost) is lost in it. Here every side runs at once, idle but for its
turn: the in-process Predictor (PredictorBench --blocks, one thread, batch 1, uint8 [1,224,224,3]) and mxport-serve
with batching off and on (one client keeping one HTTP/1.1 connection, binary tensors: the same pixels). Round after
round each side runs one block of --block requests, in an order that rotates; each block's p50 is compared with the
in-process block of the same round, and the row gives the median of those differences with its quartiles, beside
each side's p50 and p99 over every block. Every side is first warmed up with --warmup requests (the JIT compiles a
JVM server's request path over the first thousand or so). --jar takes several jars (e.g. main's and a branch's):
each is a side with batching off and on. --gap-us G adds an in-process side that pauses G microseconds before each
call (parked, as a server's thread waits for the next request; the times are of the calls alone): what the pause
alone costs the Predictor, against the plain in-process side.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

import bench_serve as bs
import cpu


def in_process(prefix, gap_us=0):
    """PredictorBench --blocks: a function that runs n calls and returns their ms, and the process. With ``gap_us``
    the calling thread parks that long before each call (as a server's thread waits for the next request); the times
    are of the calls alone."""
    cp = f"{bs.TEST_CLASSES}:{bs.JAR}"
    proc = subprocess.Popen(
        ["java", "-cp", cp, "io.mxport.serve.PredictorBench", prefix, "--blocks", str(gap_us)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.stdout.readline().strip() != "ready":
        raise SystemExit(f"PredictorBench did not start (exit {proc.wait()})")

    def run(n):
        proc.stdin.write(f"{n}\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    return run, proc


def over_http(port, model, body, headers):
    """A client keeping one connection: a function that sends n requests one after the other and returns their ms."""
    request, conn = bs.infer_request(port, model, body, headers), bs.connect(port)

    def run(n):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            conn.sendall(request)
            if bs.read_response(conn) != 200:
                raise SystemExit("a request was not answered 200")
            times.append((time.perf_counter() - t) * 1e3)
        return times

    return run


def rows_of(blocks, names):
    """Per side: p50/p99 over every block, and the median (quartiles) of its block p50 minus the in-process one."""
    rows = []
    for name in names:
        all_ms = np.concatenate([b[name] for b in blocks])
        row = {"side": name, "requests": int(all_ms.size), "p50_ms": round(float(np.median(all_ms)), 3)}
        row["p99_ms"] = round(float(np.percentile(all_ms, 99)), 3)
        if name != "in-process":
            diff = [np.median(b[name]) - np.median(b["in-process"]) for b in blocks]
            q1, q2, q3 = np.percentile(diff, [25, 50, 75])
            row.update(
                p50_over_inprocess_ms=round(float(q2), 3), quartiles_ms=[round(float(q1), 3), round(float(q3), 3)]
            )
        rows.append(row)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet18_int8", choices=list(bs.MODELS))
    parser.add_argument("--blocks", type=int, default=40, help="rounds: each side runs one block per round")
    parser.add_argument("--block", type=int, default=25, help="requests per block")
    parser.add_argument("--warmup", type=int, default=1500, help="requests per side before the first round")
    parser.add_argument("--jar", default=bs.JAR, help="comma-separated: each jar is a side with batching off and on")
    parser.add_argument(
        "--gap-us",
        type=int,
        default=0,
        help="also an in-process side that pauses this long before each call (a server's wait for the next request)",
    )
    parser.add_argument("--report", default=os.path.join(bs.ROOT, ".cache", "reports", "serve_paired.json"))
    args = parser.parse_args()
    prefix = os.path.join(bs.MODELS_DIR, bs.MODELS[args.model])
    os.makedirs(os.path.dirname(args.report), exist_ok=True)
    sides, procs = {}, []
    try:
        sides["in-process"], proc = in_process(prefix)
        procs.append(proc)
        if args.gap_us:
            sides[f"in-process, {args.gap_us} us gap"], proc = in_process(prefix, args.gap_us)
            procs.append(proc)
        for jar in args.jar.split(","):
            for batching in ("off", "on"):
                log = args.report.replace(".json", f"-{os.path.basename(jar)}-{batching}.log")
                port, proc = bs.start_server(jar, batching, 1, {args.model: prefix}, log)
                procs.append(proc)
                bs.wait_ready(port, proc)
                body, headers = bs.payloads(bs.input_name_of(port, args.model))["binary"]
                sides[f"serve {os.path.basename(jar)} batching {batching}"] = over_http(port, args.model, body, headers)
        names = list(sides)
        for name in names:
            sides[name](args.warmup)
        blocks = []
        for r in range(args.blocks):
            order = names[r % len(names) :] + names[: r % len(names)]
            blocks.append({name: np.array(sides[name](args.block)) for name in order})
    finally:
        for proc in procs:
            bs.stop(proc)
    rows = rows_of(blocks, names)
    machine = {**cpu.describe(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    settings = {k: getattr(args, k) for k in ("model", "blocks", "block", "warmup", "gap_us")}
    with open(args.report, "w") as f:
        json.dump(
            {"note": "sides interleaved block by block", "machine": machine, **settings, "rows": rows}, f, indent=1
        )
    for row in rows:
        print(json.dumps(row))
    print(f"wrote {args.report}", file=sys.stderr)


if __name__ == "__main__":
    main()
