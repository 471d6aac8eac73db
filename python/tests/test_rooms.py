"""The package's rooms stay small: no module of mxport over 350 lines, no function over 80 lines of code (its
docstring not counted: a public function's numpydoc may be long)."""

import ast
import os

import mxport

PACKAGE = os.path.dirname(mxport.__file__)
MODULE_LINES = 350
FUNCTION_LINES = 80


def _modules():
    for folder, _, files in os.walk(PACKAGE):
        for name in sorted(files):
            if name.endswith(".py"):
                yield os.path.join(folder, name)


def test_no_module_is_over_350_lines():
    lines = {os.path.relpath(p, PACKAGE): len(open(p).read().splitlines()) for p in _modules()}
    long = {name: n for name, n in lines.items() if n > MODULE_LINES}
    assert not long, f"split these modules (lines): {long}"


def test_no_function_is_over_80_lines():
    long = {}
    for path in _modules():
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if ast.get_docstring(node) is not None:
                    doc = node.body[0]
                    lines -= doc.end_lineno - doc.lineno + 1
                if lines > FUNCTION_LINES:
                    long[f"{os.path.relpath(path, PACKAGE)}:{node.lineno} {node.name}"] = lines
    assert not long, f"split these functions (lines): {long}"
