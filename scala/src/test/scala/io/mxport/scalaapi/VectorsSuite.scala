package io.mxport.scalaapi

import java.nio.file.{Files, Path}

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.scalatest.funsuite.AnyFunSuite

import scala.jdk.CollectionConverters._
import scala.util.{Try, Using}

/** Every conformance vector of spec/vectors (spec/FORMAT.md section 11), through the Scala API: the cases Python
  * and Java run. One test per case; the suite fails when the folder is missing or holds no case.
  */
class VectorsSuite extends AnyFunSuite {
  private val json = new ObjectMapper()

  private val cases: Try[IndexedSeq[String]] = Try {
    val dir = TestSupport.vectors
    require(Files.isDirectory(dir), s"$dir is missing: run `make vectors`")
    val names = Using.resource(Files.list(dir)) { s =>
      s.iterator.asScala
        .filter(p => Files.isRegularFile(p.resolve("case.json")))
        .map(_.getFileName.toString)
        .toIndexedSeq
        .sorted
    }
    require(names.nonEmpty, s"$dir holds no case: run `make vectors`")
    names
  }
  private val (invalid, valid) = cases.getOrElse(IndexedSeq.empty).partition(_.startsWith("invalid_"))

  test("spec/vectors holds valid and invalid cases") {
    cases.get // the reason, when the folder is missing or empty
    assert(valid.size >= 5, s"too few valid cases: $valid")
    assert(invalid.size >= 5, s"too few invalid cases: $invalid")
  }

  private def caseOf(name: String): (Path, JsonNode) = {
    val folder = TestSupport.vectors.resolve(name)
    (folder, json.readTree(folder.resolve("case.json").toFile))
  }

  /** Loads the case's model as its `load` says, with named arguments the way a Scala user writes them. */
  private def load(folder: Path, c: JsonNode, loadTransforms: Boolean): Predictor = {
    val inputs = c.path("load").path("inputs")
    val descriptions =
      if (inputs.isNull || inputs.isMissingNode) Seq.empty
      else
        inputs.asScala.toSeq.map { s =>
          DataDesc(
            s.get("name").asText,
            Shape(s.get("shape").asScala.toSeq.map(_.intValue): _*),
            DType(s.get("dtype").asText),
            layout = Option(s.get("layout")).filterNot(_.isNull).map(_.asText)
          )
        }
    val epoch = Option(c.path("load").path("epoch")).filter(_.isInt).map(_.intValue)
    Predictor(folder.resolve("model").toString, loadTransforms = loadTransforms, inputs = descriptions, epoch = epoch)
  }

  private def arrays(folder: Path, names: JsonNode): IndexedSeq[NDArray] =
    names.asScala.toIndexedSeq.map(n => TestSupport.readNpy(folder.resolve(n.asText)))

  for (name <- valid) test(s"valid case $name gives its outputs within tolerance") {
    val (folder, c) = caseOf(name)
    assert(c.path("expected_error").isNull, name)
    var compared = 0
    for (run <- c.get("runs").asScala) {
      Using.resource(load(folder, c, run.get("load_transforms").booleanValue)) { predictor =>
        val inputs = arrays(folder, run.get("inputs"))
        if (run.hasNonNull("expected_error")) {
          val e = intercept[MxportException] {
            if (run.has("names")) predictor.predictWithNDArray(run.get("names").asScala.map(_.asText).zip(inputs).toMap)
            else predictor.predictWithNDArray(inputs)
          }
          assert(e.getCode == run.get("expected_error").asText, e.getMessage)
        } else {
          if (c.has("output_names")) { // an old model's names are its graph's own (spec section 7)
            assert(predictor.signature.outputs.map(_.name) == c.get("output_names").asScala.map(_.asText).toSeq, name)
            assert(
              predictor.signature.inputs.map(_.name) ==
                c.get("load").get("inputs").asScala.map(_.get("name").asText).toSeq,
              name
            )
          }
          val got = predictor.predictWithNDArray(inputs)
          val want = arrays(folder, run.get("outputs"))
          assert(got.size == want.size, s"$name: number of outputs")
          assert(predictor.signature.outputs.size == got.size)
          for (((g, w), j) <- got.zip(want).zipWithIndex) {
            TestSupport.assertMeaningful(w, s"$name output $j")
            TestSupport.assertClose(
              g,
              w,
              c.get("rtol").doubleValue,
              c.get("atol").doubleValue,
              s"$name run ${run.get("inputs")} (load_transforms ${run.get("load_transforms")}) output $j"
            )
            compared += 1
          }
        }
      }
    }
    assert(compared > 0, s"$name compared no output")
  }

  for (name <- invalid) test(s"invalid case $name fails with its code") {
    val (folder, c) = caseOf(name)
    val want = c.get("expected_error").asText
    val old = !c.path("load").path("inputs").isNull
    for (loadTransforms <- if (old) Seq(true) else Seq(true, false)) { // an old model has no transforms to cut
      val e = intercept[MxportException](load(folder, c, loadTransforms).close())
      assert(e.getCode == want, e.getMessage)
      assert(e.getMessage.startsWith(s"[$want] "), e.getMessage)
    }
  }
}
