package io.mxport;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameter arrays of one params file, loaded once per process by {@code MXNDArrayLoadFromBuffer} and
 * shared, reference-counted, by every open Predictor of that file (the CachedOps only read them).
 */
final class SharedWeights {
    private static final Map<String, SharedWeights> BY_DIGEST = new HashMap<>();

    private final String digest;
    /** Name (without arg:/aux:) to NDArray handle. */
    final Map<String, Pointer> arrays;
    private int references;

    private SharedWeights(String digest, Map<String, Pointer> arrays) {
        this.digest = digest;
        this.arrays = Collections.unmodifiableMap(arrays);
    }

    /** The arrays of these params bytes, parsed now or shared with an open Predictor. */
    static synchronized SharedWeights acquire(MxnetLibrary lib, byte[] data, String digest, String path) {
        SharedWeights w = BY_DIGEST.get(digest);
        if (w == null) {
            w = new SharedWeights(digest, parse(lib, data, path));
            BY_DIGEST.put(digest, w);
        }
        w.references++;
        return w;
    }

    /** Drops one reference; frees the arrays with the last. */
    void release(MxnetLibrary lib) {
        synchronized (SharedWeights.class) {
            if (--references > 0) {
                return;
            }
            BY_DIGEST.remove(digest);
            for (Pointer h : arrays.values()) {
                lib.MXNDArrayFree(h);
            }
        }
    }

    /** Parses params bytes with MXNet; hands it exactly these bytes (spec section 6, step 3). */
    private static Map<String, Pointer> parse(MxnetLibrary lib, byte[] data, String path) {
        IntByReference n = new IntByReference();
        PointerByReference handles = new PointerByReference();
        IntByReference nNames = new IntByReference();
        PointerByReference names = new PointerByReference();
        int rc;
        try (Memory buffer = new Memory(Math.max(1, data.length))) {
            buffer.write(0, data, 0, data.length);
            rc = lib.MXNDArrayLoadFromBuffer(buffer, data.length, n, handles, nNames, names);
        }
        if (rc != 0) {
            throw new MxportException(ErrorCode.BAD_PARAMS, "MXNet cannot parse " + path + ": " + Mxnet.lastErrorLine()
                    + "; the file is damaged or not a params file: export the model again");
        }
        Pointer[] arrays = n.getValue() == 0 ? new Pointer[0] : handles.getValue().getPointerArray(0, n.getValue());
        if (nNames.getValue() != arrays.length) {
            for (Pointer h : arrays) {
                lib.MXNDArrayFree(h);
            }
            throw new MxportException(ErrorCode.BAD_PARAMS, path + " holds unnamed arrays; a params file maps"
                    + " 'arg:'/'aux:' names to arrays");
        }
        List<String> keys = Mxnet.strings(names.getValue(), nNames.getValue());
        Map<String, Pointer> out = new LinkedHashMap<>();
        for (int i = 0; i < arrays.length; i++) {
            String k = keys.get(i);
            String name = k.startsWith("arg:") || k.startsWith("aux:") ? k.substring(4) : k;
            Pointer old = out.put(name, arrays[i]);
            if (old != null) {
                lib.MXNDArrayFree(old);
            }
        }
        for (Map.Entry<String, Pointer> e : out.entrySet()) {  // MXNet parses absurd shapes, then refuses to say them
            IntByReference ndim = new IntByReference();
            PointerByReference dims = new PointerByReference();
            IntByReference dtype = new IntByReference();
            if (lib.MXNDArrayGetShapeEx(e.getValue(), ndim, dims) != 0 || lib.MXNDArrayGetDType(e.getValue(), dtype) != 0) {
                String why = Mxnet.lastErrorLine();
                out.values().forEach(lib::MXNDArrayFree);
                throw new MxportException(ErrorCode.BAD_PARAMS, path + ": array '" + e.getKey() + "' is unusable: " + why
                        + "; the file is damaged: export the model again");
            }
        }
        return out;
    }
}
