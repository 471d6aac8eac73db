"""Run by test_worker_python.py in a process of its own (one SparkContext's worker Python per process):
local Spark sessions one after the other, each printing one JSON line.

python worker_python.py BARE_PYTHON
"""

import json
import os
import sys

from pyspark.sql import SparkSession

import mxport
from mxport.spark import check_workers


def session(**conf):
    b = (
        SparkSession.builder.master("local[2]")
        .appName("mxport-worker-python")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    for k, v in conf.items():
        b = b.config(k, v)
    return b.getOrCreate()


def report(case, **fields):
    print("CASE " + json.dumps(dict(case=case, **fields)), flush=True)


def main(bare):
    os.environ["PYSPARK_PYTHON"] = bare  # spark-submit turns --conf spark.pyspark.python into this variable
    spark = session()
    try:
        df = spark.createDataFrame([([1.0] * 6,)], "x array<double>")
        model = os.path.join(
            os.path.dirname(__file__), "..", "..", "..", "spec", "vectors", "single_in_single_out", "model"
        )
        mxport.spark.transform(df, model)
        report("bare", code=None)
    except mxport.MxportError as e:
        report("bare", code=e.code, message=str(e))
    finally:
        spark.stop()
    os.environ["PYSPARK_PYTHON"] = sys.executable
    for case, conf in (
        ("task_cpus_2", {"spark.task.cpus": "2"}),
        ("user_omp", {"spark.task.cpus": "2", "spark.executorEnv.OMP_NUM_THREADS": "2"}),
    ):
        spark = session(**conf)
        try:
            python, version, decision = check_workers(spark)
            report(case, python=python, version=version, decision=decision)
        finally:
            spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
