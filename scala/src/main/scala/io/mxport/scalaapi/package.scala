package io.mxport

import scala.jdk.CollectionConverters._
import scala.jdk.OptionConverters._

/** The Scala 2.13 API of mxport: run an exported MXNet 1.9.1 model with nothing but its path.
  *
  * {{{
  * import io.mxport.scalaapi._
  * import scala.util.Using
  *
  * // `make models` writes this model: uint8 NHWC pixels of any size in, 1000 probabilities out
  * Using.resource(Predictor(".cache/models/resnet18")) { predictor =>   // cpu, transforms included
  *   println(predictor.signature)                                      // names, dtypes, shapes, layouts
  *   val pixels = NDArray(new Array[Byte](300 * 300 * 3), Shape(1, 300, 300, 3))   // a black picture
  *   val probs: Array[Float] = predictor.predictWithNDArray(IndexedSeq(pixels)).head.toFloatArray
  * }
  * Using.resource(Predictor(".cache/models/resnet18", loadTransforms = false)) { network =>   // float32 NCHW in
  *   val logits: IndexedSeq[Array[Float]] = network.predict(IndexedSeq(new Array[Float](2 * 3 * 224 * 224)))  // batch 2
  * }
  * }}}
  *
  * The value types ([[Shape]], [[NDArray]], [[DType]], [[TensorSpec]], [[DataDesc]], [[Signature]], [[Context]],
  * [[MxportException]]) are the Java core's own classes under Scala names: they are immutable, compare by value,
  * and carry the checks of the format (spec/FORMAT.md) in one place, so a value made in Scala is the value Java
  * code sees, with nothing to convert. Companion objects give them Scala constructors (`Shape(1, 3)`,
  * `TensorSpec("data", Shape(-1, 5), DType.FLOAT32, layout = Some("NC"))`), and the implicit classes below give
  * them Scala accessors (`signature.inputs`, `spec.layout: Option[String]`, `shape.dims`): import
  * `io.mxport.scalaapi._` to have both. [[Predictor]] is a thin Scala class over `io.mxport.Predictor`.
  *
  * Failures are [[MxportException]]s whose `getCode` is a code of the spec's section 8, e.g. `"SHAPE_MISMATCH"`.
  */
package object scalaapi {

  /** An immutable tensor shape; `-1` marks a dynamic dimension in a [[TensorSpec]]. Make one with `Shape(1, 3)`. */
  type Shape = io.mxport.Shape

  /** A host-side tensor (shape, dtype, little-endian elements in C order); immutable, holds no native memory. */
  type NDArray = io.mxport.NDArray

  /** The element types a signature may name: `DType.FLOAT32`, `DType.UINT8`, ... or `DType("uint8")`. */
  type DType = io.mxport.DType

  /** The engine a [[Predictor]] runs on: [[Engine.MXNET]] (default) or [[Engine.ONNXRUNTIME]]. */
  type Engine = io.mxport.Engine

  /** The name, shape, dtype and layout of one input or output of a model. */
  type TensorSpec = io.mxport.TensorSpec

  /** The description of one input of an old model (one without an mxport signature). */
  type DataDesc = io.mxport.DataDesc

  /** A model's ordered inputs and outputs (and, for a whole mxport model, the network alone's). */
  type Signature = io.mxport.Signature

  /** Where a model runs: [[Context.cpu]] (the mxnet 1.9.1 wheel is CPU-only). */
  type Context = io.mxport.Context

  /** A failure with one of the spec's error codes (`getCode`, e.g. `"DIGEST_MISMATCH"`). Unchecked. */
  type MxportException = io.mxport.MxportException

  /** A failure's fix as data, as [[MxportException]]`.getFix` returns it; its message spells it in Scala. */
  type Fix = io.mxport.Fix

  /** The spec's error codes as an enum, as [[MxportException]]`.getErrorCode` returns them. */
  type ErrorCode = io.mxport.ErrorCode

  /** Scala accessors of a [[Shape]]. */
  implicit final class ShapeOps(private val shape: Shape) extends AnyVal {

    /** The dimensions, `-1` for a dynamic one. */
    def dims: IndexedSeq[Int] = shape.toArray.toIndexedSeq
  }

  /** Scala accessors of a [[TensorSpec]] (and of a [[DataDesc]] through `toTensorSpec`). */
  implicit final class TensorSpecOps(private val spec: TensorSpec) extends AnyVal {
    def name: String = spec.getName
    def shape: Shape = spec.getShape
    def dtype: DType = spec.getDType

    /** The layout, e.g. `Some("NHWC")`, or `None` when unknown. */
    def layout: Option[String] = Option(spec.getLayout)

    /** An output's class names, one per index of its last dimension (format version 2), if it has them. */
    def labels: Option[IndexedSeq[String]] = spec.getLabels.toScala.map(_.asScala.toIndexedSeq)

    /** The `k` largest of one sample's scores, largest first (ties: lower index first), with their labels:
      * `spec.top(prob, 5).map(c => (c.index, c.label, c.score))` (the Java
      * method `topK` returns a java.util.List).
      *
      * @throws MxportException SHAPE_MISMATCH when `scores` has another length than the last dimension
      */
    @throws[MxportException]
    def top(scores: Array[Float], k: Int = 5): IndexedSeq[ClassScore] = spec.topK(scores, k).asScala.toIndexedSeq
  }

  /** One entry of `TensorSpec.top`: a class index, its name when the output carries labels, and its score. */
  type ClassScore = io.mxport.ClassScore

  /** Scala accessors of a [[ClassScore]]. */
  implicit final class ClassScoreOps(private val c: ClassScore) extends AnyVal {
    def index: Int = c.getIndex
    def label: Option[String] = c.getLabel.toScala
    def score: Float = c.getScore
  }

  /** Scala accessors of a [[Signature]]. */
  implicit final class SignatureOps(private val signature: Signature) extends AnyVal {

    /** The inputs, in the order a call takes them. */
    def inputs: IndexedSeq[TensorSpec] = signature.getInputs.asScala.toIndexedSeq

    /** The outputs, in the order a call returns them. */
    def outputs: IndexedSeq[TensorSpec] = signature.getOutputs.asScala.toIndexedSeq

    def inputNames: IndexedSeq[String] = signature.getInputNames.asScala.toIndexedSeq
    def outputNames: IndexedSeq[String] = signature.getOutputNames.asScala.toIndexedSeq

    /** The network alone's signature (what `loadTransforms = false` exposes), for a whole mxport model's. */
    def network: Option[Signature] = signature.getNetwork.toScala

    /** The lowercase hex SHA-256 of the params file, for a whole mxport model's signature. */
    def paramsSha256: Option[String] = signature.getParamsSha256.toScala

    /** The model's metadata (name, licence, source...), in file order; empty when it has none. */
    def metadata: scala.collection.immutable.ListMap[String, String] =
      scala.collection.immutable.ListMap(signature.getMetadata.asScala.toSeq: _*)

    /** How the network was optimised at export (`fused` or `int8`, format version 3); None for an fp32 graph. */
    def optimization: Option[io.mxport.Optimization] = signature.getOptimization.toScala
  }

  /** Scala accessors of an [[NDArray]]; `toFloatArray`, `toByteArray` and `toRawBytes` are the Java methods. */
  implicit final class NDArrayOps(private val array: NDArray) extends AnyVal {
    def shape: Shape = array.getShape
    def dtype: DType = array.getDType
  }
}
