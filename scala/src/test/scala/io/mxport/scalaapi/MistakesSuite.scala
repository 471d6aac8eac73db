package io.mxport.scalaapi

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.scalatest.funsuite.AnyFunSuite

import scala.jdk.CollectionConverters._
import scala.util.Using

/** The mistakes corpus (spec/mistakes.json) through the Scala facade: each row whose `languages` name `scala`
  * gives its code and a message holding the row's `all` and `scala` fixes (spelled for Scala by the facade), or
  * (code null) succeeds as the right call does. The rules are the Java core's; this checks the facade surfaces them.
  */
class MistakesSuite extends AnyFunSuite {

  /** Rows that do not pass yet; a listed row that passes fails, so the list only shrinks. */
  private val KnownFailures = Set.empty[String]

  private val rows: IndexedSeq[JsonNode] = new ObjectMapper()
    .readTree(TestSupport.root.resolve("spec").resolve("mistakes.json").toFile)
    .get("mistakes")
    .elements
    .asScala
    .toIndexedSeq
    .filter(_.get("languages").elements.asScala.exists(_.asText == "scala"))

  private def text(row: JsonNode, key: String): Option[String] = Option(row.get(key)).filterNot(_.isNull).map(_.asText)
  private def ints(a: JsonNode): Seq[Int] = a.elements.asScala.map(_.intValue).toVector
  private def model(row: JsonNode): String =
    TestSupport.vectors.resolve(text(row, "model").getOrElse("single_in_single_out")).resolve("model").toString
  private def fixes(row: JsonNode): Seq[String] =
    Seq("all", "scala").flatMap(k => Option(row.path("fix").get(k)).toSeq.flatMap(_.elements.asScala.map(_.asText)))

  /** What the row's user did, written as a Scala user writes it; returns the signature it got. */
  private def act(row: JsonNode): Signature = {
    val prefix = text(row, "prefix").getOrElse("{model}").replace("{model}", model(row))
    if (text(row, "action").contains("read_signature")) return Signature.read(prefix)
    val contexts = text(row, "context") match {
      case Some(gpu) if gpu.startsWith("gpu") => Seq(Context.gpu(gpu.filter(_.isDigit).toInt))
      case _                                  => Seq(Context.cpu)
    }
    val inputs = Option(row.get("inputs")).filter(_.isArray).toSeq.flatMap(_.elements.asScala).map { d =>
      DataDesc(d.get("name").asText, Shape(ints(d.get("shape")): _*), DType(d.get("dtype").asText), text(d, "layout"))
    }
    val epoch = Option(row.get("epoch")).filter(_.isInt).map(_.intValue)
    val loadTransforms = Option(row.get("load_transforms")).forall(_.asBoolean)
    Using.resource(Predictor(prefix, contexts, loadTransforms, inputs, epoch)) { predictor =>
      if (text(row, "action").contains("predict")) {
        val arrays = row.get("call").elements.asScala.toIndexedSeq.map { a =>
          val (shape, dtype) = (Shape(ints(a.get("shape")): _*), DType(a.get("dtype").asText))
          NDArray.raw(dtype, new Array[Byte](shape.size * dtype.getByteSize), shape)
        }
        predictor.predictWithNDArray(arrays)
      }
      predictor.signature
    }
  }

  /** None when the row passes, else why not. */
  private def outcome(row: JsonNode): Option[String] = {
    val code = text(row, "code")
    try {
      val got = act(row)
      if (code.nonEmpty) Some(s"succeeded, expected ${code.get}")
      else if (!row.path("inputs").isArray && got != Signature.read(model(row)))
        Some(s"loaded another model than ${model(row)}")
      else None
    } catch {
      case e: MxportException =>
        val kind = e.getFix.map[String](_.getKind.name.toLowerCase(java.util.Locale.ROOT)).orElse(null)
        if (!code.contains(e.getCode)) Some(s"code ${e.getCode}, expected $code: ${e.getMessage}")
        else if (kind != row.path("fix_kind").textValue)
          Some(s"fix kind $kind, expected ${row.path("fix_kind")}: ${e.getMessage}")
        else fixes(row).find(f => !e.getMessage.contains(f)).map(f => s"'$f' not in: ${e.getMessage}")
    }
  }

  test("the corpus has scala rows, and the known failures are among them") {
    assert(rows.size >= 10, "too few scala rows in spec/mistakes.json")
    assert(KnownFailures.subsetOf(rows.map(_.get("id").asText).toSet))
  }

  for (row <- rows) {
    val id = row.get("id").asText
    test(s"mistake $id") {
      (outcome(row), KnownFailures(id)) match {
        case (None, true)       => fail(s"$id passes now: remove it from MistakesSuite.KnownFailures")
        case (Some(why), false) => fail(s"$id (${row.get("mistake").asText}): $why")
        case _                  =>
      }
    }
  }
}
