"""int8 on the ONNX engines (spec/FORMAT.md 13.7): ``mxport quantize-onnx`` / ``mxport.quantize_onnx`` run as a user
runs them, in the venv of ``make onnx-int8-setup`` (mxport[onnx-int8]: onnx 1.18, onnxruntime, no MXNet), on ONNX
files exported here on MXNet; the QDQ files they write are checked here: the recipe's structure, the signature
kept, and EfficientNet-Lite0's top-1 on ONNX Runtime and OpenVINO against MXNet fp32's."""

import json
import os
import sys

import numpy as np
import pytest

import mxport
from conftest import MODELS, REPO, cache_venv, child_report

import onnx  # noqa: E402  (make test-python installs the extras: make onnx-setup)

QUANT_PYTHON, needs_venv = cache_venv("MXPORT_ONNX_INT8_PYTHON", "venv-onnx-quant", "onnx-int8-setup")
CAT = os.path.join(REPO, "demo", "cat.jpg")

# run in the quantiser's venv: argv[1] a JSON list of [argv of `mxport`], argv[2] a JSON list of Python calls to make
# [name, model, path, calibration .npy files, exclude_layers, target]; prints {name: [exit code, stderr] or error record}
THERE = r"""
import contextlib, io, json, sys
import numpy as np
import mxport, mxport.cli
report = {"has_mxnet": __import__("importlib.util").util.find_spec("mxnet") is not None}
for argv in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        report[argv[2]] = [mxport.cli.main(argv), err.getvalue()]
for name, model, path, calibration, exclude, target in json.loads(sys.argv[2]):
    try:
        mxport.quantize_onnx(model, path, [np.load(f) for f in calibration], exclude_layers=exclude, target=target)
        report[name] = None
    except mxport.MxportError as e:
        report[name] = {"code": e.code, "text": str(e)}
print(json.dumps(report))
"""


def run_there(commands, calls=()):
    return child_report(QUANT_PYTHON, THERE, json.dumps(commands), json.dumps(list(calls)))


def quantized_convs(proto):
    """The MXNet names of the Conv nodes that read their weight through a DequantizeLinear (the int8 ones)."""
    producer = {out: n for n in proto.graph.node for out in n.output}
    return sorted(
        n.name.split(":")[1]
        for n in proto.graph.node
        if n.op_type == "Conv" and n.input[1] in producer and producer[n.input[1]].op_type == "DequantizeLinear"
    )


def props(proto):
    return {p.key: p.value for p in proto.metadata_props}


@pytest.mark.skipif(
    tuple(int(p) for p in onnx.__version__.split(".")[:2]) >= (1, 16),
    reason=f"onnx {onnx.__version__} here (Python 3.12 and later): the extra's onnx is installed",
)
def test_without_the_extra_quantize_onnx_is_invalid_argument_naming_it(tmp_path):
    # on Python 3.11 this venv holds onnx 1.14.1 (MXNet's own exporter's): ONNX Runtime's quantiser needs 1.16
    with pytest.raises(mxport.MxportError) as e:
        mxport.quantize_onnx(str(tmp_path / "in.onnx"), str(tmp_path / "out.onnx"), [np.zeros((1, 8, 8, 3), "uint8")])
    assert e.value.code == "INVALID_ARGUMENT"
    assert "pip install 'mxport[onnx-int8]'" in str(e.value) and onnx.__version__ in str(e.value)
    assert not os.path.exists(tmp_path / "out.onnx")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A small image model: conv1 + ReLU (kept fp32), conv2 + ReLU6, conv3, a residual sum of conv3 and conv1's
    output, a dense layer; its int8 MXNet model (conv1 excluded) exported as ONNX, and two calibration batches."""
    from mxnet import gluon
    from mxnet.gluon.data.vision import transforms

    class Net(gluon.nn.HybridBlock):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.conv1 = gluon.nn.Conv2D(8, 3, padding=1, activation="relu")
            self.conv2 = gluon.nn.Conv2D(8, 3, padding=1)
            self.conv3 = gluon.nn.Conv2D(8, 1)
            self.pool = gluon.nn.GlobalAvgPool2D()
            self.dense = gluon.nn.Dense(5)

        def hybrid_forward(self, F, x):
            x1 = self.conv1(x)
            y = F.clip(self.conv2(x1), 0, 6)
            return self.dense(self.pool(self.conv3(y) + x1))

    folder = tmp_path_factory.mktemp("onnx_int8")
    net = Net()
    net.initialize()
    pre = gluon.nn.HybridSequential()
    pre.add(transforms.ToTensor(), transforms.Normalize(0.5, 0.25))
    prefix = str(folder / "small")
    mxport.export(
        net,
        prefix,
        inputs=[mxport.TensorSpec("pixels", (-1, -1, -1, 3), "uint8", "NHWC")],
        preprocess=pre,
        output_names=["scores"],
        example_inputs=[np.zeros((1, 16, 16, 3), np.uint8)],
    )
    with open(prefix + "-symbol.json") as f:
        convs = [n["name"] for n in json.load(f)["nodes"] if n["op"] == "Convolution"]
    rng = np.random.RandomState(0)
    batches = [rng.randint(0, 256, (2, 16, 16, 3)).astype(np.uint8) for _ in range(2)]
    mxport.optimize(prefix, prefix + "-int8", "int8", calibration=batches, exclude_layers=convs[:1])
    mxport.export_onnx(prefix + "-int8", str(folder / "small.onnx"))
    calibration = []
    for i, batch in enumerate(batches):
        calibration.append(str(folder / f"calibration{i}.npy"))
        np.save(calibration[-1], batch)
    return {"folder": folder, "convs": convs, "onnx": str(folder / "small.onnx"), "calibration": calibration}


@pytest.fixture(scope="module")
def small_there(small):
    folder, model, calibration = small["folder"], small["onnx"], small["calibration"]
    out = str(folder / "small-int8.onnx")
    out_openvino = str(folder / "small-openvino-int8.onnx")
    flags = [arg for path in calibration for arg in ("--calibration", path)]
    with open(out + ".exists", "w") as f:
        f.write("not an ONNX file")
    no_signature = str(folder / "plain.onnx")
    proto = onnx.load(model)
    del proto.metadata_props[:]
    onnx.save(proto, no_signature)
    report = run_there(
        [
            ["quantize-onnx", model, out, *flags],
            ["quantize-onnx", model, out + ".exists", *flags],
            ["quantize-onnx", model, out_openvino, *flags, "--target", "openvino"],
        ],
        [
            ["unknown_layer", model, str(folder / "x.onnx"), calibration, ["no_such_conv"], "onnxruntime"],
            ["no_signature", no_signature, str(folder / "y.onnx"), calibration, None, "onnxruntime"],
            ["quantised_twice", out, str(folder / "z.onnx"), calibration, None, "onnxruntime"],
            ["unknown_target", model, str(folder / "t.onnx"), calibration, None, "tensorrt"],
            # conv3 fp32 too: the sum adds two fp32 layers' outputs, and reads fp32 on this target as well
            ["openvino_fp32_sum", model, str(folder / "o.onnx"), calibration, small["convs"][::2], "openvino"],
        ],
    )
    return report, out


@needs_venv
def test_the_cli_writes_the_recipe_without_mxnet(small, small_there):
    report, out = small_there
    assert report["has_mxnet"] is False
    assert report[out][0] == 0, report[out][1]
    proto = onnx.load(out)
    conv1, conv2, conv3 = small["convs"]
    # conv1 stays fp32 as the int8 MXNet model's record says (exclude_layers' default); conv2 and conv3 are int8
    assert quantized_convs(proto) == sorted([conv2, conv3])
    producer = {o: n for n in proto.graph.node for o in n.output}
    nodes = {n.name.split(":")[1]: n for n in proto.graph.node if n.name.startswith("node:")}
    # ReLU6 after conv2 is folded into its output's range, taken after it: no Clip, uint8 from 0
    assert not [n for n in proto.graph.node if n.op_type == "Clip" and n.input[0] in nodes[conv2].output]
    quantize = next(
        n for n in proto.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == nodes[conv2].output[0]
    )
    zero_point = next(i for i in proto.graph.initializer if i.name == quantize.input[2])
    assert onnx.numpy_helper.to_array(zero_point).dtype == np.uint8 and int(onnx.numpy_helper.to_array(zero_point)) == 0
    # conv2 reads conv1's output quantised; the residual sum reads it in fp32 (as MXNet's int8 graph does)
    relu1 = producer[nodes[conv2].input[0]]
    assert relu1.op_type == "DequantizeLinear"
    add = next(n for n in proto.graph.node if n.op_type == "Add" and producer[n.input[0]].op_type != "Cast")
    fp32_tensor = producer[producer[relu1.input[0]].input[0]].output[0]
    assert fp32_tensor in add.input
    record = json.loads(props(proto)["mxport_quantization"])
    assert (record["fp32_layers"], record["calibration_samples"], record["activations"]) == ([conv1], 4, "uint8")
    assert props(proto)["mxport_signature"] == props(onnx.load(small["onnx"]))["mxport_signature"]
    assert report[out + ".exists"][0] == 2 and "[TARGET_EXISTS]" in report[out + ".exists"][1]


@needs_venv
def test_bad_requests_are_refused_with_their_codes(small_there):
    report, _ = small_there
    assert (
        report["unknown_layer"]["code"] == "INVALID_ARGUMENT" and "['no_such_conv']" in report["unknown_layer"]["text"]
    )
    assert report["no_signature"]["code"] == "NO_SIGNATURE"
    assert (
        report["quantised_twice"]["code"] == "INVALID_ARGUMENT"
        and "quantised already" in report["quantised_twice"]["text"]
    )
    assert report["unknown_target"]["code"] == "INVALID_ARGUMENT"
    assert "'tensorrt'" in report["unknown_target"]["text"] and "'openvino'" in report["unknown_target"]["text"]


@needs_venv
def test_the_openvino_target_feeds_the_residual_sum_the_quantised_tensor(small, small_there):
    report, out = small_there
    out_openvino = out.replace("small-int8", "small-openvino-int8")
    assert report[out_openvino][0] == 0, report[out_openvino][1]
    proto, default = onnx.load(out_openvino), onnx.load(out)
    # the same int8 convolutions as the default target's file
    assert quantized_convs(proto) == quantized_convs(default)
    producer = {o: n for n in proto.graph.node for o in n.output}
    nodes = {n.name.split(":")[1]: n for n in proto.graph.node if n.name.startswith("node:")}
    conv2 = small["convs"][1]
    # the residual sum reads the dequantised copy of conv1's output that conv2 reads (OpenVINO fuses it into conv3)
    add = next(n for n in proto.graph.node if n.op_type == "Add" and producer[n.input[0]].op_type != "Cast")
    assert nodes[conv2].input[0] in add.input and producer[nodes[conv2].input[0]].op_type == "DequantizeLinear"
    record = json.loads(props(proto)["mxport_quantization"])
    assert (
        record["target"] == "openvino" and json.loads(props(default)["mxport_quantization"])["target"] == "onnxruntime"
    )
    assert props(proto)["mxport_signature"] == props(default)["mxport_signature"]
    assert report["openvino_fp32_sum"] is None
    fp32_sum = onnx.load(str(small["folder"] / "o.onnx"))
    assert quantized_convs(fp32_sum) == [conv2]
    producer = {o: n for n in fp32_sum.graph.node for o in n.output}
    nodes = {n.name.split(":")[1]: n for n in fp32_sum.graph.node if n.name.startswith("node:")}
    add = next(n for n in fp32_sum.graph.node if n.op_type == "Add" and producer[n.input[0]].op_type != "Cast")
    copy = producer[nodes[conv2].input[0]]
    assert copy.op_type == "DequantizeLinear" and producer[copy.input[0]].input[0] in add.input
    # both engines run it and name what the default target's file names
    image = np.load(small["calibration"][0])
    for engine in ("onnxruntime", "openvino"):
        got = mxport.load(out_openvino, engine=engine)(image).asnumpy()
        assert got.argmax(1).tolist() == mxport.load(out, engine=engine)(image).asnumpy().argmax(1).tolist()


@needs_venv
def test_efficientnet_lite0_int8_names_what_mxnet_fp32_names_on_both_engines(tmp_path):
    prefix = os.path.join(MODELS, "efficientnet_lite0")
    if not os.path.exists(prefix + "-symbol.json"):
        pytest.skip("the real model is not converted: make real-model")
    sys.path.insert(0, os.path.join(REPO, "benchmarks"))
    import int8_accuracy as photos

    model, out = str(tmp_path / "lite0.onnx"), str(tmp_path / "lite0-int8.onnx")
    mxport.export_onnx(prefix, model)
    calibration = []
    for i, image in enumerate(photos.photo_set(photos.CALIB_PHOTOS[:4], 1, 2000)):
        calibration.append(str(tmp_path / f"calibration{i}.npy"))
        np.save(calibration[-1], image[np.newaxis])
    layers = photos.lite0_onnx_fp32_layers(prefix)
    report = run_there([], [["lite0", model, out, calibration, layers, "onnxruntime"]])
    assert report["lite0"] is None
    proto = onnx.load(out)
    assert quantized_convs(proto) == sorted(set(photos.expansions(prefix)) - set(layers))
    assert len(quantized_convs(proto)) == 13
    cat = mxport.read_image(CAT).asnumpy()
    images = [cat, np.ascontiguousarray(cat[:, :300, :300]), np.ascontiguousarray(cat[:, ::-1, 40:400])]
    fp32 = mxport.load(prefix)
    want = [int(fp32(image).asnumpy()[0].argmax()) for image in images]
    for engine in ("onnxruntime", "openvino"):
        int8 = mxport.load(out, engine=engine)
        assert int8.signature.inputs == fp32.signature.inputs
        assert [int(int8(image).asnumpy()[0].argmax()) for image in images] == want, engine
