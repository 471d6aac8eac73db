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
    """What the rule decided in this process: ``count`` set on the worker (or None) and ``reason``."""

    def __init__(self, count, reason, spin=None):
        self.count, self.reason, self.spin = count, reason, spin

    def __repr__(self):
        return f"Decision(count={self.count!r}, reason={self.reason!r}, spin={self.spin!r})"


def decision():
    """The rule's decision for this process (``import mxport`` made it)."""
    return _decision


def import_mxnet():
    """Imports mxnet; when this is the process's first OpenMP runtime, with the short spin-wait of rule 3."""
    if "mxnet" in sys.modules or _mapped("libgomp") or any(os.environ.get(v) for v in
                                                           USER_VARIABLES + (SPIN_VARIABLE, "OMP_WAIT_POLICY")):
        import mxnet
        return None
    os.environ[SPIN_VARIABLE] = SPIN_COUNT
    try:
        import mxnet  # noqa: F401  libgomp reads the variable once, as it loads
    finally:
        del os.environ[SPIN_VARIABLE]  # child processes do not inherit it
    return SPIN_COUNT if _mapped("libgomp") else None


def wanted_count():
    """The count of rule 2: MXPORT_NUM_THREADS, else a PySpark task's cpus, else the cores this process may use."""
    from ._errors import MxportError
    requested = os.environ.get(REQUEST_VARIABLE, "").strip()
    if requested:
        if not requested.isdigit() or int(requested) < 1:
            raise MxportError("INVALID_ARGUMENT", f"{REQUEST_VARIABLE}={requested!r} is not a positive integer; "
                              f"set it to the number of threads MXNet should compute with, e.g. "
                              f"{REQUEST_VARIABLE}=2, or unset it to use every core")
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


def apply_once(spin=None):
    """Decides rule 4 once per process and returns the Decision."""
    global _decision
    with _lock:
        if _decision is not None:
            return _decision
        if any(os.environ.get(v) for v in USER_VARIABLES):
            _decision = Decision(None, "the environment sets the thread count", spin)
            return _decision
        count = wanted_count()
        seen = _on_engine_worker(count)
        if seen["fresh"]:
            _decision = Decision(count, "set on a new engine worker", spin)
        elif seen["before"] == count:
            _decision = Decision(count, "the engine worker already had this count", spin)
        else:
            _decision = Decision(None, f"MXNet had already run operators at {seen['before']} thread(s)", spin)
            warnings.warn(
                f"mxport: MXNet already ran operators in this process with {seen['before']} OpenMP thread(s); "
                f"mxport leaves that count alone (raising it now would corrupt memory, spec/RUNTIME.md). To compute "
                f"with {count}: import mxport before running MXNet operators, or set OMP_NUM_THREADS={count} "
                "before the process starts.", RuntimeWarning, stacklevel=2)
        return _decision


class _Context(ctypes.Structure):
    _fields_ = [("dev_type", ctypes.c_int), ("dev_id", ctypes.c_int)]


_SyncFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


def _on_engine_worker(count):
    """Runs on MXNet's CPU(0) engine worker: sets ``count`` there only when the worker was created for this call."""
    import mxnet as mx
    from mxnet.base import _LIB, check_call

    omp_get_max_threads = _libgomp().omp_get_max_threads
    threads_before = set(os.listdir("/proc/self/task"))
    seen = {}

    def on_worker(_run_ctx, _param):
        seen["fresh"] = str(threading.get_native_id()) not in threads_before
        seen["before"] = omp_get_max_threads()
        if seen["fresh"]:
            _LIB.MXSetNumOMPThreads(ctypes.c_int(count))

    callback = _SyncFn(on_worker)
    cpu = _Context(1, 0)
    check_call(_LIB.MXEnginePushSync(callback, None, None, ctypes.byref(cpu), None, 0, None, 0, None, 0,
                                     ctypes.c_char_p(b"mxport_thread_rule")))
    mx.nd.waitall()  # the callback must run before it is freed
    return seen


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
