package io.mxport.scalaapi.examples

import java.nio.file.Paths

import io.mxport.scalaapi._

import scala.util.Using

/** Loads an end-to-end image classifier, prints its signature, classifies one photo (top-5) and times it.
  *
  * {{{
  * make real-model                                    # .cache/models/efficientnet_lite0-symbol.json and .params
  * mvn -B -q -Drevision=$(cat VERSION) -pl scala -am package -DskipTests
  * java -cp "scala/target/classes:$(cat scala/target/classpath.txt)" io.mxport.scalaapi.examples.Demo \
  *     .cache/models/efficientnet_lite0 demo/cat.jpg
  * }}}
  *
  * Arguments: the model prefix (default `.cache/models/efficientnet_lite0`) and a JPEG or PNG (default `demo/cat.jpg`).
  * When `<prefix>.onnx` exists (`mxport export-onnx`) and `io.mxport:mxport-onnxruntime` is on the classpath, the
  * top-5 on ONNX Runtime follow.
  */
object Demo {
  def main(args: Array[String]): Unit = {
    val prefix = args.lift(0).getOrElse(".cache/models/efficientnet_lite0")
    val imagePath = args.lift(1).getOrElse("demo/cat.jpg")
    val pixels = Images.read(Paths.get(imagePath)) // uint8 [1, H, W, 3], RGB, Python's pixels: Resize is in the graph
    val (height, width) = (pixels.shape.get(1), pixels.shape.get(2))

    Using.resource(Predictor(prefix)) { predictor =>
      println(s"== signature of $prefix")
      println(predictor.signature)
      val prob = predictor.predictWithNDArray(IndexedSeq(pixels)).head.toFloatArray
      println(s"== Scala: $imagePath ${width}x$height -> $pixels")
      println("top-5:")
      for (c <- predictor.signature.outputs.head.top(prob, 5))
        println("  %4d %-24s %.6f".formatLocal(java.util.Locale.ROOT, c.index, c.label.getOrElse(""), c.score))
      for (batch <- Seq(1, 25)) {
        val one = pixels.toByteArray
        val input = IndexedSeq(NDArray(Array.fill(batch)(one).flatten, Shape(batch, height, width, 3)))
        predictor.predictWithNDArray(input) // warm-up: the first call at a shape plans memory
        val runs = if (batch == 1) 20 else 3
        val t0 = System.nanoTime()
        for (_ <- 1 to runs) predictor.predictWithNDArray(input)
        val ms = (System.nanoTime() - t0) / 1e6 / runs / batch
        println(f"latency: $ms%.1f ms per sample (batch $batch%d, mean of $runs%d calls)")
      }
    }
    val onnx = prefix + ".onnx"
    if (!new java.io.File(onnx).isFile) println(s"(no $onnx: `mxport export-onnx` writes it, for ONNX Runtime)")
    else
      try
        Using.resource(Predictor(onnx, engine = Engine.ONNXRUNTIME)) { ort =>
          val prob = ort.predictWithNDArray(IndexedSeq(pixels)).head.toFloatArray
          println(s"top-5 on ONNX Runtime ($onnx):")
          for (c <- ort.signature.outputs.head.top(prob, 5))
            println("  %4d %-24s %.6f".formatLocal(java.util.Locale.ROOT, c.index, c.label.getOrElse(""), c.score))
        }
      catch { case e: MxportException => println(s"ONNX Runtime: ${e.getMessage}") }
  }
}
