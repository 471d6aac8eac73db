package io.mxport.it

import io.mxport.Npy
import io.mxport.scalaapi.{Context, Images, Predictor}

/** The Scala tester adapter: the same calls as [[JavaRunner]], through the idiomatic Scala API. */
final class ScalaRunner private (predictor: Predictor) extends AutoCloseable {

  def this(prefix: String, loadTransforms: Boolean) =
    this(Predictor(prefix, loadTransforms = loadTransforms))

  def this(prefix: String, oldInputs: String, epoch: Int) =
    this(
      Predictor(
        prefix,
        contexts = Seq(Context.cpu),
        inputs = JavaRunner.descriptions(oldInputs).toArray(Array.empty[io.mxport.DataDesc]).toSeq,
        epoch = Some(epoch)
      )
    )

  /** Runs the model on .npy inputs in signature order; returns .npy outputs in signature order. */
  def predict(npyInputs: Array[Array[Byte]]): Array[Array[Byte]] =
    predictor.predictWithNDArray(npyInputs.toIndexedSeq.map(Npy.read)).map(Npy.write).toArray

  def signature: String = predictor.signature.toString

  override def close(): Unit = predictor.close()
}

object ScalaRunner {

  /** `Images.read` of the file, through the Scala API, as .npy bytes. */
  def readImage(path: String): Array[Byte] = Npy.write(Images.read(java.nio.file.Paths.get(path)))
}
