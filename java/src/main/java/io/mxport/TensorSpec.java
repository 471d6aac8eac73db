package io.mxport;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The name, shape, dtype and layout of one input or output of a model (spec/FORMAT.md section 2).
 *
 * <pre>{@code
 * TensorSpec data = new TensorSpec("data", new Shape(-1, 300, 300, 3), DType.UINT8, "NHWC");
 * }</pre>
 *
 * A {@code -1} dimension is dynamic (any size of at least 1); dimension 0 is the batch dimension. The layout
 * is one distinct upper-case letter per dimension, or null when unknown. Immutable.
 */
public final class TensorSpec {
    static final Pattern NAME = Pattern.compile("^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$");
    private static final Pattern LAYOUT = Pattern.compile("^[A-Z]+$");

    private final String name;
    private final Shape shape;
    private final DType dtype;
    private final String layout;

    /**
     * @throws MxportException INVALID_ARGUMENT when a field breaks a rule of the spec's section 2
     */
    public TensorSpec(String name, Shape shape, DType dtype, String layout) {
        String problem = problem(name, shape, dtype, layout);
        if (problem != null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "bad TensorSpec: " + problem);
        }
        this.name = name;
        this.shape = shape;
        this.dtype = dtype;
        this.layout = layout;
    }

    /** What is wrong with these fields, or null. */
    static String problem(String name, Shape shape, DType dtype, String layout) {
        if (name == null || !NAME.matcher(name).matches()) {
            return "name " + quote(name) + " must match " + NAME.pattern();
        }
        if (shape == null || shape.rank() < 1 || shape.rank() > 8) {
            return "'" + name + "': shape " + shape + " must be a list of 1 to 8 dimensions";
        }
        long fixed = 1;
        for (int i = 0; i < shape.rank(); i++) {
            int d = shape.get(i);
            if (d != -1 && d < 1) {
                return "'" + name + "': dimension " + d + " in " + shape + " must be -1 (dynamic) or 1.." + Integer.MAX_VALUE;
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
                return "'" + name + "': layout '" + layout + "' must be distinct upper-case letters, e.g. 'NCHW', or null";
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

    /** The tensor's name, unique among a model's inputs (and among its outputs). */
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

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof TensorSpec)) {
            return false;
        }
        TensorSpec t = (TensorSpec) o;
        return name.equals(t.name) && shape.equals(t.shape) && dtype == t.dtype && Objects.equals(layout, t.layout);
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
