package io.mxport.spark

import java.util.concurrent.ConcurrentHashMap
import java.util.concurrent.atomic.AtomicLong

import scala.jdk.CollectionConverters._
import scala.util.control.NonFatal

import io.mxport.Predictor
import org.slf4j.LoggerFactory

/**
 * The models of this JVM (an executor, or the driver in local mode): each model is loaded once per JVM, however
 * many partitions, tasks and stages use it, and shared by the tasks that run at the same time.
 *
 * A model is identified by a [[ModelCache.Key]]: its URI, the SHA-256 of its params file as the driver read it
 * when it planned the job, and whether the transforms are loaded. A task takes a [[ModelCache.Lease]] and
 * returns it when the task ends (a task completion listener does that); a model nobody leases stays loaded for
 * the next task. When more than `maxModels` models are loaded (system property `mxport.spark.maxModels`,
 * default 4), the least recently used ones that no task holds are closed. Everything is closed when the executor
 * stops: by [[MxportSparkPlugin]] (`spark.plugins=io.mxport.spark.MxportSparkPlugin`) or, without it, by a JVM
 * shutdown hook.
 *
 * Threads follow the Java core's policy: one [[io.mxport.Predictor]] is shared by the tasks of the JVM and
 * computes as many calls at once as MXNet has engine workers (see [[NativeThreads]] for the workers and threads).
 */
private[spark] object ModelCache {
  private val log = LoggerFactory.getLogger(getClass)

  /** What identifies a loaded model. */
  final case class Key(uri: String, paramsSha256: String, loadTransforms: Boolean, engine: String = "mxnet")

  private final class Entry(val key: Key) {
    @volatile var predictor: Predictor = _
    var leases = 0 // guarded by ModelCache.this
    var lastUsed = 0L // guarded by ModelCache.this
  }

  /** A task's hold on a loaded model; `close()` returns it (idempotent). */
  final class Lease private[ModelCache] (entry: Entry) extends AutoCloseable {
    @volatile private var released = false

    def predictor: Predictor = {
      if (released) throw new IllegalStateException(s"the lease of ${entry.key.uri} was returned")
      entry.predictor
    }

    override def close(): Unit = ModelCache.synchronized {
      if (!released) {
        released = true
        entry.leases -= 1
        entry.lastUsed = System.nanoTime()
      }
    }
  }

  private val entries = new ConcurrentHashMap[Key, Entry]()
  private val loads = new AtomicLong()
  private val loadsByKey = new ConcurrentHashMap[Key, AtomicLong]()
  @volatile private var hookInstalled = false

  /** How many models this JVM has loaded since it started. */
  def loadCount: Long = loads.get()

  /** How many times this JVM loaded the model of `key`. */
  def loadCount(key: Key): Long = Option(loadsByKey.get(key)).map(_.get()).getOrElse(0L)

  /** How many times this JVM loaded a model from `uri` (any params digest). */
  def loadCount(uri: String): Long = loadsByKey.asScala.collect { case (k, n) if k.uri == uri => n.get() }.sum

  /** How many tasks hold the model of `key` now. */
  def leaseCount(key: Key): Int = ModelCache.synchronized(Option(entries.get(key)).map(_.leases).getOrElse(0))

  /** The keys of the models loaded now. */
  def loadedKeys: Set[Key] = entries.asScala.collect { case (k, e) if e.predictor != null => k }.toSet

  private def maxModels: Int = Integer.getInteger("mxport.spark.maxModels", 4).intValue().max(1)

  /**
   * Leases the model of `key`, loading it with `load` if this JVM has not yet (concurrent tasks wait for one
   * load). The caller must close the lease.
   */
  def lease(key: Key)(load: => Predictor): Lease = {
    val entry = ModelCache.synchronized {
      val e = entries.computeIfAbsent(key, k => new Entry(k))
      e.leases += 1
      e.lastUsed = System.nanoTime()
      e
    }
    try {
      if (entry.predictor == null) entry.synchronized {
        if (entry.predictor == null) {
          installHook()
          JpegFirst.ensure()
          val started = System.nanoTime()
          entry.predictor = load
          loads.incrementAndGet()
          loadsByKey.computeIfAbsent(key, _ => new AtomicLong()).incrementAndGet()
          log.info(
            f"mxport: loaded ${key.uri} (params sha256 ${key.paramsSha256.take(12)}) in " +
              f"${(System.nanoTime() - started) / 1e9}%.2f s"
          )
        }
      }
      evict()
      new Lease(entry)
    } catch {
      case e: Throwable =>
        ModelCache.synchronized {
          entry.leases -= 1
          if (entry.predictor == null && entry.leases == 0) entries.remove(key, entry)
        }
        throw e
    }
  }

  private def evict(): Unit = {
    val victims = ModelCache.synchronized {
      val loaded = entries.values().asScala.filter(_.predictor != null).toSeq
      val extra = loaded.size - maxModels
      if (extra <= 0) Seq.empty
      else {
        val idle = loaded.filter(_.leases == 0).sortBy(_.lastUsed).take(extra)
        idle.foreach(e => entries.remove(e.key, e))
        idle
      }
    }
    victims.foreach { e =>
      log.info(s"mxport: closing ${e.key.uri}, unused (more than $maxModels models loaded)")
      e.predictor.close()
    }
  }

  /** Closes every loaded model. Leases still held by running tasks fail on their next call. */
  def closeAll(): Unit = {
    val all = ModelCache.synchronized {
      val es = entries.values().asScala.toList
      entries.clear()
      es
    }
    all.foreach { e =>
      if (e.predictor != null) {
        try e.predictor.close()
        catch { case NonFatal(t) => log.warn(s"mxport: closing ${e.key.uri} failed", t) }
      }
    }
  }

  private def installHook(): Unit = if (!hookInstalled) ModelCache.synchronized {
    if (!hookInstalled) {
      hookInstalled = true
      Runtime.getRuntime.addShutdownHook(new Thread(() => closeAll(), "mxport-model-cache-close"))
    }
  }
}

/**
 * Loads the JDK's JPEG codec (libjavajpeg.so) before libmxnet.so. libmxnet.so exports its own libjpeg 8 (and
 * zlib); loaded with RTLD_GLOBAL (JNA's default, which io.mxport does not use, but another jar in the same JVM
 * may, e.g. DJL), a libjavajpeg.so loaded after it binds to that libjpeg instead of the libjpeg 6.2 it is built
 * for, and every JPEG decode in the JVM then fails ("Wrong JPEG library version: library is 80, caller
 * expects 62"). libjavajpeg.so is linked BIND_NOW: once loaded first, it stays bound to its own.
 */
private[spark] object JpegFirst {
  @volatile private var done = false

  def ensure(): Unit = if (!done) synchronized {
    if (!done) {
      val readers = javax.imageio.ImageIO.getImageReadersByFormatName("jpeg")
      if (readers.hasNext) Option(readers.next()).foreach(_.dispose()) // class init loads libjavajpeg.so
      done = true
    }
  }
}
