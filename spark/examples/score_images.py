"""Score a folder of images with mxport.spark.transform and write (path, the model's first output, mxport_error)
to Parquet: the Python twin of io.mxport.spark.examples.ScoreImages.

spark-submit --conf spark.pyspark.python=/path/to/venv/bin/python --files m-symbol.json,m.params \
  spark/examples/score_images.py sparkfiles:m IMAGES_DIR OUTPUT_DIR [BATCH_SIZE] [PARTITIONS]
"""

import sys

from pyspark.sql import SparkSession

from mxport.spark import transform


def main(model, images, out, batch="8", partitions=None):
    spark = SparkSession.builder.appName("mxport-score-images").getOrCreate()
    print(f"APP {spark.sparkContext.applicationId}", flush=True)
    try:
        df = spark.read.format("binaryFile").option("pathGlobFilter", "*.{jpg,jpeg,png,bmp,gif}").load(images)
        if partitions:
            df = df.repartition(int(partitions), "path")
        scored = transform(df, model, batch_size=int(batch))
        output = [f.name for f in scored.schema.fields if f.name not in df.columns and f.name != "mxport_error"][0]
        scored.select("path", output, "mxport_error").write.mode("overwrite").parquet(out)
        written = spark.read.parquet(out)
        print(f"scored {written.count()} images ({written.where('mxport_error is not null').count()} bad) into {out}")
    finally:
        spark.stop()


if __name__ == "__main__":
    if not 4 <= len(sys.argv) <= 6:
        sys.exit("usage: score_images.py MODEL_URI IMAGES_DIR OUTPUT_DIR [BATCH_SIZE] [PARTITIONS]")
    main(*sys.argv[1:])
