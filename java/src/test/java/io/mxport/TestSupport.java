package io.mxport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Paths of the repository and the comparisons every test uses; the other modules' tests (serve, onnxruntime) use
 * it from the core's test-jar.
 */
public final class TestSupport {
    private TestSupport() {}

    public static Path root() {
        String p = System.getProperty("mxport.root");
        if (p != null && Files.isRegularFile(Paths.get(p, "VERSION"))) {
            return Paths.get(p).toAbsolutePath();
        }
        for (Path d = Paths.get("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("VERSION")) && Files.isDirectory(d.resolve("spec"))) {
                return d;
            }
        }
        throw new IllegalStateException("cannot find the repository root (a folder with VERSION and spec/)");
    }

    public static Path vectors() {
        return root().resolve("spec").resolve("vectors");
    }

    public static Path models() {
        String env = System.getenv("MXPORT_MODELS");
        return env != null && !env.isEmpty()
                ? Paths.get(env)
                : root().resolve(".cache").resolve("models");
    }

    public static String python() {
        String p = System.getProperty("mxport.python");
        if (p == null || p.isEmpty()) {
            p = System.getenv("MXPORT_PYTHON");
        }
        return p != null && !p.isEmpty()
                ? p
                : root().resolve(".venv").resolve("bin").resolve("python").toString();
    }

    /** The end-to-end ResNet-18 prefix; fails (does not skip) when `make models` has not made it. */
    public static String resnet() {
        Path symbol = models().resolve("resnet18-symbol.json");
        assertTrue(Files.isRegularFile(symbol), symbol + " is missing: run `make models` before mvn verify");
        return models().resolve("resnet18").toString();
    }

    /** The EfficientNet-Lite0 ImageNet model's prefix; fails (does not skip) when `make real-model` has not made it. */
    public static String realModel() {
        Path symbol = models().resolve("efficientnet_lite0-symbol.json");
        assertTrue(Files.isRegularFile(symbol), symbol + " is missing: run `make real-model` before mvn verify");
        return models().resolve("efficientnet_lite0").toString();
    }

    /** |got - want| <= atol + rtol * |want| everywhere, as in spec section 11. */
    public static void assertClose(NDArray got, NDArray want, double rtol, double atol, String what) {
        assertEquals(want.getShape(), got.getShape(), what + ": shape");
        assertEquals(want.getDType(), got.getDType(), what + ": dtype");
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < w.length; i++) {
            double diff = Math.abs((double) g[i] - w[i]);
            double excess = diff - (atol + rtol * Math.abs((double) w[i]));
            if (excess > 0 && (worstAt < 0 || diff > worst) || Double.isNaN(g[i]) != Double.isNaN(w[i])) {
                worst = diff;
                worstAt = i;
            }
        }
        if (worstAt >= 0) {
            fail(what + ": element " + worstAt + " differs by " + worst + " (got " + g[worstAt] + ", want " + w[worstAt]
                    + ")");
        }
    }

    /** A reference that is ~0 everywhere would make any equality check pass whatever the code does. */
    public static void assertMeaningful(NDArray reference, String what) {
        float[] r = reference.toFloatArray();
        double max = 0;
        double mean = 0;
        for (float x : r) {
            max = Math.max(max, Math.abs(x));
            mean += x / (double) r.length;
        }
        double var = 0;
        for (float x : r) {
            var += (x - mean) * (x - mean) / r.length;
        }
        assertTrue(max > 1e-3, what + " is degenerate (max |x| = " + max + ")");
        assertTrue(Math.sqrt(var) > 1e-6, what + " is constant");
    }

    /**
     * An {@code OK} row of spec/image_cases/cases.json against the decoded pixels: the row's shape, and the sha256 of
     * the pixels' bytes.
     */
    public static void assertImageCase(JsonNode row, NDArray pixels) {
        int[] shape = new int[row.get("shape").size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = row.get("shape").get(i).asInt();
        }
        String what = row.get("file").asText();
        assertArrayEquals(shape, pixels.getShape().toArray(), what + ": shape");
        assertEquals(
                row.get("sha256").asText(), ModelFiles.sha256(pixels.toByteArray()), what + ": sha256 of the pixels");
    }

    /** Runs a command, failing the test with its output when it fails. Returns stdout. */
    static String run(List<String> command, long timeoutSeconds) throws IOException, InterruptedException {
        Path log = Files.createTempFile("mxport-test", ".log");
        Process p = new ProcessBuilder(new ArrayList<>(command))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(command + " did not finish in " + timeoutSeconds + " s");
        }
        String out = Files.readString(log);
        Files.delete(log);
        assertEquals(0, p.exitValue(), () -> command + " failed:\n" + out);
        return out;
    }

    /** The resident memory of this process in kB, from /proc/self/status. */
    static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Paths.get("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        throw new IOException("no VmRSS in /proc/self/status");
    }
}
