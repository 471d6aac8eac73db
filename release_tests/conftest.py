"""The artifacts as a user gets them: dist/ from `make dist`, io.mxport in ~/.m2 from `mvn install` (make
test-release does both first). Every program runs from a temporary folder outside the repository."""

import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
VERSION = open(os.path.join(REPO, "VERSION")).read().strip()
DIST = os.path.join(REPO, "dist")
MODEL = os.path.join(os.environ.get("MXPORT_MODELS", os.path.join(REPO, ".cache", "models")), "resnet18")
SHAPE = (1, 240, 320, 3)  # one uint8 NHWC image; the model resizes it inside its graph

# the program every consumer runs: the end-to-end ResNet-18 on the same pixels, output bytes to a file
PYTHON_PREDICT = """
import sys
import mxnet as mx, numpy as np, mxport
prefix, pixels, out = sys.argv[1:4]
x = np.fromfile(pixels, dtype=np.uint8).reshape(%r)
y = mxport.load(prefix)(mx.nd.array(x, dtype="uint8")).asnumpy()
y.astype("<f4").tofile(out)
print("mxport", mxport.__version__, "from", mxport.__file__)
""" % (SHAPE,)


def run(cmd, cwd, env=None, timeout=600):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="session")
def pixels(tmp_path_factory):
    path = tmp_path_factory.mktemp("input") / "pixels.u8"
    np.random.RandomState(12).randint(0, 256, SHAPE).astype(np.uint8).tofile(path)
    return str(path)


@pytest.fixture(scope="session")
def python_reference(tmp_path_factory, pixels):
    """The repository's own .venv (the mxnet wheel, mxport from source): the output every artifact must give."""
    assert os.path.isfile(MODEL + "-symbol.json"), "run `make models` first"
    work = tmp_path_factory.mktemp("reference")
    out = work / "prob.f32"
    (work / "predict.py").write_text(PYTHON_PREDICT)
    run([sys.executable, "predict.py", MODEL, pixels, str(out)], cwd=work)
    prob = np.fromfile(out, dtype="<f4")
    assert prob.shape == (1000,) and prob.max() > 10 * prob.min() > 0, "a degenerate reference proves nothing"
    return out.read_bytes()


def assert_same_output(got_path, reference, what):
    got = open(got_path, "rb").read()
    a, b = np.frombuffer(got, "<f4"), np.frombuffer(reference, "<f4")
    assert got == reference, f"{what}: output differs from Python's, max |diff| {np.abs(a - b).max()}"
