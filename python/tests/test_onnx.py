"""ONNX export (spec/FORMAT.md section 13) and the ONNX engines: every conformance vector with a float graph and
both real models, run by plain ONNX Runtime and OpenVINO (no mxport code) within spec/onnx_tolerances.json of
MXNet's outputs, and through mxport.load(engine=...) with the block's input checks."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import mxport
from conftest import MODELS, REPO, VECTORS, assert_close, assert_meaningful, case_names

import onnx  # noqa: E402  (make test-python installs the extras: make onnx-setup)
import onnxruntime as ort  # noqa: E402
import openvino as ov  # noqa: E402

ENGINES = ("onnxruntime", "openvino")
with open(os.path.join(REPO, "spec", "onnx_tolerances.json")) as f:
    TOLERANCES = json.load(f)["engines"]
CAT = os.path.join(REPO, "demo", "cat.jpg")


def read_case(name):
    folder = os.path.join(VECTORS, name)
    with open(os.path.join(folder, "case.json")) as f:
        return folder, json.load(f)


def float_cases():
    """Every valid vector with an mxport signature (old models have none to carry)."""
    out = []
    for name in case_names("valid"):
        _, case = read_case(name)
        if case["expected_error"] is None and case["load"]["inputs"] is None:
            out.append(name)
    return out


def tolerance(engine, case, part, output):
    spec = TOLERANCES[engine]
    found = spec["cases"].get(case, {}).get(part, {}).get(output)
    return found or spec["default"]


class Plain:
    """An engine used as its users use it, with no mxport code: the file in, names and metadata from the file."""

    def __init__(self, engine, path):
        self.engine = engine
        if engine == "onnxruntime":
            self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            self.metadata = self.session.get_modelmeta().custom_metadata_map
            self.inputs = [i.name for i in self.session.get_inputs()]
            self.outputs = [o.name for o in self.session.get_outputs()]
        else:
            core = ov.Core()
            self.compiled = core.compile_model(path, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
            model = core.read_model(path)  # ONNX metadata_props are the model's rt_info under "framework"
            self.metadata = {
                k: model.get_rt_info(["framework", k]).astype(str) for k in ("mxport_signature", "mxport_graph")
            }
            self.inputs = [i.get_names() for i in self.compiled.inputs]  # a port has every name of its tensor
            self.outputs = [o.get_names() for o in self.compiled.outputs]

    def has_names(self, inputs, outputs):
        if self.engine == "onnxruntime":
            return self.inputs == inputs and self.outputs == outputs
        return (
            len(self.inputs) == len(inputs)
            and all(n in names for n, names in zip(inputs, self.inputs))
            and len(self.outputs) == len(outputs)
            and all(n in names for n, names in zip(outputs, self.outputs))
        )

    def run(self, feed):
        if self.engine == "onnxruntime":
            return self.session.run(None, feed)
        result = self.compiled(feed)
        return [result[o] for o in self.compiled.outputs]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Each float case exported once, whole and network alone: {(case, part): path}."""
    root = tmp_path_factory.mktemp("onnx")
    paths = {}
    for name in float_cases():
        folder, _ = read_case(name)
        for part, transforms in (("model", True), ("network", False)):
            path = str(root / f"{name}-{part}.onnx")
            mxport.export_onnx(os.path.join(folder, "model"), path, load_transforms=transforms)
            paths[(name, part)] = path
    return paths


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", float_cases())
def test_a_plain_engine_runs_the_exported_vector_within_the_stated_tolerance(name, engine, exported):
    folder, case = read_case(name)
    reference = TOLERANCES[engine]["cases"].get(name, {}).get("reference")
    ref_folder, ref_case = read_case(reference) if reference else (folder, case)
    sig = mxport.read_signature(os.path.join(folder, "model"))
    ran = 0
    for run, ref_run in zip(case["runs"], ref_case["runs"]):
        if run.get("expected_error"):
            continue
        part = "model" if run["load_transforms"] else "network"
        assert ref_run["load_transforms"] == run["load_transforms"] and ref_run["inputs"] == run["inputs"]
        plain = Plain(engine, exported[(name, part)])
        want_sig = sig if part == "model" else sig.network
        assert plain.has_names(want_sig.input_names, want_sig.output_names), (plain.inputs, plain.outputs)
        assert json.loads(plain.metadata["mxport_signature"]) == json.loads(sig.to_json())
        assert plain.metadata["mxport_graph"] == part
        feed = {s.name: np.load(os.path.join(folder, f)) for s, f in zip(want_sig.inputs, run["inputs"])}
        got = plain.run(feed)
        for spec, out, f in zip(want_sig.outputs, got, ref_run["outputs"]):
            want = np.load(os.path.join(ref_folder, f))
            assert_meaningful(want, f"{name} {f}")
            tol = tolerance(engine, name, part, spec.name)
            assert out.dtype == want.dtype
            assert_close(out, want, tol["rtol"], tol["atol"], f"{engine} {name} {part} {spec.name}")
            ran += 1
    assert ran


def test_every_tolerance_names_a_vector_and_an_output_of_it():
    names = set(float_cases())
    for engine in ENGINES:
        for case, parts in TOLERANCES[engine]["cases"].items():
            assert case in names, case
            sig = mxport.read_signature(os.path.join(VECTORS, case, "model"))
            for part, outputs in parts.items():
                if part == "reference":
                    assert outputs in names
                    continue
                assert set(outputs) <= set((sig if part == "model" else sig.network).output_names)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("name", float_cases())
def test_mxport_load_on_an_engine_runs_every_vector_run_and_checks_inputs_as_mxnet_does(name, engine, exported):
    folder, case = read_case(name)
    for run in case["runs"]:
        part = "model" if run["load_transforms"] else "network"
        model = mxport.load(os.path.join(folder, "model"), load_transforms=run["load_transforms"], engine=engine)
        inputs = [np.load(os.path.join(folder, f)) for f in run["inputs"]]
        if run.get("expected_error"):
            given = dict(zip(run["names"], inputs)) if "names" in run else inputs
            with pytest.raises(mxport.MxportError) as e:
                model(given) if isinstance(given, dict) else model(*given)
            assert e.value.code == run["expected_error"], str(e.value)
            continue
        got = model(*inputs)
        got = got if isinstance(got, list) else [got]
        plain = Plain(engine, exported[(name, part)]).run(dict(zip(model.signature.input_names, inputs)))
        for g, p in zip(got, plain):  # the same file on the same engine: mxport adds nothing to the numbers
            np.testing.assert_array_equal(g.asnumpy(), p)


def test_a_missing_engine_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what Python does when the package is absent
    with pytest.raises(mxport.MxportError) as e:
        mxport.load(os.path.join(VECTORS, "single_in_single_out", "model"), engine="onnxruntime")
    assert e.value.code == "INVALID_ARGUMENT"
    assert "pip install 'mxport[onnxruntime]'" in str(e.value)


def test_an_unknown_engine_and_old_model_arguments_are_refused():
    prefix = os.path.join(VECTORS, "single_in_single_out", "model")
    with pytest.raises(mxport.MxportError) as e:
        mxport.load(prefix, engine="tensorrt")
    assert e.value.code == "INVALID_ARGUMENT" and "onnxruntime" in str(e.value)
    with pytest.raises(mxport.MxportError) as e:
        mxport.load(prefix, engine="onnxruntime", epoch=0)
    assert e.value.code == "INVALID_ARGUMENT" and e.value.fix.kind == "drop" and "drop epoch=" in str(e.value)


def test_export_onnx_does_not_overwrite_a_file_it_did_not_write(tmp_path):
    prefix = os.path.join(VECTORS, "single_in_single_out", "model")
    target = tmp_path / "mine.onnx"
    target.write_bytes(b"precious")
    with pytest.raises(mxport.MxportError) as e:
        mxport.export_onnx(prefix, str(target))
    assert e.value.code == "TARGET_EXISTS" and e.value.fix.arguments == (("overwrite", True),)
    assert target.read_bytes() == b"precious"
    mxport.export_onnx(prefix, str(target), overwrite=True)
    mxport.export_onnx(prefix, str(target))  # its own file: replaced
    assert os.listdir(tmp_path) == ["mine.onnx"]  # no temporary file left


def test_an_onnx_file_loads_on_an_engine_and_a_part_mismatch_is_refused(tmp_path, exported):
    path = exported[("labels_metadata", "network")]
    model = mxport.load(path, load_transforms=False, engine="onnxruntime")
    assert model.signature.input_names == ["x"]
    with pytest.raises(mxport.MxportError) as e:
        mxport.load(path, engine="onnxruntime")
    assert e.value.code == "INVALID_ARGUMENT" and "load_transforms=False" in str(e.value)


def test_an_operator_without_converter_is_named(tmp_path):
    import mxnet as mx
    from mxport import TensorSpec

    net = mx.gluon.nn.Dense(3)
    net.initialize()
    mxport.export(
        net,
        str(tmp_path / "m"),
        inputs=[TensorSpec("x", (-1, 5), "float32")],
        output_names=["y"],
        postprocess=mx.gluon.nn.HybridLambda(lambda F, x: F.topk(x, k=2, ret_typ="value")),
    )
    with pytest.raises(mxport.MxportError) as e:
        mxport.export_onnx(str(tmp_path / "m"), str(tmp_path / "m.onnx"))
    assert e.value.code == "INVALID_ARGUMENT" and "topk" in str(e.value)
    assert not os.path.exists(tmp_path / "m.onnx")


def test_the_shell_exports_onnx(tmp_path):
    prefix = os.path.join(VECTORS, "uint8_image", "model")
    out = subprocess.run(
        [sys.executable, "-m", "mxport.cli", "export-onnx", prefix, str(tmp_path / "u.onnx")],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert out.returncode == 0, out.stderr
    assert "image -> logits" in out.stdout
    proto = onnx.load(str(tmp_path / "u.onnx"))
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 12, 10, 3]
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert not {i.name for i in proto.graph.initializer} & {i.name for i in proto.graph.input}


# -- the two real models --


@pytest.fixture(scope="module")
def real_files(tmp_path_factory, resnet):
    root = tmp_path_factory.mktemp("real")
    lite0 = os.path.join(MODELS, "efficientnet_lite0")
    if not os.path.exists(lite0 + "-symbol.json"):
        pytest.skip("the real model is not converted: make real-model")
    files = {}
    for name, prefix in (("resnet18", resnet), ("resnet18-int8", resnet + "-int8"), ("lite0", lite0)):
        files[name] = str(root / f"{name}.onnx")
        mxport.export_onnx(prefix, files[name])
    return files


@pytest.fixture(scope="module")
def photos():
    cat = mxport.read_image(CAT).asnumpy()
    rng = np.random.RandomState(3)
    crops = [cat[:, :300, :300], cat[:, 40:280, 100:420], cat[:, ::-1, :300]]
    return [np.ascontiguousarray(c) for c in crops] + [rng.randint(0, 256, (2, 300, 300, 3)).astype(np.uint8)]


@pytest.mark.parametrize("engine", ENGINES)
def test_resnet18_end_to_end_on_a_plain_engine_is_within_tolerance_of_mxnet(engine, real_files, resnet, photos):
    block = mxport.load(resnet)
    plain = Plain(engine, real_files["resnet18"])
    worst = 0.0
    for x in photos:
        want = block(x).asnumpy()
        assert_meaningful(want, "ResNet-18 probabilities")
        assert want.max() > 5 * want.min() and want.std() > 1e-4  # not flat: a real ranking to agree on
        got = plain.run({"data": x})[0]
        worst = max(worst, float(np.abs(got - want).max()))
        # measured 2.2e-8 (ONNX Runtime: the resize is bit-exact) and 1.3e-7 (OpenVINO) on probabilities ~0.007
        assert_close(got, want, 0.0, 1e-6 if engine == "onnxruntime" else 2e-4, f"{engine} ResNet-18")
    print(f"\n{engine} ResNet-18 e2e max |diff| {worst:.3g}")


@pytest.mark.parametrize("engine", ENGINES)
def test_an_int8_model_exports_its_fp32_network(engine, real_files, resnet, photos):
    proto = onnx.load(real_files["resnet18-int8"])
    sig = json.loads({p.key: p.value for p in proto.metadata_props}["mxport_signature"])
    assert sig["optimization"]["kind"] == "int8"  # the record stays: it says what the MXNet model is
    got = Plain(engine, real_files["resnet18-int8"]).run({"data": photos[0]})[0]
    want = mxport.load(resnet)(photos[0]).asnumpy()  # the fp32 model it was made from
    assert_close(got, want, 0.0, 1e-6 if engine == "onnxruntime" else 2e-4, f"{engine} ResNet-18 int8 as fp32")


@pytest.mark.parametrize("engine", ENGINES)
def test_efficientnet_lite0_names_the_cat_with_the_same_top5_on_a_plain_engine(engine, real_files):
    cat = mxport.read_image(CAT).asnumpy()
    want = mxport.load(os.path.join(MODELS, "efficientnet_lite0"))(cat).asnumpy()[0]
    got = Plain(engine, real_files["lite0"]).run({"image": cat})[0][0]
    assert list(np.argsort(-got)[:5]) == list(np.argsort(-want)[:5])
    assert np.argmax(want) == 282  # tiger cat: the model works
    print(f"\n{engine} EfficientNet-Lite0 cat max |diff| {np.abs(got - want).max():.3g}")
    # measured 1.2e-7 (ONNX Runtime, bit-exact bicubic) and 6.4e-4 (OpenVINO: a few resized pixels off by one)
    assert np.abs(got - want).max() < (1e-5 if engine == "onnxruntime" else 5e-3)


@pytest.mark.parametrize("engine", ENGINES)
def test_gluons_image_transforms_convert_with_their_sizes_crops_and_interpolations(engine, tmp_path):
    """Transforms no vector holds: a crop (_image_crop), Resize keeping the ratio, a (width, height) pair,
    bicubic interpolation, a one-value Normalize, on images of several sizes."""
    import mxnet as mx
    from mxnet.gluon.data.vision import transforms
    from mxport import TensorSpec

    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(4, 3, activation="relu"), mx.gluon.nn.GlobalAvgPool2D(), mx.gluon.nn.Dense(3))
    mx.random.seed(5)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    rng = np.random.RandomState(5)
    # nearest (interp 0) is left out: where ONNX's float scale and OpenCV's double one floor to different
    # pixels, a whole pixel differs (FORMAT.md 13.4)
    for i, (resize, interp) in enumerate(
        [
            (transforms.Resize(20, keep_ratio=True), 1),
            (transforms.Resize((24, 18)), 1),
            (transforms.Resize(22, keep_ratio=True, interpolation=2), 2),
        ]
    ):
        pre = mx.gluon.nn.HybridSequential()
        pre.add(
            resize,
            mx.gluon.nn.HybridLambda(lambda F, x: F.image.crop(x, 2, 1, 16, 16)),  # x, y, w, h
            transforms.ToTensor(),
            transforms.Normalize(0.5, 0.25),
        )
        prefix = str(tmp_path / f"m{i}")
        mxport.export(
            net,
            prefix,
            inputs=[TensorSpec("image", (-1, -1, -1, 3), "uint8", "NHWC")],
            preprocess=pre,
            output_names=["y"],
        )
        path = prefix + ".onnx"
        mxport.export_onnx(prefix, path)
        block = mxport.load(prefix)
        plain = Plain(engine, path)
        for shape in [(1, 30, 40, 3), (2, 41, 27, 3), (1, 16, 16, 3)]:
            x = rng.randint(0, 256, shape).astype(np.uint8)
            want = block(x).asnumpy()
            assert_meaningful(want, f"interp {interp} {shape}")
            got = plain.run({"image": x})[0]
            # one of 255 on a resized pixel is 1/255/0.25 = 0.016 at the network's input
            assert_close(got, want, 0.0, 0.05, f"{engine} interp {interp} {shape}")


def test_an_optimised_model_with_8_bit_weights_is_refused_naming_the_fix(tmp_path):
    """The fp32 network cannot be recovered from weights quantised offline: refuse, naming the fp32 model."""
    import hashlib
    import mxnet as mx

    folder = os.path.join(VECTORS, "optimized_int8")
    arrays = mx.nd.load(os.path.join(folder, "model.params"))
    arrays["arg:cnn_dense0_weight_quantize"] = mx.nd.array(np.ones((5, 4)), dtype="int8")
    mx.nd.save(str(tmp_path / "m.params"), arrays)
    data = (tmp_path / "m.params").read_bytes()
    with open(os.path.join(folder, "model-symbol.json")) as f:
        graph = json.load(f)
    for node in graph["nodes"]:
        if "__mxport_signature__" in node.get("attrs", {}):
            sig = json.loads(node["attrs"]["__mxport_signature__"])
            sig["params"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            node["attrs"]["__mxport_signature__"] = json.dumps(sig, separators=(",", ":"))
    (tmp_path / "m-symbol.json").write_text(json.dumps(graph))
    with pytest.raises(mxport.MxportError) as e:
        mxport.export_onnx(str(tmp_path / "m"), str(tmp_path / "m.onnx"))
    assert e.value.code == "INVALID_ARGUMENT" and "export the fp32 model" in str(e.value)
    assert not os.path.exists(tmp_path / "m.onnx")


def test_the_shell_predicts_on_an_engine(tmp_path):
    folder = os.path.join(VECTORS, "uint8_image")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "mxport.cli",
            "predict",
            os.path.join(folder, "model"),
            "--input",
            os.path.join(folder, "in_0_0.npy"),
            "--engine",
            "openvino",
        ],
        capture_output=True,
        text=True,
        cwd="/",
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("logits: float32[2, 5]"), out.stdout


def test_an_old_model_is_refused_naming_mxport_export(tmp_path):
    with pytest.raises(mxport.MxportError) as e:
        mxport.export_onnx(os.path.join(VECTORS, "old_format", "model"), str(tmp_path / "o.onnx"))
    assert e.value.code == "NO_SIGNATURE" and "mxport.export(" in str(e.value)
