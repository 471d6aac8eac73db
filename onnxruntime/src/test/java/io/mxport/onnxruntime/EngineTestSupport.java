package io.mxport.onnxruntime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.mxport.DType;
import io.mxport.NDArray;
import io.mxport.Shape;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The repository's paths, the Python that writes the ONNX files, and the comparisons of this module's tests. */
final class EngineTestSupport {
    private EngineTestSupport() {}

    static Path root() {
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

    static String python() {
        String p = System.getenv("MXPORT_PYTHON");
        return p != null && !p.isEmpty()
                ? p
                : root().resolve(".venv").resolve("bin").resolve("python").toString();
    }

    /** Runs one of this module's Python scripts (src/test/python) with the repository's Python; fails with its log. */
    static void runPython(String script, Path log, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(
                python(),
                root().resolve("onnxruntime/src/test/python").resolve(script).toString()));
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
            runPython("export_vectors.py", dir.resolve("export.log"), vectors().toString(), dir.toString());
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

    static Path vectors() {
        return root().resolve("spec").resolve("vectors");
    }

    static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** |got - want| <= atol + rtol * |want| everywhere (spec/onnx_tolerances.json), same shape and dtype. */
    static void assertClose(NDArray got, NDArray want, double rtol, double atol, String what) {
        assertEquals(want.getShape(), got.getShape(), what + ": shape");
        assertEquals(want.getDType(), got.getDType(), what + ": dtype");
        float[] g = got.toFloatArray();
        float[] w = want.toFloatArray();
        for (int i = 0; i < w.length; i++) {
            if (!(Math.abs((double) g[i] - w[i]) <= atol + rtol * Math.abs((double) w[i]))) {
                fail(what + ": element " + i + " is " + g[i] + ", MXNet's " + w[i] + " (rtol " + rtol + ", atol " + atol
                        + ")");
            }
        }
    }

    /** A reference that is ~0 everywhere, or constant, would make any comparison pass whatever the engine did. */
    static void assertMeaningful(NDArray reference, String what) {
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

    private static final Map<String, DType> NPY_DTYPES = Map.of(
            "<f4", DType.FLOAT32,
            "<f8", DType.FLOAT64,
            "<f2", DType.FLOAT16,
            "|u1", DType.UINT8,
            "|i1", DType.INT8,
            "<i4", DType.INT32,
            "<i8", DType.INT64);

    /** A vector's .npy file (versions 1-3, little-endian, C order). */
    static NDArray readNpy(Path path) throws IOException {
        byte[] all = Files.readAllBytes(path);
        if (all.length < 12
                || all[0] != (byte) 0x93
                || !new String(all, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
            throw new IOException(path + " is not a .npy file");
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int offset = all[6] == 1 ? 10 : 12;
        int headerLength = all[6] == 1 ? b.getShort(8) & 0xFFFF : b.getInt(8);
        String header = new String(all, offset, headerLength, StandardCharsets.ISO_8859_1);
        Matcher d = Pattern.compile("'descr':\\s*'([^']+)'").matcher(header);
        Matcher s = Pattern.compile("'shape':\\s*\\(([^)]*)\\)").matcher(header);
        if (!d.find() || !s.find() || header.contains("'fortran_order': True") || !NPY_DTYPES.containsKey(d.group(1))) {
            throw new IOException(path + ": a header this reader does not take: " + header);
        }
        int[] shape = Arrays.stream(s.group(1).split(","))
                .filter(x -> !x.isBlank())
                .mapToInt(x -> Integer.parseInt(x.strip()))
                .toArray();
        return NDArray.ofRaw(
                NPY_DTYPES.get(d.group(1)),
                Arrays.copyOfRange(all, offset + headerLength, all.length),
                new Shape(shape));
    }
}
