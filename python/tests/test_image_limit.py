"""The pixel limit (spec/RUNTIME.md section 4): the images of spec/image_cases (the same ones Java runs) give
the code and text recorded there; a JPEG or PNG over the limit is refused from its header, before MXNet decodes
or allocates anything for it."""

import hashlib
import json
import os

import pytest

import mxport
from conftest import REPO

CASES = os.path.join(REPO, "spec", "image_cases")
INDEX = json.load(open(os.path.join(CASES, "cases.json")))


def decode(case, data):
    return mxport.decode_image(data, **({} if case["max_pixels"] is None else {"max_pixels": case["max_pixels"]}))


@pytest.mark.parametrize("case", INDEX, ids=[c["file"] for c in INDEX])
def test_each_image_case_gives_its_code_and_text(case):
    data = open(os.path.join(CASES, case["file"]), "rb").read()
    if case["code"] == "OK":
        pixels = decode(case, data).asnumpy()
        assert list(pixels.shape) == case["shape"]
        assert hashlib.sha256(pixels.tobytes()).hexdigest() == case["sha256"]
        return
    with pytest.raises(mxport.MxportError) as e:
        decode(case, data)
    assert (e.value.code, e.value.detail) == (case["code"], case["message"])


def test_only_jpeg_and_png_reach_mxnet(monkeypatch):
    refused = [c for c in INDEX if "not a JPEG or PNG" in c.get("message", "")]
    assert len(refused) >= 3
    monkeypatch.setattr(mxport._images, "_cvimdecode", lambda *a, **k: pytest.fail("MXNet's decoder was called"))
    for case in refused:
        with pytest.raises(mxport.MxportError, match="it is not a JPEG or PNG file"):
            mxport.decode_image(open(os.path.join(CASES, case["file"]), "rb").read())


def test_the_default_limit_is_javas():
    assert mxport._images.MAX_PIXELS == 715_827_879  # (Integer.MAX_VALUE - 8) / 3: Images.MAX_PIXELS


@pytest.mark.parametrize("file", [c["file"] for c in INDEX if "more than 715827879" in c.get("message", "")])
def test_a_header_over_the_limit_never_reaches_mxnet(file, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("MXNet's decoder was called")

    monkeypatch.setattr(mxport._images, "_cvimdecode", refuse)
    with pytest.raises(mxport.MxportError, match=r"image, more than 715827879 pixels; shrink it$"):
        mxport.decode_image(open(os.path.join(CASES, file), "rb").read())


def test_read_image_names_the_file_and_takes_the_limit(tmp_path):
    path = tmp_path / "wide.png"
    path.write_bytes(open(os.path.join(CASES, "png_83x61_limit_5000.png"), "rb").read())
    with pytest.raises(
        mxport.MxportError,
        match=rf"^\[INVALID_ARGUMENT\] {path} is a 83x61 image, more than 5000 "
        r"pixels; shrink it or raise the limit$",
    ):
        mxport.read_image(path, max_pixels=5000)
    assert mxport.read_image(path, max_pixels=83 * 61).shape == (1, 61, 83, 3)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "100"])
def test_a_limit_that_is_not_a_positive_integer_is_refused(bad):
    with pytest.raises(mxport.MxportError, match="max_pixels must be an integer >= 1") as e:
        mxport.decode_image(b"\x89PNG", max_pixels=bad)
    assert e.value.code == "INVALID_ARGUMENT"
