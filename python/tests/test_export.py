"""mxport.export: what it writes, what it returns, what it refuses."""

import json
import os
import stat

import jsonschema
import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon
from mxnet.gluon import nn

import mxport
from mxport import TensorSpec
from conftest import REPO, VECTORS, assert_meaningful

SCHEMA = json.load(open(os.path.join(REPO, "spec", "schema", "signature.schema.json")))
HE = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)


def small_net(out=3):
    mx.random.seed(7)
    net = nn.HybridSequential()
    net.add(nn.Dense(8, activation="relu"), nn.Dense(out))
    net.initialize(HE)
    return net


def signature_json(prefix):
    graph = json.load(open(f"{prefix}-symbol.json"))
    return [
        json.loads(n["attrs"]["__mxport_signature__"])
        for n in graph["nodes"]
        if "__mxport_signature__" in n.get("attrs", {})
    ]


def test_export_writes_two_files_without_epoch_and_returns_the_signature(tmp_path):
    prefix = tmp_path / "m"
    sig = mxport.export(small_net(), prefix, inputs=[TensorSpec("x", (-1, 4), "float32", "NC")], output_names=["y"])
    assert sorted(os.listdir(tmp_path)) == ["m-symbol.json", "m.params"]
    assert sig == mxport.read_signature(prefix)
    assert sig.inputs == (TensorSpec("x", (-1, 4), "float32", "NC"),)
    assert sig.outputs == (TensorSpec("y", (-1, 3), "float32", None),)
    assert sig.network.inputs == sig.inputs  # no transforms: the network takes what the model takes
    data = open(f"{prefix}.params", "rb").read()
    import hashlib

    assert (sig.params_size, sig.params_sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_inputs_as_a_dict_mean_float32_with_unknown_layout(tmp_path):
    sig = mxport.export(small_net(), tmp_path / "m", inputs={"data": (-1, 4)})
    assert sig.inputs == (TensorSpec("data", (-1, 4), "float32", None),)
    assert sig.output_names == ["output0"]


@pytest.mark.parametrize("case", sorted(d for d in os.listdir(VECTORS) if not d.startswith(("invalid_", "old_"))))
def test_every_written_signature_validates_against_the_schema(case):
    docs = signature_json(os.path.join(VECTORS, case, "model"))
    assert len(docs) == 1
    jsonschema.validate(docs[0], SCHEMA)


def test_resnet_signature_validates_and_names_the_network(resnet):
    (doc,) = signature_json(resnet)
    jsonschema.validate(doc, SCHEMA)
    sig = mxport.read_signature(resnet)
    assert sig.inputs == (TensorSpec("data", (-1, -1, -1, 3), "uint8", "NHWC"),)
    assert sig.network.inputs == (TensorSpec("data", (-1, 3, 224, 224), "float32", "NCHW"),)
    assert sig.outputs == (TensorSpec("prob", (-1, 1000), "float32", "NC"),)


def test_signature_sits_on_the_first_batchify_connector(tmp_path):
    mxport.export(small_net(), tmp_path / "m", inputs=[TensorSpec("x", (-1, 4))])
    graph = json.load(open(tmp_path / "m-symbol.json"))
    (carrier,) = [n for n in graph["nodes"] if "__mxport_signature__" in n.get("attrs", {})]
    assert carrier["op"] == "_copy"
    assert carrier["attrs"]["__mxport_connector__"] == "batchify"
    assert carrier["attrs"]["__mxport_port__"] == "x"
    assert set(graph) == {"nodes", "arg_nodes", "node_row_ptr", "heads", "attrs"}
    assert graph["attrs"] == {"mxnet_version": ["int", 10901]}


@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(net=nn.Dense(3)), "initialize"),
        (dict(net=object()), "HybridBlock"),
        (dict(preprocess=[None, None]), "preprocess has 2 entries"),
        (dict(preprocess=lambda x: x), "HybridBlock"),
        (dict(output_names=["a", "b"]), "output_names"),
        (dict(layouts={"nope": "NC"}), "nope"),
        (dict(inputs=[TensorSpec("x", (-1, 4)), TensorSpec("x", (-1, 4))]), "duplicate"),
    ],
)
def test_bad_arguments_are_invalid_argument(tmp_path, kwargs, words):
    args = dict(net=small_net(), inputs=[TensorSpec("x", (-1, 4))])
    args.update(kwargs)
    net = args.pop("net")
    with pytest.raises(mxport.MxportError, match=words) as e:
        mxport.export(net, tmp_path / "m", **args)
    assert e.value.code == "INVALID_ARGUMENT"
    assert not (tmp_path / "m-symbol.json").exists()


@pytest.mark.parametrize(
    "shape, dtype, layout",
    [((-1, 0), "float32", None), ((-1, 4), "bfloat7", None), ((-1, 4), "float32", "NCHW"), ((-2, 4), "float32", None)],
)
def test_a_bad_tensor_spec_is_refused_where_it_is_made(shape, dtype, layout):
    with pytest.raises(mxport.MxportError) as e:
        TensorSpec("x", shape, dtype, layout)
    assert e.value.code == "INVALID_ARGUMENT"


def test_export_refuses_to_overwrite_foreign_files_unless_asked(tmp_path):
    foreign = tmp_path / "m-symbol.json"
    foreign.write_text("my own notes")
    with pytest.raises(mxport.MxportError) as e:
        mxport.export(small_net(), tmp_path / "m", inputs=[TensorSpec("x", (-1, 4))])
    assert e.value.code == "TARGET_EXISTS" and e.value.fix.arguments == (("overwrite", True),)
    assert "choose another prefix, or pass overwrite=True to replace it" in str(e.value)
    assert foreign.read_text() == "my own notes"
    (tmp_path / "p.params").write_bytes(b"weights of another model")
    with pytest.raises(mxport.MxportError) as e:
        mxport.export(small_net(), tmp_path / "p", inputs=[TensorSpec("x", (-1, 4))])
    assert e.value.code == "TARGET_EXISTS"
    mxport.export(small_net(), tmp_path / "m", inputs=[TensorSpec("x", (-1, 4))], overwrite=True)
    mxport.read_signature(tmp_path / "m")


def test_export_replaces_an_earlier_mxport_model(tmp_path):
    mxport.export(small_net(3), tmp_path / "m", inputs=[TensorSpec("x", (-1, 4))])
    sig = mxport.export(small_net(5), tmp_path / "m", inputs=[TensorSpec("x", (-1, 4))])
    assert sig.outputs[0].shape == (-1, 5)
    assert mxport.load(tmp_path / "m")(np.ones((1, 4), "float32")).shape == (1, 5)


def test_a_failed_export_leaves_the_previous_model_whole(tmp_path, monkeypatch):
    prefix = tmp_path / "m"
    mxport.export(small_net(3), prefix, inputs=[TensorSpec("x", (-1, 4))])
    before = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)}

    def broken_save(path, arrays):
        with open(path, "wb") as f:
            f.write(b"half a params fi")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(mx.nd, "save", broken_save)
    with pytest.raises(OSError):
        mxport.export(small_net(5), prefix, inputs=[TensorSpec("x", (-1, 4))])
    assert {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)} == before  # no temp file left
    assert mxport.load(prefix)(np.ones((1, 4), "float32")).shape == (1, 3)


def test_files_get_the_permissions_of_the_users_umask(tmp_path):
    old = os.umask(0o022)
    try:
        mxport.export(small_net(), tmp_path / "m", inputs=[TensorSpec("x", (-1, 4))])
    finally:
        os.umask(old)
    for f in ("m-symbol.json", "m.params"):
        assert stat.S_IMODE(os.stat(tmp_path / f).st_mode) == 0o644


def test_deferred_initialisation_is_completed_by_the_example_pass(tmp_path):
    net = nn.Dense(3)  # in_units unknown until data flows
    mx.random.seed(1)
    net.initialize(HE)
    x = np.random.RandomState(0).uniform(-1, 1, (2, 4)).astype("float32")
    sig = mxport.export(net, tmp_path / "m", inputs=[TensorSpec("x", (-1, 4))])
    want = net(mx.nd.array(x)).asnumpy()
    assert_meaningful(want)
    assert np.array_equal(mxport.load(tmp_path / "m")(x).asnumpy(), want)
    assert sig.outputs[0].shape == (-1, 3)


def test_example_inputs_give_dynamic_dimensions_a_size(tmp_path):
    pre = nn.HybridSequential()
    pre.add(gluon.data.vision.transforms.Resize((6, 6)), gluon.data.vision.transforms.ToTensor())
    net = nn.HybridSequential()
    net.add(nn.Flatten(), nn.Dense(2))
    mx.random.seed(2)
    net.initialize(HE)
    example = np.random.RandomState(0).randint(0, 255, (1, 9, 7, 3)).astype("uint8")
    sig = mxport.export(
        net,
        tmp_path / "m",
        inputs=[TensorSpec("img", (-1, -1, -1, 3), "uint8", "NHWC")],
        preprocess=pre,
        example_inputs=[example],
    )
    assert sig.network.inputs[0].shape == (-1, 3, 6, 6)
    block = mxport.load(tmp_path / "m")
    assert block(np.zeros((2, 20, 30, 3), "uint8")).shape == (2, 2)  # any image size: Resize is in the graph


KILLER = """
import os, sys
import mxport
from mxport import TensorSpec
import mxnet as mx
from mxnet.gluon import nn
calls, kill_at = [0], int(sys.argv[2])
real = os.replace
def replace(a, b):
    calls[0] += 1
    if calls[0] == kill_at:
        os._exit(9)          # as abrupt as SIGKILL: no finally, no cleanup
    real(a, b)
os.replace = replace
mx.random.seed(3)
net = nn.Dense(5, in_units=4)
net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
mxport.export(net, sys.argv[1], inputs=[TensorSpec("x", (-1, 4))])
"""


@pytest.mark.parametrize("kill_at", [1, 2, 3, 4, 5])
def test_an_exporter_killed_midway_leaves_the_old_model_or_none_and_loses_nothing(tmp_path, kill_at):
    import subprocess
    import sys

    prefix = tmp_path / "m"
    mxport.export(small_net(3), prefix, inputs=[TensorSpec("x", (-1, 4))])
    old = {f: (tmp_path / f).read_bytes() for f in os.listdir(tmp_path)}
    done = subprocess.run([sys.executable, "-c", KILLER, str(prefix), str(kill_at)], capture_output=True)
    x = np.ones((1, 4), "float32")
    try:
        width = mxport.load(prefix)(x).shape[1]
    except mxport.MxportError as e:  # no model at the prefix: the previous one must sit in the backups
        assert e.code == "MODEL_NOT_FOUND" and "interrupted" in str(e), str(e)
        assert done.returncode == 9
        for f, content in old.items():  # each old file is in place or beside it as a backup
            backup = tmp_path / (f + ".mxport-backup")
            assert (backup if backup.exists() else tmp_path / f).read_bytes() == content, f
        mxport.export(small_net(5), prefix, inputs=[TensorSpec("x", (-1, 4))])  # and the next export just works
        assert mxport.load(prefix)(x).shape == (1, 5)
        return
    if done.returncode == 9:
        assert width == 3 or kill_at > 4, f"killed at rename {kill_at}: the new model must not be half there"
    else:
        assert width == 5
