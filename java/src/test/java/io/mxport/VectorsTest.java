package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every conformance vector of spec/vectors (spec/FORMAT.md section 11), the same ones Python runs. */
class VectorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static List<String> cases() throws IOException {
        Path dir = TestSupport.vectors();
        assertTrue(Files.isDirectory(dir), dir + " is missing: run `make vectors`");
        List<String> names;
        try (Stream<Path> s = Files.list(dir)) {
            names = s.filter(p -> Files.isRegularFile(p.resolve("case.json")))
                    .map(p -> p.getFileName().toString())
                    .sorted()
                    .collect(Collectors.toList());
        }
        assertFalse(names.isEmpty(), dir + " holds no case: run `make vectors`");
        return names;
    }

    static Stream<String> validCases() throws IOException {
        return cases().stream().filter(n -> !n.startsWith("invalid_"));
    }

    static Stream<String> invalidCases() throws IOException {
        return cases().stream().filter(n -> n.startsWith("invalid_"));
    }

    @Test
    void theVectorsAreThere() throws IOException {
        assertTrue(validCases().count() >= 5, "too few valid cases in spec/vectors");
        assertTrue(invalidCases().count() >= 5, "too few invalid cases in spec/vectors");
    }

    static JsonNode caseOf(String name) throws IOException {
        return JSON.readTree(
                TestSupport.vectors().resolve(name).resolve("case.json").toFile());
    }

    private static Predictor load(Path folder, JsonNode c, boolean loadTransforms) {
        String prefix = folder.resolve("model").toString();
        JsonNode inputs = c.path("load").path("inputs");
        JsonNode epoch = c.path("load").path("epoch");
        if (inputs.isNull() || inputs.isMissingNode()) {
            return new Predictor(prefix, List.of(Context.cpu()), loadTransforms);
        }
        List<DataDesc> descs = new ArrayList<>();
        for (JsonNode s : inputs) {
            int[] dims = new int[s.get("shape").size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = s.get("shape").get(i).intValue();
            }
            descs.add(new DataDesc(
                    s.get("name").asText(),
                    new Shape(dims),
                    DType.of(s.get("dtype").asText()),
                    s.get("layout").isNull() ? null : s.get("layout").asText()));
        }
        return epoch.isNull() || epoch.isMissingNode()
                ? new Predictor(prefix, descs, List.of(Context.cpu()))
                : new Predictor(prefix, descs, List.of(Context.cpu()), epoch.intValue());
    }

    private static List<NDArray> arrays(Path folder, JsonNode names) throws IOException {
        List<NDArray> out = new ArrayList<>();
        for (JsonNode n : names) {
            out.add(Npy.read(folder.resolve(n.asText())));
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("validCases")
    void validCaseGivesItsOutputs(String name) throws IOException {
        Path folder = TestSupport.vectors().resolve(name);
        JsonNode c = caseOf(name);
        assertTrue(c.path("expected_error").isNull(), name);
        int compared = 0;
        for (JsonNode run : c.get("runs")) {
            try (Predictor p = load(folder, c, run.get("load_transforms").booleanValue())) {
                List<NDArray> inputs = arrays(folder, run.get("inputs"));
                if (run.hasNonNull("expected_error")) {
                    MxportException e;
                    if (run.has("names")) {
                        Map<String, NDArray> named = new LinkedHashMap<>();
                        for (int i = 0; i < inputs.size(); i++) {
                            named.put(run.get("names").get(i).asText(), inputs.get(i));
                        }
                        e = assertThrows(MxportException.class, () -> p.predictWithNDArray(named));
                    } else {
                        e = assertThrows(MxportException.class, () -> p.predictWithNDArray(inputs));
                    }
                    assertEquals(run.get("expected_error").asText(), e.getCode(), e.getMessage());
                    continue;
                }
                if (c.has("output_names")) { // an old model's names are its graph's own (spec section 7)
                    List<String> names = new ArrayList<>();
                    c.get("output_names").forEach(n -> names.add(n.asText()));
                    assertEquals(names, p.getSignature().getOutputNames(), name + ": output names");
                    List<String> inputNames = new ArrayList<>();
                    c.get("load")
                            .get("inputs")
                            .forEach(n -> inputNames.add(n.get("name").asText()));
                    assertEquals(inputNames, p.getSignature().getInputNames(), name + ": input names");
                }
                List<NDArray> got = p.predictWithNDArray(inputs);
                List<NDArray> want = arrays(folder, run.get("outputs"));
                assertEquals(want.size(), got.size(), name + ": number of outputs");
                assertEquals(p.getSignature().getOutputs().size(), got.size());
                for (int j = 0; j < want.size(); j++) {
                    TestSupport.assertMeaningful(want.get(j), name + " output " + j);
                    TestSupport.assertClose(
                            got.get(j),
                            want.get(j),
                            c.get("rtol").doubleValue(),
                            c.get("atol").doubleValue(),
                            name + " run " + run.get("inputs") + " output " + j);
                    compared++;
                }
            }
        }
        assertTrue(compared > 0, name + " compared no output");
    }

    @ParameterizedTest
    @MethodSource("validCases")
    void validCaseCarriesItsLabelsAndMetadata(String name) throws IOException {
        JsonNode c = caseOf(name);
        JsonNode want = c.get("signature");
        if (want == null) { // an old model: no signature to carry them
            assertFalse(c.path("load").path("inputs").isNull(), name);
            return;
        }
        Signature sig = Signature.read(
                TestSupport.vectors().resolve(name).resolve("model").toString());
        Map<String, String> metadata = new LinkedHashMap<>();
        want.get("metadata")
                .fields()
                .forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
        assertEquals(metadata, sig.getMetadata(), name);
        assertEquals(
                new ArrayList<>(metadata.keySet()),
                new ArrayList<>(sig.getMetadata().keySet()),
                name + ": order");
        JsonNode optimization = want.get("optimization");
        assertEquals(
                optimization == null ? null : optimization.get("kind").asText(),
                sig.getOptimization().map(Optimization::getKind).orElse(null),
                name + ": optimization kind");
        if (optimization != null && optimization.has("calibration_samples")) {
            assertEquals(
                    optimization.get("calibration_samples").asLong(),
                    sig.getOptimization().get().getCalibrationSamples(),
                    name);
            assertEquals(
                    optimization.get("calibration_mode").asText(),
                    sig.getOptimization().get().getCalibrationMode().get(),
                    name);
        }
        for (TensorSpec out : sig.getOutputs()) {
            JsonNode labels = want.get("labels").get(out.getName());
            if (labels == null) {
                assertFalse(out.getLabels().isPresent(), name + " " + out.getName());
                continue;
            }
            List<String> names = new ArrayList<>();
            labels.forEach(l -> names.add(l.asText()));
            assertEquals(names, out.getLabels().get(), name + " " + out.getName());
        }
    }

    @ParameterizedTest
    @MethodSource("invalidCases")
    void invalidCaseFailsWithItsCode(String name) throws IOException {
        Path folder = TestSupport.vectors().resolve(name);
        JsonNode c = caseOf(name);
        String want = c.get("expected_error").asText();
        for (boolean loadTransforms : new boolean[] {true, false}) {
            if (!loadTransforms && !c.path("load").path("inputs").isNull()) {
                continue; // an old model has no transforms to cut
            }
            MxportException e = assertThrows(
                    MxportException.class, () -> load(folder, c, loadTransforms).close());
            assertEquals(want, e.getCode(), e.getMessage());
            assertTrue(e.getMessage().startsWith("[" + want + "] "), e.getMessage());
        }
    }
}
