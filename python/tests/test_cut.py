"""Cutting at the connectors (spec section 5): the pieces, run one after another, are the fused model."""

import json
import os

import mxnet as mx
import numpy as np
import pytest
from mxnet import gluon

import mxport
from mxport import _graph
from conftest import VECTORS, assert_meaningful


def piece(graph, inputs):
    sym = mx.sym.load_json(json.dumps(graph))
    return sym, gluon.SymbolBlock(sym, [mx.sym.var(n) for n in inputs])


def run_in_pieces(prefix, arrays):
    """input transforms -> network alone -> output transforms, each a separate graph."""
    graph = json.load(open(f"{prefix}-symbol.json"))
    sig = _graph.find_signature(graph, prefix)
    params = {k[4:]: v for k, v in mx.nd.load(f"{prefix}.params").items()}

    def run(g, names, xs):
        sym, block = piece(g, names)
        block.collect_params().load_dict(
            {k: v for k, v in params.items() if k in sym.list_arguments() + sym.list_auxiliary_states()},
            ignore_extra=True,
        )
        out = block(*xs)
        return out if isinstance(out, list) else [out]

    feats = [
        run(_graph.cut_input_transforms(graph, s.name), [s.name], [mx.nd.array(a, dtype=a.dtype)])[0]
        for s, a in zip(sig.inputs, arrays)
    ]
    raw = run(_graph.cut_network(graph, sig), sig.input_names, feats)
    return [
        run(_graph.cut_output_transforms(graph, sig, o.name), [o.name], [r])[0].asnumpy()
        for o, r in zip(sig.outputs, raw)
    ]


@pytest.mark.parametrize("case", ["multi_in_multi_out", "uint8_image", "postprocess"])
def test_pieces_equal_the_fused_vector_model_bit_for_bit(case):
    prefix = os.path.join(VECTORS, case, "model")
    sig = mxport.read_signature(prefix)
    rng = np.random.RandomState(0)
    arrays = [
        rng.randint(0, 256, (3,) + s.shape[1:]).astype(s.dtype)
        if s.dtype == "uint8"
        else rng.uniform(-1, 1, (3,) + s.shape[1:]).astype(s.dtype)
        for s in sig.inputs
    ]
    fused = mxport.load(prefix)(*arrays)
    fused = fused if isinstance(fused, list) else [fused]
    for got, want in zip(run_in_pieces(prefix, arrays), fused):
        assert_meaningful(want.asnumpy())
        assert np.array_equal(got, want.asnumpy())


def test_pieces_equal_the_fused_resnet_bit_for_bit(resnet):
    x = np.random.RandomState(1).randint(0, 256, (2, 300, 300, 3)).astype("uint8")
    want = mxport.load(resnet)(x).asnumpy()
    (got,) = run_in_pieces(resnet, [x])
    assert_meaningful(np.log(want))
    assert np.array_equal(got, want)


def test_the_network_alone_is_what_load_transforms_false_runs(resnet):
    sig = mxport.read_signature(resnet)
    block = mxport.load(resnet, load_transforms=False)
    assert block.signature == sig.network
    x = np.random.RandomState(2).uniform(-2, 2, (2, 3, 224, 224)).astype("float32")
    logits = block(x).asnumpy()
    assert_meaningful(logits)
    graph = json.load(open(f"{resnet}-symbol.json"))
    cut = _graph.cut_network(graph, sig)
    assert [n["op"] for n in cut["nodes"]].count("_copy") == 1  # the no-op connector stays; batchify is a variable
    assert cut["nodes"][0] == {"op": "null", "name": "data", "inputs": []}
    assert "node_row_ptr" not in cut


def test_cutting_finds_connectors_by_attribute_not_by_name(tmp_path):
    source = os.path.join(VECTORS, "single_in_single_out", "model")
    graph = json.load(open(f"{source}-symbol.json"))
    for i, node in enumerate(graph["nodes"]):
        node["name"] = f"renamed{i}" if node["op"] != "null" else node["name"]
    json.dump(graph, open(tmp_path / "m-symbol.json", "w"))
    (tmp_path / "m.params").write_bytes(open(f"{source}.params", "rb").read())
    x = np.ones((2, 6), "float32")
    assert np.array_equal(
        mxport.load(tmp_path / "m", load_transforms=False)(x).asnumpy(),
        mxport.load(source, load_transforms=False)(x).asnumpy(),
    )
