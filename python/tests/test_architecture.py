"""ARCHITECTURE.md's rules, checked on the sources: what each room of Python and of the JVM may import or name.

Python modules are read with ``ast`` (their imports); Java and Scala files as text with comments and string
literals removed, so a class named in a message or a doc does not count, a class used in code does.
"""

import ast
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGE = os.path.join(ROOT, "python", "src", "mxport")
CORE = os.path.join(ROOT, "java", "src", "main", "java", "io", "mxport")

# ARCHITECTURE.md rule 1: the rooms that read and check the format
PYTHON_FORMAT = [
    "_signature",
    "_graph",
    "_files",
    "_inputs",
    "_params_header",
    "_errors",
    "_onnx/_convert",
    "_onnx/_builder",
    "_onnx/_ops",
    "_onnx/_image_ops",
    "_onnx/_float",
]
PYTHON_RUN = {
    "_load",
    "_blocks",
    "_without_mxnet",
    "_export",
    "_optimize",
    "_fold",
    "_write",
    "_mx",
    "_images",
    "_threads",
    "environment",
    "_engines",
    "cli",
    "_cli_inputs",
}
JAVA_FORMAT = [
    "Signature",
    "TensorSpec",
    "Graph",
    "ModelFiles",
    "Json",
    "Optimization",
    "ParamsHeader",
    "Inputs",
    "Shape",
    "DType",
    "DataDesc",
    "Context",
    "NDArray",
    "ErrorCode",
    "MxportException",
    "Fix",
    "ClassScore",
]
JAVA_DOOR = ["Mxnet", "NativeArrays", "DirectCalls", "MxnetLibrary"]
JAVA_RUN = [
    "Predictor",
    "LoadedModel",
    "CachedOpRunner",
    "SharedWeights",
    "EngineWorkers",
    "ThreadRule",
    "Images",
    "ImageDecoder",
    "ImageIoDecoder",
    "Environment",
]
# the JVM's decoder without libmxnet (spec/RUNTIME.md section 4, rule 11): pure Java
JAVA_WITHOUT_LIBMXNET = ["ImageIoDecoder", "JpegMarkers", "ExifOrientation", "DecodedImage"]
NATIVE_WORDS = ["com.sun.jna", "Native.load", "Native.register", "System.load", "System.loadLibrary"]


def _python_imports(module):
    """The modules one Python file imports: absolute names, and relative ones as their last component."""
    tree = ast.parse(open(os.path.join(PACKAGE, module + ".py")).read())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.add(node.module)
            else:
                names.update((node.module or "").split(".")[-1:] if node.module else ())
                if not node.module:
                    names.update(a.name for a in node.names)
    return {n for n in names if n}


def _code(path):
    """A Java or Scala file without its comments and string literals."""
    text = open(path, encoding="utf-8").read()
    text = re.sub(r'"""[\s\S]*?"""', '""', text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    text = re.sub(r"/\*[\s\S]*?\*/", "", text)
    return re.sub(r"//[^\n]*", "", text)


def _names(code, words):
    return sorted(w for w in words if re.search(r"(?<![\w.])" + re.escape(w) + r"\b", code))


def _jvm_sources(*folders):
    for folder in folders:
        for base, _, files in os.walk(os.path.join(ROOT, folder)):
            for name in sorted(files):
                if name.endswith((".java", ".scala")):
                    yield os.path.join(base, name)


@pytest.mark.parametrize("module", PYTHON_FORMAT)
def test_a_python_format_room_imports_no_mxnet_and_no_run_room(module):
    imports = _python_imports(module)
    native = sorted(n for n in imports if n.split(".")[0] in ("mxnet", "ctypes", "onnxruntime", "openvino"))
    assert not native, f"{module} reaches native code through {native} (ARCHITECTURE.md rule 1)"
    assert not imports & PYTHON_RUN, f"{module} imports the run rooms {sorted(imports & PYTHON_RUN)}"


def test_only_the_thread_rule_calls_libmxnet_directly_from_python():
    callers = []
    for base, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                module = os.path.relpath(os.path.join(base, name), PACKAGE)[:-3]
                if {"ctypes", "mxnet.base"} & _python_imports(module):
                    callers.append(module)
    assert callers == ["_threads"], f"ctypes/mxnet.base outside _threads: {callers} (ARCHITECTURE.md rule 2)"


@pytest.mark.parametrize("cls", JAVA_FORMAT)
def test_a_java_format_class_names_no_native_or_run_class(cls):
    code = _code(os.path.join(CORE, cls + ".java"))
    found = _names(code, JAVA_DOOR + JAVA_RUN + NATIVE_WORDS)
    assert not found, f"{cls}.java uses {found} (ARCHITECTURE.md rule 1)"


@pytest.mark.parametrize("cls", JAVA_DOOR)
def test_the_native_door_names_no_run_class(cls):
    found = _names(_code(os.path.join(CORE, cls + ".java")), JAVA_RUN)
    assert not found, f"{cls}.java uses {found}: the run layer opens the door, not the other way (rule 2)"


@pytest.mark.parametrize("cls", JAVA_WITHOUT_LIBMXNET)
def test_the_decoder_without_libmxnet_names_no_native_code_and_no_door(cls):
    found = _names(
        _code(os.path.join(CORE, cls + ".java")), JAVA_DOOR + ["ImageDecoder", "EngineWorkers"] + NATIVE_WORDS
    )
    assert not found, f"{cls}.java uses {found}: Images.Decoder.IMAGEIO must run without libmxnet (RUNTIME.md 4.11)"


def test_only_the_door_binds_libmxnet_and_only_the_thread_rule_binds_libc_and_libgomp():
    binders = {}
    for path in _jvm_sources("java/src/main"):
        found = _names(_code(path), ["Native.load", "Native.register", "System.load", "System.loadLibrary"])
        if found:
            binders[os.path.basename(path)[:-5]] = found
    assert set(binders) <= {"MxnetLibrary", "DirectCalls", "ThreadRule"}, binders
    assert "MxnetLibrary" not in _code(os.path.join(CORE, "ThreadRule.java"))


@pytest.mark.parametrize("folder", ["scala/src/main", "spark/src/main", "serve/src/main", "onnxruntime/src/main"])
def test_scala_spark_and_the_server_bind_no_native_library(folder):
    if not os.path.isdir(os.path.join(ROOT, folder)):
        pytest.skip(f"{folder} is not in this tree")
    offenders = {
        os.path.relpath(p, ROOT): f for p in _jvm_sources(folder) if (f := _names(_code(p), NATIVE_WORDS + JAVA_DOOR))
    }
    assert not offenders, f"native code outside the Java core: {offenders} (ARCHITECTURE.md rule 3)"


@pytest.mark.parametrize("folder", ["scala/src/main", "spark/src/main", "serve/src/main"])
def test_settings_reach_the_core_through_environment_not_system_properties(folder):
    offenders = [
        os.path.relpath(p, ROOT)
        for p in _jvm_sources(folder)
        if re.search(r"System\.setProperty\(\s*(\"mxport\.|Environment\.)", open(p).read())
    ]
    assert not offenders, f"set these through io.mxport.Environment (ARCHITECTURE.md rule 4): {offenders}"


def test_the_checks_can_fail():
    """The text checks see a class used in code, and not one named only in a comment or a message."""
    used = "class A { void f() { Mxnet.open(); } }"
    named = 'class A { /** see Mxnet */ void f() { throw new E("Mxnet is closed"); } // Mxnet\n}'
    assert _names(re.sub(r"//[^\n]*", "", used), ["Mxnet"]) == ["Mxnet"]
    tmp = os.path.join(ROOT, ".cache", "architecture-probe.java")
    os.makedirs(os.path.dirname(tmp), exist_ok=True)
    with open(tmp, "w") as f:
        f.write(named)
    assert _names(_code(tmp), ["Mxnet"]) == []
