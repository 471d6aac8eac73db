package io.mxport;

import java.util.Arrays;

/**
 * An immutable tensor shape. In a {@link TensorSpec} a dimension may be {@code -1} (dynamic); the shape of an
 * {@link NDArray} has only dimensions of at least 0.
 *
 * <pre>{@code
 * Shape s = new Shape(1, 300, 300, 3);
 * s.get(0);     // 1
 * s.size();     // 270000 elements
 * s.toString(); // [1,300,300,3]
 * }</pre>
 */
public final class Shape {
    private final int[] dims;

    /** A shape of the given dimensions (rank = number of arguments). */
    public Shape(int... dims) {
        if (dims == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "a Shape needs dimensions, got null");
        }
        for (int d : dims) {
            if (d < -1) {
                throw new MxportException(
                        ErrorCode.INVALID_ARGUMENT,
                        "shape " + Arrays.toString(dims) + " has dimension " + d
                                + "; dimensions are -1 (dynamic) or >= 0");
            }
        }
        this.dims = dims.clone();
    }

    /** The number of dimensions. */
    public int rank() {
        return dims.length;
    }

    /** Dimension {@code i}. */
    public int get(int i) {
        return dims[i];
    }

    /** A copy of the dimensions. */
    public int[] toArray() {
        return dims.clone();
    }

    /** True when some dimension is {@code -1}. */
    public boolean isDynamic() {
        for (int d : dims) {
            if (d == -1) {
                return true;
            }
        }
        return false;
    }

    /**
     * The number of elements (the product of the dimensions).
     *
     * @throws MxportException INVALID_ARGUMENT when the shape is dynamic or holds more than
     *         {@code Integer.MAX_VALUE} elements (what one Java array can hold)
     */
    public int size() {
        long n = 1;
        for (int d : dims) {
            if (d < 0) {
                throw new MxportException(ErrorCode.INVALID_ARGUMENT, "shape " + this + " is dynamic: it has no size");
            }
            n *= d;
            if (n > Integer.MAX_VALUE) {
                throw new MxportException(
                        ErrorCode.INVALID_ARGUMENT,
                        "shape " + this + " has more than " + Integer.MAX_VALUE + " elements");
            }
        }
        return (int) n;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Shape && Arrays.equals(dims, ((Shape) o).dims);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(dims);
    }

    /** The shape as the spec's messages write it, e.g. {@code [-1,300,300,3]}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < dims.length; i++) {
            b.append(i > 0 ? "," : "").append(dims[i]);
        }
        return b.append(']').toString();
    }
}
