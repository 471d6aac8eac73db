package io.mxport;

import com.sun.jna.Pointer;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
    static synchronized SharedWeights acquire(byte[] data, String digest, String path) {
        SharedWeights w = BY_DIGEST.get(digest);
        if (w == null) {
            w = new SharedWeights(digest, parse(data, path));
            BY_DIGEST.put(digest, w);
        }
        w.references++;
        return w;
    }

    /** Drops one reference; frees the arrays with the last. */
    void release() {
        synchronized (SharedWeights.class) {
            if (--references > 0) {
                return;
            }
            BY_DIGEST.remove(digest);
            arrays.values().forEach(Mxnet::freeArray);
        }
    }

    /** Parses params bytes with MXNet; hands it exactly these bytes (spec section 6, step 3). */
    private static Map<String, Pointer> parse(byte[] data, String path) {
        NativeArrays.LoadedArrays loaded = Mxnet.loadArrays(data);
        if (loaded == null) {
            throw new MxportException(
                    ErrorCode.BAD_PARAMS,
                    "MXNet cannot parse " + path + ": " + Mxnet.lastErrorLine()
                            + "; the file is damaged or not a params file: export the model again");
        }
        if (loaded.names == null || loaded.names.contains(null)) {
            for (Pointer h : loaded.handles) {
                Mxnet.freeArray(h);
            }
            throw new MxportException(
                    ErrorCode.BAD_PARAMS,
                    loaded.names == null
                            ? path + " holds unnamed arrays; a params file maps 'arg:'/'aux:' names to arrays"
                            : path + ": an array name is not UTF-8 text; the file is damaged: export the model again");
        }
        Map<String, Pointer> out = new LinkedHashMap<>();
        for (int i = 0; i < loaded.handles.length; i++) {
            String k = loaded.names.get(i);
            String name = k.startsWith("arg:") || k.startsWith("aux:") ? k.substring(4) : k;
            Pointer old = out.put(name, loaded.handles[i]);
            if (old != null) {
                Mxnet.freeArray(old);
            }
        }
        for (Map.Entry<String, Pointer> e : out.entrySet()) {
            if (!Mxnet.describable(e.getValue())) {
                String why = Mxnet.lastErrorLine();
                out.values().forEach(Mxnet::freeArray);
                throw new MxportException(
                        ErrorCode.BAD_PARAMS,
                        path + ": array '" + e.getKey() + "' is unusable: " + why
                                + "; the file is damaged: export the model again");
            }
        }
        return out;
    }
}
