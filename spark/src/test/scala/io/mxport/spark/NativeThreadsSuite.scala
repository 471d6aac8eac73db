package io.mxport.spark

import scala.util.Using

import io.mxport.Predictor
import org.apache.spark.SparkConf
import org.scalatest.funsuite.AnyFunSuite

/** The executor's thread count, and that it is never applied once the Java core has decided (spec/RUNTIME.md). */
class NativeThreadsSuite extends AnyFunSuite {
  private val cpus = Runtime.getRuntime.availableProcessors()
  private val userEnv = Seq("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS").exists(v => sys.env.get(v).exists(_.nonEmpty))

  test("the executor's cores: spark.mxport.threads, else spark.executor.cores, else local[N], capped by the JVM's") {
    assume(!userEnv, "the environment's thread count stands")
    assert(NativeThreads.wanted(new SparkConf(false).set("spark.mxport.threads", "1")).contains(1))
    assert(
      NativeThreads.wanted(new SparkConf(false).set("spark.executor.cores", "1").setMaster("local[2]")).contains(1)
    )
    assert(NativeThreads.wanted(new SparkConf(false).setMaster("local[1]")).contains(1))
    assert(NativeThreads.wanted(new SparkConf(false).setMaster("local[*]")).contains(cpus))
    assert(NativeThreads.wanted(new SparkConf(false).setMaster(s"local[${cpus + 5}]")).contains(cpus))
  }

  test("one engine worker per task slot: spark.mxport.engineWorkers, else the cores over spark.task.cpus") {
    assume(!sys.env.contains("MXNET_CPU_WORKER_NTHREADS"), "the environment's worker count stands")
    assert(NativeThreads.wantedWorkers(new SparkConf(false).setMaster("local[1]")).contains(1))
    assert(NativeThreads.wantedWorkers(new SparkConf(false).setMaster(s"local[$cpus]")).contains(cpus))
    assert(NativeThreads.wantedWorkers(new SparkConf(false).set("spark.executor.cores", "1")).contains(1))
    assert(
      NativeThreads
        .wantedWorkers(new SparkConf(false).setMaster(s"local[$cpus]").set("spark.task.cpus", cpus.toString))
        .contains(1),
      "one slot of every core"
    )
    assert(
      NativeThreads
        .wantedWorkers(new SparkConf(false).setMaster("local[1]").set("spark.mxport.engineWorkers", "3"))
        .contains(3)
    )
  }

  test("a count option that is not a positive integer is INVALID_ARGUMENT naming it") {
    assume(!sys.env.contains("MXNET_CPU_WORKER_NTHREADS"), "the environment's worker count stands")
    for ((key, value) <- Seq("spark.mxport.engineWorkers" -> "two", "spark.mxport.threads" -> "0")) {
      val e = intercept[io.mxport.MxportException](NativeThreads.wantedWorkers(new SparkConf(false).set(key, value)))
      assert(e.getCode == "INVALID_ARGUMENT" && e.getMessage.contains(s"$key=$value"), e.getMessage)
    }
  }

  test("once the Java core has decided, another count is logged and not applied") {
    Using.resource(new Predictor(TestData.vector("postprocess")))(_ => ())
    val decided = NativeThreads.appliedCount
    assert(decided != 0, "a loaded Predictor decided the rule")
    val applied = io.mxport.Environment.applied().get
    NativeThreads.prepare(new SparkConf(false).set("spark.mxport.threads", if (decided == 1) "2" else "1"))
    assert(NativeThreads.appliedCount == decided)
    NativeThreads.prepare(new SparkConf(false).set("spark.mxport.engineWorkers", "7"))
    assert(NativeThreads.appliedWorkers == applied.getEngineWorkers)
    assert(io.mxport.Environment.applied().get eq applied, "decided once per JVM")
    assert(
      !sys.props.contains("mxport.threads") && !sys.props.contains("mxport.engineWorkers"),
      "Spark hands its counts to io.mxport.Environment, not to system properties"
    )
  }
}
