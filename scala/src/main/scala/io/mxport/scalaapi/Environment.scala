package io.mxport.scalaapi

import io.mxport.{Environment => JEnvironment}

import scala.jdk.OptionConverters._

/** mxport's process-wide settings in this JVM, and what was applied: a thin Scala face of
  * `io.mxport.Environment` (spec/RUNTIME.md).
  *
  * {{{
  * Environment.setThreads(4)          // before the first Predictor (or Images.decode) loads libmxnet.so
  * Environment.setEngineWorkers(2)    // two calls compute at once, each with 4 / 2 threads
  * Using.resource(Predictor(".cache/models/resnet18")) { predictor =>
  *   Environment.applied.foreach(a => println(s"${a.getEngineWorkers} x ${a.getThreads}: ${a.getReason}"))
  * }
  * }}}
  *
  * The settings are read once, when the first Predictor loads libmxnet.so; a setter wins over its system property
  * (`-Dmxport.threads`, `-Dmxport.engineWorkers`, `-Dmxport.library.path`), env `OMP_NUM_THREADS` over both. A
  * setter called afterwards with another value throws INVALID_ARGUMENT naming the fix: MXNet's thread count never
  * changes after an operator ran. ONNX Runtime (`Engine.ONNXRUNTIME`) computes with the same `setThreads` count,
  * one pool for every model, decided at its first model: `applied(Engine.ONNXRUNTIME)` says what was done.
  */
object Environment {

  /** What was applied when libmxnet.so loaded (`getThreads`, `getEngineWorkers`, `getReason`, ...). */
  type Applied = JEnvironment.Applied

  /** The OpenMP threads MXNet computes with, all engine workers together, and ONNX Runtime's pool; default every
    * core.
    */
  @throws[MxportException]
  def setThreads(threads: Int): Unit = JEnvironment.setThreads(threads)

  /** MXNet's CPU engine workers, so how many calls compute at once; default 1. */
  @throws[MxportException]
  def setEngineWorkers(workers: Int): Unit = JEnvironment.setEngineWorkers(workers)

  /** The libmxnet.so to load (a file or its folder), ahead of every other place searched. */
  @throws[MxportException]
  def setLibraryPath(path: String): Unit = JEnvironment.setLibraryPath(path)

  /** What was applied, or None while libmxnet.so is not loaded yet (loads nothing). */
  def applied: Option[Applied] = JEnvironment.applied().toScala

  /** What was applied for an engine: `applied` for MXNet; for another, None until its first model opened. */
  def applied(engine: Engine): Option[Applied] = JEnvironment.applied(engine).toScala

  /** Loads libmxnet.so now if this process has not, applying the settings; returns what was applied. */
  @throws[MxportException]
  def load(): Applied = JEnvironment.load()
}
