"""Files, errors, threads and the version: the small rules."""

import os

import numpy as np
import pytest

import mxport
from conftest import REPO, VECTORS


def test_version_is_the_repository_version():
    assert mxport.__version__ == open(os.path.join(REPO, "VERSION")).read().strip()


def test_a_missing_model_is_model_not_found(tmp_path):
    with pytest.raises(mxport.MxportError, match="does not exist") as e:
        mxport.load(tmp_path / "nothing")
    assert e.value.code == "MODEL_NOT_FOUND"


def test_a_directory_where_a_file_should_be_is_model_unreadable(tmp_path):
    os.mkdir(tmp_path / "m-symbol.json")
    with pytest.raises(mxport.MxportError, match="is a directory") as e:
        mxport.load(tmp_path / "m")
    assert e.value.code == "MODEL_UNREADABLE"


def test_the_spec_lists_exactly_the_codes_python_raises():
    from mxport._errors import CODES

    spec = open(os.path.join(REPO, "spec", "FORMAT.md")).read()
    table = [
        line.split("`")[1]
        for line in spec.split("## 8. Error codes")[1].split("## 9.")[0].splitlines()
        if line.startswith("| `")
    ]
    assert table == list(CODES)


def test_inputs_are_checked_before_mxnet_sees_them():
    block = mxport.load(os.path.join(VECTORS, "uint8_image", "model"))
    with pytest.raises(
        mxport.MxportError,
        match=r"input 'image' has shape \[1,12,10\] but the model takes "
        r"\[-1,12,10,3\]",
    ) as e:
        block(np.zeros((1, 12, 10), "uint8"))
    assert e.value.code == "SHAPE_MISMATCH"
    with pytest.raises(mxport.MxportError, match=r"Unknown input name 'x', expected one of \[image\]") as e:
        block({"x": np.zeros((1, 12, 10, 3), "uint8")})
    assert e.value.code == "UNKNOWN_INPUT"
    assert block(np.zeros((1, 12, 10, 3), "uint8")).shape == (1, 5)  # still answers afterwards


def test_nan_and_infinity_run_and_propagate_and_the_model_still_answers():
    """Values are not checked (that would cost a pass over every input): NaN and inf run through MXNet, and
    the next call is unaffected. What comes out, observed with MXNet 1.9.1: MXNet's relu maps NaN to 0, so
    a NaN feature is silently dropped by this Dense-relu net; an infinity becomes inf - inf = NaN downstream."""
    block = mxport.load(os.path.join(VECTORS, "postprocess", "model"))
    x = np.zeros((3, 5), "float32")
    x[0, 0], x[1, 0], x[2, 0] = np.nan, np.inf, -np.inf
    out = block(x).asnumpy()
    assert np.isfinite(out[0]).all()  # relu(NaN) == 0 in MXNet
    assert np.isnan(out[1]).any() and np.isnan(out[2]).any()
    clean = np.load(os.path.join(VECTORS, "postprocess", "in_0_0.npy"))
    want = np.load(os.path.join(VECTORS, "postprocess", "out_0_0.npy"))
    assert np.allclose(block(clean).asnumpy(), want, rtol=1e-5, atol=1e-6)


def test_load_module_binds_at_the_batch_asked_with_the_signatures_layouts():
    from conftest import VECTORS

    prefix = os.path.join(VECTORS, "uint8_image", "model")
    mod = mxport.load_module(prefix, batch_size=4)
    assert [(d.name, d.shape, d.layout) for d in mod.data_shapes] == [("image", (4, 12, 10, 3), "NHWC")]
    mod = mxport.load_module(prefix, load_transforms=False, data_shapes=[(2, 3, 8, 8)])
    assert [(d.name, d.shape, d.layout) for d in mod.data_shapes] == [("image", (2, 3, 8, 8), "NCHW")]
