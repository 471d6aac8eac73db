"""Old models (<prefix>-symbol.json + <prefix>-NNNN.params, no signature) still load, given descriptions."""

import numpy as np
import pytest

import mxport
from mxport import TensorSpec
from conftest import assert_meaningful


def test_an_old_export_of_the_same_weights_equals_the_network_alone(resnet):
    old = mxport.load(f"{resnet}-network", inputs=[TensorSpec("data", (-1, 3, 224, 224), "float32", "NCHW")],
                      epoch=0)
    assert old.signature.outputs[0].shape == (-1, 1000)
    x = np.random.RandomState(3).uniform(-2, 2, (2, 3, 224, 224)).astype("float32")
    want = mxport.load(resnet, load_transforms=False)(x).asnumpy()
    assert_meaningful(want)
    assert np.array_equal(old(x).asnumpy(), want)


def test_the_proposals_dict_form_loads_an_old_model_through_module(resnet):
    mod = mxport.load_module(f"{resnet}-network", inputs={"data": (-1, 3, 224, 224)}, epoch=0, batch_size=2)
    import mxnet as mx
    x = np.random.RandomState(4).uniform(-2, 2, (2, 3, 224, 224)).astype("float32")
    mod.forward(mx.io.DataBatch([mx.nd.array(x)]))
    assert mod.get_outputs()[0].shape == (2, 1000)


def test_an_old_model_without_descriptions_says_how_to_give_them(resnet):
    with pytest.raises(mxport.MxportError, match=r"inputs=\[TensorSpec.*epoch=N") as e:
        mxport.load(f"{resnet}-network", epoch=0)
    assert e.value.code == "NO_SIGNATURE"
    with pytest.raises(mxport.MxportError) as e:
        mxport.read_signature(f"{resnet}-network")
    assert e.value.code == "NO_SIGNATURE"


def test_a_description_naming_no_graph_input_is_unknown_input(resnet):
    with pytest.raises(mxport.MxportError, match="no input") as e:
        mxport.load(f"{resnet}-network", inputs={"image": (-1, 3, 224, 224)}, epoch=0)
    assert e.value.code == "UNKNOWN_INPUT"


def test_a_new_model_refuses_descriptions_it_does_not_need(resnet):
    with pytest.raises(mxport.MxportError, match="carries its own signature") as e:
        mxport.load(resnet, inputs={"data": (-1, 300, 300, 3)})
    assert e.value.code == "INVALID_ARGUMENT"
