"""Producers x consumers: every use case exported by Python now, run by every runtime, outputs identical.

Producers: spec/tools/make_vectors.py exports every use case afresh into a temporary folder (the current
Python exporter, not the committed files), plus the end-to-end ResNet-18 of the demo. Consumers: Gluon
(mxport.load), Module (mxport.load_module), Java and Scala in process (JPype) and in a standalone JVM (Py4J).
The reference is Gluon's output. Every JVM consumer runs CachedOp as Gluon does: outputs must be identical,
bit for bit. The Module consumer runs MXNet's GraphExecutor, which fuses oneDNN subgraphs: it is held to a
relative tolerance of 1e-4 (measured differences ~1e-7 relative). Each consumer declares what it can do
(conftest.Can), and each test selects the consumers it needs by that declaration.
"""

import importlib
import json
import os
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

import mxport
from mxport import TensorSpec
from conftest import REPO, JavaError, reference_and_others, select


@pytest.fixture(scope="session")
def produced(tmp_path_factory):
    if os.environ.get("MXPORT_FRESH_VECTORS"):  # the Makefile's regeneration, shared with test_vectors.py
        return os.environ["MXPORT_FRESH_VECTORS"]
    out = tmp_path_factory.mktemp("produced")
    subprocess.run(
        [sys.executable, os.path.join(REPO, "spec", "tools", "make_vectors.py"), str(out)],
        check=True,
        capture_output=True,
    )
    return str(out)


def case_names(kind):
    names = sorted(os.listdir(os.path.join(REPO, "spec", "vectors")))
    return [n for n in names if n.startswith("invalid_") == (kind == "invalid")]


def load_options(folder):
    case = json.load(open(os.path.join(folder, "case.json")))
    if case["load"]["inputs"] is None:
        return None
    return {
        "inputs": [TensorSpec(s["name"], tuple(s["shape"]), s["dtype"], s["layout"]) for s in case["load"]["inputs"]],
        "epoch": case["load"]["epoch"],
    }


def inputs_for(signature, batch, seed):
    rng = np.random.RandomState(seed)
    arrays = []
    for s in signature.inputs:
        shape = (batch,) + tuple(12 if d == -1 else d for d in s.shape[1:])
        arrays.append(
            rng.randint(0, 256, shape).astype("uint8")
            if s.dtype == "uint8"
            else rng.uniform(-1, 1, shape).astype(s.dtype)
        )
    return arrays


def compare(consumer, producer, case, got, want, exact=False):
    """Identical outputs (within the consumer's declared rtol unless ``exact``); a failure names producer,
    consumer, case and the largest difference."""
    assert len(got) == len(want), f"{producer} -> {consumer.name}, {case}: {len(got)} outputs, expected {len(want)}"
    for j, (g, w) in enumerate(zip(got, want)):
        where = f"{producer} -> {consumer.name}, {case}, output {j}"
        assert g.shape == w.shape and g.dtype == w.dtype, f"{where}: {g.dtype}{g.shape} vs {w.dtype}{w.shape}"
        diff = float(np.abs(g.astype("float64") - w.astype("float64")).max()) if g.size else 0.0
        if (consumer.can.rtol or consumer.can.atol) and not exact:
            bound = consumer.can.atol + consumer.can.rtol * float(np.abs(w).max())
            assert diff <= bound, f"{where}: largest difference {diff:.3g} > {bound:.3g}"
        else:
            assert np.array_equal(g, w, equal_nan=True), f"{where}: largest difference {diff:.3g}, must be 0"


def is_old(case):
    """An old model (no signature): it has no transforms to cut."""
    return load_options(os.path.join(REPO, "spec", "vectors", case)) is not None


MATRIX = [
    (case, lt, batch)
    for case in case_names("valid")
    for lt in (True, False)
    for batch in (1, 25)
    if lt or not is_old(case)
]


@pytest.mark.parametrize(
    "case, load_transforms, batch", MATRIX, ids=[f"{c}-{'transforms' if lt else 'network'}-b{b}" for c, lt, b in MATRIX]
)
def test_every_consumer_gives_gluons_outputs(produced, consumers, case, load_transforms, batch):
    folder = os.path.join(produced, case)
    prefix = os.path.join(folder, "model")
    old = load_options(folder)
    needs = dict(old_models=True, reads_mxport_files=True) if old else dict(reads_mxport_files=True)
    if not load_transforms:
        needs["network_alone"] = True
    reference, others = reference_and_others(consumers, **needs)
    with reference.open(prefix, load_transforms, old) as run:
        block_sig = mxport.load(prefix, load_transforms, **(old or {})).signature
        arrays = inputs_for(block_sig, batch, seed=batch)
        want = run(arrays)
    assert any(np.abs(w).max() > 1e-2 for w in want), f"{case}: degenerate reference"
    for consumer in others:
        with consumer.open(prefix, load_transforms, old) as run:
            compare(
                consumer, "python-export", f"{case} load_transforms={load_transforms} batch={batch}", run(arrays), want
            )


@pytest.mark.parametrize("case", case_names("invalid"))
def test_invalid_models_raise_their_code_across_the_bridge_and_the_jvm_lives_on(produced, consumers, case):
    folder = os.path.join(produced, case)
    expected = json.load(open(os.path.join(folder, "case.json")))["expected_error"]
    old = load_options(folder)
    good = os.path.join(produced, "single_in_single_out", "model")
    x = np.load(os.path.join(produced, "single_in_single_out", "in_0_0.npy"))
    for consumer in select(consumers, bridged=True, reads_mxport_files=True, **(dict(old_models=True) if old else {})):
        with pytest.raises(JavaError) as e:
            with consumer.open(os.path.join(folder, "model"), True, old) as run:
                run([x])
        assert e.value.code == expected, f"{consumer.name}, {case}: {e.value}"
        with consumer.open(good) as run:  # the JVM keeps running and answering
            assert run([x])[0].shape == (2, 3)


def test_bad_requests_raise_their_code_across_the_bridge(produced, consumers):
    prefix = os.path.join(produced, "multi_in_single_out", "model")
    a, b = np.zeros((2, 4), "float32"), np.zeros((2, 3), "float32")
    cases = {
        "INPUT_COUNT": [a],
        "SHAPE_MISMATCH": [a, np.zeros((3, 3), "float32")],
        "DTYPE_MISMATCH": [a.astype("float64"), b],
    }
    for consumer in select(consumers, bridged=True):
        with consumer.open(prefix) as run:
            for code, arrays in cases.items():
                with pytest.raises(JavaError) as e:
                    run(arrays)
                assert e.value.code == code, f"{consumer.name}: {e.value}"
            assert run([a, b])[0].shape == (2, 4)


def built(folder, script, name):
    """The model that REPO/folder/script.py writes (its main(prefix) skips an unchanged recipe), as a prefix."""
    sys.path.insert(0, os.path.join(REPO, folder))
    prefix = os.path.join(os.environ.get("MXPORT_MODELS", os.path.join(REPO, ".cache", "models")), name)
    importlib.import_module(script).main(prefix)
    return prefix


@pytest.fixture(scope="session")
def resnet():
    return built("demo", "export_resnet", "resnet18")


def test_resnet_on_the_demo_photo_and_a_batch_of_25(consumers, resnet):
    photo = mx.image.imread(os.path.join(REPO, "demo", "cat.jpg")).asnumpy()[np.newaxis]
    batch = np.random.RandomState(25).randint(0, 256, (25, 300, 300, 3)).astype("uint8")
    reference, others = reference_and_others(consumers)
    with reference.open(resnet) as run:
        want = {"photo": run([photo]), "batch25": run([batch])}
    assert want["photo"][0].max() > 3 / 1000 and want["photo"][0].std() > 1e-5
    for consumer in others:
        with consumer.open(resnet) as run:
            for name, arrays in (("photo", [photo]), ("batch25", [batch])):
                compare(consumer, "demo/export_resnet.py", f"resnet18 {name}", run(arrays), want[name])


@pytest.fixture(scope="session")
def lite0():
    """The real model (EfficientNet-Lite0, ImageNet weights; `make real-model`), converted if not yet."""
    return built("models", "efficientnet_lite0", "efficientnet_lite0")


def test_the_real_model_on_real_photos_grayscale_included(consumers, lite0):
    """Real photos decoded by mxport.read_image (every JVM decodes them to the same bytes: test_images.py), the
    real model, every consumer: Gluon's probabilities, bit for bit (or within the consumer's declared rtol)."""
    import image_corpus

    files = image_corpus.files()
    names = ["cat.jpg", "cat_gray.jpg", "camera.png"]  # colour JPEG; grayscale JPEG and PNG
    inputs = {n: [mxport.decode_image(files[n]).asnumpy()] for n in names}
    reference, others = reference_and_others(consumers)
    with reference.open(lite0) as run:
        want = {n: run(x) for n, x in inputs.items()}
    labels = mxport.read_signature(lite0).outputs[0].labels
    assert labels[int(want["cat.jpg"][0][0].argmax())] == "tiger cat"
    assert "cat" in labels[int(want["cat_gray.jpg"][0][0].argmax())]  # a grayscale cat is still a cat
    assert all(w[0].max() > 0.1 for w in want.values()), "degenerate reference"
    for consumer in others:
        with consumer.open(lite0) as run:
            for name, x in inputs.items():
                compare(consumer, "models/efficientnet_lite0.py", f"efficientnet_lite0 {name}", run(x), want[name])


@pytest.fixture(scope="session")
def optimised_resnet(resnet, tmp_path_factory):
    """The demo's ResNet-18, oneDNN-fused and int8 (calibrated on 8 seeded images), as mxport.optimize writes them."""
    folder = tmp_path_factory.mktemp("optimised")
    calibration = [np.random.RandomState(s).randint(0, 256, (4, 300, 300, 3)).astype("uint8") for s in (1, 2)]
    out = {}
    for kind in ("fused", "int8"):
        out[kind] = str(folder / f"resnet18-{kind}")
        mxport.optimize(resnet, out[kind], kind, calibration=calibration if kind == "int8" else None)
    return out


@pytest.mark.parametrize("kind", ["fused", "int8"])
def test_optimised_resnet_gives_the_same_bits_in_every_runtime(consumers, optimised_resnet, kind):
    """One optimised model, every consumer that runs optimised graphs: Gluon's outputs bit for bit (where a consumer
    declares it exact on optimised graphs, Module's GraphExecutor included: it finds nothing left to fuse), on the
    demo photo and a batch of 25, transforms and network."""
    prefix = optimised_resnet[kind]
    photo = mx.image.imread(os.path.join(REPO, "demo", "cat.jpg")).asnumpy()[np.newaxis]
    batch = np.random.RandomState(25).randint(0, 256, (25, 300, 300, 3)).astype("uint8")
    features = np.random.RandomState(3).uniform(-2, 2, (1, 3, 224, 224)).astype("float32")
    reference, others = reference_and_others(consumers, optimised=True, network_alone=True)
    cases = [(True, "photo", [photo]), (True, "batch25", [batch]), (False, "network", [features])]
    want = {}
    for load_transforms, name, arrays in cases:
        with reference.open(prefix, load_transforms) as run:
            want[name] = run(arrays)
    assert want["photo"][0].max() > 3 / 1000 and want["photo"][0].std() > 1e-5
    for consumer in others:
        for load_transforms, name, arrays in cases:
            with consumer.open(prefix, load_transforms) as run:
                compare(
                    consumer,
                    "mxport.optimize",
                    f"resnet18 {kind} {name}",
                    run(arrays),
                    want[name],
                    exact=consumer.can.exact_when_optimised,
                )
