package io.mxport.spark

import java.nio.file.{Files, Paths}

import scala.jdk.CollectionConverters._
import scala.util.Using

import io.mxport.{MxportException, NDArray, Predictor, Shape}
import org.apache.spark.sql.Row
import org.apache.spark.sql.types._

class NumericScoringSuite extends SparkSuite {
  import TestData._

  private val rnd = new java.util.Random(7)
  private def sample(n: Int): Array[Float] = Array.fill(n)(rnd.nextGaussian().toFloat)

  private def frame(rows: Seq[Row], schema: StructType, parts: Int) =
    spark.createDataFrame(spark.sparkContext.parallelize(rows, parts), schema)

  test("array columns feed inputs by name; outputs equal the Java Predictor's with the same batches") {
    val model = vector("multi_in_single_out")
    val as = Seq.fill(11)(sample(4))
    val bs = Seq.fill(11)(sample(3))
    val schema = StructType(
      Seq(
        StructField("id", IntegerType),
        StructField("b", ArrayType(FloatType)),
        StructField("a", ArrayType(FloatType))
      )
    )
    val rows = as.indices.map(i => Row(i, bs(i).toSeq, as(i).toSeq))
    val got = new MxportTransformer()
      .setModelUri(model)
      .setBatchSize(3)
      .transform(frame(rows, schema, 2))
      .orderBy("id")
      .select("y")
      .collect()
    val want = Using.resource(new Predictor(model)) { p =>
      reference(
        p,
        slices(
          as.indices.map(i => Seq(NDArray.ofFloats(as(i), new Shape(1, 4)), NDArray.ofFloats(bs(i), new Shape(1, 3)))),
          2
        ),
        3,
        pad = true
      )
    }
    assert(want.flatMap(_.head).exists(v => math.abs(v) > 0.1f), "degenerate reference")
    got.zip(want).foreach { case (r, w) => assert(java.util.Arrays.equals(floats(r.get(0)), w.head)) }
  }

  test("double columns (what Python lists give) are rounded to float32; outputs of several heads get a column each") {
    val model = vector("single_in_multi_out")
    val xs = Seq.fill(5)(Array.fill(6)(rnd.nextGaussian()))
    val schema = StructType(Seq(StructField("x", ArrayType(DoubleType))))
    val out = new MxportTransformer()
      .setModelUri(model)
      .setBatchSize(8)
      .setOutputCol("b", "second")
      .transform(frame(xs.map(x => Row(x.toSeq)), schema, 1))
    assert(out.columns.toSeq == Seq("x", "a", "second", "mxport_error"))
    val got = out.collect()
    Using.resource(new Predictor(model)) { p =>
      val batch = xs.map(_.map(_.toFloat)) ++ Seq.fill(3)(xs.last.map(_.toFloat))
      val outs =
        p.predictWithNDArray(
          java.util.Collections.singletonList(NDArray.ofFloats(batch.flatten.toArray, new Shape(8, 6)))
        ).asScala
      for (i <- xs.indices) {
        assert(floats(got(i).get(1)).toSeq == outs(0).toFloatArray.slice(i * 3, i * 3 + 3).toSeq)
        assert(floats(got(i).get(2)).toSeq == outs(1).toFloatArray.slice(i * 2, i * 2 + 2).toSeq)
      }
    }
  }

  test("a model added with SparkContext.addFile is read through sparkfiles:") {
    val copy = copyModel(vector("single_in_single_out"), "sio_sparkfiles")
    spark.sparkContext.addFile(copy + "-symbol.json")
    spark.sparkContext.addFile(copy + ".params")
    val schema = StructType(Seq(StructField("x", ArrayType(FloatType))))
    val got = new MxportTransformer()
      .setModelUri("sparkfiles:sio_sparkfiles")
      .setBatchSize(2)
      .transform(frame(Seq.fill(3)(Row(sample(6).toSeq)), schema, 2))
      .collect()
    assert(got.forall(r => r.isNullAt(2) && floats(r.get(1)).length == 3))
  }

  test("a model on a Hadoop filesystem is copied to each JVM and loaded from there") {
    val copy = copyModel(vector("single_in_single_out"), "sio_hadoop")
    spark.sparkContext.hadoopConfiguration.set("fs.mxtest.impl", classOf[TestFileSystem].getName)
    spark.sparkContext.hadoopConfiguration.set("fs.mxtest.impl.disable.cache", "true")
    val uri = "mxtest://" + copy
    val schema = StructType(Seq(StructField("x", ArrayType(FloatType))))
    val xs = Seq.fill(4)(sample(6))
    val got = new MxportTransformer().setModelUri(uri).transform(frame(xs.map(x => Row(x.toSeq)), schema, 2)).collect()
    assert(got.forall(_.isNullAt(2)))
    assert(ModelCache.loadCount(uri) == 1)
  }

  test("a missing model fails on the driver with MODEL_NOT_FOUND, before any task") {
    val e = intercept[MxportException](
      new MxportTransformer()
        .setModelUri("/no/such/model")
        .transformSchema(StructType(Seq(StructField("x", ArrayType(FloatType)))))
    )
    assert(e.getCode == "MODEL_NOT_FOUND")
    assert(!Files.exists(Paths.get("/no/such/model-symbol.json")))
  }

  test("columns that cannot feed the model are refused when the schema is checked") {
    val t = new MxportTransformer().setModelUri(vector("single_in_single_out"))
    val noColumn =
      intercept[MxportException](t.transformSchema(StructType(Seq(StructField("z", ArrayType(FloatType))))))
    assert(noColumn.getMessage.contains("setInputCol(\"x\""))
    val strings =
      intercept[MxportException](t.transformSchema(StructType(Seq(StructField("x", ArrayType(StringType))))))
    assert(strings.getCode == "DTYPE_MISMATCH")
    val clash = intercept[MxportException](
      t.transformSchema(StructType(Seq(StructField("x", ArrayType(FloatType)), StructField("y", StringType))))
    )
    assert(clash.getMessage.contains("already has a column 'y'"))
    assert(
      t.setInputCol("x", "z")
        .transformSchema(StructType(Seq(StructField("z", ArrayType(FloatType)))))
        .fieldNames
        .toSeq == Seq("z", "y", "mxport_error")
    )
  }
}

/** A Hadoop filesystem with its own scheme over the local disk, to test the Hadoop path without a cluster. */
class TestFileSystem extends org.apache.hadoop.fs.RawLocalFileSystem {
  override def getUri: java.net.URI = java.net.URI.create("mxtest:///")
  override def getScheme: String = "mxtest"
}

class PersistenceSuite extends SparkSuite {
  import TestData._

  test("the transformer saves and loads with its params (DefaultParamsWritable)") {
    val dir = tempDir().resolve("t").toString
    val t = new MxportTransformer()
      .setModelUri(vector("single_in_single_out"))
      .setBatchSize(3)
      .setInputCol("x", "features")
      .setOnError("fail")
    t.write.overwrite().save(dir)
    val back = MxportTransformer.load(dir)
    assert(back.getModelUri == t.getModelUri && back.getBatchSize == 3)
    assert(
      back.transformSchema(StructType(Seq(StructField("features", ArrayType(FloatType))))).fieldNames.toSeq ==
        Seq("features", "y")
    )
  }
}
