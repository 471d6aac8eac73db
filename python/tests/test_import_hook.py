"""The start-up hook the package installs (python/src/_mxport_hook.py, spec/RUNTIME.md rule 3): MXNet imported
before mxport still loads libgomp with the short spin, unless the user chose; each case in a fresh process."""

import ast
import json
import os
import subprocess
import sys

import pytest
from mxnet_first import MXNET_FIRST

HOOK = os.path.join(os.path.dirname(__file__), "..", "src", "_mxport_hook.py")
VARIABLES = (
    "OMP_NUM_THREADS",
    "MXNET_OMP_MAX_THREADS",
    "GOMP_SPINCOUNT",
    "OMP_WAIT_POLICY",
    "MXPORT_IMPORT_HOOK",
    "MXPORT_NUM_THREADS",
    "MXPORT_ENGINE_WORKERS",
    "MXNET_CPU_WORKER_NTHREADS",
)
# What the C environment held when libmxnet.so (and with it libgomp) loaded, and after: a spy on ctypes.CDLL,
# which is how mxnet/base.py loads its library.
LOAD_SPY = (
    MXNET_FIRST  # Python 3.12+ / numpy 2 with the hook off: what mxport restores (mxnet_first.py)
    + """
import ctypes, json, os, sys
libc = ctypes.CDLL(None)
libc.getenv.restype = ctypes.c_char_p
getenv = lambda name: (libc.getenv(name.encode()) or b"").decode() or None
seen = {}
real_init = ctypes.CDLL.__init__
def spying_init(self, name, *args, **kwargs):
    if name and "libmxnet" in os.path.basename(str(name)):
        seen["at_load"] = getenv("GOMP_SPINCOUNT")
    real_init(self, name, *args, **kwargs)
ctypes.CDLL.__init__ = spying_init
import mxnet as mx
ctypes.CDLL.__init__ = real_init
import mxport
seen["after"] = getenv("GOMP_SPINCOUNT")
seen["applied"] = sys.modules["_mxport_hook"].applied
seen["spin_count"] = mxport.environment.applied().spin_count
seen["workers"] = mxport.environment.engine_workers()
print(json.dumps(seen))
"""
)


def run(code, **env):
    clean = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    return subprocess.run([sys.executable, "-c", code], env=dict(clean, **env), capture_output=True, text=True, cwd="/")


def spy(**env):
    done = run(LOAD_SPY, **env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_installed_hook_runs_at_every_start_and_loads_nothing_heavy():
    done = run("import json, sys; print(json.dumps(sorted(sys.modules)))")
    loaded = set(json.loads(done.stdout))
    assert "_mxport_hook" in loaded  # mxport-hook.pth is in site-packages (make setup's `pip install -e`)
    assert loaded.isdisjoint({"mxnet", "mxport", "numpy", "ctypes", "importlib.util"})
    with open(HOOK) as f:
        tree = ast.parse(f.read())
    top_level = {alias.name for node in tree.body if isinstance(node, ast.Import) for alias in node.names}
    assert top_level == {"os", "sys"} and not [n for n in tree.body if isinstance(n, ast.ImportFrom)]


def test_mxnet_imported_first_loads_libgomp_with_the_short_spin_and_leaves_no_variable_behind():
    got = spy()
    assert got == {
        "at_load": "3000",
        "after": None,  # child processes do not inherit it
        "applied": {"GOMP_SPINCOUNT": "3000"},
        "spin_count": "3000",
        "workers": 1,
    }


@pytest.mark.parametrize(
    "variable, value",
    [
        ("GOMP_SPINCOUNT", "300000"),
        ("OMP_WAIT_POLICY", "PASSIVE"),
        ("OMP_NUM_THREADS", "1"),
        ("MXNET_OMP_MAX_THREADS", "1"),
        ("MXPORT_IMPORT_HOOK", "0"),
    ],
)
def test_the_user_s_own_setting_wins_and_the_hook_sets_nothing(variable, value):
    got = spy(**{variable: value})
    mine = value if variable == "GOMP_SPINCOUNT" else None
    assert (got["at_load"], got["after"], got["applied"], got["spin_count"]) == (mine, mine, {}, None)


def test_engine_workers_asked_for_reach_mxnet_imported_first():
    """Rule 7's MXNET_CPU_WORKER_NTHREADS is read as libmxnet loads, like the spin: the hook sets it then too."""
    got = spy(MXPORT_ENGINE_WORKERS="2", MXPORT_NUM_THREADS="2")
    assert (got["workers"], got["applied"]) == (2, {"GOMP_SPINCOUNT": "3000", "MXNET_CPU_WORKER_NTHREADS": "2"})
    done = run(
        MXNET_FIRST + "import os, mxnet\nassert 'MXNET_CPU_WORKER_NTHREADS' not in os.environ\nimport mxport",
        MXPORT_ENGINE_WORKERS="zero",
    )
    assert done.returncode != 0 and "[INVALID_ARGUMENT] MXPORT_ENGINE_WORKERS='zero'" in done.stderr


def test_mxnet_imported_first_imports_on_every_python_the_hook_restoring_what_mxport_would():
    """Python 3.12+ / numpy 2 (spec/RUNTIME.md section 7 item 3): the hook puts back what MXNet 1.9.1 reads, as
    mxport does when imported first (this process imported mxport first: conftest.py); without the hook, MXNet
    imported first fails exactly where something was missing."""
    import mxport._compat

    expected = sorted(mxport._compat.restored)
    code = "import sys, mxnet as mx\nprint(mx.nd.ones((2, 2)).sum().asscalar(), sorted(sys.modules['_mxport_hook'].restored))"
    done = run(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split(" ", 1) == ["4.0", f"{expected}\n"]
    off = run("import mxnet", MXPORT_IMPORT_HOOK="0")
    assert (off.returncode != 0) == bool(expected), off.stderr
