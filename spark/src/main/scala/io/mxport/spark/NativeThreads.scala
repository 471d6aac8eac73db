package io.mxport.spark

import io.mxport.{Engine, Environment, ErrorCode, MxportException}
import org.apache.spark.SparkConf
import org.slf4j.LoggerFactory

/**
 * How many native threads, and how many MXNet CPU engine workers, the models of an executor JVM compute with.
 *
 * MXNet runs CPU operators on engine worker threads (one by default: MXNET_CPU_WORKER_NTHREADS=1), each with
 * OpenMP threads under it, and the tasks of an executor share one [[io.mxport.Predictor]], which computes as many
 * calls at once as there are workers. With one worker, two tasks' operators would run one at a time. So before
 * the executor's first model loads, this hands [[io.mxport.Environment]] (spec/RUNTIME.md rules 2 and 7) one
 * engine worker per task slot (`setEngineWorkers`) and the executor's cores (`setThreads`),
 * shared out among the workers: each task computes on its own worker with its `spark.task.cpus` threads, as the
 * tasks of the Python API do in their own processes.
 *
 * On ONNX Runtime (`setEngine("onnxruntime")`) the same `setThreads` count is the one thread pool every model of
 * the executor shares (spec/RUNTIME.md section 6); the engine workers are MXNet's alone.
 *
 * The cores:
 *  1. env `OMP_NUM_THREADS` or `MXNET_OMP_MAX_THREADS`, when set, wins (as in the Java core): no count is handed;
 *  1. else `spark.mxport.threads`, when set;
 *  1. else `spark.executor.cores`, or N of a `local[N]` master (all cores for `local[*]`);
 *  1. capped by the cores the JVM may run on.
 *
 * The workers: `spark.mxport.engineWorkers` when set, else the task slots (the executor's cores divided by
 * `spark.task.cpus`, at least 1); env `MXNET_CPU_WORKER_NTHREADS`, when set, wins.
 *
 * A `-Dmxport.threads` or `-Dmxport.engineWorkers` already set in the executor JVM wins. When the Java core has
 * already decided (a Predictor loaded earlier in this JVM, e.g. by the driver in local mode), the counts are
 * logged and not applied: changing them after operators ran corrupts memory.
 */
private[spark] object NativeThreads {
  private val log = LoggerFactory.getLogger(getClass)
  private val UserVariables = Seq("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")
  @volatile private var reported = false
  @volatile private var handedWorkersCount: Option[Int] = None

  /** The engine workers [[prepare]] handed to the Java core in this JVM, if it did. */
  def handedWorkers: Option[Int] = handedWorkersCount

  /** The OpenMP thread count of each of this JVM's MXNet engine workers as the Java core decided it (see
   *  [[io.mxport.Environment.Applied.getThreads]]: 0 not decided yet, -1 left as it was). */
  def appliedCount: Int = Environment.applied().map[Int](_.getThreads).orElse(0)

  /** This JVM's MXNet engine workers as the Java core decided them; 0 not decided yet. */
  def appliedWorkers: Int = Environment.applied().map[Int](_.getEngineWorkers).orElse(0)

  /** The executor's cores: spark.mxport.threads, else spark.executor.cores, else local[N], capped by the JVM's. */
  private def cores(conf: SparkConf): Int = {
    val cpus = Runtime.getRuntime.availableProcessors()
    val local = """local\[(\*|\d+)(?:,\s*\d+)?\]""".r
    val cores = positive(conf, "spark.mxport.threads")
      .orElse(conf.getOption("spark.executor.cores").map(_.trim.toInt))
      .orElse(conf.getOption("spark.master").collect {
        case local(n) => if (n == "*") cpus else n.toInt
        case "local"  => 1
      })
      .getOrElse(cpus)
    cores.max(1).min(cpus)
  }

  /** The count this executor wants, or None when the user's environment setting stands. */
  def wanted(conf: SparkConf): Option[Int] =
    if (UserVariables.exists(v => Option(System.getenv(v)).exists(_.nonEmpty))) None else Some(cores(conf))

  /** The engine workers this executor wants: spark.mxport.engineWorkers, else its task slots; None when
   *  env MXNET_CPU_WORKER_NTHREADS stands. */
  def wantedWorkers(conf: SparkConf): Option[Int] =
    if (Option(System.getenv("MXNET_CPU_WORKER_NTHREADS")).exists(_.nonEmpty)) None
    else
      Some(
        positive(conf, "spark.mxport.engineWorkers")
          .getOrElse(cores(conf) / conf.getInt("spark.task.cpus", 1))
          .max(1)
      )

  /** A Spark option that must be a positive integer, if set; else INVALID_ARGUMENT naming it and the fix. */
  private def positive(conf: SparkConf, key: String): Option[Int] = conf.getOption(key).map { value =>
    scala.util
      .Try(value.trim.toInt)
      .toOption
      .filter(_ >= 1)
      .getOrElse(
        throw new MxportException(
          ErrorCode.INVALID_ARGUMENT,
          s"$key=$value is not a positive integer: set it to a count such as 2, or remove it for the default"
        )
      )
  }

  /** Hands the wanted counts to the Java core; call it before the executor's first Predictor loads. */
  def prepare(conf: SparkConf): Unit = {
    val count = wanted(conf)
    val workers = wantedWorkers(conf)
    if (Environment.applied().isEmpty) synchronized {
      count.foreach(c => hand(Environment.THREADS_PROPERTY, c, "thread(s)", Environment.setThreads(c)))
      workers.foreach(w =>
        hand(Environment.ENGINE_WORKERS_PROPERTY, w, "engine worker(s)", Environment.setEngineWorkers(w))
          .foreach(h => handedWorkersCount = Some(h))
      )
    }
    else {
      val decided = (appliedCount, appliedWorkers)
      val perWorker = count.map(c => (c / workers.getOrElse(decided._2)).max(1))
      if (perWorker.exists(_ != decided._1) || workers.exists(_ != decided._2)) {
        reportOnce(
          s"mxport: MXNet in this JVM already computes on ${decided._2} engine worker(s) with " +
            (if (decided._1 > 0) s"${decided._1} OpenMP thread(s) each" else "the thread count decided before") +
            " (decided once per JVM, when its first Predictor loaded); the executor's " +
            count.fold("")(c => s"$c thread(s) and ") + workers.fold("")(w => s"$w worker(s) ") + "are not applied"
        )
      }
    }
  }

  /** Hands `value` to the Java core through `set` unless the JVM has the system property; returns the value it
   *  handed. None when the property wins, or when the core decided meanwhile (another thread loaded a model). */
  private def hand(property: String, value: Int, what: String, set: => Unit): Option[Int] =
    Option(System.getProperty(property)) match {
      case None =>
        try {
          set
          Some(value)
        } catch { case _: MxportException if decided => None }
      case Some(given) =>
        if (given.trim != value.toString)
          reportOnce(s"mxport: -D$property=$given set in this JVM wins over the executor's $value $what")
        None
    }

  /** Whether the Java core decided the counts already: libmxnet.so loaded, or ONNX Runtime opened a model. */
  private def decided: Boolean =
    Environment.applied().isPresent || Environment.applied(Engine.ONNXRUNTIME).isPresent

  private def reportOnce(message: String): Unit = if (!reported) synchronized {
    if (!reported) {
      reported = true
      log.info(message)
    }
  }
}
