"""The command line, as a user runs it."""

import os
import subprocess
import sys

import numpy as np

import mxport
from conftest import REPO, VECTORS

MXPORT = os.path.join(os.path.dirname(sys.executable), "mxport")
CAT = os.path.join(REPO, "demo", "cat.jpg")


def run(*args):
    return subprocess.run([MXPORT, *args], capture_output=True, text=True)


def test_inspect_prints_the_signature_table(resnet):
    out = run("inspect", resnet)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[1].split() == ["input", "data", "uint8", "[-1,-1,-1,3]", "NHWC"]
    assert lines[2].split() == ["output", "prob", "float32", "[-1,1000]", "NC"]
    assert lines[3].split() == ["network", "input", "data", "float32", "[-1,3,224,224]", "NCHW"]
    assert lines[5].startswith("params: ")


def test_predict_an_image_prints_the_top5_of_mxport_load(resnet):
    out = run("predict", resnet, "--input", CAT)
    assert out.returncode == 0, out.stderr
    import mxnet as mx

    prob = mxport.load(resnet)(mx.image.imread(CAT).expand_dims(0)).asnumpy()[0]
    top5 = np.argsort(-prob, kind="stable")[:5]
    line = next(x for x in out.stdout.splitlines() if "top-5" in x)
    assert [int(t.split(" (")[0]) for t in line.split("top-5 ")[1].split(", ")] == list(top5)


def test_predict_a_npy_array(tmp_path):
    prefix = os.path.join(VECTORS, "single_in_single_out", "model")
    np.save(tmp_path / "x.npy", np.load(os.path.join(VECTORS, "single_in_single_out", "in_0_0.npy")))
    out = run("predict", prefix, "--input", str(tmp_path / "x.npy"))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("y: float32[2, 3]")


def test_errors_exit_2_with_the_code(tmp_path):
    out = run("inspect", str(tmp_path / "nothing"))
    assert out.returncode == 2
    assert "[MODEL_NOT_FOUND]" in out.stderr and "Traceback" not in out.stderr
    prefix = os.path.join(VECTORS, "single_in_single_out", "model")
    np.save(tmp_path / "bad.npy", np.zeros((2, 7), "float32"))
    out = run("predict", prefix, "--input", str(tmp_path / "bad.npy"))
    assert out.returncode == 2 and "[SHAPE_MISMATCH] input 'x' has shape [2,7] but the model takes [-1,6]" in out.stderr


def test_version_and_help_say_what_a_prefix_is():
    out = run("--version")
    from mxport._rules import FORMAT_VERSION

    assert out.returncode == 0
    assert out.stdout.strip() == f"mxport {mxport.__version__} (model format version {FORMAT_VERSION})"
    for command in ("predict", "inspect"):
        out = run(command, "--help")
        assert "the model: PREFIX-symbol.json and PREFIX.params" in " ".join(out.stdout.split())


def test_an_old_model_runs_with_input_spec_and_epoch():
    folder = os.path.join(VECTORS, "old_format")
    out = run(
        "predict",
        os.path.join(folder, "model"),
        "--input-spec",
        "data=-1,5:float32:NC",
        "--epoch",
        "7",
        "--input",
        os.path.join(folder, "in_0_0.npy"),
    )
    assert out.returncode == 0, out.stderr
    want = np.load(os.path.join(folder, "out_0_0.npy"))
    assert out.stdout.splitlines()[0] == f"old_mlp_dense1_fwd_output: float32{list(want.shape)}"


def test_an_old_model_with_converter_names_runs_under_its_own_names():
    folder = os.path.join(VECTORS, "old_converter_names")
    prefix = os.path.join(folder, "model")
    inputs = ["--input", os.path.join(folder, "in_0_0.npy"), "--input", os.path.join(folder, "in_0_1.npy")]
    out = run(
        "predict", prefix, "--input-spec", "input.1=-1,5:float32", "--input-spec", "0=-1,3", "--epoch", "3", *inputs
    )
    assert out.returncode == 0, out.stderr
    assert [line.split(": float32[")[0] for line in out.stdout.splitlines() if ": float32[" in line] == [
        "/Softmax_output",
        "123_output",
    ]
    out = run("inspect", prefix, "--input-spec", "input.1=-1,5", "--input-spec", "0=-1,3", "--epoch", "3")
    assert out.returncode == 0, out.stderr
    assert "/Softmax_output" in out.stdout and "123_output" in out.stdout
