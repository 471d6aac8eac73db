package io.mxport;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The C arrays that {@link Mxnet}'s calls take and return, as Java values: strings, names, shapes and handle
 * lists. Part of the native door; it calls no libmxnet function itself, it only reads and writes memory that
 * libmxnet owns or is handed.
 */
final class NativeArrays {
    private NativeArrays() {}

    /** Reads a C array of {@code n} C strings. */
    static List<String> strings(Pointer array, int n) {
        List<String> out = new ArrayList<>(n);
        if (n > 0) {
            for (Pointer p : array.getPointerArray(0, n)) {
                out.add(p.getString(0, "UTF-8"));
            }
        }
        return out;
    }

    /** The array names of a params file, each null when its bytes are not UTF-8 (a damaged file: spec section 6). */
    static List<String> utf8Names(Pointer array, int n) {
        List<String> out = new ArrayList<>(n);
        if (n > 0) {
            for (Pointer p : array.getPointerArray(0, n)) {
                byte[] bytes = p.getByteArray(0, (int) p.indexOf(0, (byte) 0));
                try {
                    out.add(StandardCharsets.UTF_8
                            .newDecoder()
                            .decode(ByteBuffer.wrap(bytes))
                            .toString());
                } catch (CharacterCodingException e) {
                    out.add(null);
                }
            }
        }
        return out;
    }

    /** A C int array of {@code size} values ({@code data}, as MXNet's type inference returns it). */
    static int[] ints(PointerByReference data, IntByReference size) {
        return size.getValue() == 0 ? new int[0] : data.getValue().getIntArray(0, size.getValue());
    }

    /** Appends {@code size} shapes given as C arrays of ranks and of dimension arrays; null where a rank is 0. */
    static void readShapes(IntByReference size, PointerByReference ndim, PointerByReference data, List<int[]> into) {
        int n = size.getValue();
        if (n == 0) {
            return;
        }
        int[] ndims = ndim.getValue().getIntArray(0, n);
        Pointer[] ptrs = data.getValue().getPointerArray(0, n);
        for (int i = 0; i < n; i++) {
            into.add(ndims[i] <= 0 || ptrs[i] == null ? null : ptrs[i].getIntArray(0, ndims[i]));
        }
    }

    /** The handles as a native array, for {@link Mxnet#invokeCachedOp(Pointer, Memory, int)} (kept while they live). */
    static Memory handleArray(Pointer[] handles) {
        Memory m = new Memory((long) Math.max(1, handles.length) * Native.POINTER_SIZE);
        m.write(0, handles, 0, handles.length);
        return m;
    }

    /** Inferred shapes; an entry is null where MXNet could not infer it. */
    static final class Shapes {
        final List<int[]> args = new ArrayList<>();
        final List<int[]> outs = new ArrayList<>();
        final List<int[]> aux = new ArrayList<>();
    }

    /** The arrays of a params file's bytes and their names (as stored, with arg:/aux:). */
    static final class LoadedArrays {
        final Pointer[] handles;
        /** Null when the file holds unnamed arrays; an entry is null when that name is not UTF-8. */
        final List<String> names;

        LoadedArrays(Pointer[] handles, List<String> names) {
            this.handles = handles;
            this.names = names;
        }
    }
}
