"""mxport's process-wide settings in this process, and what was applied (spec/RUNTIME.md): the twin of Java's
``io.mxport.Environment``.

>>> import mxport.environment
>>> mxport.environment.threads()          # OpenMP threads of each MXNet CPU engine worker; None: mxport left them
>>> mxport.environment.engine_workers()   # how many calls compute at once (one per loaded block)
>>> mxport.environment.library_path()     # the libmxnet.so this process runs on
>>> mxport.environment.onnx_threads()     # threads of each ONNX Runtime session / OpenVINO model (load(engine=...))
>>> print(mxport.environment.applied())   # all of it, with what was requested and the reason

Python decides once, at ``import mxport``, before the caller's first operator: the settings are the environment
variables read then, ``MXPORT_NUM_THREADS`` (the threads, all workers together; default every core the process
may run on, or a PySpark task's cpus) and ``MXPORT_ENGINE_WORKERS`` (default 1); ``OMP_NUM_THREADS`` or
``MXNET_OMP_MAX_THREADS``, when set, wins (mxport changes no thread count), and ``MXNET_CPU_WORKER_NTHREADS``
over the workers. Set them before ``import mxport``: nothing changes afterwards, since changing MXNet's thread
count after an operator ran corrupts memory. Java sets the same through ``io.mxport.Environment`` (or the system
properties ``mxport.threads``, ``mxport.engineWorkers``, ``mxport.library.path``). The ONNX engines
(``mxport.load(..., engine="onnxruntime" | "openvino")``) compute with ``onnx_threads()`` threads each, from the
same ``MXPORT_NUM_THREADS`` (spec/RUNTIME.md section 6, rule 4).
"""

from dataclasses import dataclass

from . import _threads

__all__ = ["Applied", "applied", "threads", "engine_workers", "library_path", "onnx_threads"]

OUTCOMES = ("environment", "applied", "already_set", "not_applied", "no_mxnet")


@dataclass(frozen=True)
class Applied:
    """What was applied at ``import mxport``: Java's ``Environment.Applied``, with Python's names.

    ``outcome`` is one of ``environment`` (``OMP_NUM_THREADS`` or ``MXNET_OMP_MAX_THREADS`` is set: nothing
    changed), ``applied`` (set on new engine workers), ``already_set`` (the workers had the count, e.g. from Java
    in this process), ``not_applied`` (MXNet had run operators with another count: left alone, with a warning
    naming the fix), ``no_mxnet`` (MXNet is not installed: no worker, ``engine_workers`` 0; the ONNX engines
    compute with ``onnx_threads()``, spec/RUNTIME.md section 8). ``threads`` is each worker's OpenMP count as
    mxport left it (None when it changed nothing);
    ``requested_threads`` what it was asked for, all workers together (None when the environment decides).
    """

    outcome: str
    threads: object  # int or None
    requested_threads: object  # int or None
    engine_workers: int
    requested_engine_workers: int
    spin_count: object  # "3000" when libgomp was loaded with mxport's short spin-wait, else None
    reason: str
    library_path: str


def applied():
    """What was applied at ``import mxport`` (an :class:`Applied`)."""
    d = _threads.decision()
    return Applied(
        outcome=d.outcome,
        threads=d.count,
        requested_threads=d.requested,
        engine_workers=d.workers,
        requested_engine_workers=d.requested_workers,
        spin_count=d.spin,
        reason=d.reason,
        library_path=library_path(),
    )


def threads():
    """The OpenMP threads of each MXNet CPU engine worker as mxport left them, or None when it changed nothing."""
    return _threads.decision().count


def engine_workers():
    """MXNet's CPU engine workers in this process: how many blocks compute at once (0 without MXNet)."""
    return _threads.decision().workers


def library_path():
    """The path of the libmxnet.so this process runs on (None without MXNet)."""
    return _threads._mapped("libmxnet")


_onnx_threads = []


def onnx_threads():
    """The intra-op threads of each ONNX Runtime session and OpenVINO compiled model that ``mxport.load(...,
    engine=...)`` makes: ``MXPORT_NUM_THREADS``, else a PySpark task's cpus, else every core this process may run
    on (the count MXNet is asked for, rule 2; ``OMP_NUM_THREADS`` is MXNet's and OpenMP's, not theirs). Read
    once, at the first call."""
    with _threads._lock:
        if not _onnx_threads:
            _onnx_threads.append(_threads.wanted_count())
        return _onnx_threads[0]
