package io.mxport.spark

import org.apache.spark.SparkException
import org.apache.spark.sql.Row
import org.apache.spark.sql.types._

class BadRowsSuite extends SparkSuite {
  import TestData._

  private val imageSchema = StructType(Seq(StructField("path", StringType), StructField("content", BinaryType)))

  /** A PNG header that claims a 100000 x 100000 image (a decompression bomb), with no pixels. */
  private val bomb: Array[Byte] = {
    val ihdr = java.nio.ByteBuffer
      .allocate(13)
      .putInt(100000)
      .putInt(100000)
      .put(8.toByte)
      .put(2.toByte)
      .put(0.toByte)
      .put(0.toByte)
      .put(0.toByte)
      .array()
    val crc = new java.util.zip.CRC32()
    crc.update("IHDR".getBytes("US-ASCII"))
    crc.update(ihdr)
    val b = java.nio.ByteBuffer.allocate(8 + 4 + 4 + 13 + 4)
    b.put(Array(0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a).map(_.toByte))
      .putInt(13)
      .put("IHDR".getBytes("US-ASCII"))
      .put(ihdr)
      .putInt(crc.getValue.toInt)
    b.array()
  }

  private def badImages = Seq(
    Row("good0.jpg", cat),
    Row("garbage.jpg", "not an image at all".getBytes("UTF-8")),
    Row("good1.jpg", cat),
    Row("null.jpg", null),
    Row("empty.jpg", Array.emptyByteArray),
    Row("bomb.png", bomb),
    Row("good2.jpg", cat)
  )

  test("bad images get an error column and null outputs; good rows around them are scored") {
    val df = spark.createDataFrame(spark.sparkContext.parallelize(badImages, 1), imageSchema)
    val got = new MxportTransformer()
      .setModelUri(resnet)
      .setBatchSize(4)
      .transform(df)
      .select("path", "prob", "mxport_error")
      .collect()
    val byName = got.map(r => r.getString(0) -> r).toMap
    assert(got.map(_.getString(0)).toSeq == badImages.map(_.getString(0)), "row order")
    for (n <- Seq("good0.jpg", "good1.jpg", "good2.jpg")) {
      assert(byName(n).isNullAt(2), String.valueOf(byName(n).get(2)))
      assert(floats(byName(n).get(1)).length == 1000)
    }
    // the three good rows were one batch: identical inputs, identical outputs
    assert(floats(byName("good0.jpg").get(1)).toSeq == floats(byName("good2.jpg").get(1)).toSeq)
    for (n <- Seq("garbage.jpg", "null.jpg", "empty.jpg", "bomb.png")) assert(byName(n).isNullAt(1), n)
    assert(
      byName("garbage.jpg")
        .getString(2)
        .startsWith("[INVALID_ARGUMENT] column 'content' (model input 'data'): cannot decode 19 bytes as an image")
    )
    assert(byName("null.jpg").getString(2) == "[INVALID_ARGUMENT] column 'content' (model input 'data') is null")
    assert(
      byName("bomb.png")
        .getString(2)
        .contains("100000x100000 image, more than 100000000 pixels; shrink it or raise the limit")
    )
  }

  test(
    "wrong numeric rows get an error column: wrong size, null, null element, ragged, non-integer for an integer input"
  ) {
    val schema = StructType(Seq(StructField("id", IntegerType), StructField("x", ArrayType(DoubleType))))
    val rows = Seq(
      Row(0, Seq(1.0, 2, 3, 4, 5, 6)),
      Row(1, Seq(1.0, 2, 3)),
      Row(2, null),
      Row(3, Seq[Any](1.0, null, 3.0, 4.0, 5.0, 6.0)),
      Row(4, Seq(6.0, 5, 4, 3, 2, 1))
    )
    val got = new MxportTransformer()
      .setModelUri(vector("single_in_single_out"))
      .transform(spark.createDataFrame(spark.sparkContext.parallelize(rows, 2), schema))
      .orderBy("id")
      .select("y", "mxport_error")
      .collect()
    assert(got(0).isNullAt(1) && got(4).isNullAt(1))
    assert(
      got(1).getString(1) == "[SHAPE_MISMATCH] column 'x' (model input 'x') has sample shape [3] (shape [1,3]) " +
        "but the model takes [-1,6]"
    )
    assert(got(2).getString(1).endsWith("is null"))
    assert(got(3).getString(1).contains("null element"))
    val image = new MxportTransformer().setModelUri(vector("uint8_image")) // uint8 [-1,12,10,3]
    val nested = StructType(Seq(StructField("image", ArrayType(ArrayType(ArrayType(DoubleType))))))
    val px = Seq.fill(12)(Seq.fill(10)(Seq(1.0, 2.0, 3.0)))
    val frac = Seq.fill(12)(Seq.fill(10)(Seq(1.5, 2.0, 3.0)))
    val ragged = px.updated(3, Seq.fill(9)(Seq(1.0, 2.0, 3.0)))
    val errs = image
      .transform(spark.createDataFrame(spark.sparkContext.parallelize(Seq(Row(px), Row(frac), Row(ragged)), 1), nested))
      .select("mxport_error")
      .collect()
      .map(r => Option(r.getString(0)))
    assert(errs(0).isEmpty, errs(0).toString)
    assert(errs(1).exists(_.startsWith("[DTYPE_MISMATCH]")), errs(1).toString)
    assert(errs(2).exists(_.contains("different lengths")), errs(2).toString)
  }

  test("onError=fail fails the job with a message that names the row; the session and the JVM go on") {
    val df = spark.createDataFrame(spark.sparkContext.parallelize(badImages.take(3), 1), imageSchema)
    val t = new MxportTransformer().setModelUri(resnet).setOnError("fail")
    assert(!t.transformSchema(imageSchema).fieldNames.contains("mxport_error"))
    val e = intercept[SparkException](t.transform(df).collect())
    val text = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.getMessage).mkString("\n")
    assert(text.contains("mxport cannot score row 1 of partition 0 (path = garbage.jpg)"), text)
    assert(text.contains("[INVALID_ARGUMENT]"), text)
    // still alive
    val ok = spark.createDataFrame(spark.sparkContext.parallelize(badImages.take(1), 1), imageSchema)
    assert(t.transform(ok).count() == 1)
  }
}
