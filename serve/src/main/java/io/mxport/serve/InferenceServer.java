package io.mxport.serve;

import io.mxport.ErrorCode;
import io.mxport.MxportException;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The protocol-independent server: the models, readiness, the infer path with its limits, metrics and the access
 * log. {@link HttpFrontend} and {@link GrpcFrontend} translate their wire formats to and from it.
 */
final class InferenceServer implements AutoCloseable {
    static final String NAME = "mxport-serve";
    static final String VERSION = version();

    final ServeOptions options;
    final Metrics metrics = new Metrics();
    private final Map<String, ModelHost> models = new LinkedHashMap<>();
    private volatile boolean draining;

    /** Loads every model (failures are MxportExceptions naming the model file); nothing is ready before warmUp. */
    InferenceServer(ServeOptions options) {
        this.options = options;
        Engine engine = Engines.byName(options.engine);
        engine.configure(options);
        try {
            for (Map.Entry<String, String> m : options.models.entrySet()) {
                models.put(m.getKey(), new ModelHost(m.getKey(), engine.load(m.getValue()), engine, options, metrics));
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Runs each model once; a model becomes ready when its warm-up ran. */
    void warmUp() {
        for (ModelHost m : models.values()) {
            m.warmUp();
        }
    }

    private static String version() {
        String v = InferenceServer.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    boolean isLive() {
        return true;
    }

    boolean isReady() {
        return !draining && models.values().stream().allMatch(ModelHost::isReady);
    }

    boolean isDraining() {
        return draining;
    }

    /**
     * From now on new requests are refused with 503 and readiness is false (SIGTERM: the load balancer moves on);
     * requests received before go on.
     */
    void drain() {
        draining = true;
    }

    /** The model of that name (and version: the one version is "1" or empty). */
    ModelHost model(String name, String version) {
        ModelHost m = models.get(name);
        if (m == null) {
            throw new ServeException(
                    404,
                    ErrorCode.MODEL_NOT_FOUND.name(),
                    "no model '" + name + "' is served here; the" + " models are " + models.keySet()
                            + " (GET /v2/models/<name>)");
        }
        if (version != null && !version.isEmpty() && !version.equals("1")) {
            throw new ServeException(
                    404,
                    ErrorCode.MODEL_NOT_FOUND.name(),
                    "model '" + name + "' has only version 1," + " not '" + version + "': leave the version out");
        }
        return m;
    }

    Iterable<ModelHost> models() {
        return models.values();
    }

    /** A ticket of the model's batcher for a request that just arrived ({@link Batcher.Ticket}); null if none such. */
    Batcher.Ticket expect(String name, String version) {
        try {
            return model(name, version).expect();
        } catch (ServeException e) {
            return null; // an unknown model: the request is answered 404 later
        }
    }

    /** {@code ticket}: the request's, taken from its model's {@link ModelHost#expect()} as it arrived, or null. */
    InferenceResult infer(InferenceRequest request, String version, long startNanos, Batcher.Ticket ticket) {
        ModelHost m = model(request.model, version);
        try {
            return m.infer(request, startNanos + TimeUnit.MILLISECONDS.toNanos(options.requestTimeoutMs), ticket);
        } catch (MxportException e) {
            throw ServeException.of(e);
        }
    }

    /** One line per request: time, protocol, what, model, status, milliseconds, bytes in and out, request id. */
    void log(
            String protocol,
            String what,
            String model,
            int status,
            long startNanos,
            long bytesIn,
            long bytesOut,
            String id,
            String error) {
        double seconds = (System.nanoTime() - startNanos) / 1e9;
        metrics.request(model == null ? "" : model, protocol, status, seconds);
        if (options.accessLog) {
            StringBuilder b = new StringBuilder(160)
                    .append(Instant.now())
                    .append(' ')
                    .append(protocol)
                    .append(' ')
                    .append(what)
                    .append(" model=")
                    .append(model == null || model.isEmpty() ? "-" : model)
                    .append(" status=")
                    .append(status)
                    .append(String.format(java.util.Locale.ROOT, " ms=%.2f", seconds * 1e3))
                    .append(" in=")
                    .append(bytesIn)
                    .append(" out=")
                    .append(bytesOut)
                    .append(" id=")
                    .append(id == null || id.isEmpty() ? "-" : id);
            if (error != null) {
                b.append(" error=").append(error.length() > 200 ? error.substring(0, 200) : error);
            }
            System.out.println(b);
        }
    }

    /** Finishes queued requests and frees every model. */
    @Override
    public void close() {
        draining = true;
        for (ModelHost m : models.values()) {
            m.close();
        }
    }
}
