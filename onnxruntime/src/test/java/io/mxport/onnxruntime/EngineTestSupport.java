package io.mxport.onnxruntime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.mxport.TestSupport;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** The Python that writes this module's ONNX files; paths, .npy and comparisons come from the core's test-jar. */
final class EngineTestSupport {
    private EngineTestSupport() {}

    /** Runs one of this module's Python scripts (src/test/python) with the repository's Python; fails with its log. */
    static void runPython(String script, Path log, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                TestSupport.python(),
                TestSupport.root()
                        .resolve("onnxruntime/src/test/python")
                        .resolve(script)
                        .toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(script + " did not finish in 300 s");
        }
        assertEquals(0, p.exitValue(), () -> script + " failed: " + read(log));
    }

    private static Path exported;

    /**
     * Every vector of spec/vectors through the Python exporter (src/test/python/export_vectors.py), once per JVM:
     * the folder of {@code <case>-<part>.onnx} and {@code exported.json}.
     */
    static synchronized Path exportedVectors() throws IOException, InterruptedException {
        if (exported == null) {
            Path dir = Files.createTempDirectory("mxport-onnx-vectors");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> delete(dir)));
            runPython(
                    "export_vectors.py",
                    dir.resolve("export.log"),
                    TestSupport.vectors().toString(),
                    dir.toString());
            exported = dir;
        }
        return exported;
    }

    private static void delete(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // a temporary folder: the system cleans it up otherwise
        }
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }
}
