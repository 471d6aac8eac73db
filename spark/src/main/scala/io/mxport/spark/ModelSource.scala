package io.mxport.spark

import java.io.{IOException, ObjectInputStream, ObjectOutputStream}
import java.net.URI
import java.nio.file.{Files, Path, Paths, StandardCopyOption}

import org.apache.hadoop.conf.Configuration
import org.apache.hadoop.fs.{Path => HPath}
import org.apache.spark.SparkFiles

/** A Hadoop configuration that travels with a task (Configuration is Writable, not Serializable). */
private[spark] final class SerializableHadoopConf(@transient private var conf: Configuration) extends Serializable {
  def value: Configuration = conf

  @throws[IOException]
  private def writeObject(out: ObjectOutputStream): Unit = {
    out.defaultWriteObject()
    conf.write(out)
  }

  @throws[IOException]
  private def readObject(in: ObjectInputStream): Unit = {
    in.defaultReadObject()
    conf = new Configuration(false)
    conf.readFields(in)
  }
}

/**
 * Where a model lives. A model URI names a model prefix (spec/FORMAT.md section 1: the files
 * `<prefix>-symbol.json` and `<prefix>.params`):
 *
 *  - a local path, `out/my_model` or `/models/resnet18` (the same path must exist on every executor), or a
 *    `file:` URI;
 *  - `sparkfiles:NAME`: the two files added with `SparkContext.addFile` (`NAME-symbol.json`, `NAME.params`),
 *    read from `SparkFiles.get` on each JVM;
 *  - any other URI (`hdfs://nn/models/resnet18`, `s3a://bucket/resnet18`, ...): a Hadoop filesystem path, copied
 *    once per JVM to a local temporary folder, loaded, and deleted.
 */
private[spark] object ModelSource {
  val SparkFilesScheme = "sparkfiles"

  /** The URI's scheme in lower case, or None for a plain local path. */
  def scheme(uri: String): Option[String] = {
    require(
      uri != null && uri.nonEmpty,
      "the model URI must be a model prefix such as /models/resnet18, got an empty value"
    )
    // a Windows-like or relative path has no scheme; URI parsing fails on spaces, which plain paths may have
    val colon = uri.indexOf(':')
    if (colon <= 0 || !uri.substring(0, colon).matches("[A-Za-z][A-Za-z0-9+.-]*")) None
    else Some(uri.substring(0, colon).toLowerCase(java.util.Locale.ROOT))
  }

  /** True when reading the model needs a Hadoop filesystem (and so a Hadoop configuration on the executors). */
  def needsHadoop(uri: String): Boolean = scheme(uri).exists(s => s != "file" && s != SparkFilesScheme)

  /**
   * A local prefix for the model at `uri` on this JVM.
   *
   * @param files which files to fetch from a Hadoop filesystem: the symbol file alone (to read the signature)
   *              or both
   * @return the local prefix, and a folder to delete once the model is loaded (for copies)
   */
  def localPrefix(uri: String, hadoopConf: => Configuration, withParams: Boolean): (String, Option[Path]) =
    scheme(uri) match {
      case None                   => (uri, None)
      case Some("file")           => (Paths.get(new URI(uri)).toString, None)
      case Some(SparkFilesScheme) =>
        val name = uri.substring(SparkFilesScheme.length + 1)
        require(
          name.nonEmpty && !name.contains('/'),
          s"a sparkfiles: URI names the prefix of files added with " +
            s"SparkContext.addFile, e.g. sparkfiles:resnet18 for resnet18-symbol.json and resnet18.params; got '$uri'"
        )
        (SparkFiles.get(name), None)
      case Some(_) =>
        val dir = Files.createTempDirectory("mxport-spark-")
        try {
          val local = dir.resolve("model")
          copy(uri + "-symbol.json", Paths.get(local.toString + "-symbol.json"), hadoopConf)
          if (withParams) copy(uri + ".params", Paths.get(local.toString + ".params"), hadoopConf)
          (local.toString, Some(dir))
        } catch {
          case e: Throwable =>
            deleteFolder(dir)
            throw e
        }
    }

  /** The local path of the file `<uri><suffix>` (e.g. `.onnx`), copied into a temporary folder from a Hadoop filesystem. */
  def localFile(uri: String, suffix: String, hadoopConf: => Configuration): (String, Option[Path]) =
    scheme(uri) match {
      case Some(s) if s != "file" && s != SparkFilesScheme =>
        val dir = Files.createTempDirectory("mxport-spark-")
        try {
          val local = Paths.get(dir.resolve("model").toString + suffix)
          copy(uri + suffix, local, hadoopConf)
          (local.toString, Some(dir))
        } catch {
          case e: Throwable =>
            deleteFolder(dir)
            throw e
        }
      case _ => (localPrefix(uri, hadoopConf, withParams = false)._1 + suffix, None)
    }

  private def copy(from: String, to: Path, conf: Configuration): Unit = {
    val src = new HPath(from)
    val fs = src.getFileSystem(conf)
    if (!fs.exists(src)) {
      throw new io.mxport.MxportException(
        io.mxport.ErrorCode.MODEL_NOT_FOUND,
        s"$from does not exist; check the " +
          "model URI (a model is <prefix>-symbol.json and <prefix>.params, written by mxport.export)"
      )
    }
    val in = fs.open(src)
    try Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING)
    finally in.close()
  }

  def deleteFolder(dir: Path): Unit = {
    val files = Files.walk(dir)
    try {
      files.sorted(java.util.Comparator.reverseOrder[Path]()).forEach(p => Files.deleteIfExists(p))
    } catch {
      case _: IOException => // a temporary folder: best effort
    } finally files.close()
  }
}
