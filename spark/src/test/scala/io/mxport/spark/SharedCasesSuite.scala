package io.mxport.spark

import java.util.Base64

import scala.jdk.CollectionConverters._

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import io.mxport.MxportException
import org.apache.spark.sql.Row
import org.apache.spark.sql.types._

/** spec/spark/cases.json, the Spark cases the Python API runs too (spec/SPARK.md section 9), on MxportTransformer. */
class SharedCasesSuite extends SparkSuite {
  private val cases: Seq[JsonNode] = {
    val file = TestData.root.resolve("spec").resolve("spark").resolve("cases.json").toFile
    new ObjectMapper().readTree(file).get("cases").elements().asScala.toVector
  }

  private def value(v: JsonNode, t: DataType): Any = if (v == null || v.isNull) null
  else
    t match {
      case ArrayType(e, _) => v.elements().asScala.map(value(_, e)).toVector
      case BinaryType      => Base64.getDecoder.decode(v.asText())
      case FloatType       => v.asDouble().toFloat
      case DoubleType      => v.asDouble()
      case ByteType        => v.asInt().toByte
      case ShortType       => v.asInt().toShort
      case IntegerType     => v.asInt()
      case LongType        => v.asLong()
      case StringType      => v.asText()
      case other           => throw new IllegalArgumentException(s"cases.json: no test value for $other")
    }

  private def transformer(c: JsonNode): MxportTransformer = {
    val t = new MxportTransformer().setModelUri(TestData.vector(c.get("model").asText()))
    c.get("options").properties().asScala.foreach { e =>
      val v = e.getValue
      e.getKey match {
        case "batchSize"      => t.setBatchSize(v.asInt())
        case "padTail"        => t.setPadTail(v.asBoolean())
        case "inputCols"      => v.properties().asScala.foreach(m => t.setInputCol(m.getKey, m.getValue.asText()))
        case "outputCols"     => v.properties().asScala.foreach(m => t.setOutputCol(m.getKey, m.getValue.asText()))
        case "onError"        => t.setOnError(v.asText())
        case "errorCol"       => t.setErrorCol(v.asText())
        case "idCol"          => t.setIdCol(v.asText())
        case "loadTransforms" => t.setLoadTransforms(v.asBoolean())
        case "maxImagePixels" => t.setMaxImagePixels(v.asLong())
        case other            => fail(s"cases.json: unknown option $other")
      }
    }
    t
  }

  private def messages(e: Throwable): String =
    Iterator.iterate(e)(_.getCause).takeWhile(_ != null).map(_.getMessage).mkString("\n")

  for (c <- cases) test(c.get("name").asText()) {
    val schema = StructType.fromDDL(c.get("schema").asText())
    val rows = c
      .get("rows")
      .elements()
      .asScala
      .map { r =>
        Row.fromSeq(r.elements().asScala.toVector.zip(schema.fields).map { case (v, f) => value(v, f.dataType) })
      }
      .toVector // not toSeq: on Scala 2.12 an Iterator's toSeq is a lazy Stream, which a task cannot serialize
    val df = spark.createDataFrame(spark.sparkContext.parallelize(rows, 1), schema)
    val t = transformer(c)
    if (c.has("plan_error")) {
      val e = intercept[MxportException](t.transform(df))
      assert(e.getCode == c.get("plan_error").asText(), e.getMessage)
    } else if (c.has("fail")) {
      val e = intercept[Exception](t.transform(df).collect())
      assert(messages(e).contains(c.get("fail").asText()), messages(e))
    } else {
      val scored = t.transform(df)
      val columns = c.get("columns").elements().asScala.map(p => (p.get(0).asText(), p.get(1).asText())).toVector
      assert(scored.schema.fields.drop(df.columns.length).map(f => (f.name, f.dataType.simpleString)).toSeq == columns)
      val got = scored.collect()
      val errorCol = columns.last._1
      val outputs = columns.init.map(_._1)
      assert(got.length == rows.length)
      val sizes = Option(c.get("output_sizes"))
        .map(_.properties().asScala.map(e => e.getKey -> e.getValue.asInt()).toMap)
        .getOrElse(Map.empty)
      for ((want, i) <- c.get("errors").elements().asScala.zipWithIndex) {
        val row = got(i)
        val error = row.getAs[String](errorCol)
        if (want.isNull) {
          assert(error == null, s"row $i: $error")
          sizes.foreach { case (col, n) => assert(row.getAs[scala.collection.Seq[Any]](col).size == n, s"row $i $col") }
        } else {
          val w = want.asText()
          assert(
            error != null && (if (w.endsWith("...")) error.startsWith(w.dropRight(3)) else error == w),
            s"row $i: $error"
          )
          outputs.foreach(col => assert(row.getAs[AnyRef](col) == null, s"row $i $col"))
        }
      }
      Option(c.get("equal_rows")).foreach(_.elements().asScala.foreach { p =>
        val (a, b) = (p.get(0).asInt(), p.get(1).asInt())
        outputs.foreach { col =>
          assert(
            got(a).getAs[AnyRef](col) != null && got(a).getAs[AnyRef](col) == got(b).getAs[AnyRef](col),
            s"rows $a $b"
          )
        }
      })
    }
  }
}
