"""make bench-spark, the Python lines: mxport.load alone, or mxport.spark.transform (mapInArrow) on the same files.

python spark/bench_python.py single|local[N]|spark://HOST:PORT MODEL DIR BATCH  ->  a RESULT line like SparkBench's
"""

import glob
import os
import sys
import time


def single(model, folder, batch):
    """One process, no Spark: decode (mx.image.imdecode, as mxport.spark does) and predict in batches."""
    import mxport  # first: its thread rule and short spin (README, threads)
    import mxnet as mx
    import numpy as np

    files = sorted(glob.glob(os.path.join(folder, "*.jpg")))

    def run(block, group):
        x = np.stack([mx.image.imdecode(open(f, "rb").read(), flag=1, to_rgb=1).asnumpy() for f in group])
        block(mx.nd.array(x, dtype="uint8")).asnumpy()

    t0 = time.perf_counter()
    block = mxport.load(model)
    run(block, files[:batch])
    first = time.perf_counter() - t0
    t1 = time.perf_counter()
    for k in range(0, len(files), batch):
        run(block, files[k : k + batch])
    seconds = time.perf_counter() - t1
    print(
        f"RESULT mode=py single rows={len(files):4d} rows_per_s={len(files) / seconds:6.2f} first_row_s={first:5.2f} "
        f"threads={mxport.environment.applied()}"
    )


def spark_run(master, model, folder, batch):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    started = time.perf_counter()
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master)
        .appName("mxport-bench-python")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    if master.startswith("spark://"):  # spark/cluster.py's workers: one 1-core executor each
        builder = (
            builder.config("spark.executor.cores", "1")
            .config("spark.cores.max", "2")
            .config("spark.executor.memory", "1g")
        )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    session = time.perf_counter() - started
    try:
        from mxport.spark import transform

        t0 = time.perf_counter()
        df = transform(spark.read.format("binaryFile").load(folder), model, batch_size=batch)
        df.select("prob").limit(1).collect()
        first = time.perf_counter() - t0
        rows = df.count()
        t1 = time.perf_counter()
        scored = len(df.where("mxport_error is null").select("prob").collect())
        seconds = time.perf_counter() - t1
        assert scored == rows, f"{scored} of {rows} rows scored"
        print(
            f"RESULT mode=py {master:<6} rows={rows:4d} rows_per_s={rows / seconds:6.2f} first_row_s={first:5.2f} "
            f"threads=spark.task.cpus per Python worker, {df.rdd.getNumPartitions()} partitions, session start "
            f"{session:.2f} s before that"
        )
    finally:
        spark.stop()


if __name__ == "__main__":
    mode, model, folder, batch = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    single(model, folder, batch) if mode == "single" else spark_run(mode, model, folder, batch)
