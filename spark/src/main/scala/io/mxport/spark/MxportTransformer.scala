package io.mxport.spark

import java.util.concurrent.ConcurrentHashMap

import io.mxport.{ErrorCode, MxportException, Signature}
import org.apache.spark.ml.Transformer
import org.apache.spark.ml.param._
import org.apache.spark.ml.util.{DefaultParamsReadable, DefaultParamsWritable, Identifiable}
import org.apache.spark.sql.{DataFrame, Dataset, Encoders, SparkSession}
import org.apache.spark.sql.types.StructType

/**
 * Scores a DataFrame with an mxport model: the model's signature maps columns to inputs by name and gives the
 * output columns, one array column per model output.
 *
 * {{{
 * val images = spark.read.format("binaryFile").load("photos/")            // path, modificationTime, length, content
 * val scored = new MxportTransformer()
 *   .setModelUri("hdfs://nn/models/resnet18")                             // resnet18-symbol.json + resnet18.params
 *   .setBatchSize(8)
 *   .transform(images)                                                    // + prob: array<float>, mxport_error: string
 * }}}
 *
 * '''Model URI''': a local path prefix (present on every executor), a `file:` URI, `sparkfiles:NAME` for files
 * added with `SparkContext.addFile`, or any Hadoop filesystem URI (`hdfs://`, `s3a://`, ...). The driver reads
 * the signature from the symbol file; each executor JVM loads the model once (see [[ModelCache]]).
 *
 * '''Inputs''': model input `x` reads column `x`, or the column given by `setInputCol("x", "col")`. A single
 * uint8 NHWC image input with no column of its name reads `content`, the column of
 * `spark.read.format("binaryFile")`. A binary column is decoded in the executor with ImageIO into RGB uint8 HWC
 * (any size when the model's H and W are dynamic); a numeric column holds one sample per row: nested arrays of
 * the sample's rank, one flat array in C order, or a scalar for a rank-1 input, converted exactly (whole numbers
 * for integer inputs; doubles are rounded to float for float32 inputs).
 *
 * '''Outputs''': model output `y` becomes column `y` (or `setOutputCol("y", "col")`): a flat array, in C order,
 * of one sample's output (the signature gives its shape), of Spark type float (float32, float16), double, short
 * (uint8), byte (int8), int or long.
 *
 * '''Engine''': `setEngine("onnxruntime")` runs the model on ONNX Runtime instead of MXNet: each executor loads
 * `<modelUri>.onnx` (`<modelUri>-network.onnx` with `loadTransforms` false), written beside the model by
 * `mxport export-onnx <prefix> <prefix>.onnx` (`--no-transforms` for the network alone), and needs the artifact
 * `io.mxport:mxport-onnxruntime` on its classpath (`--packages`); the driver still reads the signature from the
 * symbol file. Outputs agree with MXNet's within `spec/onnx_tolerances.json`.
 *
 * '''Batches''': see [[ScoringIterator]]: up to `batchSize` consecutive rows with inputs of one shape (images of
 * one size) run together; short batches are padded to `batchSize` unless `padTail` is false.
 *
 * '''Bad rows''' (a null, an undecodable image, an array of the wrong size or type): with `onError` "column"
 * (the default) the row's output columns are null and the `errorCol` column (`mxport_error`) holds
 * `"[CODE] message"` with a code of spec section 8; good rows have a null there. With `onError` "fail" the task
 * fails with a [[MxportRowException]] naming the row (its index in its partition, and its `idCol` value, by
 * default its `path`). Either way no bad value reaches MXNet: inputs are checked before any native call.
 */
class MxportTransformer(override val uid: String) extends Transformer with DefaultParamsWritable {

  def this() = this(Identifiable.randomUID("mxport"))

  final val modelUri = new Param[String](
    this,
    "modelUri",
    "the model prefix: a local path, file:, sparkfiles:NAME or " +
      "a Hadoop filesystem URI"
  )
  final val loadTransforms = new BooleanParam(
    this,
    "loadTransforms",
    "run the whole model (true) or the network " +
      "alone (false)"
  )
  final val batchSize = new IntParam(this, "batchSize", "rows per native call", ParamValidators.gtEq(1))
  final val padTail = new BooleanParam(this, "padTail", "pad short batches to batchSize")
  final val inputCols = new StringArrayParam(this, "inputCols", "'input=column' overrides of the by-name mapping")
  final val outputCols = new StringArrayParam(this, "outputCols", "'output=column' overrides of the output names")
  final val onError = new Param[String](
    this,
    "onError",
    "what a bad row gives: 'column' or 'fail'",
    ParamValidators.inArray(Array("column", "fail"))
  )
  final val errorCol = new Param[String](this, "errorCol", "the column that holds a bad row's error")
  final val idCol = new Param[String](this, "idCol", "a column that names a row in failures (default: path, if any)")
  final val maxImagePixels =
    new LongParam(this, "maxImagePixels", "larger images are bad rows", ParamValidators.gtEq(1))
  final val engine = new Param[String](
    this,
    "engine",
    "what executors run the model on: 'mxnet' or 'onnxruntime' " +
      "(<modelUri>.onnx, io.mxport:mxport-onnxruntime on the classpath)",
    ParamValidators.inArray(Array("mxnet", "onnxruntime"))
  )

  setDefault(
    loadTransforms -> true,
    batchSize -> 8,
    padTail -> true,
    inputCols -> Array.empty[String],
    outputCols -> Array.empty[String],
    onError -> "column",
    errorCol -> "mxport_error",
    idCol -> "",
    maxImagePixels -> 100000000L,
    engine -> "mxnet"
  )

  def setModelUri(value: String): this.type = set(modelUri, value)
  def setLoadTransforms(value: Boolean): this.type = set(loadTransforms, value)

  /** "mxnet" (default) or "onnxruntime". */
  def setEngine(value: String): this.type = set(engine, value)
  def setBatchSize(value: Int): this.type = set(batchSize, value)
  def setPadTail(value: Boolean): this.type = set(padTail, value)

  /** Feeds model input `input` from column `column`. */
  def setInputCol(input: String, column: String): this.type =
    set(inputCols, $(inputCols).filterNot(_.startsWith(input + "=")) :+ s"$input=$column")

  /** Writes model output `output` to column `column`. */
  def setOutputCol(output: String, column: String): this.type =
    set(outputCols, $(outputCols).filterNot(_.startsWith(output + "=")) :+ s"$output=$column")
  def setOnError(value: String): this.type = set(onError, value)
  def setErrorCol(value: String): this.type = set(errorCol, value)
  def setIdCol(value: String): this.type = set(idCol, value)
  def setMaxImagePixels(value: Long): this.type = set(maxImagePixels, value)

  def getModelUri: String = $(modelUri)
  def getBatchSize: Int = $(batchSize)

  /** The signature the transformer runs with (the network's when loadTransforms is false), read on the driver. */
  def signature: Signature = {
    require(isDefined(modelUri), "set the model URI first: setModelUri(\"/models/resnet18\")")
    val whole = MxportTransformer.readSignature($(modelUri))
    if ($(loadTransforms)) whole
    else
      whole.getNetwork.orElseThrow(() =>
        new MxportException(
          ErrorCode.BAD_SIGNATURE,
          s"${$(modelUri)} has no " +
            "network signature"
        )
      )
  }

  private def plan(schema: StructType): Plan = {
    Plan.build(
      $(modelUri),
      signature,
      schema,
      $(inputCols),
      $(outputCols),
      $(batchSize),
      $(padTail),
      $(onError) == "fail",
      $(errorCol),
      $(idCol),
      $(maxImagePixels)
    )
  }

  override def transformSchema(schema: StructType): StructType = plan(schema).outputSchema

  override def transform(dataset: Dataset[_]): DataFrame = {
    val df = dataset.toDF()
    val p = plan(df.schema)
    val sha = MxportTransformer.readSignature(p.uri).getParamsSha256.orElse("")
    val key = ModelCache.Key(p.uri, sha, $(loadTransforms), $(engine))
    val conf =
      if (ModelSource.needsHadoop(p.uri)) Some(new SerializableHadoopConf(MxportTransformer.hadoopConf())) else None
    df.mapPartitions((rows: Iterator[org.apache.spark.sql.Row]) => Scoring.partition(rows, p, key, conf))(
      Encoders.row(p.outputSchema)
    )
  }

  override def copy(extra: ParamMap): MxportTransformer = defaultCopy(extra)
}

object MxportTransformer extends DefaultParamsReadable[MxportTransformer] {
  private val signatures = new ConcurrentHashMap[String, (Long, Signature)]()

  private[spark] def hadoopConf(): org.apache.hadoop.conf.Configuration =
    SparkSession.active.sparkContext.hadoopConfiguration

  /** The whole model's signature at `uri`, read on this JVM (from a Hadoop filesystem through a temporary copy). */
  def readSignature(uri: String): Signature = {
    val (prefix, temp) = ModelSource.localPrefix(uri, hadoopConf(), withParams = false)
    try {
      val file = new java.io.File(prefix + "-symbol.json")
      val stamp = if (temp.isEmpty) file.lastModified() ^ file.length() else -1L
      val cached = signatures.get(uri)
      if (cached != null && cached._1 == stamp && stamp != -1L && stamp != 0L) cached._2
      else {
        val s = Signature.read(prefix)
        signatures.put(uri, (stamp, s))
        s
      }
    } finally temp.foreach(ModelSource.deleteFolder)
  }
}
