package io.mxport;

import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

/**
 * Run in a child JVM by ThreadRuleTest: each mode starts from a process in which the thread rule has not been
 * decided yet, and prints what it saw, one fact a line.
 */
public final class ThreadRuleProbe {
    private ThreadRuleProbe() {
    }

    private interface CLibrary extends Library {
        String getenv(String name);
    }

    public static void main(String[] args) throws Exception {
        switch (args[0]) {
            case "--decide": // args: model
                try {
                    new Predictor(args[1]).close();
                    System.out.println("LOADED");
                } catch (MxportException e) {
                    System.out.println("FIRST " + e.getCode() + " " + e.getMessage());
                    System.setProperty(ThreadRule.PROPERTY, "1");
                    System.clearProperty(ThreadRule.WORKERS_PROPERTY);
                    new Predictor(args[1]).close();
                    System.out.println("RETRY LOADED");
                }
                break;
            case "--busy-worker": // args: libmxnet path, model; an operator ran on the worker before mxport loads
                busyWorker(args[1]);
                System.setProperty(ThreadRule.PROPERTY, String.valueOf(Runtime.getRuntime().availableProcessors() + 1));
                new Predictor(args[2]).close();
                break;
            case "--sequence": // args: models to load and run one after the other; "e2e" is ResNet-18 end to end
                for (int i = 1; i < args.length; i++) {
                    System.out.println("OUTPUT " + args[i] + " " + runOnce(args[i]));
                }
                break;
            case "--concurrent": // args: ResNet-18 end to end; one output alone, then from two threads at once
                System.out.println("OUTPUT " + runOnce("e2e=" + args[1]));
                concurrent(args[1]);
                for (String w : Mxnet.eachWorkerOmpThreads()) {
                    System.out.println("EACH " + w);
                }
                System.out.println("WORKERS " + Predictor.engineWorkerCount());
                System.out.println("WORKERENV MXNET_CPU_WORKER_NTHREADS=" + Native.load("c", CLibrary.class).getenv(
                        "MXNET_CPU_WORKER_NTHREADS"));
                break;
            default:
                throw new IllegalArgumentException(args[0]);
        }
        ThreadRule.Decision d = Mxnet.threadDecision();
        System.out.println("OUTCOME " + d.outcome);
        System.out.println("COUNT " + Predictor.engineThreadCount());
        System.out.println("WORKERS " + Predictor.engineWorkerCount());
        System.out.println("SPIN " + d.spinSet);
        System.out.println("BEFORE " + d.workerCountBefore);
        System.out.println("WORKER " + Mxnet.workerOmpThreads());
        System.out.println("ENV GOMP_SPINCOUNT=" + Native.load("c", CLibrary.class).getenv("GOMP_SPINCOUNT"));
        System.out.println("TEXT " + d.text);
    }

    /** Loads libmxnet itself and runs an engine operation on the CPU worker, as other MXNet code in the JVM could. */
    private static void busyWorker(String path) {
        MxnetLibrary lib = MxnetLibrary.load(path);
        MxnetLibrary.EngineSyncFunc noop = (runContext, param) -> { };
        Memory cpu = new Memory(8);
        cpu.setInt(0, 1);
        cpu.setInt(4, 0);
        if (lib.MXEnginePushSync(noop, null, null, cpu, null, 0, null, 0, null, 0, "probe") != 0 || lib.MXNDArrayWaitAll() != 0) {
            throw new IllegalStateException(lib.MXGetLastError());
        }
        System.out.println("BUSY " + noop.hashCode());
    }

    /** Two threads call one Predictor 10 times each, started together; prints each distinct output digest. */
    private static void concurrent(String model) throws Exception {
        NDArray input = ResNetTest.seededImages(1, 256, 320, 7);
        try (Predictor p = new Predictor(model)) {
            java.util.Set<String> digests = java.util.concurrent.ConcurrentHashMap.newKeySet();
            java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < 10; i++) {
                        NDArray out = p.predictWithNDArray(List.of(input)).get(0);
                        digests.add(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(out.toRawBytes())));
                    }
                    return null;
                }));
            }
            for (java.util.concurrent.Future<?> f : done) {
                f.get();
            }
            pool.shutdown();
            digests.forEach(d -> System.out.println("CONCURRENT " + d));
            System.out.println("RUNNERS " + p.runnerCount());
        }
    }

    /** Loads a model, predicts on a seeded input three times, and returns the SHA-256 of the last output's bytes. */
    private static String runOnce(String which) throws Exception {
        String[] parts = which.split("=", 2);
        Predictor p;
        NDArray input;
        if (parts[0].equals("e2e")) {
            p = new Predictor(parts[1]);
            input = ResNetTest.seededImages(1, 256, 320, 7);
        } else {
            p = new Predictor(parts[1], List.of(new DataDesc("data", new Shape(-1, 3, 224, 224), DType.FLOAT32, "NCHW")),
                    List.of(Context.cpu()), 0);
            float[] x = new float[2 * 3 * 224 * 224];
            Random r = new Random(11);
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            input = NDArray.ofFloats(x, new Shape(2, 3, 224, 224));
        }
        try (p) {
            NDArray out = null;
            for (int i = 0; i < 3; i++) {
                out = p.predictWithNDArray(List.of(input)).get(0);
            }
            TestSupport.assertMeaningful(out, which);
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(out.toRawBytes()));
        }
    }
}
