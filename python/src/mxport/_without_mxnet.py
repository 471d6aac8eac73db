"""``mxport.export`` and ``mxport.optimize`` where MXNet is not installed: both write MXNet graphs with MXNet, so
here each raises LIBRARY_NOT_FOUND naming the fix (spec/RUNTIME.md section 8). Where MXNet is installed,
``import mxport`` takes them from ``_export`` instead."""

from . import _threads


def export(*args, **kwargs):
    """Exports a Gluon network as an mxport model: runs on MXNet, which is not installed here (LIBRARY_NOT_FOUND)."""
    _threads.need_mxnet("mxport.export")


def optimize(*args, **kwargs):
    """Writes an optimised copy of an mxport model: runs on MXNet, which is not installed here (LIBRARY_NOT_FOUND)."""
    _threads.need_mxnet("mxport.optimize")
