"""The params header is read before MXNet reads it: the files of spec/params_cases (the same ones Java runs),
and whole params files, give what MXNet itself finds, or BAD_PARAMS naming the array that lies."""

import json
import os
import shutil

import mxnet as mx
import numpy as np
import pytest

import mxport
from mxport import TensorSpec
from mxport._params_header import check_params_header
from conftest import REPO, VECTORS

CASES = os.path.join(REPO, "spec", "params_cases")
INDEX = json.load(open(os.path.join(CASES, "cases.json")))


def as_mxnet_reads_it(data):
    loaded = mx.nd.load_frombuffer(data)
    items = loaded.items() if isinstance(loaded, dict) else [(None, a) for a in loaded]
    return [(name, np.dtype(a.dtype).name, tuple(a.shape)) for name, a in items]


@pytest.mark.parametrize("case", INDEX, ids=[c["file"] for c in INDEX])
def test_each_case_gives_its_code_and_message(case):
    data = open(os.path.join(CASES, case["file"]), "rb").read()
    if case["code"] == "OK":
        assert check_params_header(data, "<file>") == as_mxnet_reads_it(data)
        return
    with pytest.raises(mxport.MxportError) as e:
        check_params_header(data, "<file>")
    assert e.value.code == case["code"]
    assert e.value.detail == case["message"]
    if case["array"] is not None:
        assert f"array {case['array']} of " in e.value.detail


def test_the_cases_cover_every_way_a_header_lies():
    bad = [c for c in INDEX if c["code"] == "BAD_PARAMS"]
    assert len(bad) >= 15 and len(INDEX) - len(bad) >= 5
    assert {c["array"] for c in bad} >= {None, 0, 2, 5}


@pytest.mark.parametrize("prefix", ["resnet18.params", "resnet18-int8.params"])
def test_a_real_models_params_read_as_mxnet_reads_them(resnet, prefix):
    data = open(os.path.join(os.path.dirname(resnet), prefix), "rb").read()
    arrays = check_params_header(data, prefix)
    assert len(arrays) > 50
    assert arrays == as_mxnet_reads_it(data)


def test_an_old_model_whose_params_claim_a_huge_array_is_refused_before_mxnet_reads_it(tmp_path):
    case = json.load(open(os.path.join(VECTORS, "old_converter_names", "case.json")))["load"]
    shutil.copy(os.path.join(VECTORS, "old_converter_names", "model-symbol.json"), tmp_path)
    shutil.copy(os.path.join(CASES, "huge_dimension.params"), tmp_path / "model-0003.params")
    inputs = [TensorSpec(s["name"], tuple(s["shape"]), s["dtype"], s["layout"]) for s in case["inputs"]]
    with pytest.raises(
        mxport.MxportError,
        match=r"model-0003\.params: array 2 of 5: its shape "
        r"\[1099511627776, 3\] of float32 .* export or download the model again",
    ) as e:
        mxport.load(str(tmp_path / "model"), inputs=inputs, epoch=case["epoch"])
    assert e.value.code == "BAD_PARAMS"
