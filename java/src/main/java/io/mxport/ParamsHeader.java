package io.mxport;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads an MXNet params file's header before MXNet does, so that a file that lies is refused, not allocated.
 *
 * <pre>{@code
 * ParamsHeader.check(Files.readAllBytes(path), path.toString());   // BAD_PARAMS naming the array, or nothing
 * }</pre>
 *
 * <p>MXNet 1.9.1's reader ({@code NDArray::Load} in src/ndarray/ndarray.cc) allocates what the header claims before
 * it reads the bytes: an array's elements, a shape's dimensions, the vectors of arrays and of names. This walks the
 * same layout (spec/FORMAT.md section 10) and checks every count against the bytes that remain, with the messages
 * of Python's {@code mxport._params_header}; both run the cases of spec/params_cases.
 */
final class ParamsHeader {
    static final long LIST_MAGIC = 0x112;
    static final long V1_MAGIC = 0xF993FAC8L; // int64 shape, no storage type
    static final long V2_MAGIC = 0xF993FAC9L; // with storage type
    static final long V3_MAGIC = 0xF993FACAL; // NumPy shape semantics (ndim -1: unknown, ndim 0: a scalar)
    /** The mshadow type flags whose size MXNet 1.9.1 knows (mshadow_sizeof): name and bytes. */
    private static final Map<Integer, Object[]> DTYPES = Map.of(
            0,
            new Object[] {"float32", 4},
            1,
            new Object[] {"float64", 8},
            2,
            new Object[] {"float16", 2},
            3,
            new Object[] {"uint8", 1},
            4,
            new Object[] {"int32", 4},
            5,
            new Object[] {"int8", 1},
            6,
            new Object[] {"int64", 8},
            7,
            new Object[] {"bool", 1},
            12,
            new Object[] {"bfloat16", 2});
    /** The fewest bytes an array takes (MXNet's "none" array): a first bound on the count. */
    static final int MIN_ARRAY_BYTES = 12;

    private static final String FIX =
            "the file is damaged or not an MXNet params file: export or download the model again";
    private static final BigInteger TWO_63 = BigInteger.ONE.shiftLeft(63);

    private ParamsHeader() {}

    /** A claim the bytes do not hold. */
    private static final class Lie extends Exception {
        Lie(String message) {
            super(message, null, false, false);
        }
    }

    private static final class Reader {
        final ByteBuffer data;

        Reader(byte[] bytes) {
            data = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        }

        long left() {
            return data.remaining();
        }

        private void need(int size, String what) throws Lie {
            if (size > data.remaining()) {
                throw new Lie(
                        "the file ends inside " + what + " (at byte " + data.position() + " of " + data.limit() + ")");
            }
        }

        void skipFixed(int size, String what) throws Lie {
            need(size, what);
            data.position(data.position() + size);
        }

        int i32(String what) throws Lie {
            need(4, what);
            return data.getInt();
        }

        long u32(String what) throws Lie {
            need(4, what);
            return data.getInt() & 0xFFFFFFFFL;
        }

        /** An unsigned 64-bit count. */
        BigInteger u64(String what) throws Lie {
            need(8, what);
            long v = data.getLong();
            return v >= 0 ? BigInteger.valueOf(v) : BigInteger.valueOf(v).add(BigInteger.ONE.shiftLeft(64));
        }

        void skip(BigInteger count, String what) throws Lie {
            if (count.compareTo(BigInteger.valueOf(left())) > 0) {
                throw new Lie(what + " claims " + count + " bytes, but only " + left() + " remain in the file");
            }
            data.position(data.position() + count.intValue());
        }

        /** ndim dimensions of 8 (int64) or 4 (uint32) bytes. */
        List<Long> shape(int dimSize, long ndim, String what) throws Lie {
            if (ndim * dimSize > left()) {
                throw new Lie(what + " claims " + ndim + " dimensions (" + ndim * dimSize + " bytes), but only "
                        + left() + " bytes remain in the file");
            }
            List<Long> dims = new ArrayList<>((int) ndim);
            for (long i = 0; i < ndim; i++) {
                dims.add(dimSize == 8 ? data.getLong() : data.getInt() & 0xFFFFFFFFL);
            }
            return dims;
        }
    }

    private static BigInteger elements(List<Long> shape, String what) throws Lie {
        BigInteger count = BigInteger.ONE;
        for (long d : shape) {
            if (d < 0) {
                throw new Lie(what + " has a negative dimension");
            }
            count = count.multiply(BigInteger.valueOf(d));
        }
        if (count.compareTo(TWO_63) >= 0) {
            throw new Lie(what + " has more than 2^63 elements");
        }
        return count;
    }

    private static int ndim(Reader r, long magic) throws Lie {
        int ndim = r.i32("the number of dimensions");
        if (ndim < (magic == V3_MAGIC ? -1 : 0)) {
            throw new Lie(ndim + " dimensions");
        }
        return ndim;
    }

    /** Walks one array (NDArray::Load), leaving the reader after its data. */
    private static void array(Reader r) throws Lie {
        long magic = r.u32("an array's magic number");
        int aux = 0;
        List<Long> storageShape = null;
        List<Long> shape;
        if (magic == V2_MAGIC || magic == V3_MAGIC) {
            int stype = r.i32("the storage type");
            if (stype < 0 || stype > 2 || (magic == V3_MAGIC && stype != 0)) {
                throw new Lie("unknown storage type " + stype);
            }
            aux = stype; // dense 0, row_sparse 1 (indices), csr 2 (indptr, indices)
            if (aux > 0) {
                storageShape = r.shape(8, ndim(r, magic), "the storage shape");
            }
            int ndim = ndim(r, magic);
            if (ndim == -1 || (magic == V2_MAGIC && ndim == 0)) {
                return; // MXNet's "none" array: nothing more follows
            }
            shape = r.shape(8, ndim, "the shape");
            if (magic == V3_MAGIC && shape.contains(-1L)) {
                return; // unknown shape in NumPy semantics
            }
        } else if (magic == V1_MAGIC) {
            shape = r.shape(8, ndim(r, magic), "the shape");
            if (shape.contains(-1L)) {
                return; // MXNet's "none" array
            }
        } else { // before V1 the magic number was the ndim of a shape of uint32 dimensions
            if (magic > r.left() / 4) {
                throw new Lie(
                        "an array of the oldest layout claims " + magic + " dimensions (" + magic * 4 + " bytes), but"
                                + " only " + r.left() + " bytes remain in the file (or its magic number 0x"
                                + Long.toHexString(magic)
                                + " is damaged)");
            }
            shape = r.shape(4, magic, "the shape");
        }
        r.skipFixed(8, "the context");
        int flag = r.i32("the dtype");
        if (!DTYPES.containsKey(flag)) {
            throw new Lie("unknown dtype code " + flag);
        }
        String dtype = (String) DTYPES.get(flag)[0];
        BigInteger size = BigInteger.valueOf((Integer) DTYPES.get(flag)[1]);
        String what = "its shape " + shape + " of " + dtype;
        BigInteger count = elements(shape, what);
        if (aux == 0) {
            r.skip(count.multiply(size), what + " (" + count + " elements)");
            return;
        }
        List<BigInteger> auxSizes = new ArrayList<>();
        List<List<Long>> auxShapes = new ArrayList<>();
        List<BigInteger> auxElements = new ArrayList<>();
        for (int i = 0; i < aux; i++) {
            int auxFlag = r.i32("an auxiliary dtype");
            if (!DTYPES.containsKey(auxFlag)) {
                throw new Lie("unknown dtype code " + auxFlag + " of auxiliary array " + i);
            }
            List<Long> auxShape = r.shape(8, ndim(r, V2_MAGIC), "auxiliary shape " + i);
            if (auxShape.isEmpty()) { // MXNet reads its first dimension
                throw new Lie("auxiliary shape " + i + " has no dimensions");
            }
            auxSizes.add(BigInteger.valueOf((Integer) DTYPES.get(auxFlag)[1]));
            auxShapes.add(auxShape);
            auxElements.add(elements(auxShape, "auxiliary shape " + i + " " + auxShape));
        }
        // MXNet sizes a sparse array's storage from its indices, whatever the saved storage shape says
        List<Long> indexShape = auxShapes.get(aux - 1);
        BigInteger stored = aux == 1
                ? BigInteger.valueOf(indexShape.get(0))
                        .multiply(elements(shape.subList(Math.min(1, shape.size()), shape.size()), what))
                : auxElements.get(aux - 1);
        if (!elements(storageShape, "its storage shape " + storageShape).equals(stored)) {
            throw new Lie("its storage shape " + storageShape + " disagrees with its indices " + indexShape);
        }
        r.skip(stored.multiply(size), what + " (" + stored + " stored elements)");
        for (int i = 0; i < aux; i++) {
            r.skip(auxElements.get(i).multiply(auxSizes.get(i)), "auxiliary array " + i + " " + auxShapes.get(i));
        }
    }

    /**
     * Checks a params file's layout against its size; returns the count of arrays.
     *
     * @throws MxportException BAD_PARAMS naming the array (its index) and what it claims, before MXNet allocates
     */
    static int check(byte[] data, String path) {
        if (data.length < 24) { // magic number, reserved, array count
            throw new MxportException(
                    ErrorCode.BAD_PARAMS,
                    path + " is " + data.length + " bytes, too short for a" + " params file; " + FIX);
        }
        Reader r = new Reader(data);
        BigInteger header;
        BigInteger count;
        try {
            header = r.u64("the file header");
            r.u64("the file header");
            count = r.u64("the file header");
        } catch (Lie impossible) {
            throw new IllegalStateException(impossible);
        }
        if (!header.equals(BigInteger.valueOf(LIST_MAGIC))) {
            throw new MxportException(
                    ErrorCode.BAD_PARAMS,
                    path + " does not start with MXNet's params magic number" + " 0x112 (it starts with 0x"
                            + header.toString(16) + "); " + FIX);
        }
        if (count.compareTo(BigInteger.valueOf(r.left() / MIN_ARRAY_BYTES)) > 0) {
            throw new MxportException(
                    ErrorCode.BAD_PARAMS,
                    path + " claims " + count + " arrays, but its " + r.left() + " bytes after the header hold at most "
                            + r.left() / MIN_ARRAY_BYTES + "; " + FIX);
        }
        int n = count.intValue();
        for (int index = 0; index < n; index++) {
            try {
                array(r);
            } catch (Lie lie) {
                throw new MxportException(
                        ErrorCode.BAD_PARAMS,
                        path + ": array " + index + " of " + n + ": " + lie.getMessage() + "; " + FIX);
            }
        }
        try {
            BigInteger names = r.u64("the name count");
            if (names.signum() != 0 && !names.equals(count)) {
                throw new Lie(names + " names for " + n + " arrays");
            }
            for (int i = 0; i < names.intValue(); i++) {
                r.skip(r.u64("the length of name " + i), "name " + i);
            }
        } catch (Lie lie) {
            throw new MxportException(
                    ErrorCode.BAD_PARAMS, path + ": the array names: " + lie.getMessage() + "; " + FIX);
        }
        return n;
    }
}
