package io.mxport.scalaapi

import org.scalatest.funsuite.AnyFunSuite

import scala.util.Using

/** The Scala face of the process-wide settings (spec/RUNTIME.md section 6): the Java core's, one for one. */
class EnvironmentSuite extends AnyFunSuite {
  test("what was applied is the Java core's, and a later setting with another value is INVALID_ARGUMENT") {
    Using.resource(Predictor(TestSupport.resnet))(_ => ())
    val applied = Environment.applied.getOrElse(fail("a loaded Predictor applied the settings"))
    assert(applied eq io.mxport.Environment.applied().get)
    assert(Environment.load() eq applied)
    assert(applied.getEngineWorkers >= 1 && applied.getLibraryPath.endsWith("libmxnet.so"), applied)
    val other = applied.getRequestedEngineWorkers + 1
    val e = intercept[MxportException](Environment.setEngineWorkers(other))
    assert(
      e.getCode == "INVALID_ARGUMENT" && e.getMessage.contains(s"cannot set mxport.engineWorkers=$other"),
      e.getMessage
    )
    Environment.setEngineWorkers(applied.getRequestedEngineWorkers) // the same value changes nothing
    assert(Environment.applied.contains(applied))
  }

  test("per engine: MXNet's is the same record; ONNX Runtime's is None while no model opened on it") {
    Using.resource(Predictor(TestSupport.resnet))(_ => ())
    assert(Environment.applied(Engine.MXNET) == Environment.applied)
    assert(Environment.applied(Engine.ONNXRUNTIME).isEmpty) // this module does not depend on mxport-onnxruntime
  }
}
