package io.mxport.onnxruntime;

import static io.mxport.TestSupport.assertClose;
import static io.mxport.TestSupport.assertMeaningful;
import static io.mxport.TestSupport.root;
import static io.mxport.TestSupport.vectors;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mxport.Engine;
import io.mxport.MxportException;
import io.mxport.NDArray;
import io.mxport.Npy;
import io.mxport.Predictor;
import io.mxport.Signature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every conformance vector of spec/vectors through the Java Predictor on ONNX Runtime, as Python's
 * {@code mxport.load(engine="onnxruntime")} runs them (python/tests/test_onnx.py): the files written by the
 * Python exporter at test time, the outputs within spec/onnx_tolerances.json of the vectors' MXNet outputs, the
 * runs that expect an error refused with its code, and the vectors without an ONNX file listed there with the
 * exporter's reason.
 */
class OnnxVectorsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path dir;

    /** Per vector: {"model": file, "network": file}, or {"error": code} when the exporter refused it. */
    static JsonNode exported;

    static JsonNode tolerances;

    @BeforeAll
    static void export() throws Exception {
        dir = EngineTestSupport.exportedVectors();
        exported = JSON.readTree(dir.resolve("exported.json").toFile());
        tolerances = JSON.readTree(root().resolve("spec/onnx_tolerances.json").toFile());
    }

    static List<String> names() throws IOException {
        try (Stream<Path> s = Files.list(vectors())) {
            return s.filter(p -> Files.isRegularFile(p.resolve("case.json")))
                    .map(p -> p.getFileName().toString())
                    .sorted()
                    .collect(Collectors.toList());
        }
    }

    /** The vectors with an ONNX file: every one not listed in not_exported and not invalid_*. */
    static Stream<String> exportedCases() throws IOException {
        JsonNode listed = JSON.readTree(
                        root().resolve("spec/onnx_tolerances.json").toFile())
                .get("not_exported")
                .get("cases");
        return names().stream().filter(n -> !n.startsWith("invalid_") && !listed.has(n));
    }

    static JsonNode caseOf(String name) throws IOException {
        return JSON.readTree(vectors().resolve(name).resolve("case.json").toFile());
    }

    /** The tolerance of one output: the case's part's own entry, else the engine's default. */
    static JsonNode tolerance(String name, String part, String output) {
        JsonNode engine = tolerances.get("engines").get("onnxruntime");
        JsonNode found = engine.path("cases").path(name).path(part).path(output);
        return found.isMissingNode() ? engine.get("default") : found;
    }

    static List<NDArray> arrays(Path folder, JsonNode files) throws IOException {
        List<NDArray> out = new ArrayList<>();
        for (JsonNode f : files) {
            out.add(Npy.read(folder.resolve(f.asText())));
        }
        return out;
    }

    @Test
    void everyVectorIsExportedOrListedWithTheExportersReason() throws IOException {
        JsonNode listed = tolerances.get("not_exported").get("cases");
        List<String> names = names();
        assertTrue(names.size() >= 20, "too few vectors in spec/vectors: run `make vectors`");
        assertEquals(names, iterable(exported.fieldNames()), "export_vectors.py saw other vectors");
        for (Iterator<String> it = listed.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            assertTrue(names.contains(name), "spec/onnx_tolerances.json lists " + name + ", which is no vector");
        }
        for (String name : names) {
            JsonNode got = exported.get(name);
            if (listed.has(name)) {
                assertEquals(
                        listed.get(name).get("code").asText(),
                        got.path("error").asText("exported"),
                        name + ": the reason spec/onnx_tolerances.json gives is not the exporter's");
            } else if (name.startsWith("invalid_")) {
                assertEquals(
                        caseOf(name).get("expected_error").asText(),
                        got.path("error").asText("exported"),
                        name);
            } else {
                assertFalse(got.has("error"), name + " is not exported (" + got + "): list it with the reason");
            }
        }
    }

    private static List<String> iterable(Iterator<String> it) {
        Iterable<String> i = () -> it;
        return StreamSupport.stream(i.spliterator(), false).collect(Collectors.toList());
    }

    @ParameterizedTest
    @MethodSource("exportedCases")
    void everyRunOfTheVectorGivesMxnetsOutputsWithinTheToleranceOrItsError(String name) throws IOException {
        Path folder = vectors().resolve(name);
        JsonNode c = caseOf(name);
        String referenceName = tolerances
                .get("engines")
                .get("onnxruntime")
                .path("cases")
                .path(name)
                .path("reference")
                .asText(name);
        Path referenceFolder = vectors().resolve(referenceName);
        JsonNode referenceRuns = caseOf(referenceName).get("runs");
        Signature whole = Signature.read(folder.resolve("model").toString());
        int compared = 0;
        for (int r = 0; r < c.get("runs").size(); r++) {
            JsonNode run = c.get("runs").get(r);
            boolean transforms = run.get("load_transforms").booleanValue();
            String part = transforms ? "model" : "network";
            Path file = dir.resolve(exported.get(name).get(part).asText());
            try (Predictor p = new Predictor(file.toString(), Engine.ONNXRUNTIME, transforms)) {
                assertEquals(transforms ? whole : whole.getNetwork().get(), p.getSignature(), name + " " + part);
                List<NDArray> inputs = arrays(folder, run.get("inputs"));
                if (run.hasNonNull("expected_error")) {
                    MxportException e = assertThrows(MxportException.class, () -> call(p, run, inputs));
                    assertEquals(run.get("expected_error").asText(), e.getCode(), e.getMessage());
                    continue;
                }
                // an optimised vector's ONNX file is the fp32 network it was made from (FORMAT.md section 13.3)
                JsonNode referenceRun = referenceRuns.get(r);
                assertEquals(run.get("inputs"), referenceRun.get("inputs"), name + " vs " + referenceName);
                assertEquals(run.get("load_transforms"), referenceRun.get("load_transforms"));
                List<NDArray> got = p.predictWithNDArray(inputs);
                List<NDArray> want = arrays(referenceFolder, referenceRun.get("outputs"));
                assertEquals(want.size(), got.size(), name + ": number of outputs");
                for (int j = 0; j < want.size(); j++) {
                    String output = p.getSignature().getOutputNames().get(j);
                    String what = name + " " + part + " " + output + " on " + run.get("inputs");
                    assertMeaningful(want.get(j), what);
                    JsonNode tol = tolerance(name, part, output);
                    assertClose(
                            got.get(j),
                            want.get(j),
                            tol.get("rtol").asDouble(),
                            tol.get("atol").asDouble(),
                            what);
                    compared++;
                }
            }
        }
        assertTrue(compared > 0, name + " compared no output");
    }

    private static List<NDArray> call(Predictor p, JsonNode run, List<NDArray> inputs) {
        if (!run.has("names")) {
            return p.predictWithNDArray(inputs);
        }
        Map<String, NDArray> named = new LinkedHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            named.put(run.get("names").get(i).asText(), inputs.get(i));
        }
        return new ArrayList<>(p.predictWithNDArray(named).values());
    }
}
