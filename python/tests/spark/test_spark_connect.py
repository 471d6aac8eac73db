"""mxport.spark on Spark Connect: the same pure-PySpark transform through a Connect session.

The child starts a local Spark Connect server as `SparkSession.builder.remote("local[1]")` does (a classic
session with the Connect plugin), but on a free port instead of the fixed 15002, so that it never meets another
run's server; the session the test drives is the Connect client's (`pyspark.sql.connect`), which has no py4j
gateway, so this proves that mxport.spark needs none. It runs in a process of its own: the test process holds a
classic session.
"""

import os
import subprocess
import sys

import pytest

pytest.importorskip("pyspark", reason="pip install -e 'python[spark]' -c requirements-dev.txt")
if pytest.importorskip("pyspark").__version__.startswith("3."):
    # Spark 3.5's pip pyspark ships no Connect server: its jar would come from --packages, a download at run time
    pytest.skip(
        "Spark Connect is tested on Spark 4 (pyspark 3.5's wheel has no Connect server)", allow_module_level=True
    )
pytest.importorskip("grpc", reason="Spark Connect's client needs grpcio (the spark extra)")

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

SCRIPT = r"""
import os, socket, sys
import numpy as np
os.environ["PYSPARK_PYTHON"] = sys.executable
from pyspark import SparkConf, SparkContext
from pyspark.sql import SparkSession
from pyspark.sql.connect.session import SparkSession as ConnectSession
import mxport
from mxport.spark import transform

prefix, inputs = sys.argv[1], sys.argv[2]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = SparkSession(SparkContext.getOrCreate(
    SparkConf().setMaster("local[1]").set("spark.ui.enabled", "false")
    .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
    .set("spark.plugins", "org.apache.spark.sql.connect.SparkConnectPlugin")
    .set("spark.connect.grpc.binding.address", "127.0.0.1").set("spark.connect.grpc.binding.port", str(port))))
spark = ConnectSession.builder.remote(f"sc://127.0.0.1:{port}").getOrCreate()
assert type(spark).__module__.startswith("pyspark.sql.connect"), type(spark).__module__
x = np.load(inputs)
df = spark.createDataFrame([(row.tolist(),) for row in x], "x array<float>").coalesce(1)
rows = transform(df, prefix, batch_size=len(x)).select("y", "mxport_error").collect()
assert all(r["mxport_error"] is None for r in rows), rows
got = np.array([r["y"] for r in rows], dtype="float32")
want = mxport.load(prefix)(x).asnumpy()
assert np.abs(want).max() > 1e-2
assert np.array_equal(got, want), (got, want)
print("CONNECT OK", type(spark).__module__)
spark.stop()
server.stop()
"""


def test_transform_runs_on_a_spark_connect_session_and_equals_mxport_load():
    case = os.path.join(REPO, "spec", "vectors", "single_in_single_out")
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, os.path.join(case, "model"), os.path.join(case, "in_0_0.npy")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and "CONNECT OK pyspark.sql.connect" in done.stdout, (
        done.stdout[-2000:] + done.stderr[-4000:]
    )
