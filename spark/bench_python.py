"""make bench-spark, the Python line: mxport.spark.transform (mapInArrow) on the same files, local[N].

python spark/bench_python.py MASTER MODEL DIR BATCH  ->  a RESULT line like SparkBench's
"""
import os
import sys
import time


def main(master, model, folder, batch):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    started = time.perf_counter()
    from pyspark.sql import SparkSession
    spark = (SparkSession.builder.master(master).appName("mxport-bench-python").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
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
        print(f"RESULT mode=py {master:<6} rows={rows:4d} rows_per_s={rows / seconds:6.2f} first_row_s={first:5.2f} "
              f"threads=spark.task.cpus per Python worker, {df.rdd.getNumPartitions()} partitions, session start "
              f"{session:.2f} s before that")
    finally:
        spark.stop()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
