package io.mxport.onnxruntime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.mxport.Engine;
import io.mxport.Environment;
import io.mxport.MxportException;
import io.mxport.Predictor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * ONNX Runtime's threads come from {@link Environment} (spec/RUNTIME.md section 6): one pool of
 * {@code setThreads} threads for every model of the JVM, decided at the engine's first model, and refused
 * afterwards with another count. Counted on the threads a fresh JVM gains ({@link ThreadsProbe}).
 */
class EnvironmentThreadsTest {
    static Path model;
    static Path network;

    @BeforeAll
    static void export() throws Exception {
        Path dir = EngineTestSupport.exportedVectors();
        model = dir.resolve("uint8_image-model.onnx");
        network = dir.resolve("uint8_image-network.onnx");
    }

    /** ThreadsProbe's lines in a fresh JVM, by their first word. */
    static Map<String, String> probe(String threads, boolean ortFirst) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                Paths.get(System.getProperty("java.home"), "bin", "java").toString(),
                "-Dmxport.library.path=/nonexistent/libmxnet.so",
                "-cp",
                System.getProperty("java.class.path"),
                ThreadsProbe.class.getName(),
                model.toString(),
                network.toString(),
                threads));
        if (ortFirst) {
            command.add("ort-first");
        }
        Path log = Files.createTempFile("mxport-threads", ".log");
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("ThreadsProbe did not finish in 120 s");
        }
        String out = Files.readString(log);
        Files.delete(log);
        assertEquals(0, p.exitValue(), out);
        Map<String, String> lines = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] kv = line.split(" ", 2);
            if (kv.length == 2) {
                lines.put(kv[0], kv[1]);
            }
        }
        return lines;
    }

    @Test
    void twoModelsShareOnePoolOfTheThreadsSet() throws Exception {
        Map<String, String> one = probe("1", false);
        Map<String, String> three = probe("3", false);
        assertEquals("3", three.get("threads"));
        assertTrue(three.get("reason").contains("one pool of 3 thread(s)"), three.get("reason"));
        assertEquals("false", three.get("mxnet"), "ONNX Runtime's threads decided MXNet's");
        // a pool of 3 has 2 more threads than a pool of 1; two pools (one per model) would have 4 more
        long more = Long.parseLong(three.get("gained")) - Long.parseLong(one.get("gained"));
        assertEquals(2, more, "threads gained with 3 vs 1: " + three + " " + one);
    }

    @Test
    void anEnvironmentCreatedBeforeMxportGivesEachModelItsOwnPoolAndSaysSo() throws Exception {
        Map<String, String> one = probe("1", true);
        Map<String, String> three = probe("3", true);
        assertTrue(three.get("reason").contains("each model computes with its own 3 thread(s)"), three.get("reason"));
        long more = Long.parseLong(three.get("gained")) - Long.parseLong(one.get("gained"));
        assertEquals(4, more, "threads gained with 3 vs 1: " + three + " " + one);
    }

    @Test
    void theCountIsDecidedAtTheFirstModelAndAnotherIsRefusedNamingTheFix() {
        try (Predictor p = new Predictor(model.toString(), Engine.ONNXRUNTIME, true)) {
            Environment.Applied a = Environment.applied(Engine.ONNXRUNTIME).orElseThrow();
            assertEquals(Runtime.getRuntime().availableProcessors(), a.getThreads(), a.getReason());
            assertEquals(Environment.Outcome.APPLIED, a.getOutcome());
            assertFalse(Environment.applied(Engine.MXNET).isPresent(), "libmxnet.so was loaded");
            Environment.setThreads(a.getThreads()); // the same count changes nothing
            MxportException e = assertThrows(MxportException.class, () -> Environment.setThreads(a.getThreads() + 1));
            assertEquals("INVALID_ARGUMENT", e.getCode());
            assertTrue(e.getMessage().contains("-Dmxport.threads=" + (a.getThreads() + 1)), e.getMessage());
        }
    }
}
