"""``make bench-serve``: mxport-serve under a bounded loopback load, beside the in-process Java Predictor and a
FastAPI server over ``mxport.load`` (benchmarks/serve_baseline.py), all from one run.

Cells: model (ResNet-18 fp32 and int8, EfficientNet-Lite0) x payload (binary uint8 tensor 1x224x224x3, the same as a
JSON tensor, demo/cat.jpg as BYTES) x clients (1, 4, 16) x batching (off, on: --max-batch-size 16; and off with two
MXNet engine workers); --models, --payloads, --clients and --servers pick a subset. Each client is a thread that
keeps one HTTP/1.1 connection and sends --requests requests (fewer when a cell passes --seconds), the same bytes
built once for every server; every answer must be a 200. Each row also has the CPU time per request of the client
process and of the server process (/proc), so that what the load generator takes from the 2 cores shows. Prints one JSON line per cell and writes them all to .cache/reports/bench_serve.json. Run by the serve
test venv (numpy); it starts the servers itself on 127.0.0.1 and stops them.

    .cache/serve-venv/bin/python benchmarks/bench_serve.py [--quick]
"""

import argparse
import concurrent.futures
import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

import numpy as np

import cpu

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
JAR = os.path.join(ROOT, "serve", "target", f"mxport-serve-{VERSION}.jar")
TEST_CLASSES = os.path.join(ROOT, "serve", "target", "test-classes")
MODELS_DIR = os.environ.get("MXPORT_MODELS", os.path.join(ROOT, ".cache", "models"))
MODELS = {"resnet18": "resnet18", "resnet18_int8": "resnet18-int8", "efficientnet_lite0": "efficientnet_lite0"}
PROJECT_PYTHON = os.environ.get("MXPORT_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
CAT = os.path.join(ROOT, "demo", "cat.jpg")
PAYLOADS = ("binary", "json", "jpeg")
# the servers of a run: the in-process Predictor, mxport-serve (batching off, on, off with two engine workers), FastAPI
SERVERS = {
    "inprocess": None,
    "serve-off": ("off", 1),
    "serve-on": ("on", 1),
    "serve-2w": ("off", 2),
    "fastapi": None,
}


def pick(given, known, flag):
    chosen = [x.strip() for x in given.split(",") if x.strip()]
    unknown = [x for x in chosen if x not in known]
    if unknown or not chosen:
        raise SystemExit(f"{flag} takes a comma-separated subset of {', '.join(known)}; got {given!r}")
    return chosen


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port, proc, seconds=300):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/v2/health/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("server not ready in time")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()


def start_server(jar, batching, workers, prefixes, log):
    """mxport-serve from ``jar`` on a free port with every model of ``prefixes`` (name -> prefix), batching "off" or
    "on" (--max-batch-size 16) and ``workers`` MXNet engine workers, its output in the file ``log``: (port, process);
    wait_ready before the first request."""
    port = free_port()
    cmd = ["java", "-Xmx2g", "-jar", jar, "--http-port", str(port), "--grpc-port", str(free_port())]
    cmd += ["--max-batch-size", "1" if batching == "off" else "16", "--engine-workers", str(workers)]
    for name, prefix in prefixes.items():
        cmd += ["--model", f"{name}={prefix}"]
    return port, subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT)


def input_name_of(port, model):
    """The first input's name in a server's model metadata."""
    meta = http.client.HTTPConnection("127.0.0.1", port)
    meta.request("GET", f"/v2/models/{model}")
    return json.loads(meta.getresponse().read())["inputs"][0]["name"]


def payloads(input_name):
    pixels = np.random.default_rng(7).integers(0, 256, (1, 224, 224, 3), dtype=np.uint8)
    out = {"binary": {"name": "prob", "parameters": {"binary_data": True}}}

    def binary(data, datatype, shape):
        head = json.dumps(
            {
                "inputs": [
                    {
                        "name": input_name,
                        "datatype": datatype,
                        "shape": shape,
                        "parameters": {"binary_data_size": len(data)},
                    }
                ],
                "outputs": [out["binary"]],
            }
        ).encode()
        return head + data, {"Inference-Header-Content-Length": str(len(head))}

    jpeg = open(CAT, "rb").read()
    return {
        "binary": binary(pixels.tobytes(), "UINT8", list(pixels.shape)),
        "json": (
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": input_name,
                            "datatype": "UINT8",
                            "shape": list(pixels.shape),
                            "data": pixels.reshape(-1).tolist(),
                        }
                    ],
                    "outputs": [{"name": "prob", "parameters": {"binary_data": False}}],
                }
            ).encode(),
            {},
        ),
        "jpeg": binary(struct.pack("<I", len(jpeg)) + jpeg, "BYTES", [1]),
    }


def read_response(sock):
    """Reads one HTTP/1.1 response with a Content-Length (both servers send one) off a keep-alive socket; returns
    its status."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    lines = data[:end].decode("latin-1").split("\r\n")
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" not in fields:
        raise ConnectionError(f"a response without Content-Length: {lines[0]} {fields}")
    left = end + int(fields["content-length"]) - len(data)
    while left > 0:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("the server closed the connection")
        left -= len(chunk)
    return int(lines[0].split()[1])


def cpu_seconds(pid=None):
    """User + system CPU seconds of a process, all its threads (/proc/PID/stat); of this process when pid is None."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def jit_seconds(pid):
    """CPU seconds of a JVM's JIT compiler threads (C1, C2); 0 for a process without them."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                stat = f.read()
        except OSError:  # the thread ended
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat.rsplit(")", 1)[1].split()
        if "CompilerThre" in name:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def infer_request(port, model, body, headers):
    """The bytes of one HTTP/1.1 infer request of ``model`` with ``body`` and extra ``headers``."""
    head = f"POST /v2/models/{model}/infer HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode() + body


def connect(port):
    """A keep-alive client connection to 127.0.0.1:port, without Nagle's delay."""
    c = socket.create_connection(("127.0.0.1", port), timeout=120)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def run_cell(port, model, body, headers, clients, requests, seconds, server_pid, warmup=None):
    """``warmup`` requests from one client first (default: ``requests``), at most ``seconds`` too."""

    # the request's bytes, built once: the load generator costs the client's CPU (which, on loopback, the server
    # shares) only a send and a receive per request
    request = infer_request(port, model, body, headers)

    def client(count, deadline):
        with connect(port) as c:
            times, bad = [], 0
            for _ in range(count):
                if time.time() > deadline:
                    break
                t = time.perf_counter()
                c.sendall(request)
                status = read_response(c)
                times.append((time.perf_counter() - t) * 1e3)
                bad += status != 200
        return times, bad

    # warm-up: this shape's first call plans memory, and a JVM server's request path is compiled by the JIT over its
    # first thousand requests or so (C2 took 0.6-3 ms of CPU per request over the first 1000 int8 ResNet-18 requests,
    # on the 2 cores the model computes on: the rows' server_jit_ms)
    warmup = requests if warmup is None else warmup
    client(warmup, time.time() + seconds) if warmup > 2 else None
    deadline = time.time() + seconds
    cpu_client, cpu_server, jit = cpu_seconds(), cpu_seconds(server_pid), jit_seconds(server_pid)
    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(lambda _: client(requests, deadline), range(clients)))
    wall = time.perf_counter() - start
    cpu_client, cpu_server = cpu_seconds() - cpu_client, cpu_seconds(server_pid) - cpu_server
    jit = jit_seconds(server_pid) - jit
    times = np.array([t for ts, _ in results for t in ts])
    return {
        "requests": int(times.size),
        "errors": int(sum(b for _, b in results)),
        "req_per_s": round(times.size / wall, 2),
        "p50_ms": round(float(np.percentile(times, 50)), 3),
        "p99_ms": round(float(np.percentile(times, 99)), 3),
        # CPU time per request (ms, all threads; 1/100 s ticks): what the load generator and the server cost
        "client_cpu_ms": round(cpu_client * 1e3 / max(1, times.size), 2),
        "server_cpu_ms": round(cpu_server * 1e3 / max(1, times.size), 2),
        # of which the JIT compiler's (a JVM server not yet warm compiles on the cores the model computes on)
        "server_jit_ms": round(jit * 1e3 / max(1, times.size), 2),
    }


def markdown(rows, machine, args):
    """The RESULTS.md table: per model, payload and clients, each server's req/s and p50/p99 ms; then the issue's
    targets, computed from the same rows."""

    def cell(server, model, payload, clients, batching=None, workers=None):
        for r in rows:
            if (r["server"], r["model"], r["payload"], r["clients"]) == (server, model, payload, clients) and (
                batching is None or (r.get("batching"), r.get("engine_workers")) == (batching, workers)
            ):
                if r.get("batch", 1) == 1:
                    return r
        return None

    def show(r):
        return f"{r['req_per_s']:.0f} / {r['p50_ms']:.1f} / {r['p99_ms']:.1f}" if r else ""

    serve = "mxport-serve"
    lines = [
        f"{machine['cpu']}, {machine['cores']} cores; ISA: {cpu.isa_line(machine['isa'])}; {machine['date']}; "
        f"{args.requests} requests per client and cell (at most {args.seconds:.0f} s). Cells: req/s / p50 ms / p99 ms.",
        "",
        "| model | payload | clients | in-process Predictor | serve | serve, batching 16 | serve, 2 workers"
        " | FastAPI over mxport.load |",
        "|---|---|---|---|---|---|---|---|",
    ]
    models = list(dict.fromkeys(r["model"] for r in rows))
    payloads_seen = list(dict.fromkeys(r["payload"] for r in rows if r["server"] == serve))
    clients = sorted({r["clients"] for r in rows if r["server"] == serve})
    for m in models:
        for p in payloads_seen:
            for n in clients:
                inproc = cell("in-process Java Predictor", m, "uint8 tensor", n) if p == "binary" else None
                if inproc:
                    inproc = {"req_per_s": inproc["samples_per_s"], **inproc}
                lines.append(
                    f"| {m} | {p} | {n} | {show(inproc)} | {show(cell(serve, m, p, n, 'off', 1))} | "
                    f"{show(cell(serve, m, p, n, 'on', 1))} | {show(cell(serve, m, p, n, 'off', 2))} | "
                    f"{show(cell('FastAPI over mxport.load', m, p, n))} |"
                )
    lines += ["", "Targets (issue #24):", ""]
    for m in models:
        one = cell(serve, m, "binary", 1, "off", 1)
        alone = cell("in-process Java Predictor", m, "uint8 tensor", 1)
        if one and alone:
            lines.append(
                f"- {m}, 1 client, binary: serve p50 - in-process p50 = {one['p50_ms'] - alone['p50_ms']:+.2f} ms (target <= 0.5)"
            )
    b25 = {r["model"]: r for r in rows if r.get("batch") == 25}
    for m in models:
        on = cell(serve, m, "binary", max(clients), "on", 1)
        if on and m in b25:
            lines.append(
                f"- {m}, {max(clients)} clients, binary, batching: {on['req_per_s']:.0f} req/s = "
                f"{on['req_per_s'] / b25[m]['samples_per_s']:.2f}x the in-process batch-25 {b25[m]['samples_per_s']:.0f} "
                f"samples/s (target >= 0.9x); p99/p50 {on['p99_ms'] / on['p50_ms']:.1f} (target <= 3)"
            )
    slower = [
        f"{m} {p} {n}"
        for m in models
        for p in payloads_seen
        for n in clients
        if (s := cell(serve, m, p, n, "off", 1))
        and (f := cell("FastAPI over mxport.load", m, p, n))
        and s["req_per_s"] <= f["req_per_s"]
    ]
    lines.append(
        f"- serve (batching off) faster than FastAPI in every cell: {'yes' if not slower else 'no: ' + ', '.join(slower)}"
    )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="per client and cell")
    parser.add_argument("--seconds", type=float, default=60, help="cap per cell")
    parser.add_argument("--clients", default="1,4,16")
    parser.add_argument(
        "--quick", action="store_true", help="5 requests per client (warm-up 20), 1 and 4 clients, ResNet-18 only"
    )
    parser.add_argument("--models", default=",".join(MODELS), help="a subset of " + ",".join(MODELS))
    parser.add_argument("--payloads", default=",".join(PAYLOADS), help="a subset of " + ",".join(PAYLOADS))
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help="a subset of " + ",".join(SERVERS) + " (serve-on: --max-batch-size 16; serve-2w: 2 engine workers)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=500,
        help="requests of one client before the first cell of each server, model and payload (at most --seconds):"
        " the JIT compiles a JVM server's request path over the first hundreds of requests",
    )
    parser.add_argument("--jar", default=JAR, help="the server's jar (e.g. an older build, to compare)")
    parser.add_argument(
        "--report", default=os.path.join(ROOT, ".cache", "reports", "bench_serve.json"), help="rows (and its .md)"
    )
    args = parser.parse_args()
    clients = [int(c) for c in args.clients.split(",")]
    models = {m: MODELS[m] for m in pick(args.models, MODELS, "--models")}
    wanted_payloads = pick(args.payloads, PAYLOADS, "--payloads")
    servers = pick(args.servers, SERVERS, "--servers")
    if args.quick:
        args.requests, args.warmup, clients, models = 5, 20, [1, 4], {"resnet18": "resnet18"}
    prefixes = {name: os.path.join(MODELS_DIR, f) for name, f in models.items()}
    rows = []
    report = args.report
    os.makedirs(os.path.dirname(report), exist_ok=True)

    def warm(n):
        """The warm-up before a cell: --warmup before the first client count of a model and payload, else as many
        requests as the cell's clients each send."""
        return max(args.warmup, args.requests) if n == clients[0] else args.requests

    def emit(row):
        rows.append(row)
        print(json.dumps(row), flush=True)

    # the in-process Java Predictor: what the server's own cost is measured against; batch 25 from one thread is
    # the throughput batching is held to (the 0.9x)
    for name, prefix in prefixes.items() if "inprocess" in servers else ():
        for n, batch in [(n, 1) for n in clients] + [(1, 25)]:
            calls = args.requests if batch == 1 else max(3, args.requests // batch)
            out = subprocess.run(
                ["java", "-cp", f"{TEST_CLASSES}:{args.jar}", "io.mxport.serve.PredictorBench", prefix]
                + [str(n), str(calls), str(batch)],
                capture_output=True,
                text=True,
                check=True,
            )
            emit(
                {
                    "server": "in-process Java Predictor",
                    "model": name,
                    "payload": "uint8 tensor",
                    "clients": n,
                    "batch": batch,
                    **json.loads(out.stdout.strip().splitlines()[-1]),
                }
            )

    def cells(port, pid, name, input_name, server):
        """Every payload and client count of one model on one server, as rows labelled ``server``."""
        for payload, (body, headers) in payloads(input_name).items():
            for n in clients if payload in wanted_payloads else ():
                row = run_cell(port, name, body, headers, n, args.requests, args.seconds, pid, warm(n))
                emit({**server, "model": name, "payload": payload, "clients": n, **row})

    # batching off and on with MXNet's one engine worker, and off with two (spec/RUNTIME.md rule 7: two batches
    # compute at once, each with half the threads)
    for batching, workers in [SERVERS[s] for s in servers if SERVERS[s]]:
        log = report.replace(".json", f"-server-batching-{batching}-workers-{workers}.log")
        port, proc = start_server(args.jar, batching, workers, prefixes, log)
        try:
            wait_ready(port, proc)
            for name in prefixes:
                server = {"server": "mxport-serve", "jar": os.path.basename(args.jar), "batching": batching}
                cells(port, proc.pid, name, input_name_of(port, name), dict(server, engine_workers=workers))
        finally:
            stop(proc)

    if "fastapi" in servers:
        port = free_port()
        cmd = [PROJECT_PYTHON, os.path.join(ROOT, "benchmarks", "serve_baseline.py"), "--port", str(port)]
        for name, prefix in prefixes.items():
            cmd += ["--model", f"{name}={prefix}"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/tmp")
        try:
            wait_ready(port, proc)
            for name in prefixes:
                input_name = "image" if name == "efficientnet_lite0" else "data"
                cells(port, proc.pid, name, input_name, {"server": "FastAPI over mxport.load"})
        finally:
            stop(proc)

    machine = {**cpu.describe(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    with open(report, "w") as f:
        json.dump({"note": "compare within one run", "machine": machine, "rows": rows}, f, indent=1)
    with open(report.replace(".json", ".md"), "w") as f:
        f.write(markdown(rows, machine, args) + "\n")
    print(f"wrote {report} and its .md")
    errors = sum(r.get("errors", 0) for r in rows)
    if errors:
        sys.exit(f"{errors} requests were not answered 200")


if __name__ == "__main__":
    main()
