package io.mxport.scalaapi

import org.scalatest.funsuite.AnyFunSuite

import scala.util.Using

/** Class names and metadata (format version 2) through the Scala accessors, on spec/vectors/labels_metadata. */
class LabelsSuite extends AnyFunSuite {
  private val prefix = TestSupport.vectors.resolve("labels_metadata").resolve("model").toString

  test("labels, metadata and topK read as Scala values") {
    val sig = Signature.read(prefix)
    assert(sig.outputs.head.labels.contains(IndexedSeq("tabby", "crane", "crane", "caf\u00e9 \uD83D\uDC31")))
    assert(sig.inputs.head.labels.isEmpty)
    assert(sig.metadata.keys.toSeq == Seq("name", "licence", "source"))
    assert(sig.metadata("licence") == "CC0-1.0")
    val top = sig.outputs.head.top(Array(0.1f, 0.4f, 0.4f, 0.1f), 3)
    assert(
      top.map(c => (c.index, c.label, c.score)) == IndexedSeq(
        (1, Some("crane"), 0.4f),
        (2, Some("crane"), 0.4f),
        (0, Some("tabby"), 0.1f)
      )
    )
    val e = intercept[MxportException](sig.outputs.head.top(Array(1f, 2f)))
    assert(e.getCode == "SHAPE_MISMATCH")
  }

  test("an optimised model's record reads as a Scala Option; an fp32 model's is None") {
    val int8 = Signature.read(TestSupport.vectors.resolve("optimized_int8").resolve("model").toString)
    assert(
      int8.optimization.map(o => (o.getKind, o.getCalibrationMode.get, o.getCalibrationSamples)) ==
        Some(("int8", "naive", 8L))
    )
    assert(Signature.read(prefix).optimization.isEmpty)
  }

  test("a model without labels or metadata gives None and an empty map") {
    val sig = Signature.read(TestSupport.vectors.resolve("postprocess").resolve("model").toString)
    assert(sig.outputs.head.labels.isEmpty && sig.metadata.isEmpty)
    assert(
      sig.outputs.head.top(Array(0.1f, 0.3f, 0.2f, 0.4f), 2).map(c => (c.index, c.label)) ==
        IndexedSeq((3, None), (1, None))
    )
  }

  test("the predictor's signature carries them too") {
    Using.resource(Predictor(prefix)) { p =>
      assert(p.signature.outputs.head.labels.map(_.size).contains(4))
      assert(p.signature.metadata("name") == "four-class example")
    }
  }
}
