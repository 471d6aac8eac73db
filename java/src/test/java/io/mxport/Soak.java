package io.mxport;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A load (soak) test: several threads call shared and per-thread Predictors for a bounded time, and every output
 * is compared bit for bit ({@link NDArray#equals}) with the output of a serial run on the same inputs.
 *
 * <pre>
 * java ... io.mxport.Soak [seconds=180] [threads=4] [resnet-prefix=.cache/models/resnet18] [report=.cache/reports/soak.json]
 * </pre>
 *
 * <p>Models: the end-to-end ResNet-18 (uint8 NHWC images of any size; batches 1, 2 and 5 at several image sizes)
 * and the spec vectors {@code multi_in_multi_out} (two float32 inputs, two outputs) and {@code uint8_image}
 * (uint8 [-1,12,10,3], a fixed image size: batches 1, 2 and 5). Inputs are seeded, so every run checks the same
 * data. The serial reference comes from a Predictor used by one thread and closed before the load starts; the
 * shared Predictors then run every input once, serially, and must already match it.
 *
 * <p>Threads: the first half (rounded up) call one shared Predictor per model; the others each open their own
 * Predictor per model (whose weights are shared with the shared Predictor's, same params file) and now and then
 * close and reopen it, so that loading and freeing happen under load. Every call picks a model, then an input,
 * at random (seeded per thread).
 *
 * <p>Reports predictions (calls) and samples checked, throughput, mismatches, exceptions, reopens, and VmRSS at
 * start (threads starting, after the references and the shared Predictors' warm-up), mid-run, end (threads
 * joined, so their own Predictors closed; the shared ones still open), after closing the shared ones, and the
 * maximum sampled every 250 ms; and predictions per second, VmRSS and the load average every 10 s (5 s in runs under
 * a minute). Run it in a JVM whose heap is resident from the start ({@code -Xms1g -Xmx1g
 * -XX:+AlwaysPreTouch}, as Surefire's) so that VmRSS is about native memory. Prints a
 * summary, writes it as JSON (default {@code <repo>/.cache/reports/soak.json}), and from {@link #main} exits 1
 * unless there were no mismatches and no errors.
 */
public final class Soak {
    /** Calls of an own-Predictor thread on a small model between two reopens of that Predictor, on average. */
    static final int REOPEN_SMALL = 25;
    /** The same for ResNet-18, whose load reads and hashes 45 MB. */
    static final int REOPEN_RESNET = 10;

    private static final int MAX_REPORTED_FAILURES = 20;
    /** Threads still in a call this long after the deadline count as a hang (system property mxport.soak.hangSeconds). */
    static final long HANG_SECONDS = Long.getLong("mxport.soak.hangSeconds", 300);

    private Soak() {}

    /** One input (a batch) of a model and its serial outputs. */
    static final class Case {
        final String name;
        final List<NDArray> inputs;
        List<NDArray> want;

        Case(String name, List<NDArray> inputs) {
            this.name = name;
            this.inputs = inputs;
        }

        int batch() {
            return inputs.get(0).getShape().get(0);
        }
    }

    /** A model and the inputs the soak runs through it. */
    static final class Model {
        final String name;
        final String prefix;
        final int reopenOdds;
        final List<Case> cases = new ArrayList<>();

        Model(String name, String prefix, int reopenOdds) {
            this.name = name;
            this.prefix = prefix;
            this.reopenOdds = reopenOdds;
        }
    }

    /** What a run measured. */
    public static final class Result {
        public int threads;
        public int sharedThreads;
        public int ownThreads;
        public double seconds;
        public double actualSeconds;
        public long predictions;
        public long samples;
        public long mismatches;
        public long errors;
        public long reopens;
        public long rssStartKb;
        public long rssMidKb;
        public long rssEndKb;
        public long rssAfterCloseKb;
        public long rssMaxKb;
        public final Map<String, Object> report = new LinkedHashMap<>();
        public final List<String> failures = Collections.synchronizedList(new ArrayList<>());

        public boolean ok() {
            return mismatches == 0 && errors == 0 && predictions > 0;
        }

        public double throughput() {
            return predictions / actualSeconds;
        }

        public String summary() {
            return String.format(
                    "[soak] %d threads (%d on shared Predictors, %d on their own) x %.0f s (%.1f s run):"
                            + " %d predictions checked (%d samples), %.1f predictions/s, %d mismatches, %d errors, %d reopens;"
                            + " VmRSS start %d kB, mid %d kB, end %d kB (%+d kB), max %d kB, after close %d kB; load average %s -> %s",
                    threads,
                    sharedThreads,
                    ownThreads,
                    seconds,
                    actualSeconds,
                    predictions,
                    samples,
                    throughput(),
                    mismatches,
                    errors,
                    reopens,
                    rssStartKb,
                    rssMidKb,
                    rssEndKb,
                    rssEndKb - rssStartKb,
                    rssMaxKb,
                    rssAfterCloseKb,
                    report.get("loadAverageStart"),
                    report.get("loadAverageEnd"));
        }
    }

    /**
     * Resident memory once warmed up: the first 10 s sample at or after 60 s, and the largest relative distance
     * from it of any later sample taken while the threads ran (the compass asks for at most 5 %; the reading after
     * the threads joined is left out: their own Predictors are closed by then). Nothing for runs under 70 s.
     */
    @SuppressWarnings("unchecked")
    static void putDriftAfterFirstMinute(Map<String, Object> j) {
        List<Map<String, Object>> windows = (List<Map<String, Object>>) j.get("windows");
        long base = -1;
        double drift = 0;
        for (Map<String, Object> w : windows) {
            long second = ((Number) w.get("endSecond")).longValue();
            long rss = ((Number) w.get("rssKb")).longValue();
            if (second >= 60 && base < 0) {
                base = rss;
            } else if (base > 0) {
                drift = Math.max(drift, Math.abs(rss - base) / (double) base);
            }
        }
        if (base > 0) {
            j.put("rssAfterFirstMinuteKb", base);
            j.put("rssDriftAfterFirstMinutePercent", Math.round(drift * 1000) / 10.0);
        }
    }

    public static void main(String[] args) throws Exception {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 180;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        String resnet = args.length > 2 && !args[2].isEmpty() ? args[2] : TestSupport.resnet();
        Path report = args.length > 3
                ? Paths.get(args[3])
                : TestSupport.root().resolve(".cache").resolve("reports").resolve("soak.json");
        Result r = run(seconds, threads, resnet, report, System.out);
        System.exit(r.ok() ? 0 : 1);
    }

    /** The models and seeded inputs of a soak; {@code resnet} may be null to leave ResNet-18 out. */
    static List<Model> models(String resnet) {
        List<Model> models = new ArrayList<>();
        if (resnet != null) {
            Model m = new Model("resnet18", resnet, REOPEN_RESNET);
            int[][] shapes = {{1, 32, 40}, {2, 48, 36}, {5, 24, 32}, {1, 64, 48}}; // batch, height, width
            for (int[] s : shapes) {
                m.cases.add(new Case(
                        "b" + s[0] + "_" + s[1] + "x" + s[2],
                        List.of(ResNetTest.seededImages(s[0], s[1], s[2], 1000 + s[0] * 100 + s[1]))));
            }
            models.add(m);
        }
        Path vectors = TestSupport.vectors();
        Model multi = new Model(
                "multi_in_multi_out",
                vectors.resolve("multi_in_multi_out/model").toString(),
                REOPEN_SMALL);
        Model image =
                new Model("uint8_image", vectors.resolve("uint8_image/model").toString(), REOPEN_SMALL);
        for (int batch : new int[] {1, 2, 5}) {
            Random rnd = new Random(500 + batch);
            multi.cases.add(new Case(
                    "b" + batch, List.of(gaussian(rnd, new Shape(batch, 4)), gaussian(rnd, new Shape(batch, 3)))));
            byte[] pixels = new byte[batch * 12 * 10 * 3];
            rnd.nextBytes(pixels);
            image.cases.add(new Case("b" + batch, List.of(NDArray.ofBytes(pixels, new Shape(batch, 12, 10, 3)))));
        }
        models.add(multi);
        models.add(image);
        return models;
    }

    private static NDArray gaussian(Random rnd, Shape shape) {
        float[] x = new float[shape.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) rnd.nextGaussian();
        }
        return NDArray.ofFloats(x, shape);
    }

    static long rssKb() {
        try {
            return TestSupport.rssKb();
        } catch (IOException e) {
            return -1;
        }
    }

    static String loadAverage() {
        try {
            String[] f = Files.readString(Paths.get("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "?";
        }
    }

    private static boolean sameOutputs(List<NDArray> got, List<NDArray> want) {
        if (got.size() != want.size()) {
            return false;
        }
        for (int i = 0; i < want.size(); i++) {
            if (!want.get(i).equals(got.get(i))) {
                return false;
            }
        }
        return true;
    }

    /** A reference of zeros (or a constant) would make the comparison pass whatever the threads get. */
    private static void checkMeaningful(Model m, Case c) {
        for (NDArray out : c.want) {
            float[] v = out.toFloatArray();
            float min = Float.POSITIVE_INFINITY;
            float max = Float.NEGATIVE_INFINITY;
            for (float x : v) {
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
            if (!(max > min) || Float.isNaN(min) || Float.isNaN(max)) {
                throw new IllegalStateException(m.name + " " + c.name + ": the serial output is constant or NaN");
            }
        }
    }

    /**
     * Runs the soak and writes its report (when {@code report} is not null).
     *
     * @param seconds how long the threads run
     * @param threads how many threads; the first {@code (threads + 1) / 2} share Predictors
     * @param resnet the ResNet-18 prefix, or null to run the small models alone
     */
    public static Result run(double seconds, int threads, String resnet, Path report, PrintStream log)
            throws Exception {
        Result r = new Result();
        r.threads = threads;
        r.sharedThreads = (threads + 1) / 2;
        r.ownThreads = threads - r.sharedThreads;
        r.seconds = seconds;
        r.report.put("date", Instant.now().toString());
        r.report.put("cpus", Runtime.getRuntime().availableProcessors());
        r.report.put("loadAverageStart", loadAverage());
        r.report.put("rssBeforeLoadKb", rssKb());

        List<Model> models = models(resnet);
        // the serial reference: one Predictor per model, one thread, closed before the load
        long t0 = System.nanoTime();
        for (Model m : models) {
            try (Predictor p = new Predictor(m.prefix)) {
                for (Case c : m.cases) {
                    c.want = p.predictWithNDArray(c.inputs);
                    checkMeaningful(m, c);
                }
            }
        }
        List<Predictor> shared = new ArrayList<>();
        boolean hung = false;
        AtomicLong predictions = new AtomicLong();
        AtomicLong samples = new AtomicLong();
        AtomicLong mismatches = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        AtomicLong reopens = new AtomicLong();
        AtomicLongArray perModel = new AtomicLongArray(models.size());
        try {
            // the shared Predictors run every input once, serially: the same bits as the reference Predictor
            for (Model m : models) {
                Predictor p = new Predictor(m.prefix);
                shared.add(p);
                for (Case c : m.cases) {
                    if (!sameOutputs(p.predictWithNDArray(c.inputs), c.want)) {
                        mismatches.incrementAndGet();
                        r.failures.add(
                                "serial: a second Predictor of " + m.name + " gives other outputs for " + c.name);
                    }
                }
            }
            r.report.put("setupSeconds", (System.nanoTime() - t0) / 1e9);

            r.rssStartKb = rssKb();
            long[] rssMax = {r.rssStartKb};
            long start = System.nanoTime();
            long deadline = start + (long) (seconds * 1e9);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                boolean useShared = t < r.sharedThreads;
                int id = t;
                Thread w = new Thread(
                        () -> {
                            Random rnd = new Random(7919L * (id + 1));
                            Predictor[] own = new Predictor[models.size()];
                            try {
                                while (System.nanoTime() < deadline) {
                                    int mi = rnd.nextInt(models.size());
                                    Model m = models.get(mi);
                                    Case c = m.cases.get(rnd.nextInt(m.cases.size()));
                                    try {
                                        Predictor p;
                                        if (useShared) {
                                            p = shared.get(mi);
                                        } else {
                                            if (own[mi] != null && rnd.nextInt(m.reopenOdds) == 0) {
                                                own[mi].close();
                                                own[mi] = null;
                                                reopens.incrementAndGet();
                                            }
                                            if (own[mi] == null) {
                                                own[mi] = new Predictor(m.prefix);
                                            }
                                            p = own[mi];
                                        }
                                        List<NDArray> got = p.predictWithNDArray(c.inputs);
                                        predictions.incrementAndGet();
                                        perModel.incrementAndGet(mi);
                                        samples.addAndGet(c.batch());
                                        if (!sameOutputs(got, c.want)) {
                                            mismatches.incrementAndGet();
                                            if (r.failures.size() < MAX_REPORTED_FAILURES) {
                                                r.failures.add("thread " + id + (useShared ? " (shared)" : " (own)")
                                                        + ": " + m.name + " " + c.name
                                                        + " differs from the serial run");
                                            }
                                        }
                                    } catch (Throwable e) {
                                        errors.incrementAndGet();
                                        if (r.failures.size() < MAX_REPORTED_FAILURES) {
                                            r.failures.add("thread " + id + (useShared ? " (shared)" : " (own)") + ": "
                                                    + m.name + " " + c.name + ": " + e);
                                        }
                                    }
                                }
                            } finally {
                                for (Predictor p : own) {
                                    if (p != null) {
                                        p.close();
                                    }
                                }
                            }
                        },
                        "soak-" + t + (useShared ? "-shared" : "-own"));
                workers.add(w);
            }
            workers.forEach(Thread::start);
            // sample VmRSS while the threads run: the maximum, and one reading mid-run
            long mid = start + (deadline - start) / 2;
            boolean midTaken = false;
            // throughput over time, with the machine's load, in windows of 10 s (5 s for runs under a minute)
            long window = seconds >= 60 ? 10_000_000_000L : 5_000_000_000L;
            long nextWindow = start + window;
            long lastCount = 0;
            List<Map<String, Object>> windows = new ArrayList<>();
            r.report.put("windows", windows);
            while (workers.stream().anyMatch(Thread::isAlive)) {
                long now = System.nanoTime();
                if (now >= nextWindow && now <= deadline) {
                    long count = predictions.get();
                    Map<String, Object> w = new LinkedHashMap<>();
                    w.put("endSecond", Math.round((now - start) / 1e9));
                    w.put("predictionsPerSecond", Math.round((count - lastCount) / (window / 1e9) * 10) / 10.0);
                    w.put("rssKb", rssKb());
                    w.put("loadAverage1m", loadAverage().split(" ")[0]);
                    windows.add(w);
                    lastCount = count;
                    nextWindow += window;
                }
                if (!midTaken && now >= mid) {
                    r.rssMidKb = rssKb();
                    midTaken = true;
                }
                rssMax[0] = Math.max(rssMax[0], rssKb());
                if (now > deadline + HANG_SECONDS * 1_000_000_000L) {
                    errors.incrementAndGet();
                    r.failures.add("threads still running " + HANG_SECONDS + " s after the deadline: a hang");
                    for (Thread w : workers) {
                        if (w.isAlive()) {
                            StringBuilder where = new StringBuilder(w.getName() + " hangs in");
                            for (StackTraceElement e : w.getStackTrace()) {
                                where.append(" <- ").append(e);
                            }
                            r.failures.add(where.toString());
                        }
                    }
                    hung = true;
                    break;
                }
                Thread.sleep(250);
            }
            for (Thread w : workers) {
                w.join(1000);
            }
            r.actualSeconds = (System.nanoTime() - start) / 1e9;
            r.rssEndKb = rssKb();
            if (!midTaken) {
                r.rssMidKb = r.rssEndKb;
            }
            r.rssMaxKb = Math.max(rssMax[0], r.rssEndKb);
        } finally {
            if (!hung) { // a hung thread holds a shared Predictor's lock: closing it would hang too
                shared.forEach(Predictor::close);
            }
        }
        r.rssAfterCloseKb = rssKb();
        r.predictions = predictions.get();
        r.samples = samples.get();
        r.mismatches = mismatches.get();
        r.errors = errors.get();
        r.reopens = reopens.get();

        Map<String, Object> j = r.report;
        j.put("threads", r.threads);
        j.put("sharedThreads", r.sharedThreads);
        j.put("ownThreads", r.ownThreads);
        j.put("seconds", r.seconds);
        j.put("actualSeconds", r.actualSeconds);
        j.put("predictions", r.predictions);
        j.put("samples", r.samples);
        j.put("predictionsPerSecond", r.throughput());
        j.put("samplesPerSecond", r.samples / r.actualSeconds);
        j.put("mismatches", r.mismatches);
        j.put("errors", r.errors);
        j.put("reopens", r.reopens);
        Map<String, Object> per = new LinkedHashMap<>();
        for (int i = 0; i < models.size(); i++) {
            Model m = models.get(i);
            List<String> cases = new ArrayList<>();
            m.cases.forEach(c -> cases.add(c.name));
            per.put(m.name, Map.of("predictions", perModel.get(i), "inputs", cases));
        }
        j.put("models", per);
        j.put("rssStartKb", r.rssStartKb);
        j.put("rssMidKb", r.rssMidKb);
        j.put("rssEndKb", r.rssEndKb);
        j.put("rssGrowthKb", r.rssEndKb - r.rssStartKb);
        j.put("rssMaxKb", r.rssMaxKb);
        j.put("rssAfterCloseKb", r.rssAfterCloseKb);
        putDriftAfterFirstMinute(j);
        j.put("loadAverageEnd", loadAverage());
        j.put("java", System.getProperty("java.version"));
        j.put("ok", r.ok());
        j.put("failures", new ArrayList<>(r.failures));
        if (report != null) {
            Files.createDirectories(report.toAbsolutePath().getParent());
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(report.toFile(), j);
        }
        log.println(r.summary());
        if (j.containsKey("rssDriftAfterFirstMinutePercent")) {
            log.printf(
                    "[soak] VmRSS after the first minute %d kB; largest distance from it while the threads ran %.1f %%%n",
                    j.get("rssAfterFirstMinuteKb"), j.get("rssDriftAfterFirstMinutePercent"));
        }
        for (String f : r.failures) {
            log.println("[soak]   " + f);
        }
        if (report != null) {
            log.println("[soak] report: " + report);
        }
        return r;
    }
}
