"""The thread rule of spec/RUNTIME.md, each case in a fresh Python process (the rule is decided once per process)."""

import json
import os
import subprocess
import sys

import pytest
from mxnet_first import MXNET_FIRST

CORES = len(os.sched_getaffinity(0))
REPORT = """
import json, os, mxport._threads as t
d = t.decision()
worker = t._on_engine_workers(999, 1)  # the worker exists by now, so this only reads its count
print(json.dumps({"count": d.count, "reason": d.reason, "spin": d.spin, "worker": worker["before"],
                  "fresh": worker["fresh"], "spin_left": os.environ.get("GOMP_SPINCOUNT")}))
"""


def run(code, **env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "MXPORT_NUM_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
    }
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", code], env=dict(clean, **env), capture_output=True, text=True, cwd="/"
    )
    return done


def mxport_warnings(err):
    """mxport's own warnings in a child's stderr: each text starts with "mxport: " (file paths in MXNet's own
    warnings hold the word too when the clone's folder is named mxport)."""
    return [line for line in err.splitlines() if "Warning: mxport: " in line]


def report(prelude="", **env):
    done = run(prelude + "\nimport mxport\n" + REPORT, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_import_sets_every_core_on_a_new_engine_worker_with_a_short_spin():
    got, err = report()
    assert got == {
        "count": CORES,
        "reason": "set on a new engine worker",
        "spin": "3000",
        "worker": CORES,
        "fresh": False,
        "spin_left": None,
    }
    assert mxport_warnings(err) == []


@pytest.mark.parametrize("hook, spin", [("", "3000"), ("0", None)])
def test_mxnet_imported_first_but_no_operator_run_still_gets_every_core(hook, spin):
    """The short spin comes from the installed start-up hook (python/src/_mxport_hook.py) as MXNet loads; with
    the hook turned off, libgomp was loaded before mxport and its spin setting stands."""
    got, _ = report(
        MXNET_FIRST + "import mxnet as mx\nfrom mxnet import gluon\nnet = gluon.nn.Dense(3)", MXPORT_IMPORT_HOOK=hook
    )
    assert (got["count"], got["reason"], got["worker"]) == (CORES, "set on a new engine worker", CORES)
    assert (got["spin"], got["spin_left"]) == (spin, None)


@pytest.mark.parametrize(
    "before", ["(mx.nd.ones((2, 2)) + 1).asnumpy()", "x = mx.nd.array([1, 2])"]
)  # even a copy counts: the worker exists
def test_after_operators_ran_the_count_is_left_alone_and_the_fix_is_named_once(before):
    got, err = report(MXNET_FIRST + "import mxnet as mx\n" + before)
    assert got["count"] is None and got["reason"].startswith("MXNet had already run operators")
    assert got["worker"] == max(CORES // 2, 1)  # MXNet's own default: half the cores on x86
    assert err.count("RuntimeWarning") == 1 and len(mxport_warnings(err)) == 1
    assert f"import mxport before running MXNet operators, or set OMP_NUM_THREADS={CORES}" in err


def test_an_explicit_environment_count_wins_and_nothing_is_changed():
    got, _ = report(OMP_NUM_THREADS="1")
    assert (got["count"], got["reason"], got["spin"], got["worker"]) == (
        None,
        "the environment sets the thread count",
        None,
        1,
    )


def test_mxport_num_threads_requests_a_count():
    got, _ = report(MXPORT_NUM_THREADS="1")
    assert (got["count"], got["worker"]) == (1, 1)


@pytest.mark.parametrize("value", ["zero", "0", "-2", "1.5"])
def test_a_bad_mxport_num_threads_is_invalid_argument_naming_the_fix(value):
    done = run("import mxport", MXPORT_NUM_THREADS=value)
    assert done.returncode != 0
    assert "[INVALID_ARGUMENT] MXPORT_NUM_THREADS=" in done.stderr and "MXPORT_NUM_THREADS=2" in done.stderr


def test_a_call_waits_for_the_engine_push_lock_and_the_module_too(resnet):
    """spec/RUNTIME.md section 5: running a model pushes under one lock per process (two interleaved pushes can deadlock MXNet)."""
    import threading

    import mxnet as mx
    import numpy as np

    import mxport
    from mxport import _threads

    block = mxport.load(resnet)
    module = mxport.load_module(resnet, load_transforms=False)
    pixels = np.random.RandomState(3).randint(0, 256, (1, 40, 32, 3)).astype(np.uint8)
    batch = mx.io.DataBatch([mx.nd.array(np.random.RandomState(4).uniform(-1, 1, (1, 3, 224, 224)))])
    want_block = block(pixels).asnumpy()
    module.forward(batch)
    want_module = module.get_outputs()[0].asnumpy()
    for call, want in (
        (lambda: block(pixels).asnumpy(), want_block),
        (lambda: (module.forward(batch), module.get_outputs()[0].asnumpy())[1], want_module),
    ):
        got = {}
        worker = threading.Thread(target=lambda got=got, call=call: got.update(out=call()))
        with _threads.engine_push_lock:
            worker.start()
            worker.join(2)
            assert worker.is_alive(), "the call ran while another thread held the push lock"
        worker.join(120)
        assert np.array_equal(got["out"], want) and np.ptp(want) > 0


WORKERS_REPORT = """
import json, os, mxport._threads as t
d = t.decision()
seen = t._on_engine_workers(999, d.workers)  # the workers exist by now, so this only reads their counts
print(json.dumps({"count": d.count, "workers": d.workers, "each": sorted(c for _, c in seen["each"]),
                  "threads": len({tid for tid, _ in seen["each"]}), "fresh": seen["fresh"],
                  "left": os.environ.get("MXNET_CPU_WORKER_NTHREADS")}))
"""


def test_mxport_engine_workers_gives_each_worker_its_share_of_the_threads():
    """spec/RUNTIME.md rule 5: two workers, each with half the threads, set before MXNet loaded and then removed."""
    done = run("import mxport\n" + WORKERS_REPORT, MXPORT_ENGINE_WORKERS="2", MXPORT_NUM_THREADS="2")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got == {"count": 1, "workers": 2, "each": [1, 1], "threads": 2, "fresh": False, "left": None}


def test_the_users_worker_variable_wins_and_a_bad_request_is_invalid_argument():
    done = run("import mxport\n" + WORKERS_REPORT, MXNET_CPU_WORKER_NTHREADS="2", MXPORT_NUM_THREADS="2")
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert (got["workers"], got["each"], got["left"]) == (2, [1, 1], "2")
    done = run("import mxport", MXPORT_ENGINE_WORKERS="0")
    assert done.returncode != 0 and "[INVALID_ARGUMENT] MXPORT_ENGINE_WORKERS='0'" in done.stderr


def test_two_models_called_from_two_threads_on_two_workers_give_the_outputs_of_one(resnet):
    code = f"""
import hashlib, json, threading
import numpy as np
import mxport
pixels = np.random.RandomState(3).randint(0, 256, (1, 240, 320, 3)).astype(np.uint8)
blocks = [mxport.load({str(resnet)!r}) for _ in range(2)]
digest = lambda b: hashlib.sha256(b(pixels).asnumpy().tobytes()).hexdigest()
alone = digest(blocks[0])
seen = set()
start = threading.Barrier(2)
def work(block):
    start.wait()
    for _ in range(8):
        seen.add(digest(block))
threads = [threading.Thread(target=work, args=(b,)) for b in blocks]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({{"alone": alone, "seen": sorted(seen), "workers": mxport.environment.engine_workers()}}))
"""
    one = run(code, MXPORT_NUM_THREADS="1")
    two = run(code, MXPORT_ENGINE_WORKERS="2", MXPORT_NUM_THREADS="2")
    assert one.returncode == 0 and two.returncode == 0, one.stderr + two.stderr
    one, two = (json.loads(d.stdout.strip().splitlines()[-1]) for d in (one, two))
    assert (one["workers"], two["workers"]) == (1, 2)
    assert two["seen"] == [two["alone"]] == [one["alone"]]


def test_a_worker_variable_set_after_mxnet_loaded_warns_and_mxport_counts_the_workers_mxnet_has():
    """MXNet read MXNET_CPU_WORKER_NTHREADS as it loaded (unset: one worker); mxport waits for two, meets one."""
    done = run(
        MXNET_FIRST
        + "import os, mxnet\nos.environ['MXNET_CPU_WORKER_NTHREADS'] = '2'\nimport mxport\n"
        + WORKERS_REPORT,
        MXPORT_NUM_THREADS="2",
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert (got["workers"], got["threads"], got["count"]) == (1, 1, 1)
    assert "MXNet has 1 CPU engine worker(s), not the 2 of MXNET_CPU_WORKER_NTHREADS" in done.stderr


@pytest.mark.parametrize("hook, workers, count", [("0", 1, None), ("", 2, max(CORES // 2, 1))])
def test_workers_asked_for_after_mxnet_ran_and_a_model_still_runs(resnet, hook, workers, count):
    """Without the start-up hook (python/src/_mxport_hook.py) MXNet loaded with one worker: mxport warns, naming
    the fix, and leaves the count. With it, MXNet loaded with the two asked for, and each worker already had its
    share of the cores (MXNet's own default, half of them)."""
    code = (
        MXNET_FIRST + "import mxnet as mx\n(mx.nd.ones((2, 2)) + 1).asnumpy()\nimport mxport, numpy as np\n"
        f"out = mxport.load({str(resnet)!r})(np.zeros((1, 32, 32, 3), np.uint8)).asnumpy()\n"
        "assert out.shape == (1, 1000), out.shape\n" + WORKERS_REPORT
    )
    done = run(code, MXPORT_ENGINE_WORKERS="2", MXPORT_IMPORT_HOOK=hook)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert (got["workers"], got["threads"], got["count"]) == (workers, workers, count)
    warned = "MXPORT_ENGINE_WORKERS=2 is not applied: MXNet was loaded before mxport" in done.stderr
    assert warned == (workers == 1)
