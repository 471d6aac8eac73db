package io.mxport.scalaapi

import java.awt.image.BufferedImage

import io.mxport.{
  Context => JContext,
  DType => JDType,
  DataDesc => JDataDesc,
  Engine => JEngine,
  Images => JImages,
  NDArray => JNDArray,
  Shape => JShape,
  Signature => JSignature,
  TensorSpec => JTensorSpec
}

import scala.jdk.CollectionConverters._

// Companion-like objects of the value types, which are the Java classes themselves (see the package object):
// each method is one call into the Java core, which owns every check. Scala-only arguments (Option, Seq) are
// converted here and nowhere else.

/** Makes a [[Shape]]: `Shape(1, 300, 300, 3)`, or `Shape(dims: _*)` from a Seq. */
object Shape {

  /** @throws MxportException INVALID_ARGUMENT for a dimension below -1 */
  @throws[MxportException]
  def apply(dims: Int*): Shape = new JShape(dims: _*)
}

/** The engines a [[Predictor]] runs on: `Engine.MXNET` (default) or `Engine.ONNXRUNTIME` (an `.onnx` file from
  * `mxport export-onnx`; needs the artifact `io.mxport:mxport-onnxruntime`), or `Engine("onnxruntime")`.
  */
object Engine {
  val MXNET: Engine = JEngine.MXNET
  val ONNXRUNTIME: Engine = JEngine.ONNXRUNTIME

  /** The engine of a name as Python spells it (`"mxnet"`, `"onnxruntime"`); INVALID_ARGUMENT for another. */
  def apply(name: String): Engine = JEngine.of(name)
}

/** The element types: `DType.FLOAT32` ... `DType.INT64`, or `DType("uint8")` by the spec's name. */
object DType {
  val FLOAT32: DType = JDType.FLOAT32
  val FLOAT64: DType = JDType.FLOAT64
  val FLOAT16: DType = JDType.FLOAT16
  val UINT8: DType = JDType.UINT8
  val INT8: DType = JDType.INT8
  val INT32: DType = JDType.INT32
  val INT64: DType = JDType.INT64

  /** Every dtype, in the Java enum's order. */
  def values: IndexedSeq[DType] = JDType.values.toIndexedSeq

  /** The dtype of a spec name such as `"float32"`.
    *
    * @throws MxportException INVALID_ARGUMENT for any other name
    */
  @throws[MxportException]
  def apply(name: String): DType = JDType.of(name)
}

/** Where a model runs. */
object Context {

  /** The CPU, the one context the CPU-only mxnet 1.9.1 wheel has. */
  def cpu: Context = JContext.cpu()

  /** GPU `id`: a [[Predictor]] refuses it with INVALID_ARGUMENT on the CPU-only wheel. */
  @throws[MxportException]
  def gpu(id: Int = 0): Context = JContext.gpu(id)
}

/** Makes [[NDArray]]s. The element type follows the Scala array's: `Array[Byte]` is uint8 (pixels). Copies. */
object NDArray {

  /** A uint8 array, e.g. RGB pixels in NHWC order; each byte is read as unsigned 0..255.
    *
    * @throws MxportException INVALID_ARGUMENT when `data.length` is not the shape's size
    */
  @throws[MxportException]
  def apply(data: Array[Byte], shape: Shape): NDArray = JNDArray.ofBytes(data, shape)

  /** A float32 array. */
  @throws[MxportException]
  def apply(data: Array[Float], shape: Shape): NDArray = JNDArray.ofFloats(data, shape)

  /** A float64 array. */
  @throws[MxportException]
  def apply(data: Array[Double], shape: Shape): NDArray = JNDArray.ofDoubles(data, shape)

  /** An int32 array. */
  @throws[MxportException]
  def apply(data: Array[Int], shape: Shape): NDArray = JNDArray.ofInts(data, shape)

  /** An int64 array. */
  @throws[MxportException]
  def apply(data: Array[Long], shape: Shape): NDArray = JNDArray.ofLongs(data, shape)

  /** An array of any dtype from its raw little-endian bytes (float16, int8, or a `.npy` body).
    *
    * @throws MxportException INVALID_ARGUMENT when the byte count is not `shape.size * dtype.getByteSize`
    */
  @throws[MxportException]
  def raw(dtype: DType, littleEndian: Array[Byte], shape: Shape): NDArray = JNDArray.ofRaw(dtype, littleEndian, shape)
}

/** Makes a [[TensorSpec]]: `TensorSpec("data", Shape(-1, 300, 300, 3), DType.UINT8, Some("NHWC"))`. */
object TensorSpec {

  /** @throws MxportException INVALID_ARGUMENT when a field breaks a rule of the spec's section 2 */
  @throws[MxportException]
  def apply(name: String, shape: Shape, dtype: DType = DType.FLOAT32, layout: Option[String] = None): TensorSpec =
    new JTensorSpec(name, shape, dtype, layout.orNull)
}

/** Describes one input of an old model: `DataDesc("data", Shape(-1, 3, 224, 224), layout = Some("NCHW"))`. */
object DataDesc {

  /** @throws MxportException INVALID_ARGUMENT when a field breaks a rule of the spec's section 2 */
  @throws[MxportException]
  def apply(name: String, shape: Shape, dtype: DType = DType.FLOAT32, layout: Option[String] = None): DataDesc =
    new JDataDesc(name, shape, dtype, layout.orNull)
}

/** Reads or makes a [[Signature]]. */
object Signature {

  /** Reads the signature of the model at `prefix` from `<prefix>-symbol.json` alone, checked as a load checks it.
    * Needs no native library.
    *
    * @throws MxportException NO_SIGNATURE for an old model, or the code of whatever is wrong with the file
    */
  @throws[MxportException]
  def read(prefix: String): Signature = ScalaFixes(JSignature.read(prefix))

  /** A signature without a network part or digest, e.g. to describe a network.
    *
    * @throws MxportException INVALID_ARGUMENT when a list is empty or has duplicate names
    */
  @throws[MxportException]
  def apply(inputs: Seq[TensorSpec], outputs: Seq[TensorSpec]): Signature =
    new JSignature(inputs.asJava, outputs.asJava)
}

/** Turns images into the uint8 NHWC batches image models take (RGB), through `io.mxport.Images`.
  *
  * {{{
  * val pixels: NDArray = Images.read(java.nio.file.Paths.get("demo/cat.jpg"))  // [1,H,W,3]: Python's pixels
  * val noLibmxnet = Images.read(java.nio.file.Paths.get("demo/cat.jpg"), decoder = Images.Decoder.IMAGEIO)
  * }}}
  *
  * `read` and `decode` decode with libmxnet's own OpenCV decoder, as Python's `mxport.read_image` does: the same
  * pixels in every language (grayscale becomes R=G=B, alpha is dropped); `decoder = Images.Decoder.IMAGEIO` decodes
  * with the JDK's `javax.imageio` readers and MXNet's rules, without libmxnet (spec/RUNTIME.md section 4, rule 11).
  * The default is [[Images.defaultDecoder]]. `toNHWC` takes images Java decoded (`ImageIO`), whose grayscale pixels
  * differ from OpenCV's.
  */
object Images {

  /** A decoder of [[Images.read]] and [[Images.decode]]: `Images.Decoder.MXNET` or `Images.Decoder.IMAGEIO`. */
  type Decoder = JImages.Decoder

  /** The decoders, those of `io.mxport.Images.Decoder`. */
  object Decoder {

    /** libmxnet's OpenCV decoder (`_cvimdecode`), what Python's `mx.image.imdecode` runs: the reference. */
    val MXNET: Decoder = JImages.Decoder.MXNET

    /** The JDK's `javax.imageio` readers with MXNet's rules written out: no libmxnet, MXNet's values. */
    val IMAGEIO: Decoder = JImages.Decoder.IMAGEIO
  }

  /** The decoder `read` and `decode` use unless given one: `Decoder.MXNET`, except in a JVM that opened a
    * [[Predictor]] on ONNX Runtime and has not loaded libmxnet.so, where it is `Decoder.IMAGEIO`.
    */
  def defaultDecoder: Decoder = JImages.defaultDecoder()

  /** Reads and decodes an image file: uint8 `[1, height, width, 3]`, RGB, refusing more than `maxPixels` pixels.
    *
    * @throws MxportException INVALID_ARGUMENT naming the file when it cannot be read, is not an image, is too large,
    *   or `decoder` is null
    */
  @throws[MxportException]
  def read(
      file: java.nio.file.Path,
      maxPixels: Long = JImages.MAX_PIXELS,
      decoder: Decoder = defaultDecoder
  ): NDArray = JImages.read(file, maxPixels, decoder)

  /** Decodes the bytes of an image file (JPEG, PNG, ...), refusing more than `maxPixels` pixels.
    *
    * @throws MxportException INVALID_ARGUMENT when the bytes are empty, not an image, too large, or `decoder` is null
    */
  @throws[MxportException]
  def decode(encoded: Array[Byte], maxPixels: Long = JImages.MAX_PIXELS, decoder: Decoder = defaultDecoder): NDArray =
    JImages.decode(encoded, maxPixels, decoder)

  /** One image as a batch of one, uint8 `[1, height, width, 3]`.
    *
    * @throws MxportException INVALID_ARGUMENT when `image` is null (what `ImageIO.read` returns for an unknown format)
    */
  @throws[MxportException]
  def toNHWC(image: BufferedImage): NDArray = JImages.toNHWC(image)

  /** Images of one size as a batch, uint8 `[n, height, width, 3]`.
    *
    * @throws MxportException INVALID_ARGUMENT when `images` is empty or the sizes differ
    */
  @throws[MxportException]
  def toNHWC(images: Seq[BufferedImage]): NDArray = JImages.toNHWC(images.asJava)
}
