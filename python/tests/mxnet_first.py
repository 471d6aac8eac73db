"""The opening of a child process that imports mxnet before mxport on purpose, to test that order.

    done = subprocess.run([sys.executable, "-c", MXNET_FIRST + "import mxnet as mx\\nimport mxport\\n..."])

On Python 3.12+ (and with numpy 2) stock MXNet 1.9.1 imports only after what mxport's ``_compat`` restores
(spec/RUNTIME.md section 7). ``MXNET_FIRST`` applies those same fixes by loading ``mxport/_compat.py`` on its own,
without importing the mxport package, so mxport's thread rule still meets an MXNet that was imported first. Where
nothing is missing (Python 3.10/3.11 with numpy 1.23) it restores nothing.
"""

MXNET_FIRST = """
import importlib.util as _util, os as _os
_spec = _util.spec_from_file_location(
    "mxnet_first_fixes", _os.path.join(_os.path.dirname(_util.find_spec("mxport").origin), "_compat.py"))
_fixes = _util.module_from_spec(_spec)
_spec.loader.exec_module(_fixes)
_fixes.restore_what_mxnet_needs()
"""
