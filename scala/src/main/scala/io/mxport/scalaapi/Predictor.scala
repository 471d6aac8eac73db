package io.mxport.scalaapi

import io.mxport.{ErrorCode => JErrorCode, Fix => JFix, MxportException => JMxportException, Predictor => JPredictor}

import scala.collection.immutable.ListMap
import scala.jdk.CollectionConverters._

/** Runs an mxport model (or an old MXNet model) on MXNet 1.9.1: a thin Scala face of `io.mxport.Predictor`.
  *
  * {{{
  * import io.mxport.scalaapi._
  * import scala.util.Using
  *
  * // `make models` writes .cache/models/resnet18-symbol.json and .cache/models/resnet18.params
  * val cat = Images.toNHWC(javax.imageio.ImageIO.read(new java.io.File("demo/cat.jpg")))  // uint8 [1,300,451,3]
  * // (read JPEGs before the first model loads: see examples.Demo)
  * Using.resource(Predictor(".cache/models/resnet18")) { predictor =>   // cpu, transforms included
  *   println(predictor.signature)             // a table: data uint8 [-1,-1,-1,3] NHWC in, prob float32 [-1,1000] out
  *   val prob: Array[Float] = predictor.predictWithNDArray(IndexedSeq(cat)).head.toFloatArray
  *   println(prob.indices.maxBy(prob(_)))     // the top class
  * }
  * }}}
  *
  * '''Files.''' A model prefix `out/my_model` means `out/my_model-symbol.json` (the graph, carrying the signature)
  * and `out/my_model.params` (the weights, whose size and SHA-256 the signature records). An old model (written by
  * `HybridBlock.export` or `Module.save_checkpoint`) has no signature: it is `<prefix>-symbol.json` with
  * `<prefix>-NNNN.params`, loaded with `inputs` (one [[DataDesc]] per input of its graph) and `epoch = Some(NNNN)`.
  *
  * '''Calls.''' Inputs go in signature order ([[signature]]`.inputNames`) or by name; dimension 0 is the batch,
  * of any size when the signature says `-1`, and every call is checked against the signature before any native
  * call (INPUT_COUNT, UNKNOWN_INPUT, DTYPE_MISMATCH, SHAPE_MISMATCH). Outputs come in signature order.
  *
  * '''Resources and threads.''' A Predictor holds native memory until [[close]], which throws nothing and may be
  * called twice; use `scala.util.Using`. Any other method of a closed Predictor throws `IllegalStateException`.
  * A Predictor may be shared by threads: it computes as many calls at once as MXNet has CPU engine workers (one
  * unless [[Environment.setEngineWorkers]] asked for more before the first Predictor loaded; spec/RUNTIME.md rule 7), and
  * the other calls wait.
  *
  * Every rule (file checks, signature checks, argument checks, native calls) lives once, in the Java core: this
  * class converts Scala collections at its boundary and delegates, so Scala, Java and Python give the same
  * outputs, bit for bit, and fail with the same codes.
  */
final class Predictor private (underlying: JPredictor) extends AutoCloseable {

  /** What this predictor takes and gives: the whole model's signature (its `network` is the network alone's),
    * or with `loadTransforms = false` the network's; for an old model, the input descriptions and the outputs as
    * MXNet names them.
    */
  @throws[IllegalStateException]("when the predictor is closed")
  def signature: Signature = underlying.getSignature

  /** Runs the model on inputs in signature order.
    *
    * {{{
    * val Seq(prob) = predictor.predictWithNDArray(IndexedSeq(NDArray(pixels, Shape(1, 300, 300, 3))))
    * }}}
    *
    * @return the outputs in signature order, each with the inputs' batch size as its dimension 0
    * @throws MxportException INPUT_COUNT, DTYPE_MISMATCH or SHAPE_MISMATCH before any native call; NATIVE_ERROR
    */
  @throws[MxportException]
  @throws[IllegalStateException]("when the predictor is closed")
  def predictWithNDArray(inputs: IndexedSeq[NDArray]): IndexedSeq[NDArray] = {
    require(inputs != null, "inputs must be an IndexedSeq of NDArray, one per input in signature order, got null")
    ScalaFixes(underlying.predictWithNDArray(inputs.asJava)).asScala.toIndexedSeq
  }

  /** Runs the model on inputs given by name.
    *
    * @return output name to output, in signature order
    * @throws MxportException UNKNOWN_INPUT for a name the model does not have, INPUT_COUNT for a missing one, and
    *   the codes of the positional call
    */
  @throws[MxportException]
  @throws[IllegalStateException]("when the predictor is closed")
  def predictWithNDArray(inputs: Map[String, NDArray]): ListMap[String, NDArray] = {
    require(inputs != null, "inputs must be a Map of input name to NDArray, got null")
    ListMap(ScalaFixes(underlying.predictWithNDArray(inputs.asJava)).asScala.toSeq: _*)
  }

  /** Runs the model on flat inputs, as MXNet's Scala infer API did: one array per input in signature order, each
    * holding a whole batch in C order. The batch size is an array's length divided by the product of the input's
    * other dimensions, which must be fixed. An input of another dtype than float32 takes the values only when
    * each converts exactly (0..255 integers for uint8 pixels); otherwise DTYPE_MISMATCH.
    *
    * @return one flat array per output, in signature order, converted to Float
    * @throws MxportException INPUT_COUNT, SHAPE_MISMATCH, DTYPE_MISMATCH or INVALID_ARGUMENT (a dynamic dimension
    *   besides the batch: use [[predictWithNDArray(inputs:IndexedSeq*]]), before any native call
    */
  @throws[MxportException]
  @throws[IllegalStateException]("when the predictor is closed")
  def predict(inputs: IndexedSeq[Array[Float]]): IndexedSeq[Array[Float]] = {
    require(inputs != null, "inputs must be an IndexedSeq of Array[Float], one per input in signature order, got null")
    ScalaFixes(underlying.predict(inputs.toArray)).toIndexedSeq
  }

  /** The engine this predictor runs on. */
  def engine: Engine = underlying.getEngine

  /** The Java predictor this one delegates to, for Java code that needs it (closing either closes both). */
  def asJava: JPredictor = underlying

  /** Frees the native memory. Throws nothing; calling it again does nothing. */
  override def close(): Unit = underlying.close()

  override def toString: String = underlying.toString
}

/** Loads [[Predictor]]s. */
object Predictor {

  /** Loads a model.
    *
    * {{{
    * Predictor("out/my_model")                                  // the whole model, transforms included, on the CPU
    * Predictor("out/my_model", loadTransforms = false)          // the network alone (cut at its connectors)
    * Predictor("out/my_model.onnx", engine = Engine.ONNXRUNTIME) // on ONNX Runtime (io.mxport:mxport-onnxruntime)
    * Predictor("old/resnet", inputs = Seq(DataDesc("data", Shape(-1, 3, 224, 224), layout = Some("NCHW"))),
    *           epoch = Some(0))                                 // an old model: old/resnet-0000.params
    * }}}
    *
    * @param prefix the model: `<prefix>-symbol.json` and `<prefix>.params` (`<prefix>-NNNN.params` with `epoch`)
    * @param contexts where to run: one context; `Seq(Context.cpu)`, the only one on the CPU-only wheel
    * @param loadTransforms true for the whole model, false for the network alone, whose signature is
    *   `signature.network` of the whole model; an old model has no transforms and runs its whole graph
    * @param inputs only for an old model (one without an mxport signature): one description per input of its graph
    * @param epoch only for an old model whose params file is `<prefix>-NNNN.params`: `Some(NNNN)`
    * @param engine `Engine.MXNET` (default) or `Engine.ONNXRUNTIME`: then `prefix` is the `.onnx` file that
    *   `mxport export-onnx` wrote (`--no-transforms` for `loadTransforms = false`), and the artifact
    *   `io.mxport:mxport-onnxruntime` must be on the classpath (else INVALID_ARGUMENT naming it)
    * @throws MxportException with the code of what is wrong: MODEL_NOT_FOUND, BAD_SIGNATURE, DIGEST_MISMATCH,
    *   NO_SIGNATURE (an old model without `inputs`), INVALID_ARGUMENT (`inputs` or `epoch` for an mxport model, a
    *   context other than the CPU), ...
    */
  @throws[MxportException]
  def apply(
      prefix: String,
      contexts: Seq[Context] = Seq(Context.cpu),
      loadTransforms: Boolean = true,
      inputs: Seq[DataDesc] = Seq.empty,
      epoch: Option[Int] = None,
      engine: Engine = Engine.MXNET
  ): Predictor = {
    require(contexts != null, s"contexts must be a Seq of one Context, e.g. Seq(Context.cpu), got null (model $prefix)")
    require(inputs != null, s"inputs must be a Seq of DataDesc (empty for an mxport model), got null (model $prefix)")
    require(epoch != null, s"epoch must be Some(NNNN) or None, got null (model $prefix)")
    val jContexts = contexts.asJava
    require(engine != null, s"engine must be Engine.MXNET or Engine.ONNXRUNTIME, got null (model $prefix)")
    val predictor = ScalaFixes {
      (inputs, epoch) match {
        case _ if engine != Engine.MXNET => onEngine(prefix, contexts, loadTransforms, inputs, epoch, engine)
        case (Seq(), None)               => new JPredictor(prefix, jContexts, loadTransforms)
        case (Seq(), Some(e))            => withEpochOnly(prefix, e)
        case (_, None)                   => new JPredictor(prefix, inputs.asJava, jContexts)
        case (_, Some(e))                => new JPredictor(prefix, inputs.asJava, jContexts, e)
      }
    }
    new Predictor(predictor)
  }

  /** Another engine runs mxport models on the CPU only: the arguments of old models or GPUs are refused. */
  private def onEngine(
      path: String,
      contexts: Seq[Context],
      loadTransforms: Boolean,
      inputs: Seq[DataDesc],
      epoch: Option[Int],
      engine: Engine
  ): JPredictor = {
    val passed = new java.util.LinkedHashMap[String, AnyRef]()
    if (inputs.nonEmpty) passed.put("inputs", inputs)
    epoch.foreach(e => passed.put("epoch", Int.box(e)))
    if (contexts != Seq(Context.cpu)) passed.put("contexts", contexts)
    if (!passed.isEmpty) {
      throw new JMxportException(
        JErrorCode.INVALID_ARGUMENT,
        s"engine = $engine runs an mxport model's .onnx file (model $path) on the CPU, with no old model's arguments",
        JFix.drop(passed, ""),
        ScalaFixes.Spelling
      )
    }
    new JPredictor(path, engine, loadTransforms)
  }

  /** An epoch without input descriptions: the Java API has no constructor for it. As in Python, an old model
    * fails with the Java core's NO_SIGNATURE (whose message says how to give the descriptions), and an mxport
    * model with INVALID_ARGUMENT, because only old models have an epoch. Reads the symbol file only.
    */
  private def withEpochOnly(prefix: String, epoch: Int): Nothing = {
    Signature.read(prefix) // throws NO_SIGNATURE for an old model, or what is wrong with the file
    throw new JMxportException(
      JErrorCode.INVALID_ARGUMENT,
      s"$prefix-symbol.json carries its own signature",
      JFix.drop(java.util.Map.of("epoch", Int.box(epoch)), ", which only old models need"),
      ScalaFixes.Spelling
    )
  }
}

/** The Java core's failures with their fixes spelled in Scala: the core carries a fix as data (`Fix`, e.g. "pass
  * argument epoch = 7"), which the Java API words as `new Predictor(prefix, inputs, contexts, 7)` and a Scala user
  * reads as `epoch = Some(7)`. Same code, same problem, same fix; only the spelling changes (spec/mistakes.json
  * checks both).
  */
private[scalaapi] object ScalaFixes {

  /** The Scala API's words for each kind of fix: `Predictor.apply`'s named arguments. */
  object Spelling extends JFix.Spelling {
    override def argument(name: String, value: Any): String = name match {
      case "epoch"           => s"pass epoch = Some($value)"
      case "load_transforms" => s"load it with loadTransforms = $value"
      case other             => s"pass ${camelCase(other)} = $value"
    }

    override def drop(arguments: java.util.Map[String, AnyRef]): String =
      "drop " + arguments.asScala
        .map {
          case ("epoch", epoch) if epoch != null => s"epoch = Some($epoch)"
          case ("inputs", _)                     => "inputs = Seq(...)"
          case (name, _)                         => camelCase(name)
        }
        .mkString(" and ")

    override def describeInputs(inputs: java.util.List[JFix.Input], epoch: Integer): String = {
      val descs =
        inputs.asScala.map(in => s"""DataDesc("${in.getName}", Shape(${JFix.dims(in)}), DType.${in.getDType.name})""")
      val all = if (descs.isEmpty) "DataDesc(\"data\", Shape(-1, ...), DType.FLOAT32)" else descs.mkString(", ")
      val withEpoch = if (epoch == null) "" else s", epoch = Some($epoch)"
      s"load it with Predictor(prefix, inputs = Seq($all)$withEpoch)${JFix.unknownShapes(inputs)}, or re-export it with mxport.export"
    }

    private def camelCase(name: String): String = {
      val parts = name.split('_')
      parts.head + parts.tail.map(_.capitalize).mkString
    }
  }

  def apply[T](body: => T): T =
    try body
    catch {
      case e: JMxportException if e.getFix.isPresent =>
        val spelled = new JMxportException(e.getErrorCode, e.getProblem, e.getFix.get, Spelling)
        spelled.setStackTrace(e.getStackTrace)
        throw spelled
    }
}
