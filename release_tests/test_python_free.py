"""A JVM user's machine: a JDK and the Maven artifacts, no Python. The Java and the Scala demo and a Java program
run with no python3 on PATH, no MXPORT_PYTHON, no .venv in the working folder or its parents: libmxnet.so must
come from the Maven dependency ai.djl.mxnet:mxnet-native-mkl (a 1.9.0 build), and the outputs must equal the
Python package's on the mxnet 1.9.1 wheel (measured: bit for bit on ResNet-18, 1 or 2 OpenMP threads)."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from conftest import DIST, MODEL, REPO, VERSION, assert_same_output, run
from test_maven_consumers import JAVA_MAIN, POM

CAT = os.path.join(REPO, "demo", "cat.jpg")
JAVA = os.path.join(
    os.environ.get("JAVA_HOME") or os.path.dirname(os.path.dirname(os.path.realpath(shutil.which("java")))),
    "bin",
    "java",
)


@pytest.fixture(scope="module")
def no_python(tmp_path_factory):
    """(cwd, env, classpath): a folder outside the repository, a PATH of the system's tools less Python, the
    dist/ jars."""
    root = tmp_path_factory.mktemp("jvm-user")
    (root / "bin").mkdir()
    os.symlink(JAVA, root / "bin" / "java")
    for folder in ("/usr/local/bin", "/usr/bin", "/bin"):  # the system's tools (Spark runs rm), less any Python
        for name in os.listdir(folder) if os.path.isdir(folder) else []:
            if not name.startswith(("python", "pip", "pydoc", "idle")) and not (root / "bin" / name).exists():
                os.symlink(os.path.join(folder, name), root / "bin" / name)
    env = {"HOME": os.environ["HOME"], "PATH": str(root / "bin"), "LANG": "C.UTF-8"}
    for key in ("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "XDG_CACHE_HOME"):
        if key in os.environ:
            env[key] = os.environ[key]
    assert shutil.which("python3", path=env["PATH"]) is None
    jars = [os.path.join(DIST, f"{a}-{VERSION}.jar") for a in ("mxport", "mxport-scala_2.13")]
    assert all(map(os.path.isfile, jars)), "run `make dist`"
    deps = [
        p
        for p in open(os.path.join(REPO, "scala", "target", "classpath.txt")).read().strip().split(":")
        if "/io/mxport/" not in p and "/java/target/" not in p
    ]
    assert any("mxnet-native-mkl" in p for p in deps), deps
    return root, env, ":".join(jars + deps)


def top5(out):
    """The 5 lines after "top-5:" (class, name, probability to 6 decimals), as every demo prints them: the same
    digits, since every language decodes the JPEG with libmxnet's decoder (spec/RUNTIME.md section 4)."""
    lines = out.split("top-5:\n", 1)[1].splitlines()[:5]
    return [" ".join(line.split()) for line in lines]


def python_top5():
    return top5(run([sys.executable, os.path.join(REPO, "demo", "demo.py"), MODEL, CAT], cwd=os.path.dirname(MODEL)))


def jvm(no_python, *args):
    cwd, env, cp = no_python
    done = subprocess.run([JAVA, "-cp", cp, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "saved by MXNet version" not in done.stderr, done.stderr  # MXNet's version warning stays out of logs
    return done.stdout


def test_the_scala_demo_gives_pythons_top5(no_python):
    out = jvm(no_python, "io.mxport.scalaapi.examples.Demo", MODEL, CAT)
    assert top5(out) == python_top5(), out


def test_mvn_exec_java_of_the_demo_gives_pythons_top5(no_python, tmp_path):
    """What a JVM user types: a project of their own that depends on io.mxport:mxport, then `mvn -q exec:java`."""
    _, env, _ = no_python
    (tmp_path / "pom.xml").write_text(
        POM.format(artifact="mxport", version=VERSION, source_dir="", extra_plugin="").replace(
            "<mainClass>Main</mainClass>", "<mainClass>io.mxport.examples.Demo</mainClass>"
        )
    )
    done = subprocess.run(
        ["mvn", "-B", "-q", "-Dstyle.color=never", "exec:java", f"-Dexec.args={MODEL} {CAT}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "saved by MXNet version" not in out + done.stderr
    assert top5(out) == python_top5(), out


def test_a_java_program_gives_pythons_output_bytes(no_python, pixels, python_reference):
    cwd = no_python[0]
    (cwd / "Main.java").write_text(JAVA_MAIN)
    out = jvm(no_python, "Main.java", MODEL, pixels, str(cwd / "prob.f32"))
    assert "predicted NDArray" in out, out
    assert_same_output(cwd / "prob.f32", python_reference, "Java on the Maven native library")


# the options Spark needs on Java 17+ (the spark-submit launcher adds them): spark/pom.xml's spark.test.jvm.args
SPARK_POM = open(os.path.join(REPO, "spark", "pom.xml")).read()
SPARK_JVM_OPTIONS = re.search(r"<spark.test.jvm.args>(.*?)</spark.test.jvm.args>", SPARK_POM, re.S).group(1).split()


def test_a_spark_local_job_through_the_shaded_jar_gives_pythons_top_class(no_python, tmp_path):
    """spark-submit's job without spark-submit (a bash script): the shaded jar beside a Spark 4.2 distribution's jars
    (the pyspark wheel's jars/ folder, used as a plain folder of jars; no Python runs)."""
    import importlib.util

    spark_jars = os.path.join(importlib.util.find_spec("pyspark").submodule_search_locations[0], "jars", "*")
    shaded = os.path.join(DIST, f"mxport-spark_2.13-{VERSION}-all.jar")
    images = tmp_path / "images"
    images.mkdir()
    shutil.copy(CAT, images / "cat.jpg")
    cwd, env, _ = no_python
    done = subprocess.run(
        [
            JAVA,
            *SPARK_JVM_OPTIONS,
            "-Dspark.master=local[1]",
            "-Dspark.ui.enabled=false",
            "-Dspark.plugins=io.mxport.spark.MxportSparkPlugin",
            "-cp",
            shaded + ":" + spark_jars,
            "io.mxport.spark.examples.ScoreImages",
            MODEL,
            str(images),
            str(tmp_path / "scored"),
            "1",
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-5000:]
    assert "scored 1 images (0 bad)" in done.stdout, done.stdout
    row = re.search(r"cat\.jpg\s*\|(\d+)\s*\|([0-9.Ee-]+)\s*\|", done.stdout)
    assert row, done.stdout
    index, _, prob = python_top5()[0].partition(" ")
    assert (row.group(1), f"{float(row.group(2)):.6f}") == (index, prob.split()[-1])
