package io.mxport.onnxruntime;

import static io.mxport.TestSupport.resnet;
import static io.mxport.TestSupport.root;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mxport.DType;
import io.mxport.Engine;
import io.mxport.Fix;
import io.mxport.Images;
import io.mxport.MxportException;
import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import io.mxport.Signature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ResNet-18 end-to-end model, written to ONNX by the Python exporter at test time, runs on ONNX Runtime behind
 * the core's Predictor: outputs within spec/onnx_tolerances.json of MXNet's (computed by Python on the same
 * inputs), the core's signature and error codes, and no libmxnet.so in this JVM.
 */
class OnnxRuntimeEngineTest {
    @TempDir
    static Path dir;

    static JsonNode reference;
    static double rtol;
    static double atol;

    @BeforeAll
    static void export() throws Exception {
        EngineTestSupport.runPython("reference.py", dir.resolve("reference.log"), resnet(), dir.toString());
        reference = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        JsonNode tol = new ObjectMapper()
                .readTree(root().resolve("spec/onnx_tolerances.json").toFile())
                .get("engines")
                .get("onnxruntime")
                .get("default");
        rtol = tol.get("rtol").asDouble();
        atol = tol.get("atol").asDouble();
    }

    static Shape shape(JsonNode dims) {
        int[] s = new int[dims.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = dims.get(i).asInt();
        }
        return new Shape(s);
    }

    static NDArray input(String part) throws IOException {
        JsonNode c = reference.get(part);
        return NDArray.ofRaw(
                DType.of(c.get("input_dtype").asText()),
                Files.readAllBytes(dir.resolve(part + "-input.bin")),
                shape(c.get("input_shape")));
    }

    static NDArray mxnet(String part) throws IOException {
        return NDArray.ofRaw(
                DType.FLOAT32,
                Files.readAllBytes(dir.resolve(part + "-mxnet.bin")),
                shape(reference.get(part).get("output_shape")));
    }

    static String file(String part) {
        return dir.resolve(part + ".onnx").toString();
    }

    /** |got - want| <= atol + rtol * |want| everywhere, on a reference that is not degenerate. */
    static void assertWithinTolerance(NDArray got, NDArray want) {
        assertEquals(want.getShape(), got.getShape());
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        float max = 0;
        float min = Float.MAX_VALUE;
        for (float v : w) {
            max = Math.max(max, Math.abs(v));
            min = Math.min(min, Math.abs(v));
        }
        assertTrue(max > 1e-3 && max - min > 1e-3, "MXNet's reference output is degenerate: max |y| " + max);
        for (int i = 0; i < w.length; i++) {
            if (!(Math.abs((double) g[i] - w[i]) <= atol + rtol * Math.abs((double) w[i]))) {
                fail("element " + i + ": ONNX Runtime " + g[i] + ", MXNet " + w[i] + " (rtol " + rtol + ", atol " + atol
                        + ")");
            }
        }
    }

    @Test
    void theWholeModelAgreesWithMxnet() throws IOException {
        try (Predictor p = new Predictor(file("model"), Engine.ONNXRUNTIME, true)) {
            assertEquals(Engine.ONNXRUNTIME, p.getEngine());
            List<NDArray> out = p.predictWithNDArray(List.of(input("model")));
            assertEquals(1, out.size());
            assertWithinTolerance(out.get(0), mxnet("model"));
            Map<String, NDArray> named = p.predictWithNDArray(Map.of("data", input("model")));
            assertEquals(p.getSignature().getOutputNames(), List.copyOf(named.keySet()));
        }
    }

    @Test
    void theNetworkAloneAgreesWithMxnet() throws IOException {
        try (Predictor p = new Predictor(file("network"), Engine.ONNXRUNTIME, false)) {
            assertWithinTolerance(
                    p.predictWithNDArray(List.of(input("network"))).get(0), mxnet("network"));
        }
    }

    @Test
    void theSignatureIsTheModelsOwnReadByTheCore() {
        Signature fromSymbolFile = Signature.read(resnet()); // the symbol file's JSON, parsed by the same code
        try (Predictor whole = new Predictor(file("model"), Engine.ONNXRUNTIME, true);
                Predictor network = new Predictor(file("network"), Engine.ONNXRUNTIME, false)) {
            assertEquals(fromSymbolFile, whole.getSignature());
            assertEquals(fromSymbolFile.getNetwork().get(), network.getSignature());
        }
    }

    static String code(Runnable r) {
        return assertThrows(MxportException.class, r::run).getCode();
    }

    @Test
    void callsAreCheckedWithTheCoresCodes() {
        try (Predictor p = new Predictor(file("model"), Engine.ONNXRUNTIME, true)) {
            NDArray floats = NDArray.ofFloats(new float[300 * 300 * 3], new Shape(1, 300, 300, 3));
            assertEquals("DTYPE_MISMATCH", code(() -> p.predictWithNDArray(List.of(floats))));
            NDArray noBatch = NDArray.ofBytes(new byte[300 * 300 * 3], new Shape(300, 300, 3));
            assertEquals("SHAPE_MISMATCH", code(() -> p.predictWithNDArray(List.of(noBatch))));
            assertEquals("INPUT_COUNT", code(() -> p.predictWithNDArray(List.of())));
            assertEquals("UNKNOWN_INPUT", code(() -> p.predictWithNDArray(Map.of("pixels", noBatch))));
        }
    }

    @Test
    void filesAreCheckedWithTheCoresCodes() {
        assertEquals("INVALID_ARGUMENT", code(() -> new Predictor(file("network"), Engine.ONNXRUNTIME, true)));
        assertEquals("INVALID_ARGUMENT", code(() -> new Predictor(file("model"), Engine.ONNXRUNTIME, false)));
        MxportException part =
                assertThrows(MxportException.class, () -> new Predictor(file("network"), Engine.ONNXRUNTIME, true));
        assertEquals(Fix.Kind.ARGUMENT, part.getFix().orElseThrow().getKind());
        assertTrue(part.getMessage().contains("load it with loadTransforms=false"), part.getMessage());
        assertEquals("INVALID_ARGUMENT", code(() -> new Predictor(resnet(), Engine.ONNXRUNTIME, true)));
        assertEquals(
                "MODEL_NOT_FOUND",
                code(() -> new Predictor(dir.resolve("absent.onnx").toString(), Engine.ONNXRUNTIME, true)));
    }

    @Test
    void aClosedPredictorRefusesCalls() throws IOException {
        Predictor p = new Predictor(file("model"), Engine.ONNXRUNTIME, true);
        p.close();
        p.close();
        NDArray x = input("model");
        assertThrows(IllegalStateException.class, () -> p.predictWithNDArray(List.of(x)));
    }

    @Test
    void noLibmxnetIsLoaded() throws IOException {
        try (Predictor p = new Predictor(file("model"), Engine.ONNXRUNTIME, true)) {
            p.predictWithNDArray(List.of(input("model")));
            // with a model on ONNX Runtime and no libmxnet, Images decodes with the JDK's readers (RUNTIME.md 4.11)
            assertEquals(Images.Decoder.IMAGEIO, Images.defaultDecoder());
            NDArray cat = Images.read(root().resolve("demo").resolve("cat.jpg"));
            assertEquals(new Shape(1, 300, 451, 3), cat.getShape());
            assertEquals(
                    shape(reference.get("model").get("output_shape")),
                    p.predictWithNDArray(List.of(cat)).get(0).getShape());
        }
        // surefire points mxport.library.path at a file that does not exist and the module excludes the bundled
        // library: had anything opened the MXNet door, it would have failed; and no libmxnet is mapped
        assertEquals("/nonexistent/libmxnet.so", System.getProperty("mxport.library.path"));
        String maps = Files.readString(Paths.get("/proc/self/maps"));
        assertFalse(maps.contains("libmxnet"), "libmxnet.so is mapped into this JVM");
        assertTrue(maps.contains("libonnxruntime"), "ONNX Runtime's library is not mapped: did the test run it?");
    }
}
