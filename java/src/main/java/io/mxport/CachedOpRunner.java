package io.mxport;

import com.sun.jna.Memory;
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
 * <p>Each cached shape also keeps its input arrays and its argument list in native memory: a call writes the
 * caller's bytes straight into those arrays (one copy, no allocation in MXNet) and hands MXNet the prepared
 * argument list. That is what brings a JVM call to the cost of Python's, whose inputs are already MXNet arrays.
 *
 * <p>Not thread-safe: a CachedOp with static memory reuses one set of buffers, the input arrays are reused, and
 * MXNet returns outputs in a thread-local array the next call overwrites, so the caller runs one call at a time
 * ({@link Predictor} holds a lock around {@link #run}).
 */
final class CachedOpRunner implements AutoCloseable {
    static final int MAX_CACHED_SHAPES = 4;

    /** A CachedOp for one list of input shapes, with its input arrays and its arguments in native memory. */
    private static final class Planned {
        final Pointer op;
        final Pointer[] inputs;
        final long[] inputBytes;
        final Memory args;
        final int argCount;

        Planned(Pointer op, Pointer[] inputs, long[] inputBytes, Memory args, int argCount) {
            this.op = op;
            this.inputs = inputs;
            this.inputBytes = inputBytes;
            this.args = args;
            this.argCount = argCount;
        }

        void free() {
            synchronized (EngineWorkers.PUSH_LOCK) { // freeing pushes too (spec/RUNTIME.md section 5)
                Mxnet.freeCachedOp(op);
            }
            for (Pointer input : inputs) {
                Mxnet.freeArray(input);
            }
            args.close();
        }
    }

    private final LoadedModel model;
    private final LinkedHashMap<List<Shape>, Planned> planned = new LinkedHashMap<>(8, 0.75f, true);

    CachedOpRunner(LoadedModel model) {
        this.model = model;
    }

    private Planned plannedFor(List<NDArray> inputs) {
        List<Shape> key = new ArrayList<>(inputs.size());
        inputs.forEach(a -> key.add(a.getShape()));
        Planned p = planned.get(key);
        if (p != null) {
            return p;
        }
        if (planned.size() >= MAX_CACHED_SHAPES) {
            Map.Entry<List<Shape>, Planned> eldest =
                    planned.entrySet().iterator().next();
            planned.remove(eldest.getKey());
            eldest.getValue().free();
        }
        Pointer[] arrays = new Pointer[inputs.size()];
        long[] bytes = new long[arrays.length];
        Pointer op = null;
        try {
            for (int i = 0; i < arrays.length; i++) {
                NDArray a = inputs.get(i);
                arrays[i] = Mxnet.newArray(a.getShape().toArray(), a.getDType().mxnetCode());
                bytes[i] = (long) a.getShape().size() * a.getDType().getByteSize();
            }
            op = Mxnet.newCachedOp(model.symbol, model.flagKeys, model.flagValues);
        } catch (RuntimeException e) {
            for (Pointer a : arrays) {
                if (a != null) {
                    Mxnet.freeArray(a);
                }
            }
            throw e;
        }
        Pointer[] args = model.argTemplate.clone();
        for (int i = 0; i < arrays.length; i++) {
            args[model.dataSlots[i]] = arrays[i];
        }
        p = new Planned(op, arrays, bytes, NativeArrays.handleArray(args), args.length);
        planned.put(key, p);
        return p;
    }

    /** Runs checked inputs (signature order); returns the outputs in the graph's order. */
    List<NDArray> run(List<NDArray> inputs) {
        Planned p = plannedFor(inputs);
        for (int i = 0; i < inputs.size(); i++) {
            byte[] raw = inputs.get(i).rawView();
            // never write past a planned array (Inputs.check fixes each input's dtype; this guards against a change
            // there)
            if (raw.length != p.inputBytes[i]) {
                throw new IllegalStateException(
                        "input " + i + " holds " + raw.length + " bytes; its planned array " + p.inputBytes[i]);
            }
            Mxnet.writeInto(p.inputs[i], raw);
        }
        Pointer[] outs;
        synchronized (EngineWorkers.PUSH_LOCK) { // spec/RUNTIME.md section 5: the push, not the computation
            outs = Mxnet.invokeCachedOp(p.op, p.args, p.argCount);
        }
        int next = 0;
        try {
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

    /** Frees every CachedOp and its input arrays; calling it again does nothing. */
    @Override
    public void close() {
        planned.values().forEach(Planned::free);
        planned.clear();
    }
}
