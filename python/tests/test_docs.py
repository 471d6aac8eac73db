"""Docs as tests: every Python block of the READMEs and every public docstring example runs as written, from a
fresh folder that is not the repository (doc_blocks lists the blocks; Java and Scala runners can use it too)."""

import os
import shutil
import subprocess
import sys

import pytest

import doc_blocks
from conftest import REPO, run_per_item

PYTHON = doc_blocks.blocks("python")


def test_every_document_has_its_blocks_found():
    found = {b.source for b in PYTHON}
    assert {"README.md", "spark/README.md"} <= found
    assert set(doc_blocks.DOCSTRINGS) <= found, "a public docstring lost its example"
    for language in ("java", "scala"):  # what the JVM runners will compile
        assert {b.source for b in doc_blocks.blocks(language)} >= {"README.md", f"{language}/README.md"}


# The docstring examples each continue the package docstring's: one child Python runs each one's script in a folder
# of its own and a fresh namespace, and reports each (one start of MXNet, not one per docstring). The README blocks
# each run in a Python of their own: they say what to import first.
BATCHED = [b for b in PYTHON if b.line == 0 and not b.skip and doc_blocks.continued_by(b, PYTHON) is None]
BATCH_CHILD = r"""
import contextlib, io, os, sys, traceback


def run(folder):
    os.chdir(folder)
    sys.path[0] = folder  # as `python example.py` sets it
    path, err, ok = os.path.join(folder, "example.py"), io.StringIO(), True
    with contextlib.redirect_stderr(err):
        try:
            exec(compile(open(path).read(), path, "exec"), {"__name__": "__main__", "__file__": path})
        except SystemExit as e:
            ok = e.code in (None, 0)
        except BaseException:
            traceback.print_exc()
            ok = False
    return {"ok": ok, "stderr": err.getvalue()}
"""


def reader_folder(folder, code, request):
    """What a reader has at hand: a folder of images, and (`make models`) the ResNet-18 model; the script."""
    (folder / "images").mkdir()
    shutil.copy(os.path.join(REPO, "demo", "cat.jpg"), folder / "images" / "cat.jpg")
    if "models/resnet18" in code:
        resnet = request.getfixturevalue("resnet")
        (folder / "models").mkdir()
        for suffix in ("-symbol.json", ".params"):
            os.symlink(resnet + suffix, folder / "models" / f"resnet18{suffix}")
    (folder / "example.py").write_text(code)


def clean_environment():
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


@pytest.fixture(scope="module")
def batched_runs(tmp_path_factory, request):
    """{block id: {ok, stderr}} for the BATCHED blocks, from one child Python."""
    root = tmp_path_factory.mktemp("docstrings")
    scripts = []
    for i, block in enumerate(BATCHED):
        folder = root / str(i)
        folder.mkdir()
        reader_folder(folder, doc_blocks.script(block, PYTHON), request)
        scripts.append([block.id, str(folder)])
    return run_per_item(root, BATCH_CHILD, scripts, env=clean_environment(), timeout=1800)


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.id)
def test_python_block_runs_as_written(block, tmp_path, request):
    if block.skip:
        pytest.skip(block.skip)
    later = doc_blocks.continued_by(block, PYTHON)
    if later is not None:
        pytest.skip(f"runs as the start of {later.id}")
    code = doc_blocks.script(block, PYTHON)
    if block in BATCHED:
        out = request.getfixturevalue("batched_runs")[block.id]
        assert out["ok"], f"{block.id} failed:\n{code}\n{out['stderr'][-4000:]}"
        assert "Traceback" not in out["stderr"]
        return
    reader_folder(tmp_path, code, request)
    out = subprocess.run(
        [sys.executable, "example.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=clean_environment(),
        timeout=900,
    )
    assert out.returncode == 0, f"{block.id} failed:\n{code}\n{out.stderr[-4000:]}"
    assert "Traceback" not in out.stderr
