package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The mistakes corpus (spec/mistakes.json, spec/MISTAKES.md) in Java: each row whose {@code languages} name
 * {@code java} gives its code and a message holding the row's {@code all} and {@code java} fixes, or (code null)
 * succeeds as the right call does. The same file Python and Scala run.
 */
class MistakesTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Rows that do not pass yet; a listed row that passes fails the test, so the list only shrinks. */
    static final Set<String> KNOWN_FAILURES = Set.of();

    static List<JsonNode> rows() throws IOException {
        List<JsonNode> rows = new ArrayList<>();
        JSON.readTree(TestSupport.root()
                        .resolve("spec")
                        .resolve("mistakes.json")
                        .toFile())
                .get("mistakes")
                .forEach(rows::add);
        return rows;
    }

    static Stream<JsonNode> javaRows() throws IOException {
        return rows().stream().filter(r -> languages(r).contains("java"));
    }

    static Stream<String> javaIds() throws IOException {
        return javaRows().map(r -> r.get("id").asText());
    }

    static List<String> languages(JsonNode row) {
        List<String> out = new ArrayList<>();
        row.get("languages").forEach(l -> out.add(l.asText()));
        return out;
    }

    /** The substrings a language's message must hold: {@code all}, then the language's own. */
    static List<String> fixes(JsonNode row, String language) {
        List<String> out = new ArrayList<>();
        row.path("fix").path("all").forEach(f -> out.add(f.asText()));
        row.path("fix").path(language).forEach(f -> out.add(f.asText()));
        return out;
    }

    static String model(JsonNode row) {
        return TestSupport.vectors()
                .resolve(row.path("model").asText("single_in_single_out"))
                .resolve("model")
                .toString();
    }

    static String prefix(JsonNode row) {
        return row.path("prefix").asText("{model}").replace("{model}", model(row));
    }

    static Shape shape(JsonNode dims) {
        int[] d = new int[dims.size()];
        for (int i = 0; i < d.length; i++) {
            d[i] = dims.get(i).intValue();
        }
        return new Shape(d);
    }

    /** What the row's user did, through the Java API; returns the signature it got. */
    static Signature act(JsonNode row) {
        if (row.get("action").asText().equals("read_signature")) {
            return Signature.read(prefix(row));
        }
        String context = row.path("context").asText("cpu(0)");
        List<Context> contexts = List.of(
                context.startsWith("gpu")
                        ? Context.gpu(Integer.parseInt(context.replaceAll("\\D", "")))
                        : Context.cpu());
        Predictor p;
        if (row.path("inputs").isArray()) {
            List<DataDesc> descs = new ArrayList<>();
            for (JsonNode d : row.get("inputs")) {
                descs.add(new DataDesc(
                        d.get("name").asText(),
                        shape(d.get("shape")),
                        DType.of(d.get("dtype").asText()),
                        d.get("layout").isNull() ? null : d.get("layout").asText()));
            }
            p = row.path("epoch").isInt()
                    ? new Predictor(
                            prefix(row), descs, contexts, row.get("epoch").intValue())
                    : new Predictor(prefix(row), descs, contexts);
        } else {
            assertFalse(row.path("epoch").isInt(), "the Java API has no epoch without input descriptions");
            p = new Predictor(prefix(row), contexts, row.path("load_transforms").asBoolean(true));
        }
        try (Predictor predictor = p) {
            if (row.get("action").asText().equals("predict")) {
                List<NDArray> inputs = new ArrayList<>();
                for (JsonNode a : row.get("call")) {
                    Shape s = shape(a.get("shape"));
                    DType t = DType.of(a.get("dtype").asText());
                    inputs.add(NDArray.ofRaw(t, new byte[s.size() * t.getByteSize()], s));
                }
                predictor.predictWithNDArray(inputs);
            }
            return predictor.getSignature();
        }
    }

    /** Null when the row passes, else why not. */
    static String outcome(JsonNode row) {
        String code = row.get("code").isNull() ? null : row.get("code").asText();
        try {
            Signature got = act(row);
            if (code != null) {
                return "succeeded, expected " + code;
            }
            if (!row.path("inputs").isArray() && !got.equals(Signature.read(model(row)))) {
                return "loaded another model than " + model(row);
            }
            return null;
        } catch (MxportException e) {
            if (!e.getCode().equals(code)) {
                return "code " + e.getCode() + ", expected " + code + ": " + e.getMessage();
            }
            String kind = e.getFix()
                    .map(f -> f.getKind().name().toLowerCase(java.util.Locale.ROOT))
                    .orElse(null);
            if (!java.util.Objects.equals(kind, row.path("fix_kind").textValue())) {
                return "fix kind " + kind + ", expected " + row.path("fix_kind").textValue() + ": " + e.getMessage();
            }
            for (String fix : fixes(row, "java")) {
                if (!e.getMessage().contains(fix)) {
                    return "'" + fix + "' not in: " + e.getMessage();
                }
            }
            return null;
        }
    }

    @Test
    void theCorpusHasJavaRowsAndTheKnownFailuresAreRows() throws IOException {
        assertTrue(javaRows().count() >= 10, "too few java rows in spec/mistakes.json");
        Set<String> ids = new java.util.HashSet<>();
        javaRows().forEach(r -> ids.add(r.get("id").asText()));
        assertTrue(ids.containsAll(KNOWN_FAILURES), "a known failure is no java row: " + KNOWN_FAILURES);
        for (JsonNode r : rows()) { // a row the JVM cannot make says why
            boolean jvm = languages(r).contains("java");
            assertEquals(jvm, languages(r).contains("scala"), r.get("id") + ": java and scala run the same rows");
            assertTrue(jvm != r.hasNonNull("not_on_jvm"), r.get("id") + ": names java, or says in not_on_jvm why not");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("javaIds")
    void theMistakeGetsItsCodeAndFix(String id) throws IOException {
        JsonNode row = javaRows()
                .filter(r -> r.get("id").asText().equals(id))
                .findFirst()
                .orElseThrow();
        String why = outcome(row);
        if (KNOWN_FAILURES.contains(id)) {
            assertTrue(why != null, id + " passes now: remove it from MistakesTest.KNOWN_FAILURES");
            return;
        }
        if (why != null) {
            fail(id + " (" + row.get("mistake").asText() + "): " + why);
        }
    }
}
