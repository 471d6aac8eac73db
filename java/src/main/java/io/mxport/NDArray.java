package io.mxport;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * A host-side tensor: a shape, a dtype and the elements in C order. Immutable: factories and getters copy.
 *
 * <pre>{@code
 * NDArray pixels = NDArray.ofBytes(rgb, new Shape(1, 300, 300, 3));        // uint8, e.g. from Images.toNHWC
 * NDArray x = NDArray.ofFloats(new float[3 * 224 * 224], new Shape(1, 3, 224, 224));
 * float[] probs = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
 * }</pre>
 *
 * It holds no native memory and needs no closing. Elements are stored little-endian, as MXNet holds them on
 * x86-64 and as {@code .npy} files write them ({@link #ofRaw}, {@link #toRawBytes}).
 */
public final class NDArray {
    private final Shape shape;
    private final DType dtype;
    private final byte[] data; // little-endian, C order

    private NDArray(Shape shape, DType dtype, byte[] data) {
        this.shape = shape;
        this.dtype = dtype;
        this.data = data;
    }

    private static int checkedSize(Shape shape, int length, String what) {
        if (shape == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "an NDArray needs a shape, got null");
        }
        if (shape.isDynamic()) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT, "an NDArray's shape cannot have -1 dimensions: " + shape);
        }
        int size = shape.size();
        if (size != length) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "shape " + shape + " has " + size + " elements but " + length + " " + what + " were given");
        }
        return size;
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A uint8 array (e.g. RGB pixels); each byte is read as unsigned 0..255. */
    public static NDArray ofBytes(byte[] data, Shape shape) {
        Objects.requireNonNull(data, "data");
        checkedSize(shape, data.length, "bytes");
        return new NDArray(shape, DType.UINT8, data.clone());
    }

    /** A float32 array. */
    public static NDArray ofFloats(float[] data, Shape shape) {
        Objects.requireNonNull(data, "data");
        checkedSize(shape, data.length, "floats");
        ByteBuffer b = le(data.length * 4);
        b.asFloatBuffer().put(data);
        return new NDArray(shape, DType.FLOAT32, b.array());
    }

    /** A float64 array. */
    public static NDArray ofDoubles(double[] data, Shape shape) {
        Objects.requireNonNull(data, "data");
        checkedSize(shape, data.length, "doubles");
        ByteBuffer b = le(data.length * 8);
        b.asDoubleBuffer().put(data);
        return new NDArray(shape, DType.FLOAT64, b.array());
    }

    /** An int32 array. */
    public static NDArray ofInts(int[] data, Shape shape) {
        Objects.requireNonNull(data, "data");
        checkedSize(shape, data.length, "ints");
        ByteBuffer b = le(data.length * 4);
        b.asIntBuffer().put(data);
        return new NDArray(shape, DType.INT32, b.array());
    }

    /** An int64 array. */
    public static NDArray ofLongs(long[] data, Shape shape) {
        Objects.requireNonNull(data, "data");
        checkedSize(shape, data.length, "longs");
        ByteBuffer b = le(data.length * 8);
        b.asLongBuffer().put(data);
        return new NDArray(shape, DType.INT64, b.array());
    }

    /**
     * An array of any dtype from its raw little-endian bytes (e.g. float16 or int8 data, or a {@code .npy} body).
     *
     * @throws MxportException INVALID_ARGUMENT when the byte count is not {@code shape.size() * dtype.getByteSize()}
     */
    public static NDArray ofRaw(DType dtype, byte[] littleEndian, Shape shape) {
        return wrapRaw(dtype, littleEndian, shape).copy();
    }

    /**
     * As {@link #ofRaw}, but without a copy: the array uses {@code littleEndian} itself, as
     * {@link ByteBuffer#wrap(byte[])} does. For bytes filled once and then only read, e.g. a tensor cut out of a
     * request body, where {@code ofRaw}'s copy costs time and memory for nothing:
     *
     * <pre>{@code
     * byte[] pixels = new byte[224 * 224 * 3];
     * body.get(pixels); // e.g. a ByteBuffer holding the request
     * NDArray x = NDArray.wrapRaw(DType.UINT8, pixels, new Shape(1, 224, 224, 3));
     * }</pre>
     *
     * Changing the bytes afterwards changes the array, and a call computing on it may read them half changed: leave
     * them alone once wrapped, or use {@link #ofRaw}.
     *
     * @throws MxportException INVALID_ARGUMENT when the byte count is not {@code shape.size() * dtype.getByteSize()}
     */
    public static NDArray wrapRaw(DType dtype, byte[] littleEndian, Shape shape) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(littleEndian, "littleEndian");
        if (shape == null || shape.isDynamic()) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT, "an NDArray needs a shape without -1 dimensions, got " + shape);
        }
        long want = (long) shape.size() * dtype.getByteSize();
        if (want != littleEndian.length) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "shape " + shape + " of " + dtype + " takes " + want + " bytes but " + littleEndian.length
                            + " were given");
        }
        return new NDArray(shape, dtype, littleEndian);
    }

    private NDArray copy() {
        return new NDArray(shape, dtype, data.clone());
    }

    static NDArray wrap(Shape shape, DType dtype, byte[] data) {
        return new NDArray(shape, dtype, data);
    }

    byte[] rawView() {
        return data;
    }

    /** The shape. */
    public Shape getShape() {
        return shape;
    }

    /** The element type. */
    public DType getDType() {
        return dtype;
    }

    /** The number of elements. */
    public int size() {
        return shape.size();
    }

    /** A copy of the raw little-endian bytes. */
    public byte[] toRawBytes() {
        return data.clone();
    }

    /**
     * The elements as bytes: for uint8 (read them with {@code b & 0xFF}) and int8 arrays.
     *
     * @throws MxportException DTYPE_MISMATCH for other dtypes (use {@link #toFloatArray()} or {@link #toRawBytes()})
     */
    public byte[] toByteArray() {
        if (dtype != DType.UINT8 && dtype != DType.INT8) {
            throw new MxportException(
                    ErrorCode.DTYPE_MISMATCH,
                    "toByteArray() needs a uint8 or int8 array, this one is " + dtype
                            + ": use toFloatArray() or toRawBytes()");
        }
        return data.clone();
    }

    /** The elements converted to float (exact for float32, uint8, int8 and float16; rounded for the others). */
    public float[] toFloatArray() {
        int n = data.length / dtype.getByteSize();
        float[] out = new float[n];
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        switch (dtype) {
            case FLOAT32:
                b.asFloatBuffer().get(out);
                break;
            case FLOAT64:
                for (int i = 0; i < n; i++) {
                    out[i] = (float) b.getDouble(i * 8);
                }
                break;
            case FLOAT16:
                for (int i = 0; i < n; i++) {
                    out[i] = halfToFloat(b.getShort(i * 2));
                }
                break;
            case UINT8:
                for (int i = 0; i < n; i++) {
                    out[i] = data[i] & 0xFF;
                }
                break;
            case INT8:
                for (int i = 0; i < n; i++) {
                    out[i] = data[i];
                }
                break;
            case INT32:
                for (int i = 0; i < n; i++) {
                    out[i] = b.getInt(i * 4);
                }
                break;
            case INT64:
                for (int i = 0; i < n; i++) {
                    out[i] = b.getLong(i * 8);
                }
                break;
            default:
                throw new IllegalStateException(dtype.toString());
        }
        return out;
    }

    static float halfToFloat(short h) {
        int bits = h & 0xFFFF;
        int sign = (bits & 0x8000) << 16;
        int exp = (bits >>> 10) & 0x1F;
        int mant = bits & 0x3FF;
        if (exp == 0x1F) {
            return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
        }
        if (exp == 0) {
            float v = mant / 1024f / 16384f; // subnormal: mant * 2^-24
            return sign != 0 ? -v : v;
        }
        return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof NDArray)) {
            return false;
        }
        NDArray a = (NDArray) o;
        return shape.equals(a.shape) && dtype == a.dtype && java.util.Arrays.equals(data, a.data);
    }

    @Override
    public int hashCode() {
        return Objects.hash(shape, dtype, java.util.Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "NDArray(" + dtype + shape + ")";
    }
}
