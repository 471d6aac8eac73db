"""Loading after MXNet has run must neither crash nor change a bit (spec/RUNTIME.md): every order users have,
each in a fresh process, against a process that only loads.

Each order runs MXPORT_ORDER_RUNS times (20 by default); the Spark order, which starts a Spark of its own each time
(about 20 s), MXPORT_ORDER_SPARK_RUNS times (2 by default); the JVM-first order (a JVM, then a Gluon net)
MXPORT_ORDER_JVM_FIRST_RUNS times (3 by default). `make test` (its test-integration) runs every order once,
`make test-orders` every order 20 times, Spark and JVM-first included. The same orders with the rule the first
release had (the count raised at load) ended in glibc "double free or corruption" / "munmap_chunk(): invalid
pointer" 6 times out of 6."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import classpath

HERE = os.path.dirname(os.path.abspath(__file__))
RUNS = int(os.environ.get("MXPORT_ORDER_RUNS", "20"))
SPARK_RUNS = int(os.environ.get("MXPORT_ORDER_SPARK_RUNS", "2"))
JVM_FIRST_RUNS = int(os.environ.get("MXPORT_ORDER_JVM_FIRST_RUNS", "3"))  # a JVM and a Gluon net each time
EXPECTED = {  # what each scenario's answers are, in order: the end-to-end mobilenet or the second model
    "import_late_after_eager": ["model"],
    "eager_then_load": ["model"],
    "hybrid_export_then_load": ["model"],
    "module_then_load": ["model"],
    "python_ops_then_jvm": ["model", "model", "model"],
    "jvm_then_python_ops": ["model", "model", "model"],
    "two_models_at_different_times": ["model", "second", "model"],
    "spark_worker_after_user_ops": ["model"],
    "python_ops_without_mxport_then_jvm": ["model", "model"],
    "jvm_first_then_gluon": ["model", "model", "model"],
    "mxnet_first_then_load": ["model"],
    "mxport_first_then_load": ["model"],
}
# the thread rule's own variables (and the hook's switch) are the scenarios' to decide
UNSET = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "MXPORT_IMPORT_HOOK")


def scenario(name, work):
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env["MXPORT_IT_CLASSPATH"] = classpath()
    return subprocess.run(
        [sys.executable, os.path.join(HERE, "orders.py"), name, str(work)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    folder = tmp_path_factory.mktemp("orders")
    for step in ("make_model", "only_load"):
        done = scenario(step, folder)
        assert done.returncode == 0, done.stderr
    return folder


@pytest.fixture(scope="module")
def reference(work):
    answers = {"model": np.load(work / "only_load-0.npy"), "second": np.load(work / "only_load-1.npy")}
    for name, array in answers.items():  # a degenerate reference would make every comparison pass
        assert np.abs(array).max() > 1.0 and array.std() > 0.1, (name, np.abs(array).max())
    return answers


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_run_of_the_order_gives_the_only_load_answers_bit_for_bit(name, work, reference):
    runs = SPARK_RUNS if name.startswith("spark") else JVM_FIRST_RUNS if name.startswith("jvm_first") else RUNS
    for run in range(runs):
        for stale in work.glob(f"{name}-*.npy"):
            stale.unlink()
        done = scenario(name, work)
        assert done.returncode == 0, f"run {run + 1}/{runs} of {name} ended with {done.returncode}:\n{done.stderr}"
        for i, which in enumerate(EXPECTED[name]):
            got = np.load(work / f"{name}-{i}.npy")
            assert got.dtype == reference[which].dtype and np.array_equal(got, reference[which]), (
                f"run {run + 1}/{runs} of {name}, answer {i} ({which}): max difference "
                f"{np.abs(got.astype('float64') - reference[which]).max()}"
            )
