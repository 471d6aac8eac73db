package io.mxport;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Java vs Python per-sample latency on the end-to-end ResNet-18, same input, one after the other (never at
 * the same time), a few rounds each:
 *
 * <pre>
 * mvn -q -Drevision=$(cat VERSION) -pl java test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=io.mxport.CompareLatency
 * </pre>
 *
 * Python is {@code $MXPORT_PYTHON} (default .venv/bin/python) running mxport.load (Gluon CachedOp); Java runs
 * this package's Predictor. Each figure is the median over repeated calls after one warm-up call.
 */
public final class CompareLatency {
    private CompareLatency() {}

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        String prefix = TestSupport.resnet();
        Path tmp = Files.createTempDirectory("mxport-latency");
        try (Predictor predictor = new Predictor(prefix)) {
            for (int round = 0; round < rounds; round++) {
                for (int batch : new int[] {1, 25}) {
                    NDArray input = ResNetTest.seededImages(batch, 300, 300, 7 + batch);
                    Npy.write(tmp.resolve("in.npy"), input);
                    String py = TestSupport.run(
                                    List.of(
                                            TestSupport.python(),
                                            TestSupport.root()
                                                    .resolve("java/src/test/resources/python_reference.py")
                                                    .toString(),
                                            prefix,
                                            "1",
                                            tmp.toString(),
                                            tmp.resolve("in.npy").toString()),
                                    600)
                            .strip();
                    double pyMs = Double.parseDouble(py.replaceAll(".*\"ms_per_sample\": ([0-9.]+).*", "$1"));
                    double javaMs = ResNetTest.javaMsPerSample(predictor, input);
                    System.out.printf(
                            "round %d  batch %2d  uint8 300x300: Java %6.1f ms/sample   Python %6.1f ms/sample"
                                    + "   (Java/Python %.2f)%n",
                            round + 1, batch, javaMs, pyMs, javaMs / pyMs);
                }
            }
        }
        System.out.println("OpenMP threads set by mxport: "
                + Environment.applied().orElseThrow().getThreads() + " (-1: the environment's)");
    }
}
