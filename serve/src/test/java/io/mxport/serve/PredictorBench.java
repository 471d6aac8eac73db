package io.mxport.serve;

import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The in-process row of {@code make bench-serve}: C threads call one Predictor with uint8 [B,224,224,3], R calls
 * each after 10 warm-up calls; prints one JSON line (calls/s counted in samples, p50 and p99 ms per call, and the
 * process's CPU time per sample in ms, as bench_serve.py counts the server's).
 *
 * <pre>java -cp serve/target/test-classes:serve/target/mxport-serve-VERSION.jar io.mxport.serve.PredictorBench PREFIX C R B</pre>
 *
 * <p>With {@code PREFIX --blocks} it serves benchmarks/serve_paired.py instead: one thread, batch 1; each line N on
 * standard input runs N calls and answers one line with their times in ms, until the input ends. So the in-process
 * Predictor's blocks alternate with a server's in one run, and both meet the same moments of a noisy machine.
 * {@code PREFIX --blocks GAP_US} parks the thread GAP_US microseconds before each call (a server's thread waits for
 * its next request between calls) and times the calls alone.
 */
public final class PredictorBench {
    private PredictorBench() {}

    public static void main(String[] args) throws Exception {
        String prefix = args[0];
        if (args.length > 1 && args[1].equals("--blocks")) {
            blocks(prefix, args.length > 2 ? Long.parseLong(args[2]) * 1000 : 0);
            return;
        }
        int clients = Integer.parseInt(args[1]);
        int calls = Integer.parseInt(args[2]);
        int batch = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        byte[] pixels = new byte[batch * 224 * 224 * 3];
        new Random(7).nextBytes(pixels);
        NDArray input = NDArray.ofBytes(pixels, new Shape(batch, 224, 224, 3));
        try (Predictor p = new Predictor(prefix)) {
            for (int i = 0; i < 10; i++) {
                p.predictWithNDArray(List.of(input));
            }
            ExecutorService pool = Executors.newFixedThreadPool(clients);
            List<Future<double[]>> futures = new ArrayList<>();
            com.sun.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getPlatformMXBean(
                    com.sun.management.OperatingSystemMXBean.class);
            long cpuStart = os.getProcessCpuTime();
            long start = System.nanoTime();
            for (int c = 0; c < clients; c++) {
                futures.add(pool.submit(() -> {
                    double[] ms = new double[calls];
                    for (int i = 0; i < calls; i++) {
                        long t = System.nanoTime();
                        p.predictWithNDArray(List.of(input));
                        ms[i] = (System.nanoTime() - t) / 1e6;
                    }
                    return ms;
                }));
            }
            double[] all = new double[clients * calls];
            for (int c = 0; c < clients; c++) {
                System.arraycopy(futures.get(c).get(), 0, all, c * calls, calls);
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            double cpuMs = (os.getProcessCpuTime() - cpuStart) / 1e6 / ((double) clients * calls * batch);
            pool.shutdown();
            Arrays.sort(all);
            System.out.printf(
                    java.util.Locale.ROOT,
                    "{\"samples_per_s\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"cpu_ms_per_sample\": %.2f}%n",
                    clients * calls * batch / seconds,
                    all[all.length / 2],
                    all[Math.min(all.length - 1, (int) Math.ceil(all.length * 0.99) - 1)],
                    cpuMs);
        }
    }

    private static void blocks(String prefix, long gapNanos) throws Exception {
        byte[] pixels = new byte[224 * 224 * 3];
        new Random(7).nextBytes(pixels);
        NDArray input = NDArray.ofBytes(pixels, new Shape(1, 224, 224, 3));
        java.io.BufferedReader in = new java.io.BufferedReader(new java.io.InputStreamReader(System.in, "UTF-8"));
        try (Predictor p = new Predictor(prefix)) {
            System.out.println("ready");
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                int calls = Integer.parseInt(line.trim());
                StringBuilder out = new StringBuilder("[");
                for (int i = 0; i < calls; i++) {
                    if (gapNanos > 0) {
                        java.util.concurrent.locks.LockSupport.parkNanos(gapNanos);
                    }
                    long t = System.nanoTime();
                    p.predictWithNDArray(List.of(input));
                    out.append(i == 0 ? "" : ", ").append((System.nanoTime() - t) / 1e6);
                }
                System.out.println(out.append(']'));
            }
        }
    }
}
