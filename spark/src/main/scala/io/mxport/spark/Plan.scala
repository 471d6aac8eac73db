package io.mxport.spark

import io.mxport.{DType, ErrorCode, MxportException, Signature, TensorSpec}
import org.apache.spark.sql.types._

/** One model input: where it comes from and what the model takes (serialisable copy of a TensorSpec). */
private[spark] final case class InputPlan(
    name: String,
    dims: Array[Int],
    dtype: String,
    column: String,
    columnIndex: Int,
    image: Boolean
) {
  def rank: Int = dims.length
  def shapeText: String = dims.mkString("[", ",", "]")
}

/** One model output and the column it goes to. */
private[spark] final case class OutputPlan(name: String, dims: Array[Int], dtype: String, column: String) {
  def shapeText: String = dims.mkString("[", ",", "]")
}

/** Everything an executor needs to score a partition; built on the driver from the schema and the signature. */
private[spark] final case class Plan(
    uri: String,
    inputs: IndexedSeq[InputPlan],
    outputs: IndexedSeq[OutputPlan],
    batchSize: Int,
    padTail: Boolean,
    failOnError: Boolean,
    errorCol: Option[String],
    idCol: Option[String],
    idColumnIndex: Int,
    maxImagePixels: Long,
    outputSchema: StructType
)

private[spark] object Plan {
  val ContentColumn = "content" // what spark.read.format("binaryFile") gives
  val PathColumn = "path"

  /** The Spark element type of an output dtype: float16 widens to float, uint8 to short (Spark has no unsigned byte). */
  def sparkType(dtype: String): DataType = dtype match {
    case "float32" | "float16" => FloatType
    case "float64"             => DoubleType
    case "uint8"               => ShortType
    case "int8"                => ByteType
    case "int32"               => IntegerType
    case "int64"               => LongType
    case other                 => throw new MxportException(ErrorCode.DTYPE_MISMATCH, s"dtype $other has no Spark type")
  }

  /** An image input: uint8, rank 4, NHWC with 3 channels (or a dynamic channel dimension). */
  def isImageSpec(s: TensorSpec): Boolean = {
    val d = s.getShape.toArray
    s.getDType == DType.UINT8 && d.length == 4 && (d(3) == 3 || d(3) == -1) &&
    (s.getLayout == null || s.getLayout == "NHWC")
  }

  private def isNumeric(t: DataType): Boolean = t match {
    case ByteType | ShortType | IntegerType | LongType | FloatType | DoubleType => true
    case _                                                                      => false
  }

  /** The element type under any depth of ArrayType, with the depth; (t, 0) for a scalar. */
  def leaf(t: DataType): (DataType, Int) = t match {
    case ArrayType(e, _) => val (l, d) = leaf(e); (l, d + 1)
    case other           => (other, 0)
  }

  private def pairs(entries: Array[String], what: String): Map[String, String] = entries.map { e =>
    val eq = e.indexOf('=')
    require(eq > 0 && eq < e.length - 1, s"$what entries are 'name=column', got '$e'")
    e.substring(0, eq) -> e.substring(eq + 1)
  }.toMap

  private def fail(code: ErrorCode, message: String): Nothing = throw new MxportException(code, message)

  def build(
      uri: String,
      sig: Signature,
      schema: StructType,
      inputCols: Array[String],
      outputCols: Array[String],
      batchSize: Int,
      padTail: Boolean,
      failOnError: Boolean,
      errorCol: String,
      idCol: String,
      maxImagePixels: Long
  ): Plan = {
    val names = schema.fieldNames
    val inMap = pairs(inputCols, "inputCols")
    val outMap = pairs(outputCols, "outputCols")
    val unknownIn = inMap.keySet -- sig.getInputNames.toArray(new Array[String](0)).toSet
    if (unknownIn.nonEmpty)
      fail(
        ErrorCode.UNKNOWN_INPUT,
        s"inputCols names ${unknownIn.mkString(", ")}, but the " +
          s"model's inputs are ${sig.getInputNames}"
      )
    val unknownOut = outMap.keySet -- sig.getOutputNames.toArray(new Array[String](0)).toSet
    if (unknownOut.nonEmpty)
      fail(
        ErrorCode.INVALID_ARGUMENT,
        s"outputCols names ${unknownOut.mkString(", ")}, but " +
          s"the model's outputs are ${sig.getOutputNames}"
      )
    val specs = (0 until sig.getInputs.size).map(sig.getInputs.get)
    val inputs = specs.map { spec =>
      val n = spec.getName
      val column = inMap.getOrElse(
        n,
        if (names.contains(n)) n
        else if (
          specs.size == 1 && isImageSpec(spec) && schema.find(_.name == ContentColumn).exists(_.dataType == BinaryType)
        )
          ContentColumn
        else
          fail(
            ErrorCode.INVALID_ARGUMENT,
            s"no column for model input '$n' ${spec.getDType}${spec.getShape}: the " +
              s"""DataFrame has ${names
                  .mkString("[", ", ", "]")}; name a column '$n' or call setInputCol("$n", "<column>")"""
          )
      )
      val index = names.indexOf(column)
      if (index < 0)
        fail(
          ErrorCode.INVALID_ARGUMENT,
          s"column '$column' (for model input '$n') is not in the DataFrame: " +
            names.mkString("[", ", ", "]")
        )
      val dims = spec.getShape.toArray
      val t = schema(index).dataType
      val image = t match {
        case BinaryType if isImageSpec(spec) => true
        case BinaryType                      =>
          fail(
            ErrorCode.DTYPE_MISMATCH,
            s"column '$column' holds bytes, which are decoded as images, " +
              s"but model input '$n' is ${spec.getDType}${spec.getShape} ${Option(spec.getLayout).getOrElse("")}, not uint8 " +
              "NHWC with 3 channels; give it a numeric array column"
          )
        case other =>
          val (l, depth) = leaf(other)
          if (!isNumeric(l))
            fail(
              ErrorCode.DTYPE_MISMATCH,
              s"column '$column' is ${other.simpleString}; model input " +
                s"'$n' takes a numeric array column (one sample per row, nested or flat) or, for images, binary"
            )
          if (depth != dims.length - 1 && !(depth == 1 && dims.length > 2))
            fail(
              ErrorCode.SHAPE_MISMATCH,
              s"column '$column' is ${other.simpleString} (arrays nested $depth deep) but " +
                s"one sample of model input '$n' has rank ${dims.length - 1} (the input is ${spec.getShape}): give " +
                s"${dims.length - 1} levels of arrays, or one flat array"
            )
          false
      }
      if (spec.getDType == DType.FLOAT16)
        fail(
          ErrorCode.DTYPE_MISMATCH,
          s"model input '$n' is float16, which the Spark " +
            "integration does not feed yet"
        )
      InputPlan(n, dims, spec.getDType.getName, column, index, image)
    }
    val outputs = (0 until sig.getOutputs.size).map(sig.getOutputs.get).map { spec =>
      OutputPlan(
        spec.getName,
        spec.getShape.toArray,
        spec.getDType.getName,
        outMap.getOrElse(spec.getName, spec.getName)
      )
    }
    val errCol = if (failOnError) None else Some(errorCol)
    val added = outputs.map(_.column) ++ errCol
    added.groupBy(identity).collect { case (c, xs) if xs.size > 1 => c }.foreach { c =>
      fail(
        ErrorCode.INVALID_ARGUMENT,
        s"two output columns would be named '$c'; rename one with setOutputCol or setErrorCol"
      )
    }
    added.filter(names.contains).foreach { c =>
      fail(
        ErrorCode.INVALID_ARGUMENT,
        s"the DataFrame already has a column '$c'; rename the model's output with " +
          """setOutputCol("<output>", "<new column>") or setErrorCol, or drop the column"""
      )
    }
    val id = if (idCol.nonEmpty) idCol else if (names.contains(PathColumn)) PathColumn else ""
    val idIndex = if (id.isEmpty) -1 else names.indexOf(id)
    if (id.nonEmpty && idIndex < 0)
      fail(ErrorCode.INVALID_ARGUMENT, s"idCol '$id' is not a column: ${names.mkString(", ")}")
    val outSchema = StructType(
      schema.fields ++
        outputs.map(o => StructField(o.column, ArrayType(sparkType(o.dtype), containsNull = false), nullable = true)) ++
        errCol.map(c => StructField(c, StringType, nullable = true))
    )
    Plan(
      uri,
      inputs,
      outputs,
      batchSize,
      padTail,
      failOnError,
      errCol,
      Option(id).filter(_.nonEmpty),
      idIndex,
      maxImagePixels,
      outSchema
    )
  }
}
