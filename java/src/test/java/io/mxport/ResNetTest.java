package io.mxport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The end-to-end ResNet-18 (uint8 NHWC -> Resize/ToTensor/Normalize -> resnet18 -> softmax) against Python's
 * {@code mxport.load} on the same input, run by $MXPORT_PYTHON in a subprocess.
 */
class ResNetTest {
    private static Predictor predictor;

    @BeforeAll
    static void load() {
        predictor = new Predictor(TestSupport.resnet());
    }

    @AfterAll
    static void close() {
        predictor.close();
    }

    static NDArray seededImages(int batch, int height, int width, long seed) {
        byte[] pixels = new byte[batch * height * width * 3];
        new Random(seed).nextBytes(pixels);
        return NDArray.ofBytes(pixels, new Shape(batch, height, width, 3));
    }

    static double javaMsPerSample(Predictor p, NDArray input) {
        p.predictWithNDArray(List.of(input));
        int batch = input.getShape().get(0);
        int runs = Math.max(3, 40 / batch);
        double[] times = new double[runs];
        for (int r = 0; r < runs; r++) {
            long t0 = System.nanoTime();
            p.predictWithNDArray(List.of(input)).get(0).toFloatArray();
            times[r] = (System.nanoTime() - t0) / 1e6 / batch;
        }
        Arrays.sort(times);
        return times[runs / 2];
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 25})
    void outputsEqualPythons(int batch, @TempDir Path tmp) throws Exception {
        NDArray input = seededImages(batch, 240, 320, 1234 + batch);
        String log = runPythonReference(input, true, tmp);
        NDArray want = Npy.read(tmp.resolve("out_0.npy"));
        NDArray got = predictor.predictWithNDArray(List.of(input)).get(0);
        assertEquals(new Shape(batch, 1000), want.getShape());
        float[] w = want.toFloatArray();
        float max = 0;
        for (float x : w) {
            max = Math.max(max, x);
        }
        TestSupport.assertMeaningful(want, "Python's ResNet-18 output");
        assertTrue(max > 3.0 / 1000, "Python's max probability " + max + " is too close to uniform (1/1000)");
        // relative to the magnitude of the reference; CachedOp runs the same graph as Gluon, so we expect 0
        TestSupport.assertClose(got, want, 1e-5, 1e-5 * max, "ResNet-18 batch " + batch);
        float[] g = got.toFloatArray();
        int differing = 0;
        for (int i = 0; i < w.length; i++) {
            differing += Float.floatToIntBits(g[i]) != Float.floatToIntBits(w[i]) ? 1 : 0;
        }
        double javaMs = javaMsPerSample(predictor, input);
        System.out.printf(
                "[ResNet-18 batch %d] max prob %.5f, elements not bit-identical to Python: %d of %d;"
                        + " per-sample latency: Java %.1f ms, Python %s%n",
                batch, max, differing, w.length, javaMs, log.strip());
        assertEquals(0, differing, "Java's CachedOp should be bit-identical to Gluon's");
    }

    @Test
    void networkAloneEqualsPythonsCut(@TempDir Path tmp) throws Exception {
        try (Predictor network = new Predictor(TestSupport.resnet(), List.of(Context.cpu()), false)) {
            Signature sig = network.getSignature();
            assertEquals(new Shape(-1, 3, 224, 224), sig.getInputs().get(0).getShape());
            assertEquals(DType.FLOAT32, sig.getInputs().get(0).getDType());
            assertEquals(predictor.getSignature().getNetwork().get(), sig);
            float[] x = new float[2 * 3 * 224 * 224];
            Random r = new Random(5);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            runPythonReference(NDArray.ofFloats(x, new Shape(2, 3, 224, 224)), false, tmp);
            NDArray want = Npy.read(tmp.resolve("out_0.npy"));
            TestSupport.assertMeaningful(want, "Python's network-alone output (logits)");
            float[][] out = network.predict(new float[][] {x}); // flat floats: batch 2 from the length
            assertArrayEquals(want.toFloatArray(), out[0], "the network alone (cut at the connectors) as in Python");
        }
    }

    @Test
    void manyBatchSizesInTurnGiveTheSameAnswerPerSample() {
        NDArray three = seededImages(3, 100, 120, 77);
        float[] all = predictor.predictWithNDArray(List.of(three)).get(0).toFloatArray();
        byte[] raw = three.toByteArray();
        int sample = 100 * 120 * 3;
        List<float[]> singles = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            NDArray one =
                    NDArray.ofBytes(Arrays.copyOfRange(raw, i * sample, (i + 1) * sample), new Shape(1, 100, 120, 3));
            singles.add(predictor.predictWithNDArray(List.of(one)).get(0).toFloatArray());
            predictor.predictWithNDArray(List.of(three)); // alternate shapes: served by the per-shape cache
        }
        for (int i = 0; i < 3; i++) {
            float[] part = Arrays.copyOfRange(all, i * 1000, (i + 1) * 1000);
            for (int k = 0; k < 1000; k++) {
                assertEquals(part[k], singles.get(i)[k], 1e-6f * Math.max(1f, Math.abs(part[k])), "sample " + i);
            }
        }
        assertArrayEquals(
                all, predictor.predictWithNDArray(List.of(three)).get(0).toFloatArray(), "repeatable");
    }

    @Test
    void moreShapesThanTheCacheHoldsStillGiveTheSameAnswers() {
        // CachedOpRunner keeps MAX_CACHED_SHAPES plans (CachedOp, input arrays, native argument list): a fifth shape
        // evicts the eldest and frees its arrays; coming back to it plans it again; every answer stays the same
        int shapes = CachedOpRunner.MAX_CACHED_SHAPES + 1;
        List<NDArray> inputs = new ArrayList<>();
        List<float[]> first = new ArrayList<>();
        for (int i = 0; i < shapes; i++) {
            inputs.add(seededImages(1 + i % 2, 90 + 7 * i, 110, 300 + i));
            first.add(
                    predictor.predictWithNDArray(List.of(inputs.get(i))).get(0).toFloatArray());
        }
        for (int round = 0; round < 2; round++) {
            for (int i = shapes - 1; i >= 0; i--) {
                assertArrayEquals(
                        first.get(i),
                        predictor
                                .predictWithNDArray(List.of(inputs.get(i)))
                                .get(0)
                                .toFloatArray(),
                        "shape " + inputs.get(i).getShape() + ", round " + round);
            }
        }
        assertFalse(Arrays.equals(first.get(0), first.get(2)), "different images, different answers");
    }

    /**
     * Runs ResNet-18 on {@code input} in Python (python_reference.py), which writes its outputs to {@code tmp}
     * (out_0.npy, ...); returns what it prints (its latency).
     */
    private static String runPythonReference(NDArray input, boolean loadTransforms, Path tmp) throws Exception {
        Npy.write(tmp.resolve("in.npy"), input);
        Path script = TestSupport.root().resolve("java/src/test/resources/python_reference.py");
        return TestSupport.run(
                List.of(
                        TestSupport.python(),
                        script.toString(),
                        TestSupport.resnet(),
                        loadTransforms ? "1" : "0",
                        tmp.toString(),
                        tmp.resolve("in.npy").toString()),
                600);
    }
}
