package io.mxport;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The name, shape, dtype and layout of one input or output of a model (spec/FORMAT.md section 2).
 *
 * <pre>{@code
 * TensorSpec data = new TensorSpec("data", new Shape(-1, 300, 300, 3), DType.UINT8, "NHWC");
 * }</pre>
 *
 * A {@code -1} dimension is dynamic (any size of at least 1); dimension 0 is the batch dimension. The layout
 * is one distinct upper-case letter per dimension, or null when unknown. An output may carry
 * {@link #getLabels() class names}, one per index of its last dimension; {@link #topK(float[], int)} ranks
 * one sample's scores with them. Immutable.
 *
 * <p>The names in a model's signature match {@code ^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$}; an old model's input
 * descriptions and outputs carry its graph's own names, whatever they are ({@code "input.1"},
 * {@code "/Softmax_output"}, {@code "0"}), so a TensorSpec takes any non-empty name.
 */
public final class TensorSpec {
    static final Pattern NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$");
    private static final Pattern LAYOUT = Pattern.compile("^[A-Z]+$");

    private final String name;
    private final Shape shape;
    private final DType dtype;
    private final String layout;
    private final List<String> labels;
    static final int MAX_LABEL = 1024;

    /**
     * @throws MxportException INVALID_ARGUMENT when a field breaks a rule of the spec's section 2
     */
    public TensorSpec(String name, Shape shape, DType dtype, String layout) {
        this(name, shape, dtype, layout, null);
    }

    /** With class names (null for none), checked as the spec's section 2 says. */
    TensorSpec(String name, Shape shape, DType dtype, String layout, List<String> labels) {
        String problem = problem(name, shape, dtype, layout);
        if (problem == null && labels != null) {
            problem = labelsProblem(name, shape, labels);
        }
        if (problem != null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "bad TensorSpec: " + problem);
        }
        this.name = name;
        this.shape = shape;
        this.dtype = dtype;
        this.layout = layout;
        this.labels = labels == null ? null : Collections.unmodifiableList(new ArrayList<>(labels));
    }

    /** What is wrong with an output's class names, or null (the same rule and words as Python). */
    static String labelsProblem(String name, Shape shape, List<String> labels) {
        if (labels.stream().anyMatch(Objects::isNull)) {
            return "'" + name + "': labels must be a list of strings";
        }
        if (shape.get(shape.rank() - 1) != labels.size()) {
            return "'" + name + "': " + labels.size() + " labels for a last dimension of " + shape.get(shape.rank() - 1)
                    + " in " + shape + ": give one name per index of the last dimension, which must be fixed";
        }
        for (int i = 0; i < labels.size(); i++) {
            int n = labels.get(i).codePointCount(0, labels.get(i).length());
            if (n < 1 || n > MAX_LABEL) {
                return "'" + name + "': label " + i + " must have 1 to " + MAX_LABEL + " characters, got " + n;
            }
        }
        return null;
    }

    /**
     * What is wrong with these fields, or null. Any non-empty name is a name here: an old model keeps its graph's
     * own names (spec section 7); the signature's name rule ({@link #NAME}) is checked where a signature is read.
     */
    static String problem(String name, Shape shape, DType dtype, String layout) {
        if (name == null || name.isEmpty()) {
            return "name " + quote(name) + " must be a non-empty string";
        }
        if (shape == null || shape.rank() < 1 || shape.rank() > 8) {
            return "'" + name + "': shape " + shape + " must be a list of 1 to 8 dimensions";
        }
        long fixed = 1;
        for (int i = 0; i < shape.rank(); i++) {
            int d = shape.get(i);
            if (d != -1 && d < 1) {
                return "'" + name + "': dimension " + d + " in " + shape + " must be -1 (dynamic) or 1.."
                        + Integer.MAX_VALUE;
            }
            if (d > 0) {
                fixed *= d;
                if (fixed > Integer.MAX_VALUE) {
                    return "'" + name + "': shape " + shape + " has more than " + Integer.MAX_VALUE
                            + " elements per dynamic slice";
                }
            }
        }
        if (dtype == null) {
            return "'" + name + "': dtype is null; it must be one of " + DType.names();
        }
        if (layout != null) {
            if (!LAYOUT.matcher(layout).matches() || layout.chars().distinct().count() != layout.length()) {
                return "'" + name + "': layout '" + layout
                        + "' must be distinct upper-case letters, e.g. 'NCHW', or null";
            }
            if (layout.length() != shape.rank()) {
                return "'" + name + "': layout '" + layout + "' has " + layout.length() + " letters but the shape "
                        + shape + " has rank " + shape.rank();
            }
        }
        return null;
    }

    private static String quote(String s) {
        return s == null ? "null" : "'" + s + "'";
    }

    /** The tensor's name, unique among a model's inputs (and among its outputs); an old model's are its graph's own. */
    public String getName() {
        return name;
    }

    /** The shape, with {@code -1} for dynamic dimensions. */
    public Shape getShape() {
        return shape;
    }

    /** The element type. */
    public DType getDType() {
        return dtype;
    }

    /** The layout, e.g. {@code "NHWC"}, or null when unknown. */
    public String getLayout() {
        return layout;
    }

    /** The class names of an output, one per index of its last dimension (format version 2), if it has them. */
    public Optional<List<String>> getLabels() {
        return Optional.ofNullable(labels);
    }

    /**
     * The {@code k} largest of one sample's scores, largest first (ties: lower index first), with their labels.
     *
     * <pre>{@code
     * float[] prob = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
     * spec.topK(prob, 5).get(0);   // 282 tiger cat 0.391920
     * }</pre>
     *
     * @param scores one sample's scores: as many as the last dimension
     * @throws MxportException SHAPE_MISMATCH when scores has another length, INVALID_ARGUMENT when k is below 1
     */
    public List<ClassScore> topK(float[] scores, int k) {
        int classes = shape.get(shape.rank() - 1);
        if (scores == null || scores.length != classes) {
            throw new MxportException(
                    ErrorCode.SHAPE_MISMATCH,
                    "topK takes one sample's scores of '" + name + "', ["
                            + classes + "] values; got " + (scores == null ? "null" : scores.length + "")
                            + ": pass the row of sample i");
        }
        if (k < 1) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "k must be a positive integer, got " + k);
        }
        List<Integer> order = new ArrayList<>(scores.length);
        for (int i = 0; i < scores.length; i++) {
            order.add(i);
        }
        order.sort((a, b) -> Float.compare(scores[b], scores[a])); // stable: ties keep index order
        List<ClassScore> top = new ArrayList<>();
        for (int i : order.subList(0, Math.min(k, order.size()))) {
            top.add(new ClassScore(i, labels == null ? null : labels.get(i), scores[i]));
        }
        return Collections.unmodifiableList(top);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TensorSpec)) {
            return false;
        }
        TensorSpec t = (TensorSpec) o;
        return name.equals(t.name)
                && shape.equals(t.shape)
                && dtype == t.dtype
                && Objects.equals(layout, t.layout)
                && Objects.equals(labels, t.labels);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, shape, dtype, layout);
    }

    /** E.g. {@code data: uint8[-1,300,300,3] NHWC}, as Python prints it. */
    @Override
    public String toString() {
        return name + ": " + dtype + shape + " " + (layout == null ? "-" : layout);
    }
}
