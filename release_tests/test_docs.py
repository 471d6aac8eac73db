"""Every repository path a document links or names exists: README.md, SECURITY.md, */README.md, spec/*.md,
java/SOAK.md, benchmarks/RESULTS.md. A path is a Markdown link target, or a backticked name that starts at a top-level entry of
the repository (`spec/FORMAT.md`, `java/`), a file name with a source or doc extension (`conftest.py`), or a
Markdown file named in prose (FINDINGS.md)."""

import glob
import os
import re

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DOCS = sorted(
    {
        os.path.relpath(p, REPO)
        for pattern in ("README.md", "SECURITY.md", "*/README.md", "spec/*.md", "java/SOAK.md", "benchmarks/RESULTS.md")
        for p in glob.glob(os.path.join(REPO, pattern))
    }
)
TOP = {e for e in os.listdir(REPO) if not e.startswith(".")} | {".ci"}
GENERATED = (".cache/", ".venv/", "dist/", "target/", "build/", "out/", "reports/", "benchmarks/results/")
EXT = r"\.(md|py|java|scala|json|txt|sh|toml|xml|ini|cfg|jpg|npy|params|properties|sha256)"
# names of files that are not the repository's: inside the mxnet wheel, a model's files, files a command writes
# (and S.params: the signature's params field in FORMAT.md)
ELSEWHERE = {"S.params", "libinfo.py", "model-symbol.json", "case.json", "c_api.h", "c_predict_api.h"}


def named_paths(text):
    for name in re.findall(r"(?<![\w/.-])([\w-]+\.md)\b", text):  # a document named in prose: FINDINGS.md
        yield name
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if not re.match(r"[a-z]+:", target) and not target.startswith("#"):
            yield target.split("#")[0]
    for token in re.findall(r"`([^`\s]+)`", text):
        token = token.rstrip(".,:;")
        if any(c in token for c in "*<>$={}()[]|'\"") or token.startswith(GENERATED):
            continue
        first = token.split("/")[0]
        if "/" in token and first in TOP:
            yield token
        elif "/" not in token and re.fullmatch(r"\w[\w.-]*" + EXT, token) and token not in ELSEWHERE:
            yield token


@pytest.mark.parametrize("doc", DOCS)
def test_every_named_path_exists(doc):
    assert len(DOCS) >= 7, DOCS
    text = open(os.path.join(REPO, doc)).read()
    here = os.path.dirname(os.path.join(REPO, doc))
    missing = []
    for path in named_paths(text):
        candidates = [os.path.join(here, path), os.path.join(REPO, path)]
        if "/" not in path:  # a bare file name: anywhere in the repository's tracked folders
            candidates += glob.glob(os.path.join(REPO, "**", path), recursive=True)
        if not any(os.path.exists(c) for c in candidates):
            missing.append(path)
    assert not missing, f"{doc} names paths that do not exist: {sorted(set(missing))}"


def test_the_readme_links_the_security_page():
    assert "SECURITY.md" in DOCS
    assert "](SECURITY.md)" in open(os.path.join(REPO, "README.md")).read()
