"""The same pixels in every language: each file of the image corpus (integration_tests/image_corpus.py) decodes to
Python's bytes (``mxport.read_image``, MXNet's ``_cvimdecode``), or fails with Python's error code, in Java and
Scala, in process (JPype: the wheel's libmxnet.so, the file Python loaded) and in a standalone JVM (Py4J: the
libmxnet.so of the Maven dependency ai.djl.mxnet:mxnet-native-mkl, what a Python-free user gets).
The Spark transformer's decoder is held to the same reference by spark/'s ImageDecodeSuite.
"""

import json
import os

import mxnet as mx
import numpy as np
import pytest

import mxport
from conftest import JavaError, _jpype_error, _py4j_error, from_npy

import image_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    image_corpus.write(str(folder), npy=True)
    with open(folder / "reference.json") as f:
        return folder, json.load(f)


# a JPEG cut short: mx.image.imdecode repeats a row buffer into its missing rows, mxport lets libjpeg fill them
# (spec/RUNTIME.md section 4, rule 9)
CUT_SHORT = {"truncated.jpg"}


def python_reference(folder, name, want):
    """Python's own pixels (mxport.read_image) equal mx.image.imdecode's for a whole file, and the corpus's
    reference."""
    path = str(folder / name)
    if "error" in want:
        with pytest.raises(mxport.MxportError) as e:
            mxport.read_image(path)
        assert e.value.code == want["error"] and path in str(e.value)
        return None
    got = mxport.read_image(path).asnumpy()
    if name not in CUT_SHORT:
        with open(path, "rb") as f:
            assert np.array_equal(got[0], mx.image.imdecode(f.read(), flag=1, to_rgb=1).asnumpy())
    return np.load(str(folder / (name + ".npy")))


def readers(jvm, gateway):
    """(name, read(path) -> pixels, raising JavaError) for Java and Scala over JPype and Py4J."""
    it_jpype = {"java": jvm.JClass("io.mxport.it.JavaRunner"), "scala": jvm.JClass("io.mxport.it.ScalaRunner")}
    it_py4j = gateway.jvm.io.mxport.it

    def jpype_reader(cls):
        def read(path):
            try:
                return from_npy(memoryview(cls.readImage(path)))
            except jvm.JException as e:
                raise _jpype_error(e) from None

        return read

    def py4j_reader(cls):
        from py4j.protocol import Py4JJavaError

        def read(path):
            try:
                return from_npy(cls.readImage(path))
            except Py4JJavaError as e:
                raise _py4j_error(e) from None

        return read

    return [
        ("java-jpype", jpype_reader(it_jpype["java"])),
        ("scala-jpype", jpype_reader(it_jpype["scala"])),
        ("java-py4j", py4j_reader(it_py4j.JavaRunner)),
        ("scala-py4j", py4j_reader(it_py4j.ScalaRunner)),
    ]


def test_every_corpus_file_gives_pythons_pixels_or_its_error_in_every_jvm(corpus, jvm, gateway):
    folder, reference = corpus
    assert len(reference) >= 30 and sum("error" in r for r in reference.values()) >= 5
    runs = readers(jvm, gateway)
    failures = []
    for name, want in sorted(reference.items()):
        pixels = python_reference(folder, name, want)
        for consumer, read in runs:
            path = str(folder / name)
            try:
                got = read(path)
            except JavaError as e:
                if "error" not in want:
                    failures.append(f"{consumer} {name}: {e}, Python decoded {want['shape']}")
                elif e.code != want["error"] or path not in str(e):
                    failures.append(f"{consumer} {name}: {e}, Python: [{want['error']}] (message must name the file)")
                continue
            if "error" in want:
                failures.append(f"{consumer} {name}: decoded {got.shape}, Python: [{want['error']}]")
            elif got.shape != pixels.shape or got.dtype != np.uint8 or not np.array_equal(got, pixels):
                diff = int(np.abs(got.astype(int) - pixels.astype(int)).max()) if got.shape == pixels.shape else "shape"
                failures.append(
                    f"{consumer} {name}: {got.dtype}{got.shape} vs Python's {pixels.shape}, largest difference {diff}"
                )
    assert not failures, "\n".join(failures)


def test_the_two_jvms_decode_with_the_two_libraries(corpus, jvm, gateway):
    """The comparison above covers both builds: the JPype JVM runs the wheel's libmxnet.so, the Py4J JVM the
    Maven one (both OpenCV 3.4.2, libjpeg-turbo 2.0.2, libpng 1.6.35)."""
    folder, _ = corpus
    jvm.JClass("io.mxport.it.JavaRunner").readImage(str(folder / "baseline.jpg"))
    gateway.jvm.io.mxport.it.JavaRunner.readImage(str(folder / "baseline.jpg"))
    wheel = os.path.realpath(mx.libinfo.find_lib_path()[0])
    assert os.path.realpath(str(jvm.JClass("io.mxport.it.JavaRunner").libmxnet())) == wheel
    standalone = str(gateway.jvm.io.mxport.it.JavaRunner.libmxnet())
    assert os.path.realpath(standalone) != wheel and "mxport/native" in standalone, standalone
