package io.mxport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Several threads on one Predictor, and several Predictors at once: outputs equal a serial run, no crash. */
class ConcurrencyTest {
    private static final int THREADS = 4;
    private static final int CALLS = 50;

    private static List<float[]> runAll(int threads, List<Callable<float[]>> tasks) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<float[]>> futures = pool.invokeAll(tasks);
            List<float[]> out = new ArrayList<>();
            for (Future<float[]> f : futures) {
                out.add(f.get());
            }
            return out;
        } finally {
            pool.shutdown();
            pool.awaitTermination(1, TimeUnit.MINUTES);
        }
    }

    @Test
    void fourThreadsTimesFiftyCallsOnOneResNet() throws Exception {
        try (Predictor shared = new Predictor(TestSupport.resnet())) {
            // distinct inputs (and two batch sizes) per call, so a mixed-up output cannot go unnoticed
            List<NDArray> inputs = new ArrayList<>();
            List<float[]> serial = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                NDArray x = ResNetTest.seededImages(1 + i % 2, 32, 40, 100 + i);
                inputs.add(x);
                serial.add(shared.predictWithNDArray(List.of(x)).get(0).toFloatArray());
            }
            List<Callable<float[]>> tasks = new ArrayList<>();
            List<Integer> which = new ArrayList<>();
            for (int t = 0; t < THREADS * CALLS; t++) {
                int k = (t * 7 + t / 8) % inputs.size();
                which.add(k);
                tasks.add(() ->
                        shared.predictWithNDArray(List.of(inputs.get(k))).get(0).toFloatArray());
            }
            List<float[]> got = runAll(THREADS, tasks);
            for (int t = 0; t < got.size(); t++) {
                assertArrayEquals(serial.get(which.get(t)), got.get(t), "call " + t + " on input " + which.get(t));
            }
            System.out.println("[concurrency] " + got.size() + " ResNet-18 calls from " + THREADS
                    + " threads on one Predictor equal the serial run");
        }
    }

    @Test
    void severalPredictorsAtOnce() throws Exception {
        Path vectors = TestSupport.vectors();
        String[] cases = {"uint8_image", "multi_in_multi_out", "postprocess", "dynamic_batch"};
        List<Predictor> predictors = new ArrayList<>();
        List<List<NDArray>> inputs = new ArrayList<>();
        List<float[]> serial = new ArrayList<>();
        try {
            for (String c : cases) {
                Path folder = vectors.resolve(c);
                Predictor p = new Predictor(folder.resolve("model").toString());
                predictors.add(p);
                List<NDArray> in = new ArrayList<>();
                for (int i = 0; i < p.getSignature().getInputs().size(); i++) {
                    in.add(Npy.read(folder.resolve("in_0_" + i + ".npy")));
                }
                inputs.add(in);
                serial.add(p.predictWithNDArray(in).get(0).toFloatArray());
            }
            // and two ResNet-18 predictors, which share one copy of the weights
            for (int r = 0; r < 2; r++) {
                Predictor p = new Predictor(TestSupport.resnet());
                predictors.add(p);
                List<NDArray> in = List.of(ResNetTest.seededImages(1, 30, 30, 40 + r));
                inputs.add(in);
                serial.add(p.predictWithNDArray(in).get(0).toFloatArray());
            }
            List<Callable<float[]>> tasks = new ArrayList<>();
            List<Integer> which = new ArrayList<>();
            for (int t = 0; t < 300; t++) {
                int k = t % predictors.size();
                which.add(k);
                tasks.add(() -> predictors
                        .get(k)
                        .predictWithNDArray(inputs.get(k))
                        .get(0)
                        .toFloatArray());
            }
            List<float[]> got = runAll(predictors.size(), tasks);
            for (int t = 0; t < got.size(); t++) {
                assertArrayEquals(serial.get(which.get(t)), got.get(t), "call " + t + " on predictor " + which.get(t));
            }
        } finally {
            predictors.forEach(Predictor::close);
        }
    }

    @Test
    void closingWhileOtherThreadsPredictFailsCleanly() throws Exception {
        Predictor p =
                new Predictor(TestSupport.vectors().resolve("postprocess/model").toString());
        NDArray x = Npy.read(TestSupport.vectors().resolve("postprocess/in_0_0.npy"));
        List<Callable<float[]>> tasks = new ArrayList<>();
        for (int t = 0; t < 200; t++) {
            int n = t;
            tasks.add(() -> {
                if (n == 100) {
                    p.close();
                }
                try {
                    return p.predictWithNDArray(List.of(x)).get(0).toFloatArray();
                } catch (IllegalStateException closed) {
                    return null;
                }
            });
        }
        List<float[]> got = runAll(4, tasks);
        assertEquals(null, got.get(199), "calls after close throw IllegalStateException");
    }

    /**
     * spec/RUNTIME.md section 5: invoking a CachedOp waits for the process-wide push lock (two interleaved pushes
     * that share engine variables can wait for each other forever), while waiting for results does not hold it.
     */
    @Test
    void aCallWaitsForThePushLockAndNotLonger() throws Exception {
        try (Predictor p = new Predictor(TestSupport.resnet())) {
            NDArray x = ResNetTest.seededImages(1, 32, 40, 5);
            float[] want = p.predictWithNDArray(List.of(x)).get(0).toFloatArray();
            ExecutorService pool = Executors.newSingleThreadExecutor();
            try {
                Future<float[]> call;
                synchronized (EngineWorkers.PUSH_LOCK) {
                    call = pool.submit(
                            () -> p.predictWithNDArray(List.of(x)).get(0).toFloatArray());
                    Thread.sleep(2000);
                    assertEquals(false, call.isDone(), "the call ran while another thread held the push lock");
                }
                assertArrayEquals(want, call.get(2, TimeUnit.MINUTES));
            } finally {
                pool.shutdown();
            }
        }
    }
}
