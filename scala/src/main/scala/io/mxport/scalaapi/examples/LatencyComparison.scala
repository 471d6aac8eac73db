package io.mxport.scalaapi.examples

import java.io.File
import javax.imageio.ImageIO

import io.mxport.{Predictor => JPredictor}
import io.mxport.scalaapi._

import scala.jdk.CollectionConverters._
import scala.util.Using

/** Per-sample latency of the Scala API against the Java API on one model and one input, in the same process:
  * a Java `io.mxport.Predictor` and a Scala [[io.mxport.scalaapi.Predictor]] are loaded side by side and called in
  * turn (alternating which goes first), so both see the same machine load. Prints the median per-sample time.
  *
  * {{{
  * java -cp "scala/target/classes:$(cat scala/target/classpath.txt)" io.mxport.scalaapi.examples.LatencyComparison \
  *     .cache/models/resnet18 demo/cat.jpg 1,25
  * }}}
  *
  * Arguments: model prefix, image, comma-separated batch sizes (defaults: `.cache/models/resnet18`,
  * `demo/cat.jpg`, `1,25`).
  */
object LatencyComparison {
  def main(args: Array[String]): Unit = {
    val prefix = args.lift(0).getOrElse(".cache/models/resnet18")
    val imagePath = args.lift(1).getOrElse("demo/cat.jpg")
    val batches = args.lift(2).getOrElse("1,25").split(",").map(_.trim.toInt).toSeq
    val image = Option(ImageIO.read(new File(imagePath)))
      .getOrElse(throw new IllegalArgumentException(s"$imagePath is not an image ImageIO can read"))
    val inputs = batches.map(b => b -> Images.toNHWC(Seq.fill(b)(image))).toMap // before the model loads

    Using.resources(new JPredictor(prefix), Predictor(prefix)) { (java, scala) =>
      println(
        s"model $prefix, image $imagePath ${image.getWidth}x${image.getHeight}, " +
          s"${Runtime.getRuntime.availableProcessors} cores"
      )
      for (batch <- batches) {
        val input = inputs(batch)
        val javaCall = () => java.predictWithNDArray(List(input).asJava).get(0)
        val scalaCall = () => scala.predictWithNDArray(IndexedSeq(input)).head
        require(javaCall() == scalaCall(), s"batch $batch: Scala and Java outputs differ") // also the warm-up
        val runs = math.max(9, 40 / batch)
        val (javaMs, scalaMs) = (1 to runs).map { r =>
          def time(call: () => NDArray): Double = {
            val t0 = System.nanoTime()
            call()
            (System.nanoTime() - t0) / 1e6 / batch
          }
          if (r % 2 == 0) { val j = time(javaCall); (j, time(scalaCall)) }
          else { val s = time(scalaCall); (time(javaCall), s) }
        }.unzip
        def median(xs: Seq[Double]) = xs.sorted.apply(xs.size / 2)
        println(
          f"batch $batch%3d: per-sample latency Java ${median(javaMs)}%.2f ms, Scala ${median(scalaMs)}%.2f ms " +
            f"(median of $runs%d calls each; Scala/Java ${median(scalaMs) / median(javaMs)}%.3f)"
        )
      }
    }
  }
}
