package io.mxport.scalaapi

import io.mxport.{Predictor => JPredictor}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

import scala.jdk.CollectionConverters._
import scala.util.Random

/** The end-to-end ResNet-18 of `make models` (uint8 NHWC -> Resize/ToTensor/Normalize -> resnet18 -> softmax):
  * the Scala API gives the Java Predictor's outputs bit for bit, on the same core and engine.
  */
class ResNetSuite extends AnyFunSuite with BeforeAndAfterAll {
  private lazy val prefix = TestSupport.resnet
  private lazy val scalaPredictor = Predictor(prefix)
  private lazy val javaPredictor = new JPredictor(prefix)

  override def afterAll(): Unit = {
    scalaPredictor.close()
    javaPredictor.close()
  }

  /** `n` synthetic RGB pictures of 240x320, uint8 `[n, 240, 320, 3]`: smooth colour gradients with a disc (each
    * sample shifted), alternating with seeded noise. (Not demo/cat.jpg: once libmxnet.so is loaded in a process,
    * ImageIO's JPEG reader fails, see the report; the demo reads its JPEG before loading the model.)
    */
  private def batch(n: Int): NDArray = {
    val (h, w) = (240, 320)
    val random = new Random(42)
    val samples = (0 until n).map { s =>
      if (s % 3 == 2) Array.fill[Byte](h * w * 3)(random.nextInt(256).toByte)
      else
        Array.tabulate[Byte](h * w * 3) { i =>
          val (y, x, c) = (i / (w * 3), i / 3 % w, i % 3)
          val inDisc = math.hypot(x - 160.0 - 40 * s, y - 120.0) < 70
          val v = c match {
            case 0 => if (inDisc) 230 else x * 255 / w
            case 1 => if (inDisc) 120 else y * 255 / h
            case _ => if (inDisc) 40 else (x + y + 60 * s) % 256
          }
          v.toByte
        }
    }
    NDArray(samples.flatten.toArray, Shape(n, h, w, 3))
  }

  private def check(n: Int): Unit = {
    val input = batch(n)
    val want = javaPredictor.predictWithNDArray(List(input).asJava).get(0)
    val got = scalaPredictor.predictWithNDArray(IndexedSeq(input))
    assert(got.size == 1)
    assert(want.shape == Shape(n, 1000))
    val probs = want.toFloatArray
    info(f"batch $n: max probability ${probs.max}%.4f")
    assert(probs.max > 3f / 1000, s"the Java reference's max probability ${probs.max} is too close to uniform (1/1000)")
    assert(probs.distinct.length > 100, "the Java reference is (nearly) constant")
    for (s <- 0 until n) {
      val sum = probs.slice(s * 1000, (s + 1) * 1000).map(_.toDouble).sum
      assert(math.abs(sum - 1) < 1e-3, s"sample $s: probabilities sum to $sum")
    }
    val rows = probs.grouped(1000).map(_.toSeq).toSeq
    assert(rows.distinct.size == n, "two samples gave the same probabilities")
    assert(got.head == want, s"batch $n: Scala's output is not bit-identical to Java's") // shape, dtype, bytes
    // by name too; the flat API cannot say H and W, which are dynamic here: the Java core refuses it
    assert(scalaPredictor.predictWithNDArray(Map("data" -> input)) == Map("prob" -> want))
    assert(
      intercept[MxportException](scalaPredictor.predict(IndexedSeq(input.toFloatArray))).getCode == "INVALID_ARGUMENT"
    )
  }

  test("batch 1: Scala's output equals Java's bit for bit") {
    check(1)
  }

  test("batch 3 (two pictures and noise): Scala's output equals Java's bit for bit") {
    check(3)
  }

  test("the signature is the Java Predictor's, with Scala accessors") {
    val sig = scalaPredictor.signature
    assert(sig == javaPredictor.getSignature)
    assert(sig.inputNames == IndexedSeq("data") && sig.outputNames == IndexedSeq("prob"))
    val data = sig.inputs.head
    assert(data.shape.dims == IndexedSeq(-1, -1, -1, 3) && data.dtype == DType.UINT8 && data.layout.contains("NHWC"))
    assert(sig.outputs.head.shape == Shape(-1, 1000) && sig.outputs.head.dtype == DType.FLOAT32)
    assert(sig.network.map(_.inputs.head.shape).contains(Shape(-1, 3, 224, 224)))
  }
}
