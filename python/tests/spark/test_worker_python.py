"""The workers' Python: WORKER_PYTHON when it lacks mxport, and the thread count Spark asked for (spec/SPARK.md)."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("pyspark", reason="pip install -e 'python[spark]' -c requirements-dev.txt")


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    bare = getattr(sys, "_base_executable", None)
    if (
        not bare
        or bare == sys.executable
        or subprocess.run([bare, "-c", "import mxport"], capture_output=True).returncode == 0
    ):
        pytest.skip("needs a Python of this version without mxport (this venv's base interpreter)")
    script = os.path.join(os.path.dirname(__file__), "worker_python.py")
    run = subprocess.run(
        [sys.executable, script, bare],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=str(tmp_path_factory.mktemp("worker-python")),
    )
    found = {}
    for line in run.stdout.splitlines():
        if line.startswith("CASE "):
            c = json.loads(line[5:])
            found[c["case"]] = c
    assert run.returncode == 0, run.stderr[-3000:]
    found["bare_python"] = bare
    return found


def test_a_worker_python_without_mxport_fails_before_any_task_naming_the_setting(cases):
    bare = cases["bare"]
    assert bare["code"] == "WORKER_PYTHON", bare
    message = bare["message"]
    assert message.startswith(
        f"[WORKER_PYTHON] Spark's Python workers run {cases['bare_python']}, which cannot "
        "import mxport (ModuleNotFoundError: No module named 'mxport')"
    ), message
    assert "spark.pyspark.python" in message and "PYSPARK_PYTHON" in message


def test_spark_s_omp_num_threads_gives_way_to_the_thread_rule(cases):
    # PySpark sets OMP_NUM_THREADS=spark.task.cpus in its workers; mxport sets that count on the engine worker
    assert "outcome='applied', threads=2," in cases["task_cpus_2"]["decision"]
    assert "reason='set on a new engine worker'" in cases["task_cpus_2"]["decision"]


def test_the_user_s_executor_env_wins(cases):
    assert "the environment sets the thread count" in cases["user_omp"]["decision"]
