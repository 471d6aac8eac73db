package io.mxport.spark

import io.mxport.Predictor
import org.apache.spark.SparkConf
import org.slf4j.LoggerFactory

/**
 * How many native threads the models of an executor JVM compute with.
 *
 * MXNet runs every CPU operator of the process on one engine worker thread (MXNET_CPU_WORKER_NTHREADS=1, the
 * default), with OpenMP threads under it, and the tasks of an executor share one Predictor whose calls run one
 * at a time (the Java core's policy). So the native compute threads of the JVM are the OpenMP threads of that one
 * worker, whatever the number of concurrent tasks: N tasks cannot multiply them. The Java core decides their
 * count once per JVM, when its first Predictor loads libmxnet.so (spec/RUNTIME.md); alone it would take every core
 * the JVM may run on, which on a cluster node may be far more than the executor was given. So before the
 * executor's first model loads, this hands the Java core the executor's cores (system property `mxport.threads`),
 * the `spark.task.cpus` of each of its concurrent task slots added up:
 *
 *  1. env `OMP_NUM_THREADS` or `MXNET_OMP_MAX_THREADS`, when set, wins (as in the Java core): nothing is handed;
 *  1. else `spark.mxport.threads`, when set;
 *  1. else `spark.executor.cores`, or N of a `local[N]` master (all cores for `local[*]`);
 *  1. capped by the cores the JVM may run on.
 *
 * A `-Dmxport.threads` already set in the executor JVM wins. When the Java core has already decided (a Predictor
 * loaded earlier in this JVM, e.g. by the driver in local mode), the count is logged and not applied: changing
 * it after operators ran corrupts memory.
 */
object NativeThreads {
  private val log = LoggerFactory.getLogger(getClass)
  private val UserVariables = Seq("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")
  @volatile private var reported = false
  @volatile private var handed: Option[Int] = None

  /** The count [[prepare]] handed to the Java core in this JVM (set as `mxport.threads`), if it did. */
  def handedCount: Option[Int] = handed

  /** The OpenMP thread count of this JVM's MXNet engine worker as the Java core decided it (see
   *  [[io.mxport.Predictor.engineThreadCount]]: 0 not decided yet, -1 left as it was). */
  def appliedCount: Int = Predictor.engineThreadCount()

  /** The count this executor wants, or None when the user's environment setting stands. */
  def wanted(conf: SparkConf): Option[Int] = {
    if (UserVariables.exists(v => Option(System.getenv(v)).exists(_.nonEmpty))) return None
    val cpus = Runtime.getRuntime.availableProcessors()
    val local = """local\[(\*|\d+)(?:,\s*\d+)?\]""".r
    val cores = conf.getOption("spark.mxport.threads").map(_.trim.toInt)
      .orElse(conf.getOption("spark.executor.cores").map(_.trim.toInt))
      .orElse(conf.getOption("spark.master").collect {
        case local(n) => if (n == "*") cpus else n.toInt
        case "local" => 1
      })
      .getOrElse(cpus)
    Some(cores.max(1).min(cpus))
  }

  /** Hands the wanted count to the Java core; call it before the executor's first Predictor loads. */
  def prepare(conf: SparkConf): Unit = wanted(conf).foreach { count =>
    Predictor.engineThreadCount() match {
      case 0 => synchronized {
        Option(System.getProperty("mxport.threads")) match {
          case None =>
            System.setProperty("mxport.threads", count.toString)
            handed = Some(count)
          case Some(set) if set.trim != count.toString =>
            reportOnce(s"mxport: -Dmxport.threads=$set set in this JVM wins over the executor's $count thread(s)")
          case _ =>
        }
      }
      case `count` =>
      case decided => reportOnce(s"mxport: MXNet in this JVM already computes with " +
        (if (decided > 0) s"$decided OpenMP thread(s)" else "the thread count decided before") +
        s" (decided once per JVM, when its first Predictor loaded); the executor's $count is not applied")
    }
  }

  private def reportOnce(message: String): Unit = if (!reported) synchronized {
    if (!reported) {
      reported = true
      log.info(message)
    }
  }
}
