package io.mxport.spark

import java.awt.image.BufferedImage
import java.io.{ByteArrayOutputStream, File}
import java.nio.file.{Files, Path, Paths, StandardCopyOption}
import javax.imageio.ImageIO

import scala.jdk.CollectionConverters._

import io.mxport.{NDArray, Predictor, Shape}
import org.apache.spark.sql.{Row, SparkSession}
import org.scalatest.BeforeAndAfterAll
import org.scalatest.funsuite.AnyFunSuite

/** One local SparkSession per suite (UI off, small partitions), and the repository's models and photo. */
trait SparkSuite extends AnyFunSuite with BeforeAndAfterAll {
  @transient lazy val spark: SparkSession = SparkSession
    .builder()
    .master("local[2]")
    .appName(getClass.getSimpleName)
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.driver.host", "127.0.0.1")
    .config("spark.driver.bindAddress", "127.0.0.1")
    .config("spark.plugins", classOf[MxportSparkPlugin].getName)
    .getOrCreate()

  override def beforeAll(): Unit = {
    super.beforeAll()
    spark.sparkContext.setLogLevel("WARN")
  }

  override def afterAll(): Unit = {
    try spark.stop()
    finally super.afterAll()
  }
}

object TestData {
  lazy val root: Path = {
    val p = Option(System.getProperty("mxport.root"))
      .map(Paths.get(_))
      .filter(d => Files.isRegularFile(d.resolve("VERSION")))
      .getOrElse(
        Iterator
          .iterate(Paths.get("").toAbsolutePath)(_.getParent)
          .takeWhile(_ != null)
          .find(d => Files.isRegularFile(d.resolve("VERSION")) && Files.isDirectory(d.resolve("spec")))
          .getOrElse(throw new IllegalStateException("cannot find the repository root (VERSION, spec/)"))
      )
    p.toAbsolutePath.normalize()
  }

  /** The end-to-end ResNet-18; fails (does not skip) when `make models` has not made it. */
  lazy val resnet: String = {
    val dir = Option(System.getenv("MXPORT_MODELS"))
      .filter(_.nonEmpty)
      .map(Paths.get(_))
      .getOrElse(root.resolve(".cache").resolve("models"))
    val symbol = dir.resolve("resnet18-symbol.json")
    require(Files.isRegularFile(symbol), s"$symbol is missing: run `make models` first")
    dir.resolve("resnet18").toString
  }

  def vector(name: String): String = root.resolve("spec").resolve("vectors").resolve(name).resolve("model").toString

  /** Copies a model to a new folder: a new URI, so a new key in the executor's model cache. */
  def copyModel(prefix: String, name: String = "model"): String = {
    val dir = Files.createTempDirectory("mxport-spark-test-")
    for (suffix <- Seq("-symbol.json", ".params"))
      Files.copy(Paths.get(prefix + suffix), dir.resolve(name + suffix), StandardCopyOption.REPLACE_EXISTING)
    dir.resolve(name).toString
  }

  lazy val cat: Array[Byte] = Files.readAllBytes(root.resolve("demo").resolve("cat.jpg"))

  private def encode(img: BufferedImage, format: String): Array[Byte] = {
    val out = new ByteArrayOutputStream()
    require(ImageIO.write(img, format, out), s"no ImageIO writer for $format")
    out.toByteArray
  }

  private def crop(src: BufferedImage, x: Int, y: Int, w: Int, h: Int): BufferedImage = {
    val dst = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB)
    val g = dst.createGraphics()
    g.drawImage(src.getSubimage(x, y, w, h), 0, 0, null)
    g.dispose()
    dst
  }

  private def resize(src: BufferedImage, w: Int, h: Int): BufferedImage = {
    val dst = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB)
    val g = dst.createGraphics()
    g.setRenderingHint(java.awt.RenderingHints.KEY_INTERPOLATION, java.awt.RenderingHints.VALUE_INTERPOLATION_BILINEAR)
    g.drawImage(src, 0, 0, w, h, null)
    g.dispose()
    dst
  }

  /**
   * The demo photograph and seeded re-encodings of it (crops and resizes, JPEG and PNG): runs of equal sizes,
   * broken by other sizes, so batches fill, close on a size change, and end short. (name, encoded bytes).
   */
  lazy val images: IndexedSeq[(String, Array[Byte])] = {
    val rnd = new java.util.Random(20261125L)
    val src = ImageIO.read(root.resolve("demo").resolve("cat.jpg").toFile)
    def cropOf(w: Int, h: Int) = crop(src, rnd.nextInt(src.getWidth - w), rnd.nextInt(src.getHeight - h), w, h)
    val made = IndexedSeq.tabulate(6)(i => s"crop160x120_$i" -> cropOf(160, 120)) ++
      IndexedSeq.tabulate(3)(i => s"resize200x150_$i" -> resize(cropOf(300 - 20 * i, 225 - 15 * i), 200, 150)) ++
      IndexedSeq("crop97x131" -> cropOf(97, 131), "resize250x90" -> resize(src, 250, 90)) ++
      IndexedSeq.tabulate(3)(i => s"crop160x120_${6 + i}" -> cropOf(160, 120))
    ("cat.jpg" -> cat) +: made.zipWithIndex.map { case ((n, img), i) =>
      val format = if (i % 3 == 2) "png" else "jpg"
      s"$n.$format" -> encode(img, format)
    }
  }

  def writeImages(dir: Path): Unit =
    images.foreach { case (n, b) => Files.write(dir.resolve(n), b) }

  def decode(bytes: Array[Byte]): NDArray = io.mxport.Images.decode(bytes)

  /**
   * What the transformer computes, with the single-process Java Predictor: per partition, consecutive rows of one
   * shape in batches of up to `batchSize`, a short batch padded to `batchSize` by repeating its last row.
   */
  def reference(
      predictor: Predictor,
      partitions: Seq[Seq[Seq[NDArray]]],
      batchSize: Int,
      pad: Boolean
  ): Seq[Seq[Array[Float]]] =
    partitions.flatMap { rows =>
      val out = Seq.newBuilder[Seq[Array[Float]]]
      var i = 0
      while (i < rows.size) {
        val shape = rows(i).map(_.getShape)
        var j = i
        while (j < rows.size && j - i < batchSize && rows(j).map(_.getShape) == shape) j += 1
        val batch = rows.slice(i, j)
        val padded = if (pad) batch ++ Seq.fill(batchSize - batch.size)(batch.last) else batch
        val inputs = rows(i).indices.map(k => concat(padded.map(_(k))))
        val outs = predictor.predictWithNDArray(inputs.asJava).asScala
        for (r <- batch.indices)
          out += outs.map { o =>
            val all = o.toFloatArray
            val per = all.length / padded.size
            java.util.Arrays.copyOfRange(all, r * per, (r + 1) * per)
          }.toSeq
        i = j
      }
      out.result()
    }

  /** Stacks [1, ...] arrays into one [n, ...] array. */
  def concat(xs: Seq[NDArray]): NDArray = {
    val bytes = xs.flatMap(_.toRawBytes).toArray
    val dims = xs.head.getShape.toArray
    dims(0) = xs.map(_.getShape.get(0)).sum
    NDArray.ofRaw(xs.head.getDType, bytes, new Shape(dims: _*))
  }

  /** The float array of an output column value. */
  def floats(v: Any): Array[Float] = v.asInstanceOf[scala.collection.Seq[Float]].toArray

  /** How Spark's parallelize slices n elements into p partitions. */
  def slices[T](xs: Seq[T], p: Int): Seq[Seq[T]] =
    (0 until p).map(i => xs.slice((i.toLong * xs.size / p).toInt, ((i + 1).toLong * xs.size / p).toInt))

  def rowsOf(xs: Seq[(String, Array[Byte])]): Seq[Row] = xs.map { case (n, b) => Row(n, b) }

  def tempDir(): Path = Files.createTempDirectory("mxport-spark-test-")

  def file(p: Path): File = p.toFile
}
