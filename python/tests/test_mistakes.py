"""The mistakes corpus (spec/mistakes.json) in Python and on the command line: the code, and a message naming the fix."""

import json
import os

import numpy as np
import pytest

import mxport
from conftest import REPO, VECTORS, run_per_item
from mxport import TensorSpec

CORPUS = os.path.join(REPO, "spec", "mistakes.json")
CAT = os.path.join(REPO, "demo", "cat.jpg")
LANGUAGES = ("python", "cli")


def _rows():
    with open(CORPUS) as f:
        return json.load(f)["mistakes"]


def _places(row, tmp):
    vector = os.path.join(VECTORS, row.get("model", "single_in_single_out"))
    return {"model": os.path.join(vector, "model"), "vector": vector, "tmp": str(tmp), "cat": CAT}


def _fixes(row, language):
    fix = row.get("fix") or {}
    return fix.get("all", []) + fix.get(language, [])


def test_the_corpus_is_well_formed():
    rows = _rows()
    ids = [r["id"] for r in rows]
    assert len(set(ids)) == len(ids), "duplicate ids"
    for r in rows:
        assert {"id", "mistake", "decision", "languages", "action", "code"} <= set(r), r["id"]
        assert r["code"] is None or r["code"] in mxport._errors.CODES, r["id"]
        assert r["code"] is None or any(_fixes(r, lang) for lang in r["languages"]), f"{r['id']} names no fix"
        assert r["action"] in ("load", "read_signature", "predict", "load_module", "export", "cli"), r["id"]
        assert r.get("fix_kind") in (None,) + mxport._errors.Fix.KINDS, r["id"]


# -- the Python API ------------------------------------------------------------------------------------------


class AsNumpy(mxport._export.gluon.HybridBlock):
    def hybrid_forward(self, F, x):
        return F.relu(x) * float(x.asnumpy().max())


class ReadsShape(mxport._export.gluon.HybridBlock):
    def hybrid_forward(self, F, x):
        return x.reshape((x.shape[0], -1))


def _export(recipe, prefix):
    import mxnet as mx
    from mxnet import gluon

    net = gluon.nn.Dense(3, in_units=6, prefix="mistake_")
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    x = TensorSpec("x", (-1, 6))
    if recipe == "asnumpy_preprocess":
        return mxport.export(net, prefix, inputs=[x], preprocess=AsNumpy(), output_names=["y"])
    if recipe == "numpy_preprocess":
        return mxport.export(
            net, prefix, inputs=[x], preprocess=gluon.nn.HybridLambda(lambda F, v: v.asnumpy()), output_names=["y"]
        )
    if recipe == "numpy_postprocess":
        return mxport.export(
            net, prefix, inputs=[x], postprocess=gluon.nn.HybridLambda(lambda F, v: v.asnumpy()), output_names=["y"]
        )
    if recipe == "shape_postprocess":
        return mxport.export(net, prefix, inputs=[x], postprocess=ReadsShape(), output_names=["y"])
    if recipe == "output_names_string":
        sig = mxport.export(net, prefix, inputs=[x], output_names="y")
        assert sig.output_names == ["y"] and mxport.read_signature(prefix).output_names == ["y"]
        return sig
    if recipe == "fixed_batch":
        return mxport.export(net, prefix, inputs=[TensorSpec("x", (4, 6))])
    if recipe == "input_named_like_parameter":
        return mxport.export(net, prefix, inputs=[TensorSpec(net.weight.name, (-1, 6))])
    if recipe == "converter_output_name":
        return mxport.export(net, prefix, inputs=[x], output_names=["/Softmax_output"])
    if recipe == "prefix_with_suffix":
        return mxport.export(net, prefix + "-symbol.json", inputs=[x])
    raise AssertionError(f"unknown recipe {recipe}")


def _act(row, places, tmp):
    prefix = row.get("prefix", "{model}").format(**places)
    old = {}
    if row.get("inputs") is not None:
        old["inputs"] = [TensorSpec(d["name"], tuple(d["shape"]), d["dtype"], d["layout"]) for d in row["inputs"]]
    if row.get("epoch") is not None:
        old["epoch"] = row["epoch"]
    action = row["action"]
    if action == "read_signature":
        return mxport.read_signature(prefix)
    if action == "export":
        return _export(row["recipe"], os.path.join(tmp, "out", "m"))
    import mxnet as mx

    ctx = {"gpu(0)": mx.gpu(0), "cpu(0)": mx.cpu(0), None: None}[row.get("context")]
    if action == "load_module":
        return mxport.load_module(
            prefix, ctx=ctx, batch_size=row.get("batch_size"), data_shapes=[tuple(s) for s in row["data_shapes"]], **old
        )
    block = mxport.load(prefix, load_transforms=row.get("load_transforms", True), ctx=ctx, **old)
    if action == "predict":
        return block(*[np.zeros(a["shape"], a["dtype"]) for a in row["call"]])
    return block


@pytest.mark.parametrize("row", [r for r in _rows() if "python" in r["languages"]], ids=lambda r: r["id"])
def test_python(row, tmp_path):
    places = _places(row, tmp_path)
    if row["code"] is None:
        got = _act(row, places, tmp_path)
        if row["action"] in ("load", "read_signature"):  # the model whose file was named, the one the prefix names
            sig = got.signature if row["action"] == "load" else got
            want = mxport.read_signature(places["model"]) if not row.get("inputs") else sig
            assert sig == want
        return
    with pytest.raises(mxport.MxportError) as e:
        _act(row, places, tmp_path)
    assert e.value.code == row["code"], str(e.value)
    assert (e.value.fix.kind if e.value.fix else None) == row.get("fix_kind"), f"{row['id']}: fix {e.value.fix}"
    for fix in _fixes(row, "python"):
        assert fix in str(e.value), f"{row['id']}: {fix!r} not in {e.value}"
    assert "Traceback" not in str(e.value)
    if row["action"] == "export":  # a refused export writes nothing
        assert not os.path.exists(tmp_path / "out") or os.listdir(tmp_path / "out") == []


# -- the command line ----------------------------------------------------------------------------------------


CLI_ROWS = [r for r in _rows() if "cli" in r["languages"]]

# One child Python runs every row's command line, as the `mxport` script does (`sys.exit(main())`), each in its own
# folder, and reports each one's exit status, stdout and stderr: one start of MXNet, not one per row.
CLI_CHILD = r"""
import contextlib, io, os, sys, traceback
from mxport.cli import main


def run(argv, cwd):
    os.chdir(cwd)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as e:  # argparse, and sys.exit: what the interpreter would make of it
            status = e.code if isinstance(e.code, int) or e.code is None else 1
            if status == 1 and not isinstance(e.code, int):
                print(e.code, file=sys.stderr)
        except BaseException:  # an uncaught exception: the traceback the script would print, status 1
            traceback.print_exc()
            status = 1
    return {"returncode": status or 0, "stdout": out.getvalue(), "stderr": err.getvalue()}
"""


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Each CLI row's outcome: {id: {returncode, stdout, stderr}}, from one child Python."""
    root = tmp_path_factory.mktemp("cli")
    rows = []
    for row in CLI_ROWS:
        folder = root / row["id"]
        folder.mkdir()
        for name, text in row.get("files", {}).items():
            (folder / name).write_text(text)
        places = _places(row, folder)
        rows.append([row["id"], [a.format(**places) for a in row["argv"]], str(folder)])
    return run_per_item(root, CLI_CHILD, rows)


@pytest.mark.parametrize("row", CLI_ROWS, ids=lambda r: r["id"])
def test_cli(row, cli_runs):
    out = cli_runs[row["id"]]
    assert "Traceback" not in out["stderr"], out["stderr"]
    if row["code"] is None:
        assert out["returncode"] == 0, out["stderr"]
        return
    assert out["returncode"] == 2, out["stderr"]
    assert f"[{row['code']}]" in out["stderr"], out["stderr"]
    for fix in _fixes(row, "cli"):
        assert fix in out["stderr"], f"{row['id']}: {fix!r} not in {out['stderr']}"
