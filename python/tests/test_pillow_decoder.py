"""decoder="pillow" (spec/RUNTIME.md section 4, rules 11-12): images without libmxnet, for the ONNX engines. On every
file of the image corpus it gives MXNet's bytes or MXNet's error code, and on spec/image_cases the code and text
every runtime gives; libmxnet's decoder is never called."""

import json
import os
import sys

import mxnet as mx
import numpy as np
import pytest

import mxport
from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "integration_tests"))
import image_corpus  # noqa: E402

CORPUS = image_corpus.files()
CASES = os.path.join(REPO, "spec", "image_cases")
INDEX = json.load(open(os.path.join(CASES, "cases.json")))


def outcome(data, decoder, **kwargs):
    try:
        pixels = mxport.decode_image(data, decoder=decoder, **kwargs)
    except mxport.MxportError as e:
        return e.code
    return pixels.asnumpy() if decoder == "mxnet" else pixels


@pytest.mark.parametrize("name", [n for n in CORPUS if n != "truncated.jpg"])
def test_each_corpus_file_gives_mxnets_bytes_or_its_code(name):
    want, got = outcome(CORPUS[name], "mxnet"), outcome(CORPUS[name], "pillow")
    if isinstance(want, str):
        assert got == want
        return
    assert isinstance(got, np.ndarray) and got.dtype == np.uint8
    assert got.shape == want.shape
    assert want.std() > 0 or name.startswith("1x1")  # a flat reference would hide a wrong decode
    assert np.array_equal(got, want), f"{name}: {(got != want).sum()} values differ"


def test_a_truncated_jpeg_decodes_its_rows_and_fills_the_rest_as_libjpeg_does():
    # both decoders are given an end-of-image marker (rules 9 and 12): libjpeg fills the missing rows in each
    got = outcome(CORPUS["truncated.jpg"], "pillow")
    whole = outcome(CORPUS["baseline.jpg"], "pillow")
    assert got.shape == whole.shape
    assert np.array_equal(got[0, :8], whole[0, :8])  # the first row of 8x8 blocks came from the bytes
    assert (got[0, -8:] == 128).all() and not (whole[0, -8:] == 128).all()
    assert np.array_equal(outcome(CORPUS["truncated.jpg"], "pillow"), got)
    assert np.array_equal(outcome(CORPUS["truncated.jpg"], "mxnet"), got)  # the reference's fill too


@pytest.mark.parametrize("case", INDEX, ids=[c["file"] for c in INDEX])
def test_each_image_case_gives_its_code_and_text(case):
    data = open(os.path.join(CASES, case["file"]), "rb").read()
    limit = {} if case["max_pixels"] is None else {"max_pixels": case["max_pixels"]}
    want = case.get("without_libmxnet", case)  # a JPEG kind every decoder without libmxnet refuses (rule 11)
    if want["code"] == "OK":
        assert list(mxport.decode_image(data, decoder="pillow", **limit).shape) == case["shape"]
        return
    with pytest.raises(mxport.MxportError) as e:
        mxport.decode_image(data, decoder="pillow", **limit)
    assert (e.value.code, e.value.detail) == (
        want["code"],
        want["message"].replace("{mxnet_decoder}", 'decoder="mxnet"'),
    )


def test_libmxnets_decoder_is_never_called(monkeypatch, tmp_path):
    monkeypatch.setattr(mx.image, "imdecode", lambda *a, **k: pytest.fail("MXNet's decoder was called"))
    path = tmp_path / "cat.jpg"
    path.write_bytes(CORPUS["cat.jpg"])
    assert mxport.read_image(path, decoder="pillow").shape == (1, 300, 451, 3)


def test_the_limit_is_read_from_the_header_before_pillow_allocates(monkeypatch):
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: pytest.fail("Pillow decoded the pixels"))
    with pytest.raises(mxport.MxportError, match=r"is a 83x61 image, more than 5000 pixels; shrink it or raise"):
        mxport.decode_image(CORPUS["rgb.png"], max_pixels=5000, decoder="pillow")


def test_bytes_pillow_refuses_name_the_count_and_the_fix():
    with pytest.raises(
        mxport.MxportError, match=r"^\[INVALID_ARGUMENT\] cannot decode 30 bytes as an image: .*JPEG or PNG"
    ):
        mxport.decode_image(b"\xff\xd8\xff" + bytes(27), decoder="pillow")


def test_an_unknown_decoder_is_refused():
    with pytest.raises(mxport.MxportError, match=r"decoder='opencv': give one of \['mxnet', 'pillow'\]") as e:
        mxport.decode_image(CORPUS["rgb.png"], decoder="opencv")
    assert e.value.code == "INVALID_ARGUMENT"


def test_without_pillow_the_error_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)
    monkeypatch.delitem(sys.modules, "mxport._pillow_images", raising=False)
    monkeypatch.delattr(mxport, "_pillow_images", raising=False)
    with pytest.raises(mxport.MxportError, match=r"decoder='pillow' needs Pillow: pip install pillow"):
        mxport.decode_image(CORPUS["rgb.png"], decoder="pillow")
