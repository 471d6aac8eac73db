"""Docs as tests: every Python block of the READMEs and every public docstring example runs as written, from a
fresh folder that is not the repository (doc_blocks lists the blocks; Java and Scala runners can use it too)."""

import os
import shutil
import subprocess
import sys

import pytest

import doc_blocks
from conftest import REPO

PYTHON = doc_blocks.blocks("python")


def test_every_document_has_its_blocks_found():
    found = {b.source for b in PYTHON}
    assert {"README.md", "spark/README.md"} <= found
    assert set(doc_blocks.DOCSTRINGS) <= found, "a public docstring lost its example"
    for language in ("java", "scala"):  # what the JVM runners will compile
        assert {b.source for b in doc_blocks.blocks(language)} >= {"README.md", f"{language}/README.md"}


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: b.id)
def test_python_block_runs_as_written(block, tmp_path, request):
    if block.skip:
        pytest.skip(block.skip)
    later = doc_blocks.continued_by(block, PYTHON)
    if later is not None:
        pytest.skip(f"runs as the start of {later.id}")
    code = doc_blocks.script(block, PYTHON)
    # What a reader has at hand: a folder of images, and (`make models`) the ResNet-18 model.
    (tmp_path / "images").mkdir()
    shutil.copy(os.path.join(REPO, "demo", "cat.jpg"), tmp_path / "images" / "cat.jpg")
    if "models/resnet18" in code:
        resnet = request.getfixturevalue("resnet")
        (tmp_path / "models").mkdir()
        for suffix in ("-symbol.json", ".params"):
            os.symlink(resnet + suffix, tmp_path / "models" / f"resnet18{suffix}")
    (tmp_path / "example.py").write_text(code)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=900
    )
    assert out.returncode == 0, f"{block.id} failed:\n{code}\n{out.stderr[-4000:]}"
    assert "Traceback" not in out.stderr
