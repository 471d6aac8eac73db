package io.mxport.spark.bench

import java.io.File
import java.nio.file.{Files, Paths}
import javax.imageio.ImageIO

import io.mxport.{Images, NDArray, Predictor}
import io.mxport.spark.{MxportTransformer, NativeThreads, TestData}
import org.apache.spark.sql.SparkSession

/**
 * make bench-spark: ResNet-18 end to end (read the JPEG files, decode, predict), rows per second and time to the
 * first row, for the single-process Java Predictor and for the Transformer in local[1] and local[2].
 *
 * {{{
 * SparkBench generate DIR N          # N seeded 320x240 JPEG crops of demo/cat.jpg
 * SparkBench java|local[1]|local[2] MODEL DIR BATCH
 * }}}
 * One mode per JVM, so every time to the first row includes loading libmxnet and the model. For Spark it runs
 * from `transform` to the first output row collected on the driver (`limit(1)`: planning, listing the files,
 * loading the model, one batch), after the SparkSession started (its start time is printed apart); rows per second
 * is a full pass over all files after that (the model is loaded by then, as in a long job).
 */
object SparkBench {
  private def secs(t0: Long): Double = (System.nanoTime() - t0) / 1e9

  def main(args: Array[String]): Unit = args.toList match {
    case "generate" :: dir :: n :: Nil =>
      val out = Files.createDirectories(Paths.get(dir))
      val src = ImageIO.read(TestData.root.resolve("demo").resolve("cat.jpg").toFile)
      val rnd = new java.util.Random(42)
      for (i <- 0 until n.toInt) {
        val img = new java.awt.image.BufferedImage(320, 240, java.awt.image.BufferedImage.TYPE_INT_RGB)
        val g = img.createGraphics()
        g.drawImage(
          src.getSubimage(rnd.nextInt(src.getWidth - 320), rnd.nextInt(src.getHeight - 240), 320, 240),
          0,
          0,
          null
        )
        g.dispose()
        ImageIO.write(img, "jpg", out.resolve(f"img$i%04d.jpg").toFile)
      }
    case "java" :: model :: dir :: batch :: Nil => javaPredictor(model, dir, batch.toInt)
    case master :: model :: dir :: batch :: Nil if master.startsWith("local") || master.startsWith("spark://") =>
      spark(master, model, dir, batch.toInt)
    case _ => sys.error("usage: SparkBench generate DIR N | SparkBench java|local[N]|spark://HOST:PORT MODEL DIR BATCH")
  }

  private def report(mode: String, rows: Int, seconds: Double, firstRow: Double, threads: String): Unit =
    println(
      f"RESULT mode=$mode%-9s rows=$rows%4d rows_per_s=${rows / seconds}%6.2f first_row_s=$firstRow%5.2f threads=$threads"
    )

  private def javaPredictor(model: String, dir: String, batch: Int): Unit = {
    val files = new File(dir).listFiles().filter(_.getName.endsWith(".jpg")).sortBy(_.getName).toSeq
    def decode(f: File): NDArray = Images.decode(Files.readAllBytes(f.toPath))
    def run(p: Predictor, group: Seq[File]): Unit = {
      val arrays = group.map(decode)
      p.predictWithNDArray(java.util.Collections.singletonList(TestData.concat(arrays))).get(0).toFloatArray
      ()
    }
    val t0 = System.nanoTime()
    io.mxport.spark.JpegFirst.ensure() // as the Transformer does (see JpegFirst)
    val p = new Predictor(model)
    try {
      run(p, files.take(batch)) // the first row is out with the first batch
      val first = secs(t0)
      val t1 = System.nanoTime()
      files.grouped(batch).foreach(run(p, _))
      report("java", files.size, secs(t1), first, "core default")
    } finally p.close()
  }

  private def spark(master: String, model: String, dir: String, batch: Int): Unit = {
    val started = System.nanoTime()
    val builder = SparkSession
      .builder()
      .master(master)
      .appName("mxport-bench")
      .config("spark.ui.enabled", "false")
      .config("spark.driver.host", "127.0.0.1")
      .config("spark.driver.bindAddress", "127.0.0.1")
    if (master.startsWith("spark://")) { // spark/cluster.py's workers: one 1-core executor each, mxport from the shaded jar
      val version = new String(Files.readAllBytes(TestData.root.resolve("VERSION"))).trim
      builder
        .config("spark.executor.cores", "1")
        .config("spark.cores.max", "2")
        .config("spark.executor.memory", "1g")
        .config("spark.jars", TestData.root.resolve(s"spark/target/mxport-spark_2.13-$version-all.jar").toString)
        .config("spark.plugins", "io.mxport.spark.MxportSparkPlugin")
    }
    val spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    val session = secs(started)
    try {
      val t = new MxportTransformer().setModelUri(model).setBatchSize(batch)
      val t0 = System.nanoTime()
      val df = t.transform(spark.read.format("binaryFile").load(dir))
      df.select("prob").limit(1).collect() // the first row: plan, list files, load the model, first batch
      val first = secs(t0)
      val rows = df.count().toInt
      val t1 = System.nanoTime()
      val scored = df.where("mxport_error is null").select("prob").collect().length
      val seconds = secs(t1)
      require(scored == rows, s"$scored of $rows rows scored")
      val parts = df.rdd.getNumPartitions
      report(
        master,
        rows,
        seconds,
        first,
        (if (NativeThreads.appliedWorkers == 0) "decided in each executor, "
         else s"${NativeThreads.appliedWorkers} engine worker(s) x ${NativeThreads.appliedCount} thread(s), ") +
          s"$parts partitions, " +
          f"session start $session%.2f s before that"
      )
    } finally spark.stop()
  }
}
