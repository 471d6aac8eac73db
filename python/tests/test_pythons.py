"""MXNet 1.9.1 on Python 3.10 to 3.13: what mxport restores before it imports MXNet (spec/RUNTIME.md section 7),
each case in a fresh Python process."""

import json
import subprocess
import sys

import numpy as np
import pytest

NEW_PYTHON = sys.version_info >= (3, 12)
NUMPY_WITHOUT_BOOL = tuple(int(x) for x in np.__version__.split(".")[:2]) >= (1, 24)

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


def test_distutils_is_restored_only_where_python_lacks_it():
    # setuptools' own start-up shim is switched off: mxport alone must make distutils importable on 3.12+
    done = run("import mxport\n" + MODEL_RUNS, SETUPTOOLS_USE_DISTUTILS="stdlib")
    assert done.returncode == 0, done.stderr
    assert ("distutils" in json.loads(done.stdout.splitlines()[-1])["restored"]) == NEW_PYTHON


@pytest.mark.skipif(not NEW_PYTHON, reason="on Python 3.10/3.11 with numpy 1.23, MXNet imports as it is")
def test_after_import_mxnet_failed_on_a_new_python_import_mxport_still_gives_a_working_mxnet():
    done = run(
        "try:\n    import mxnet\nexcept AttributeError as e:\n    print('mxnet failed:', e)\n"
        "else:\n    raise SystemExit('MXNet imported without the fixes')\nimport mxport\n" + MODEL_RUNS
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("mxnet failed: module 'numpy' has no attribute 'bool'")


def test_when_mxnet_imported_before_mxport_failed_and_cannot_be_imported_again_the_error_names_the_fix():
    # what a failed `import mxnet` leaves behind: some of its modules; here one that cannot load again
    done = run("import sys\nsys.modules['mxnet.base'] = None\nimport mxport")
    assert done.returncode != 0
    assert "MxportError: [LIBRARY_NOT_FOUND] MXNet cannot be imported" in done.stderr
    assert "Fix: put `import mxport` before `import mxnet`, in a new process" in done.stderr
