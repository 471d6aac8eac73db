package io.mxport.spark

import java.nio.{ByteBuffer, ByteOrder}
import java.util.{ArrayList => JArrayList, List => JList}

import scala.collection.mutable.ArrayBuffer
import scala.util.control.NonFatal

import io.mxport.{Context, DType, Engine, ErrorCode, MxportException, NDArray, Predictor, Shape, Signature}
import org.apache.spark.{SparkEnv, TaskContext}
import org.apache.spark.sql.Row

/** A failure that names the row (onError = "fail"). */
class MxportRowException(message: String, cause: Throwable) extends RuntimeException(message, cause)

/** Executor side: scores one partition. */
private[spark] object Scoring {

  def loadModel(key: ModelCache.Key, conf: Option[SerializableHadoopConf]): Predictor =
    if (key.engine != "mxnet") loadOnEngine(key, conf) else loadOnMxnet(key, conf)

  /** The `.onnx` file beside the model on ONNX Runtime (no libmxnet.so): export-onnx wrote it from the same model. */
  private def loadOnEngine(key: ModelCache.Key, conf: Option[SerializableHadoopConf]): Predictor = {
    val suffix = if (key.loadTransforms) ".onnx" else "-network.onnx"
    val (file, temp) = ModelSource.localFile(key.uri, suffix, conf.map(_.value).orNull)
    try {
      val predictor = new Predictor(file, Engine.of(key.engine), key.loadTransforms)
      val found = predictor.getSignature.getParamsSha256.orElse(key.paramsSha256)
      if (found != key.paramsSha256) {
        predictor.close()
        throw new MxportException(
          ErrorCode.DIGEST_MISMATCH,
          s"${key.uri}$suffix was written from another model " +
            s"(params sha256 ${found.take(12)}..., the model's is ${key.paramsSha256.take(12)}...): write it again with " +
            s"`mxport export-onnx ${key.uri} ${key.uri}$suffix`"
        )
      }
      predictor
    } finally temp.foreach(ModelSource.deleteFolder)
  }

  private def loadOnMxnet(key: ModelCache.Key, conf: Option[SerializableHadoopConf]): Predictor = {
    val (prefix, temp) = ModelSource.localPrefix(key.uri, conf.map(_.value).orNull, withParams = true)
    try {
      val found = Signature.read(prefix).getParamsSha256.orElse("")
      if (found != key.paramsSha256) {
        throw new MxportException(
          ErrorCode.DIGEST_MISMATCH,
          s"the model at ${key.uri} changed after the job was " +
            s"planned (params sha256 ${found.take(12)}... here, ${key.paramsSha256.take(12)}... on the driver): give " +
            "every executor the same model files"
        )
      }
      new Predictor(prefix, java.util.Collections.singletonList(Context.cpu()), key.loadTransforms)
    } finally temp.foreach(ModelSource.deleteFolder)
  }

  def partition(
      rows: Iterator[Row],
      plan: Plan,
      key: ModelCache.Key,
      conf: Option[SerializableHadoopConf]
  ): Iterator[Row] = {
    if (!rows.hasNext) return Iterator.empty // an empty partition loads nothing
    val ctx = TaskContext.get()
    Option(SparkEnv.get).foreach(env => NativeThreads.prepare(env.conf)) // before this JVM's first model loads
    val lease = ModelCache.lease(key)(loadModel(key, conf))
    if (ctx != null) ctx.addTaskCompletionListener[Unit](_ => lease.close())
    new ScoringIterator(rows, plan, lease.predictor, if (ctx == null) 0 else ctx.partitionId())
  }
}

/**
 * Groups the rows of a partition into batches and scores them, keeping the rows' order.
 *
 * A batch is up to `batchSize` consecutive good rows whose inputs have the same shapes (images of the same size);
 * a row of another shape, or the end of the partition, closes it. Bad rows (null, undecodable, misshaped) sit
 * between good rows without closing a batch, and come out in their place. A short batch is padded to
 * `batchSize` by repeating its last row (`padTail`, the padded outputs are dropped), so that every batch of one
 * shape has the same size: a partition's tail does not make MXNet plan a new shape, and a row's outputs do not
 * depend on where the partitions were cut.
 */
private[spark] final class ScoringIterator(rows: Iterator[Row], plan: Plan, predictor: Predictor, partitionId: Int)
    extends Iterator[Row] {

  private final class Pending(val row: Row, val index: Long, val samples: Array[Sample], var error: BadRow) {
    var outputs: Array[AnyRef] = _
    def good: Boolean = error == null
    def shapeKey: Seq[Seq[Int]] = samples.toSeq.map(_.dims.toSeq)
  }

  private val maxBuffered = plan.batchSize * 4 + 16
  private var index = 0L
  private var carry: Pending = _
  private var out: Iterator[Row] = Iterator.empty

  private def prepare(row: Row): Pending = {
    val i = index
    index += 1
    try {
      val samples = plan.inputs.map(in => Samples.of(row.get(in.columnIndex), in, plan.maxImagePixels)).toArray
      new Pending(row, i, samples, null)
    } catch {
      case b: BadRow   => new Pending(row, i, null, b)
      case NonFatal(e) => new Pending(row, i, null, BadRow(ErrorCode.INVALID_ARGUMENT.name, e.toString))
    }
  }

  override def hasNext: Boolean = {
    while (!out.hasNext && (carry != null || rows.hasNext)) out = nextChunk()
    out.hasNext
  }

  override def next(): Row = {
    if (!hasNext) throw new NoSuchElementException("no more rows")
    out.next()
  }

  private def nextChunk(): Iterator[Row] = {
    val buffer = new ArrayBuffer[Pending]()
    var goods = 0
    var key: Seq[Seq[Int]] = null
    if (carry != null) {
      buffer += carry
      goods = 1
      key = carry.shapeKey
      carry = null
    }
    var open = true
    while (open && goods < plan.batchSize && buffer.size < maxBuffered && rows.hasNext) {
      val p = prepare(rows.next())
      if (!p.good) buffer += p
      else if (key == null || p.shapeKey == key) {
        key = p.shapeKey
        buffer += p
        goods += 1
      } else {
        carry = p // another shape: it opens the next batch
        open = false
      }
    }
    val batch = buffer.filter(_.good).toIndexedSeq
    if (batch.nonEmpty) run(batch)
    buffer.iterator.map(emit)
  }

  private def run(batch: IndexedSeq[Pending]): Unit = {
    val padded = if (plan.padTail) plan.batchSize else batch.size
    try {
      val results = predict(batch, padded)
      batch.indices.foreach(k => batch(k).outputs = results(k))
    } catch {
      case NonFatal(_) if batch.size > 1 =>
        // find the row: each alone (outputs of a batch that failed are computed at batch size 1)
        batch.foreach(runAlone)
      case NonFatal(e) => batch.foreach(_.error = asBadRow(e))
    }
  }

  private def runAlone(p: Pending): Unit = {
    try p.outputs = predict(IndexedSeq(p), 1).head
    catch { case NonFatal(e) => p.error = asBadRow(e) }
  }

  private def asBadRow(e: Throwable): BadRow = e match {
    case m: MxportException => BadRow(m.getCode, m.getMessage.stripPrefix(s"[${m.getCode}] "))
    case other              => BadRow(ErrorCode.NATIVE_ERROR.name, other.toString)
  }

  private def predict(batch: IndexedSeq[Pending], padded: Int): IndexedSeq[Array[AnyRef]] = {
    val n = batch.size
    val inputs: JList[NDArray] = new JArrayList[NDArray](plan.inputs.size)
    for (i <- plan.inputs.indices) {
      val in = plan.inputs(i)
      val per = batch.head.samples(i).bytes.length
      val data = new Array[Byte](per * padded)
      for (k <- 0 until padded) System.arraycopy(batch(math.min(k, n - 1)).samples(i).bytes, 0, data, k * per, per)
      inputs.add(NDArray.ofRaw(DType.of(in.dtype), data, new Shape((padded +: batch.head.samples(i).dims.toSeq): _*)))
    }
    val outs = predictor.predictWithNDArray(inputs)
    val perRow = Array.ofDim[AnyRef](n, plan.outputs.size)
    for (j <- plan.outputs.indices) {
      val o = outs.get(j)
      val per = o.size / padded
      val split = Outputs.split(o, n, per)
      for (k <- 0 until n) perRow(k)(j) = split(k)
    }
    perRow.toIndexedSeq
  }

  private def emit(p: Pending): Row = {
    if (!p.good && plan.failOnError) {
      val id = if (plan.idColumnIndex >= 0) s" (${plan.idCol.get} = ${p.row.get(plan.idColumnIndex)})" else ""
      throw new MxportRowException(
        s"mxport cannot score row ${p.index} of partition $partitionId$id with " +
          s"${plan.uri}: ${p.error.text}",
        p.error
      )
    }
    val values = new Array[Any](p.row.length + plan.outputs.size + (if (plan.errorCol.isDefined) 1 else 0))
    var c = 0
    while (c < p.row.length) { values(c) = p.row.get(c); c += 1 }
    if (p.good) plan.outputs.indices.foreach(j => values(c + j) = p.outputs(j))
    if (plan.errorCol.isDefined) values(c + plan.outputs.size) = if (p.good) null else p.error.text
    Row.fromSeq(values.toIndexedSeq) // a few column values: the copy is not worth a Scala-version-specific wrap
  }
}

/** Splits an output batch into per-row Spark arrays of the output's element type. */
private[spark] object Outputs {

  /** A Spark array column's value: the array wrapped, not copied, as a Seq on Scala 2.12 and 2.13 alike. */
  private def column[A](a: Array[A]): scala.collection.Seq[A] = a

  def split(o: NDArray, rows: Int, per: Int): IndexedSeq[AnyRef] = {
    val raw = ByteBuffer.wrap(o.toRawBytes).order(ByteOrder.LITTLE_ENDIAN)
    lazy val halves = o.toFloatArray // float16 widened to float, exactly
    (0 until rows).map { k =>
      val base = k * per
      o.getDType match {
        case DType.FLOAT32 =>
          val a = new Array[Float](per); raw.asFloatBuffer().get(base, a); column(a)
        case DType.FLOAT64 =>
          val a = new Array[Double](per); raw.asDoubleBuffer().get(base, a); column(a)
        case DType.INT32 => val a = new Array[Int](per); raw.asIntBuffer().get(base, a); column(a)
        case DType.INT64 => val a = new Array[Long](per); raw.asLongBuffer().get(base, a); column(a)
        case DType.INT8  => val a = new Array[Byte](per); raw.get(base, a); column(a)
        case DType.UINT8 =>
          column(Array.tabulate[Short](per)(i => (raw.get(base + i) & 0xff).toShort))
        case DType.FLOAT16 => column(java.util.Arrays.copyOfRange(halves, base, base + per))
        case other => throw new MxportException(ErrorCode.DTYPE_MISMATCH, s"output dtype $other has no Spark type")
      }
    }
  }
}
