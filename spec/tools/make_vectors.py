"""Regenerates the conformance vectors of spec/FORMAT.md section 11, deterministically.

    python spec/tools/make_vectors.py spec/vectors

Every model is small, built with fixed seeds and a He-style init (so outputs are of order 0.1-10, never the
~1e-15 that Gluon's default init gives and that would make "outputs are equal" prove nothing). Expected
outputs are the ORIGINAL Gluon blocks run imperatively (preprocess -> net -> postprocess), not mxport's
loader: a loader is checked against the network it claims to run.
"""

import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python", "src"))
import mxport  # noqa: E402  first: it sets up what MXNet needs on Python 3.12+ (spec/RUNTIME.md section 7)
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402
from mxnet import gluon  # noqa: E402
from mxnet.gluon import nn  # noqa: E402
from mxnet.gluon.data.vision import transforms  # noqa: E402

from mxport import TensorSpec, _graph  # noqa: E402

HE = mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)
RTOL, ATOL = 1e-5, 1e-6
# oneDNN's int8 kernels compute otherwise on CPUs with VNNI (AVX-512 VNNI, AVX-VNNI) than on AVX2 alone, where
# u8 x s8 products pass through saturating int16 sums: an int8 vector's outputs hold within this across CPUs
# (measured: 0.031 on logits of 1.84 between an AVX-512 VNNI Xeon and an AVX2 EPYC), not bit for bit
INT8_RTOL, INT8_ATOL = 0.02, 0.05


def lam(fn, prefix):
    return nn.HybridLambda(fn, prefix=prefix)


class TwoHeads(gluon.HybridBlock):
    def __init__(self, **kw):
        super().__init__(**kw)
        with self.name_scope():
            self.body = nn.Dense(8, activation="relu", prefix="body_")
            self.a = nn.Dense(3, prefix="a_")
            self.b = nn.Dense(2, prefix="b_")

    def hybrid_forward(self, F, x):
        h = self.body(x)
        return self.a(h), self.b(h)


class TwoInputs(gluon.HybridBlock):
    def __init__(self, outputs=1, **kw):
        super().__init__(**kw)
        self.outputs = outputs
        with self.name_scope():
            self.fa = nn.Dense(6, activation="relu", prefix="fa_")
            self.fb = nn.Dense(6, activation="relu", prefix="fb_")
            self.head = nn.Dense(4, prefix="head_")
            self.aux = nn.Dense(2, prefix="aux_")

    def hybrid_forward(self, F, a, b):
        h = F.concat(self.fa(a), self.fb(b), dim=1)
        return (self.head(h), self.aux(h)) if self.outputs == 2 else self.head(h)


def mlp(prefix, hidden=8, out=3):
    net = nn.HybridSequential(prefix=prefix)
    with net.name_scope():
        net.add(nn.Dense(hidden, activation="relu"), nn.Dense(out))
    return net


def image_pre():
    pre = nn.HybridSequential(prefix="pre_")
    with pre.name_scope():
        pre.add(
            transforms.Resize((8, 8)),
            transforms.ToTensor(),
            transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
        )
    return pre


def image_net():
    net = nn.HybridSequential(prefix="cnn_")
    with net.name_scope():
        net.add(nn.Conv2D(4, 3, activation="relu"), nn.BatchNorm(), nn.Flatten(), nn.Dense(5))
    return net


def image_case(w, name, what, **options):
    """A case of the uint8 image model (image_net with image_pre, seed 3): as is, or optimised."""
    w.case(
        name,
        what,
        image_net(),
        [TensorSpec("image", (-1, 12, 10, 3), "uint8", "NHWC")],
        pre=image_pre(),
        output_names=["logits"],
        layouts={"logits": "NC", "network:image": "NCHW"},
        seed=3,
        **options,
    )


def rand(rng, shape, dtype):
    if dtype == "uint8":
        return rng.randint(0, 256, size=shape).astype("uint8")
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def reference(pre, net, post, arrays):
    """The original blocks, run imperatively: the expected outputs, and the network's inputs and outputs."""
    xs = [mx.nd.array(a, dtype=a.dtype) for a in arrays]
    feats = [p(x) if p is not None else x for p, x in zip(pre, xs)]
    raw = net(*feats)
    raw = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    outs = [p(y) if p is not None else y for p, y in zip(post, raw)]
    return [o.asnumpy() for o in outs], [f.asnumpy() for f in feats], [r.asnumpy() for r in raw]


VECTORS_PRODUCER_VERSION = "0+vectors"  # informative only (FORMAT.md: loaders ignore producer)


class Writer:
    def __init__(self, root):
        self.root = root

    def case(
        self,
        name,
        description,
        net,
        specs,
        pre=None,
        post=None,
        output_names=None,
        layouts=None,
        batches=(2,),
        extra_runs=(),
        seed=0,
        labels=None,
        metadata=None,
        optimize="none",
        calibration=None,
    ):
        folder = os.path.join(self.root, name)
        os.makedirs(folder)
        n_in = len(specs)
        pre_list = pre if isinstance(pre, list) else [pre] * n_in if pre is not None else [None] * n_in
        mx.random.seed(seed)
        net.initialize(HE)
        for p in pre_list:
            if p is not None:
                p.initialize(HE)
        mxport.export(
            net,
            os.path.join(folder, "model"),
            inputs=specs,
            preprocess=pre,
            postprocess=post,
            output_names=output_names,
            layouts=layouts,
            labels=labels,
            metadata=metadata,
            optimize=optimize,
            calibration=calibration,
        )
        sig = mxport.read_signature(os.path.join(folder, "model"))
        n_out = len(sig.outputs)
        # the vectors belong to the format, not to a release: a fixed producer keeps them byte-stable across versions
        edit_signature(lambda sig: sig["producer"].update(version=VECTORS_PRODUCER_VERSION))(folder)
        post_list = post if isinstance(post, list) else [post] * n_out if post is not None else [None] * n_out
        rng = np.random.RandomState(seed)
        runs = []
        for r, batch in enumerate(batches):
            arrays = [rand(rng, (batch,) + tuple(12 if d == -1 else d for d in s.shape[1:]), s.dtype) for s in specs]
            outs, feats, raw = reference(pre_list, net, post_list, arrays)
            if optimize != "none":  # the optimised graph is not the Gluon blocks: stock MXNet runs its files
                outs, raw = stock_outputs(folder, sig, arrays, feats)
            for o in outs + raw:
                assert np.abs(o).max() > 1e-2, f"{name}: degenerate reference output"
            runs.append(self._run(folder, f"{r}", True, arrays, outs))
            if any(p is not None for p in pre_list + post_list):
                runs.append(self._run(folder, f"{r}_net", False, feats, raw))
        for run in extra_runs:
            runs.append(self._bad_run(folder, rng, run))
        expect = {
            "mxport_format": sig.format_version,
            "metadata": dict(sig.metadata),
            "labels": {s.name: list(s.labels) for s in sig.outputs if s.labels is not None},
        }
        if sig.optimization is not None:
            expect["optimization"] = sig.optimization
        tolerance = (INT8_RTOL, INT8_ATOL) if optimize == "int8" else (RTOL, ATOL)
        self._case_json(folder, description, runs, signature=expect, tolerance=tolerance)

    def _run(self, folder, tag, load_transforms, inputs, outputs):
        names_in = [f"in_{tag}_{i}.npy" for i in range(len(inputs))]
        names_out = [f"out_{tag}_{j}.npy" for j in range(len(outputs))]
        for n, a in zip(names_in + names_out, list(inputs) + list(outputs)):
            np.save(os.path.join(folder, n), np.ascontiguousarray(a))
        return {"load_transforms": load_transforms, "inputs": names_in, "outputs": names_out}

    def _bad_run(self, folder, rng, run):
        tag = run["tag"]
        names = []
        for i, (shape, dtype) in enumerate(run["arrays"]):
            names.append(f"in_{tag}_{i}.npy")
            np.save(os.path.join(folder, names[-1]), rand(rng, shape, dtype))
        out = {"load_transforms": True, "inputs": names, "expected_error": run["error"]}
        if "names" in run:
            out["names"] = run["names"]
        return out

    def _case_json(
        self,
        folder,
        description,
        runs,
        load=None,
        expected_error=None,
        signature=None,
        output_names=None,
        tolerance=(RTOL, ATOL),
    ):
        doc = {
            "description": description,
            "rtol": tolerance[0],
            "atol": tolerance[1],
            "load": load or {"inputs": None, "epoch": None},
            "runs": runs,
            "expected_error": expected_error,
        }
        if signature is not None:
            doc["signature"] = signature
        if output_names is not None:
            doc["output_names"] = output_names
        with open(os.path.join(folder, "case.json"), "w") as f:
            json.dump(doc, f, indent=2)
            f.write("\n")

    def invalid(self, name, description, source, code, mutate, load=None):
        """A copy of another case's model, broken by mutate(folder), that must fail to load with code."""
        folder = os.path.join(self.root, name)
        shutil.copytree(
            os.path.join(self.root, source),
            folder,
            ignore=lambda d, files: [f for f in files if f.endswith(".npy") or f == "case.json"],
        )
        mutate(folder)
        self._case_json(folder, description, [], load=load, expected_error=code)


def stock_outputs(folder, sig, arrays, feats):
    """Outputs of an optimised model run by stock MXNet (SymbolBlock over its files): the whole graph on
    ``arrays``, and the network alone (cut as spec section 5 says) on ``feats``."""
    params = mx.nd.load(os.path.join(folder, "model.params"))
    params = {k.split(":", 1)[1]: v for k, v in params.items()}
    with open(os.path.join(folder, "model-symbol.json")) as f:
        graph = json.load(f)

    def run(g, specs, xs):
        block = gluon.SymbolBlock(mx.sym.load_json(json.dumps(g)), [mx.sym.var(s.name, dtype=s.dtype) for s in specs])
        block.collect_params().load_dict(params, ignore_extra=True)
        ys = block(*[mx.nd.array(x, dtype=x.dtype) for x in xs])
        return [y.asnumpy() for y in (ys if isinstance(ys, list) else [ys])]

    return run(graph, sig.inputs, arrays), run(_graph.cut_network(graph, sig), sig.network.inputs, feats)


def edit_symbol(fn):
    def mutate(folder):
        path = os.path.join(folder, "model-symbol.json")
        with open(path) as f:
            graph = json.load(f)
        fn(graph)
        with open(path, "w") as f:
            json.dump(graph, f, indent=2)

    return mutate


def edit_signature(fn):
    def on_graph(graph):
        for node in graph["nodes"]:
            attrs = node.get("attrs", {})
            if _graph.SIGNATURE_ATTR in attrs:
                sig = json.loads(attrs[_graph.SIGNATURE_ATTR])
                fn(sig)
                attrs[_graph.SIGNATURE_ATTR] = json.dumps(sig, separators=(",", ":"))

    return edit_symbol(on_graph)


def write_text(name, text):
    def mutate(folder):
        with open(os.path.join(folder, name), "w") as f:
            f.write(text)

    return mutate


def main(root):
    if os.path.isdir(root):
        for entry in os.listdir(root):
            if os.path.isdir(os.path.join(root, entry)):
                shutil.rmtree(os.path.join(root, entry))
    os.makedirs(root, exist_ok=True)
    w = Writer(root)
    f32 = "float32"
    w.case(
        "single_in_single_out",
        "one float32 input, one output, no transforms",
        mlp("mlp_"),
        [TensorSpec("x", (-1, 6), f32, "NC")],
        output_names=["y"],
        layouts={"y": "NC"},
    )
    w.case(
        "single_in_multi_out",
        "one input, two outputs of different widths",
        TwoHeads(prefix="twoheads_"),
        [TensorSpec("x", (-1, 6), f32, "NC")],
        output_names=["a", "b"],
    )
    w.case(
        "multi_in_single_out",
        "two inputs, each with its own transforms (affine; negation), one output",
        TwoInputs(prefix="twoin_"),
        [TensorSpec("a", (-1, 4), f32, "NC"), TensorSpec("b", (-1, 3), f32, "NC")],
        pre=[lam(lambda F, x: x * 2 + 1, "scale_"), lam(lambda F, x: F.negative(x), "neg_")],
        output_names=["y"],
        seed=1,
        extra_runs=[
            {"tag": "count", "arrays": [((2, 4), f32)], "error": "INPUT_COUNT"},
            {"tag": "unknown", "arrays": [((2, 4), f32), ((2, 3), f32)], "names": ["a", "c"], "error": "UNKNOWN_INPUT"},
            {"tag": "rank", "arrays": [((4,), f32), ((2, 3), f32)], "error": "SHAPE_MISMATCH"},
            {"tag": "dim", "arrays": [((2, 5), f32), ((2, 3), f32)], "error": "SHAPE_MISMATCH"},
            {"tag": "batches", "arrays": [((2, 4), f32), ((3, 3), f32)], "error": "SHAPE_MISMATCH"},
            {"tag": "empty", "arrays": [((0, 4), f32), ((0, 3), f32)], "error": "SHAPE_MISMATCH"},
            {"tag": "dtype", "arrays": [((2, 4), "float64"), ((2, 3), f32)], "error": "DTYPE_MISMATCH"},
        ],
    )
    w.case(
        "multi_in_multi_out",
        "two inputs (one with transforms), two outputs (one with softmax after)",
        TwoInputs(outputs=2, prefix="twoio_"),
        [TensorSpec("a", (-1, 4), f32, "NC"), TensorSpec("b", (-1, 3), f32, "NC")],
        pre=[lam(lambda F, x: x - 0.5, "shift_"), None],
        post=[lam(lambda F, x: F.softmax(x), "softmax_"), None],
        output_names=["p", "q"],
        seed=2,
    )
    image_case(
        w,
        "uint8_image",
        "a uint8 NHWC image batch; Resize(8,8) + ToTensor + Normalize in the graph",
        extra_runs=[{"tag": "f32", "arrays": [((1, 12, 10, 3), f32)], "error": "DTYPE_MISMATCH"}],
    )
    w.case(
        "postprocess",
        "softmax as output transform",
        mlp("post_mlp_", out=4),
        [TensorSpec("x", (-1, 5), f32, "NC")],
        post=lam(lambda F, x: F.softmax(x), "post_"),
        output_names=["prob"],
        seed=4,
    )
    w.case(
        "dynamic_batch",
        "one model run at batch 1 and batch 3",
        mlp("dyn_mlp_"),
        [TensorSpec("x", (-1, 5), f32, "NC")],
        output_names=["y"],
        batches=(1, 3),
        seed=5,
    )
    w.case(
        "labels_metadata",
        "format version 2: class names on the output, and model metadata",
        mlp("labels_mlp_", out=4),
        [TensorSpec("x", (-1, 5), f32, "NC")],
        post=lam(lambda F, x: F.softmax(x), "labels_post_"),
        output_names=["prob"],
        layouts={"prob": "NC"},
        labels={"prob": ["tabby", "crane", "crane", "caf\u00e9 \U0001f431"]},  # duplicates and non-ASCII are fine
        metadata={"name": "four-class example", "licence": "CC0-1.0", "source": "spec/tools/make_vectors.py"},
        seed=7,
    )
    calibration = [rand(np.random.RandomState(11), (4, 12, 10, 3), "uint8") for _ in range(2)]
    image_case(
        w,
        "optimized_fused",
        "format version 3: the uint8_image model with oneDNN fusion (optimize='fused')",
        optimize="fused",
    )
    image_case(
        w,
        "optimized_int8",
        "format version 3: the uint8_image model quantised to int8 (naive calibration on 8 seeded images)",
        optimize="int8",
        calibration=calibration,
    )
    old_format(w, root)
    old_converter_names(w, root)

    w.invalid(
        "invalid_not_json",
        "the symbol file is not JSON",
        "single_in_single_out",
        "BAD_SYMBOL_JSON",
        write_text("model-symbol.json", '{"nodes": [ this is not json'),
    )
    w.invalid(
        "invalid_not_a_graph",
        "valid JSON without nodes and heads",
        "single_in_single_out",
        "BAD_SYMBOL_JSON",
        write_text("model-symbol.json", '{"model": "resnet", "layers": 18}'),
    )
    w.invalid(
        "invalid_params_missing",
        "the params file is absent",
        "single_in_single_out",
        "MODEL_NOT_FOUND",
        lambda f: os.remove(os.path.join(f, "model.params")),
    )
    w.invalid(
        "invalid_digest_mismatch",
        "one byte of the params file flipped",
        "single_in_single_out",
        "DIGEST_MISMATCH",
        flip_byte,
    )
    w.invalid(
        "invalid_params_garbage",
        "params of the right digest that MXNet cannot parse",
        "single_in_single_out",
        "BAD_PARAMS",
        garbage_params,
    )
    w.invalid(
        "invalid_format_version",
        "mxport_format 99",
        "single_in_single_out",
        "UNSUPPORTED_FORMAT_VERSION",
        edit_signature(lambda s: s.update(mxport_format=99)),
    )
    w.invalid(
        "invalid_signature_missing_dtype",
        "an input spec without dtype",
        "single_in_single_out",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["inputs"][0].pop("dtype")),
    )
    w.invalid(
        "invalid_signature_absurd_shape",
        "a dimension of 2^40",
        "single_in_single_out",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["inputs"][0].update(shape=[-1, 2**40])),
    )
    w.invalid(
        "invalid_signature_bad_layout",
        "a layout whose length is not the rank",
        "single_in_single_out",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["inputs"][0].update(layout="NCHW")),
    )
    w.invalid(
        "invalid_signature_bad_name",
        "a signature output named as a converter names it ('/Softmax_output'): the name rule binds signatures",
        "single_in_single_out",
        "BAD_SIGNATURE",
        edit_signature(converter_output_name),
    )
    w.invalid(
        "invalid_signature_unknown_dtype",
        "dtype bfloat7",
        "single_in_single_out",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["outputs"][0].update(dtype="bfloat7")),
    )
    w.invalid(
        "invalid_two_signatures",
        "two nodes carry a signature",
        "single_in_multi_out",
        "BAD_SIGNATURE",
        edit_symbol(copy_signature_to_noop),
    )
    w.invalid(
        "invalid_connector_missing",
        "the no-op connector lost its marks",
        "single_in_single_out",
        "BAD_CONNECTORS",
        edit_symbol(lambda g: strip_connector(g, "noop")),
    )
    w.invalid(
        "invalid_connector_doubled",
        "two batchify connectors for one input",
        "single_in_single_out",
        "BAD_CONNECTORS",
        edit_symbol(double_batchify),
    )
    w.invalid(
        "invalid_labels_count",
        "3 labels for an output of 4 classes",
        "labels_metadata",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["outputs"][0]["labels"].pop()),
    )
    w.invalid(
        "invalid_labels_on_input",
        "labels on an input (only outputs carry them)",
        "labels_metadata",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["inputs"][0].update(labels=["a"] * 5)),
    )
    w.invalid(
        "invalid_labels_in_version_1",
        "an output with labels in a format-1 signature",
        "labels_metadata",
        "BAD_SIGNATURE",
        edit_signature(lambda s: (s.update(mxport_format=1), s.pop("metadata"))),
    )
    w.invalid(
        "invalid_metadata_not_string",
        "a metadata value that is a number",
        "labels_metadata",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["metadata"].update(year=2020)),
    )
    w.invalid(
        "invalid_optimization_kind",
        "an optimization of kind 'int4'",
        "optimized_int8",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s["optimization"].update(kind="int4")),
    )
    w.invalid(
        "invalid_optimization_in_version_2",
        "an optimization record in a format-2 signature",
        "optimized_fused",
        "BAD_SIGNATURE",
        edit_signature(lambda s: s.update(mxport_format=2)),
    )
    w.invalid(
        "invalid_params_name_not_utf8",
        "an old model whose params file has an array name that is not UTF-8 "
        "(a flipped byte; an old model has no digest to catch it)",
        "old_converter_names",
        "BAD_PARAMS",
        name_not_utf8,
        load=json.load(open(os.path.join(root, "old_converter_names", "case.json")))["load"],
    )
    w.invalid(
        "invalid_no_signature",
        "an old model loaded without input descriptions",
        "old_format",
        "NO_SIGNATURE",
        lambda f: None,
        load={"inputs": None, "epoch": 7},
    )


def old_format(w, root):
    """A stock Gluon export: model-symbol.json + model-0007.params, no signature."""
    folder = os.path.join(root, "old_format")
    os.makedirs(folder)
    mx.random.seed(6)
    net = mlp("old_mlp_", out=4)
    net.initialize(HE)
    net.hybridize()
    rng = np.random.RandomState(6)
    x = rand(rng, (2, 5), "float32")
    y = net(mx.nd.array(x)).asnumpy()
    assert np.abs(y).max() > 1e-2
    net.export(os.path.join(folder, "model"), epoch=7)
    run = w._run(folder, "0", True, [x], [y])
    load = {"inputs": [TensorSpec("data", (-1, 5), "float32", "NC").to_dict()], "epoch": 7}
    w._case_json(folder, "an old model (stock Gluon export, epoch 7), loaded with input descriptions", [run], load=load)


# Names as ONNX converters and the PyTorch exporter write them: '/', spaces, leading digits, ':' and ';', dots,
# non-ASCII. An old model keeps them (spec section 7).
CONVERTER_INPUTS = ("input.1", "0")
CONVERTER_OUTPUTS = ("/Softmax_output", "123_output")


def old_converter_names(w, root):
    """An old model whose node names come from a converter, none of which matches the signature's name rule:
    two inputs ("input.1", "0"), two outputs ("/Softmax_output", "123_output"), epoch 3."""
    folder = os.path.join(root, "old_converter_names")
    os.makedirs(folder)
    rng = np.random.RandomState(8)
    he = lambda *shape: (rng.randn(*shape) * np.sqrt(2.0 / shape[-1])).astype(np.float32)  # noqa: E731
    params = {
        "layer1.0.fc.weight": he(8, 5),
        "layer1.0.fc.bias": rng.randn(8).astype(np.float32) * 0.1,
        "onnx::Gemm_7": he(8, 3),
        "head weight/\u00e9": he(4, 8),
        "2": rng.randn(4).astype(np.float32) * 0.1,
    }
    a, b = mx.sym.var(CONVERTER_INPUTS[0]), mx.sym.var(CONVERTER_INPUTS[1])
    h = mx.sym.FullyConnected(
        a,
        mx.sym.var("layer1.0.fc.weight"),
        mx.sym.var("layer1.0.fc.bias"),
        num_hidden=8,
        name="/layer1/layer1.0/fc/Gemm",
    )
    g = mx.sym.FullyConnected(b, mx.sym.var("onnx::Gemm_7"), num_hidden=8, no_bias=True, name="/Gemm_1 side")
    r = mx.sym.Activation(h + g, act_type="relu", name="/Relu;0:1")
    logits = mx.sym.FullyConnected(
        r, mx.sym.var("head weight/\u00e9"), mx.sym.var("2"), num_hidden=4, name="/head/Gemm"
    )
    sym = mx.sym.Group([mx.sym.softmax(logits, name="/Softmax"), mx.sym.tanh(logits, name="123")])
    assert tuple(sym.list_outputs()) == CONVERTER_OUTPUTS, sym.list_outputs()
    sym.save(os.path.join(folder, "model-symbol.json"))
    mx.nd.save(os.path.join(folder, "model-0003.params"), {"arg:" + k: mx.nd.array(v) for k, v in params.items()})
    # the reference: the same operators run imperatively (no symbol, no loader)
    x = rand(np.random.RandomState(9), (3, 5), "float32")
    y = rand(np.random.RandomState(10), (3, 3), "float32")
    nd = {k: mx.nd.array(v) for k, v in params.items()}
    hidden = mx.nd.relu(
        mx.nd.FullyConnected(mx.nd.array(x), nd["layer1.0.fc.weight"], nd["layer1.0.fc.bias"], num_hidden=8)
        + mx.nd.FullyConnected(mx.nd.array(y), nd["onnx::Gemm_7"], num_hidden=8, no_bias=True)
    )
    out = mx.nd.FullyConnected(hidden, nd["head weight/\u00e9"], nd["2"], num_hidden=4)
    outs = [mx.nd.softmax(out).asnumpy(), mx.nd.tanh(out).asnumpy()]
    for o in outs:
        assert np.abs(o).max() > 1e-2 and o.std() > 1e-2, "degenerate reference output"
    run = w._run(folder, "0", True, [x, y], outs)
    load = {
        "inputs": [
            TensorSpec("input.1", (-1, 5), "float32", "NC").to_dict(),
            TensorSpec("0", (-1, 3), "float32", "NC").to_dict(),
        ],
        "epoch": 3,
    }
    w._case_json(
        folder,
        "an old model with converter-style names ('/', spaces, leading digits, ';', ':', "
        "non-ASCII): it loads with the graph's own names",
        [run],
        load=load,
        output_names=list(CONVERTER_OUTPUTS),
    )


def name_not_utf8(folder):
    path = os.path.join(folder, "model-0003.params")
    data = bytearray(open(path, "rb").read())
    at = data.index(b"arg:onnx::Gemm_7")
    data[at + len("arg:onnx::Gemm_")] = 0xB7  # a UTF-8 continuation byte with no lead
    open(path, "wb").write(bytes(data))


def converter_output_name(sig):
    """Names the output in the model and network lists alike, so only the name rule is broken."""
    for outputs in (sig["outputs"], sig["network"]["outputs"]):
        outputs[0]["name"] = "/Softmax_output"


def flip_byte(folder):
    path = os.path.join(folder, "model.params")
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x40
    open(path, "wb").write(bytes(data))


def garbage_params(folder):
    import hashlib

    data = bytes(range(256)) * 4
    open(os.path.join(folder, "model.params"), "wb").write(data)

    def fix(sig):
        sig["params"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    edit_signature(fix)(folder)


def copy_signature_to_noop(graph):
    sig = next(n["attrs"][_graph.SIGNATURE_ATTR] for n in graph["nodes"] if _graph.SIGNATURE_ATTR in n.get("attrs", {}))
    noop = next(n for n in graph["nodes"] if n.get("attrs", {}).get(_graph.CONNECTOR_ATTR) == "noop")
    noop["attrs"][_graph.SIGNATURE_ATTR] = sig


def strip_connector(graph, kind):
    for n in graph["nodes"]:
        if n.get("attrs", {}).get(_graph.CONNECTOR_ATTR) == kind:
            del n["attrs"][_graph.CONNECTOR_ATTR]
            del n["attrs"][_graph.PORT_ATTR]


def double_batchify(graph):
    """Inserts a second batchify connector for the same input right after the first."""
    nodes = graph["nodes"]
    i = next(k for k, n in enumerate(nodes) if n.get("attrs", {}).get(_graph.CONNECTOR_ATTR) == "batchify")
    twin = {
        "op": "_copy",
        "name": "mxport_batchify_twin",
        "inputs": [[i, 0, 0]],
        "attrs": {_graph.CONNECTOR_ATTR: "batchify", _graph.PORT_ATTR: nodes[i]["attrs"][_graph.PORT_ATTR]},
    }
    for n in nodes[i + 1 :]:
        n["inputs"] = [[r[0] + 1 if r[0] > i else r[0]] + r[1:] for r in n["inputs"]]
    for n in nodes[i + 1 :]:
        n["inputs"] = [[i + 1] + r[1:] if r[0] == i else r for r in n["inputs"]]
    nodes.insert(i + 1, twin)
    graph["heads"] = [[h[0] + 1 if h[0] > i else h[0]] + h[1:] for h in graph["heads"]]
    graph["arg_nodes"] = [a + 1 if a > i else a for a in graph["arg_nodes"]]
    graph.pop("node_row_ptr", None)


if __name__ == "__main__":
    main(sys.argv[1])
