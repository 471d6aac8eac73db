"""mxport-serve against clients nobody here wrote: tritonclient (http and grpc), curl-style raw HTTP, Prometheus.

The jar (serve/target/mxport-serve-<version>.jar) runs in its own JVM on 127.0.0.1; the expected outputs come from
Python's ``mxport.load`` (serve/tests/reference.py, run by the project's .venv). ``make test-serve`` runs this file.
"""

import concurrent.futures
import gzip
import http.client
import json
import os
import re
import signal
import struct
import subprocess
import threading
import time
import zlib

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from prometheus_client.parser import text_string_to_metric_families

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VERSION = open(os.path.join(ROOT, "VERSION")).read().strip()
JAR = os.path.join(ROOT, "serve", "target", f"mxport-serve-{VERSION}.jar")
MODELS = os.environ.get("MXPORT_MODELS", os.path.join(ROOT, ".cache", "models"))
RESNET = os.path.join(MODELS, "resnet18")
LITE0 = os.path.join(MODELS, "efficientnet_lite0")
CAT = os.path.join(ROOT, "demo", "cat.jpg")
PROJECT_PYTHON = os.environ.get("MXPORT_PYTHON", os.path.join(ROOT, ".venv", "bin", "python"))
MAX_BODY = 4 << 20
MAX_PIXELS = 4_000_000


READY = re.compile(rb"ready; HTTP [^:]+:(\d+), gRPC [^:]+:(\d+)")


def eventually(condition, seconds=30):
    """``condition()``'s first true value, polled for ``seconds``; the server counts and logs a request after it
    sent the reply, so a client that has its reply may look before the server has counted it."""
    deadline = time.time() + seconds
    while not (value := condition()) and time.time() < deadline:
        time.sleep(0.02)
    return value


class Server:
    """One mxport-serve process on loopback, on ports it picks itself (``--http-port 0``: a port chosen here and
    closed before the JVM binds it could be taken by a suite running beside); stopped (SIGTERM) at the end."""

    def __init__(self, *extra, log_name="serve", java_options=()):
        self.http_port = self.grpc_port = None
        self.log_path = os.path.join(ROOT, ".cache", f"{log_name}-test.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [
                "java",
                "-Xmx1g",
                *java_options,
                "-jar",
                JAR,
                "--model",
                f"resnet={RESNET}",
                "--model",
                f"lite0={LITE0}",
                "--http-port",
                "0",
                "--grpc-port",
                "0",
                "--max-body-bytes",
                str(MAX_BODY),
                "--max-image-pixels",
                str(MAX_PIXELS),
                *extra,
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 180
        while time.time() < deadline:
            assert self.proc.poll() is None, open(self.log_path).read()
            with open(self.log_path, "rb") as f:
                ready = READY.search(f.read())
            if ready:  # printed once both ports are bound and every model warmed up
                self.http_port, self.grpc_port = int(ready[1]), int(ready[2])
                assert self.get("/v2/health/ready")[0] == 200
                return
            time.sleep(0.1)
        self.stop()
        raise AssertionError("mxport-serve did not become ready in 180 s:\n" + open(self.log_path).read())

    def request(self, method, path, body=None, headers=None, timeout=120):
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r.status, r.read(), dict(r.getheaders())
        finally:
            c.close()

    def get(self, path):
        return self.request("GET", path)

    def infer(self, model, body, headers=None):
        return self.request("POST", f"/v2/models/{model}/infer", body, headers)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        self.log.close()
        return self.proc.returncode


@pytest.fixture(scope="module", autouse=True)
def reference_run(tmp_path_factory):
    """serve/tests/reference.py, started first: it runs while the server starts. (path of its .npz, process)"""
    out = str(tmp_path_factory.mktemp("ref") / "ref.npz")
    proc = subprocess.Popen(
        [PROJECT_PYTHON, os.path.join(ROOT, "serve", "tests", "reference.py"), out, RESNET, LITE0, CAT], cwd="/tmp"
    )
    yield out, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def ref(reference_run):
    out, proc = reference_run
    assert proc.wait(600) == 0, "serve/tests/reference.py failed (its output is above)"
    r = dict(np.load(out))
    # not degenerate: real probabilities that differ between the two images
    assert r["resnet_batch"].max() > 0.01 and not np.array_equal(r["resnet_single0"], r["resnet_single1"])
    assert r["lite0_cat"].max() > 0.3
    return r


@pytest.fixture(scope="module")
def server():
    s = Server("--max-batch-size", "8", "--max-batch-delay-ms", "20")
    yield s
    assert s.stop() in (0, 143)


def http_client(server):
    return httpclient.InferenceServerClient(f"127.0.0.1:{server.http_port}", network_timeout=120)


def grpc_client(server):
    return grpcclient.InferenceServerClient(f"127.0.0.1:{server.grpc_port}")


def jpeg_input(module, data=None, count=1):
    inp = module.InferInput("image", [count], "BYTES")
    inp.set_data_from_numpy(
        np.array([data or open(CAT, "rb").read()] * count, dtype=np.object_),
        **({"binary_data": True} if module is httpclient else {}),
    )
    return inp


def pixel_input(module, pixels, binary=True):
    inp = module.InferInput("data", list(pixels.shape), "UINT8")
    inp.set_data_from_numpy(pixels, **({"binary_data": binary} if module is httpclient else {}))
    return inp


# ---- protocol: metadata and infer through tritonclient ----


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_metadata(server, module):
    c = http_client(server) if module is httpclient else grpc_client(server)
    assert c.is_server_live() and c.is_server_ready() and c.is_model_ready("lite0")
    meta = c.get_model_metadata("lite0")
    if module is grpcclient:
        from google.protobuf.json_format import MessageToDict

        meta = MessageToDict(meta, preserving_proto_field_name=True)
        for t in meta["inputs"] + meta["outputs"]:
            t["shape"] = [int(d) for d in t["shape"]]
    assert meta["name"] == "lite0"
    assert meta["inputs"] == [{"name": "image", "datatype": "UINT8", "shape": [-1, -1, -1, 3]}]
    assert meta["outputs"] == [{"name": "prob", "datatype": "FP32", "shape": [-1, 1000]}]
    smeta = c.get_server_metadata()
    assert (smeta["name"] if module is httpclient else smeta.name) == "mxport-serve"


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_uint8_tensor_outputs_equal_mxport_load(server, ref, module):
    c = http_client(server) if module is httpclient else grpc_client(server)
    out = module.InferRequestedOutput("prob", **({"binary_data": True} if module is httpclient else {}))
    r = c.infer("resnet", [pixel_input(module, ref["pixels"])], outputs=[out], request_id="req-7")
    got = r.as_numpy("prob")
    assert got.dtype == np.float32 and got.shape == (2, 1000)
    assert np.array_equal(got, ref["resnet_batch"])  # bit for bit
    assert r.get_response()["id"] == "req-7" if module is httpclient else r.get_response().id == "req-7"


def test_json_tensors_equal_mxport_load(server, ref):
    c = http_client(server)
    out = httpclient.InferRequestedOutput("prob", binary_data=False)
    r = c.infer("resnet", [pixel_input(httpclient, ref["pixels"][:1], binary=False)], outputs=[out])
    assert np.array_equal(r.as_numpy("prob"), ref["resnet_single0"])  # JSON floats round-trip exactly


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_jpeg_bytes_equal_mxport_load(server, ref, module):
    c = http_client(server) if module is httpclient else grpc_client(server)
    r = c.infer("lite0", [jpeg_input(module)])
    assert np.array_equal(r.as_numpy("prob"), ref["lite0_cat"])


@pytest.mark.parametrize("module", [httpclient, grpcclient], ids=["http", "grpc"])
def test_top_k_answers_class_names(server, ref, module):
    c = http_client(server) if module is httpclient else grpc_client(server)
    out = module.InferRequestedOutput("prob", class_count=3)
    top = c.infer("lite0", [jpeg_input(module)], outputs=[out]).as_numpy("prob")
    order = np.argsort(-ref["lite0_cat"][0], kind="stable")[:3]
    got = [e.decode().split(":") for e in top.reshape(-1)]
    assert [int(g[1]) for g in got] == list(order)
    assert [np.float32(g[0]) for g in got] == [ref["lite0_cat"][0][i] for i in order]
    assert got[0][2] == "tiger cat"
    status, body, _ = server.infer(
        "lite0",
        json.dumps(
            {
                "inputs": [{"name": "image", "datatype": "UINT8", "shape": [1, 2, 2, 3], "data": [0] * 12}],
                "parameters": {"top_k": 2},
            }
        ).encode(),
    )
    assert status == 200 and len(json.loads(body)["outputs"][0]["data"]) == 2


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_http_requests_equal_mxport_load(server, ref, algorithm):
    c = http_client(server)
    out = httpclient.InferRequestedOutput("prob", binary_data=True)
    r = c.infer(
        "resnet", [pixel_input(httpclient, ref["pixels"])], outputs=[out], request_compression_algorithm=algorithm
    )
    assert np.array_equal(r.as_numpy("prob"), ref["resnet_batch"])


def test_compressed_grpc_requests_equal_mxport_load_and_a_bomb_is_refused(server, ref):
    from tritonclient.utils import InferenceServerException

    c = grpc_client(server)
    r = c.infer("resnet", [pixel_input(grpcclient, ref["pixels"])], compression_algorithm="gzip")
    assert np.array_equal(r.as_numpy("prob"), ref["resnet_batch"])
    zeros = np.zeros((1, 1200, 1200, 3), dtype=np.uint8)  # 4.3 MB inflated, a few KB on the wire
    with pytest.raises(InferenceServerException) as e:
        c.infer("resnet", [pixel_input(grpcclient, zeros)], compression_algorithm="gzip")
    assert e.value.status() == "StatusCode.RESOURCE_EXHAUSTED", e.value  # the inflated size counts
    assert "[INVALID_ARGUMENT] the request message is over the server's limit" in e.value.message()
    assert np.array_equal(c.infer("lite0", [jpeg_input(grpcclient)]).as_numpy("prob"), ref["lite0_cat"])


# ---- bad input: 4xx with a code, and the server goes on ----


def png(width, height, idat):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def binary_body(header, *blobs):
    h = json.dumps(header).encode()
    return h + b"".join(blobs), {"Inference-Header-Content-Length": str(len(h))}


def image_body(data):
    blob = struct.pack("<I", len(data)) + data
    return binary_body(
        {
            "inputs": [
                {"name": "image", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": len(blob)}}
            ]
        },
        blob,
    )


def uint8_json(name="data", datatype="UINT8", shape=(1, 4, 4, 3), data=None):
    n = int(np.prod(shape))
    return json.dumps(
        {
            "inputs": [
                {
                    "name": name,
                    "datatype": datatype,
                    "shape": list(shape),
                    "data": data if data is not None else [1] * n,
                }
            ]
        }
    ).encode(), {}


# a 20000x20000 grayscale PNG of zeros: 400 M pixels from 400 KB of compressed rows
BOMB = png(20000, 20000, zlib.compress(b"\x00" * (20001 * 20000), 9))

BAD = {
    "malformed JSON": ("resnet", b'{"inputs": [', {}, 400, "INVALID_ARGUMENT"),
    "not an object": ("resnet", b"[1, 2]", {}, 400, "INVALID_ARGUMENT"),
    "wrong name": ("resnet", *uint8_json(name="pixels"), 400, "UNKNOWN_INPUT"),
    "wrong dtype": ("resnet", *uint8_json(datatype="FP32"), 400, "DTYPE_MISMATCH"),
    "wrong rank": ("resnet", *uint8_json(shape=(4, 4, 3)), 400, "SHAPE_MISMATCH"),
    "wrong channels": ("resnet", *uint8_json(shape=(1, 4, 4, 2)), 400, "SHAPE_MISMATCH"),
    "data of another length": ("resnet", *uint8_json(data=[1, 2, 3]), 400, "INVALID_ARGUMENT"),
    "value out of range": ("resnet", *uint8_json(shape=(1, 1, 1, 3), data=[1, 2, 300]), 400, "INVALID_ARGUMENT"),
    "too many elements": ("resnet", *uint8_json(shape=(100000, 1000, 1000, 3), data=[]), 400, "INVALID_ARGUMENT"),
    "truncated binary section": (
        "resnet",
        *binary_body(
            {
                "inputs": [
                    {
                        "name": "data",
                        "datatype": "UINT8",
                        "shape": [1, 8, 8, 3],
                        "parameters": {"binary_data_size": 192},
                    }
                ]
            },
            b"\x01" * 100,
        ),
        400,
        "INVALID_ARGUMENT",
    ),
    "header length past the body": (
        "resnet",
        b"{}",
        {"Inference-Header-Content-Length": "99"},
        400,
        "INVALID_ARGUMENT",
    ),
    "garbage image bytes": ("lite0", *image_body(b"this is not an image at all" * 10), 400, "INVALID_ARGUMENT"),
    "decompression bomb": ("lite0", *image_body(BOMB), 400, "INVALID_ARGUMENT"),
    "body over the limit": ("resnet", b"{" + b" " * (MAX_BODY + 10) + b"}", {}, 413, "INVALID_ARGUMENT"),
    "gzip body inflating past the limit": (
        "resnet",
        gzip.compress(b"{" + b" " * (MAX_BODY + 10) + b"}"),
        {"Content-Encoding": "gzip"},
        413,
        "INVALID_ARGUMENT",
    ),
    "corrupt gzip body": (
        "resnet",
        b"\x1f\x8b\x08\x00" + b"not gzip" * 8,
        {"Content-Encoding": "gzip"},
        400,
        "INVALID_ARGUMENT",
    ),
    "unknown Content-Encoding": ("resnet", uint8_json()[0], {"Content-Encoding": "br"}, 415, "INVALID_ARGUMENT"),
    "unknown model": ("nosuchmodel", *uint8_json(), 404, "MODEL_NOT_FOUND"),
    "unknown output": (
        "resnet",
        json.dumps({"inputs": json.loads(uint8_json()[0])["inputs"], "outputs": [{"name": "logits"}]}).encode(),
        {},
        400,
        "INVALID_ARGUMENT",
    ),
    "bad top_k": (
        "resnet",
        json.dumps({"inputs": json.loads(uint8_json()[0])["inputs"], "parameters": {"top_k": -3}}).encode(),
        {},
        400,
        "INVALID_ARGUMENT",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_request_gets_4xx_with_code_and_server_goes_on(server, ref, case):
    model, body, headers, status, code = BAD[case]
    got, answer, _ = server.infer(model, body, headers)
    assert got == status, answer
    message = json.loads(answer)["error"]
    assert message.startswith(f"[{code}] "), message
    assert len(message) > len(code) + 20  # names the problem and the fix
    c = http_client(server)  # a good request after it
    assert np.array_equal(c.infer("lite0", [jpeg_input(httpclient)]).as_numpy("prob"), ref["lite0_cat"])


def test_bad_grpc_requests_get_codes(server):
    import grpc
    from tritonclient.utils import InferenceServerException

    c = grpc_client(server)
    with pytest.raises(InferenceServerException) as e:
        c.infer("lite0", [jpeg_input(grpcclient, b"garbage" * 9)])
    assert e.value.status() == str(grpc.StatusCode.INVALID_ARGUMENT) and "[INVALID_ARGUMENT]" in e.value.message()
    with pytest.raises(InferenceServerException) as e:
        c.infer("nosuch", [jpeg_input(grpcclient)])
    assert e.value.status() == str(grpc.StatusCode.NOT_FOUND) and "[MODEL_NOT_FOUND]" in e.value.message()
    assert c.is_server_ready()


# ---- batching, metrics ----


def metrics(server):
    status, body, headers = server.get("/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f for f in text_string_to_metric_families(body.decode())}


def batch_count(server, model):
    for s in metrics(server)["mxport_batch_size"].samples:
        if s.name == "mxport_batch_size_count" and s.labels["model"] == model:
            return s.value
    return 0


def test_concurrent_requests_are_merged_and_each_reply_is_its_rows(server, ref):
    """16 concurrent batch-1 requests of two images: merged (fewer batches than requests), every reply the image's.

    MXNet's oneDNN kernels give a row results that depend, in the last bits, on the batch size and the row's
    position (measured: up to 1.2e-7 on probabilities; serve/README.md), so a merged reply equals the reply alone
    within that rounding, and each merged reply is exactly its rows of the merged batch (the Java BatcherTest).
    """
    before = batch_count(server, "resnet")
    images = [ref["pixels"][i % 2 : i % 2 + 1] for i in range(16)]

    def one(i):
        out = httpclient.InferRequestedOutput("prob", binary_data=True)
        return (
            httpclient.InferenceServerClient(f"127.0.0.1:{server.http_port}")
            .infer("resnet", [pixel_input(httpclient, images[i])], outputs=[out])
            .as_numpy("prob")
        )

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        got = list(pool.map(one, range(16)))
    batches = batch_count(server, "resnet") - before
    assert batches < 16, "no request was merged"
    for i, g in enumerate(got):
        want = ref[f"resnet_single{i % 2}"]
        assert g.shape == (1, 1000)
        np.testing.assert_allclose(g, want, rtol=0, atol=1e-6)
        assert np.argmax(g) == np.argmax(want)


def test_metrics_parse_as_prometheus_text(server):
    def lite0_ok():
        samples = metrics(server)["mxport_requests"].samples
        return sum(s.value for s in samples if s.labels.get("model") == "lite0" and s.labels["status"] == "200")

    before = lite0_ok()
    http_client(server).infer("lite0", [jpeg_input(httpclient)])
    assert eventually(lambda: lite0_ok() == before + 1), (before, lite0_ok())
    m = metrics(server)
    assert any(s.labels.get("status") == "400" for s in m["mxport_requests"].samples)
    for name in ("mxport_request_duration_seconds", "mxport_queue_duration_seconds", "mxport_batch_size"):
        assert m[name].type == "histogram"
        assert any(s.name == name + "_count" and s.value > 0 for s in m[name].samples)
    assert m["mxport_requests_in_flight"].type == "gauge"
    assert {s.labels["model"]: s.value for s in m["mxport_model_ready"].samples} == {"resnet": 1, "lite0": 1}


def test_access_log_has_one_line_per_request(server):
    """Each request names a model of its own (none exists), so its line is found whenever the server writes it:
    lines come after the reply, so a count of lines before and after would race with earlier requests' lines."""
    import uuid

    names = {kind: f"nosuch-{kind}-{uuid.uuid4().hex[:8]}" for kind in ("infer", "ready", "grpc")}
    server.infer(names["infer"], b"{}")
    server.get(f"/v2/models/{names['ready']}/ready")
    try:
        grpc_client(server).is_model_ready(names["grpc"])
    except Exception:  # noqa: BLE001 - what tritonclient makes of NOT_FOUND is not the point here
        pass

    def lines(name):
        with open(server.log_path) as f:
            return [line for line in f if f"model={name} " in line]

    assert eventually(lambda: all(lines(n) for n in names.values())), {n: lines(n) for n in names.values()}
    time.sleep(0.2)  # a second line would be a request logged twice
    got = {kind: lines(n) for kind, n in names.items()}
    assert all(len(v) == 1 for v in got.values()), got
    assert " http POST " in got["infer"][0] and "status=404" in got["infer"][0], got
    assert " http GET " in got["ready"][0] and "status=404" in got["ready"][0], got
    assert " grpc ModelReady " in got["grpc"][0], got


def test_short_soak_mixing_valid_and_invalid_requests(server, ref):
    """make soak-serve's short leg: 16 clients for 5 s, no 5xx, no wrong output, every bad request its 4xx. Each
    client starts at another of the mix's 8 cases, so every case runs from the first second; make soak-serve runs
    the same mix for 10 minutes (and checks the RSS)."""
    import soak

    report = soak.run(server.http_port, server.proc.pid, ref, CAT, MAX_BODY, seconds=5, clients=16, exact=False)
    assert soak.passed(report, check_rss=False), report
    assert all(n > 0 for n in report["by_case"].values()), report


# ---- shutdown ----


def wait_until_in_flight(s, count, what):
    """Waits (30 s at most) until the server counts ``count`` requests under way, besides the metrics scrape."""
    deadline = time.time() + 30
    while time.time() < deadline:
        inflight = metrics(s)["mxport_requests_in_flight"].samples[0].value - 1  # the scrape itself is one
        if inflight >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"only {inflight} {what} arrived")


def test_sigterm_answers_every_request_and_grpc_call_in_flight_and_refuses_new_ones(ref):
    """One server, SIGTERM while 6 REST requests and 6 gRPC calls are under way: every one of them is answered,
    a gRPC call sent after the hook ran is refused UNAVAILABLE, the JVM exits 143, both ports are closed."""
    from tritonclient.utils import InferenceServerException

    s = Server("--max-batch-size", "1", log_name="serve-sigterm")
    try:
        late = grpc_client(s)
        assert late.is_server_live()  # its connection is open before SIGTERM

        # each client connects and builds its input first, then all 12 send at once: on a loaded machine clients
        # that connect one by one can each be answered before the last one sends, and never be 12 under way
        ready = threading.Barrier(12)

        def rest(_):
            client = httpclient.InferenceServerClient(f"127.0.0.1:{s.http_port}", network_timeout=120)
            inputs = [jpeg_input(httpclient, count=4)]
            assert client.is_server_live()  # its connection is open
            ready.wait(60)
            return client.infer("lite0", inputs).as_numpy("prob")

        def grpc(_):
            client, inputs = grpc_client(s), [jpeg_input(grpcclient, count=4)]
            assert client.is_server_live()
            ready.wait(60)
            return client.infer("lite0", inputs).as_numpy("prob")

        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            futures = {"request": [pool.submit(rest, i) for i in range(6)]}
            futures["call"] = [pool.submit(grpc, i) for i in range(6)]
            wait_until_in_flight(s, 12, "requests and calls")
            s.proc.send_signal(signal.SIGTERM)
            refused = None
            deadline = time.time() + 30
            while refused is None and time.time() < deadline:  # a call sent before the hook ran is answered
                try:
                    late.infer("lite0", [jpeg_input(grpcclient)], client_timeout=60)
                    time.sleep(0.02)
                except InferenceServerException as e:
                    refused = e
            results = {kind: [f.result(timeout=120) for f in fs] for kind, fs in futures.items()}
        assert refused is not None and refused.status() == "StatusCode.UNAVAILABLE", refused
        for kind, rs in results.items():
            assert len(rs) == 6, kind
            for r in rs:
                assert r.shape == (4, 1000), kind
                for row in r:
                    np.testing.assert_allclose(row, ref["lite0_cat"][0], rtol=0, atol=1e-6)  # batch 4, see above
        assert s.proc.wait(60) == 143  # the JVM's exit on SIGTERM (128 + 15), after the shutdown hook ran
        with pytest.raises(OSError):
            s.get("/v2/health/live")
        with pytest.raises(InferenceServerException) as e:
            grpc_client(s).is_server_live()
        assert e.value.status() == "StatusCode.UNAVAILABLE"
        log = open(s.log_path).read()
        assert "every request answered" in log, log[-2000:]
    finally:
        s.stop()
