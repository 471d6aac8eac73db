package io.mxport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The public API's contracts: argument checks and their codes, close, old models, images, the library search. */
class ApiTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static Path vector(String name) {
        return TestSupport.vectors().resolve(name);
    }

    private static String model(String name) {
        return vector(name).resolve("model").toString();
    }

    private static String code(Runnable r) {
        return assertThrows(MxportException.class, r::run).getCode();
    }

    @Test
    void closeIsIdempotentAndUseAfterCloseThrowsIllegalState() throws IOException {
        Predictor p = new Predictor(model("postprocess"));
        NDArray x = Npy.read(vector("postprocess").resolve("in_0_0.npy"));
        p.close();
        assertDoesNotThrow(p::close);
        assertThrows(IllegalStateException.class, p::getSignature);
        assertThrows(IllegalStateException.class, () -> p.predictWithNDArray(List.of(x)));
        assertThrows(IllegalStateException.class, () -> p.predict(new float[][] {x.toFloatArray()}));
        assertThrows(IllegalStateException.class, () -> p.predictWithNDArray(Map.of("x", x)));
    }

    @Test
    void missingAndUnreadableModels(@TempDir Path tmp) throws IOException {
        assertEquals(
                "MODEL_NOT_FOUND",
                code(() -> new Predictor(tmp.resolve("nothing").toString())));
        Files.createDirectory(tmp.resolve("dir-symbol.json"));
        assertEquals(
                "MODEL_UNREADABLE", code(() -> new Predictor(tmp.resolve("dir").toString())));
        assertEquals("INVALID_ARGUMENT", code(() -> new Predictor("")));
        assertEquals("INVALID_ARGUMENT", code(() -> new Predictor(model("postprocess"), List.of(), true)));
        assertEquals(
                "INVALID_ARGUMENT", code(() -> new Predictor(model("postprocess"), List.of(Context.gpu(0)), true)));
        Files.write(tmp.resolve("bin-symbol.json"), new byte[] {(byte) 0xff, (byte) 0xfe, 0, 1});
        assertEquals(
                "BAD_SYMBOL_JSON", code(() -> new Predictor(tmp.resolve("bin").toString())));
    }

    @Test
    void messagesNameTheInputWhatWasGivenAndWhatTheModelTakes() throws IOException {
        try (Predictor p = new Predictor(model("uint8_image"))) {
            MxportException e = assertThrows(
                    MxportException.class,
                    () -> p.predictWithNDArray(List.of(NDArray.ofBytes(new byte[120 * 3], new Shape(12, 10, 3)))));
            assertEquals("SHAPE_MISMATCH", e.getCode());
            assertEquals(
                    "[SHAPE_MISMATCH] input 'image' has shape [12,10,3] but the model takes [-1,12,10,3]: add the batch"
                            + " axis, shape [1,12,10,3] for a batch of one (the same bytes)",
                    e.getMessage());
            e = assertThrows(
                    MxportException.class,
                    () -> p.predictWithNDArray(Map.of("x", NDArray.ofBytes(new byte[360], new Shape(1, 12, 10, 3)))));
            assertEquals("UNKNOWN_INPUT", e.getCode());
            assertEquals("[UNKNOWN_INPUT] Unknown input name 'x', expected one of [image]", e.getMessage());
            e = assertThrows(
                    MxportException.class,
                    () -> p.predictWithNDArray(List.of(NDArray.ofFloats(new float[360], new Shape(1, 12, 10, 3)))));
            assertEquals(
                    "[DTYPE_MISMATCH] input 'image' has dtype float32 but the model takes uint8: convert it to uint8, an"
                            + " NDArray of DType.UINT8",
                    e.getMessage());
            assertEquals("INPUT_COUNT", code(() -> p.predictWithNDArray(List.of())));
            assertEquals("INPUT_COUNT", code(() -> p.predict(new float[0][])));
        }
    }

    @Test
    void flatFloatsIntoAUint8ModelMustBeExactPixelValues() throws IOException {
        NDArray x = Npy.read(vector("uint8_image").resolve("in_0_0.npy"));
        NDArray want = Npy.read(vector("uint8_image").resolve("out_0_0.npy"));
        try (Predictor p = new Predictor(model("uint8_image"))) {
            float[] pixels = x.toFloatArray();
            float[][] out = p.predict(new float[][] {pixels});
            assertArrayEquals(p.predictWithNDArray(List.of(x)).get(0).toFloatArray(), out[0]);
            TestSupport.assertClose(NDArray.ofFloats(out[0], want.getShape()), want, 1e-5, 1e-6, "flat path");
            float[] half = pixels.clone();
            half[7] = 0.5f;
            assertEquals("DTYPE_MISMATCH", code(() -> p.predict(new float[][] {half})));
            float[] big = pixels.clone();
            big[3] = 256f;
            assertEquals("DTYPE_MISMATCH", code(() -> p.predict(new float[][] {big})));
            assertEquals("SHAPE_MISMATCH", code(() -> p.predict(new float[][] {Arrays.copyOf(pixels, 361)})));
            assertEquals("SHAPE_MISMATCH", code(() -> p.predict(new float[][] {new float[0]})));
        }
    }

    @Test
    void signatureIsReadWithoutLoadingAndMatchesThePredictors() {
        Signature s = Signature.read(model("uint8_image"));
        assertEquals(List.of("image"), s.getInputNames());
        assertEquals(
                new TensorSpec("image", new Shape(-1, 12, 10, 3), DType.UINT8, "NHWC"),
                s.getInputs().get(0));
        assertEquals(
                new Shape(-1, 3, 8, 8), s.getNetwork().get().getInputs().get(0).getShape());
        try (Predictor whole = new Predictor(model("uint8_image"));
                Predictor net = new Predictor(model("uint8_image"), List.of(Context.cpu()), false)) {
            assertEquals(s, whole.getSignature());
            assertEquals(s.getNetwork().get(), net.getSignature());
            assertTrue(net.getSignature().getNetwork().isEmpty());
        }
        assertEquals("NO_SIGNATURE", code(() -> Signature.read(model("old_format"))));
    }

    @Test
    void javaCutsTheGraphExactlyAsPythonDoes(@TempDir Path tmp) throws Exception {
        String script = "import json,sys\nfrom mxport import _graph\nfrom mxport._blocks import open_model\n"
                + "for prefix, out in zip(sys.argv[1::2], sys.argv[2::2]):\n"
                + "    m = open_model(prefix)\n"
                + "    cuts = {'network': _graph.cut_network(m.graph, m.signature)}\n"
                + "    for s in m.signature.inputs: cuts['in:' + s.name] = _graph.cut_input_transforms(m.graph, s.name)\n"
                + "    for s in m.signature.outputs: cuts['out:' + s.name] = _graph.cut_output_transforms(m.graph, m.signature, s.name)\n"
                + "    json.dump(cuts, open(out, 'w'))\n";
        List<String> cmd = new ArrayList<>(List.of(TestSupport.python(), "-c", script));
        List<String> cases = new ArrayList<>();
        for (String c : VectorsTest.validCases().toArray(String[]::new)) {
            if (VectorsTest.caseOf(c).path("load").path("inputs").isNull()) { // an old model has nothing to cut
                cases.add(c);
                cmd.add(model(c));
                cmd.add(tmp.resolve(c + ".json").toString());
            }
        }
        TestSupport.run(cmd, 300);
        for (String c : cases) {
            JsonNode want = JSON.readTree(Files.readString(tmp.resolve(c + ".json")));
            String symbol = Files.readString(Path.of(model(c) + "-symbol.json"));
            Graph g = Graph.parse(symbol, c);
            Signature sig = g.findSignature(c);
            assertEquals(want.get("network"), tree(g.cutNetwork(sig)), c + ": network alone");
            for (String name : sig.getInputNames()) {
                assertEquals(want.get("in:" + name), tree(g.cutInputTransforms(name)), c + ": transforms of " + name);
            }
            for (String name : sig.getOutputNames()) {
                assertEquals(want.get("out:" + name), tree(g.cutOutputTransforms(sig, name)), c + ": post of " + name);
            }
        }
    }

    private static JsonNode tree(Graph g) throws IOException {
        return JSON.readTree(g.toJson());
    }

    @Test
    void oldModelLoadsWithDescriptorsAndEqualsTheCutNetwork() {
        String old = TestSupport.models().resolve("resnet18-network").toString();
        List<DataDesc> inputs = List.of(new DataDesc("data", new Shape(-1, 3, 224, 224), DType.FLOAT32, "NCHW"));
        assertEquals("NO_SIGNATURE", code(() -> new Predictor(old)));
        assertEquals(
                "UNKNOWN_INPUT",
                code(() ->
                        new Predictor(old, List.of(new DataDesc("x", new Shape(-1, 3))), List.of(Context.cpu()), 0)));
        assertEquals("MODEL_NOT_FOUND", code(() -> new Predictor(old, inputs, List.of(Context.cpu()), 3)));
        assertEquals(
                "INVALID_ARGUMENT", code(() -> new Predictor(TestSupport.resnet(), inputs, List.of(Context.cpu()), 0)));
        try (Predictor p = new Predictor(old, inputs, List.of(Context.cpu()), 0);
                Predictor net = new Predictor(TestSupport.resnet(), List.of(Context.cpu()), false)) {
            Signature s = p.getSignature();
            assertEquals(1, s.getOutputs().size());
            assertEquals(new Shape(-1, 1000), s.getOutputs().get(0).getShape());
            assertEquals(DType.FLOAT32, s.getOutputs().get(0).getDType());
            float[] x = new float[3 * 224 * 224];
            Random r = new Random(11);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            NDArray in = NDArray.ofFloats(x, new Shape(1, 3, 224, 224));
            // the stock-Gluon export has the same weights as the end-to-end model's network
            assertArrayEquals(
                    net.predictWithNDArray(List.of(in)).get(0).toFloatArray(),
                    p.predictWithNDArray(List.of(in)).get(0).toFloatArray());
        }
    }

    /** Writes a copy of a vector model whose params are {@code params}, with the signature's digest recomputed. */
    private static String withParams(Path tmp, String name, byte[] params) throws IOException {
        String symbol = Files.readString(Path.of(model(name) + "-symbol.json"));
        ObjectNode root = (ObjectNode) JSON.readTree(symbol);
        for (JsonNode node : root.get("nodes")) {
            JsonNode attrs = node.get("attrs");
            if (attrs != null && attrs.has(Graph.SIGNATURE_ATTR)) {
                ObjectNode sig = (ObjectNode)
                        JSON.readTree(attrs.get(Graph.SIGNATURE_ATTR).asText());
                ObjectNode digest = (ObjectNode) sig.get("params");
                digest.put("sha256", ModelFiles.sha256(params));
                digest.put("size", params.length);
                ((ObjectNode) attrs).put(Graph.SIGNATURE_ATTR, JSON.writeValueAsString(sig));
            }
        }
        Path prefix = tmp.resolve(name + "-" + params.length);
        Files.writeString(Path.of(prefix + "-symbol.json"), JSON.writeValueAsString(root));
        Files.write(Path.of(prefix + ".params"), params);
        return prefix.toString();
    }

    @Test
    void damagedFilesGiveMxportExceptionsNeverACrash(@TempDir Path tmp) throws IOException {
        byte[] params = Files.readAllBytes(Path.of(model("multi_in_multi_out") + ".params"));
        Random r = new Random(3);
        // truncated params with a recomputed digest: MXNet's parser must refuse them, not crash
        for (int len : new int[] {0, 1, 8, 16, 40, params.length / 3, params.length / 2, params.length - 1}) {
            String prefix = withParams(tmp, "multi_in_multi_out", Arrays.copyOf(params, len));
            assertEquals("BAD_PARAMS", code(() -> new Predictor(prefix)), "params truncated to " + len);
        }
        // flipped bytes in the params: either refused or loaded, never a crash
        for (int i = 0; i < 30; i++) {
            byte[] damaged = params.clone();
            damaged[r.nextInt(Math.min(200, damaged.length))] ^= (byte) (1 + r.nextInt(255));
            String prefix = withParams(tmp, "multi_in_multi_out", damaged);
            try (Predictor p = new Predictor(prefix)) {
                assertEquals(2, p.getSignature().getInputs().size());
            } catch (MxportException e) {
                assertTrue(e.getCode().equals("BAD_PARAMS") || e.getCode().equals("DIGEST_MISMATCH"), e.getMessage());
            }
        }
        // truncated symbol files
        byte[] symbol = Files.readAllBytes(Path.of(model("multi_in_multi_out") + "-symbol.json"));
        for (int i = 0; i < 30; i++) {
            Path prefix = tmp.resolve("cut" + i);
            Files.write(Path.of(prefix + "-symbol.json"), Arrays.copyOf(symbol, r.nextInt(symbol.length)));
            Files.write(Path.of(prefix + ".params"), params);
            assertEquals("BAD_SYMBOL_JSON", code(() -> new Predictor(prefix.toString())));
        }
        // a params file whose arrays do not fit the graph: the names of another model
        String other = withParams(
                tmp, "multi_in_multi_out", Files.readAllBytes(Path.of(model("single_in_single_out") + ".params")));
        assertEquals("BAD_PARAMS", code(() -> new Predictor(other)));
    }

    @Test
    void predictorsOfOneParamsFileShareOneCopyOfTheWeights() throws IOException {
        NDArray x = Npy.read(vector("uint8_image").resolve("in_0_0.npy"));
        Predictor a = new Predictor(model("uint8_image"));
        Predictor b = new Predictor(model("uint8_image"), List.of(Context.cpu()), false);
        Predictor c = new Predictor(model("postprocess"));
        float[] before;
        try {
            assertTrue(a.weights() == b.weights(), "same file, same arrays");
            assertTrue(a.weights() != c.weights(), "another file, other arrays");
            before = a.predictWithNDArray(List.of(x)).get(0).toFloatArray();
            b.close(); // the other user of the weights goes away: a keeps working
            assertArrayEquals(before, a.predictWithNDArray(List.of(x)).get(0).toFloatArray());
        } finally {
            a.close();
            b.close();
            c.close();
        }
        try (Predictor again = new Predictor(model("uint8_image"))) {
            assertArrayEquals(
                    Npy.read(vector("uint8_image").resolve("out_0_0.npy")).toFloatArray(),
                    again.predictWithNDArray(List.of(x)).get(0).toFloatArray(),
                    1e-5f,
                    "reloaded after the last close (the vector's tolerance: it was computed on another CPU)");
            assertArrayEquals(
                    before, again.predictWithNDArray(List.of(x)).get(0).toFloatArray(), "bit for bit");
        }
    }

    @Test
    void imagesBecomeRgbNhwcBatches() {
        BufferedImage rgb = new BufferedImage(3, 2, BufferedImage.TYPE_INT_RGB);
        rgb.setRGB(0, 0, 0x0A141E); // r=10 g=20 b=30
        rgb.setRGB(2, 1, 0xFF8001);
        BufferedImage bgr = new BufferedImage(3, 2, BufferedImage.TYPE_3BYTE_BGR);
        bgr.setRGB(0, 0, 0x0A141E);
        bgr.setRGB(2, 1, 0xFF8001);
        NDArray one = Images.toNHWC(rgb);
        assertEquals(new Shape(1, 2, 3, 3), one.getShape());
        assertEquals(DType.UINT8, one.getDType());
        byte[] b = one.toByteArray();
        assertArrayEquals(new byte[] {10, 20, 30}, Arrays.copyOfRange(b, 0, 3));
        assertArrayEquals(new byte[] {(byte) 255, (byte) 128, 1}, Arrays.copyOfRange(b, 15, 18));
        NDArray two = Images.toNHWC(List.of(rgb, bgr));
        assertEquals(new Shape(2, 2, 3, 3), two.getShape());
        assertArrayEquals(b, Arrays.copyOfRange(two.toByteArray(), 18, 36), "BGR images come out as RGB too");
        assertEquals("INVALID_ARGUMENT", code(() -> Images.toNHWC(List.of(rgb, new BufferedImage(2, 2, 1)))));
    }

    @Test
    void filesDecodeWithLibmxnetsOwnDecoderGrayscaleAsRgbEqualToItsGray(@TempDir Path tmp) throws IOException {
        BufferedImage gray = new BufferedImage(5, 4, BufferedImage.TYPE_BYTE_GRAY);
        byte[] samples = ((java.awt.image.DataBufferByte) gray.getRaster().getDataBuffer()).getData();
        for (int i = 0; i < samples.length; i++) {
            samples[i] = (byte) (i * 13);
        }
        Path png = tmp.resolve("gray.png");
        assertTrue(javax.imageio.ImageIO.write(gray, "png", png.toFile()));
        NDArray decoded = Images.read(png);
        assertEquals(new Shape(1, 4, 5, 3), decoded.getShape());
        byte[] rgb = decoded.toByteArray();
        for (int i = 0; i < samples.length; i++) {
            assertArrayEquals(
                    new byte[] {samples[i], samples[i], samples[i]},
                    Arrays.copyOfRange(rgb, 3 * i, 3 * i + 3),
                    "pixel " + i + ": OpenCV's gray-to-RGB copies the sample (ImageIO's getRGB applies a gamma)");
        }
        assertArrayEquals(rgb, Images.decode(Files.readAllBytes(png)).toByteArray());
        assertEquals(
                new Shape(1, 300, 451, 3),
                Images.read(TestSupport.root().resolve("demo/cat.jpg")).getShape());
        Path missing = tmp.resolve("missing.jpg");
        MxportException e = assertThrows(MxportException.class, () -> Images.read(missing));
        assertEquals("INVALID_ARGUMENT", e.getCode());
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());
        assertEquals("INVALID_ARGUMENT", code(() -> Images.decode(new byte[0])));
        assertEquals("INVALID_ARGUMENT", code(() -> Images.decode("not an image".getBytes(StandardCharsets.UTF_8))));
        assertTrue(assertThrows(MxportException.class, () -> Images.decode(Files.readAllBytes(png), 19))
                .getMessage()
                .contains("5x4 image, more than 19 pixels"));
    }

    @Test
    void valueTypesCheckTheirArguments() {
        assertEquals("INVALID_ARGUMENT", code(() -> new TensorSpec("", new Shape(-1, 3), DType.FLOAT32, null)));
        // an old model's names are its graph's own (spec section 7): a converter's names are names
        assertEquals(
                "/Softmax_output", new TensorSpec("/Softmax_output", new Shape(-1, 3), DType.FLOAT32, null).getName());
        assertEquals("0", new DataDesc("0", new Shape(-1, 3)).getName());
        assertEquals("INVALID_ARGUMENT", code(() -> new TensorSpec("x", new Shape(-1, 3), DType.FLOAT32, "NCHW")));
        assertEquals("INVALID_ARGUMENT", code(() -> new TensorSpec("x", new Shape(-1, 0), DType.FLOAT32, null)));
        assertEquals("INVALID_ARGUMENT", code(() -> NDArray.ofFloats(new float[5], new Shape(2, 3))));
        assertEquals("INVALID_ARGUMENT", code(() -> DType.of("bfloat7")));
        assertEquals(
                "DTYPE_MISMATCH",
                code(() -> NDArray.ofFloats(new float[1], new Shape(1)).toByteArray()));
        assertEquals("[1,300,300,3]", new Shape(1, 300, 300, 3).toString());
        assertEquals(DType.UINT8, DType.of("uint8"));
        assertEquals(
                1.5f,
                NDArray.ofRaw(DType.FLOAT16, new byte[] {0, 0x3e}, new Shape(1)).toFloatArray()[0]);
        assertEquals("INVALID_ARGUMENT", code(() -> NDArray.wrapRaw(DType.FLOAT32, new byte[3], new Shape(1))));
        assertEquals("INVALID_ARGUMENT", code(() -> NDArray.wrapRaw(DType.UINT8, new byte[1], new Shape(-1))));
    }

    @Test
    void ofRawCopiesTheBytesAndWrapRawSharesThem() {
        byte[] raw = {1, 2, 3, 4};
        NDArray copied = NDArray.ofRaw(DType.UINT8, raw, new Shape(2, 2));
        NDArray wrapped = NDArray.wrapRaw(DType.UINT8, raw, new Shape(2, 2));
        raw[0] = 9;
        assertArrayEquals(new byte[] {1, 2, 3, 4}, copied.toRawBytes());
        assertArrayEquals(new byte[] {9, 2, 3, 4}, wrapped.toRawBytes());
        assertEquals(new Shape(2, 2), wrapped.getShape());
        assertEquals(DType.UINT8, wrapped.getDType());
    }

    @Test
    void aMissingLibraryIsReportedWithEveryPlaceTriedAndARetryWorks(@TempDir Path tmp) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                "-Dmxport.library.path=" + tmp.resolve("nowhere"),
                "-Dmxport.native.cache=/proc/mxport-native-cache", // the Maven native jar cannot be extracted there
                LibraryProbe.class.getName(),
                model("postprocess"),
                Environment.load().getLibraryPath());
        pb.directory(tmp.toFile());
        pb.environment().remove("MXPORT_PYTHON");
        pb.environment().remove("MXNET_LIBRARY_PATH");
        pb.environment().put("PATH", tmp.toString()); // no python3 to ask
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("FIRST LIBRARY_NOT_FOUND"), out);
        for (String place : new String[] {
            "mxport.library.path",
            "MXNET_LIBRARY_PATH",
            "/proc/self/maps",
            BundledLibrary.COORDINATES,
            "-Dmxport.native.cache",
            "MXPORT_NATIVE_CACHE",
            ".venv",
            "MXPORT_PYTHON",
            "python3 on the PATH",
            "Fix:"
        }) {
            assertTrue(out.contains(place), "the message names " + place + ":\n" + out);
        }
        assertTrue(out.contains("SECOND loaded [x]"), out);
        System.out.println("[library] message when nothing is found:\n" + out);
    }

    @Test
    void imageIoStillReadsJpegsAfterLibmxnetIsLoaded(@TempDir Path tmp) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                LibraryProbe.class.getName(),
                "--jpeg-after-load",
                model("postprocess"),
                TestSupport.root().resolve("demo").resolve("cat.jpg").toString());
        pb.redirectErrorStream(true);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), out);
        assertTrue(out.contains("JPEG 451x300"), out);
    }
}
