package io.mxport.spark

import java.nio.charset.StandardCharsets
import java.nio.file.{Files, Paths}

import scala.jdk.CollectionConverters._

import com.sun.jna.{Callback, Library, Memory, Native, Pointer}
import org.apache.spark.SparkConf
import org.slf4j.LoggerFactory

/** The few functions of libmxnet.so that set the engine's OpenMP thread count (as io.mxport does internally). */
private[spark] trait EngineLibrary extends Library {
  def MXSetNumOMPThreads(threadNum: Int): Int
  def MXEnginePushSync(fn: EngineSyncFunc, param: Pointer, deleter: Pointer, ctx: Pointer, constVars: Pointer,
                       numConst: Int, mutableVars: Pointer, numMutable: Int, prop: Pointer, priority: Int,
                       name: String): Int
  def MXNDArrayWaitAll(): Int
  def MXGetLastError(): String
}

private[spark] trait EngineSyncFunc extends Callback {
  def invoke(runContext: Pointer, param: Pointer): Unit
}

/**
 * How many native threads the models of an executor JVM compute with.
 *
 * MXNet runs every CPU operator of the process on one engine worker thread (MXNET_CPU_WORKER_NTHREADS=1, the
 * default), with OpenMP threads under it, and the tasks of an executor share one Predictor whose calls run one
 * at a time (the Java core's policy). So the native compute threads of the JVM are the OpenMP threads of that one
 * worker, whatever the number of concurrent tasks: N tasks cannot multiply them. The Java core sets them to every
 * core the JVM may run on, which on a cluster node may be far more than the executor was given; this sets them to
 * the executor's cores instead, the `spark.task.cpus` of each of its concurrent task slots added up:
 *
 *  1. env `OMP_NUM_THREADS` or `MXNET_OMP_MAX_THREADS`, when set, wins (as in the Java core): nothing is changed;
 *  1. else `spark.mxport.threads`, when set;
 *  1. else `spark.executor.cores`, or N of a `local[N]` master (all cores for `local[*]`);
 *  1. capped by the cores the JVM may run on.
 */
object NativeThreads {
  private val log = LoggerFactory.getLogger(getClass)
  private val UserVariables = Seq("OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS")
  @volatile private var applied = -1
  private var keep: List[EngineSyncFunc] = Nil // callbacks must outlive the engine's use of them

  /** The thread count this JVM's engine was set to by [[configure]], or -1 when it was not (yet). */
  def appliedCount: Int = applied

  /** The count [[configure]] would set, or None when the user's environment setting stands. */
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

  /** Sets the engine's OpenMP thread count once per JVM (after libmxnet.so was loaded by a Predictor). */
  def configure(conf: SparkConf): Unit = wanted(conf).foreach { count =>
    if (applied != count) synchronized {
      if (applied != count) {
        set(count)
        applied = count
        log.info(s"mxport: MXNet computes with $count OpenMP thread(s) in this JVM")
      }
    }
  }

  private def mappedLibrary(): Option[String] = {
    val maps = Paths.get("/proc/self/maps")
    if (!Files.isReadable(maps)) None
    else Files.readAllLines(maps, StandardCharsets.UTF_8).asScala.iterator
      .filter(_.endsWith("/libmxnet.so")).map(l => l.substring(l.indexOf('/'))).nextOption()
  }

  private def set(count: Int): Unit = mappedLibrary() match {
    case None => log.warn("mxport: libmxnet.so is not loaded in this JVM; thread count left as it is")
    case Some(path) =>
      // RTLD_LAZY | RTLD_NOLOAD: the library this JVM already has, never a second copy, and no change to its scope
      val lib = Native.load(path, classOf[EngineLibrary], java.util.Map.of(Library.OPTION_OPEN_FLAGS, Integer.valueOf(5)))
      def check(rc: Int, what: String): Unit =
        if (rc != 0) throw new IllegalStateException(s"$what failed: ${lib.MXGetLastError()}")
      check(lib.MXSetNumOMPThreads(count), "MXSetNumOMPThreads")
      // operators run on the engine's CPU worker: set its count there
      val onWorker: EngineSyncFunc = (_: Pointer, _: Pointer) => { lib.MXSetNumOMPThreads(count); () }
      keep = onWorker :: keep
      val cpu = new Memory(8)
      cpu.setInt(0, 1) // kCPU
      cpu.setInt(4, 0)
      check(lib.MXEnginePushSync(onWorker, null, null, cpu, null, 0, null, 0, null, 0, "mxport_spark_threads"),
        "MXEnginePushSync")
      check(lib.MXNDArrayWaitAll(), "MXNDArrayWaitAll")
  }
}
