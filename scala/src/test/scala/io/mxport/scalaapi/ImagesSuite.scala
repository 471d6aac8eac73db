package io.mxport.scalaapi

import java.nio.file.Files
import java.security.MessageDigest

import com.fasterxml.jackson.databind.{JsonNode, ObjectMapper}
import org.scalatest.funsuite.AnyFunSuite

import scala.jdk.CollectionConverters._

/** The decoder choice of the Scala facade (`decoder = Images.Decoder.IMAGEIO`), as Java's `Images.Decoder`
  * (spec/RUNTIME.md section 4, rule 11): on spec/image_cases each decoder gives the row's pixels (shape, sha256 of
  * the bytes: Python's reference run) or its code and text, whose fix `Images.Decoder.MXNET` is this facade's name.
  */
class ImagesSuite extends AnyFunSuite {
  private val cases = TestSupport.root.resolve("spec").resolve("image_cases")
  private val rows: Seq[JsonNode] =
    new ObjectMapper().readTree(cases.resolve("cases.json").toFile).elements.asScala.toSeq
  private val cat = TestSupport.root.resolve("demo").resolve("cat.jpg")

  private def sha256(bytes: Array[Byte]): String =
    MessageDigest.getInstance("SHA-256").digest(bytes).map(b => f"${b & 0xff}%02x").mkString

  /** What decoding a row gives: "OK shape sha256", or "code message". */
  private def outcome(row: JsonNode, decoder: Images.Decoder): String = {
    val data = Files.readAllBytes(cases.resolve(row.get("file").asText))
    val limit = if (row.get("max_pixels").isNull) io.mxport.Images.MAX_PIXELS else row.get("max_pixels").asLong
    try {
      val pixels = Images.decode(data, limit, decoder = decoder)
      s"OK ${pixels.getShape.dims.mkString(",")} ${sha256(pixels.toByteArray)}"
    } catch { case e: MxportException => s"${e.getCode} ${e.getMessage}" }
  }

  /** What the row says a decoder gives (IMAGEIO: its `without_libmxnet` outcome where it has one). */
  private def wanted(row: JsonNode, decoder: Images.Decoder): String = {
    val want =
      if (decoder == Images.Decoder.IMAGEIO && row.has("without_libmxnet")) row.get("without_libmxnet") else row
    val code = want.get("code").asText
    if (code == "OK") s"OK ${row.get("shape").elements.asScala.map(_.asInt).mkString(",")} ${row.get("sha256").asText}"
    else s"$code [$code] ${want.get("message").asText.replace("{mxnet_decoder}", "Images.Decoder.MXNET")}"
  }

  test("each decoder gives every image case's pixels or its code and text") {
    assert(rows.size >= 10, s"too few cases in $cases: run `make vectors`")
    assert(rows.exists(_.has("without_libmxnet")), "no case that only libmxnet decodes")
    for (decoder <- Seq(Images.Decoder.MXNET, Images.Decoder.IMAGEIO); row <- rows)
      assert(outcome(row, decoder) == wanted(row, decoder), s"${row.get("file").asText} with $decoder")
  }

  test("read takes the decoder as a named argument: the demo photo's bytes are the same from both") {
    val mxnet = Images.read(cat, decoder = Images.Decoder.MXNET)
    val imageio = Images.read(cat, decoder = Images.Decoder.IMAGEIO)
    assert(mxnet.getShape == imageio.getShape && mxnet.getShape.dims.size == 4)
    assert(java.util.Arrays.equals(mxnet.toByteArray, imageio.toByteArray))
  }

  test("the default is Java's Images.defaultDecoder: libmxnet's in a JVM that loaded it") {
    Images.read(cat, decoder = Images.Decoder.MXNET) // loads libmxnet.so
    assert(Images.defaultDecoder == Images.Decoder.MXNET)
    assert(
      java.util.Arrays
        .equals(Images.read(cat).toByteArray, Images.read(cat, decoder = Images.Decoder.MXNET).toByteArray)
    )
  }

  test("a null decoder is INVALID_ARGUMENT naming both") {
    val e = intercept[MxportException](Images.read(cat, decoder = null))
    assert(e.getCode == "INVALID_ARGUMENT", e.getMessage)
    assert(
      e.getMessage.contains("Images.Decoder.MXNET") && e.getMessage.contains("Images.Decoder.IMAGEIO"),
      e.getMessage
    )
  }
}
