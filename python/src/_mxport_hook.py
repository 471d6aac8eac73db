"""The thread rule's load-time settings (spec/RUNTIME.md rules 3 and 7), applied whatever the import order.

    import mxnet as mx, mxport   # libgomp still loads with GOMP_SPINCOUNT=3000: this hook set it for the load

The wheel installs ``mxport-hook.pth`` beside the package; its one line imports this module at interpreter start,
and this module only puts a finder on ``sys.meta_path``. Nothing else happens until the process imports mxnet:
then, while ``mxnet/__init__.py`` runs (it loads libmxnet.so and, through it, libgomp, which read these
variables once, as they load), the variables below are in the environment, and they are removed again once it
returned, so child processes do not inherit them. Before that it puts back what MXNet 1.9.1 needs on Python 3.12+
and numpy 2 (``mxport/_compat.py``), so ``import mxnet`` first imports on every supported Python. Rule 3's spin is set only when none of ``OMP_NUM_THREADS``,
``MXNET_OMP_MAX_THREADS``, ``GOMP_SPINCOUNT``, ``OMP_WAIT_POLICY`` is set and libgomp is not loaded yet; rule 7's
``MXNET_CPU_WORKER_NTHREADS`` only when ``MXPORT_ENGINE_WORKERS`` asks for more than one, the user set none, and
libmxnet is not loaded yet (a JVM may have loaded it). ``MXPORT_IMPORT_HOOK=0`` turns the hook off.

This module imports nothing at start-up (``os`` and ``sys`` are loaded before any .pth file runs) and must stay
that way: it runs in every Python process of the environment.
"""

import os
import sys

OFF_VARIABLE = "MXPORT_IMPORT_HOOK"  # "0": the hook sets nothing
SPIN_VARIABLE, SPIN_COUNT = "GOMP_SPINCOUNT", "3000"
SPIN_USER_VARIABLES = ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
WORKERS_VARIABLE, WORKERS_REQUEST_VARIABLE = "MXNET_CPU_WORKER_NTHREADS", "MXPORT_ENGINE_WORKERS"

restored = []  # what restore_what_mxnet_needs put back for MXNet in this process: "numpy.bool", "numpy.PZERO", ...
applied = {}  # what was in the environment because of this hook while mxnet loaded, e.g. {"GOMP_SPINCOUNT": "3000"}


def settings():
    """The variables to set for MXNet's load in this process, now: a dict, empty when the user's own win."""
    if os.environ.get(OFF_VARIABLE, "").strip() == "0":
        return {}
    wanted = {}
    if not any(os.environ.get(v) for v in SPIN_USER_VARIABLES) and not _mapped("libgomp"):
        wanted[SPIN_VARIABLE] = SPIN_COUNT
    workers = os.environ.get(WORKERS_REQUEST_VARIABLE, "").strip()
    if workers.isdigit() and int(workers) > 1 and WORKERS_VARIABLE not in os.environ and not _mapped("libmxnet"):
        wanted[WORKERS_VARIABLE] = str(int(workers))  # a bad request is left to `import mxport` to report
    return wanted


class _SettingLoader:
    """Runs mxnet's own loader with the settings in the environment, and removes them after."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        restore_what_mxnet_needs()
        wanted = settings()
        os.environ.update(wanted)
        try:
            self.loader.exec_module(module)
        finally:  # a failed import (Python 3.12+ without mxport's fixes) may have loaded the libraries already
            for name in wanted:
                os.environ.pop(name, None)
            readers = {SPIN_VARIABLE: "libgomp", WORKERS_VARIABLE: "libmxnet"}  # each read its variable as it loaded
            applied.update({name: value for name, value in wanted.items() if _mapped(readers[name])})

    def __getattr__(self, name):  # get_resource_reader, is_package, ...: mxnet's loader answers
        return getattr(self.loader, name)


def restore_what_mxnet_needs():
    """Python 3.12+ and numpy 2: puts back what stock MXNet 1.9.1 reads as it imports (spec/RUNTIME.md section 7),
    with mxport's own ``_compat.py`` loaded on its own (the package is not imported), so that ``import mxnet``
    first imports there too. Each fix only where it is missing; ``MXPORT_IMPORT_HOOK=0`` turns this off too."""
    if os.environ.get(OFF_VARIABLE, "").strip() == "0":
        return
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mxport", "_compat.py")
    if not os.path.isfile(path):  # mxport uninstalled, its .pth left behind
        return
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("_mxport_hook_compat", path)
    fixes = module_from_spec(spec)
    spec.loader.exec_module(fixes)
    restored.extend(fixes.restore_what_mxnet_needs())


class MxnetFinder:
    """On the first ``import mxnet`` (and only then) wraps the loader the other finders found for it."""

    def find_spec(self, name, path=None, target=None):
        if name != "mxnet":
            return None
        uninstall()  # once per process; also keeps the lookup below from coming back here
        from importlib.util import find_spec

        spec = find_spec(name)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _SettingLoader(spec.loader)
        return spec


def install():
    if "mxnet" not in sys.modules and not any(isinstance(f, MxnetFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MxnetFinder())


def uninstall():
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, MxnetFinder)]


def _mapped(name):
    """Whether a library whose file name starts with ``name`` is mapped into this process."""
    try:
        with open("/proc/self/maps") as maps:
            return any(os.path.basename(line.rstrip()).startswith(name) for line in maps if "/" in line)
    except OSError:
        return False


install()
