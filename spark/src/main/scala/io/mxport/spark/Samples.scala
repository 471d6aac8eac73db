package io.mxport.spark

import java.nio.{ByteBuffer, ByteOrder}

import scala.collection.mutable.ArrayBuffer

import io.mxport.{ErrorCode, Images, MxportException}

/** A row's problem: an error code of spec section 8 and a message; the row gets it instead of outputs. */
private[spark] final case class BadRow(code: String, message: String) extends Exception(message, null, false, false) {
  def text: String = s"[$code] $message"
}

/** One input of one row, ready to batch: its shape without the batch dimension, and its little-endian bytes. */
private[spark] final class Sample(val dims: Array[Int], val bytes: Array[Byte])

/** Turns column values into [[Sample]]s (in the task's thread; images decoded by libmxnet, nothing else native). */
private[spark] object Samples {
  private def bad(code: ErrorCode, message: String): Nothing = throw BadRow(code.name, message)

  def of(value: Any, in: InputPlan, maxImagePixels: Long): Sample = {
    if (value == null) bad(ErrorCode.INVALID_ARGUMENT, s"column '${in.column}' (model input '${in.name}') is null")
    if (in.image) image(value.asInstanceOf[Array[Byte]], in, maxImagePixels) else numeric(value, in)
  }

  /**
   * Decodes an encoded image (JPEG or PNG) into RGB uint8 HWC with [[io.mxport.Images.decode]]:
   * libmxnet's own OpenCV decoder, the pixels Python's `mxport.decode_image` gives.
   */
  def image(bytes: Array[Byte], in: InputPlan, maxImagePixels: Long): Sample = {
    val what = s"column '${in.column}' (model input '${in.name}')"
    val img =
      try Images.decode(bytes, maxImagePixels)
      catch {
        case e: MxportException =>
          bad(ErrorCode.valueOf(e.getCode), s"$what: ${e.getMessage.stripPrefix(s"[${e.getCode}] ")}")
      }
    val (h, w) = (img.getShape.get(1), img.getShape.get(2))
    val want = in.dims
    if ((want(1) != -1 && want(1) != h) || (want(2) != -1 && want(2) != w))
      bad(
        ErrorCode.SHAPE_MISMATCH,
        s"$what: the image is ${w}x$h (shape [1,$h,$w,3]) but the model takes " +
          s"${in.shapeText}; resize the images to ${want(2)}x${want(1)} first"
      )
    new Sample(Array(h, w, 3), img.toByteArray)
  }

  /** A numeric value: a scalar, a flat array or nested arrays; converted exactly to the input's dtype. */
  def numeric(value: Any, in: InputPlan): Sample = {
    val what = s"column '${in.column}' (model input '${in.name}')"
    def asDouble(v: Any): Double = v match {
      case n: java.lang.Number => n.doubleValue()
      case o => bad(ErrorCode.DTYPE_MISMATCH, s"$what holds ${o.getClass.getSimpleName} $o, not a number")
    }

    def exact(v: Any, min: Long, max: Long, index: Int): Long = v match {
      case n @ (_: java.lang.Byte | _: java.lang.Short | _: java.lang.Integer | _: java.lang.Long) =>
        val l = n.asInstanceOf[java.lang.Number].longValue()
        if (l < min || l > max)
          bad(
            ErrorCode.DTYPE_MISMATCH,
            s"$what: value $index ($l) is outside $min..$max, the " +
              s"range of ${in.dtype}"
          )
        l
      case other =>
        val d = asDouble(other)
        if (d != math.rint(d) || d < min.toDouble || d > max.toDouble)
          bad(
            ErrorCode.DTYPE_MISMATCH,
            s"$what: value $index ($d) is not an integer in $min..$max, as ${in.dtype} takes"
          )
        d.toLong
    }

    val leaves = new ArrayBuffer[Any]()
    val nested = new ArrayBuffer[Int]()
    def walk(v: Any, level: Int): Unit = v match {
      case null                       => bad(ErrorCode.INVALID_ARGUMENT, s"$what holds a null element")
      case s: scala.collection.Seq[_] =>
        if (level == nested.length) nested += s.length
        else if (nested(level) != s.length)
          bad(
            ErrorCode.SHAPE_MISMATCH,
            s"$what: nested arrays of different " +
              s"lengths (${nested(level)} and ${s.length} at depth ${level + 1}); a sample is a rectangular array"
          )
        s.foreach(walk(_, level + 1))
      case x => leaves += x
    }
    walk(value, 0)
    val want = in.dims.drop(1)
    val dims: Array[Int] =
      if (nested.length == want.length) nested.toArray
      else { // one flat array for a sample of rank > 1
        val fixed = want.filter(_ != -1).map(_.toLong).product
        val free = want.count(_ == -1)
        val n = leaves.length
        if (free > 1)
          bad(
            ErrorCode.SHAPE_MISMATCH,
            s"$what: a flat array of $n values cannot say the shape of one " +
              s"sample of ${in.shapeText} (${free} dynamic dimensions); give nested arrays"
          )
        if (n == 0 || n % fixed != 0 || (free == 0 && n != fixed))
          bad(
            ErrorCode.SHAPE_MISMATCH,
            s"$what has $n values but one sample of ${in.shapeText} takes " +
              (if (free == 0) s"$fixed" else s"a positive multiple of $fixed")
          )
        want.map(d => if (d == -1) (n / fixed).toInt else d)
      }
    for (k <- want.indices) {
      if (dims(k) < 1 || (want(k) != -1 && want(k) != dims(k)))
        bad(
          ErrorCode.SHAPE_MISMATCH,
          s"$what has sample shape ${dims.mkString("[", ",", "]")} (shape " +
            s"${(1 +: dims.toSeq).mkString("[", ",", "]")}) but the model takes ${in.shapeText}"
        )
    }
    val size = in.dtype match {
      case "float64" | "int64" => 8
      case "float32" | "int32" => 4
      case _                   => 1
    }
    val buf = ByteBuffer.allocate(leaves.length * size).order(ByteOrder.LITTLE_ENDIAN)
    var i = 0
    while (i < leaves.length) {
      val v = leaves(i)
      in.dtype match {
        case "float32" => buf.putFloat(asDouble(v).toFloat)
        case "float64" => buf.putDouble(asDouble(v))
        case "uint8"   => buf.put(exact(v, 0, 255, i).toByte)
        case "int8"    => buf.put(exact(v, -128, 127, i).toByte)
        case "int32"   => buf.putInt(exact(v, Int.MinValue, Int.MaxValue, i).toInt)
        case "int64"   => buf.putLong(exact(v, Long.MinValue, Long.MaxValue, i))
        case t         => bad(ErrorCode.DTYPE_MISMATCH, s"$what: dtype $t is not fed by the Spark integration")
      }
      i += 1
    }

    new Sample(dims, buf.array())
  }
}
