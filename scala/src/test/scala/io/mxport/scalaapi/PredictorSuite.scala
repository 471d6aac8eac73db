package io.mxport.scalaapi

import io.mxport.{Predictor => JPredictor}
import org.scalatest.funsuite.AnyFunSuite

import scala.concurrent.duration._
import scala.concurrent.{Await, ExecutionContext, Future}
import scala.util.Using

/** The Scala API itself, on the small models of spec/vectors: defaults and named arguments, Scala collections,
  * the errors' codes, closing, and what Java callers see.
  */
class PredictorSuite extends AnyFunSuite {
  private def model(name: String): String = TestSupport.vectors.resolve(name).resolve("model").toString
  private def npy(name: String, file: String): NDArray =
    TestSupport.readNpy(TestSupport.vectors.resolve(name).resolve(file))
  private def code(f: => Any): String = intercept[MxportException](f).getCode

  test("Predictor(prefix) loads the whole model on the CPU; Using closes it") {
    val want = npy("uint8_image", "out_0_0.npy")
    val got = Using.resource(Predictor(model("uint8_image"))) { p =>
      assert(
        p.signature.inputs.map(s => (s.name, s.dtype, s.layout)) == IndexedSeq(("image", DType.UINT8, Some("NHWC")))
      )
      assert(p.signature.paramsSha256.exists(_.length == 64))
      p.predictWithNDArray(IndexedSeq(npy("uint8_image", "in_0_0.npy"))).head
    }
    TestSupport.assertClose(got, want, 1e-5, 1e-6, "uint8_image")
  }

  test("loadTransforms = false runs the network alone, whose signature is the whole model's network") {
    val whole = Signature.read(model("uint8_image"))
    Using.resource(Predictor(model("uint8_image"), contexts = Seq(Context.cpu), loadTransforms = false)) { p =>
      assert(whole.network.contains(p.signature))
      assert(p.signature.network.isEmpty)
      assert(p.signature.inputs.head.shape == Shape(-1, 3, 8, 8))
      val got = p.predictWithNDArray(IndexedSeq(npy("uint8_image", "in_0_net_0.npy"))).head
      TestSupport.assertClose(got, npy("uint8_image", "out_0_net_0.npy"), 1e-5, 1e-6, "network alone")
    }
  }

  test("predict takes flat floats per input and finds the batch size from the length (dynamic batch)") {
    Using.resource(Predictor(model("dynamic_batch"))) { p =>
      for (file <- Seq("0", "1")) {
        val in = npy("dynamic_batch", s"in_${file}_0.npy")
        val want = npy("dynamic_batch", s"out_${file}_0.npy")
        val out = p.predict(IndexedSeq(in.toFloatArray))
        assert(out.size == 1 && out.head.length == want.size)
        TestSupport.assertClose(NDArray(out.head, want.shape), want, 1e-5, 1e-6, s"batch ${in.shape.dims.head}")
      }
      assert(code(p.predict(IndexedSeq(new Array[Float](7)))) == "SHAPE_MISMATCH") // not a multiple of 5
      assert(code(p.predict(IndexedSeq.empty)) == "INPUT_COUNT")
    }
  }

  test("a uint8 input takes flat floats only when each is a 0..255 integer") {
    Using.resource(Predictor(model("uint8_image"))) { p =>
      val pixels = npy("uint8_image", "in_0_0.npy")
      val viaFloats = p.predict(IndexedSeq(pixels.toFloatArray)).head
      assert(viaFloats.toSeq == p.predictWithNDArray(IndexedSeq(pixels)).head.toFloatArray.toSeq)
      assert(code(p.predict(IndexedSeq(Array.fill(pixels.size)(0.5f)))) == "DTYPE_MISMATCH")
    }
  }

  test("inputs by name give outputs by name, in signature order") {
    Using.resource(Predictor(model("multi_in_multi_out"))) { p =>
      val (a, b) = (npy("multi_in_multi_out", "in_0_0.npy"), npy("multi_in_multi_out", "in_0_1.npy"))
      val named = p.predictWithNDArray(Map("b" -> b, "a" -> a))
      assert(named.keys.toSeq == p.signature.outputNames)
      assert(named.values.toSeq == p.predictWithNDArray(IndexedSeq(a, b)))
      assert(code(p.predictWithNDArray(Map("a" -> a, "c" -> b))) == "UNKNOWN_INPUT")
      assert(code(p.predictWithNDArray(Map("a" -> a))) == "INPUT_COUNT")
    }
  }

  test("an old model loads with DataDesc inputs and its epoch; without inputs it is NO_SIGNATURE") {
    val data = DataDesc("data", Shape(-1, 5), layout = Some("NC"))
    Using.resource(Predictor(model("old_format"), inputs = Seq(data), epoch = Some(7))) { p =>
      assert(p.signature.inputs == IndexedSeq(data.toTensorSpec))
      val got = p.predictWithNDArray(IndexedSeq(npy("old_format", "in_0_0.npy"))).head
      TestSupport.assertClose(got, npy("old_format", "out_0_0.npy"), 1e-5, 1e-6, "old model")
    }
    assert(code(Predictor(model("old_format"))) == "NO_SIGNATURE")
    assert(code(Predictor(model("old_format"), epoch = Some(7))) == "NO_SIGNATURE")
    assert(code(Predictor(model("old_format"), inputs = Seq(data))) == "MODEL_NOT_FOUND") // model.params: no epoch
    assert(code(Predictor(model("old_format"), inputs = Seq(data), epoch = Some(-1))) == "INVALID_ARGUMENT")
  }

  test("only old models take inputs or an epoch, and only the CPU is a context") {
    val x = DataDesc("x", Shape(-1, 6))
    assert(code(Predictor(model("single_in_single_out"), inputs = Seq(x))) == "INVALID_ARGUMENT")
    assert(code(Predictor(model("single_in_single_out"), epoch = Some(0))) == "INVALID_ARGUMENT")
    assert(code(Predictor(model("single_in_single_out"), contexts = Seq(Context.gpu()))) == "INVALID_ARGUMENT")
    assert(code(Predictor(model("single_in_single_out"), contexts = Seq.empty)) == "INVALID_ARGUMENT")
  }

  test("a missing model and a bad call fail with the spec's codes; the message names the fix") {
    val e = intercept[MxportException](Predictor("no/such/model"))
    assert(e.getCode == "MODEL_NOT_FOUND" && e.getErrorCode == io.mxport.ErrorCode.MODEL_NOT_FOUND)
    assert(e.getMessage.contains("no/such/model"), e.getMessage)
    Using.resource(Predictor(model("single_in_single_out"))) { p =>
      assert(code(p.predictWithNDArray(IndexedSeq(NDArray(new Array[Float](5), Shape(1, 5))))) == "SHAPE_MISMATCH")
      assert(code(p.predictWithNDArray(IndexedSeq(NDArray(new Array[Double](6), Shape(1, 6))))) == "DTYPE_MISMATCH")
      assert(code(p.predictWithNDArray(IndexedSeq.empty)) == "INPUT_COUNT")
    }
    assert(code(Shape(1, -2)) == "INVALID_ARGUMENT")
    assert(code(NDArray(new Array[Byte](3), Shape(2, 2))) == "INVALID_ARGUMENT")
    assert(code(TensorSpec("x", Shape(-1, 2), layout = Some("NCHW"))) == "INVALID_ARGUMENT")
    assert(code(DType("bfloat16")) == "INVALID_ARGUMENT")
  }

  test("null arguments fail at the Scala boundary with a message that names them") {
    val e = intercept[IllegalArgumentException](Predictor(model("single_in_single_out"), inputs = null))
    assert(e.getMessage.contains("got null"), e.getMessage)
    Using.resource(Predictor(model("single_in_single_out"))) { p =>
      assert(intercept[IllegalArgumentException](p.predict(null)).getMessage.contains("got null"))
    }
  }

  test("close is safe twice; any other use after close is an IllegalStateException") {
    val p = Predictor(model("single_in_single_out"))
    p.close()
    p.close()
    assertThrows[IllegalStateException](p.signature)
    assertThrows[IllegalStateException](p.predict(IndexedSeq(new Array[Float](6))))
    assertThrows[IllegalStateException](p.predictWithNDArray(IndexedSeq(NDArray(new Array[Float](6), Shape(1, 6)))))
    assert(p.toString.contains("closed"))
  }

  test("threads may share a Predictor") {
    Using.resource(Predictor(model("dynamic_batch"))) { p =>
      val in = IndexedSeq(npy("dynamic_batch", "in_1_0.npy"))
      val want = p.predictWithNDArray(in)
      implicit val ec: ExecutionContext = ExecutionContext.global
      val all = Await.result(Future.sequence((1 to 16).map(_ => Future(p.predictWithNDArray(in)))), 60.seconds)
      assert(all.forall(_ == want))
    }
  }

  test("the value types are the Java classes, with Scala constructors and accessors") {
    assert(Shape(1, 300, 300, 3) == new io.mxport.Shape(1, 300, 300, 3) && Shape(-1, 5).dims == IndexedSeq(-1, 5))
    assert(DType("uint8") == DType.UINT8 && DType.values.map(_.getName).contains("float16"))
    val shape = Shape(2, 3)
    assert(
      Seq(
        NDArray(new Array[Byte](6), shape),
        NDArray(new Array[Float](6), shape),
        NDArray(new Array[Double](6), shape),
        NDArray(new Array[Int](6), shape),
        NDArray(new Array[Long](6), shape),
        NDArray.raw(DType.FLOAT16, new Array[Byte](12), shape)
      )
        .map(_.dtype) == Seq(DType.UINT8, DType.FLOAT32, DType.FLOAT64, DType.INT32, DType.INT64, DType.FLOAT16)
    )
    val spec = TensorSpec("x", Shape(-1, 6), layout = Some("NC"))
    assert(spec == new io.mxport.TensorSpec("x", Shape(-1, 6), DType.FLOAT32, "NC"))
    assert((spec.name, spec.shape, spec.dtype, spec.layout) == (("x", Shape(-1, 6), DType.FLOAT32, Some("NC"))))
    assert(TensorSpec("y", Shape(-1, 3)).layout.isEmpty)
    val sig = Signature(Seq(spec), Seq(TensorSpec("y", Shape(-1, 3), layout = Some("NC"))))
    assert(sig.network.isEmpty && sig.paramsSha256.isEmpty && sig.inputNames == IndexedSeq("x"))
    val read = Signature.read(model("single_in_single_out"))
    assert(read.network.contains(sig) && read.inputs == sig.inputs && read.outputs == sig.outputs)
    assert(code(Signature(Seq(spec, spec), sig.outputs)) == "INVALID_ARGUMENT")
    assert(code(Signature.read(model("old_format"))) == "NO_SIGNATURE")
    assert(Context.cpu == io.mxport.Context.cpu() && Context.gpu(1).getDeviceId == 1)
  }

  test("Java callers see the exceptions (@throws) and can reach the Java predictor") {
    val predict = classOf[Predictor].getMethod("predict", classOf[IndexedSeq[_]])
    assert(predict.getExceptionTypes.toSeq.contains(classOf[MxportException]))
    val apply = Predictor.getClass.getMethods.filter(_.getName == "apply")
    assert(apply.nonEmpty && apply.forall(_.getExceptionTypes.toSeq.contains(classOf[MxportException])))
    Using.resource(Predictor(model("single_in_single_out"))) { p =>
      val j: JPredictor = p.asJava
      assert(j.getSignature == p.signature)
    }
  }
}
