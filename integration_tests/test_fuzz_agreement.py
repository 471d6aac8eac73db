"""The seeded corpus of broken models (spec/tools/fuzz_models.py): Python, Java and Scala end every case
the same way, success or the same spec error code, and the JVM never crashes (it runs inside this process:
a crash would end the test run). The corpus is python/tests/test_fuzz.py's (the same cases and seed, the same
MXPORT_FUZZ_CASES and MXPORT_FUZZ_SEED): one corpus, which every language meets."""

import collections
import json
import os
import resource
import subprocess
import sys
import types

import numpy as np

import mxport
from conftest import REPO, JPypeConsumer, JavaError

CASES = int(os.environ.get("MXPORT_FUZZ_CASES", "300"))
SEED = int(os.environ.get("MXPORT_FUZZ_SEED", "0"))
# What the corpus may add to this process's peak memory (Python, the JVM and MXNet): every file is under 2 KB;
# before the params header was read first, one flipped shape made MXNet allocate 9-11 GB.
PEAK_GROWTH_BOUND_MB = 512


def old_descriptions(load):
    """An old model's case: its descriptions for the JVM adapters, as plain values (an empty name, which a Python
    TensorSpec refuses, must reach Java's DataDesc too); None for an mxport model."""
    if load is None:
        return None
    specs = [types.SimpleNamespace(name=s["name"], dtype=s["dtype"], shape=s["shape"]) for s in load["inputs"]]
    return {"inputs": specs, "epoch": load["epoch"]}


def python_outcome(prefix, load=None):
    try:
        kwargs = {}
        if load is not None:
            kwargs = {
                "inputs": [
                    mxport.TensorSpec(s["name"], tuple(s["shape"]), s["dtype"], s["layout"]) for s in load["inputs"]
                ],
                "epoch": load["epoch"],
            }
        block = mxport.load(prefix, **kwargs)
    except mxport.MxportError as e:
        return e.code, None
    arrays = [np.zeros((1,) + tuple(1 if d == -1 else d for d in s.shape[1:]), s.dtype) for s in block.signature.inputs]
    try:
        out = block(*arrays)
        (out if isinstance(out, list) else [out])[0].wait_to_read()
        return "OK", arrays
    except mxport.MxportError as e:
        return e.code, None


def jvm_outcome(consumer, prefix, arrays, old=None):
    try:
        with consumer.open(prefix, old=old) as run:
            if arrays is not None:
                run(arrays)
            return "OK"
    except JavaError as e:
        return e.code


def test_python_java_and_scala_agree_on_every_broken_model(jvm, tmp_path):
    out = tmp_path / "fuzz"
    subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "spec", "tools", "fuzz_models.py"),
            str(out),
            "--cases",
            str(CASES),
            "--seed",
            str(SEED),
        ],
        check=True,
    )
    corpus = json.load(open(out / "index.json"))
    consumers = [JPypeConsumer("java"), JPypeConsumer("scala")]
    disagreements, tally = [], collections.Counter()
    with open("/proc/self/clear_refs", "w") as f:  # resets the peak RSS (Linux)
        f.write("5")
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for case in corpus:
        prefix = str(out / case["case"] / "model")
        want, arrays = python_outcome(prefix, case.get("load"))
        tally[want] += 1
        old = old_descriptions(case.get("load"))
        for consumer in consumers:
            got = jvm_outcome(consumer, prefix, arrays, old)
            if got != want:
                disagreements.append(f"case {case['case']} ({case['note']}): python {want}, {consumer.name} {got}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nfuzz agreement: {len(corpus)} cases x 3 languages: {dict(sorted(tally.items()))}; peak RSS "
        f"{peak:.0f} MB, {peak - start:.0f} MB above the {start:.0f} MB at the start"
    )
    assert not disagreements, "\n".join(disagreements)
    assert peak - start < PEAK_GROWTH_BOUND_MB, "a params header made MXNet allocate what it claims"
