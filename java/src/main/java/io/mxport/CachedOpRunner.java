package io.mxport;

import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link LoadedModel} through MXNet's CachedOp, as Gluon does (bit-identical to Python's
 * {@code mxport.load}), keeping one CachedOp for each of the last {@value #MAX_CACHED_SHAPES} input shapes so that
 * alternating batch sizes do not re-plan memory on every call.
 *
 * <p>Not thread-safe: a CachedOp with static memory reuses one set of buffers, and MXNet returns outputs in a
 * thread-local array the next call overwrites, so the caller runs one call at a time ({@link Predictor} holds a
 * lock around {@link #run}).
 */
final class CachedOpRunner implements AutoCloseable {
    static final int MAX_CACHED_SHAPES = 4;

    private final LoadedModel model;
    private final LinkedHashMap<List<Shape>, Pointer> cachedOps = new LinkedHashMap<>(8, 0.75f, true);

    CachedOpRunner(LoadedModel model) {
        this.model = model;
    }

    private Pointer cachedOpFor(List<Shape> key) {
        Pointer op = cachedOps.get(key);
        if (op != null) {
            return op;
        }
        if (cachedOps.size() >= MAX_CACHED_SHAPES) {
            Map.Entry<List<Shape>, Pointer> eldest = cachedOps.entrySet().iterator().next();
            cachedOps.remove(eldest.getKey());
            Mxnet.freeCachedOp(eldest.getValue());
        }
        op = Mxnet.newCachedOp(model.symbol, model.flagKeys, model.flagValues);
        cachedOps.put(key, op);
        return op;
    }

    /** Runs checked inputs (signature order); returns the outputs in the graph's order. */
    List<NDArray> run(List<NDArray> inputs) {
        List<Shape> key = new ArrayList<>();
        inputs.forEach(a -> key.add(a.getShape()));
        Pointer op = cachedOpFor(key);
        Pointer[] args = model.argTemplate.clone();
        List<Pointer> created = new ArrayList<>();
        Pointer[] outs = new Pointer[0];
        int next = 0;
        try {
            for (int i = 0; i < inputs.size(); i++) {
                NDArray a = inputs.get(i);
                Pointer h = Mxnet.newArray(a.getShape().toArray(), a.getDType().mxnetCode());
                created.add(h);
                Mxnet.copyIn(h, a.rawView(), a.size());
                args[model.dataSlots[i]] = h;
            }
            outs = Mxnet.invokeCachedOp(op, args);
            List<NDArray> results = new ArrayList<>(outs.length);
            for (; next < outs.length; next++) {
                results.add(copyOut(outs[next]));
                Mxnet.freeArray(outs[next]);
            }
            return results;
        } finally {
            for (; next < outs.length; next++) {
                Mxnet.freeArray(outs[next]);
            }
            created.forEach(Mxnet::freeArray);
        }
    }

    private static NDArray copyOut(Pointer handle) {
        Shape shape = new Shape(Mxnet.shapeOf(handle));
        DType t = DType.byMxnetCode(Mxnet.dtypeOf(handle));
        int n = shape.size();
        byte[] data = new byte[Math.multiplyExact(n, t.getByteSize())];
        Mxnet.copyOut(handle, data, n);
        return NDArray.wrap(shape, t, data);
    }

    /** Frees every CachedOp; calling it again does nothing. */
    @Override
    public void close() {
        cachedOps.values().forEach(Mxnet::freeCachedOp);
        cachedOps.clear();
    }
}
