"""mxport.environment: what ``import mxport`` applied, read back, each case in a fresh Python process (the rule of
spec/RUNTIME.md is decided once per process)."""

import json
import os
import subprocess
import sys

from mxnet_first import MXNET_FIRST

CORES = len(os.sched_getaffinity(0))
REPORT = """
import dataclasses, json, mxport, mxnet.libinfo
env = mxport.environment
print(json.dumps({"applied": dataclasses.asdict(env.applied()), "threads": env.threads(),
                  "workers": env.engine_workers(), "path": env.library_path(),
                  "mxnet": mxnet.libinfo.find_lib_path()[0]}))
"""
VARIABLES = (
    "OMP_NUM_THREADS",
    "MXNET_OMP_MAX_THREADS",
    "MXPORT_NUM_THREADS",
    "MXPORT_ENGINE_WORKERS",
    "MXNET_CPU_WORKER_NTHREADS",
    "GOMP_SPINCOUNT",
    "OMP_WAIT_POLICY",
)


def report(prelude="", **env):
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", prelude + REPORT],
        env=dict(clean, **env),
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_requested_threads_are_shared_out_among_the_requested_workers():
    got = report(MXPORT_NUM_THREADS="2", MXPORT_ENGINE_WORKERS="2")
    assert got["applied"] == {
        "outcome": "applied",
        "threads": 1,
        "requested_threads": 2,
        "engine_workers": 2,
        "requested_engine_workers": 2,
        "spin_count": "3000",
        "reason": "set on a new engine worker",
        "library_path": got["mxnet"],
    }
    assert (got["threads"], got["workers"]) == (1, 2)
    assert os.path.samefile(got["path"], got["mxnet"])


def test_by_default_every_core_on_one_worker():
    got = report()
    assert (got["applied"]["outcome"], got["threads"], got["workers"]) == ("applied", CORES, 1)
    assert got["applied"]["requested_threads"] == CORES


def test_the_environment_s_count_wins_and_nothing_is_applied():
    got = report(OMP_NUM_THREADS="1", MXPORT_NUM_THREADS="2")
    assert (got["applied"]["outcome"], got["threads"], got["applied"]["requested_threads"]) == (
        "environment",
        None,
        None,
    )
    assert got["applied"]["spin_count"] is None


def test_operators_run_before_import_leave_the_count_with_the_reason():
    got = report(MXNET_FIRST + "import mxnet as mx\n(mx.nd.ones((2, 2)) + 1).asnumpy()\n")
    assert (got["applied"]["outcome"], got["threads"]) == ("not_applied", None)
    assert got["applied"]["reason"].startswith("MXNet had already run operators")
    assert got["applied"]["requested_threads"] == CORES


STALE = """
import hashlib, struct, zlib
import numpy as np
import mxnet as mx

def png(h, w):
    rows = np.random.RandomState(3).randint(0, 256, (h, w * 3)).astype(np.uint8)
    raw = b"".join(b"\\x00" + row.tobytes() for row in rows)
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

if {stale}:
    data = png(48, 64)
    unwaited = mx.image.imdecode(data[: len(data) // 2])  # the user's own work: fails on the engine, not waited for
import mxport
pixels = np.random.RandomState(7).randint(0, 256, (1, 240, 320, 3)).astype(np.uint8)
print("OUTPUT", hashlib.sha256(mxport.load({model!r})(pixels).asnumpy().tobytes()).hexdigest())
try:
    mx.nd.waitall()
    print("STALE none")
except mx.base.MXNetError as e:
    print("STALE", "Decoding failed" in str(e))
"""


def test_a_failure_of_the_user_s_unwaited_mxnet_work_is_not_raised_by_import_mxport(resnet):
    """spec/RUNTIME.md rule 4: the rule waits for its own callbacks only; the user's failure stays the user's."""
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    done = [
        subprocess.run(
            [sys.executable, "-c", MXNET_FIRST + STALE.format(stale=stale, model=str(resnet))],
            env=clean,
            capture_output=True,
            text=True,
            cwd="/",
        )
        for stale in (True, False)
    ]
    assert done[0].returncode == 0 and done[1].returncode == 0, done[0].stderr[-3000:] + done[1].stderr[-3000:]
    stale, fresh = (dict(line.split(" ", 1) for line in d.stdout.strip().splitlines()) for d in done)
    assert stale["OUTPUT"] == fresh["OUTPUT"], "the model's outputs equal a fresh process's"
    assert (stale["STALE"], fresh["STALE"]) == ("True", "none"), "the user's own wait still raises the failure"
