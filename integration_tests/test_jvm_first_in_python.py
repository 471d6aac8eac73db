"""One process, one libmxnet file, when the JVM comes first: a Python process starts a JVM (JPype) and loads a
Java Predictor before it imports mxnet. Java must take the libmxnet.so that Python's mxnet will load (the wheel's),
not the Maven native jar's copy, or the later `import mxnet` would abort the process."""

import os
import subprocess
import sys
import textwrap

from conftest import classpath

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

SCRIPT = textwrap.dedent("""
    import os, sys
    import jpype
    jpype.startJVM(classpath=os.environ["MXPORT_IT_CLASSPATH"].split(os.pathsep), convertStrings=True)
    predictor = jpype.JClass("io.mxport.Predictor")(sys.argv[1])
    print("SIGNATURE", predictor.getSignature().getInputNames())
    mapped = {line.split()[-1] for line in open("/proc/self/maps") if line.rstrip().endswith("/libmxnet.so")}
    import mxnet as mx
    print("SUM", mx.nd.ones((2, 3)).sum().asscalar())
    after = {line.split()[-1] for line in open("/proc/self/maps") if line.rstrip().endswith("/libmxnet.so")}
    print("MAPPED", sorted(mapped), sorted(after))
    print("WHEEL", os.path.join(os.path.dirname(mx.__file__), "libmxnet.so"))
""")


def test_a_jvm_started_before_mxnet_takes_pythons_library(tmp_path):
    (tmp_path / "first.py").write_text(SCRIPT)
    env = dict(os.environ, MXPORT_IT_CLASSPATH=classpath())
    model = os.path.join(REPO, "spec", "vectors", "single_in_single_out", "model")
    done = subprocess.run(
        [sys.executable, "first.py", model], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUM 6.0" in done.stdout, done.stdout
    mapped = done.stdout.split("MAPPED ")[1].splitlines()[0]
    wheel = done.stdout.split("WHEEL ")[1].strip()
    assert mapped == f"[{wheel!r}] [{wheel!r}]", done.stdout
