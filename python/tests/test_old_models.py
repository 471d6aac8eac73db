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
    # the graph's own input name, and the epoch of the params file on disk
    with pytest.raises(mxport.MxportError, match=r"inputs=\[TensorSpec\('data', \(-1, \.\.\.\), 'float32'\)\], "
                       r"epoch=0 \(write each input's shape in place of \.\.\.\)") as e:
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


def test_the_no_signature_fix_uses_the_graphs_own_input_and_epoch(tmp_path):
    """A Module checkpoint of an MLP whose input variable carries its shape: the fix is that input, that shape,
    that epoch, and it works as written."""
    import mxnet as mx
    data = mx.sym.var("features", shape=(1, 7))
    out = mx.sym.FullyConnected(mx.sym.relu(mx.sym.FullyConnected(data, num_hidden=8, name="fc1")), num_hidden=3,
                                name="fc2")
    rng = np.random.RandomState(0)
    args = {n: mx.nd.array(rng.normal(0, 0.5, s)) for n, s in
            zip(out.list_arguments(), out.infer_shape(features=(1, 7))[0]) if n != "features"}
    prefix = str(tmp_path / "mlp")
    mx.model.save_checkpoint(prefix, 5, out, args, {})
    with pytest.raises(mxport.MxportError) as e:
        mxport.load(prefix)
    assert e.value.code == "NO_SIGNATURE"
    fix = "inputs=[TensorSpec('features', (-1, 7), 'float32')], epoch=5"
    assert fix in str(e.value)
    block = eval(f"mxport.load(prefix, {fix})")
    assert block(np.ones((2, 7), "float32")).shape == (2, 3)
    with pytest.raises(mxport.MxportError, match=r"mlp-0005.params does: pass epoch=5") as e:
        mxport.load(prefix, inputs=[TensorSpec("features", (-1, 7))])
    assert e.value.code == "MODEL_NOT_FOUND"
