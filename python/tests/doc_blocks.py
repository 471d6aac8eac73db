"""The code blocks of the documentation, per language and file: what test_docs runs (Python), and what a Java or
Scala runner compiles (``python doc_blocks.py java`` lists them; integration_tests/test_jvm_docs.py runs them).

A fenced block (```python, ```java, ```scala, ```bash) of a Markdown file is one block. A docstring's example
(``>>>`` and ``...`` lines, outputs dropped) is one Python block. A block preceded by the line
``<!-- not run: REASON -->`` is listed with ``skip=REASON``. A block whose first line is a comment starting
``continues the example above`` (``# ...`` or ``// ...``) runs after the previous block of its file and language;
docstring examples continue the package docstring's (``script`` puts the pieces together).
"""

import importlib
import inspect
import os
import re
import sys
from dataclasses import dataclass
from typing import Optional

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MARKDOWN = ("README.md", "java/README.md", "scala/README.md", "spark/README.md")
# Public objects whose docstring examples run; the package's own example writes out/my_model, and the others
# continue it (they run after it, in the same folder).
DOCSTRINGS = (
    "mxport",
    "mxport.export",
    "mxport.optimize",
    "mxport.load",
    "mxport.load_module",
    "mxport.read_signature",
    "mxport.MxportError",
    "mxport.TensorSpec",
    "mxport.read_image",
    "mxport.decode_image",
    "mxport.environment",
    "mxport.export_onnx",
)
_FENCE = re.compile(r"^```(\w+)\s*$")
_SKIP = re.compile(r"^<!-- not run: (.+) -->\s*$")


@dataclass(frozen=True)
class Block:
    source: str  # a repository-relative file, or a dotted object name
    line: int  # 1-based line of the opening fence (0 for docstrings)
    language: str
    code: str
    skip: Optional[str] = None

    @property
    def id(self):
        return f"{self.source}:{self.line}" if self.line else self.source


def markdown_blocks(path, language=None):
    """The fenced blocks of a Markdown file (repository-relative path), optionally of one language."""
    with open(os.path.join(REPO, path)) as f:
        lines = f.read().splitlines()
    out, i, skip = [], 0, None
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if _SKIP.match(lines[i]):
            skip = _SKIP.match(lines[i]).group(1)
        elif m:
            start, body = i + 1, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            if language in (None, m.group(1)):
                out.append(Block(path, start, m.group(1), "\n".join(body) + "\n", skip))
            skip = None
        elif lines[i].strip():
            skip = None
        i += 1
    return out


def docstring_code(doc):
    """The ``>>>``/``...`` lines of a docstring as a script (expected outputs dropped)."""
    code = []
    for line in inspect.cleandoc(doc or "").splitlines():
        stripped = line.strip()
        if stripped.startswith(">>>") or (stripped.startswith("...") and code):
            code.append(stripped[4:] if len(stripped) > 3 else "")
    return "\n".join(code) + "\n" if code else ""


def docstring_blocks():
    out = []
    for name in DOCSTRINGS:
        module, _, attr = name.rpartition(".") if name.count(".") else (name, "", "")
        obj = importlib.import_module(name) if not attr else getattr(importlib.import_module(module), attr)
        code = docstring_code(obj.__doc__)
        if code:
            out.append(Block(name, 0, "python", code))
    return out


def continues(block):
    first = block.code.lstrip().splitlines()[0] if block.code.strip() else ""
    return re.match(r"^(#|//)\s*continues the example above", first) is not None


def continued(block, all_blocks):
    """The block whose code runs just before ``block``'s in its script, or None."""
    if block.line == 0 and block.source != DOCSTRINGS[0]:
        return next(b for b in all_blocks if b.source == DOCSTRINGS[0])
    if continues(block):
        same = [b for b in all_blocks if b.source == block.source and b.language == block.language]
        before = [b for b in same if b.line < block.line]
        assert before, f"{block.id} continues no block"
        return before[-1]
    return None


def continued_by(block, all_blocks):
    """A block (not skipped) whose script runs ``block`` first, or None: running ``block`` alone adds nothing."""
    return next((b for b in all_blocks if not b.skip and continued(b, all_blocks) == block), None)


def script(block, all_blocks):
    """The code that runs ``block`` as a reader would: the examples it continues, then its own."""
    before = continued(block, all_blocks)
    return (script(before, all_blocks) if before else "") + block.code


def blocks(language):
    """Every block of one language: Markdown files first, then (Python) docstrings."""
    found = [b for path in MARKDOWN for b in markdown_blocks(path, language)]
    return found + (docstring_blocks() if language == "python" else [])


if __name__ == "__main__":
    for b in blocks(sys.argv[1] if len(sys.argv) > 1 else "python"):
        print(f"== {b.id} ({b.language}{', not run: ' + b.skip if b.skip else ''})\n{b.code}")
