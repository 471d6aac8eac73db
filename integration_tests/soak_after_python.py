"""The soak's second leg: Python runs MXNet operators first, then the Java soak runs in the same process (JPype).

    python integration_tests/soak_after_python.py SECONDS THREADS REPORT     # make soak runs it after the Java leg

The order is a Python service's: it imports mxnet (not mxport), evaluates a Gluon net eagerly, so MXNet's
engine worker has run operators at MXNet's own thread count, and only then hands models to Java. The Java core
must leave that count alone (spec/RUNTIME.md) and every output must still equal the serial reference. The JVM
gets the heap options of the Java leg; MXPORT_SOAK_CLASSPATH is the java module's test classpath.
"""

import os
import sys

import numpy as np


def python_side_ops():
    import mxnet as mx
    from mxnet import gluon

    mx.random.seed(11)
    net = gluon.model_zoo.vision.get_model("resnet18_v1", pretrained=False)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    x = mx.nd.array(np.random.RandomState(0).uniform(0, 1, (2, 3, 224, 224)))
    for _ in range(3):
        out = net(x).asnumpy()
    assert np.abs(out).max() > 1.0  # the operators really ran
    return mx


def main(seconds, threads, report):
    python_side_ops()
    import jpype

    jpype.startJVM(
        "-Xms1g",
        "-Xmx1g",
        "-XX:+AlwaysPreTouch",
        classpath=os.environ["MXPORT_SOAK_CLASSPATH"].split(os.pathsep),
        convertStrings=True,
    )
    soak = jpype.JClass("io.mxport.Soak")
    models = os.environ.get("MXPORT_MODELS", os.path.join(os.path.dirname(__file__), "..", ".cache", "models"))
    result = soak.run(
        float(seconds),
        int(threads),
        os.path.abspath(os.path.join(models, "resnet18")),
        jpype.JClass("java.nio.file.Paths").get(report, []),
        jpype.JClass("java.lang.System").out,
    )
    sys.stdout.flush()
    sys.exit(0 if result.ok() else 1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
