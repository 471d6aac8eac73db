package io.mxport.spark

import org.apache.spark.sql.Row
import org.apache.spark.sql.types._

class LifecycleSuite extends SparkSuite {
  import TestData._

  test("tasks return their lease when they end; stopping Spark closes the executor's models (plugin)") {
    val uri = copyModel(vector("single_in_single_out"), "lifecycle")
    val schema = StructType(Seq(StructField("x", ArrayType(FloatType))))
    val df = spark.createDataFrame(spark.sparkContext.parallelize(Seq.fill(8)(Row(Seq.fill(6)(1f))), 4), schema)
    val t = new MxportTransformer().setModelUri(uri).setBatchSize(2)
    assert(t.transform(df).count() == 8)
    val key = ModelCache.loadedKeys.find(_.uri == uri).getOrElse(fail(s"$uri is not loaded"))
    assert(ModelCache.leaseCount(key) == 0, "every task returned its lease")
    assert(ModelCache.loadCount(key) == 1)
    spark.stop() // MxportSparkPlugin.shutdown
    assert(!ModelCache.loadedKeys.contains(key), "the model was closed with the executor")
  }
}
