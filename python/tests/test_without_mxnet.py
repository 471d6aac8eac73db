"""mxport without MXNet (spec/RUNTIME.md section 8), as a user has it where MXNet 1.9.1 has no wheel: the venv of
``make no-mxnet-setup`` (mxport[onnxruntime] as pip installs it there, no mxnet) runs an ONNX file exported here, on
an image, and gives the bytes this venv's ``mxport.load(..., engine="onnxruntime")`` gives; the calls that run on
MXNet raise LIBRARY_NOT_FOUND naming the fix."""

import os

import numpy as np
import pytest

import mxport
from conftest import REPO, assert_meaningful, cache_venv, child_report
from mxport import TensorSpec

NO_MXNET_PYTHON, pytestmark = cache_venv("MXPORT_NO_MXNET_PYTHON", "venv-no-mxnet", "no-mxnet-setup")
IMAGE = os.path.join(REPO, "demo", "cat.jpg")

# run in the venv without MXNet: argv[1] the ONNX file, argv[2] the model prefix, argv[3] where outputs go
WITHOUT_MXNET = r"""
import contextlib, dataclasses, io, json, sys
hook = "_mxport_hook" in sys.modules  # mxport-hook.pth ran at start-up
import mxport
import mxport.cli
import numpy as np
onnx_file, prefix, out = sys.argv[1:4]
report = {"hook": hook, "applied": dataclasses.asdict(mxport.environment.applied()), "python": sys.version_info[:2]}
try:
    import mxnet
except ModuleNotFoundError as e:
    report["import_mxnet"] = f"ModuleNotFoundError {e.name}"
pixels = mxport.read_image(sys.argv[4])  # the default decoder where MXNet is not installed
prob = mxport.load(onnx_file, engine="onnxruntime")(pixels)
report["types"] = [type(pixels).__name__, type(prob).__name__]
np.save(out + "-pixels.npy", pixels)
np.save(out + "-prob.npy", prob)
errors = {}
calls = {
    "load": lambda: mxport.load(prefix),
    "load_prefix_on_onnxruntime": lambda: mxport.load(prefix, engine="onnxruntime"),
    "export": lambda: mxport.export(None, out + "-model", inputs=[]),
    "export_onnx": lambda: mxport.export_onnx(prefix, out + ".onnx"),
    "decode_mxnet": lambda: mxport.read_image(sys.argv[4], decoder="mxnet"),
}
for name, call in calls.items():
    try:
        call()
    except mxport.MxportError as e:
        errors[name] = {"code": e.code, "text": str(e), "fix": [e.fix.kind, [list(a) for a in e.fix.arguments]]}
report["errors"] = errors
for engine in ("mxnet", "onnxruntime"):
    shell = io.StringIO()
    with contextlib.redirect_stderr(shell), contextlib.redirect_stdout(shell):
        code = mxport.cli.main(["predict", onnx_file, "--input", sys.argv[4], "--engine", engine])
    report["shell_" + engine] = [code, shell.getvalue()]
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small image model (uint8 NHWC pixels of any size in) and its ONNX file, made here, on MXNet."""
    from mxnet import gluon
    from mxnet.gluon.data.vision import transforms

    folder = tmp_path_factory.mktemp("without_mxnet")
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Conv2D(4, 3, strides=2), gluon.nn.GlobalAvgPool2D(), gluon.nn.Dense(5))
    net.initialize()
    pre = gluon.nn.HybridSequential()
    pre.add(transforms.ToTensor(), transforms.Normalize(0.5, 0.25))
    prefix = str(folder / "small")
    mxport.export(
        net,
        prefix,
        inputs=[TensorSpec("pixels", (-1, -1, -1, 3), "uint8", "NHWC")],
        preprocess=pre,
        output_names=["scores"],
        example_inputs=[np.zeros((1, 8, 8, 3), np.uint8)],
    )
    mxport.export_onnx(prefix, str(folder / "small.onnx"))
    return prefix, str(folder / "small.onnx"), str(folder / "out")


@pytest.fixture(scope="module")
def run_without_mxnet(exported):
    prefix, onnx_file, out = exported
    return child_report(NO_MXNET_PYTHON, WITHOUT_MXNET, onnx_file, prefix, out, IMAGE, timeout=300)


def test_there_mxnet_is_missing_and_import_mxport_works_with_its_hook(run_without_mxnet):
    assert run_without_mxnet["import_mxnet"] == "ModuleNotFoundError mxnet"
    assert run_without_mxnet["hook"], "mxport-hook.pth did not run: the test would not cover the hook"
    applied = run_without_mxnet["applied"]
    assert (applied["outcome"], applied["engine_workers"], applied["library_path"]) == ("no_mxnet", 0, None)


def test_an_onnx_file_exported_here_gives_there_the_bytes_it_gives_here_on_onnxruntime(run_without_mxnet, exported):
    _, onnx_file, out = exported
    want_pixels = mxport.read_image(IMAGE, decoder="pillow")
    want = mxport.load(onnx_file, engine="onnxruntime")(want_pixels).asnumpy()
    assert_meaningful(want, "the scores")
    got_pixels, got = np.load(out + "-pixels.npy"), np.load(out + "-prob.npy")
    assert run_without_mxnet["types"] == ["ndarray", "ndarray"]  # numpy there: no NDArray without MXNet
    assert got_pixels.dtype == want_pixels.dtype and np.array_equal(got_pixels, want_pixels)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def test_the_calls_that_run_on_mxnet_are_library_not_found_naming_the_fix(run_without_mxnet):
    errors = run_without_mxnet["errors"]
    assert sorted(errors) == sorted(["load", "load_prefix_on_onnxruntime", "export", "export_onnx", "decode_mxnet"]), (
        "a call that needs MXNet did not fail"
    )
    assert {e["code"] for e in errors.values()} == {"LIBRARY_NOT_FOUND"}
    python = tuple(run_without_mxnet["python"])
    install = (
        "pip install --no-deps mxnet==1.9.1 (--no-deps: MXNet declares numpy<2, which has no wheel for Python "
        f"{python[0]}.{python[1]}; mxport restores what MXNet 1.9.1 needs from numpy 2)"
        if python >= (3, 13)
        else "pip install mxnet==1.9.1"
    )
    assert errors["load"]["fix"] == ["argument", [["engine", "onnxruntime"]]]
    assert errors["load"]["text"] == (
        "[LIBRARY_NOT_FOUND] mxport.load(..., engine='mxnet') runs on MXNet, which is not installed in this Python "
        f"({python[0]}.{python[1]}): {install}, or pass engine='onnxruntime' (or "
        "'openvino') with an ONNX file that mxport.export_onnx wrote where MXNet is installed"
    )
    assert errors["decode_mxnet"]["fix"] == ["argument", [["decoder", "pillow"]]]
    for name in ("export", "export_onnx", "load_prefix_on_onnxruntime"):
        assert errors[name]["fix"][0] == "text"
        assert errors[name]["text"].endswith(
            f"{install}, or without MXNet run an ONNX file that mxport.export_onnx wrote where MXNet is installed: "
            "mxport.load('model.onnx', engine='onnxruntime') (or 'openvino')"
        ), errors[name]["text"]


def test_the_shell_predicts_on_onnxruntime_and_names_its_own_flag_for_mxnet(run_without_mxnet):
    code, text = run_without_mxnet["shell_onnxruntime"]
    assert code == 0 and text.startswith("scores: float32[1, 5]"), text
    code, text = run_without_mxnet["shell_mxnet"]
    assert code == 2 and text.startswith("mxport: error: [LIBRARY_NOT_FOUND] mxport.load(..., engine='mxnet')"), text
    assert "or add --engine onnxruntime (or 'openvino')" in text
