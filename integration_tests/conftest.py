"""One model, every runtime: the consumers of the integration matrix.

The JVM classpath is the adapters module's (integration_tests/jvm, built by `mvn package` from the root), or
MXPORT_IT_CLASSPATH when set. The in-process JVM (JPype) starts once per session, after Python has imported
mxnet, so Java must find and reuse the very libmxnet.so Python loaded (a second copy, even a byte-identical one, aborts the
process). The standalone JVM (Py4J) finds libmxnet.so on its own, the way a Java service does.
"""

import contextlib
import dataclasses
import io
import os
import subprocess
import sys

import mxport  # first: it sets up MXNet's threads and, on Python 3.12+, what MXNet needs to import (spec/RUNTIME.md)
import mxnet as mx
import numpy as np
import pytest


REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
ADAPTERS = os.path.join(REPO, "integration_tests", "jvm", "target")


def jvm_options():
    """Options for the JVMs the tests start (make's test targets: C1 only, as their JVMs are short-lived)."""
    return os.environ.get("MXPORT_TEST_JVM_OPTIONS", "").split()


def classpath():
    if os.environ.get("MXPORT_IT_CLASSPATH"):
        return os.environ["MXPORT_IT_CLASSPATH"]
    with open(os.path.join(REPO, "VERSION")) as f:
        version = f.read().strip()
    jar = os.path.join(ADAPTERS, f"mxport-integration-adapters-{version}.jar")
    listing = os.path.join(ADAPTERS, "classpath.txt")
    if not (os.path.exists(jar) and os.path.exists(listing)):
        pytest.fail("the JVM adapters are not built: run `make jvm-package` (make test does)")
    return jar + os.pathsep + open(listing).read().strip()


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def from_npy(data):
    return np.load(io.BytesIO(bytes(data)), allow_pickle=False)


class JavaError(Exception):
    """A Java exception that crossed a bridge, with the spec error code when it is an MxportException."""

    def __init__(self, code, message):
        super().__init__(f"[{code}] {message}")
        self.code = code


# ---- the consumers: each is open(prefix, load_transforms, old) -> a runner with predict(list) -> list ----


@dataclasses.dataclass(frozen=True)
class Can:
    """What a consumer can do. Each consumer declares it once, and a test selects the consumers it needs by it
    (as Apache Arrow's integration runner declares its testers), so a new consumer is one declaration."""

    reference: bool = False  # its outputs are the reference every other consumer is held to
    rtol: float = 0.0  # 0: gives the reference's outputs bit for bit; else within atol + rtol * max |reference|
    atol: float = 0.0
    exact_when_optimised: bool = True  # bit for bit on an optimised (oneDNN-fused or int8) graph whatever rtol
    optimised: bool = True  # runs oneDNN-fused and int8 graphs (spec/FORMAT.md section 12)
    old_models: bool = True  # loads an old model from input descriptions and an epoch
    network_alone: bool = True  # loads with load_transforms=False
    bridged: bool = False  # runs across a language bridge: its failures arrive as JavaError with the spec code
    in_process: bool = True  # runs in this Python process, on the libmxnet.so Python loaded
    # opens the mxport model files itself; False: an engine that runs the ONNX file mxport.export_onnx wrote from
    # them (its conformance vectors run in python/tests/test_onnx.py, with spec/onnx_tolerances.json)
    reads_mxport_files: bool = True


def select(consumers, **needs):
    """The consumers whose declaration has every capability in ``needs`` (e.g. ``bridged=True``)."""
    for need in needs:
        if need not in Can.__dataclass_fields__:
            raise KeyError(f"no capability {need!r}; Can declares {sorted(Can.__dataclass_fields__)}")
    return [c for c in consumers if all(getattr(c.can, k) == v for k, v in needs.items())]


def reference_and_others(consumers, **needs):
    """The reference consumer, and the others that have ``needs``."""
    reference = [c for c in consumers if c.can.reference]
    assert len(reference) == 1, f"one consumer is the reference, not {[c.name for c in reference]}"
    return reference[0], [c for c in select(consumers, **needs) if not c.can.reference]


class GluonConsumer:
    name = "gluon"
    can = Can(reference=True)

    @contextlib.contextmanager
    def open(self, prefix, load_transforms=True, old=None):
        block = mxport.load(prefix, load_transforms, **(old or {}))
        yield lambda arrays: [o.asnumpy() for o in _as_list(block(*arrays))]


class ModuleConsumer:
    name = "module"
    # MXNet's GraphExecutor fuses oneDNN subgraphs that CachedOp does not (measured differences ~1e-7 relative);
    # an optimised graph leaves it nothing to fuse
    can = Can(rtol=1e-4)

    @contextlib.contextmanager
    def open(self, prefix, load_transforms=True, old=None):
        cache = {}

        def predict(arrays):
            shapes = tuple(a.shape for a in arrays)
            if shapes not in cache:
                cache[shapes] = mxport.load_module(prefix, load_transforms, data_shapes=list(shapes), **(old or {}))
            mod = cache[shapes]
            mod.forward(mx.io.DataBatch([mx.nd.array(a, dtype=a.dtype) for a in arrays]))
            return [o.asnumpy() for o in mod.get_outputs()]

        yield predict


def _as_list(out):
    return out if isinstance(out, list) else [out]


def old_args(old):
    """Old-model descriptions in the adapters' text form: one line per input, name<TAB>dtype<TAB>d0,d1,... (an
    old model's names may hold ':' and ';')."""
    return "\n".join(f"{s.name}\t{s.dtype}\t{','.join(map(str, s.shape))}" for s in old["inputs"]), old["epoch"]


def onnx_tolerance(engine):
    """The engine's bound from spec/onnx_tolerances.json for photos: the default, widened by the image case's
    (OpenVINO rounds a few resize steps differently: one pixel level, spec/FORMAT.md 13.4)."""
    import json

    with open(os.path.join(REPO, "spec", "onnx_tolerances.json")) as f:
        spec = json.load(f)["engines"][engine]
    bounds = [spec["default"]]
    for part in spec.get("cases", {}).get("uint8_image", {}).get("model", {}).values():
        bounds.append(part)
    return max(b["rtol"] for b in bounds), max(b["atol"] for b in bounds)


class OnnxFiles:
    """The .onnx files mxport.export_onnx writes from a model, one per (prefix, part), made once a session."""

    def __init__(self, folder):
        self.folder = folder
        self.made = {}

    def __call__(self, prefix, load_transforms):
        key = (os.path.abspath(str(prefix)), bool(load_transforms))
        if key not in self.made:
            path = os.path.join(self.folder, f"{len(self.made)}-{'model' if load_transforms else 'network'}.onnx")
            mxport.export_onnx(str(prefix), path, load_transforms=load_transforms)
            self.made[key] = path
        return self.made[key]


class PythonEngineConsumer:
    """mxport.load(prefix, engine=...) in this process: ONNX Runtime or OpenVINO on the model converted in memory."""

    def __init__(self, engine):
        self.name = f"python-{engine}"
        self.engine = engine
        rtol, atol = onnx_tolerance(engine)
        self.can = Can(rtol=rtol, atol=atol, optimised=False, old_models=False, reads_mxport_files=False)

    @contextlib.contextmanager
    def open(self, prefix, load_transforms=True, old=None):
        model = mxport.load(str(prefix), load_transforms, engine=self.engine)
        yield lambda arrays: [o.asnumpy() for o in _as_list(model(*arrays))]


class JPypeConsumer:
    can = Can(bridged=True)

    def __init__(self, language, engine=None, onnx_files=None):
        self.name = f"{language}-jpype" + (f"-{engine}" if engine else "")
        self.adapter = "io.mxport.it.JavaRunner" if language == "java" else "io.mxport.it.ScalaRunner"
        self.engine, self.onnx_files = engine, onnx_files
        if engine:  # the Java Predictor on another engine, fed the .onnx file export_onnx wrote
            rtol, atol = onnx_tolerance(engine)
            self.can = Can(
                rtol=rtol, atol=atol, bridged=True, optimised=False, old_models=False, reads_mxport_files=False
            )

    @contextlib.contextmanager
    def open(self, prefix, load_transforms=True, old=None):
        import jpype

        runner_class = jpype.JClass(self.adapter)
        try:
            if self.engine:
                runner = runner_class.onEngine(self.onnx_files(prefix, load_transforms), self.engine, load_transforms)
            else:
                runner = (
                    runner_class(str(prefix), *old_args(old)) if old else runner_class(str(prefix), load_transforms)
                )
        except jpype.JException as e:
            raise _jpype_error(e) from None
        with runner:  # a Java AutoCloseable is a Python context manager under JPype

            def predict(arrays):
                byte_array = jpype.JArray(jpype.JByte)
                inputs = jpype.JArray(byte_array)([byte_array(npy_bytes(a)) for a in arrays])
                try:
                    return [from_npy(memoryview(o)) for o in runner.predict(inputs)]
                except jpype.JException as e:
                    raise _jpype_error(e) from None

            yield predict


def _jpype_error(e):
    code = str(e.getCode()) if hasattr(e, "getCode") else type(e).__name__
    return JavaError(code, str(e.getMessage()))


class Py4JConsumer:
    can = Can(bridged=True, in_process=False)  # a standalone JVM, on the libmxnet.so of the Maven dependency

    def __init__(self, gateway, language, engine=None, onnx_files=None):
        self.gateway = gateway
        self.name = f"{language}-py4j" + (f"-{engine}" if engine else "")
        self.language = language
        self.engine, self.onnx_files = engine, onnx_files
        if engine:
            rtol, atol = onnx_tolerance(engine)
            self.can = Can(
                rtol=rtol,
                atol=atol,
                bridged=True,
                in_process=False,
                optimised=False,
                old_models=False,
                reads_mxport_files=False,
            )

    @contextlib.contextmanager
    def open(self, prefix, load_transforms=True, old=None):
        from py4j.protocol import Py4JJavaError

        it = self.gateway.jvm.io.mxport.it
        runner_class = it.JavaRunner if self.language == "java" else it.ScalaRunner
        try:
            if self.engine:
                runner = runner_class.onEngine(self.onnx_files(prefix, load_transforms), self.engine, load_transforms)
            else:
                runner = (
                    runner_class(str(prefix), *old_args(old)) if old else runner_class(str(prefix), load_transforms)
                )
        except Py4JJavaError as e:
            raise _py4j_error(e) from None
        try:

            def predict(arrays):
                rows = [bytearray(npy_bytes(a)) for a in arrays]
                outer = self.gateway.new_array(self.gateway.jvm.byte, len(rows), 0)
                for i, row in enumerate(rows):
                    outer[i] = row  # byte[] crosses by value
                try:
                    return [from_npy(o) for o in runner.predict(outer)]
                except Py4JJavaError as e:
                    raise _py4j_error(e) from None

            yield predict
        finally:
            runner.close()


def _py4j_error(e):
    java = e.java_exception
    try:
        code = java.getCode()
    except Exception:  # noqa: BLE001 - not an MxportException
        code = java.getClass().getSimpleName()
    return JavaError(code, java.getMessage())


@pytest.fixture(scope="session")
def jvm():
    import jpype

    assert "mxnet" in sys.modules  # Python loaded libmxnet first: Java must reuse that very file
    if not jpype.isJVMStarted():
        jpype.startJVM(*jvm_options(), classpath=classpath().split(os.pathsep), convertStrings=True)
    yield jpype


@pytest.fixture(scope="session")
def gateway():
    from py4j.java_gateway import GatewayParameters, JavaGateway, launch_gateway

    os.makedirs(os.path.join(REPO, ".cache", "reports"), exist_ok=True)
    log = open(os.path.join(REPO, ".cache", "reports", "py4j-jvm.log"), "w")  # the JVM's own output, for failures
    port, process = launch_gateway(
        classpath=classpath(),
        javaopts=jvm_options(),
        die_on_exit=True,
        return_proc=True,
        redirect_stdout=log,
        redirect_stderr=log,
    )
    gw = JavaGateway(gateway_parameters=GatewayParameters(port=port, auto_convert=True))
    yield gw
    gw.shutdown()
    process.stdin.close()  # --die-on-broken-pipe: the JVM exits when its stdin closes
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        pytest.fail("the standalone JVM did not exit within 30 s of its gateway's shutdown")
    finally:
        log.close()


@pytest.fixture(scope="session")
def consumers(jvm, gateway, tmp_path_factory):
    """Every consumer; tests pick theirs with select() or reference_and_others()."""
    onnx_files = OnnxFiles(str(tmp_path_factory.mktemp("onnx")))
    return [
        GluonConsumer(),
        ModuleConsumer(),
        JPypeConsumer("java"),
        JPypeConsumer("scala"),
        Py4JConsumer(gateway, "java"),
        Py4JConsumer(gateway, "scala"),
        PythonEngineConsumer("onnxruntime"),
        PythonEngineConsumer("openvino"),
        JPypeConsumer("java", "onnxruntime", onnx_files),
        Py4JConsumer(gateway, "java", "onnxruntime", onnx_files),
    ]
