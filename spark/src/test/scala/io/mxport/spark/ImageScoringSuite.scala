package io.mxport.spark

import scala.util.Using

import io.mxport.{Context, Predictor}
import org.apache.spark.sql.types._

class ImageScoringSuite extends SparkSuite {
  import TestData._

  private val schema = StructType(Seq(StructField("path", StringType), StructField("content", BinaryType)))

  private def imagesFrame(partitions: Int) =
    spark.createDataFrame(spark.sparkContext.parallelize(rowsOf(images), partitions), schema)

  private lazy val decoded = images.map { case (_, b) => Seq(decode(b)) }

  private def assertNotDegenerate(ref: Seq[Seq[Array[Float]]]): Unit = {
    val top = ref.map(_.head.max)
    assert(top.forall(_ > 0.002f), s"reference outputs look degenerate: max probabilities $top")
    assert(ref.map(_.head.indexOf(ref.head.head.max)).distinct.size >= 1)
  }

  test("the output schema comes from the signature, without running anything") {
    val t = new MxportTransformer().setModelUri(resnet)
    val out = t.transformSchema(schema)
    assert(out.fieldNames.toSeq == Seq("path", "content", "prob", "mxport_error"))
    assert(out("prob").dataType == ArrayType(FloatType, containsNull = false))
    assert(t.signature.getInputNames.get(0) == "data")
  }

  test("outputs on real images equal the Java Predictor's bit for bit, in row order (batches of 4, 3 partitions)") {
    val got = new MxportTransformer()
      .setModelUri(resnet)
      .setBatchSize(4)
      .transform(imagesFrame(3))
      .select("path", "prob", "mxport_error")
      .collect()
    assert(got.map(_.getString(0)).toSeq == images.map(_._1), "row order")
    assert(got.forall(_.isNullAt(2)), got.map(_.getString(2)).mkString("; "))
    val want = Using.resource(new Predictor(resnet, java.util.Collections.singletonList(Context.cpu()), true)) { p =>
      reference(p, slices(decoded, 3), batchSize = 4, pad = true)
    }
    assertNotDegenerate(want)
    for ((row, w) <- got.zip(want)) {
      assert(
        java.util.Arrays.equals(floats(row.get(1)), w.head),
        s"${row.getString(0)} differs from the Java Predictor"
      )
    }
  }

  test("an int8 model (mxport.optimize, format version 3) scores like the Java Predictor, bit for bit") {
    val int8 = resnet + "-int8" // written beside resnet18 by demo/export_resnet.py (make models)
    val got = new MxportTransformer()
      .setModelUri(int8)
      .setBatchSize(4)
      .transform(imagesFrame(2))
      .select("path", "prob", "mxport_error")
      .collect()
    assert(got.forall(_.isNullAt(2)), got.map(_.getString(2)).mkString("; "))
    val want = Using.resource(new Predictor(int8)) { p =>
      assert(p.getSignature.getOptimization.get.getKind == "int8")
      reference(p, slices(decoded, 2), batchSize = 4, pad = true)
    }
    assertNotDegenerate(want)
    for ((row, w) <- got.zip(want)) {
      assert(
        java.util.Arrays.equals(floats(row.get(1)), w.head),
        s"${row.getString(0)} differs from the Java Predictor"
      )
    }
  }

  test("with padded tails, a row's outputs do not depend on how the rows are partitioned") {
    def run(parts: Int) = new MxportTransformer()
      .setModelUri(resnet)
      .setBatchSize(4)
      .transform(imagesFrame(parts))
      .select("prob")
      .collect()
      .map(r => floats(r.get(0)).toSeq)
      .toSeq
    assert(run(1) == run(4))
  }

  test("without padding, short batches run at their own size (and still equal the Java Predictor's)") {
    val got = new MxportTransformer()
      .setModelUri(resnet)
      .setBatchSize(4)
      .setPadTail(false)
      .transform(imagesFrame(2))
      .select("prob")
      .collect()
    val want = Using.resource(new Predictor(resnet)) { p => reference(p, slices(decoded, 2), 4, pad = false) }
    for ((row, w) <- got.zip(want)) assert(java.util.Arrays.equals(floats(row.get(0)), w.head))
  }

  test("a folder read with binaryFile scores like the Java Predictor at batch size 1") {
    val dir = tempDir()
    writeImages(dir)
    val got = new MxportTransformer()
      .setModelUri(resnet)
      .setBatchSize(1)
      .transform(spark.read.format("binaryFile").load(dir.toString))
      .select("path", "prob")
      .collect()
    assert(got.length == images.size)
    Using.resource(new Predictor(resnet)) { p =>
      for (row <- got) {
        val name = row.getString(0).substring(row.getString(0).lastIndexOf('/') + 1)
        val want = p
          .predictWithNDArray(java.util.Collections.singletonList(decode(images.toMap.apply(name))))
          .get(0)
          .toFloatArray
        assert(java.util.Arrays.equals(floats(row.get(1)), want), name)
      }
    }
  }

  test("the model is loaded once per executor JVM, however many partitions and jobs use it") {
    val uri = copyModel(resnet, "resnet18") // a new URI: a new cache key, whatever earlier tests loaded
    assert(ModelCache.loadCount(uri) == 0)
    val t = new MxportTransformer().setModelUri(uri).setBatchSize(2)
    assert(t.transform(imagesFrame(6)).filter("mxport_error is null").count() == images.size)
    assert(t.transform(imagesFrame(5)).select("prob").collect().length == images.size)
    assert(ModelCache.loadCount(uri) == 1)
    // the Java core decides once per JVM: with local[2]'s two task slots when Spark loaded this JVM's first model
    // (two engine workers, one thread each), else (a test loaded a Predictor first) one worker with every core
    val userEnv = Seq("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS", "MXNET_CPU_WORKER_NTHREADS").exists(sys.env.contains)
    val (workers, threads) =
      if (NativeThreads.handedWorkers.contains(2)) (2, 1) else (1, Runtime.getRuntime.availableProcessors())
    assert(
      userEnv || (NativeThreads.appliedWorkers == workers && NativeThreads.appliedCount == threads),
      s"local[2] computes on $workers engine worker(s) with $threads thread(s) each, not " +
        s"${NativeThreads.appliedWorkers} x ${NativeThreads.appliedCount}"
    )
  }
}
