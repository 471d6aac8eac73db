"""Hostile model files: every seeded broken model ends in success or a spec error code, never a crash.

`make test` runs 300 cases (MXPORT_FUZZ_CASES); `make fuzz` runs more. That Java and Scala end each case with the
code Python does is integration_tests/test_fuzz_agreement.py's test (the same corpus, seed and case count).
"""

import collections
import json
import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest

import mxport
from mxport._errors import CODES
from conftest import REPO

CASES = int(os.environ.get("MXPORT_FUZZ_CASES", "300"))
SEED = int(os.environ.get("MXPORT_FUZZ_SEED", "0"))
OUT = os.path.join(REPO, ".cache", "fuzz")


@pytest.fixture(scope="module")
def corpus():
    subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "spec", "tools", "fuzz_models.py"),
            OUT,
            "--cases",
            str(CASES),
            "--seed",
            str(SEED),
        ],
        check=True,
    )
    return json.load(open(os.path.join(OUT, "index.json")))


def old_kwargs(load):
    """load() arguments for an old model's case (its input descriptions and epoch), none for an mxport model."""
    if load is None:
        return {}
    return {
        "inputs": [mxport.TensorSpec(s["name"], tuple(s["shape"]), s["dtype"], s["layout"]) for s in load["inputs"]],
        "epoch": load["epoch"],
    }


def outcome(prefix, load=None):
    """'OK' when the model loads and answers a zero input, else the error code."""
    signal.alarm(60)  # a hang is a failure too
    try:
        block = mxport.load(prefix, **old_kwargs(load))
        xs = [np.zeros((1,) + tuple(1 if d == -1 else d for d in s.shape[1:]), s.dtype) for s in block.signature.inputs]
        out = block(*xs)
        (out if isinstance(out, list) else [out])[0].wait_to_read()
        return "OK"
    except mxport.MxportError as e:
        return e.code
    finally:
        signal.alarm(0)


# What loading the whole corpus may add to the process's peak memory. Every file is under 2 KB; before the
# params header was read first, one flipped shape made MXNet allocate 9-11 GB.
PEAK_GROWTH_BOUND_MB = 256


def reset_peak_rss():
    """Resets the process's peak RSS (Linux: /proc/self/clear_refs 5) and returns the current RSS in MB."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return peak_rss_mb()


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_every_broken_model_ends_in_a_spec_code(corpus):
    codes = {}
    start = reset_peak_rss()
    for case in corpus:
        prefix = os.path.join(OUT, case["case"], "model")
        try:
            codes[case["case"]] = outcome(prefix, case.get("load"))
        except Exception as e:  # noqa: BLE001 - the very thing this test looks for
            pytest.fail(f"case {case['case']} ({case['note']}): {type(e).__name__}: {e}")
        assert codes[case["case"]] in CODES + ("OK",)
    tally = collections.Counter(codes.values())
    peak = peak_rss_mb()
    print(
        f"\nfuzz: {len(codes)} cases, seed {SEED}: {dict(sorted(tally.items()))}; peak RSS {peak:.0f} MB, "
        f"{peak - start:.0f} MB above the {start:.0f} MB at the start"
    )
    assert peak - start < PEAK_GROWTH_BOUND_MB, "a params header made MXNet allocate what it claims"
    # the corpus exercises the checks it is meant to: most cases must be refused, several ways
    assert tally["OK"] < len(codes) * 0.2
    assert len(tally) >= 6
    old = [codes[c["case"]] for c in corpus if c.get("load")]
    assert old.count("OK") >= len(old) * 0.3, "old models with converter names must mostly load"
    flipped = [
        codes[c["case"]] for c in corpus if c.get("load") and c["mutation"] in ("flip_params", "scramble_params")
    ]
    assert len(flipped) >= CASES // 40, "the corpus must flip old models' params anywhere"
    assert "BAD_PARAMS" in flipped


def test_a_model_whose_digest_matches_but_whose_params_lie_is_refused_cleanly(corpus):
    noted = [c for c in corpus if c["mutation"] in ("truncate_params_redigested", "flip_params_redigested")]
    assert noted, "the corpus has no redigested params"
    for case in noted:
        assert outcome(os.path.join(OUT, case["case"], "model")) in ("BAD_PARAMS", "OK"), case
