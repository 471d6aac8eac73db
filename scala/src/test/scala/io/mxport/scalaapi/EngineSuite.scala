package io.mxport.scalaapi

import org.scalatest.funsuite.AnyFunSuite

import scala.util.Using

/** The engine option of the Scala facade: the Java core's choice and codes (the ONNX Runtime engine itself is
  * tested in the onnxruntime module, which this module does not depend on).
  */
class EngineSuite extends AnyFunSuite {
  test("MXNet is the default, and choosing it is the same Predictor") {
    Using.resource(Predictor(TestSupport.resnet, engine = Engine.MXNET))(p => assert(p.engine == Engine.MXNET))
    Using.resource(Predictor(TestSupport.resnet))(p => assert(p.engine == Engine("mxnet")))
  }

  test("without io.mxport:mxport-onnxruntime on the classpath, ONNX Runtime is INVALID_ARGUMENT naming it") {
    val e = intercept[MxportException](Predictor("models/resnet18.onnx", engine = Engine.ONNXRUNTIME))
    assert(e.getCode == "INVALID_ARGUMENT" && e.getMessage.contains("io.mxport:mxport-onnxruntime"), e.getMessage)
  }

  test("an old model's arguments with another engine are INVALID_ARGUMENT, whose fix drops them") {
    val e = intercept[MxportException](Predictor("m.onnx", epoch = Some(0), engine = Engine.ONNXRUNTIME))
    assert(e.getCode == "INVALID_ARGUMENT" && e.getMessage.contains("drop epoch = Some(0)"), e.getMessage)
  }
}
