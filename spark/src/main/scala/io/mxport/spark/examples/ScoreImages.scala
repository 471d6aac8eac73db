package io.mxport.spark.examples

import io.mxport.spark.MxportTransformer
import org.apache.spark.sql.SparkSession
import org.apache.spark.sql.functions.{array_max, array_position, col}

/**
 * Scores a folder of images with an mxport image model and writes (path, top class, its probability, the model's
 * whole first output, error) to Parquet:
 * {{{
 * spark-submit --class io.mxport.spark.examples.ScoreImages mxport-spark_2.13-<version>-all.jar \
 *   MODEL_URI IMAGES_DIR OUTPUT_DIR [BATCH_SIZE]
 * }}}
 */
object ScoreImages {
  def main(args: Array[String]): Unit = {
    if (args.length < 3 || args.length > 4) {
      System.err.println("usage: ScoreImages MODEL_URI IMAGES_DIR OUTPUT_DIR [BATCH_SIZE]")
      sys.exit(2)
    }
    val spark = SparkSession.builder().appName("mxport-score-images").getOrCreate()
    try {
      val images = spark.read
        .format("binaryFile")
        .option("pathGlobFilter", "*.{jpg,jpeg,png,bmp,gif}")
        .option("recursiveFileLookup", "true")
        .load(args(1))
      val model = new MxportTransformer().setModelUri(args(0))
      if (args.length == 4) model.setBatchSize(args(3).toInt)
      val output = model.signature.getOutputNames.get(0)
      val scored = model
        .transform(images)
        .select(
          col("path"),
          (array_position(col(output), array_max(col(output))) - 1).as("top_class"),
          array_max(col(output)).as("top_score"),
          col(output),
          col("mxport_error")
        )
      scored.write.mode("overwrite").parquet(args(2))
      val written = spark.read.parquet(args(2))
      println(
        s"scored ${written.count()} images (${written.where("mxport_error is not null").count()} bad) into ${args(2)}"
      )
      written.orderBy("path").select("path", "top_class", "top_score", "mxport_error").show(5, truncate = false)
    } finally spark.stop()
  }
}
