package io.mxport.scalaapi

import java.nio.file.{Files, Path, Paths}
import java.nio.{ByteBuffer, ByteOrder}
import java.nio.charset.StandardCharsets

import org.scalatest.Assertions._

/** Paths of the repository, a .npy reader, and the comparisons the suites share. */
object TestSupport {

  /** The repository root: system property `mxport.root` (set by the build), else the nearest folder up from the
    * working directory that has VERSION and spec/.
    */
  lazy val root: Path = {
    val fromBuild =
      Option(System.getProperty("mxport.root")).map(Paths.get(_)).filter(p => Files.isRegularFile(p.resolve("VERSION")))
    fromBuild
      .orElse(
        Iterator
          .iterate(Paths.get("").toAbsolutePath)(_.getParent)
          .takeWhile(_ != null)
          .find(d => Files.isRegularFile(d.resolve("VERSION")) && Files.isDirectory(d.resolve("spec")))
      )
      .getOrElse(throw new IllegalStateException("cannot find the repository root (a folder with VERSION and spec/)"))
      .toAbsolutePath
  }

  def vectors: Path = root.resolve("spec").resolve("vectors")

  /** Where `make models` writes: env MXPORT_MODELS, else `<repo>/.cache/models`. */
  def models: Path = sys.env
    .get("MXPORT_MODELS")
    .filter(_.nonEmpty)
    .map(Paths.get(_))
    .getOrElse(root.resolve(".cache").resolve("models"))

  /** The end-to-end ResNet-18 prefix; fails (does not skip) when `make models` has not made it. */
  def resnet: String = {
    val symbol = models.resolve("resnet18-symbol.json")
    assert(Files.isRegularFile(symbol), s"$symbol is missing: run `make models` before mvn verify")
    models.resolve("resnet18").toString
  }

  private val Descr = Map(
    "<f4" -> DType.FLOAT32,
    "<f8" -> DType.FLOAT64,
    "<f2" -> DType.FLOAT16,
    "|u1" -> DType.UINT8,
    "|i1" -> DType.INT8,
    "<i4" -> DType.INT32,
    "<i8" -> DType.INT64
  )

  /** Reads a .npy file (versions 1-3, little-endian, C order). */
  def readNpy(path: Path): NDArray = {
    val all = Files.readAllBytes(path)
    require(
      all.length >= 10 && all(0) == 0x93.toByte && new String(all, 1, 5, StandardCharsets.US_ASCII) == "NUMPY",
      s"$path is not a .npy file"
    )
    val b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN)
    val (headerLen, offset) = if (all(6) == 1) (b.getShort(8) & 0xffff, 10) else (b.getInt(8), 12)
    val header = new String(all, offset, headerLen, StandardCharsets.ISO_8859_1)
    val descr = """'descr':\s*'([^']+)'""".r.findFirstMatchIn(header).map(_.group(1))
    val fortran = """'fortran_order':\s*(True|False)""".r.findFirstMatchIn(header).map(_.group(1))
    val shape = """'shape':\s*\(([^)]*)\)""".r.findFirstMatchIn(header).map(_.group(1))
    (descr.flatMap(Descr.get), fortran, shape) match {
      case (Some(dtype), Some("False"), Some(dims)) =>
        val ints = dims.split(",").map(_.trim).filter(_.nonEmpty).map(_.toInt)
        NDArray.raw(
          dtype,
          java.util.Arrays.copyOfRange(all, offset + headerLen, all.length),
          Shape(ints.toIndexedSeq: _*)
        )
      case _ => throw new IllegalArgumentException(s"$path: unsupported .npy header $header")
    }
  }

  /** The elements as doubles, exactly for every dtype but int64 beyond 2^53. */
  def values(a: NDArray): Array[Double] = {
    val b = ByteBuffer.wrap(a.toRawBytes).order(ByteOrder.LITTLE_ENDIAN)
    val n = a.size
    a.dtype match {
      case DType.FLOAT64 => Array.tabulate(n)(i => b.getDouble(i * 8))
      case DType.INT32   => Array.tabulate(n)(i => b.getInt(i * 4).toDouble)
      case DType.INT64   => Array.tabulate(n)(i => b.getLong(i * 8).toDouble)
      case _             => a.toFloatArray.map(_.toDouble) // float32, float16, uint8, int8: exact
    }
  }

  /** |got - want| <= atol + rtol * |want| everywhere (spec section 11), same shape and dtype. */
  def assertClose(got: NDArray, want: NDArray, rtol: Double, atol: Double, what: String): Unit = {
    assert(got.shape == want.shape, s"$what: shape")
    assert(got.dtype == want.dtype, s"$what: dtype")
    val (g, w) = (values(got), values(want))
    val bad = w.indices.filter(i => !(math.abs(g(i) - w(i)) <= atol + rtol * math.abs(w(i))))
    if (bad.nonEmpty) {
      val i = bad.maxBy(i => math.abs(g(i) - w(i)))
      fail(s"$what: ${bad.size} of ${w.length} elements out of tolerance, worst at $i: got ${g(i)}, want ${w(i)}")
    }
  }

  /** A reference that is ~0 or constant would make any comparison pass whatever the code does. */
  def assertMeaningful(reference: NDArray, what: String): Unit = {
    val r = values(reference)
    val mean = r.sum / r.length
    val sd = math.sqrt(r.map(x => (x - mean) * (x - mean)).sum / r.length)
    assert(r.map(math.abs).max > 1e-3, s"$what is degenerate (max |x| = ${r.map(math.abs).max})")
    assert(sd > 1e-6, s"$what is constant")
  }
}
