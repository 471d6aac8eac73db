"""The real model: Google's EfficientNet-Lite0 ImageNet weights, converted by models/efficientnet_lite0.py.

The photos: demo/cat.jpg (CC0), and from the pinned scikit-image 0.22.0 wheel (.cache/wheels, fetched by the
converter) coffee.png (CC0, Rachel Michetti) and rocket.jpg (public domain, SpaceX), licences as its
skimage/data/_fetchers.py states them.

Pinned numbers were computed once by a reference run of this graph (mxnet 1.9.1 wheel, x86-64):
logits at the graph's no-op connector (the network's output, before the softmax), top-5 by logit.
"""

import collections
import io
import json
import os
import pickle
import struct
import sys
import types

import mxnet as mx
import numpy as np
import pytest

import mxport
from conftest import MODELS, REPO, assert_close

sys.path.insert(0, os.path.join(REPO, "models"))
import efficientnet_lite0 as lite0  # noqa: E402
import torch_pickle  # noqa: E402

CAT = os.path.join(REPO, "demo", "cat.jpg")
# photo -> (top-5 class ids, their logits), from this graph: OpenCV bicubic in-graph resize of the short side to 256
PINNED = {
    "cat.jpg": ([282, 285, 281, 287, 904], [9.29320, 9.17130, 8.53479, 6.05864, 3.60524]),
    "coffee.png": ([967, 968, 925, 960, 504], [11.23901, 7.17536, 6.43668, 5.96308, 5.69465]),
    "rocket.jpg": ([657, 744, 812, 540, 668], [7.67567, 7.15290, 6.21989, 5.67614, 4.82413]),
}
# The reference (../shared/REAL_MODEL.md, an independent run): centre crop 0.875, Pillow bicubic to 224x224
# outside the graph, then the network. Its cat logits for the same five classes:
REFERENCE_CAT = ([282, 285, 281, 287, 904], [9.2708, 9.2397, 8.4934, 6.2100, 3.5121])


@pytest.fixture(scope="session")
def lite0_model():
    prefix = os.path.join(MODELS, "efficientnet_lite0")
    lite0.main(prefix)
    return prefix


def photo_bytes(name):
    if name == "cat.jpg":
        with open(CAT, "rb") as f:
            return f.read()
    return lite0.photo(name)


def logits_and_prob(prefix, image):
    """The fused graph's internal logits (its no-op connector) and its output, in one run of stock MXNet."""
    sym = mx.sym.load(f"{prefix}-symbol.json")
    nodes = json.loads(sym.tojson())["nodes"]
    noop = [n["name"] for n in nodes if n.get("attrs", {}).get("__mxport_connector__") == "noop"]
    assert len(noop) == 1
    block = mx.gluon.SymbolBlock([sym.get_internals()[noop[0] + "_output"], sym], [mx.sym.var("image")])
    block.collect_params().load(f"{prefix}.params", ctx=mx.cpu())
    logits, prob = block(image)
    return logits.asnumpy()[0], prob.asnumpy()[0]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_each_photo_gets_its_pinned_top5_and_logits(lite0_model, name):
    image = mx.image.imdecode(photo_bytes(name)).expand_dims(0)  # uint8 NHWC at the photo's own size
    logits, prob = logits_and_prob(lite0_model, image)
    ids, want = PINNED[name]
    top = np.argsort(-logits, kind="stable")[:5]
    assert top.tolist() == ids
    assert_close(logits[top], want, rtol=0, atol=1e-3, what=f"{name} logits")
    assert_close(prob, mx.nd.softmax(mx.nd.array(logits)).asnumpy(), rtol=1e-5, atol=1e-7, what="softmax")
    got = mxport.load(lite0_model)(image).asnumpy()[0]  # the mxport loader gives the same probabilities
    assert np.array_equal(got, prob)


def test_the_cat_is_a_cat_with_names_from_the_model(lite0_model):
    block = mxport.load(lite0_model)
    prob = block(mx.image.imread(CAT).expand_dims(0)).asnumpy()[0]
    top = block.signature.outputs[0].top_k(prob, 3)
    assert [label for _, label, _ in top] == ["tiger cat", "Egyptian cat", "tabby"]
    assert block.signature.metadata["name"] == "EfficientNet-Lite0"
    assert "Apache-2.0" in block.signature.metadata["licence"]


def test_the_network_alone_reproduces_the_independent_reference(lite0_model):
    """Pillow bicubic outside the graph, as the reference did: the converted weights give its logits."""
    from PIL import Image

    image = Image.open(CAT).convert("RGB")
    side = min(image.size) * 0.875
    left, top = round((image.size[0] - side) / 2), round((image.size[1] - side) / 2)
    crop = image.crop((left, top, left + round(side), top + round(side))).resize((224, 224), Image.BICUBIC)
    x = ((np.asarray(crop, dtype="float32") - 127) / 128).transpose(2, 0, 1)[np.newaxis]
    logits = mxport.load(lite0_model, load_transforms=False)(x).asnumpy()[0]
    ids, want = REFERENCE_CAT
    assert np.argsort(-logits, kind="stable")[:5].tolist() == ids
    assert_close(logits[ids], want, rtol=0, atol=2e-4, what="reference logits")


def test_the_in_graph_bicubic_stays_within_0_16_of_the_reference(lite0_model):
    """In the graph: OpenCV bicubic resize of the whole photo's short side to 256, then the centre 224. The
    reference: a 0.875 crop resized by Pillow's (antialiased) bicubic. Same top-5 in the same order; the cat's
    logits differ by at most 0.1514 (lynx: 6.0586 here, 6.2100 there), 0.022 on the top class."""
    logits, _ = logits_and_prob(lite0_model, mx.image.imread(CAT).expand_dims(0))
    ids, ref = REFERENCE_CAT
    assert np.argsort(-logits, kind="stable")[:5].tolist() == ids
    diff = np.abs(logits[ids] - np.array(ref))
    assert 0.14 < diff.max() < 0.16 and diff[0] < 0.03, diff


def test_every_tensor_of_the_file_is_mapped_once_with_its_shape():
    tensors = lite0.weights()
    assert len(tensors) == 296 and sum(t.size for t in tensors.values()) == 4694073
    net = lite0.EfficientNetLite0(prefix="check_")
    net.initialize()
    net(mx.nd.zeros((1, 3, 224, 224)))
    assert lite0.load_weights(net, tensors) == 296 - 49  # 49 BatchNorms' num_batches_tracked are skipped
    extra = dict(tensors, **{"_blocks.16._bn0.weight": np.zeros(8, "float32")})
    with pytest.raises(ValueError, match=r"not mapped \['_blocks.16._bn0.weight'\]"):
        lite0.load_weights(net, extra)
    wrong = dict(tensors, **{"_fc.bias": np.zeros(999, "float32")})
    with pytest.raises(ValueError, match=r"_fc.bias has shape \(999,\)"):
        lite0.load_weights(net, wrong)


class _RunsCode:
    def __reduce__(self):
        return (os.system, ("touch " + _RunsCode.marker,))


def _legacy_file(payload):
    """A legacy torch.save file whose state-dict pickle is payload."""
    return (
        pickle.dumps(torch_pickle.MAGIC, 2)
        + pickle.dumps(torch_pickle.PROTOCOL, 2)
        + pickle.dumps({"little_endian": True}, 2)
        + payload
        + pickle.dumps([], 2)
    )


def test_a_pth_naming_os_system_is_refused_and_runs_nothing(tmp_path):
    _RunsCode.marker = str(tmp_path / "ran")
    data = _legacy_file(pickle.dumps({"w": _RunsCode()}, 2))
    with pytest.raises(torch_pickle.UnsafePickleError, match=r"global (posix|os)\.system.*refused"):
        torch_pickle.parse_state_dict(data)
    assert not os.path.exists(_RunsCode.marker)
    for module, name in (("builtins", "eval"), ("torch", "load"), ("collections", "namedtuple")):
        evil = b"\x80\x02c" + f"{module}\n{name}\n".encode() + b"q\x00."
        with pytest.raises(torch_pickle.UnsafePickleError, match=f"{module}.{name}"):
            torch_pickle.parse_state_dict(_legacy_file(evil))


def _tensor_file(monkeypatch, values, size, stride, offset=0):
    """A legacy torch.save file of {"t": tensor} over a float32 storage holding values, written by a
    pickler that names torch's globals as torch.save does (fake torch modules, never torch itself)."""
    torch, utils = types.ModuleType("torch"), types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called")

    class FloatStorage:
        pass

    _rebuild_tensor_v2.__module__, FloatStorage.__module__ = "torch._utils", "torch"
    _rebuild_tensor_v2.__qualname__, FloatStorage.__qualname__ = "_rebuild_tensor_v2", "FloatStorage"
    utils._rebuild_tensor_v2, torch.FloatStorage, torch._utils = _rebuild_tensor_v2, FloatStorage, utils
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    storage, tensor = object(), object()

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", FloatStorage, "0", "cpu", len(values), None) if obj is storage else None

        def reducer_override(self, obj):
            if obj is tensor:
                return _rebuild_tensor_v2, (storage, offset, size, stride, False, collections.OrderedDict())
            return NotImplemented

    out = io.BytesIO()
    Pickler(out, 2).dump(collections.OrderedDict(t=tensor))
    raw = np.asarray(values, "<f4").tobytes()
    return (
        _legacy_file(out.getvalue())[: -len(pickle.dumps([], 2))]
        + pickle.dumps(["0"], 2)
        + struct.pack("<q", len(values))
        + raw
    )


def test_a_strided_tensor_reads_as_torch_lays_it_out(monkeypatch):
    data = _tensor_file(monkeypatch, [0, 1, 2, 3, 4, 5, 6], size=(2, 3), stride=(1, 2), offset=1)
    assert torch_pickle.parse_state_dict(data)["t"].tolist() == [[1, 3, 5], [2, 4, 6]]


def test_a_tensor_reaching_beyond_its_storage_is_refused(monkeypatch):
    data = _tensor_file(monkeypatch, [0, 1, 2, 3], size=(2, 3), stride=(3, 1))
    with pytest.raises(ValueError, match="'t' reaches beyond its storage"):
        torch_pickle.parse_state_dict(data)
    data = _tensor_file(monkeypatch, [0, 1, 2, 3], size=(2, 2), stride=(-1, 1))
    with pytest.raises(ValueError, match="'t' has a bad offset, size or stride"):
        torch_pickle.parse_state_dict(data)


def test_a_truncated_file_is_refused():
    weights = lite0.read_member(lite0.WEIGHTS_WHEEL, lite0.WEIGHTS_MEMBER)
    with pytest.raises(ValueError, match="truncated"):
        torch_pickle.parse_state_dict(weights[:-100])
