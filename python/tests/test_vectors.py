"""Every conformance vector of spec/vectors, through Gluon (mxport.load) and Module (mxport.load_module)."""

import filecmp
import json
import os
import pathlib
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest

import mxport
from mxport import TensorSpec
from conftest import REPO, VECTORS, assert_close, assert_meaningful, case_names


def read_case(name):
    folder = os.path.join(VECTORS, name)
    with open(os.path.join(folder, "case.json")) as f:
        return folder, json.load(f)


def load_kwargs(case):
    inputs = case["load"]["inputs"]
    kwargs = {}
    if inputs is not None:
        kwargs["inputs"] = [TensorSpec(s["name"], tuple(s["shape"]), s["dtype"], s["layout"]) for s in inputs]
    if case["load"]["epoch"] is not None:
        kwargs["epoch"] = case["load"]["epoch"]
    return kwargs


def arrays(folder, names):
    return [np.load(os.path.join(folder, n)) for n in names]


@pytest.mark.parametrize("name", case_names("valid"))
def test_valid_case_through_gluon(name):
    folder, case = read_case(name)
    for run in case["runs"]:
        block = mxport.load(os.path.join(folder, "model"), load_transforms=run["load_transforms"], **load_kwargs(case))
        inputs = arrays(folder, run["inputs"])
        if run.get("expected_error"):
            given = dict(zip(run["names"], inputs)) if "names" in run else inputs
            with pytest.raises(mxport.MxportError) as e:
                block(given) if isinstance(given, dict) else block(*given)
            assert e.value.code == run["expected_error"], str(e.value)
            continue
        got = block(*[mx.nd.array(a, dtype=a.dtype) for a in inputs])
        got = got if isinstance(got, list) else [got]
        for j, want in enumerate(arrays(folder, run["outputs"])):
            assert_meaningful(want, f"{name} output {j}")
            assert_close(got[j].asnumpy(), want, case["rtol"], case["atol"], f"{name} run {run['inputs']} out {j}")


@pytest.mark.parametrize("name", case_names("valid"))
def test_valid_case_through_module(name):
    folder, case = read_case(name)
    for run in case["runs"]:
        if run.get("expected_error"):
            continue
        inputs = arrays(folder, run["inputs"])
        mod = mxport.load_module(
            os.path.join(folder, "model"),
            load_transforms=run["load_transforms"],
            data_shapes=[a.shape for a in inputs],
            **load_kwargs(case),
        )
        mod.forward(mx.io.DataBatch([mx.nd.array(a, dtype=a.dtype) for a in inputs]))
        for j, want in enumerate(arrays(folder, run["outputs"])):
            # Module runs a GraphExecutor with oneDNN subgraph fusion: last bits may differ (about 1e-7 relative)
            assert_close(
                mod.get_outputs()[j].asnumpy(),
                want,
                max(case["rtol"], 1e-4),
                max(case["atol"], 1e-5),
                f"{name} module out {j}",
            )


@pytest.mark.parametrize("name", case_names("valid"))
def test_valid_case_carries_its_format_version_labels_and_metadata(name):
    folder, case = read_case(name)
    if "signature" not in case:  # an old model: no signature to carry them; its names are the graph's own
        assert case["load"]["inputs"] is not None
        if "output_names" in case:
            for block in (
                mxport.load(os.path.join(folder, "model"), **load_kwargs(case)),
                mxport.load_module(os.path.join(folder, "model"), **load_kwargs(case)),
            ):
                assert block.signature.output_names == case["output_names"]
                assert block.signature.input_names == [s["name"] for s in case["load"]["inputs"]]
        return
    want = case["signature"]
    with open(os.path.join(folder, "model-symbol.json")) as f:
        nodes = json.load(f)["nodes"]
    stored = [
        json.loads(n["attrs"]["__mxport_signature__"]) for n in nodes if "__mxport_signature__" in n.get("attrs", {})
    ]
    assert stored[0]["mxport_format"] == want["mxport_format"]
    sig = mxport.load(os.path.join(folder, "model")).signature
    assert sig.metadata == want["metadata"]
    assert {s.name: list(s.labels) for s in sig.outputs if s.labels is not None} == want["labels"]
    assert sig.optimization == want.get("optimization")


def test_vectors_of_every_format_version_are_there():
    versions = {read_case(n)[1].get("signature", {}).get("mxport_format") for n in case_names("valid")}
    assert {1, 2, 3} <= versions


@pytest.mark.parametrize("name", case_names("invalid"))
def test_invalid_case_fails_with_its_code(name):
    folder, case = read_case(name)
    with pytest.raises(mxport.MxportError) as e:
        mxport.load(os.path.join(folder, "model"), **load_kwargs(case))
    assert e.value.code == case["expected_error"], str(e.value)
    with pytest.raises(mxport.MxportError) as e:
        mxport.load_module(os.path.join(folder, "model"), **load_kwargs(case))
    assert e.value.code == case["expected_error"], str(e.value)


def fresh_vectors(out):
    """spec/tools/make_vectors.py's output: the Makefile's regeneration (MXPORT_FRESH_VECTORS, made once for this
    suite and the integration matrix), else one into ``out``."""
    if os.environ.get("MXPORT_FRESH_VECTORS"):
        return pathlib.Path(os.environ["MXPORT_FRESH_VECTORS"])
    subprocess.run(
        [sys.executable, os.path.join(REPO, "spec", "tools", "make_vectors.py"), str(out)],
        check=True,
        capture_output=True,
    )
    return out


def test_committed_vectors_match_a_fresh_regeneration(tmp_path):
    out = fresh_vectors(tmp_path / "vectors")
    assert sorted(os.listdir(out)) == sorted(os.listdir(VECTORS)), "cases differ: run make vectors"
    for name in os.listdir(out):
        fresh, committed = out / name, os.path.join(VECTORS, name)
        assert sorted(os.listdir(fresh)) == sorted(os.listdir(committed)), f"{name}: files differ"
        _, case = read_case(name)
        rtol, atol = max(case["rtol"], 1e-6), max(case["atol"], 1e-7)
        for f in os.listdir(fresh):
            if f.startswith("out_"):  # float results differ in the last bits on another CPU, int8 by the case's
                assert_close(np.load(fresh / f), np.load(os.path.join(committed, f)), rtol, atol, f"{name}/{f}")
            else:
                assert filecmp.cmp(fresh / f, os.path.join(committed, f), shallow=False), (
                    f"{name}/{f} differs from a regeneration: run make vectors and commit"
                )


def test_vectors_stay_small():
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(VECTORS) for f in fs)
    assert total < 2 * 1024 * 1024, f"spec/vectors is {total} bytes"
