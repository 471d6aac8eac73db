"""Class names and metadata in the signature (format version 2): export, read back, top_k, and the rules."""

import json

import mxnet as mx
import numpy as np
import pytest

import mxport
from mxport import Signature, TensorSpec
from mxport.cli import main as cli

NAMES = ["tabby", "crane", "crane", "café 🐱"]
META = {"name": "four classes", "licence": "CC0-1.0", "source": "python/tests/test_labels.py"}


def net():
    mx.random.seed(11)
    n = mx.gluon.nn.Dense(4, in_units=5)
    n.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    return n


def export(prefix, **kwargs):
    return mxport.export(
        net(),
        prefix,
        inputs=[TensorSpec("x", (-1, 5), "float32", "NC")],
        output_names=["prob"],
        postprocess=mx.gluon.nn.HybridLambda(lambda F, x: F.softmax(x)),
        overwrite=True,
        **kwargs,
    )


def stored_signature(prefix):
    with open(f"{prefix}-symbol.json") as f:
        nodes = json.load(f)["nodes"]
    return [
        json.loads(n["attrs"]["__mxport_signature__"]) for n in nodes if "__mxport_signature__" in n.get("attrs", {})
    ][0]


def test_labels_and_metadata_round_trip_as_format_2(tmp_path):
    prefix = str(tmp_path / "m")
    sig = export(prefix, labels={"prob": NAMES}, metadata=META)
    assert sig.outputs[0].labels == tuple(NAMES) and sig.metadata == META
    assert stored_signature(prefix)["mxport_format"] == 2
    block = mxport.load(prefix)
    assert block.signature.outputs[0].labels == tuple(NAMES)
    assert block.signature.metadata == META
    assert list(block.signature.metadata) == list(META)  # the writer's order
    assert mxport.load(prefix, load_transforms=False).signature.outputs[0].labels is None  # network: no labels


def test_without_labels_or_metadata_a_model_stays_format_1(tmp_path):
    prefix = str(tmp_path / "m")
    sig = export(prefix)
    assert stored_signature(prefix)["mxport_format"] == 1
    assert sig.metadata == {} and sig.outputs[0].labels is None


def test_top_k_ranks_one_sample_with_its_names(tmp_path):
    prefix = str(tmp_path / "m")
    spec = export(prefix, labels={"prob": NAMES}).outputs[0]
    scores = np.array([0.1, 0.4, 0.4, 0.1], "float32")
    assert spec.top_k(scores, 3) == [
        (1, "crane", pytest.approx(0.4)),
        (2, "crane", pytest.approx(0.4)),
        (0, "tabby", pytest.approx(0.1)),
    ]
    assert [i for i, _, _ in spec.top_k(scores, 10)] == [1, 2, 0, 3]
    plain = TensorSpec("prob", (-1, 4))
    assert plain.top_k(scores, 1) == [(1, None, pytest.approx(0.4))]
    with pytest.raises(mxport.MxportError, match=r"pass outputs\[i\]") as e:
        spec.top_k(scores[np.newaxis], 3)
    assert e.value.code == "SHAPE_MISMATCH"
    with pytest.raises(mxport.MxportError) as e:
        spec.top_k(scores, 0)
    assert e.value.code == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"labels": {"prob": NAMES[:3]}}, "3 labels for a last dimension of 4"),
        ({"labels": {"logits": NAMES}}, r"labels names \['logits'\], which are not outputs \['prob'\]"),
        ({"labels": {"prob": ["a", "", "c", "d"]}}, "label 1 must have 1 to 1024 characters"),
        ({"labels": {"prob": ["a", 2, "c", "d"]}}, "labels must be a list of strings"),
        ({"labels": NAMES}, "labels must be a dict of output name"),
        ({"metadata": {"year": 2020}}, "metadata 'year' must be a string"),
        ({"metadata": {"bad key": "x"}}, "metadata key 'bad key' must match"),
        ({"metadata": {f"k{i}": "v" for i in range(65)}}, "at most 64"),
    ],
)
def test_bad_labels_or_metadata_are_invalid_arguments_that_say_why(tmp_path, kwargs, match):
    with pytest.raises(mxport.MxportError, match=match) as e:
        export(str(tmp_path / "m"), **kwargs)
    assert e.value.code == "INVALID_ARGUMENT"


def test_a_dynamic_class_dimension_cannot_carry_labels():
    with pytest.raises(mxport.MxportError, match="2 labels for a last dimension of -1"):
        TensorSpec("prob", (-1, -1), labels=["a", "b"])


def test_names_with_a_trailing_newline_are_refused_as_java_refuses_them():
    """Python's `$` matches before a final newline; the rule is the whole string, as in Java and the schema."""
    from mxport._rules import name_problem  # the name rule binds what mxport writes (FORMAT.md 2, 7)

    assert "must match" in name_problem("data\n") and name_problem("data") is None
    with pytest.raises(mxport.MxportError, match="layout"):
        TensorSpec("data", (-1, 3, 4), layout="NC\n")


def test_inspect_shows_labels_and_metadata(tmp_path, capsys):
    prefix = str(tmp_path / "m")
    export(prefix, labels={"prob": NAMES}, metadata=META)
    assert cli(["inspect", prefix]) == 0
    out = capsys.readouterr().out
    assert "labels of prob: 4 (0 tabby, 1 crane, 2 crane, ... 3 café 🐱)" in out
    assert "metadata licence: CC0-1.0" in out


def test_a_version_1_signature_with_metadata_is_bad(tmp_path):
    prefix = str(tmp_path / "m")
    export(prefix, metadata=META)
    doc = stored_signature(prefix)
    doc["mxport_format"] = 1
    with pytest.raises(mxport.MxportError, match=r"unknown \['metadata'\]") as e:
        Signature.from_json(json.dumps(doc))
    assert e.value.code == "BAD_SIGNATURE"
    doc["mxport_format"] = 4
    with pytest.raises(mxport.MxportError, match=r"reads versions \[1, 2, 3\]") as e:
        Signature.from_json(json.dumps(doc))
    assert e.value.code == "UNSUPPORTED_FORMAT_VERSION"
