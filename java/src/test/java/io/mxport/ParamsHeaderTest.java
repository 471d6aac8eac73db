package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The params files of spec/params_cases, whose headers lie (or not): the codes and messages Python gives. */
class ParamsHeaderTest {
    private static final Path CASES = TestSupport.root().resolve("spec").resolve("params_cases");

    static Stream<JsonNode> cases() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        new ObjectMapper().readTree(CASES.resolve("cases.json").toFile()).forEach(out::add);
        assertTrue(out.size() >= 20, "too few cases in " + CASES + ": run `make vectors`");
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theHeaderCheckGivesTheCaseCodeAndMessage(JsonNode c) throws IOException {
        byte[] data = Files.readAllBytes(CASES.resolve(c.get("file").asText()));
        if (c.get("code").asText().equals("OK")) {
            assertTrue(ParamsHeader.check(data, "<file>") >= 1);
            return;
        }
        MxportException e = assertThrows(MxportException.class, () -> ParamsHeader.check(data, "<file>"));
        assertEquals("BAD_PARAMS", e.getCode());
        assertEquals("[BAD_PARAMS] " + c.get("message").asText(), e.getMessage());
        if (!c.get("array").isNull()) {
            assertTrue(e.getMessage().contains("array " + c.get("array").asInt() + " of "), e.getMessage());
        }
    }

    @Test
    void anOldModelWhoseParamsClaimAHugeArrayIsRefusedBeforeMxnetReadsIt(@TempDir Path dir) throws IOException {
        Path vector = TestSupport.vectors().resolve("old_converter_names");
        Files.copy(vector.resolve("model-symbol.json"), dir.resolve("model-symbol.json"));
        Files.copy(
                CASES.resolve("huge_dimension.params"),
                dir.resolve("model-0003.params"),
                StandardCopyOption.REPLACE_EXISTING);
        List<DataDesc> inputs = new ArrayList<>();
        for (JsonNode s : VectorsTest.caseOf("old_converter_names").path("load").path("inputs")) {
            int[] dims = new int[s.get("shape").size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = s.get("shape").get(i).intValue();
            }
            inputs.add(new DataDesc(
                    s.get("name").asText(),
                    new Shape(dims),
                    DType.of(s.get("dtype").asText()),
                    null));
        }
        String prefix = dir.resolve("model").toString();
        MxportException e = assertThrows(
                MxportException.class, () -> new Predictor(prefix, inputs, List.of(Context.cpu()), 3).close());
        assertEquals("BAD_PARAMS", e.getCode());
        assertTrue(
                e.getMessage().contains("model-0003.params: array 2 of 5: its shape [1099511627776, 3]"),
                e.getMessage());
    }
}
