import os
import sys

import mxport  # noqa: F401  first: on Python 3.12+ each test file's `import mxnet` works only after it (spec/RUNTIME.md)
import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VECTORS = os.path.join(REPO, "spec", "vectors")
MODELS = os.environ.get("MXPORT_MODELS", os.path.join(REPO, ".cache", "models"))


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
