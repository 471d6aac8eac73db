import json
import os
import subprocess
import sys

import mxport  # noqa: F401  first: on Python 3.12+ each test file's `import mxnet` works only after it (spec/RUNTIME.md)
import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VECTORS = os.path.join(REPO, "spec", "vectors")
MODELS = os.environ.get("MXPORT_MODELS", os.path.join(REPO, ".cache", "models"))


def cache_venv(variable, folder, target):
    """The Python of another venv the Makefile builds into .cache/<folder> (or ``$variable``), and the skip mark
    of the tests that need it: where it is missing, ``make <target>`` builds it."""
    python = os.environ.get(variable) or os.path.join(REPO, ".cache", folder, "bin", "python")
    return python, pytest.mark.skipif(not os.path.exists(python), reason=f"no venv at {python}: make {target}")


# `make test-python` runs the suite on two xdist workers (-n 2 --dist loadgroup): each test file stays on one worker, so
# its module fixtures are built once; the two files of the one local Spark (spark/test_spark.py and the shared cases,
# which takes its fixture) share a worker too.
ONE_WORKER = {"test_shared_cases": "test_spark"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(config, items):
    if not config.pluginmanager.hasplugin("xdist"):
        return
    for item in items:
        module = item.module.__name__.rpartition(".")[2]
        item.add_marker(pytest.mark.xdist_group(ONE_WORKER.get(module, module)))


def case_names(kind):
    names = sorted(os.listdir(VECTORS))
    assert names, "spec/vectors is empty: run make vectors"
    return [n for n in names if n.startswith("invalid_") == (kind == "invalid")]


@pytest.fixture(scope="session")
def resnet():
    """The end-to-end ResNet-18 prefix in the git-ignored cache (made by `make models`, or here)."""
    sys.path.insert(0, os.path.join(REPO, "demo"))
    import export_resnet

    prefix = os.path.join(MODELS, "resnet18")
    export_resnet.main(prefix)
    return prefix


# The loop of a child Python that runs many items in one process (one start of MXNet, not one per item) and reports
# each: the child's code defines run(*args), returning a JSON report; each item is [id, *args].
PER_ITEM_LOOP = r"""
import json as _json, sys as _sys

_items, _reports = _json.load(open(_sys.argv[1])), {}
for _id, *_args in _items:
    _reports[_id] = run(*_args)
with open(_sys.argv[2], "w") as _f:
    _json.dump(_reports, _f)
"""


def run_per_item(root, child, items, env=None, timeout=None):
    """{id: run(*args)} for each [id, *args] of `items`, from one child Python running `child` (which defines run) in
    `root`; fails with the child's stderr when it fails or prints a traceback outside its reports."""
    (root / "items.json").write_text(json.dumps(items))
    out = subprocess.run(
        [sys.executable, "-c", child + PER_ITEM_LOOP, str(root / "items.json"), str(root / "reports.json")],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )
    assert out.returncode == 0 and "Traceback" not in out.stderr, out.stderr[-4000:]
    return json.loads((root / "reports.json").read_text())


def child_report(python, script, *args, timeout=600):
    """``python -c script *args`` in the repository: the JSON its last line of output prints (its stderr when it
    fails). For the tests that run in another venv (cache_venv)."""
    done = subprocess.run([python, "-c", script, *args], capture_output=True, text=True, cwd=REPO, timeout=timeout)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def assert_close(got, want, rtol, atol, what=""):
    """|got - want| <= atol + rtol * |want|, with the largest difference in the message."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    diff = np.abs(got.astype("float64") - want.astype("float64"))
    bound = atol + rtol * np.abs(want.astype("float64"))
    assert (diff <= bound).all(), f"{what}: largest difference {diff.max():.3g} (bound {bound.max():.3g})"


def assert_meaningful(reference, what="reference"):
    """A reference that is ~0 everywhere would make any equality check pass whatever the code does."""
    reference = np.asarray(reference, dtype="float64")
    assert np.abs(reference).max() > 1e-3, f"{what} is degenerate (max |x| = {np.abs(reference).max():.3g})"
    assert reference.std() > 1e-6, f"{what} is constant"
