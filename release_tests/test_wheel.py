"""The wheel in dist/, installed with pip into a fresh venv outside the repository (no system site-packages; mxnet
and numpy come from PyPI through pip, pinned by requirements-dev.txt), runs `mxport inspect` and a prediction."""

import glob
import os
import subprocess
import tarfile
import zipfile

import pytest

from conftest import DIST, MODEL, PYTHON_PREDICT, REPO, VERSION, assert_same_output, run


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    wheels = glob.glob(os.path.join(DIST, f"mxport-{VERSION}-py3-none-any.whl"))
    assert wheels, f"no mxport-{VERSION} wheel in {DIST}: run `make dist`"
    assert glob.glob(os.path.join(DIST, f"mxport-{VERSION}.tar.gz")), "no sdist: run `make dist`"
    root = tmp_path_factory.mktemp("user")
    run(["python3", "-m", "venv", "venv"], cwd=root)
    run(
        [
            str(root / "venv/bin/pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            wheels[0],
            "-c",
            os.path.join(REPO, "requirements-dev.txt"),
        ],
        cwd=root,
    )
    # what mxport's error asks for on Python 3.13, where the wheel does not pull MXNet in (elsewhere: already there)
    pip = [str(root / "venv/bin/pip"), "install", "-q", "--disable-pip-version-check"]
    run(pip + ["--no-deps", "mxnet==1.9.1"], cwd=root)
    return root


def test_the_installed_command_inspects_a_model(venv):
    out = run([str(venv / "venv/bin/mxport"), "inspect", MODEL], cwd=venv)
    assert "input           data  uint8    [-1,-1,-1,3]    NHWC" in out, out
    assert "output          prob  float32  [-1,1000]       NC" in out, out


def test_the_installed_package_predicts_as_the_source_tree_does(venv, pixels, python_reference):
    (venv / "predict.py").write_text(PYTHON_PREDICT)
    out = run([str(venv / "venv/bin/python"), "predict.py", MODEL, pixels, "prob.f32"], cwd=venv)
    assert f"mxport {VERSION} from {venv}/venv/lib/" in out, out  # the wheel's files, not the repository's
    assert_same_output(venv / "prob.f32", python_reference, "the installed wheel")


def test_the_wheel_carries_the_licence(venv):
    lib = glob.glob(str(venv / "venv/lib/python3*/site-packages"))[0]
    licences = os.listdir(os.path.join(lib, f"mxport-{VERSION}.dist-info", "licenses"))
    assert sorted(licences) == ["LICENSE", "NOTICE"]
    assert subprocess.run([str(venv / "venv/bin/python"), "-c", "import mxport"], cwd=venv).returncode == 0


def test_the_wheel_and_the_sdist_carry_the_start_up_hook(venv):
    """spec/RUNTIME.md rule 3: mxport-hook.pth lands in site-packages, so `import mxnet` first gets the short spin."""
    wheel = zipfile.ZipFile(os.path.join(DIST, f"mxport-{VERSION}-py3-none-any.whl")).namelist()
    assert {"mxport-hook.pth", "_mxport_hook.py"} <= set(wheel)
    with tarfile.open(os.path.join(DIST, f"mxport-{VERSION}.tar.gz")) as sdist:
        assert f"mxport-{VERSION}/src/mxport-hook.pth" in sdist.getnames()
    lib = glob.glob(str(venv / "venv/lib/python3*/site-packages"))[0]
    with open(os.path.join(lib, "mxport-hook.pth")) as f:
        assert f.read().strip() == "import _mxport_hook"
    ours = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "MXPORT_IMPORT_HOOK")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    code = "import mxnet as mx, mxport; print(mxport.environment.applied().spin_count)"
    out = run([str(venv / "venv/bin/python"), "-c", code], cwd=venv, env=env)
    assert out.split()[-1] == "3000", out
