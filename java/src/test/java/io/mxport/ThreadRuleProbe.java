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
    private ThreadRuleProbe() {}

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
                    System.setProperty(Environment.THREADS_PROPERTY, "1");
                    System.clearProperty(Environment.ENGINE_WORKERS_PROPERTY);
                    new Predictor(args[1]).close();
                    System.out.println("RETRY LOADED");
                }
                break;
            case "--busy-worker": // args: libmxnet path, model; an operator ran on the worker before mxport loads
                busyWorker(args[1]);
                System.setProperty(
                        Environment.THREADS_PROPERTY,
                        String.valueOf(Runtime.getRuntime().availableProcessors() + 1));
                new Predictor(args[2]).close();
                break;
            case "--environment": // args: model; the typed settings, before the first load
                Environment.setThreads(Integer.parseInt(args[2]));
                Environment.setEngineWorkers(Integer.parseInt(args[3]));
                System.out.println("BEFORE_LOAD " + Environment.applied().isPresent());
                new Predictor(args[1]).close();
                System.out.println(
                        "REQUESTED " + Environment.applied().orElseThrow().getRequestedThreads() + " "
                                + Environment.applied().orElseThrow().getRequestedEngineWorkers());
                for (String w : eachWorkerOmpThreads()) {
                    System.out.println("EACH " + w);
                }
                break;
            case "--stale-error": // args: libmxnet path, ResNet-18 end to end; the user's MXNet work failed, not waited
                // for
                byte[] cutPng = truncatedPng();
                MxnetLibrary user = MxnetLibrary.load(args[1]);
                System.out.println("UNWAITED " + decodeWithoutWaiting(user, cutPng));
                System.out.println("OUTPUT e2e=" + args[2] + " " + runOnce("e2e=" + args[2]));
                System.out.println("STALE "
                        + (user.MXNDArrayWaitAll() == 0
                                ? "none"
                                : user.MXGetLastError().lines().findFirst().orElse("(no message)")));
                break;
            case "--sequence": // args: models to load and run one after the other; "e2e" is ResNet-18 end to end
                for (int i = 1; i < args.length; i++) {
                    System.out.println("OUTPUT " + args[i] + " " + runOnce(args[i]));
                }
                break;
            case "--concurrent": // args: ResNet-18 end to end; one output alone, then from two threads at once
                System.out.println("OUTPUT " + runOnce("e2e=" + args[1]));
                concurrent(args[1]);
                for (String w : eachWorkerOmpThreads()) {
                    System.out.println("EACH " + w);
                }
                System.out.println(
                        "WORKERS " + Environment.applied().orElseThrow().getEngineWorkers());
                System.out.println("WORKERENV MXNET_CPU_WORKER_NTHREADS="
                        + Native.load("c", CLibrary.class).getenv("MXNET_CPU_WORKER_NTHREADS"));
                break;
            default:
                throw new IllegalArgumentException(args[0]);
        }
        Environment.Applied d = Environment.applied().orElseThrow();
        System.out.println("OUTCOME " + d.getOutcome());
        System.out.println("COUNT " + d.getThreads());
        System.out.println("WORKERS " + d.getEngineWorkers());
        System.out.println("SPIN " + d.isSpinCountSet());
        System.out.println("BEFORE " + d.workerCountBefore);
        System.out.println("WORKER " + workerOmpThreads());
        System.out.println(
                "ENV GOMP_SPINCOUNT=" + Native.load("c", CLibrary.class).getenv("GOMP_SPINCOUNT"));
        System.out.println("TEXT " + d.text);
    }

    /** The CPU(0) engine worker's omp_get_max_threads() now, or -1 when libgomp is not found. */
    private static int workerOmpThreads() {
        ThreadRule.OpenMp openMp = ThreadRule.openMp();
        int[] seen = {-1};
        EngineWorkers.onEachCpuWorker(
                1, () -> seen[0] = openMp == null ? -1 : openMp.omp_get_max_threads(), "mxport_probe");
        return seen[0];
    }

    /**
     * Each CPU(0) engine worker's thread id and omp_get_max_threads() now, as "tid:count" (one callback per worker
     * of the rule's decision, each waiting for the others, so no worker runs two).
     */
    private static List<String> eachWorkerOmpThreads() {
        ThreadRule.OpenMp openMp = ThreadRule.openMp();
        List<String> seen = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        EngineWorkers.onEachCpuWorker(
                Environment.applied().orElseThrow().getEngineWorkers(),
                () -> {
                    try {
                        seen.add(ThreadRule.currentThreadId() + ":"
                                + (openMp == null ? -1 : openMp.omp_get_max_threads()));
                    } catch (Throwable e) { // nothing may escape into the engine
                        seen.add("failed:" + e);
                    }
                },
                "mxport_probe");
        return new java.util.ArrayList<>(seen);
    }

    /** Loads libmxnet itself and runs an engine operation on the CPU worker, as other MXNet code in the JVM could. */
    private static void busyWorker(String path) {
        MxnetLibrary lib = MxnetLibrary.load(path);
        MxnetLibrary.EngineSyncFunc noop = (runContext, param) -> {};
        Memory cpu = new Memory(8);
        cpu.setInt(0, 1);
        cpu.setInt(4, 0);
        if (lib.MXEnginePushSync(noop, null, null, cpu, null, 0, null, 0, null, 0, "probe") != 0
                || lib.MXNDArrayWaitAll() != 0) {
            throw new IllegalStateException(lib.MXGetLastError());
        }
        System.out.println("BUSY " + noop.hashCode());
    }

    /** The first half of a PNG: its header is whole, so MXNet decodes it on the engine, where the decode fails. */
    private static byte[] truncatedPng() throws java.io.IOException {
        java.awt.image.BufferedImage image =
                new java.awt.image.BufferedImage(64, 48, java.awt.image.BufferedImage.TYPE_INT_RGB);
        Random r = new Random(3);
        for (int y = 0; y < 48; y++) {
            for (int x = 0; x < 64; x++) {
                image.setRGB(x, y, r.nextInt());
            }
        }
        java.io.ByteArrayOutputStream png = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageIO.write(image, "png", png);
        return java.util.Arrays.copyOf(png.toByteArray(), png.size() / 2);
    }

    /**
     * Runs {@code _cvimdecode} on {@code encoded} through the C API, as a user's own MXNet code might, and never
     * waits for its output: the decode's failure stays in MXNet's engine for the next wait on everything.
     * Returns MXImperativeInvoke's return code (0: pushed).
     */
    private static int decodeWithoutWaiting(MxnetLibrary lib, byte[] encoded) {
        com.sun.jna.ptr.PointerByReference array = new com.sun.jna.ptr.PointerByReference();
        com.sun.jna.ptr.PointerByReference op = new com.sun.jna.ptr.PointerByReference();
        Memory bytes = new Memory(encoded.length);
        bytes.write(0, encoded, 0, encoded.length);
        if (lib.MXNDArrayCreateEx(new int[] {encoded.length}, 1, 1, 0, 0, 3, array) != 0
                || lib.MXNDArraySyncCopyFromCPU(array.getValue(), bytes, encoded.length) != 0
                || lib.NNGetOpHandle("_cvimdecode", op) != 0) {
            throw new IllegalStateException(lib.MXGetLastError());
        }
        return lib.MXImperativeInvoke(
                op.getValue(),
                1,
                new com.sun.jna.Pointer[] {array.getValue()},
                new com.sun.jna.ptr.IntByReference(0),
                new com.sun.jna.ptr.PointerByReference(com.sun.jna.Pointer.NULL),
                2,
                new String[] {"flag", "to_rgb"},
                new String[] {"1", "1"});
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
                        digests.add(HexFormat.of()
                                .formatHex(MessageDigest.getInstance("SHA-256").digest(out.toRawBytes())));
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
            p = new Predictor(
                    parts[1],
                    List.of(new DataDesc("data", new Shape(-1, 3, 224, 224), DType.FLOAT32, "NCHW")),
                    List.of(Context.cpu()),
                    0);
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
