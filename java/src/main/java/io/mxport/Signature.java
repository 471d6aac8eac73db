package io.mxport;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * What a model takes and gives: its inputs, in the order a caller passes them, and its outputs, in the order
 * it returns them (spec/FORMAT.md section 2).
 *
 * <pre>{@code
 * Signature s = Signature.read("out/my_model");   // reads the symbol file only; no native library needed
 * s.getInputs().get(0);                            // data: uint8[-1,300,300,3] NHWC
 * s.getNetwork().get().getInputs().get(0);         // data: float32[-1,3,224,224] NCHW (the network alone)
 * }</pre>
 *
 * The signature of a whole mxport model also has {@link #getNetwork() the network alone's signature};
 * that of a network alone, or of an old model, has none. A model of format version 2 may carry
 * {@link #getMetadata() metadata} (name, licence, source...) and its outputs {@link TensorSpec#getLabels()
 * class names}; one of version 3 says how its network was {@link #getOptimization() optimised}. Immutable.
 */
public final class Signature {
    static final int FORMAT_VERSION = 3;
    private static final Set<String> TOP_KEYS_V1 =
            Set.of("mxport_format", "inputs", "outputs", "network", "params", "producer");
    private static final Set<String> TOP_KEYS_V2 =
            Set.of("mxport_format", "inputs", "outputs", "network", "params", "producer", "metadata");
    private static final Set<String> TOP_KEYS_V3 =
            Set.of("mxport_format", "inputs", "outputs", "network", "params", "producer", "metadata", "optimization");
    private static final int MAX_METADATA = 64;
    private static final int MAX_METADATA_VALUE = 4096;
    private static final Set<String> SPEC_KEYS = Set.of("name", "shape", "dtype", "layout");
    private static final Set<String> SPEC_KEYS_WITH_LABELS = Set.of("name", "shape", "dtype", "layout", "labels");
    private static final Pattern SHA256 = Pattern.compile("^[0-9a-f]{64}$");

    private final List<TensorSpec> inputs;
    private final List<TensorSpec> outputs;
    private final Signature network;
    private final String paramsSha256;
    private final long paramsSize;
    private final Map<String, String> metadata;
    private final Optimization optimization;

    /**
     * A signature without a network part or digest, e.g. to describe a network.
     *
     * @throws MxportException INVALID_ARGUMENT when a list is empty or has duplicate names
     */
    public Signature(List<TensorSpec> inputs, List<TensorSpec> outputs) {
        this(checked(inputs, "inputs"), checked(outputs, "outputs"), null, null, -1);
    }

    /**
     * An old model's signature (spec section 7): its outputs carry MXNet's names, which MAY repeat (two heads on
     * nodes of one name); outputs are positional. Its inputs are the caller's descriptions, each named once.
     */
    static Signature ofOldModel(List<TensorSpec> inputs, List<TensorSpec> outputs) {
        return new Signature(checked(inputs, "inputs"), outputs, null, null, -1);
    }

    private Signature(List<TensorSpec> inputs, List<TensorSpec> outputs, Signature network, String sha256, long size) {
        this(inputs, outputs, network, sha256, size, Map.of(), null);
    }

    private Signature(
            List<TensorSpec> inputs,
            List<TensorSpec> outputs,
            Signature network,
            String sha256,
            long size,
            Map<String, String> metadata,
            Optimization optimization) {
        this.inputs = Collections.unmodifiableList(new ArrayList<>(inputs));
        this.outputs = Collections.unmodifiableList(new ArrayList<>(outputs));
        this.network = network;
        this.paramsSha256 = sha256;
        this.paramsSize = size;
        this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        this.optimization = optimization;
    }

    private static List<TensorSpec> checked(List<TensorSpec> specs, String what) {
        if (specs == null || specs.isEmpty() || specs.stream().anyMatch(Objects::isNull)) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT, what + " must be a non-empty list of TensorSpec, got " + specs);
        }
        List<String> names = names(specs);
        if (new HashSet<>(names).size() != names.size()) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, what + " has duplicate names " + names);
        }
        return specs;
    }

    /**
     * Reads the signature of the model at {@code prefix} from {@code <prefix>-symbol.json} alone, checking it
     * and the graph's connectors as a load would. Needs no native library.
     *
     * @throws MxportException NO_SIGNATURE for an old model, or the code of whatever is wrong with the file
     */
    public static Signature read(String prefix) {
        return ModelFiles.readSignature(prefix);
    }

    /** The inputs, in call order. */
    public List<TensorSpec> getInputs() {
        return inputs;
    }

    /** The outputs, in return order. */
    public List<TensorSpec> getOutputs() {
        return outputs;
    }

    /** The names of the inputs, in order. */
    public List<String> getInputNames() {
        return names(inputs);
    }

    /** The names of the outputs, in order. */
    public List<String> getOutputNames() {
        return names(outputs);
    }

    /** The signature of the network alone (what {@code loadTransforms=false} exposes), when this is a whole model's. */
    public Optional<Signature> getNetwork() {
        return Optional.ofNullable(network);
    }

    /** The lowercase hex SHA-256 of the params file, when this is a whole model's signature. */
    public Optional<String> getParamsSha256() {
        return Optional.ofNullable(paramsSha256);
    }

    long paramsSize() {
        return paramsSize;
    }

    /** The model's metadata, in file order (e.g. {@code name}, {@code licence}, {@code source}); empty when none. */
    public Map<String, String> getMetadata() {
        return metadata;
    }

    /** How the network was optimised at export (format version 3); empty for an fp32 graph as exported. */
    public Optional<Optimization> getOptimization() {
        return Optional.ofNullable(optimization);
    }

    private static List<String> names(List<TensorSpec> specs) {
        List<String> names = new ArrayList<>();
        specs.forEach(s -> names.add(s.getName()));
        return names;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Signature)) {
            return false;
        }
        Signature s = (Signature) o;
        return inputs.equals(s.inputs)
                && outputs.equals(s.outputs)
                && Objects.equals(network, s.network)
                && Objects.equals(paramsSha256, s.paramsSha256)
                && paramsSize == s.paramsSize
                && metadata.equals(s.metadata)
                && Objects.equals(optimization, s.optimization);
    }

    @Override
    public int hashCode() {
        return Objects.hash(inputs, outputs, network, paramsSha256);
    }

    /** A table of the signature, as Python's {@code mxport inspect} prints it. */
    @Override
    public String toString() {
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"", "name", "dtype", "shape", "layout"});
        add(rows, "input", inputs);
        add(rows, "output", outputs);
        if (network != null) {
            add(rows, "network input", network.inputs);
            add(rows, "network output", network.outputs);
        }
        int[] widths = new int[5];
        for (String[] r : rows) {
            for (int i = 0; i < 5; i++) {
                widths[i] = Math.max(widths[i], r[i].length());
            }
        }
        StringBuilder b = new StringBuilder();
        for (String[] r : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < 5; i++) {
                line.append(i > 0 ? "  " : "").append(String.format("%-" + widths[i] + "s", r[i]));
            }
            b.append(line.toString().stripTrailing()).append('\n');
        }
        for (TensorSpec s : outputs) {
            if (s.getLabels().isPresent()) {
                List<String> l = s.getLabels().get();
                StringBuilder shown = new StringBuilder();
                for (int i = 0; i < Math.min(3, l.size()); i++) {
                    shown.append(i > 0 ? ", " : "").append(i).append(' ').append(l.get(i));
                }
                String more = l.size() > 3 ? ", ... " + (l.size() - 1) + " " + l.get(l.size() - 1) : "";
                b.append("labels of ")
                        .append(s.getName())
                        .append(": ")
                        .append(l.size())
                        .append(" (")
                        .append(shown)
                        .append(more)
                        .append(")\n");
            }
        }
        metadata.forEach(
                (k, v) -> b.append("metadata ").append(k).append(": ").append(v).append('\n'));
        if (paramsSha256 != null) {
            b.append("params: ")
                    .append(paramsSize)
                    .append(" bytes, sha256 ")
                    .append(paramsSha256)
                    .append('\n');
        }
        if (network != null) {
            b.append("optimization: ")
                    .append(optimization == null ? "none (fp32 graph as exported)" : optimization)
                    .append('\n');
        }
        return b.toString().stripTrailing();
    }

    private static void add(List<String[]> rows, String kind, List<TensorSpec> specs) {
        for (TensorSpec s : specs) {
            rows.add(new String[] {
                kind,
                s.getName(),
                s.getDType().getName(),
                s.getShape().toString(),
                s.getLayout() == null ? "-" : s.getLayout()
            });
        }
    }

    // ---- parsing (spec section 2) ----

    private static MxportException bad(String message) {
        return new MxportException(ErrorCode.BAD_SIGNATURE, message);
    }

    /** Parses and checks a signature; throws BAD_SIGNATURE or UNSUPPORTED_FORMAT_VERSION. */
    static Signature fromJson(String text) {
        String[] why = new String[1];
        JsonNode doc = Json.parse(text, why);
        if (doc == null) {
            throw bad("the signature is not JSON (" + why[0] + "); re-export the model");
        }
        if (!doc.isObject()) {
            throw bad("the signature must be a JSON object; re-export the model");
        }
        JsonNode version = doc.get("mxport_format");
        if (!Json.isInteger(version)) {
            throw bad("'mxport_format' must be an integer, got " + Json.show(version));
        }
        BigInteger v = Json.integer(version);
        if (v.signum() <= 0 || v.compareTo(BigInteger.valueOf(FORMAT_VERSION)) > 0) {
            throw new MxportException(
                    ErrorCode.UNSUPPORTED_FORMAT_VERSION,
                    "the model has format version " + version + "; this mxport reads versions [1, 2, " + FORMAT_VERSION
                            + "]: upgrade mxport");
        }
        boolean v2 = v.intValue() >= 2;
        Set<String> keys = fieldNames(doc);
        Set<String> extra = new TreeSet<>(keys);
        extra.removeAll(v.intValue() >= 3 ? TOP_KEYS_V3 : v2 ? TOP_KEYS_V2 : TOP_KEYS_V1);
        Set<String> missing = new TreeSet<>(TOP_KEYS_V1);
        missing.remove("producer");
        missing.removeAll(keys);
        if (!extra.isEmpty() || !missing.isEmpty()) {
            throw bad("signature fields: missing " + missing + ", unknown " + extra);
        }
        JsonNode net = doc.get("network");
        if (!net.isObject() || !fieldNames(net).equals(Set.of("inputs", "outputs"))) {
            throw bad("'network' must be an object with exactly 'inputs' and 'outputs'");
        }
        List<TensorSpec> in = specs(doc.get("inputs"), "inputs", false);
        List<TensorSpec> out = specs(doc.get("outputs"), "outputs", v2);
        List<TensorSpec> netIn = specs(net.get("inputs"), "network.inputs", false);
        List<TensorSpec> netOut = specs(net.get("outputs"), "network.outputs", false);
        if (!names(in).equals(names(netIn))) {
            throw bad("network inputs " + names(netIn) + " must have the names of the model inputs " + names(in)
                    + ", in order");
        }
        if (!names(out).equals(names(netOut))) {
            throw bad("network outputs " + names(netOut) + " must have the names of the model outputs " + names(out)
                    + ", in order");
        }
        JsonNode params = doc.get("params");
        if (!params.isObject()
                || !fieldNames(params).equals(Set.of("sha256", "size"))
                || !params.get("sha256").isTextual()
                || !SHA256.matcher(params.get("sha256").asText()).matches()
                || !Json.isInteger(params.get("size"))
                || Json.integer(params.get("size")).signum() < 0) {
            throw bad("'params' must be {\"sha256\": <64 lowercase hex>, \"size\": <bytes>}");
        }
        BigInteger size = Json.integer(params.get("size"));
        if (doc.has("producer") && !doc.get("producer").isObject()) {
            throw bad("'producer' must be an object");
        }
        // a size beyond a long cannot be any file's size: it can only mismatch (DIGEST_MISMATCH at load)
        long sizeValue = size.bitLength() < 63 ? size.longValue() : Long.MAX_VALUE;
        Map<String, String> metadata = metadata(doc.get("metadata"));
        Optimization optimization = doc.has("optimization") ? Optimization.fromJson(doc.get("optimization")) : null;
        Signature network = new Signature(netIn, netOut, null, null, -1);
        return new Signature(in, out, network, params.get("sha256").asText(), sizeValue, metadata, optimization);
    }

    private static Map<String, String> metadata(JsonNode m) {
        Map<String, String> map = new LinkedHashMap<>();
        if (m == null) {
            return map;
        }
        if (!m.isObject()) {
            throw bad("metadata must be a map of strings to strings, got " + Json.show(m));
        }
        if (m.size() > MAX_METADATA) {
            throw bad("metadata has " + m.size() + " entries; at most " + MAX_METADATA);
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = m.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!TensorSpec.NAME.matcher(e.getKey()).matches()) {
                throw bad("metadata key '" + e.getKey() + "' must match " + TensorSpec.NAME.pattern());
            }
            JsonNode value = e.getValue();
            if (!value.isTextual()
                    || value.asText().codePointCount(0, value.asText().length()) > MAX_METADATA_VALUE) {
                throw bad("metadata '" + e.getKey() + "' must be a string of at most " + MAX_METADATA_VALUE
                        + " characters");
            }
            map.put(e.getKey(), value.asText());
        }
        return map;
    }

    private static Set<String> fieldNames(JsonNode node) {
        Set<String> names = new HashSet<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            names.add(it.next());
        }
        return names;
    }

    private static List<TensorSpec> specs(JsonNode value, String where, boolean labelsAllowed) {
        if (!value.isArray() || value.isEmpty()) {
            throw bad("'" + where + "' must be a non-empty list");
        }
        List<TensorSpec> specs = new ArrayList<>();
        for (int i = 0; i < value.size(); i++) {
            specs.add(spec(value.get(i), where + "[" + i + "]", labelsAllowed));
        }
        List<String> names = names(specs);
        if (new HashSet<>(names).size() != names.size()) {
            throw bad("'" + where + "' has duplicate names " + names);
        }
        return specs;
    }

    private static TensorSpec spec(JsonNode d, String where, boolean labelsAllowed) {
        Set<String> fields = d.isObject() ? fieldNames(d) : Set.of();
        boolean withLabels = labelsAllowed && fields.contains("labels");
        if (!d.isObject() || !fields.equals(withLabels ? SPEC_KEYS_WITH_LABELS : SPEC_KEYS)) {
            throw bad(where + ": a tensor spec must be an object with the fields [dtype, layout, name, shape]"
                    + (labelsAllowed ? " and optionally 'labels'" : "") + ", got " + Json.show(d));
        }
        JsonNode name = d.get("name");
        if (!name.isTextual() || !TensorSpec.NAME.matcher(name.asText()).matches()) {
            throw bad(where + ": name " + Json.show(name) + " must match " + TensorSpec.NAME.pattern());
        }
        String n = name.asText();
        JsonNode shape = d.get("shape");
        if (!shape.isArray() || shape.size() < 1 || shape.size() > 8) {
            throw bad(where + ": '" + n + "': shape " + Json.show(shape) + " must be a list of 1 to 8 dimensions");
        }
        int[] dims = new int[shape.size()];
        for (int i = 0; i < dims.length; i++) {
            JsonNode x = shape.get(i);
            BigInteger v = Json.isInteger(x) ? Json.integer(x) : null;
            if (v == null
                    || !(v.equals(BigInteger.ONE.negate())
                            || (v.signum() > 0 && v.compareTo(BigInteger.valueOf(Integer.MAX_VALUE)) <= 0))) {
                throw bad(where + ": '" + n + "': dimension " + Json.show(x) + " in " + Json.show(shape)
                        + " must be -1 (dynamic) or 1.." + Integer.MAX_VALUE);
            }
            dims[i] = v.intValue();
        }
        JsonNode dtype = d.get("dtype");
        DType t = dtype.isTextual() ? DType.byName(dtype.asText()) : null;
        if (t == null) {
            throw bad(where + ": '" + n + "': dtype " + Json.show(dtype) + " is not one of " + DType.names());
        }
        JsonNode layout = d.get("layout");
        if (!layout.isNull() && !layout.isTextual()) {
            throw bad(where + ": '" + n + "': layout " + Json.show(layout)
                    + " must be distinct upper-case letters, e.g. 'NCHW', or null");
        }
        String problem = TensorSpec.problem(n, new Shape(dims), t, layout.isNull() ? null : layout.asText());
        List<String> labels = null;
        if (problem == null && withLabels) {
            JsonNode l = d.get("labels");
            labels = new ArrayList<>();
            if (!l.isArray()) {
                problem = "'" + n + "': labels must be a list of strings";
            } else {
                for (JsonNode x : l) {
                    labels.add(x.isTextual() ? x.asText() : null);
                }
                problem = TensorSpec.labelsProblem(n, new Shape(dims), labels);
            }
        }
        if (problem != null) {
            throw bad(where + ": " + problem);
        }
        return new TensorSpec(n, new Shape(dims), t, layout.isNull() ? null : layout.asText(), labels);
    }
}
