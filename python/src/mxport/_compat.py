"""What MXNet 1.9.1 needs from numpy and Python that newer releases removed, put back before mxport imports MXNet.

>>> import mxport          # or after `import mxnet`: the start-up hook applies these first (RUNTIME.md section 7)
>>> import mxnet as mx     # works: numpy.bool and distutils are there

MXNet 1.9.1 uses the alias ``numpy.bool`` (numpy 1.24 removed it) and imports ``distutils.version`` (Python 3.12
removed ``distutils``; setuptools carries a copy). With numpy 2 it also reads, as it imports, the names numpy 2.0
removed that ``NUMPY_2_REMOVED`` lists. Each is restored only where it is missing, so nothing changes on Python
3.10/3.11 with numpy 1.23.

This module imports nothing of mxport at its top, so that a program that must import MXNet before mxport can load
this file on its own and apply the same fixes (python/tests/mxnet_first.py does).
"""

import importlib.util
import os
import sys
import warnings

restored = []  # what restore_what_mxnet_needs added in this process: "numpy.bool", "distutils", "numpy.PZERO", ...


def _removed_in_numpy(name, replacement):
    def removed(*args, **kwargs):
        raise AttributeError(f"numpy.{name} was removed from numpy; use {replacement}")

    removed.__name__ = name
    return removed


def numpy_2_removed(numpy):
    """Every name numpy 2.0 removed that MXNet 1.9.1 reads as it imports (mxnet/numpy/utils.py, mxnet/numpy/
    fallback.py, mxnet/numpy_dispatch_protocol.py), with what it was: the constants and aliases as they were in
    numpy 1.26; the financial functions (gone since numpy 1.20, MXNet only lists them) raise, as numpy 1.26 did."""
    return {
        "PZERO": 0.0,
        "NZERO": -0.0,
        "PINF": float("inf"),
        "NINF": float("-inf"),
        "NAN": float("nan"),
        "NaN": float("nan"),
        "Inf": float("inf"),
        "alltrue": numpy.all,
        "sometrue": numpy.any,
        "product": numpy.prod,
        "round_": numpy.round,
        "msort": lambda a: numpy.sort(a, axis=0),
        **{name: _removed_in_numpy(name, "numpy_financial") for name in ("mirr", "npv", "pmt", "ppmt", "pv", "rate")},
    }


def restore_what_mxnet_needs():
    """Adds ``numpy.bool``, the names of ``numpy_2_removed`` and an importable ``distutils`` where they are
    missing. Returns what it added."""
    import numpy

    added = []
    with warnings.catch_warnings():  # numpy 1.20-1.26 warn on some of these names: they exist there, leave them
        warnings.simplefilter("ignore")
        has_bool = hasattr(numpy, "bool")
        missing = {n: v for n, v in numpy_2_removed(numpy).items() if not hasattr(numpy, n)}
    if not has_bool:
        numpy.bool = bool  # what the alias was: MXNet passes it as a dtype
        added.append("numpy.bool")
    for name, value in missing.items():
        setattr(numpy, name, value)
        added.append(f"numpy.{name}")
    if "distutils" not in sys.modules and importlib.util.find_spec("distutils") is None:
        _load_setuptools_distutils()
        added.append("distutils")
    restored.extend(added)
    return added


def _load_setuptools_distutils():
    """setuptools' copy of distutils as ``distutils``, loaded from its folder: importing the setuptools package
    itself would fail here (it imports distutils)."""
    setuptools = importlib.util.find_spec("setuptools")
    folder = os.path.join(os.path.dirname(setuptools.origin), "_distutils") if setuptools else None
    if folder is None or not os.path.isfile(os.path.join(folder, "__init__.py")):
        from ._errors import MxportError

        raise MxportError(
            "LIBRARY_NOT_FOUND",
            f"MXNet 1.9.1 imports distutils, which Python "
            f"{sys.version_info.major}.{sys.version_info.minor} no longer has: install setuptools "
            "(pip install setuptools), which carries it",
        )
    spec = importlib.util.spec_from_file_location(
        "distutils", os.path.join(folder, "__init__.py"), submodule_search_locations=[folder]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["distutils"] = module  # its submodules (distutils.version) then load from its folder
    spec.loader.exec_module(module)


def mxnet_failed_before(error):
    """The error for ``import mxnet`` failing inside mxport after the user's own ``import mxnet`` had failed (it
    ran without these fixes and left half-imported modules behind)."""
    from ._errors import MxportError

    return MxportError(
        "LIBRARY_NOT_FOUND",
        f"MXNet cannot be imported ({type(error).__name__}: {error}); it was "
        f"imported before mxport and failed on Python {sys.version_info.major}."
        f"{sys.version_info.minor} (MXNet 1.9.1 needs numpy.bool, distutils and, with numpy 2, names numpy 2 "
        "removed, which mxport restores before it imports MXNet). Fix: put `import mxport` before `import mxnet`, in a new process",
    )


def mxnet_wheel_here():
    """Whether MXNet 1.9.1 has a wheel that mxport runs on for this Python: Linux x86-64, Python 3.10 to 3.13 (the
    environment marker of the package's mxnet requirement; spec/RUNTIME.md section 8)."""
    import platform

    return sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info < (3, 14)


def mxnet_missing(call="import mxport", instead=None):
    """LIBRARY_NOT_FOUND for ``call``, which runs on MXNet, where MXNet is not installed (spec/RUNTIME.md section
    8). The fix names the install command where MXNet 1.9.1 has a wheel mxport runs on (on Python 3.13 without its
    declared dependencies: its numpy<2 has no wheel there, mxport restores what MXNet needs from numpy 2), then
    what runs without MXNet: ``instead``, an ``(argument, value, after)`` the call takes (``("engine",
    "onnxruntime", ...)``), else the ONNX engines on an ``.onnx`` file."""
    import platform

    from ._errors import Fix, MxportError

    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    if not mxnet_wheel_here():
        before = (
            f"MXNet 1.9.1 has no wheel mxport runs on for {platform.system()} {platform.machine()} with Python {python} "
            "(only Linux x86-64, Python 3.10 to 3.13), so "
        )
    elif sys.version_info >= (3, 13):
        before = (
            "pip install --no-deps mxnet==1.9.1 (--no-deps: MXNet declares numpy<2, which has no wheel for Python "
            f"{python}; mxport restores what MXNet 1.9.1 needs from numpy 2), or "
        )
    else:
        before = "pip install mxnet==1.9.1, or "
    problem = f"{call} runs on MXNet, which is not installed in this Python ({python})"
    if instead is None:
        return MxportError("LIBRARY_NOT_FOUND", problem, Fix.text(before + WITHOUT_MXNET))
    name, value, after = instead
    return MxportError("LIBRARY_NOT_FOUND", problem, Fix.argument(name, value, before=before, after=after))


# what the fix of mxnet_missing says runs without MXNet, when the call itself has no argument for it
WITHOUT_MXNET = (
    "without MXNet run an ONNX file that mxport.export_onnx wrote where MXNet is installed: "
    "mxport.load('model.onnx', engine='onnxruntime') (or 'openvino')"
)
