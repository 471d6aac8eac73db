"""A real converter's model, as it exists: ResNet-50 through ONNX (PyTorch-exporter names), imported with
mx.contrib.onnx.import_model and saved as an old MXNet model (models/onnx_resnet50.py builds it once into
.cache/models). Its input is 'input.1' and its output '/Softmax_output': names that an mxport signature could
not hold, and that an old model keeps (spec/FORMAT.md section 7).
"""

import os
import sys

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

import mxport
from mxport import TensorSpec
from conftest import REPO, JPypeConsumer

sys.path.insert(0, os.path.join(REPO, "models"))
import onnx_resnet50  # noqa: E402

INPUTS = [TensorSpec(onnx_resnet50.INPUT, (-1, 3, 224, 224), "float32", "NCHW")]


@pytest.fixture(scope="module")
def model():
    paths = onnx_resnet50.build(os.path.join(REPO, ".cache", "models", "onnx_resnet50"))
    paths["prefix"] = paths["symbol"][: -len("-symbol.json")]
    paths["x"] = np.load(paths["input"])
    paths["onnxruntime"] = onnx_resnet50.onnxruntime_session(paths["onnx"]).run(
        None, {onnx_resnet50.INPUT: paths["x"]}
    )[0]
    paths["block"] = mxport.load(paths["prefix"], inputs=INPUTS, epoch=0)
    paths["python"] = paths["block"](paths["x"]).asnumpy()
    return paths


def java(prefix, x, old=None):
    with JPypeConsumer("java").open(prefix, old=old) as run:
        return run([x])


def test_the_reference_is_not_degenerate(model):
    ref = model["onnxruntime"]
    assert ref.shape == (2, 1000)
    assert np.allclose(ref.sum(axis=1), 1, atol=1e-5)
    assert (ref.max(axis=1) > 0.02).all() and (ref.max(axis=1) < 0.9).all(), ref.max(axis=1)  # neither flat nor one-hot
    assert np.abs(ref[0] - ref[1]).max() > 1e-4  # the two images get different scores


def test_the_imported_model_loads_as_an_old_model_with_its_own_names_and_onnxruntimes_outputs(model, jvm):
    old = {"inputs": INPUTS, "epoch": 0}
    block = model["block"]  # mxport.load(prefix, inputs=INPUTS, epoch=0)
    assert block.signature.input_names == ["input.1"]
    assert block.signature.output_names == [onnx_resnet50.MXNET_OUTPUT]
    assert block.signature.outputs[0].shape == (-1, 1000)
    got = model["python"]
    ref = model["onnxruntime"]
    assert np.abs(got - ref).max() <= 1e-5 * ref.max(), np.abs(got - ref).max()  # measured 4.7e-10 on 0.1
    # Java (in this process, the same libmxnet) gives Python's bytes
    java_out = java(model["prefix"], model["x"], old)
    assert len(java_out) == 1 and np.array_equal(java_out[0], got)
    # and the Module path runs it too (oneDNN fusion: last bits may differ)
    mod = mxport.load_module(model["prefix"], batch_size=2, **old)
    assert mod.signature.output_names == [onnx_resnet50.MXNET_OUTPUT]
    mod.forward(mx.io.DataBatch([mx.nd.array(model["x"])]))
    assert np.abs(mod.get_outputs()[0].asnumpy() - ref).max() <= 1e-5 * ref.max()


def test_re_exported_with_mxport_names_it_gives_the_same_bytes_in_python_and_java(model, jvm, tmp_path):
    net = gluon.SymbolBlock.imports(model["symbol"], [onnx_resnet50.INPUT], model["params"])
    prefix = str(tmp_path / "resnet50")
    sig = mxport.export(
        net, prefix, inputs=[TensorSpec("data", (-1, 3, 224, 224), "float32", "NCHW")], output_names=["prob"]
    )
    assert sig.input_names == ["data"] and sig.output_names == ["prob"]
    got = mxport.load(prefix)(model["x"]).asnumpy()
    assert np.array_equal(got, model["python"])  # the connectors are identities: the same network, the same bytes
    assert np.array_equal(java(prefix, model["x"])[0], got)
    ref = model["onnxruntime"]
    assert np.abs(got - ref).max() <= 1e-5 * ref.max()
