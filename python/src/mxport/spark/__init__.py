"""Score Spark DataFrames with an mxport model, in pure PySpark (``DataFrame.mapInArrow``, no py4j).

>>> from mxport.spark import transform
>>> images = spark.read.format("binaryFile").load("photos/")          # path, ..., content
>>> scored = transform(images, "/models/resnet18", batch_size=8)       # + prob: array<float>, mxport_error
>>> scored.select("path", "prob").show()

The behaviour (columns to inputs, images, batches and padding, the error column, options and their defaults,
threads) is spec/SPARK.md, shared with the Scala ``MxportTransformer``; ``spark/README.md`` shows how to run it
locally, from a venv, and on a cluster.

Works on classic Spark and on Spark Connect, whatever Scala build the cluster runs, because everything runs in
Python workers: the driver (or Connect client) reads the model's signature and builds the output schema; each
Python worker loads the model once (``mxport.load``) and keeps it for the tasks it serves.

The workers run the Python named by ``spark.pyspark.python`` (or ``PYSPARK_PYTHON``), not the driver's: before
it returns, ``transform`` runs one small task that imports mxport there, and fails with ``WORKER_PYTHON``
naming that Python and the fix when it cannot (once per application and worker Python).
"""

import functools
import inspect
import threading

from .._errors import MxportError
from . import _task
from ._plan import _plan, _schema

__all__ = ["transform", "output_schema", "check_workers"]

_checked = set()
_checked_lock = threading.Lock()


def _options(options):
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"unknown option(s) {unknown}; the options are {sorted(DEFAULTS)}")
    merged = dict(DEFAULTS)
    merged.update(options)
    return merged


def output_schema(df, model_uri, **options):
    """The schema :func:`transform` gives ``df`` (reads the model's signature only)."""
    return _schema(df.schema, _plan(df.schema, model_uri, **_options(options)))


def _conf(session, key):
    """A Spark conf value seen from the driver (classic or Connect), or None."""
    try:
        sc = getattr(session, "sparkContext", None)
        if sc is not None and not _is_connect(session):
            return sc.getConf().get(key)
    except Exception:
        pass
    try:
        return session.conf.get(key, None)
    except Exception:
        return None


def _is_connect(session):
    return type(session).__module__.startswith("pyspark.sql.connect")


def _worker_state(session):
    """What a task needs before it imports mxport (plain data, see ``_task``)."""
    threads = _conf(session, "spark.mxport.threads")
    if threads is not None and (not str(threads).strip().isdigit() or int(threads) < 1):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"spark.mxport.threads={threads!r} is not a positive integer; set it "
            "to the OpenMP thread count of each task, or unset it to use the task's spark.task.cpus",
        )
    return {
        "omp_from_spark": _conf(session, "spark.executorEnv.OMP_NUM_THREADS") is None,
        "threads": int(threads) if threads is not None else None,
    }


def _register_by_value():
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(_task)


def check_workers(session):
    """Runs one task that imports mxport in a Python worker; raises ``MxportError("WORKER_PYTHON")`` naming the
    workers' Python and the fix when it cannot. :func:`transform` calls it once per application and worker Python.

    Returns the worker's ``(python executable, mxport version, thread decision)``.
    """
    _register_by_value()
    state = _worker_state(session)
    executable = "python3"
    try:
        if _is_connect(session):
            rows = (
                session.range(1)
                .repartition(1)
                .mapInArrow(
                    functools.partial(_task.probe_arrow, state),
                    "status string, python string, detail string, threads string",
                )
                .collect()
            )
            status, executable, detail, threads = rows[0]
        else:
            sc = session.sparkContext
            executable = sc.pythonExec or executable
            status, executable, detail, threads = (
                sc.parallelize([0], 1).mapPartitions(functools.partial(_task.probe, state)).collect()[0]
            )
    except Exception as e:  # the worker did not even start: a missing interpreter, or one without pyspark
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise MxportError(
            "WORKER_PYTHON", _task.worker_python_message(executable, first[:500])[len("[WORKER_PYTHON] ") :]
        ) from None
    if status != "ok":
        raise MxportError("WORKER_PYTHON", _task.worker_python_message(executable, detail)[len("[WORKER_PYTHON] ") :])
    return executable, detail, threads


def _check_once(session):
    sc = None if _is_connect(session) else session.sparkContext
    key = (sc.applicationId, sc.pythonExec) if sc is not None else (id(session),)
    with _checked_lock:
        if key in _checked:
            return
    check_workers(session)
    with _checked_lock:
        _checked.add(key)


def transform(
    df,
    model_uri,
    *,
    batch_size=8,
    input_cols=None,
    output_cols=None,
    pad_tail=True,
    on_error="column",
    error_col="mxport_error",
    id_col=None,
    load_transforms=True,
    max_image_pixels=100_000_000,
    engine="mxnet",
):
    """Scores ``df`` with the mxport model at ``model_uri``; returns ``df`` with one column per model output.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
        Classic or Spark Connect.
    model_uri : str
        A model prefix: local path, ``file:``, ``sparkfiles:NAME`` or a ``pyarrow.fs`` URI (``hdfs://...``).
    batch_size : int
        Rows per native call.
    input_cols, output_cols : dict, optional
        ``{model input: column}`` and ``{model output: column}`` overrides of the by-name mapping.
    pad_tail : bool
        Pad short batches to ``batch_size`` (spec/SPARK.md).
    on_error : {"column", "fail"}
        A bad row's outcome: an error in ``error_col`` and null outputs, or a failed job naming the row.
    error_col : str
        The error column (``on_error="column"``).
    id_col : str, optional
        A column that names a row in failures; ``path`` when the DataFrame has it.
    load_transforms : bool
        False runs the network alone (its signature: ``read_signature(uri).network``).
    max_image_pixels : int
        Images with more pixels (width x height, read from the header) are bad rows.
    engine : {"mxnet", "onnxruntime", "openvino"}
        What each worker runs the model on: ``mxport.load(prefix, engine=...)`` (the model converted in memory;
        the workers' Python then needs ``mxport[onnxruntime]`` or ``mxport[openvino]``).

    Returns
    -------
    pyspark.sql.DataFrame
        ``df``'s columns, then the outputs (``array<float>`` etc.), then ``error_col``.

    Raises
    ------
    MxportError
        On the driver, before any scoring task: the model cannot be read, no column fits an input
        (spec codes), or the workers' Python cannot import mxport (``WORKER_PYTHON``).
    """
    options = {name: value for name, value in locals().items() if name in DEFAULTS}
    plan = _plan(df.schema, model_uri, **options)
    schema = _schema(df.schema, plan)
    session = df.sparkSession
    _check_once(session)
    state = dict(_worker_state(session), plan=plan.to_state())
    _register_by_value()
    return df.mapInArrow(functools.partial(_task.run, state), schema)


# transform's keyword options and their defaults, which output_schema shares
DEFAULTS = {name: p.default for name, p in inspect.signature(transform).parameters.items() if p.kind is p.KEYWORD_ONLY}
