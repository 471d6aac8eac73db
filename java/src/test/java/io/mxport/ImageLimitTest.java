package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The pixel limit (spec/RUNTIME.md section 4): the images of spec/image_cases give Python's code and text. */
class ImageLimitTest {
    private static final Path CASES = TestSupport.root().resolve("spec").resolve("image_cases");

    static Stream<JsonNode> cases() throws IOException {
        List<JsonNode> out = new ArrayList<>();
        new ObjectMapper().readTree(CASES.resolve("cases.json").toFile()).forEach(out::add);
        assertTrue(out.size() >= 10, "too few cases in " + CASES + ": run `make vectors`");
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void eachImageCaseGivesPythonsCodeAndText(JsonNode c) throws Exception {
        byte[] data = Files.readAllBytes(CASES.resolve(c.get("file").asText()));
        long limit = c.get("max_pixels").isNull()
                ? Images.MAX_PIXELS
                : c.get("max_pixels").asLong();
        if (c.get("code").asText().equals("OK")) {
            NDArray pixels = Images.decode(data, limit);
            TestSupport.assertImageCase(c, pixels);
            return;
        }
        MxportException e = assertThrows(MxportException.class, () -> Images.decode(data, limit));
        assertEquals(c.get("code").asText(), e.getCode());
        assertEquals("[" + c.get("code").asText() + "] " + c.get("message").asText(), e.getMessage());
    }

    @Test
    void theDefaultLimitIsPythons() {
        assertEquals(715_827_879L, Images.MAX_PIXELS);
    }
}
