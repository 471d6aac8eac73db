"""MXNet 1.9.1 on Python 3.10 to 3.13: what mxport restores before it imports MXNet (spec/RUNTIME.md section 7),
each case in a fresh Python process."""

import json
import subprocess
import sys

import numpy as np
import pytest

NEW_PYTHON = sys.version_info >= (3, 12)
NUMPY = tuple(int(x) for x in np.__version__.split(".")[:2])
NUMPY_WITHOUT_BOOL = (1, 24) <= NUMPY < (2, 0)  # numpy 2.0 brought the name back, as numpy.bool_
NUMPY_2 = NUMPY >= (2, 0)

MODEL_RUNS = """
import mxnet as mx, numpy as np
from mxnet import gluon
net = gluon.nn.HybridSequential()
net.add(gluon.nn.Conv2D(4, 3), gluon.nn.Dense(3))
net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
net.hybridize()
out = net(mx.nd.array(np.arange(2 * 3 * 8 * 8, dtype="uint8").reshape(2, 3, 8, 8), dtype="uint8").astype("float32"))
pixels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1)
assert (mx.nd.array(pixels, dtype="uint8").asnumpy() == pixels).all()
print(json.dumps({"restored": mxport._compat.restored, "shape": out.shape}))
"""


def run(code, **env):
    import os

    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        cwd="/",
        env=dict(os.environ, **env),
    )
    return done


def test_import_mxport_then_mxnet_runs_a_hybridized_net_and_round_trips_uint8():
    done = run("import mxport\n" + MODEL_RUNS)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout.splitlines()[-1])
    assert got["shape"] == [2, 3]
    assert ("numpy.bool" in got["restored"]) == NUMPY_WITHOUT_BOOL  # only where numpy lacks the alias
    assert ("numpy.PZERO" in got["restored"]) == NUMPY_2  # one of the names numpy 2.0 removed


def test_distutils_is_restored_only_where_python_lacks_it():
    # setuptools' own start-up shim is switched off: mxport alone must make distutils importable on 3.12+
    done = run("import mxport\n" + MODEL_RUNS, SETUPTOOLS_USE_DISTUTILS="stdlib")
    assert done.returncode == 0, done.stderr
    assert ("distutils" in json.loads(done.stdout.splitlines()[-1])["restored"]) == NEW_PYTHON


@pytest.mark.skipif(not NEW_PYTHON, reason="on Python 3.10/3.11 with numpy 1.23, MXNet imports as it is")
def test_after_import_mxnet_failed_on_a_new_python_import_mxport_still_gives_a_working_mxnet():
    """With the start-up hook off (it would apply the fixes to `import mxnet` first: test_import_hook.py)."""
    done = run(
        "try:\n    import mxnet\nexcept AttributeError as e:\n    print('mxnet failed:', e)\n"
        "else:\n    raise SystemExit('MXNet imported without the fixes')\nimport mxport\n" + MODEL_RUNS,
        MXPORT_IMPORT_HOOK="0",
    )
    assert done.returncode == 0, done.stderr
    first_missing = "PZERO" if NUMPY_2 else "module 'numpy' has no attribute 'bool'"
    assert done.stdout.startswith("mxnet failed: ") and first_missing in done.stdout.splitlines()[0]


def test_when_mxnet_imported_before_mxport_failed_and_cannot_be_imported_again_the_error_names_the_fix():
    # what a failed `import mxnet` leaves behind: some of its modules; here one that cannot load again
    done = run("import sys\nsys.modules['mxnet.base'] = None\nimport mxport")
    assert done.returncode != 0
    assert "MxportError: [LIBRARY_NOT_FOUND] MXNet cannot be imported" in done.stderr
    assert "Fix: put `import mxport` before `import mxnet`, in a new process" in done.stderr


def test_without_mxnet_a_call_on_mxnet_is_library_not_found_naming_the_install_command():
    """On Python 3.13 the package does not pull MXNet in (spec/RUNTIME.md sections 7, 8): import mxport works, and a
    call that runs on MXNet names the fix (python/tests/test_without_mxnet.py: a venv without MXNet)."""
    done = run("import sys\nsys.modules['mxnet'] = None  # as if not installed\nimport mxport\nmxport.load('m')")
    assert done.returncode != 0
    assert "[LIBRARY_NOT_FOUND] mxport.load(..., engine='mxnet') runs on MXNet, which is not installed" in done.stderr
    install = "pip install --no-deps mxnet==1.9.1" if sys.version_info >= (3, 13) else "pip install mxnet==1.9.1"
    assert install in done.stderr
