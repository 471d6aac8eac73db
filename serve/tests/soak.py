"""A soak of mxport-serve: N clients on loopback mixing valid and invalid requests for a fixed time.

    .cache/serve-venv/bin/python serve/tests/soak.py [--seconds 600] [--clients 16]   # make soak-serve

Every valid answer must be a 200 with the outputs of ``mxport.load`` (serve/tests/reference.py); every invalid one
its 4xx. Counts 5xx answers, wrong outputs and wrong statuses, samples the server's RSS once a second, and writes
.cache/reports/soak_serve.json; exits 1 unless there were no 5xx, no wrong output, no wrong status, and (runs of a
minute or more) the RSS at the end is within 5 % of the RSS after the warm-up fifth of the run. ``make test-serve``
runs a short leg of it (test_serve.py) on its shared server.
"""

import argparse
import gzip
import http.client
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RSS_DRIFT_LIMIT = 0.05


def binary_body(model_input, datatype, shape, data):
    head = json.dumps(
        {
            "inputs": [
                {
                    "name": model_input,
                    "datatype": datatype,
                    "shape": shape,
                    "parameters": {"binary_data_size": len(data)},
                }
            ],
            "outputs": [{"name": "prob", "parameters": {"binary_data": True}}],
        }
    ).encode()
    return head + data, {"Inference-Header-Content-Length": str(len(head))}


def cases(ref, cat_path, max_body):
    """(what, model, body, headers, status, expected prob or None)."""
    jpeg = open(cat_path, "rb").read()
    pixels = ref["pixels"]
    one = pixels[:1]
    bad_dtype = json.dumps({"inputs": [{"name": "data", "datatype": "FP32", "shape": [1, 2, 2, 3], "data": [0] * 12}]})
    return [
        (
            "binary tensor",
            "resnet",
            *binary_body("data", "UINT8", list(pixels.shape), pixels.tobytes()),
            200,
            ref["resnet_batch"],
        ),
        (
            "json tensor",
            "resnet",
            json.dumps(
                {
                    "inputs": [
                        {
                            "name": "data",
                            "datatype": "UINT8",
                            "shape": list(one.shape),
                            "data": one.reshape(-1).tolist(),
                        }
                    ],
                    "outputs": [{"name": "prob", "parameters": {"binary_data": True}}],
                }
            ).encode(),
            {},
            200,
            ref["resnet_single0"],
        ),
        (
            "jpeg bytes",
            "lite0",
            *binary_body("image", "BYTES", [1], struct.pack("<I", len(jpeg)) + jpeg),
            200,
            ref["lite0_cat"],
        ),
        ("malformed json", "resnet", b'{"inputs": [', {}, 400, None),
        ("wrong dtype", "resnet", bad_dtype.encode(), {}, 400, None),
        ("garbage image", "lite0", *binary_body("image", "BYTES", [1], struct.pack("<I", 64) + b"x" * 64), 400, None),
        ("unknown model", "nosuchmodel", bad_dtype.encode(), {}, 404, None),
        (
            "gzip bomb",
            "resnet",
            gzip.compress(b"{" + b" " * (max_body + 10) + b"}"),
            {"Content-Encoding": "gzip"},
            413,
            None,
        ),
    ]


def prob_of(body, headers):
    """The binary 'prob' output of a 200 answer (binary_data output: JSON header, then the raw floats)."""
    n = int(headers.get("Inference-Header-Content-Length") or headers.get("inference-header-content-length"))
    meta = json.loads(body[:n])
    out = meta["outputs"][0]
    return np.frombuffer(body[n:], dtype="<f4").reshape(out["shape"])


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run(port, pid, ref, cat_path, max_body, seconds, clients, exact=True):
    """The soak against a running server; returns the report (a dict)."""
    mix = cases(ref, cat_path, max_body)
    lock = threading.Lock()
    counts = {"requests": 0, "5xx": 0, "wrong_outputs": 0, "wrong_status": 0}
    by_case = {c[0]: 0 for c in mix}
    problems = []
    stop_at = time.time() + seconds
    rss = []

    def client(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        i = k
        while time.time() < stop_at:
            what, model, body, headers, status, want = mix[i % len(mix)]
            i += 1
            try:
                conn.request("POST", f"/v2/models/{model}/infer", body, headers)
                r = conn.getresponse()
                answer = r.read()
                got_status, got_headers = r.status, dict(r.getheaders())
                if r.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            except OSError as e:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                got_status, answer, got_headers = 599, str(e).encode(), {}
            wrong = False
            if got_status == 200 and want is not None:
                got = prob_of(answer, got_headers)
                wrong = got.shape != want.shape or not (
                    np.array_equal(got, want) if exact else np.allclose(got, want, rtol=0, atol=1e-6)
                )
            with lock:
                counts["requests"] += 1
                by_case[what] += 1
                counts["5xx"] += got_status >= 500
                counts["wrong_status"] += got_status != status
                counts["wrong_outputs"] += wrong
                if (got_status != status or wrong) and len(problems) < 20:
                    problems.append(f"{what}: {got_status} {answer[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    start = time.time()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        rss.append((round(time.time() - start, 1), rss_bytes(pid)))
        time.sleep(1)
    for t in threads:
        t.join()
    # the RSS after the warm-up fifth of the run (every request kind has run, the heap has sized itself) against the
    # RSS at the end, each the median of a few samples
    warm = [b for t, b in rss if seconds * 0.2 <= t <= seconds * 0.2 + 10] or [rss[0][1]]
    end = [b for _, b in rss[-5:]]
    drift = (float(np.median(end)) - float(np.median(warm))) / float(np.median(warm))
    return {
        "seconds": seconds,
        "clients": clients,
        **counts,
        "by_case": by_case,
        "rss_after_warm_up_mb": round(float(np.median(warm)) / 2**20, 1),
        "rss_end_mb": round(float(np.median(end)) / 2**20, 1),
        "rss_drift": round(drift, 4),
        "problems": problems,
    }


def passed(report, check_rss):
    ok = report["5xx"] == 0 and report["wrong_outputs"] == 0 and report["wrong_status"] == 0
    return ok and (not check_rss or report["rss_drift"] < RSS_DRIFT_LIMIT)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from test_serve import CAT, LITE0, MAX_BODY, PROJECT_PYTHON, RESNET, Server

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "ref.npz")
        subprocess.run(
            [PROJECT_PYTHON, os.path.join(ROOT, "serve", "tests", "reference.py"), out, RESNET, LITE0, CAT],
            check=True,
            cwd="/tmp",
        )
        ref = dict(np.load(out))
    # batching off (the default): every answer is mxport.load's bit for bit; a fixed heap, so that RSS drift is the
    # server's and not the heap sizing itself
    server = Server("--access-log", "off", log_name="soak-serve", java_options=("-Xms1g", "-XX:+AlwaysPreTouch"))
    try:
        report = run(server.http_port, server.proc.pid, ref, CAT, MAX_BODY, args.seconds, args.clients)
    finally:
        code = server.stop()
    report["exit_code"] = code
    path = os.path.join(ROOT, ".cache", "reports", "soak_serve.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"note": "on a shared machine; RSS from /proc/<pid>/status", **report}, f, indent=1)
    print(json.dumps(report))
    print(f"wrote {path}")
    sys.exit(0 if passed(report, check_rss=args.seconds >= 60) else 1)


if __name__ == "__main__":
    main()
