package io.mxport.scalaapi

import org.scalatest.funsuite.AnyFunSuite

import scala.util.Using

/** The example of the package Scaladoc (package.scala), as written there but for the model's path. */
class DocExampleSuite extends AnyFunSuite {
  test("the package Scaladoc example runs") {
    val model = TestSupport.resnet // ".cache/models/resnet18" in the Scaladoc, relative to the repository
    var (probs, logits) = (Array.empty[Float], IndexedSeq.empty[Array[Float]])

    Using.resource(Predictor(model)) { predictor =>
      info(predictor.signature.toString)
      val pixels = NDArray(new Array[Byte](300 * 300 * 3), Shape(1, 300, 300, 3))
      probs = predictor.predictWithNDArray(IndexedSeq(pixels)).head.toFloatArray
    }
    Using.resource(Predictor(model, loadTransforms = false)) { network =>
      logits = network.predict(IndexedSeq(new Array[Float](2 * 3 * 224 * 224)))
    }

    assert(probs.length == 1000 && math.abs(probs.sum - 1) < 1e-3)
    assert(logits.map(_.length) == IndexedSeq(2000))
  }
}
