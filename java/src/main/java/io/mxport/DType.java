package io.mxport;

import java.util.Locale;

/** The element types a signature may name (spec/FORMAT.md section 2), with their MXNet type codes and sizes. */
public enum DType {
    /** 32-bit IEEE float. */
    FLOAT32("float32", 0, 4),
    /** 64-bit IEEE float. */
    FLOAT64("float64", 1, 8),
    /** 16-bit IEEE float (half). */
    FLOAT16("float16", 2, 2),
    /** Unsigned 8-bit integer, e.g. image pixels. */
    UINT8("uint8", 3, 1),
    /** Signed 32-bit integer. */
    INT32("int32", 4, 4),
    /** Signed 8-bit integer. */
    INT8("int8", 5, 1),
    /** Signed 64-bit integer. */
    INT64("int64", 6, 8);

    private final String specName;
    private final int mxnetCode;
    private final int byteSize;

    DType(String specName, int mxnetCode, int byteSize) {
        this.specName = specName;
        this.mxnetCode = mxnetCode;
        this.byteSize = byteSize;
    }

    /** The name the spec and numpy use, e.g. {@code "uint8"}. */
    public String getName() {
        return specName;
    }

    /** Bytes per element. */
    public int getByteSize() {
        return byteSize;
    }

    int mxnetCode() {
        return mxnetCode;
    }

    /**
     * The dtype of a spec name such as {@code "float32"}.
     *
     * @throws MxportException INVALID_ARGUMENT for any other name
     */
    public static DType of(String name) {
        DType found = byName(name);
        if (found == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "dtype '" + name + "' is not one of " + names());
        }
        return found;
    }

    static DType byName(String name) {
        for (DType t : values()) {
            if (t.specName.equals(name)) {
                return t;
            }
        }
        return null;
    }

    static DType byMxnetCode(int code) {
        for (DType t : values()) {
            if (t.mxnetCode == code) {
                return t;
            }
        }
        throw new MxportException(
                ErrorCode.NATIVE_ERROR,
                "MXNet returned an array of type code " + code + ", which mxport does not handle");
    }

    static String names() {
        StringBuilder b = new StringBuilder("[");
        for (DType t : values()) {
            b.append(b.length() > 1 ? ", " : "").append(t.specName);
        }
        return b.append(']').toString().toLowerCase(Locale.ROOT);
    }

    @Override
    public String toString() {
        return specName;
    }
}
