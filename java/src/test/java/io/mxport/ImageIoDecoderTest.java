package io.mxport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.CRC32;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.stream.ImageOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * {@code Images.Decoder.IMAGEIO} (spec/RUNTIME.md section 4, rules 11-12): on every file of the image corpus
 * ({@code integration_tests/image_corpus.py}, run by {@code $MXPORT_PYTHON}, with its reference decodes by libmxnet's
 * {@code _cvimdecode}) it gives libmxnet's values, every one, or libmxnet's error code; on spec/image_cases the code
 * and text every runtime gives; on JPEGs the JDK writes at each subsampling and on crafted PNG chunk orders, what
 * libmxnet gives in this JVM. (The ONNX Runtime module's test decodes with it in a JVM without libmxnet.)
 */
class ImageIoDecoderTest {
    private static Path corpus;

    @BeforeAll
    static void writeTheCorpus() throws Exception {
        corpus = Files.createTempDirectory("mxport-image-corpus-");
        TestSupport.run(
                List.of(
                        TestSupport.python(),
                        TestSupport.root()
                                .resolve("integration_tests")
                                .resolve("image_corpus.py")
                                .toString(),
                        corpus.toString(),
                        "--npy"),
                600);
    }

    @AfterAll
    static void removeTheCorpus() throws IOException {
        if (corpus != null) {
            try (Stream<Path> files = Files.list(corpus)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.delete(f);
                }
            }
            Files.delete(corpus);
        }
    }

    private static JsonNode reference() throws IOException {
        return new ObjectMapper().readTree(corpus.resolve("reference.json").toFile());
    }

    @Test
    void everyCorpusFileGivesLibmxnetsValuesOrItsCode() throws Exception {
        JsonNode reference = reference();
        List<String> names = new ArrayList<>();
        reference.fieldNames().forEachRemaining(names::add);
        assertTrue(names.size() >= 30, "too few corpus files: " + names);
        TreeMap<String, String> report = new TreeMap<>();
        List<String> failures = new ArrayList<>();
        for (String name : names) {
            byte[] data = Files.readAllBytes(corpus.resolve(name));
            JsonNode want = reference.get(name);
            if (want.has("error")) {
                MxportException e = assertThrows(
                        MxportException.class,
                        () -> Images.decode(data, Images.MAX_PIXELS, Images.Decoder.IMAGEIO),
                        name);
                if (!e.getCode().equals(want.get("error").asText())) {
                    failures.add(name + ": " + e.getMessage() + "; libmxnet: " + want);
                }
                report.put(name, "refused " + e.getCode());
                continue;
            }
            NDArray ref = Npy.read(corpus.resolve(name + ".npy"));
            NDArray got;
            try {
                got = Images.decode(data, Images.MAX_PIXELS, Images.Decoder.IMAGEIO);
            } catch (MxportException e) {
                failures.add(name + ": " + e.getMessage() + "; libmxnet decodes it");
                continue;
            }
            if (!got.getShape().equals(ref.getShape())) {
                failures.add(name + ": shape " + got.getShape() + ", libmxnet's " + ref.getShape());
                continue;
            }
            byte[] g = got.toByteArray();
            byte[] r = ref.toByteArray();
            int differ = 0;
            int worst = 0;
            for (int i = 0; i < r.length; i++) {
                int d = Math.abs((g[i] & 0xFF) - (r[i] & 0xFF));
                differ += d == 0 ? 0 : 1;
                worst = Math.max(worst, d);
            }
            report.put(name, r.length + " values, " + differ + " differ, max " + worst);
            if (differ > 0) {
                failures.add(
                        name + ": " + differ + " of " + r.length + " values differ from libmxnet's, by up to " + worst);
            }
        }
        report.forEach(
                (k, v) -> System.out.println("IMAGEIO " + System.getProperty("java.version") + " " + k + ": " + v));
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    /** The demo photo written by the JDK's JPEG writer with these luma sampling factors (chroma 1x1). */
    private static byte[] jpegSampled(int h, int v) throws IOException {
        BufferedImage src = ImageIO.read(
                TestSupport.root().resolve("demo").resolve("cat.jpg").toFile());
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ImageWriteParam param = writer.getDefaultWriteParam();
        param.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
        param.setCompressionQuality(0.9f);
        IIOMetadata metadata = writer.getDefaultImageMetadata(new ImageTypeSpecifier(src), param);
        Element root = (Element) metadata.getAsTree("javax_imageio_jpeg_image_1.0");
        NodeList components = root.getElementsByTagName("componentSpec");
        for (int c = 0; c < components.getLength(); c++) {
            ((Element) components.item(c)).setAttribute("HsamplingFactor", c == 0 ? "" + h : "1");
            ((Element) components.item(c)).setAttribute("VsamplingFactor", c == 0 ? "" + v : "1");
        }
        metadata.setFromTree("javax_imageio_jpeg_image_1.0", root);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream stream = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(stream);
            writer.write(null, new IIOImage(src, null, metadata), param);
        }
        writer.dispose();
        return out.toByteArray();
    }

    @Test
    void everySubsamplingButFourFourZeroGivesLibmxnetsValues() throws IOException {
        for (int[] hv : new int[][] {{1, 1}, {2, 1}, {2, 2}, {4, 1}}) {
            byte[] jpeg = jpegSampled(hv[0], hv[1]);
            NDArray want = Images.decode(jpeg, Images.MAX_PIXELS, Images.Decoder.MXNET);
            TestSupport.assertMeaningful(want, "libmxnet's decode");
            NDArray got = Images.decode(jpeg, Images.MAX_PIXELS, Images.Decoder.IMAGEIO);
            assertEquals(want.getShape(), got.getShape());
            assertArrayEquals(want.toByteArray(), got.toByteArray(), "luma sampled " + hv[0] + "x" + hv[1]);
        }
    }

    @Test
    void fourFourZeroIsRefusedNamingLibmxnetsDecoder() throws IOException {
        byte[] jpeg = jpegSampled(1, 2); // chroma halved vertically only: libjpeg builds upsample it differently
        assertEquals(
                new Shape(1, 300, 451, 3),
                Images.decode(jpeg, Images.MAX_PIXELS, Images.Decoder.MXNET).getShape());
        MxportException e = assertThrows(
                MxportException.class, () -> Images.decode(jpeg, Images.MAX_PIXELS, Images.Decoder.IMAGEIO));
        assertEquals("INVALID_ARGUMENT", e.getCode());
        assertEquals(
                "[INVALID_ARGUMENT] cannot decode " + jpeg.length + " bytes as an image: it is a JPEG with 4:4:0 chroma"
                        + " subsampling (halved vertically only), which other libjpeg builds upsample differently from"
                        + " libmxnet's (values up to 9 of 255 apart); decode it with Images.Decoder.MXNET (libmxnet),"
                        + " or save it again with 4:2:0 or 4:4:4 subsampling",
                e.getMessage());
    }

    @Test
    void libmxnetsDecoderIsTheDefaultAndTheDecoderIsChecked() {
        assertEquals(Images.Decoder.MXNET, Images.defaultDecoder()); // no model on another engine in this JVM
        MxportException e =
                assertThrows(MxportException.class, () -> Images.decode(new byte[] {1}, Images.MAX_PIXELS, null));
        assertEquals("INVALID_ARGUMENT", e.getCode());
        assertTrue(e.getMessage().contains("Images.Decoder.IMAGEIO"), e.getMessage());
    }

    @Test
    void exifOrientationIsReadAsOpenCvReadsIt() throws IOException {
        byte[] camera = Files.readAllBytes(corpus.resolve("exif6_camera.jpg")); // APP1 first: "Exif\0\0", then MM
        assertEquals('E', camera[6]);
        assertEquals('M', camera[13]);
        for (int[] change : new int[][] {{6, '.'}, {13, 'L'}, {12, 'I'}}) { // OpenCV checks neither "Exif" nor "MM"
            byte[] changed = camera.clone();
            changed[change[0]] = (byte) change[1];
            NDArray want = Images.decode(changed, Images.MAX_PIXELS, Images.Decoder.MXNET);
            NDArray got = Images.decode(changed, Images.MAX_PIXELS, Images.Decoder.IMAGEIO);
            assertEquals(want.getShape(), got.getShape(), "byte " + change[0] + " changed");
            assertArrayEquals(want.toByteArray(), got.toByteArray(), "byte " + change[0] + " changed");
        }
    }

    @Test
    void aProgressiveJpegCutShortIsRefusedNamingLibmxnetsDecoder() throws IOException {
        byte[] whole = Files.readAllBytes(corpus.resolve("progressive.jpg"));
        byte[] cut = java.util.Arrays.copyOf(whole, whole.length / 2);
        assertEquals(
                new Shape(1, 61, 83, 3),
                Images.decode(cut, Images.MAX_PIXELS, Images.Decoder.MXNET).getShape());
        MxportException e = assertThrows(
                MxportException.class, () -> Images.decode(cut, Images.MAX_PIXELS, Images.Decoder.IMAGEIO));
        assertEquals(
                "[INVALID_ARGUMENT] cannot decode " + cut.length + " bytes as an image: it is a progressive JPEG cut"
                        + " short or damaged, whose missing part each libjpeg build smooths its own way (values up to 60"
                        + " of 255 apart); decode it with Images.Decoder.MXNET (libmxnet), or give the whole, undamaged"
                        + " file",
                e.getMessage());
    }

    private static byte[] chunk(String type, byte[] data) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] t = type.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        for (long v : new long[] {data.length, -1, crc.getValue()}) {
            if (v == -1) {
                out.writeBytes(t);
                out.writeBytes(data);
                continue;
            }
            out.writeBytes(new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v});
        }
        return out.toByteArray();
    }

    /** The corpus's rgb.png (IHDR, IDAT..., IEND) with its chunk list changed: libpng's verdict on chunk order. */
    private static byte[] rgbPng(java.util.function.Consumer<List<byte[]>> change) throws IOException {
        byte[] png = Files.readAllBytes(corpus.resolve("rgb.png"));
        List<byte[]> chunks = new ArrayList<>();
        for (int i = 8; i + 12 <= png.length; ) {
            int n = (png[i] & 0xFF) << 24 | (png[i + 1] & 0xFF) << 16 | (png[i + 2] & 0xFF) << 8 | (png[i + 3] & 0xFF);
            chunks.add(java.util.Arrays.copyOfRange(png, i, i + 12 + n));
            i += 12 + n;
        }
        change.accept(chunks);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(png, 0, 8);
        chunks.forEach(out::writeBytes);
        return out.toByteArray();
    }

    private static String outcome(byte[] data, Images.Decoder decoder) {
        try {
            return ModelFiles.sha256(
                    Images.decode(data, Images.MAX_PIXELS, decoder).toByteArray());
        } catch (MxportException e) {
            return e.getMessage();
        }
    }

    @Test
    void pngChunksGiveLibpngsVerdict() throws IOException {
        byte[] two = {1, 2};
        byte[] text = "a\0b".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        Map<String, byte[]> files = new java.util.LinkedHashMap<>();
        files.put("unknown critical chunk after IDAT", rgbPng(c -> c.add(c.size() - 1, chunk("ABCD", two))));
        files.put("unknown critical chunk before IDAT", rgbPng(c -> c.add(1, chunk("ABCD", two))));
        files.put("unknown ancillary chunk before IDAT", rgbPng(c -> c.add(1, chunk("zzZz", two))));
        files.put("PLTE after IDAT", rgbPng(c -> c.add(c.size() - 1, chunk("PLTE", new byte[] {1, 2, 3}))));
        files.put("a second IHDR", rgbPng(c -> c.add(1, c.get(0))));
        files.put("no IEND", rgbPng(c -> c.remove(c.size() - 1)));
        files.put("a chunk after IEND", rgbPng(c -> c.add(chunk("tEXt", text))));
        files.put("an empty IDAT after tEXt", rgbPng(c -> {
            c.add(c.size() - 1, chunk("tEXt", text));
            c.add(c.size() - 1, chunk("IDAT", new byte[0]));
        }));
        files.put("IDAT's CRC wrong", rgbPng(c -> c.get(1)[c.get(1).length - 1] ^= 1));
        files.put("an ancillary CRC wrong", rgbPng(c -> {
            byte[] t = chunk("tEXt", text);
            t[t.length - 1] ^= 1;
            c.add(1, t);
        }));
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            assertEquals(
                    outcome(f.getValue(), Images.Decoder.MXNET),
                    outcome(f.getValue(), Images.Decoder.IMAGEIO),
                    f.getKey());
        }
    }

    static Stream<JsonNode> cases() throws IOException {
        return ImageLimitTest.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void eachImageCaseGivesItsCodeAndText(JsonNode c) throws Exception {
        Path cases = TestSupport.root().resolve("spec").resolve("image_cases");
        byte[] data = Files.readAllBytes(cases.resolve(c.get("file").asText()));
        long limit = c.get("max_pixels").isNull()
                ? Images.MAX_PIXELS
                : c.get("max_pixels").asLong();
        // a JPEG kind every decoder without libmxnet refuses (rule 11): its outcome, the fix spelled in Java
        JsonNode want = c.has("without_libmxnet") ? c.get("without_libmxnet") : c;
        if (want.get("code").asText().equals("OK")) {
            NDArray pixels = Images.decode(data, limit, Images.Decoder.IMAGEIO);
            TestSupport.assertImageCase(c, pixels);
            return;
        }
        MxportException e =
                assertThrows(MxportException.class, () -> Images.decode(data, limit, Images.Decoder.IMAGEIO));
        String message = want.get("message").asText().replace("{mxnet_decoder}", "Images.Decoder.MXNET");
        assertEquals(want.get("code").asText(), e.getCode());
        assertEquals("[" + want.get("code").asText() + "] " + message, e.getMessage());
    }
}
