package io.mxport.spark

import java.nio.file.{Files, Path}
import java.security.MessageDigest
import java.util.concurrent.TimeUnit

import scala.jdk.CollectionConverters._

import org.scalatest.funsuite.AnyFunSuite

/**
 * The transformer's image decoder ([[Samples.image]], the path of a binary column) against Python: every file of
 * the image corpus (integration_tests/image_corpus.py, run by $MXPORT_PYTHON, default .venv/bin/python) gives
 * the pixels `mxport.decode_image` gives, byte for byte, or a bad row with Python's error code. This JVM runs the
 * libmxnet.so of the Maven dependency; the corpus's reference was decoded by the wheel's.
 */
class ImageDecodeSuite extends AnyFunSuite {
  private val plan = InputPlan("data", Array(-1, -1, -1, 3), "uint8", "content", 0, image = true)

  private lazy val corpus: Path = {
    val dir = Files.createTempDirectory("mxport-image-corpus-")
    val python = Option(System.getenv("MXPORT_PYTHON"))
      .filter(_.nonEmpty)
      .getOrElse(TestData.root.resolve(".venv").resolve("bin").resolve("python").toString)
    val log = dir.resolve("generator.log")
    val p = new ProcessBuilder(
      python,
      TestData.root.resolve("integration_tests").resolve("image_corpus.py").toString,
      dir.toString
    ).redirectErrorStream(true).redirectOutput(log.toFile).start()
    require(
      p.waitFor(300, TimeUnit.SECONDS) && p.exitValue() == 0,
      s"the image corpus generator failed (needs `make spark-setup real-model`):\n${Files.readString(log)}"
    )
    dir
  }

  private def hex(bytes: Array[Byte]): String =
    MessageDigest.getInstance("SHA-256").digest(bytes).map(b => f"${b & 0xff}%02x").mkString

  test("every corpus file: Python's pixels (shape and SHA-256) or a bad row with Python's code") {
    val reference = new com.fasterxml.jackson.databind.ObjectMapper().readTree(corpus.resolve("reference.json").toFile)
    val names = reference.fieldNames().asScala.toSeq.sorted
    assert(names.size >= 30)
    val failures = names.flatMap { name =>
      val want = reference.get(name)
      val got =
        try Right(Samples.image(Files.readAllBytes(corpus.resolve(name)), plan, Long.MaxValue))
        catch { case b: BadRow => Left(b) }
      (got, Option(want.get("error")).map(_.asText)) match {
        case (Left(b), Some(code)) if b.code == code => None
        case (Left(b), _)                            => Some(s"$name: ${b.text}; Python: $want")
        case (Right(s), Some(code))                  => Some(s"$name: decoded ${s.dims.mkString("x")}; Python: [$code]")
        case (Right(s), None)                        =>
          val shape = want.get("shape").elements().asScala.map(_.asInt).toVector
          if (shape == (1 +: s.dims.toSeq) && hex(s.bytes) == want.get("sha256").asText) None
          else Some(s"$name: ${s.dims.mkString("x")} ${hex(s.bytes).take(12)}; Python: $want")
      }
    }
    assert(failures.isEmpty, failures.mkString("\n"))
  }

  test("an image over maxImagePixels is a bad row naming the limit") {
    val bad = intercept[BadRow](Samples.image(Files.readAllBytes(corpus.resolve("cat.jpg")), plan, 1000))
    assert(bad.code == "INVALID_ARGUMENT" && bad.message.contains("451x300") && bad.message.contains("1000 pixels"))
  }
}
