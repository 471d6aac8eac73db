"""The thread rule of spec/RUNTIME.md, decided once per process at ``import mxport``.

MXNet runs CPU operators on an engine worker thread whose oneDNN operators cache primitives built for the
worker's OpenMP thread count; raising that count after an operator ran makes cached primitives run with more
threads than they were built for, which corrupts memory. So the count is set only on a worker that has run
nothing yet (one created for mxport's own call), and never afterwards. This module and ``_mx`` are the only
callers of MXNet's C API in the package.
"""

import ctypes
import os
import sys
import threading
import warnings

USER_VARIABLES = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")
REQUEST_VARIABLE = "MXPORT_NUM_THREADS"
WORKERS_REQUEST_VARIABLE = "MXPORT_ENGINE_WORKERS"  # spec/RUNTIME.md rule 7
WORKERS_VARIABLE = "MXNET_CPU_WORKER_NTHREADS"  # MXNet's own, read once as libmxnet loads
WORKER_ARRIVAL_SECONDS = 10
SPIN_VARIABLE = "GOMP_SPINCOUNT"
SPIN_COUNT = "3000"  # spec/RUNTIME.md rule 3; measured in benchmarks/RESULTS.md (contention table)

_lock = threading.Lock()
_decision = None  # set once: a Decision

# spec/RUNTIME.md section 5: held while mxport runs a model. A CachedOp or a bound Module pushes engine operations
# that write several variables every model shares (MXNet's four temporary-space resources per device); the
# engine queues an operation on its variables one at a time, so two such pushes from two threads can interleave
# and wait for each other forever. ctypes releases the GIL during the call, so Python threads race too. Freeing
# a model pushes such an operation as well (it writes every variable its operations used).
engine_push_lock = threading.RLock()  # re-entrant: a garbage collection inside a push may free a model


class Decision:
    """What the rule decided in this process: ``count`` set on each of the ``workers`` engine workers (or None),
    and ``reason``; ``outcome`` and the ``requested`` threads (all workers together) and workers, for
    ``mxport.environment``."""

    def __init__(self, count, reason, spin=None, workers=1, outcome=None, requested=None, requested_workers=1):
        self.count, self.reason, self.spin, self.workers = count, reason, spin, workers
        self.outcome, self.requested, self.requested_workers = outcome, requested, requested_workers

    def __repr__(self):
        return f"Decision(count={self.count!r}, reason={self.reason!r}, spin={self.spin!r}, workers={self.workers!r})"


NO_MXNET = "no_mxnet"  # the outcome where MXNet is not installed (spec/RUNTIME.md section 8)


def decision():
    """The rule's decision for this process (``import mxport`` made it)."""
    return _decision


def start():
    """What ``import mxport`` does first: where MXNet is installed, imports it (rules 3 and 7) and decides rule 4
    before the caller's first operator; where it is not, decides without it, and the calls that run on MXNet
    raise LIBRARY_NOT_FOUND naming the fix (spec/RUNTIME.md section 8). Returns whether MXNet is here."""
    if mxnet_installed():
        apply_once(spin=import_mxnet())
        return True
    apply_once(mxnet=False)
    return False


def mxnet_installed():
    """Whether ``import mxnet`` finds a package (imported or not): asked of the finders behind the start-up hook's
    own (which would remove itself if asked), so nothing is imported or changed."""
    if "mxnet" in sys.modules:
        return sys.modules["mxnet"] is not None  # None: imports of it are blocked
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if type(finder).__name__ != "MxnetFinder" and find is not None and find("mxnet", None) is not None:
            return True
    return False


def mxnet_here():
    """Whether this process runs on MXNet: False where ``import mxport`` found it not installed."""
    return _decision is None or _decision.outcome != NO_MXNET


def need_mxnet(call, instead=None):
    """For ``call``, which runs on MXNet: LIBRARY_NOT_FOUND naming the fix where MXNet is not installed
    (``_compat.mxnet_missing``; ``instead`` is the call's own argument that runs without it)."""
    if not mxnet_here():
        from ._compat import mxnet_missing

        raise mxnet_missing(call, instead)


def import_mxnet():
    """Imports mxnet; when this is the process's first OpenMP runtime, with the short spin-wait of rule 3 and the
    engine workers of rule 7 (MXPORT_ENGINE_WORKERS). Returns the spin it set, or None."""
    from ._compat import mxnet_failed_before, mxnet_missing, restore_what_mxnet_needs

    workers = wanted_workers()  # a bad request fails before MXNet loads
    failed_before = "mxnet" not in sys.modules and any(name.startswith("mxnet.") for name in sys.modules)
    restore_what_mxnet_needs()
    first = "mxnet" not in sys.modules and not _mapped("libmxnet") and not _mapped("libgomp")
    spin = first and not any(os.environ.get(v) for v in USER_VARIABLES + (SPIN_VARIABLE, "OMP_WAIT_POLICY"))
    set_workers = first and workers > 1 and WORKERS_VARIABLE not in os.environ
    if spin:
        os.environ[SPIN_VARIABLE] = SPIN_COUNT
    if set_workers:
        os.environ[WORKERS_VARIABLE] = str(workers)
    try:
        import mxnet  # noqa: F401  libgomp and libmxnet read the variables once, as they load
    except Exception as e:
        if isinstance(e, ModuleNotFoundError) and e.name == "mxnet":
            raise mxnet_missing() from None
        if failed_before:
            raise mxnet_failed_before(e) from None
        raise
    finally:  # child processes do not inherit them
        if spin:
            del os.environ[SPIN_VARIABLE]
        if set_workers:
            del os.environ[WORKERS_VARIABLE]
    hooked = _set_by_import_hook()
    global _workers
    if set_workers:
        _workers = workers
    else:  # the user's variable, or the hook's while MXNet loaded (MXNet imported before mxport)
        _workers = _positive(hooked.get(WORKERS_VARIABLE) or os.environ.get(WORKERS_VARIABLE, "")) or 1
    if workers != _workers:
        why = (
            f"{WORKERS_VARIABLE}={os.environ[WORKERS_VARIABLE]} is set"
            if WORKERS_VARIABLE in os.environ
            else "MXNet was loaded before mxport"
        )
        warnings.warn(
            f"mxport: {WORKERS_REQUEST_VARIABLE}={workers} is not applied: {why}; MXNet runs {_workers} "
            f"CPU engine worker(s). Fix: set {WORKERS_VARIABLE}={workers} before the process starts, or "
            "import mxport before mxnet.",
            RuntimeWarning,
            stacklevel=3,
        )
    return SPIN_COUNT if spin and _mapped("libgomp") else hooked.get(SPIN_VARIABLE)


def _set_by_import_hook():
    """What the wheel's start-up hook (``_mxport_hook``, spec/RUNTIME.md rule 3) set while MXNet loaded: it covers
    ``import mxnet`` before ``import mxport``."""
    hook = sys.modules.get("_mxport_hook")
    return dict(getattr(hook, "applied", {}))


_workers = 1  # MXNet's CPU engine workers in this process, known once import_mxnet ran


def _positive(text):
    text = text.strip()
    return int(text) if text.isdigit() and int(text) >= 1 else None


def wanted_workers():
    """The engine workers of rule 7: MXPORT_ENGINE_WORKERS, else 1."""
    from ._errors import MxportError

    requested = os.environ.get(WORKERS_REQUEST_VARIABLE, "").strip()
    if not requested:
        return 1
    if _positive(requested) is None:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"{WORKERS_REQUEST_VARIABLE}={requested!r} is not a positive integer; "
            f"set it to the number of calls MXNet should compute at once, e.g. "
            f"{WORKERS_REQUEST_VARIABLE}=2, or unset it for one (the default)",
        )
    return int(requested)


def wanted_count():
    """The count of rule 2: MXPORT_NUM_THREADS, else a PySpark task's cpus, else the cores this process may use."""
    from ._errors import MxportError

    requested = os.environ.get(REQUEST_VARIABLE, "").strip()
    if requested:
        if _positive(requested) is None:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"{REQUEST_VARIABLE}={requested!r} is not a positive integer; "
                f"set it to the number of threads MXNet should compute with, e.g. "
                f"{REQUEST_VARIABLE}=2, or unset it to use every core",
            )
        return int(requested)
    if "pyspark" in sys.modules:  # a PySpark worker runs one task per cpu slot: use the task's share
        try:
            from pyspark import TaskContext

            task = TaskContext.get()
            if task is not None and task.cpus():
                return int(task.cpus())
        except Exception:  # not a worker, or an older pyspark: fall through to the cores
            pass
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def apply_once(spin=None, mxnet=True):
    """Decides rule 4 once per process and returns the Decision (``mxnet=False``: MXNet is not installed, no
    engine worker to set; the settings are still checked, and the ONNX engines read the count)."""
    global _decision
    with _lock:
        if _decision is not None:
            return _decision
        workers = _workers
        asked = {"requested_workers": wanted_workers()}
        if not mxnet:
            asked["requested"] = wanted_count()
            _decision = Decision(None, "MXNet is not installed", None, 0, NO_MXNET, **asked)
            return _decision
        if any(os.environ.get(v) for v in USER_VARIABLES):
            _decision = Decision(None, "the environment sets the thread count", spin, workers, "environment", **asked)
            return _decision
        asked["requested"] = wanted_count()
        count = max(1, asked["requested"] // workers)
        seen = _on_engine_workers(count, workers)
        workers = seen["workers"]
        if seen["fresh"]:
            _decision = Decision(count, "set on a new engine worker", spin, workers, "applied", **asked)
        elif seen["before"] == count:
            _decision = Decision(
                count, "the engine worker already had this count", spin, workers, "already_set", **asked
            )
        else:
            _decision = Decision(
                None,
                f"MXNet had already run operators at {seen['before']} thread(s)",
                spin,
                workers,
                "not_applied",
                **asked,
            )
            warnings.warn(
                f"mxport: MXNet already ran operators in this process with {seen['before']} OpenMP thread(s); "
                f"mxport leaves that count alone (raising it now would corrupt memory, spec/RUNTIME.md). To compute "
                f"with {count}: import mxport before running MXNet operators, or set OMP_NUM_THREADS={count} "
                "before the process starts.",
                RuntimeWarning,
                stacklevel=2,
            )
        return _decision


class _Context(ctypes.Structure):
    _fields_ = [("dev_type", ctypes.c_int), ("dev_id", ctypes.c_int)]


_SyncFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
_keep = []  # the callbacks pushed: MXNet's engine may still return through them after they signalled


def _on_engine_workers(count, workers):
    """One callback per CPU(0) engine worker (each waits until all have started, so no worker runs two): sets
    ``count`` on a worker only when it was created for these calls. Returns what they saw: ``fresh`` (all were),
    ``before`` (the first one's count) and ``each`` (thread id and count per worker)."""
    from mxnet.base import _LIB, check_call

    omp_get_max_threads = _libgomp().omp_get_max_threads
    threads_before = set(os.listdir("/proc/self/task"))
    arrived = threading.Barrier(workers)
    finished = threading.Semaphore(0)
    views = []

    def on_worker(_run_ctx, _param):
        try:
            view = {"thread": threading.get_native_id(), "count": omp_get_max_threads()}
            view["fresh"] = str(view["thread"]) not in threads_before
            if view["fresh"]:
                _LIB.MXSetNumOMPThreads(ctypes.c_int(count))
            try:
                arrived.wait(WORKER_ARRIVAL_SECONDS)
            except threading.BrokenBarrierError:  # fewer workers than expected: one ran two callbacks
                pass
            views.append(view)
        finally:
            finished.release()

    callbacks = [_SyncFn(on_worker) for _ in range(workers)]
    _keep.extend(callbacks)
    cpu = _Context(1, 0)
    for callback in callbacks:
        check_call(
            _LIB.MXEnginePushSync(
                callback,
                None,
                None,
                ctypes.byref(cpu),
                None,
                0,
                None,
                0,
                None,
                0,
                ctypes.c_char_p(b"mxport_thread_rule"),
            )
        )
    for _ in callbacks:  # our callbacks only: mx.nd.waitall() would raise other work's failure (spec/RUNTIME.md)
        finished.acquire()
    met = len({v["thread"] for v in views})
    if met != workers:  # MXNET_CPU_WORKER_NTHREADS set after MXNet loaded: it has fewer workers
        warnings.warn(
            f"mxport: MXNet has {met} CPU engine worker(s), not the {workers} of {WORKERS_VARIABLE}: was it "
            "set after MXNet loaded? Set it before the process starts.",
            RuntimeWarning,
            stacklevel=2,
        )
    return {
        "fresh": all(v["fresh"] for v in views),
        "before": views[0]["count"],
        "workers": met,
        "each": [(v["thread"], v["count"]) for v in views],
    }


def _libgomp():
    """The OpenMP runtime libmxnet uses (already loaded: never a second copy)."""
    path = _mapped("libgomp") or "libgomp.so.1"
    return ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)


def _mapped(name):
    """The path of a mapped library whose file name starts with ``name``, or None."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                slash = line.find("/")
                if slash >= 0 and os.path.basename(line.rstrip()).startswith(name):
                    return line[slash:].rstrip()
    except OSError:
        return None
    return None
