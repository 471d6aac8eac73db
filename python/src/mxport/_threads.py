"""The thread rule: use every core the process may run on, unless the user chose a thread count.

MXNet 1.9.1 on x86 uses half the reported cores (it assumes hyper-threading), which on these 2-core machines
is one thread and 1.5-1.9x slower on ResNet-18. ``MXSetNumOMPThreads`` only sets the calling thread's
OpenMP count, but operators run on the engine's CPU worker thread, so mxport pushes that call onto the
engine. An explicit ``OMP_NUM_THREADS`` or ``MXNET_OMP_MAX_THREADS`` in the environment always wins.
"""

import ctypes
import os
import threading

_lock = threading.Lock()
_done = False
USER_VARIABLES = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")


def default_thread_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def apply_default_threads():
    """Applies the rule once per process; returns the count set, or None when the user's setting stands."""
    global _done
    with _lock:
        if _done:
            return None
        _done = True
        if any(os.environ.get(v) for v in USER_VARIABLES):
            return None
        count = default_thread_count()
        set_engine_threads(count)
        return count


class _Context(ctypes.Structure):
    _fields_ = [("dev_type", ctypes.c_int), ("dev_id", ctypes.c_int)]


_SyncFn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)


def set_engine_threads(count):
    """Sets the OpenMP thread count of the MXNet engine's CPU worker (and of this thread)."""
    import mxnet as mx
    from mxnet.base import _LIB, check_call

    check_call(_LIB.MXSetNumOMPThreads(ctypes.c_int(count)))

    def on_worker(_run_ctx, _param):
        _LIB.MXSetNumOMPThreads(ctypes.c_int(count))

    callback = _SyncFn(on_worker)
    cpu = _Context(1, 0)
    check_call(_LIB.MXEnginePushSync(callback, None, None, ctypes.byref(cpu), None, 0, None, 0, None, 0,
                                     ctypes.c_char_p(b"mxport_set_threads")))
    mx.nd.waitall()  # the callback must run before it is freed
