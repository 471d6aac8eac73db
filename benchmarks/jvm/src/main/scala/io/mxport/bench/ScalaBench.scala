package io.mxport.bench

import java.awt.RenderingHints
import java.awt.image.{BufferedImage, DataBufferByte}

import io.mxport.scalaapi._

/** The Scala row of the benchmark table, timed inside the JVM; prints one JSON line like [[JvmBench]].
  *
  * {{{
  * java -cp CLASSPATH io.mxport.bench.ScalaBench --mode e2e|split --batch 1 --runs 500 --warmup 20 --model PREFIX
  * }}}
  *
  * split: the pre-processing a Scala user writes without mxport (java.awt resize, then ToTensor and Normalize
  * over arrays), then the network-only model and a softmax; e2e: the fused model fed uint8 pixels.
  */
object ScalaBench {
  private val Mean = Array(0.485f, 0.456f, 0.406f)
  private val Std = Array(0.229f, 0.224f, 0.225f)

  def main(args: Array[String]): Unit = {
    val a = args.grouped(2).collect { case Array(k, v) => k.stripPrefix("--") -> v }.toMap
    val e2e = a("mode") == "e2e"
    val batch = a("batch").toInt
    val runs = a("runs").toInt
    val warmup = a.getOrElse("warmup", "20").toInt
    val pixels = JvmBench.syntheticPixels(batch)
    scala.util.Using.resource(Predictor(a("model"), loadTransforms = e2e)) { predictor =>
      val input = IndexedSeq(NDArray(pixels, Shape(batch, 300, 300, 3))) // built once, as in JvmBench
      val step: () => Array[Float] =
        if (e2e) () => predictor.predictWithNDArray(input)(0).toFloatArray
        else
          () => {
            val x = NDArray(preprocess(pixels, batch), Shape(batch, 3, 224, 224))
            softmax(predictor.predictWithNDArray(IndexedSeq(x))(0).toFloatArray, batch)
          }
      (1 to warmup).foreach(_ => step())
      val ms = Array.fill(runs) {
        val t = System.nanoTime()
        step()
        (System.nanoTime() - t) / 1e6 / batch
      }
      println(JvmBench.json("scala", e2e, batch, runs, ms))
    }
  }

  private def preprocess(nhwc: Array[Byte], batch: Int): Array[Float] = {
    val (h, w, side) = (300, 300, 224)
    val plane = side * side
    val out = new Array[Float](batch * 3 * plane)
    for (n <- 0 until batch) {
      val src = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR)
      val bgr = src.getRaster.getDataBuffer.asInstanceOf[DataBufferByte].getData
      val base = n * h * w * 3
      for (i <- 0 until h * w; c <- 0 until 3) bgr(3 * i + c) = nhwc(base + 3 * i + (2 - c))
      val dst = new BufferedImage(side, side, BufferedImage.TYPE_3BYTE_BGR)
      val g = dst.createGraphics()
      g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR)
      g.drawImage(src, 0, 0, side, side, null)
      g.dispose()
      val px = dst.getRaster.getDataBuffer.asInstanceOf[DataBufferByte].getData
      for (i <- 0 until plane; c <- 0 until 3)
        out(n * 3 * plane + c * plane + i) = ((px(3 * i + (2 - c)) & 0xff) / 255f - Mean(c)) / Std(c)
    }
    out
  }

  private def softmax(logits: Array[Float], batch: Int): Array[Float] =
    logits
      .grouped(logits.length / batch)
      .flatMap { row =>
        val max = row.max
        val e = row.map(v => math.exp((v - max).toDouble))
        val sum = e.sum
        e.map(v => (v / sum).toFloat)
      }
      .toArray
}
