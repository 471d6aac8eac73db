"""The PySpark driver that test_spark_cluster.py submits with spark-submit: score a folder of images with
mxport.spark.transform and write (path, prob, mxport_error) to Parquet.

spark-submit --files m-symbol.json,m.params spark_cluster_job.py sparkfiles:m IMAGES OUT BATCH PARTITIONS
"""
import sys

from pyspark.sql import SparkSession

from mxport.spark import transform


def main(model, images, out, batch, partitions):
    spark = SparkSession.builder.appName("mxport-cluster-python").getOrCreate()
    print(f"APP {spark.sparkContext.applicationId}", flush=True)
    try:
        df = spark.read.format("binaryFile").load(images).repartition(int(partitions), "path")
        scored = transform(df, model, batch_size=int(batch))
        output = [f.name for f in scored.schema.fields if f.name not in df.columns and f.name != "mxport_error"][0]
        scored.select("path", output, "mxport_error").write.mode("overwrite").parquet(out)
        print(f"WROTE {spark.read.parquet(out).count()}", flush=True)
    finally:
        spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:])
