package io.mxport.spark

import java.nio.file.{Files, Paths}
import java.util.concurrent.TimeUnit

import scala.util.Using

import io.mxport.{Engine, MxportException, Predictor}
import org.apache.spark.sql.types._

/** setEngine("onnxruntime"): executors run `<modelUri>.onnx` (written here by the Python exporter) on ONNX Runtime. */
class EngineSuite extends SparkSuite {
  import TestData._

  private val schema = StructType(Seq(StructField("path", StringType), StructField("content", BinaryType)))

  /** The ResNet-18 copied to a new folder, with `model.onnx` beside it (mxport export-onnx). */
  private lazy val withOnnx: String = {
    val prefix = copyModel(resnet)
    val python = Option(System.getenv("MXPORT_PYTHON"))
      .filter(_.nonEmpty)
      .getOrElse(root.resolve(".venv").resolve("bin").resolve("python").toString)
    val p = new ProcessBuilder(python, "-m", "mxport.cli", "export-onnx", prefix, prefix + ".onnx").inheritIO().start()
    assert(p.waitFor(300, TimeUnit.SECONDS) && p.exitValue() == 0, "mxport export-onnx failed")
    prefix
  }

  test("ONNX Runtime's rows equal the Java Predictor's on that engine, within spec/onnx_tolerances.json of MXNet's") {
    val frame = spark.createDataFrame(spark.sparkContext.parallelize(rowsOf(images.take(6)), 2), schema)
    val got = new MxportTransformer()
      .setModelUri(withOnnx)
      .setBatchSize(3)
      .setEngine("onnxruntime")
      .transform(frame)
      .select("path", "prob", "mxport_error")
      .collect()
    assert(got.forall(_.isNullAt(2)), got.map(_.getString(2)).mkString("; "))
    val decoded = images.take(6).map { case (_, b) => Seq(decode(b)) }
    val onOrt = Using.resource(new Predictor(withOnnx + ".onnx", Engine.ONNXRUNTIME, true)) { p =>
      reference(p, slices(decoded, 2), batchSize = 3, pad = true)
    }
    val onMxnet =
      Using.resource(new Predictor(withOnnx))(p => reference(p, slices(decoded, 2), batchSize = 3, pad = true))
    assert(onMxnet.forall(_.head.max > 0.002f), "degenerate reference")
    for (((row, o), m) <- got.zip(onOrt).zip(onMxnet)) {
      val prob = floats(row.get(1))
      assert(java.util.Arrays.equals(prob, o.head), s"${row.getString(0)} differs from the Predictor on ONNX Runtime")
      for (i <- prob.indices)
        assert(math.abs(prob(i) - m.head(i)) <= 1e-5 + 1e-5 * math.abs(m.head(i)), s"${row.getString(0)} [$i]")
    }
  }

  test("a model without its .onnx file fails naming the command that writes it") {
    val frame = spark.createDataFrame(spark.sparkContext.parallelize(rowsOf(images.take(1)), 1), schema)
    val bare = copyModel(resnet)
    val e = intercept[Exception](
      new MxportTransformer()
        .setModelUri(bare)
        .setEngine("onnxruntime")
        .setOnError("fail")
        .transform(frame)
        .collect()
    )
    val cause =
      Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).collectFirst { case m: MxportException => m }
    val text = Iterator.iterate[Throwable](e)(_.getCause).takeWhile(_ != null).map(_.toString).mkString(" / ")
    assert(cause.exists(_.getCode == "MODEL_NOT_FOUND") || text.contains("MODEL_NOT_FOUND"), text)
    assert(text.contains("export-onnx"), text)
    assert(!Files.exists(Paths.get(bare + ".onnx")))
  }
}
