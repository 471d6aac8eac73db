package io.mxport;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.math.BigInteger;

/** Strict JSON (RFC 8259) through Jackson: no comments, no trailing tokens, no NaN. */
final class Json {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .build();

    static {
        // symbol files carry long attribute strings; nesting stays limited (a graph is shallow)
        MAPPER.getFactory()
                .setStreamReadConstraints(StreamReadConstraints.builder()
                        .maxStringLength(1 << 30)
                        .maxNestingDepth(200)
                        .maxNumberLength(1000)
                        .build());
    }

    private Json() {}

    /** Parses text; returns null and leaves the reason in {@code why[0]} when it is not JSON. */
    static JsonNode parse(String text, String[] why) {
        try {
            JsonNode node = MAPPER.readTree(text);
            if (node == null || node.isMissingNode()) {
                why[0] = "no JSON value";
                return null;
            }
            return node;
        } catch (JsonProcessingException e) {
            why[0] = e.getOriginalMessage();
            return null;
        }
    }

    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** True for a JSON integer (not a bool, not 1.0). */
    static boolean isInteger(JsonNode n) {
        return n != null && n.isIntegralNumber();
    }

    static BigInteger integer(JsonNode n) {
        return n.bigIntegerValue();
    }

    /** Python-like short rendering of a value for messages. */
    static String show(JsonNode n) {
        String s = n == null ? "None" : n.toString();
        return s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
