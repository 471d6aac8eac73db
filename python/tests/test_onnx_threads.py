"""The ONNX engines' threads (spec/RUNTIME.md section 6, rule 4): each ONNX Runtime session and OpenVINO model
that mxport.load(..., engine=...) makes computes with mxport.environment.onnx_threads() threads, from
MXPORT_NUM_THREADS (else every core), each case in a fresh Python process."""

import json
import os
import subprocess
import sys

import pytest

from conftest import VECTORS

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")

CORES = len(os.sched_getaffinity(0))
MODEL = os.path.join(VECTORS, "single_in_single_out", "model")
REPORT = f"""
import json, mxport
ort = mxport.load({MODEL!r}, engine="onnxruntime")
ov = mxport.load({MODEL!r}, engine="openvino")
print(json.dumps({{"onnx_threads": mxport.environment.onnx_threads(),
                  "onnxruntime": ort.session.get_session_options().intra_op_num_threads,
                  "openvino": int(ov.compiled.get_property("INFERENCE_NUM_THREADS"))}}))
"""


def report(**env):
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MXPORT_NUM_THREADS")}
    done = subprocess.run(
        [sys.executable, "-c", REPORT], env=dict(clean, **env), capture_output=True, text=True, cwd="/"
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_mxport_num_threads_sets_each_engine_s_threads():
    assert report(MXPORT_NUM_THREADS="1") == {"onnx_threads": 1, "onnxruntime": 1, "openvino": 1}


def test_by_default_every_core_and_omp_num_threads_is_mxnet_s_only():
    assert CORES > 1, "one core cannot tell the default from a count of one"
    want = {"onnx_threads": CORES, "onnxruntime": CORES, "openvino": CORES}
    assert report() == want
    assert report(OMP_NUM_THREADS="1") == want
