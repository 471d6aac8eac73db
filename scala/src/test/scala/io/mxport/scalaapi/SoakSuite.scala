package io.mxport.scalaapi

import java.nio.file.{Files, Paths}
import java.util.concurrent.atomic.AtomicLong

import org.scalatest.funsuite.AnyFunSuite

import scala.collection.mutable.ArrayBuffer
import scala.util.{Random, Using}

/** The Scala leg of the soak (java/SOAK.md): 2 threads for 10 s through the Scala API, one on shared Predictors and
  * one on its own (closed and reopened now and then), ResNet-18 and two small models; every output must equal,
  * bit for bit, the serial run's.
  */
class SoakSuite extends AnyFunSuite {
  import SoakSuite.Case

  private val Seconds = 10.0
  private val MaxRssGrowthKb = 512L * 1024

  private def rssKb(): Long =
    Files
      .readAllLines(Paths.get("/proc/self/status"))
      .toArray(Array.empty[String])
      .find(_.startsWith("VmRSS:"))
      .map(_.replaceAll("[^0-9]", "").toLong)
      .getOrElse(-1L)

  private def pixels(batch: Int, h: Int, w: Int, seed: Long): NDArray = {
    val b = new Array[Byte](batch * h * w * 3)
    new Random(seed).nextBytes(b)
    NDArray(b, Shape(batch, h, w, 3))
  }

  private def gaussian(rnd: Random, shape: Shape): NDArray =
    NDArray(Array.fill(shape.size)(rnd.nextGaussian().toFloat), shape)

  test("2 threads x 10 s on shared and own Predictors give the serial outputs, bit for bit") {
    val prefixes = IndexedSeq(
      TestSupport.resnet,
      TestSupport.vectors.resolve("multi_in_multi_out/model").toString,
      TestSupport.vectors.resolve("uint8_image/model").toString
    )
    val reopenOdds = IndexedSeq(10, 25, 25)
    val rnd = new Random(11)
    val cases = IndexedSeq(
      Case(0, "b1_32x40", IndexedSeq(pixels(1, 32, 40, 21))),
      Case(0, "b2_48x36", IndexedSeq(pixels(2, 48, 36, 22)))
    ) ++ Seq(1, 2, 5).flatMap { b =>
      Seq(
        Case(1, s"b$b", IndexedSeq(gaussian(rnd, Shape(b, 4)), gaussian(rnd, Shape(b, 3)))),
        Case(2, s"b$b", IndexedSeq(pixels(b, 12, 10, 30L + b)))
      )
    }
    // the serial reference, from Predictors closed before the load
    val want: IndexedSeq[IndexedSeq[NDArray]] = cases.map { c =>
      Using.resource(Predictor(prefixes(c.model)))(_.predictWithNDArray(c.inputs))
    }
    val predictions, mismatches, errors, reopens = new AtomicLong
    val failures = ArrayBuffer.empty[String]
    val shared = prefixes.map(Predictor(_))
    val rssStart = rssKb()
    var rssMax = rssStart
    val deadline = System.nanoTime() + (Seconds * 1e9).toLong
    val t0 = System.nanoTime()
    try {
      val workers = (0 until 2).map { id =>
        new Thread(
          () => {
            val r = new Random(100 + id)
            val own = Array.fill[Option[Predictor]](prefixes.size)(None)
            try {
              while (System.nanoTime() < deadline) {
                val k = r.nextInt(cases.size)
                val c = cases(k)
                try {
                  val p =
                    if (id == 0) shared(c.model)
                    else {
                      if (own(c.model).isDefined && r.nextInt(reopenOdds(c.model)) == 0) {
                        own(c.model).foreach(_.close())
                        own(c.model) = None
                        reopens.incrementAndGet()
                      }
                      if (own(c.model).isEmpty) own(c.model) = Some(Predictor(prefixes(c.model)))
                      own(c.model).get
                    }
                  val got = p.predictWithNDArray(c.inputs)
                  predictions.incrementAndGet()
                  if (got != want(k)) {
                    mismatches.incrementAndGet()
                    failures.synchronized(failures += s"thread $id: ${prefixes(c.model)} ${c.name} differs")
                  }
                } catch {
                  case e: Exception =>
                    errors.incrementAndGet()
                    failures.synchronized(failures += s"thread $id: ${c.name}: $e")
                }
              }
            } finally own.foreach(_.foreach(_.close()))
          },
          s"scala-soak-$id"
        )
      }
      workers.foreach(_.start())
      while (workers.exists(_.isAlive)) {
        rssMax = math.max(rssMax, rssKb())
        workers.foreach(_.join(250))
      }
    } finally shared.foreach(_.close())
    val seconds = (System.nanoTime() - t0) / 1e9
    val rssEnd = rssKb()
    println(
      f"[scala soak] 2 threads (1 shared, 1 own) x $Seconds%.0f s: ${predictions.get} predictions checked," +
        f" ${predictions.get / seconds}%.1f/s, ${mismatches.get} mismatches, ${errors.get} errors, ${reopens.get} reopens;" +
        s" VmRSS start $rssStart kB, end (after close) $rssEnd kB, max $rssMax kB"
    )
    assert(mismatches.get == 0, failures.take(10).mkString("; "))
    assert(errors.get == 0, failures.take(10).mkString("; "))
    assert(predictions.get > 0)
    assert(rssEnd - rssStart < MaxRssGrowthKb, s"VmRSS grew by ${rssEnd - rssStart} kB")
  }
}

object SoakSuite {
  private final case class Case(model: Int, name: String, inputs: IndexedSeq[NDArray])
}
