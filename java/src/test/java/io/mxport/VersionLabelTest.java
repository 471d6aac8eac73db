package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import org.junit.jupiter.api.Test;

/**
 * The graph handed to MXNet carries the library's own 1.9.x version when the file's is a newer 1.9.x, so MXNet
 * prints no "saved by MXNet version 10901 with lower version" line; nothing else in the JSON changes.
 * (That the outputs stay the same bytes is release_tests/test_python_free.py's check against Python.)
 */
class VersionLabelTest {
    private static Graph resnetGraph() throws Exception {
        String path = TestSupport.resnet() + "-symbol.json";
        return Graph.parse(Files.readString(java.nio.file.Paths.get(path)), path);
    }

    private static JsonNode parse(String json) {
        return Json.parse(json, new String[1]);
    }

    @Test
    void aNewerPatchFileIsLabelledWithTheLibrarysVersionAndNothingElseChanges() throws Exception {
        Graph graph = resnetGraph();
        JsonNode original = parse(graph.toJson());
        assertEquals(10901, original.path("attrs").path("mxnet_version").get(1).asInt(), "the wheel wrote 1.9.1");
        ObjectNode handed = (ObjectNode) parse(graph.toJsonFor(10900));
        assertEquals(
                "[\"int\",10900]", handed.path("attrs").path("mxnet_version").toString());
        ((ObjectNode) handed.get("attrs"))
                .set("mxnet_version", original.path("attrs").path("mxnet_version"));
        assertEquals(original, handed);
        assertEquals(original, parse(graph.toJson()), "the graph itself is not modified");
    }

    @Test
    void otherVersionsAreHandedAsSaved() throws Exception {
        Graph graph = resnetGraph();
        for (int library : new int[] {10901, 10902, 10800, 20000}) {
            assertEquals(graph.toJson(), graph.toJsonFor(library), "library " + library);
        }
    }
}
