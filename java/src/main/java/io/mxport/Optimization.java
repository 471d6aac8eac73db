package io.mxport;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * How a model's network was optimised at export (format version 3, spec/FORMAT.md section 2): oneDNN fusion
 * ({@code fused}) or 8-bit quantisation ({@code int8}). Informative: a loader runs the graph the same way
 * whatever it says.
 *
 * <pre>{@code
 * Signature s = Signature.read("out/my_model-int8");
 * s.getOptimization().map(Optimization::getKind);   // Optional[int8]; empty for an fp32 graph as exported
 * }</pre>
 *
 * Immutable.
 */
public final class Optimization {
    private static final Set<String> FUSED_KEYS = Set.of("kind", "backend");
    private static final Set<String> INT8_KEYS =
            Set.of("kind", "backend", "calibration_mode", "calibration_samples", "excluded_layers");
    private static final int MAX_EXCLUDED = 4096;
    private static final int MAX_LAYER_NAME = 1024;

    private final String kind;
    private final String backend;
    private final String calibrationMode;
    private final long calibrationSamples;
    private final List<String> excludedLayers;

    private Optimization(
            String kind, String backend, String calibrationMode, long calibrationSamples, List<String> excludedLayers) {
        this.kind = kind;
        this.backend = backend;
        this.calibrationMode = calibrationMode;
        this.calibrationSamples = calibrationSamples;
        this.excludedLayers = Collections.unmodifiableList(new ArrayList<>(excludedLayers));
    }

    /** {@code fused} or {@code int8}. */
    public String getKind() {
        return kind;
    }

    /** The MXNet subgraph backend that optimised the network, {@code MKLDNN} (oneDNN). */
    public String getBackend() {
        return backend;
    }

    /** For {@code int8}: {@code naive} or {@code entropy}. */
    public Optional<String> getCalibrationMode() {
        return Optional.ofNullable(calibrationMode);
    }

    /** For {@code int8}: how many samples calibrated it; 0 for {@code fused}. */
    public long getCalibrationSamples() {
        return calibrationSamples;
    }

    /** For {@code int8}: the network nodes kept in fp32; empty otherwise. */
    public List<String> getExcludedLayers() {
        return excludedLayers;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Optimization)) {
            return false;
        }
        Optimization x = (Optimization) o;
        return kind.equals(x.kind)
                && backend.equals(x.backend)
                && Objects.equals(calibrationMode, x.calibrationMode)
                && calibrationSamples == x.calibrationSamples
                && excludedLayers.equals(x.excludedLayers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, backend, calibrationMode, calibrationSamples, excludedLayers);
    }

    /** One line, as {@code mxport inspect} prints it after {@code optimization: }. */
    @Override
    public String toString() {
        if (kind.equals("fused")) {
            return "fused (oneDNN subgraph fusion, backend " + backend + ", fp32)";
        }
        String excluded = excludedLayers.isEmpty() ? "none" : String.join(", ", excludedLayers);
        return "int8 (quantised, backend " + backend + ", " + calibrationMode + " calibration on " + calibrationSamples
                + " samples; layers kept fp32: " + excluded + ")";
    }

    private static MxportException bad(String message) {
        return new MxportException(ErrorCode.BAD_SIGNATURE, message);
    }

    /** Parses and checks the signature's {@code optimization} object; BAD_SIGNATURE when it breaks a rule. */
    static Optimization fromJson(JsonNode o) {
        if (!o.isObject()) {
            throw bad("'optimization' must be an object, got " + Json.show(o));
        }
        JsonNode kind = o.get("kind");
        String k = kind != null && kind.isTextual() ? kind.asText() : null;
        if (!"fused".equals(k) && !"int8".equals(k)) {
            throw bad("optimization kind " + Json.show(kind) + " must be one of [fused, int8]");
        }
        Set<String> keys = new TreeSet<>();
        o.fieldNames().forEachRemaining(keys::add);
        Set<String> want = k.equals("int8") ? INT8_KEYS : FUSED_KEYS;
        if (!keys.equals(want)) {
            throw bad("an optimization of kind '" + k + "' has exactly the fields " + new TreeSet<>(want) + ", got "
                    + keys);
        }
        JsonNode backend = o.get("backend");
        if (!backend.isTextual() || !TensorSpec.NAME.matcher(backend.asText()).matches()) {
            throw bad("optimization backend " + Json.show(backend) + " must match " + TensorSpec.NAME.pattern());
        }
        if (k.equals("fused")) {
            return new Optimization(k, backend.asText(), null, 0, List.of());
        }
        JsonNode mode = o.get("calibration_mode");
        if (!mode.isTextual()
                || !(mode.asText().equals("naive") || mode.asText().equals("entropy"))) {
            throw bad("calibration_mode " + Json.show(mode) + " must be one of [naive, entropy]");
        }
        JsonNode samples = o.get("calibration_samples");
        BigInteger n = Json.isInteger(samples) ? Json.integer(samples) : null;
        if (n == null || n.signum() <= 0 || n.compareTo(BigInteger.valueOf(Integer.MAX_VALUE)) > 0) {
            throw bad(
                    "calibration_samples " + Json.show(samples) + " must be an integer from 1 to " + Integer.MAX_VALUE);
        }
        JsonNode layers = o.get("excluded_layers");
        List<String> names = new ArrayList<>();
        boolean ok = layers.isArray() && layers.size() <= MAX_EXCLUDED;
        if (ok) {
            for (JsonNode x : layers) {
                ok &= x.isTextual() && !x.asText().isEmpty() && x.asText().length() <= MAX_LAYER_NAME;
                names.add(x.asText());
            }
        }
        if (!ok) {
            throw bad("excluded_layers must be a list of at most " + MAX_EXCLUDED + " node names of 1 to "
                    + MAX_LAYER_NAME + " characters");
        }
        return new Optimization(k, backend.asText(), mode.asText(), n.longValue(), names);
    }
}
