"""Old models (<prefix>-symbol.json + <prefix>-NNNN.params, no signature) still load, given descriptions."""

import numpy as np
import pytest

import mxport
from mxport import TensorSpec
from conftest import assert_meaningful


def test_an_old_export_of_the_same_weights_equals_the_network_alone(resnet):
    old = mxport.load(f"{resnet}-network", inputs=[TensorSpec("data", (-1, 3, 224, 224), "float32", "NCHW")], epoch=0)
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
    with pytest.raises(
        mxport.MxportError,
        match=r"inputs=\[TensorSpec\('data', \(-1, \.\.\.\), 'float32'\)\], "
        r"epoch=0 \(write each input's shape in place of \.\.\.\)",
    ) as e:
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
    out = mx.sym.FullyConnected(
        mx.sym.relu(mx.sym.FullyConnected(data, num_hidden=8, name="fc1")), num_hidden=3, name="fc2"
    )
    rng = np.random.RandomState(0)
    args = {
        n: mx.nd.array(rng.normal(0, 0.5, s))
        for n, s in zip(out.list_arguments(), out.infer_shape(features=(1, 7))[0])
        if n != "features"
    }
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


def _converter_vector():
    import os
    from conftest import VECTORS

    folder = os.path.join(VECTORS, "old_converter_names")
    return folder, os.path.join(folder, "model"), [np.load(os.path.join(folder, f"in_0_{i}.npy")) for i in (0, 1)]


def test_converter_names_are_kept_and_a_call_by_name_uses_them():
    folder, prefix, (x, y) = _converter_vector()
    block = mxport.load(prefix, inputs={"input.1": (-1, 5), "0": (-1, 3)}, epoch=3)  # the dict form, too
    assert block.signature.input_names == ["input.1", "0"]
    assert block.signature.output_names == ["/Softmax_output", "123_output"]
    by_name = block({"0": y, "input.1": x})
    in_order = block(x, y)
    for a, b in zip(by_name, in_order):
        assert np.array_equal(a.asnumpy(), b.asnumpy())
    with pytest.raises(mxport.MxportError, match="Unknown input name 'input_1'") as e:
        block({"input_1": x, "0": y})  # not mapped: 'input.1' is the name
    assert e.value.code == "UNKNOWN_INPUT"


def test_a_description_must_have_a_name_and_must_name_a_variable_exactly():
    _, prefix, _ = _converter_vector()
    with pytest.raises(mxport.MxportError, match="non-empty") as e:
        TensorSpec("", (-1, 5))
    assert e.value.code == "INVALID_ARGUMENT"
    with pytest.raises(mxport.MxportError, match=r"no input \['/input.1'\]") as e:
        mxport.load(prefix, inputs={"/input.1": (-1, 5), "0": (-1, 3)}, epoch=3)
    assert e.value.code == "UNKNOWN_INPUT"


def test_export_writes_only_names_that_follow_the_name_rule(tmp_path):
    import mxnet as mx
    from mxnet import gluon

    net = gluon.nn.Dense(3, in_units=5)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    with pytest.raises(
        mxport.MxportError,
        match=r"input name '0' must match .*export feeds the network by "
        "position",
    ) as e:
        mxport.export(net, str(tmp_path / "m"), inputs=[TensorSpec("0", (-1, 5))])
    assert e.value.code == "INVALID_ARGUMENT"
    with pytest.raises(mxport.MxportError, match=r"output name '123_output' must match") as e:
        mxport.export(net, str(tmp_path / "m"), inputs=[TensorSpec("x", (-1, 5))], output_names=["123_output"])
    assert e.value.code == "INVALID_ARGUMENT"
    assert not list(tmp_path.iterdir())  # nothing written
