package io.mxport.serve;

import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;

/** The server's counters, written in the Prometheus text format (version 0.0.4) at {@code GET /metrics}. */
final class Metrics {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    private static final double[] SECONDS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    private static final double[] SAMPLES = {1, 2, 4, 8, 16, 32, 64, 128, 256};

    private final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, Histogram> latency = new ConcurrentHashMap<>();
    private final Map<String, Histogram> queue = new ConcurrentHashMap<>();
    private final Map<String, Histogram> batches = new ConcurrentHashMap<>();
    private final Map<String, BooleanSupplier> ready = new ConcurrentHashMap<>();
    final AtomicLong inFlight = new AtomicLong();

    /** One answered request: model ("" when none was named), protocol (http, grpc), status (HTTP code). */
    void request(String model, String protocol, int status, double seconds) {
        requests.computeIfAbsent(
                        labels("model", model, "protocol", protocol, "status", Integer.toString(status)),
                        k -> new LongAdder())
                .increment();
        if (!model.isEmpty()) {
            latency.computeIfAbsent(labels("model", model), k -> new Histogram(SECONDS))
                    .observe(seconds);
        }
    }

    void queued(String model, double seconds) {
        queue.computeIfAbsent(labels("model", model), k -> new Histogram(SECONDS))
                .observe(seconds);
    }

    void batch(String model, int samples) {
        batches.computeIfAbsent(labels("model", model), k -> new Histogram(SAMPLES))
                .observe(samples);
    }

    void readiness(String model, BooleanSupplier isReady) {
        ready.put(labels("model", model), isReady);
    }

    String scrape() {
        StringBuilder b = new StringBuilder();
        b.append("# HELP mxport_requests_total Requests answered, by model, protocol and HTTP status.\n");
        b.append("# TYPE mxport_requests_total counter\n");
        requests.forEach((l, n) -> b.append("mxport_requests_total")
                .append(l)
                .append(' ')
                .append(n.sum())
                .append('\n'));
        histogram(b, "mxport_request_duration_seconds", "Time from a request's arrival to its answer.", latency);
        histogram(b, "mxport_queue_duration_seconds", "Time a request waited for its batch to start computing.", queue);
        histogram(b, "mxport_batch_size", "Samples per computed batch (merged requests).", batches);
        b.append("# HELP mxport_requests_in_flight Requests received and not yet answered.\n");
        b.append("# TYPE mxport_requests_in_flight gauge\n");
        b.append("mxport_requests_in_flight ").append(inFlight.get()).append('\n');
        b.append("# HELP mxport_model_ready 1 when the model has warmed up and takes requests.\n");
        b.append("# TYPE mxport_model_ready gauge\n");
        ready.forEach((l, r) -> b.append("mxport_model_ready")
                .append(l)
                .append(' ')
                .append(r.getAsBoolean() ? 1 : 0)
                .append('\n'));
        return b.toString();
    }

    private static void histogram(StringBuilder b, String name, String help, Map<String, Histogram> series) {
        b.append("# HELP ").append(name).append(' ').append(help).append('\n');
        b.append("# TYPE ").append(name).append(" histogram\n");
        series.forEach((l, h) -> h.write(b, name, l));
    }

    static String labels(String... kv) {
        StringBuilder b = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            b.append(i > 0 ? "," : "")
                    .append(kv[i])
                    .append("=\"")
                    .append(kv[i + 1]
                            .replace("\\", "\\\\")
                            .replace("\"", "\\\"")
                            .replace("\n", "\\n"))
                    .append('"');
        }
        return b.append('}').toString();
    }

    private static final class Histogram {
        private final double[] bounds;
        private final LongAdder[] counts;
        private final LongAdder count = new LongAdder();
        private final DoubleAdder sum = new DoubleAdder();

        Histogram(double[] bounds) {
            this.bounds = bounds;
            this.counts = new LongAdder[bounds.length];
            for (int i = 0; i < bounds.length; i++) {
                counts[i] = new LongAdder();
            }
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) {
                if (v <= bounds[i]) {
                    counts[i].increment();
                    break;
                }
            }
            count.increment();
            sum.add(v);
        }

        void write(StringBuilder b, String name, String labels) {
            String inner = labels.substring(1, labels.length() - 1);
            long cumulative = 0;
            for (int i = 0; i < bounds.length; i++) {
                cumulative += counts[i].sum();
                b.append(name)
                        .append("_bucket{")
                        .append(inner)
                        .append(",le=\"")
                        .append(format(bounds[i]))
                        .append("\"} ")
                        .append(cumulative)
                        .append('\n');
            }
            b.append(name)
                    .append("_bucket{")
                    .append(inner)
                    .append(",le=\"+Inf\"} ")
                    .append(count.sum())
                    .append('\n');
            b.append(name)
                    .append("_sum")
                    .append(labels)
                    .append(' ')
                    .append(format(sum.sum()))
                    .append('\n');
            b.append(name)
                    .append("_count")
                    .append(labels)
                    .append(' ')
                    .append(count.sum())
                    .append('\n');
        }

        private static String format(double v) {
            return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.format(Locale.ROOT, "%.1f", v) : Double.toString(v);
        }
    }
}
