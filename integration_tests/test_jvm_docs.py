"""Docs as tests on the JVM: every Java and Scala block of the READMEs (python/tests/doc_blocks.py lists them, the one
extractor) compiles against the built jars as written and runs from a fresh folder that is not the repository,
with the layout the docs assume (`models/resnet18`, `images/cat.jpg`, an old model `old/resnet` at epoch 0).
A comment `// prints "TEXT"` on a line says what the run prints: the test checks it. And the README's
`mvn ... exec:java` runs offline (`-o`): the build fetched the plugin it needs."""

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(REPO, "python", "tests"))
import doc_blocks  # noqa: E402  (python/tests: the extractor Python's test_docs uses too)

VERSION = open(os.path.join(REPO, "VERSION")).read().strip()
MODELS = os.environ.get("MXPORT_MODELS", os.path.join(REPO, ".cache", "models"))
# the Scala line whose jars the blocks compile against: 2.13 (make jvm-package), or 2.12 with
# MXPORT_SCALA_LINE=2.12 (make jvm-package-2.12 builds them into <module>/target-2.12, make test-spark35-all runs it)
SCALA = os.environ.get("MXPORT_SCALA_LINE", "2.13")
TARGET = {"2.13": "target", "2.12": "target-2.12"}[SCALA]
JVM = {lang: doc_blocks.blocks(lang) for lang in ("java", "scala")}
BLOCKS = [b for lang in ("java", "scala") for b in JVM[lang]]


def _class_name(block):
    return "Doc_" + re.sub(r"\W", "_", block.source) + f"_{block.line}"


def _listing(path):
    full = os.path.join(REPO, path)
    if not os.path.isfile(full):
        build = "make jvm-package" if SCALA == "2.13" else "make jvm-package-2.12"
        pytest.fail(f"{path} is missing: run `{build}` (make test does)")
    return open(full).read().strip()


# the options Spark needs on Java 17+ (the spark-submit launcher adds them): spark/pom.xml's spark.test.jvm.args
SPARK_POM = open(os.path.join(REPO, "spark", "pom.xml")).read()
SPARK_JVM_OPTIONS = re.search(r"<spark.test.jvm.args>(.*?)</spark.test.jvm.args>", SPARK_POM, re.S).group(1).split()


def _spark(block):
    return block.source == "spark/README.md"


def _runtime_classpath(block):
    """The Scala facade's jar and its runtime classpath (the Java core's jar in it); for spark/README, the Spark
    module's jar and its classpath (Spark itself, provided on a cluster)."""
    if _spark(block):
        return f"{REPO}/spark/{TARGET}/mxport-spark_{SCALA}-{VERSION}.jar{os.pathsep}{_listing(f'spark/{TARGET}/classpath.txt')}"
    return os.pathsep.join(
        [
            f"{REPO}/scala/{TARGET}/mxport-scala_{SCALA}-{VERSION}.jar",
            _listing(f"scala/{TARGET}/classpath.txt"),
            f"{REPO}/onnxruntime/target/mxport-onnxruntime-{VERSION}.jar",  # Engine.ONNXRUNTIME
            _listing("onnxruntime/target/classpath.txt"),
        ]
    )


def _source(block):
    """A block as a program: Java imports stay on top and the statements go in main; Scala takes its imports
    where they are."""
    code, name = doc_blocks.script(block, JVM[block.language]), _class_name(block)
    if block.language == "java":
        lines = code.splitlines()
        imports = [line for line in lines if line.startswith("import ")]
        body = "\n".join(line for line in lines if not line.startswith("import "))
        return (
            "\n".join(imports) + f"\n\npublic class {name} {{\n  public static void main(String[] args) "
            f"throws Exception {{\n{body}\n  }}\n}}\n"
        )
    return f"object {name} {{\n  def main(args: Array[String]): Unit = {{\n{code}\n  }}\n}}\n"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """Every runnable block compiled at once per language (one javac, one scalac): folder of classes."""
    out = tmp_path_factory.mktemp("doc-classes")
    src = tmp_path_factory.mktemp("doc-sources")
    runnable = [b for b in BLOCKS if not b.skip]
    for lang, spark in (("java", False), ("java", True), ("scala", False), ("scala", True)):
        group = [b for b in runnable if b.language == lang and _spark(b) == spark]
        files = []
        for b in group:
            files.append(str(src / f"{_class_name(b)}.{lang}"))
            (src / f"{_class_name(b)}.{lang}").write_text(_source(b))
        if not files:
            continue
        if lang == "java":
            cmd = ["javac", "-Xlint:none", "-d", str(out), "-cp", _runtime_classpath(group[0])] + files
        else:
            cmd = [
                "java",
                "-cp",
                _listing(f"scala/{TARGET}/compiler-classpath.txt"),
                "scala.tools.nsc.Main",
                "-deprecation",
                "-Werror",
                "-d",
                str(out),
                "-classpath",
                _runtime_classpath(group[0]),
            ] + files
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        sources = "\n".join(f"--- {f}\n{open(f).read()}" for f in files)
        assert done.returncode == 0, (
            f"the {lang} blocks do not compile as written:\n{done.stdout}{done.stderr}\n{sources}"
        )
    return out


def _printed_claims(code):
    """The quoted texts of each `// prints "A" "B"` comment."""
    return [said for rest in re.findall(r'//.*?\bprints (".*)$', code, re.M) for said in re.findall(r'"([^"]+)"', rest)]


def test_a_prints_comment_is_read():
    assert _printed_claims('x(); // prints "a b" "c"\ny(); // nothing') == ["a b", "c"]
    java_readme = next(b for b in JVM["java"] if b.source == "java/README.md")
    assert len(_printed_claims(java_readme.code)) == 2


def _layout(folder):
    """What a reader has at hand: a folder of images, the ResNet-18 of `make models`, an old model."""
    assert os.path.isfile(os.path.join(MODELS, "resnet18-symbol.json")), "run `make models` first"
    (folder / "images").mkdir()
    shutil.copy(os.path.join(REPO, "demo", "cat.jpg"), folder / "images" / "cat.jpg")
    for sub, name, files in (
        ("models", "resnet18", {"-symbol.json": "resnet18-symbol.json", ".params": "resnet18.params"}),
        (
            "old",
            "resnet",
            {"-symbol.json": "resnet18-network-symbol.json", "-0000.params": "resnet18-network-0000.params"},
        ),
    ):
        (folder / sub).mkdir()
        for suffix, target in files.items():
            os.symlink(os.path.join(MODELS, target), folder / sub / f"{name}{suffix}")
    os.symlink(_resnet_onnx(), folder / "models" / "resnet18.onnx")


def _resnet_onnx():
    """models/resnet18.onnx of the docs: `mxport export-onnx` of the ResNet-18, written once beside it."""
    prefix = os.path.join(MODELS, "resnet18")
    path = prefix + ".onnx"
    if not os.path.isfile(path) or os.path.getmtime(path) < os.path.getmtime(prefix + ".params"):
        import mxport

        mxport.export_onnx(prefix, prefix + ".part.onnx")  # then renamed: a reader never sees half a file
        os.replace(prefix + ".part.onnx", path)
    return path


def test_every_readme_has_its_jvm_blocks_found():
    found = {(b.source, b.language) for b in BLOCKS}
    assert {
        ("README.md", "java"),
        ("java/README.md", "java"),
        ("README.md", "scala"),
        ("scala/README.md", "scala"),
        ("spark/README.md", "scala"),
    } <= found, found


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: f"{b.language}:{b.id}")
def test_jvm_block_runs_as_written(block, compiled, tmp_path):
    if block.skip:
        pytest.skip(block.skip)
    _layout(tmp_path)
    options = SPARK_JVM_OPTIONS if _spark(block) else []
    done = subprocess.run(
        ["java"] + options + ["-cp", f"{compiled}{os.pathsep}{_runtime_classpath(block)}", _class_name(block)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, f"{block.id} failed:\n{_source(block)}\n{done.stdout[-3000:]}{done.stderr[-4000:]}"
    printed = " ".join(done.stdout.split())
    for said in _printed_claims(doc_blocks.script(block, JVM[block.language])):
        assert " ".join(said.split()) in printed, f"{block.id} says it prints {said!r}; it printed:\n{done.stdout}"


def test_the_readme_mvn_exec_java_runs_offline(tmp_path):
    """java/README's demo command, as written but with -o: Maven may not download anything (make jvm-package
    fetched the exec plugin)."""
    readme = open(os.path.join(REPO, "java", "README.md")).read()
    command = next(
        c
        for c in re.findall(r"`(mvn [^`]*exec:java[^`]*)`", readme)
        if "examples" not in c and "CompareLatency" not in c
    )
    assert ".cache/models/resnet18 demo/cat.jpg" in command, command
    args = shlex.split(command.replace("$(cat VERSION)", VERSION))
    args = [a for a in args if not a.startswith("-Dexec.args")] + [
        "-o",
        "-B",
        "-Dstyle.color=never",
        f"-Dexec.args={MODELS}/resnet18 demo/cat.jpg",
    ]
    done = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"{args} failed offline:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
    assert "top-5:" in done.stdout, done.stdout
