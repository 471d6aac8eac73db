"""What a Spark task runs before it imports mxport: the worker's environment, then the import, checked.

Spark ships the function a task runs (``mapInArrow``'s) pickled. A function of an importable module is pickled
by reference, so unpickling it in the worker imports that module first: with a worker Python that lacks mxport,
the task would die with a bare ``ModuleNotFoundError`` before any code of ours ran, and ``import mxport`` would
decide the thread rule (spec/RUNTIME.md) before we could tell it that Spark, not the user, set
``OMP_NUM_THREADS``. So this module is pickled **by value** (``register_pickle_by_value``) and imports nothing
of mxport at its top: its functions travel with the task, run first, and import mxport themselves.

Only the standard library here; the state a task receives is plain data (dicts, tuples, strings).
"""

import os
import sys

CODE = "WORKER_PYTHON"


def worker_python_message(executable, error):
    """The text of spec code WORKER_PYTHON: which Python the workers run, what failed, and the fix."""
    return (
        f"[{CODE}] Spark's Python workers run {executable}, which cannot import mxport ({error}). The workers "
        "run the Python named by spark.pyspark.python (or the PYSPARK_PYTHON environment variable; default "
        "python3 on the PATH), not the driver's. Set spark.pyspark.python to a Python that has mxport, mxnet "
        "and pyarrow, e.g. --conf spark.pyspark.python=/path/to/venv/bin/python (the same path on every "
        "node), or ship a packed venv with --archives venv.tar.gz#venv and --conf "
        "spark.pyspark.python=./venv/bin/python (spark/README.md)"
    )


def prepare(state):
    """Before mxport is imported in this worker: the thread count Spark asked for, on the rule's own path.

    PySpark gives every Python worker ``OMP_NUM_THREADS`` = ``spark.task.cpus`` unless the application sets
    ``spark.executorEnv.OMP_NUM_THREADS``. Left there, mxport's thread rule takes its environment branch (rule
    1), whose second OpenMP team on the caller's thread costs speed as soon as the count is above 1. When the
    driver saw no ``spark.executorEnv.OMP_NUM_THREADS``, the variable is Spark's, not the user's: it is removed
    before MXNet loads, and the rule then sets the task's cpus (or ``spark.mxport.threads``) on the engine
    worker. ``OPENBLAS_NUM_THREADS`` keeps Spark's cap for OpenBLAS. Nothing changes once MXNet is loaded.
    """
    if "mxnet" in sys.modules or "mxport" in sys.modules:
        return  # the rule is decided already in this process (spec/RUNTIME.md rule 4)
    if state.get("threads") and not os.environ.get("MXPORT_NUM_THREADS"):
        os.environ["MXPORT_NUM_THREADS"] = str(state["threads"])
    if not state.get("omp_from_spark"):
        return
    try:
        from pyspark import TaskContext

        task = TaskContext.get()
        cpus = str(task.cpus()) if task is not None else None
    except Exception:  # an older PySpark: leave the environment as it is
        cpus = None
    spark_value = os.environ.get("OMP_NUM_THREADS")
    if cpus is not None and spark_value == cpus:
        del os.environ["OMP_NUM_THREADS"]
        os.environ.setdefault("OPENBLAS_NUM_THREADS", cpus)


def run(state, batches):
    """The task of ``transform``: prepare, import mxport (failing with WORKER_PYTHON), score the batches."""
    prepare(state)
    try:
        from mxport.spark import _scoring
    except Exception as e:
        raise RuntimeError(worker_python_message(sys.executable, f"{type(e).__name__}: {e}")) from None
    return _scoring.score_state(state, batches)


def probe(state, _rows):
    """The check ``transform`` runs in one task before it returns: can this worker import what a task needs?"""
    prepare(state)
    try:
        import mxport  # noqa: F401  (mxnet and numpy with it)
        import pyarrow  # noqa: F401

        yield ("ok", sys.executable, mxport.__version__, repr(mxport.environment.applied()))
    except Exception as e:
        yield ("error", sys.executable, f"{type(e).__name__}: {e}", "")


def probe_arrow(state, batches):
    """``probe`` as a ``mapInArrow`` function (Spark Connect has no RDDs)."""
    for _ in batches:
        pass
    import pyarrow as pa

    for status, python, detail, threads in probe(state, None):
        yield pa.RecordBatch.from_pydict(
            {"status": [status], "python": [python], "detail": [detail], "threads": [threads]}
        )
