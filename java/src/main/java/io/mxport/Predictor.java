package io.mxport;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs an mxport model (or an old MXNet model) on MXNet 1.9.1's {@code libmxnet.so}.
 *
 * <pre>{@code
 * try (Predictor predictor = new Predictor("out/my_model")) {             // cpu, transforms included
 *     System.out.println(predictor.getSignature());
 *     NDArray pixels = Images.toNHWC(ImageIO.read(new File("cat.jpg")));   // uint8 [1,H,W,3], RGB
 *     float[] probs = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
 * }
 * }</pre>
 *
 * <p>A model prefix {@code out/my_model} means the files {@code out/my_model-symbol.json} and
 * {@code out/my_model.params} (spec/FORMAT.md). Loading checks both files before MXNet sees them: the graph and
 * its signature, the connectors, and the params file's size and SHA-256; MXNet then gets exactly the bytes that
 * were checked. With {@code loadTransforms=false} the graph is cut at its connectors (spec section 5) and the
 * predictor runs, and exposes the signature of, the network alone.
 *
 * <p><b>Calls.</b> Every call checks its inputs against {@link #getSignature()} before any native call
 * (INPUT_COUNT, UNKNOWN_INPUT, DTYPE_MISMATCH, SHAPE_MISMATCH). Dimension 0 is the batch: a single sample is a
 * batch of one. Any batch size (and any size of another dynamic dimension) works without rebuilding: the graph
 * runs through MXNet's CachedOp, as Gluon does, which gives outputs bit-identical to Python's
 * {@code mxport.load}. The predictor keeps one CachedOp for each of the last four input shapes it saw, so
 * alternating batch sizes do not re-plan memory on every call.
 *
 * <p><b>Threads.</b> One Predictor may be called from several threads at once: its calls run one at a time
 * (a lock held for the native part of a call), because its CachedOp, created with static memory, reuses one set
 * of buffers, and MXNet returns outputs in a thread-local array that the next call overwrites. Several
 * Predictors may be called at the same time with no lock between them. MXNet's engine still runs all operators
 * on its CPU worker (one by default), each using every core through OpenMP, so more calling threads add safety,
 * not speed.
 *
 * <p><b>Speed.</b> On first load, unless env {@code OMP_NUM_THREADS} or {@code MXNET_OMP_MAX_THREADS} is set,
 * mxport sets MXNet's engine worker to use every core the process may run on (MXNet alone uses half).
 *
 * <p><b>Resources.</b> A Predictor holds native memory until {@link #close()}, which throws nothing and may be
 * called twice. Every other method of a closed Predictor throws {@link IllegalStateException}. The weights
 * (about the params file's size) are shared by all open Predictors of the same params file (same SHA-256,
 * e.g. one with and one without transforms), as Gluon blocks sharing parameters are, and freed with the last.
 *
 * <p>Failures throw {@link MxportException} with a code of spec section 8; MXNet's own failures have code
 * NATIVE_ERROR and carry {@code MXGetLastError()}.
 */
public final class Predictor implements AutoCloseable {
    private static final int MAX_CACHED_SHAPES = 4;

    private final Signature signature;
    private final String where;
    private final MxnetLibrary lib;
    private final ReentrantLock lock = new ReentrantLock();
    private Pointer symbol;
    /** The weights, shared with every other open Predictor of the same params file. */
    private SharedWeights weights;
    /** CachedOp arguments in the graph's input order; data slots are null in this template. */
    private final Pointer[] argTemplate;
    /** For signature input i, its slot in argTemplate. */
    private final int[] dataSlots;
    private final String[] flagKeys;
    private final String[] flagValues;
    private final LinkedHashMap<List<Shape>, Pointer> cachedOps = new LinkedHashMap<>(8, 0.75f, true);
    private volatile boolean closed;

    /** Loads the mxport model at {@code prefix} on the CPU, transforms included. */
    public Predictor(String prefix) {
        this(prefix, List.of(Context.cpu()), true);
    }

    /**
     * Loads the mxport model at {@code prefix}.
     *
     * @param prefix the model: {@code <prefix>-symbol.json} and {@code <prefix>.params}
     * @param contexts where to run: one context, {@code List.of(Context.cpu())}
     * @param loadTransforms true for the whole model, false for the network alone (cut at the connectors)
     * @throws MxportException with the code of what is wrong (MODEL_NOT_FOUND, DIGEST_MISMATCH, ...)
     */
    public Predictor(String prefix, List<Context> contexts, boolean loadTransforms) {
        this(checkContexts(contexts), ModelFiles.open(prefix, null, null), loadTransforms);
    }

    /**
     * Loads an old model (no mxport signature; spec section 7) saved at {@code epoch}: the files
     * {@code <prefix>-symbol.json} and {@code <prefix>-NNNN.params}, as MXNet's Java API did.
     *
     * @param inputs a description of every input of the graph
     * @param epoch the NNNN of the params file name, at least 0
     */
    public Predictor(String prefix, List<DataDesc> inputs, List<Context> contexts, int epoch) {
        this(checkContexts(contexts), ModelFiles.open(prefix, ModelFiles.checkDescriptions(inputs), checkEpoch(epoch)), true);
    }

    /** Loads an old model whose params file is {@code <prefix>.params} (no epoch in the name). */
    public Predictor(String prefix, List<DataDesc> inputs, List<Context> contexts) {
        this(checkContexts(contexts), ModelFiles.open(prefix, ModelFiles.checkDescriptions(inputs), null), true);
    }

    private static Integer checkEpoch(int epoch) {
        if (epoch < 0 || epoch > 9999) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "epoch " + epoch + " must be 0..9999 (the NNNN of"
                    + " <prefix>-NNNN.params)");
        }
        return epoch;
    }

    private static Context checkContexts(List<Context> contexts) {
        if (contexts == null || contexts.size() != 1 || contexts.get(0) == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "contexts must hold exactly one context, e.g."
                    + " List.of(Context.cpu()), got " + contexts);
        }
        if (!contexts.get(0).equals(Context.cpu())) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "context " + contexts.get(0) + " is not available: the"
                    + " mxnet==1.9.1 wheel is CPU-only; use Context.cpu()");
        }
        return contexts.get(0);
    }

    private Predictor(Context context, ModelFiles model, boolean loadTransforms) {
        this.where = model.symbolPath;
        Graph graph = model.graph;
        Signature sig = model.signature;
        List<TensorSpec> inputSpecs;
        if (sig == null) {
            inputSpecs = model.oldInputs;
        } else if (loadTransforms) {
            inputSpecs = sig.getInputs();
        } else {
            graph = graph.cutNetwork(sig);
            sig = sig.getNetwork().get();
            inputSpecs = sig.getInputs();
        }
        this.lib = Mxnet.lib();
        boolean done = false;
        try {
            PointerByReference ref = new PointerByReference();
            if (lib.MXSymbolCreateFromJSON(graph.toJson(), ref) != 0) {
                throw new MxportException(ErrorCode.BAD_SYMBOL_JSON, "MXNet cannot build the graph in " + where + ": "
                        + Mxnet.lastErrorLine());
            }
            symbol = ref.getValue();
            List<String> names = listStrings((n, out) -> lib.NNSymbolListInputNames(symbol, 0, n, out), "NNSymbolListInputNames");
            weights = SharedWeights.acquire(lib, model.params, model.paramsDigest, model.paramsPath);
            Map<String, Pointer> params = weights.arrays;
            if (sig == null) {
                sig = new Signature(inputSpecs, inferOutputs(inputSpecs));
            }
            this.signature = sig;
            this.argTemplate = new Pointer[names.size()];
            this.dataSlots = new int[inputSpecs.size()];
            List<Integer> dataIndices = new ArrayList<>();
            List<Integer> paramIndices = new ArrayList<>();
            List<String> missing = new ArrayList<>();
            for (int i = 0; i < names.size(); i++) {
                int input = sig.getInputNames().indexOf(names.get(i));
                if (input >= 0) {
                    dataSlots[input] = i;
                    dataIndices.add(i);
                } else if (params.containsKey(names.get(i))) {
                    argTemplate[i] = params.get(names.get(i));
                    paramIndices.add(i);
                } else {
                    missing.add(names.get(i));
                }
            }
            if (!missing.isEmpty()) {
                throw new MxportException(ErrorCode.BAD_PARAMS, model.paramsPath + " lacks " + missing.size()
                        + " array(s) the graph needs, e.g. " + missing.subList(0, Math.min(3, missing.size()))
                        + "; export the model again");
            }
            if (dataIndices.size() != inputSpecs.size()) {
                List<String> absent = new ArrayList<>(sig.getInputNames());
                absent.removeAll(names);
                throw new MxportException(sig.getNetwork().isPresent() || model.signature != null
                        ? ErrorCode.BAD_CONNECTORS : ErrorCode.UNKNOWN_INPUT, where + ": the graph does not use input(s) "
                        + absent + "; its inputs are " + names);
            }
            checkParamTypes(inputSpecs, model.paramsPath);
            checkParamShapes(inputSpecs, model.paramsPath);
            this.flagKeys = new String[] {"data_indices", "param_indices", "static_alloc", "static_shape", "inline_limit"};
            this.flagValues = new String[] {pyList(dataIndices), pyList(paramIndices), "True", "True", "2"};
            done = true;
        } finally {
            if (!done) {
                freeAll();
            }
        }
    }

    private static String pyList(List<Integer> xs) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < xs.size(); i++) {
            b.append(i > 0 ? ", " : "").append(xs.get(i));
        }
        return b.append(']').toString();
    }

    private interface StringLister {
        int call(IntByReference n, PointerByReference out);
    }

    private List<String> listStrings(StringLister lister, String what) {
        IntByReference n = new IntByReference();
        PointerByReference out = new PointerByReference();
        Mxnet.check(lister.call(n, out), what);
        return Mxnet.strings(out.getValue(), n.getValue());
    }

    private int[] arrayShape(Pointer handle) {
        IntByReference ndim = new IntByReference();
        PointerByReference dims = new PointerByReference();
        Mxnet.check(lib.MXNDArrayGetShapeEx(handle, ndim, dims), "MXNDArrayGetShapeEx");
        return ndim.getValue() <= 0 ? new int[0] : dims.getValue().getIntArray(0, ndim.getValue());
    }

    private static final class Inferred {
        List<int[]> args = new ArrayList<>();
        List<int[]> outs = new ArrayList<>();
        List<int[]> aux = new ArrayList<>();
    }

    /** Shape inference with the inputs at the given shapes; null when MXNet cannot infer, with the reason in why[0]. */
    private Inferred inferShapes(List<TensorSpec> inputs, int batch, String[] why) {
        String[] keys = new String[inputs.size()];
        int[] indPtr = new int[inputs.size() + 1];
        List<Integer> data = new ArrayList<>();
        for (int i = 0; i < inputs.size(); i++) {
            keys[i] = inputs.get(i).getName();
            Shape s = inputs.get(i).getShape();
            for (int k = 0; k < s.rank(); k++) {
                data.add(k == 0 ? batch : (s.get(k) == -1 ? 1 : s.get(k)));
            }
            indPtr[i + 1] = data.size();
        }
        int[] shapeData = data.stream().mapToInt(Integer::intValue).toArray();
        IntByReference inSize = new IntByReference();
        IntByReference outSize = new IntByReference();
        IntByReference auxSize = new IntByReference();
        PointerByReference inNdim = new PointerByReference();
        PointerByReference inData = new PointerByReference();
        PointerByReference outNdim = new PointerByReference();
        PointerByReference outData = new PointerByReference();
        PointerByReference auxNdim = new PointerByReference();
        PointerByReference auxData = new PointerByReference();
        IntByReference complete = new IntByReference();
        if (lib.MXSymbolInferShapeEx(symbol, keys.length, keys, indPtr, shapeData, inSize, inNdim, inData,
                outSize, outNdim, outData, auxSize, auxNdim, auxData, complete) != 0) {
            why[0] = Mxnet.lastErrorLine();
            return null;
        }
        Inferred r = new Inferred();
        read(inSize, inNdim, inData, r.args);
        read(outSize, outNdim, outData, r.outs);
        read(auxSize, auxNdim, auxData, r.aux);
        return r;
    }

    private static void read(IntByReference size, PointerByReference ndim, PointerByReference data, List<int[]> into) {
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

    /** Checks that every parameter has the shape the graph infers (when the inputs' shapes allow inference). */
    private void checkParamShapes(List<TensorSpec> inputs, String path) {
        for (TensorSpec s : inputs) {
            for (int k = 1; k < s.getShape().rank(); k++) {
                if (s.getShape().get(k) == -1) {
                    return; // shapes depend on the data: MXNet checks them at the first call
                }
            }
        }
        String[] why = new String[1];
        Inferred shapes = inferShapes(inputs, 1, why);
        if (shapes == null) {
            throw new MxportException(ErrorCode.BAD_PARAMS, "the graph's shapes cannot be inferred with these params: " + why[0]);
        }
        List<String> names = argumentAndAuxNames();
        List<int[]> all = new ArrayList<>(shapes.args);
        all.addAll(shapes.aux);
        Map<String, Pointer> byName = paramsByName();
        for (int i = 0; i < Math.min(names.size(), all.size()); i++) {
            Pointer handle = byName.get(names.get(i));
            if (handle != null && all.get(i) != null) {
                int[] have = arrayShape(handle);
                if (!java.util.Arrays.equals(have, all.get(i))) {
                    throw new MxportException(ErrorCode.BAD_PARAMS, path + ": array '" + names.get(i) + "' has shape "
                            + new Shape(have) + " but the graph needs " + new Shape(all.get(i)) + "; export the model again");
                }
            }
        }
    }

    /** Checks that every parameter has the dtype the graph infers from the signature's input dtypes. */
    private void checkParamTypes(List<TensorSpec> inputs, String path) {
        String[] why = new String[1];
        int[][] types = inferTypes(inputs, why);
        if (types == null) {
            throw new MxportException(ErrorCode.BAD_PARAMS, "the graph's dtypes cannot be inferred from the inputs "
                    + inputs + ": " + why[0]);
        }
        List<String> names = argumentAndAuxNames();
        List<Integer> inferred = new ArrayList<>();
        for (int[] part : new int[][] {types[0], types[2]}) {
            for (int t : part) {
                inferred.add(t);
            }
        }
        Map<String, Pointer> byName = paramsByName();
        for (int i = 0; i < Math.min(names.size(), inferred.size()); i++) {
            Pointer handle = byName.get(names.get(i));
            if (handle == null || inferred.get(i) < 0) {
                continue;
            }
            IntByReference have = new IntByReference();
            Mxnet.check(lib.MXNDArrayGetDType(handle, have), "MXNDArrayGetDType");
            if (have.getValue() != inferred.get(i)) {
                throw new MxportException(ErrorCode.BAD_PARAMS, path + ": array '" + names.get(i) + "' has dtype "
                        + DType.byMxnetCode(have.getValue()) + " but the graph needs "
                        + DType.byMxnetCode(inferred.get(i)) + "; export the model again");
            }
        }
    }

    /** MXNet's dtype codes of {arguments, outputs, auxiliary states} given the inputs' dtypes; null and why[0] set
     *  when MXNet cannot infer them. */
    private int[][] inferTypes(List<TensorSpec> inputs, String[] why) {
        String[] keys = new String[inputs.size()];
        int[] types = new int[inputs.size()];
        for (int i = 0; i < inputs.size(); i++) {
            keys[i] = inputs.get(i).getName();
            types[i] = inputs.get(i).getDType().mxnetCode();
        }
        IntByReference inSize = new IntByReference();
        IntByReference outSize = new IntByReference();
        IntByReference auxSize = new IntByReference();
        PointerByReference inT = new PointerByReference();
        PointerByReference outT = new PointerByReference();
        PointerByReference auxT = new PointerByReference();
        IntByReference complete = new IntByReference();
        if (lib.MXSymbolInferType(symbol, keys.length, keys, types, inSize, inT, outSize, outT, auxSize, auxT, complete) != 0) {
            why[0] = Mxnet.lastErrorLine();
            return null;
        }
        return new int[][] {intArray(inT, inSize), intArray(outT, outSize), intArray(auxT, auxSize)};
    }

    private static int[] intArray(PointerByReference data, IntByReference size) {
        return size.getValue() == 0 ? new int[0] : data.getValue().getIntArray(0, size.getValue());
    }

    /** The graph's arguments then auxiliary states, in MXNet's order (that of its shape and type inference). */
    private List<String> argumentAndAuxNames() {
        List<String> names = new ArrayList<>(listStrings((n, o) -> lib.MXSymbolListArguments(symbol, n, o), "MXSymbolListArguments"));
        names.addAll(listStrings((n, o) -> lib.MXSymbolListAuxiliaryStates(symbol, n, o), "MXSymbolListAuxiliaryStates"));
        return names;
    }

    private Map<String, Pointer> paramsByName() {
        Map<String, Pointer> byName = new HashMap<>();
        for (int i = 0; i < argTemplate.length; i++) {
            if (argTemplate[i] != null) {
                byName.put(inputNameAt(i), argTemplate[i]);
            }
        }
        return byName;
    }

    private List<String> inputNamesCache;

    private String inputNameAt(int i) {
        if (inputNamesCache == null) {
            inputNamesCache = listStrings((n, out) -> lib.NNSymbolListInputNames(symbol, 0, n, out), "NNSymbolListInputNames");
        }
        return inputNamesCache.get(i);
    }

    /** Output specs of an old model by inference at two batch sizes: a dimension that follows the batch is -1. */
    private List<TensorSpec> inferOutputs(List<TensorSpec> inputs) {
        List<String> names = listStrings((n, o) -> lib.MXSymbolListOutputs(symbol, n, o), "MXSymbolListOutputs");
        String[] why = new String[1];
        Inferred a = inferShapes(inputs, 1, why);
        Inferred b = a == null ? null : inferShapes(inputs, 2, why);
        int[] outTypes = null;
        if (b != null) {
            int[][] types = inferTypes(inputs, why);
            if (types != null && types[1].length == names.size()) {
                outTypes = types[1];
            }
        }
        if (a == null || b == null || outTypes == null || a.outs.size() != names.size() || a.outs.contains(null)
                || b.outs.contains(null)) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "MXNet cannot infer the output shapes of " + where
                    + " from the inputs " + inputs + (why[0] == null ? "" : ": " + why[0]) + "; check the input descriptions");
        }
        List<TensorSpec> specs = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            int[] x = a.outs.get(i);
            int[] y = b.outs.get(i);
            int[] dims = new int[x.length];
            for (int k = 0; k < x.length; k++) {
                dims[k] = x[k] != y[k] ? -1 : x[k];
            }
            specs.add(new TensorSpec(names.get(i), new Shape(dims), DType.byMxnetCode(outTypes[i]), null));
        }
        return specs;
    }

    // ---- the public API ----

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this Predictor of " + where + " is closed");
        }
    }

    /**
     * What this predictor takes and gives: the whole model's signature (its {@link Signature#getNetwork()} is the
     * network alone's), or with {@code loadTransforms=false} the network's. For an old model, the input
     * descriptions and the outputs as MXNet names them, shapes inferred at load time.
     */
    public Signature getSignature() {
        ensureOpen();
        return signature;
    }

    /**
     * Runs the model on inputs given in signature order.
     *
     * @return the outputs in signature order, each with a batch dimension equal to the inputs'
     * @throws MxportException INPUT_COUNT, DTYPE_MISMATCH or SHAPE_MISMATCH (checked before any native call)
     */
    public List<NDArray> predictWithNDArray(List<NDArray> inputs) {
        ensureOpen();
        checkInputs(inputs);
        return run(inputs);
    }

    /**
     * Runs the model on inputs given by name.
     *
     * @return output name to output, in signature order
     * @throws MxportException UNKNOWN_INPUT for a name the model does not have, INPUT_COUNT for a missing one
     */
    public Map<String, NDArray> predictWithNDArray(Map<String, NDArray> inputs) {
        ensureOpen();
        if (inputs == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "inputs must be a map of input name to NDArray, got null");
        }
        List<String> names = signature.getInputNames();
        for (String name : inputs.keySet()) {
            if (!names.contains(name)) {
                throw new MxportException(ErrorCode.UNKNOWN_INPUT, "Unknown input name '" + name + "', expected one of ["
                        + String.join(", ", names) + "]");
            }
        }
        List<String> missing = new ArrayList<>(names);
        missing.removeAll(inputs.keySet());
        if (!missing.isEmpty()) {
            throw new MxportException(ErrorCode.INPUT_COUNT, "missing input(s) " + missing + ": the model takes " + names);
        }
        List<NDArray> ordered = new ArrayList<>();
        names.forEach(n -> ordered.add(inputs.get(n)));
        List<NDArray> out = predictWithNDArray(ordered);
        Map<String, NDArray> named = new LinkedHashMap<>();
        for (int i = 0; i < out.size(); i++) {
            named.put(signature.getOutputNames().get(i), out.get(i));
        }
        return named;
    }

    /**
     * Runs the model on flat inputs, as MXNet's Java API did: one array per input in signature order, each
     * holding a whole batch in C order. The batch size is the array's length divided by the product of the
     * input's other dimensions, which must all be fixed.
     *
     * <p>Dtypes: a float32 input takes the values as they are; an input of another dtype takes them only when
     * every value converts exactly (e.g. 0..255 integers for uint8, as image pixels are), and otherwise fails
     * with DTYPE_MISMATCH rather than rounding silently. float16 inputs need {@link #predictWithNDArray}.
     *
     * @return one flat array per output, in signature order, converted to float
     */
    public float[][] predict(float[][] inputs) {
        ensureOpen();
        List<TensorSpec> specs = signature.getInputs();
        if (inputs == null || inputs.length != specs.size()) {
            throw new MxportException(ErrorCode.INPUT_COUNT, "got " + (inputs == null ? 0 : inputs.length)
                    + " input(s) but the model takes " + specs.size() + ": " + signature.getInputNames());
        }
        List<NDArray> arrays = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            arrays.add(fromFloats(specs.get(i), inputs[i]));
        }
        List<NDArray> out = predictWithNDArray(arrays);
        float[][] flat = new float[out.size()][];
        for (int i = 0; i < flat.length; i++) {
            flat[i] = out.get(i).toFloatArray();
        }
        return flat;
    }

    private static NDArray fromFloats(TensorSpec spec, float[] values) {
        if (values == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "input '" + spec.getName() + "' is null");
        }
        Shape s = spec.getShape();
        long sample = 1;
        for (int k = 1; k < s.rank(); k++) {
            if (s.get(k) == -1) {
                throw new MxportException(ErrorCode.INVALID_ARGUMENT, "input '" + spec.getName() + "' has shape " + s
                        + ": with a dynamic dimension besides the batch, a flat array does not say its shape; use"
                        + " predictWithNDArray");
            }
            sample *= s.get(k);
        }
        if (values.length == 0 || values.length % sample != 0) {
            throw new MxportException(ErrorCode.SHAPE_MISMATCH, "input '" + spec.getName() + "' has " + values.length
                    + " values, not a positive multiple of " + sample + " (one sample of shape " + s + ")");
        }
        int[] dims = s.toArray();
        dims[0] = (int) (values.length / sample);
        if (s.get(0) != -1 && s.get(0) != dims[0]) {
            throw new MxportException(ErrorCode.SHAPE_MISMATCH, "input '" + spec.getName() + "' has shape "
                    + new Shape(dims) + " but the model takes " + s);
        }
        Shape shape = new Shape(dims);
        DType t = spec.getDType();
        ByteBuffer b = ByteBuffer.allocate(values.length * t.getByteSize()).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < values.length; i++) {
            float v = values[i];
            switch (t) {
                case FLOAT32:
                    b.putFloat(v);
                    break;
                case FLOAT64:
                    b.putDouble(v);
                    break;
                case UINT8:
                    b.put((byte) exact(spec, i, v, 0, 255));
                    break;
                case INT8:
                    b.put((byte) exact(spec, i, v, -128, 127));
                    break;
                case INT32:
                    b.putInt((int) exact(spec, i, v, Integer.MIN_VALUE, Integer.MAX_VALUE));
                    break;
                case INT64:
                    b.putLong(exact(spec, i, v, Long.MIN_VALUE, Long.MAX_VALUE));
                    break;
                default:
                    throw new MxportException(ErrorCode.DTYPE_MISMATCH, "input '" + spec.getName() + "' is " + t
                            + ": predict(float[][]) does not convert to it; pass NDArray.ofRaw(DType." + t.name()
                            + ", ...) to predictWithNDArray");
            }
        }
        return NDArray.wrap(shape, t, b.array());
    }

    private static long exact(TensorSpec spec, int i, float v, long min, long max) {
        if (v != Math.rint(v) || v < min || v > max) {
            throw new MxportException(ErrorCode.DTYPE_MISMATCH, "input '" + spec.getName() + "' is " + spec.getDType()
                    + " but value " + i + " (" + v + ") is not an integer in " + min + ".." + max + "; pass exact values"
                    + " or an NDArray of dtype " + spec.getDType());
        }
        return (long) v;
    }

    private void checkInputs(List<NDArray> arrays) {
        List<TensorSpec> specs = signature.getInputs();
        if (arrays == null || arrays.size() != specs.size()) {
            throw new MxportException(ErrorCode.INPUT_COUNT, "got " + (arrays == null ? 0 : arrays.size())
                    + " input(s) but the model takes " + specs.size() + ": " + signature.getInputNames());
        }
        int batch = -1;
        for (int i = 0; i < specs.size(); i++) {
            TensorSpec spec = specs.get(i);
            NDArray a = arrays.get(i);
            if (a == null) {
                throw new MxportException(ErrorCode.INVALID_ARGUMENT, "input '" + spec.getName() + "' is null");
            }
            if (a.getDType() != spec.getDType()) {
                throw new MxportException(ErrorCode.DTYPE_MISMATCH, "input '" + spec.getName() + "' has dtype "
                        + a.getDType() + " but the model takes " + spec.getDType());
            }
            Shape got = a.getShape();
            Shape want = spec.getShape();
            boolean ok = got.rank() == want.rank();
            for (int k = 0; ok && k < got.rank(); k++) {
                ok = want.get(k) == -1 || want.get(k) == got.get(k);
            }
            if (!ok) {
                throw new MxportException(ErrorCode.SHAPE_MISMATCH, "input '" + spec.getName() + "' has shape " + got
                        + " but the model takes " + want);
            }
            for (int k = 0; k < got.rank(); k++) {
                if (got.get(k) < 1) {
                    throw new MxportException(ErrorCode.SHAPE_MISMATCH, "input '" + spec.getName() + "' has shape " + got
                            + ": every dimension, the batch included, must be at least 1");
                }
            }
            if (batch != -1 && got.get(0) != batch) {
                throw new MxportException(ErrorCode.SHAPE_MISMATCH, "input '" + spec.getName() + "' has batch size "
                        + got.get(0) + " but '" + specs.get(0).getName() + "' has " + batch
                        + ": all inputs of a call share one batch size");
            }
            batch = got.get(0);
        }
    }

    private Pointer cachedOpFor(List<Shape> key) {
        Pointer op = cachedOps.get(key);
        if (op != null) {
            return op;
        }
        if (cachedOps.size() >= MAX_CACHED_SHAPES) {
            Map.Entry<List<Shape>, Pointer> eldest = cachedOps.entrySet().iterator().next();
            cachedOps.remove(eldest.getKey());
            lib.MXFreeCachedOp(eldest.getValue());
        }
        PointerByReference out = new PointerByReference();
        Mxnet.check(lib.MXCreateCachedOpEx(symbol, flagKeys.length, flagKeys, flagValues, out), "MXCreateCachedOpEx");
        cachedOps.put(key, out.getValue());
        return out.getValue();
    }

    private List<NDArray> run(List<NDArray> inputs) {
        List<Shape> key = new ArrayList<>();
        inputs.forEach(a -> key.add(a.getShape()));
        lock.lock();
        try {
            ensureOpen();
            Pointer op = cachedOpFor(key);
            Pointer[] args = argTemplate.clone();
            List<Pointer> created = new ArrayList<>();
            Pointer[] outs = new Pointer[0];
            int next = 0;
            try {
                for (int i = 0; i < inputs.size(); i++) {
                    NDArray a = inputs.get(i);
                    PointerByReference h = new PointerByReference();
                    Mxnet.check(lib.MXNDArrayCreateEx(a.getShape().toArray(), a.getShape().rank(), 1, 0, 0,
                            a.getDType().mxnetCode(), h), "MXNDArrayCreateEx");
                    created.add(h.getValue());
                    byte[] raw = a.rawView();
                    try (Memory staging = new Memory(Math.max(1, raw.length))) { // one copy; a byte[] argument costs two
                        staging.write(0, raw, 0, raw.length);
                        Mxnet.check(lib.MXNDArraySyncCopyFromCPU(h.getValue(), staging, a.size()), "MXNDArraySyncCopyFromCPU");
                    }
                    args[dataSlots[i]] = h.getValue();
                }
                IntByReference numOut = new IntByReference(0);
                PointerByReference outArray = new PointerByReference(Pointer.NULL);
                PointerByReference stypes = new PointerByReference();
                Mxnet.check(lib.MXInvokeCachedOpEx(op, args.length, args, numOut, outArray, stypes), "MXInvokeCachedOpEx");
                // the returned array is thread-local and overwritten by this thread's next call: copy it now
                outs = outArray.getValue().getPointerArray(0, numOut.getValue());
                List<NDArray> results = new ArrayList<>(outs.length);
                for (; next < outs.length; next++) {
                    results.add(copyOut(outs[next]));
                    lib.MXNDArrayFree(outs[next]);
                }
                return results;
            } finally {
                for (; next < outs.length; next++) {
                    lib.MXNDArrayFree(outs[next]);
                }
                for (Pointer h : created) {
                    lib.MXNDArrayFree(h);
                }
            }
        } finally {
            lock.unlock();
        }
    }

    private NDArray copyOut(Pointer handle) {
        int[] dims = arrayShape(handle);
        IntByReference dtype = new IntByReference();
        Mxnet.check(lib.MXNDArrayGetDType(handle, dtype), "MXNDArrayGetDType");
        DType t = DType.byMxnetCode(dtype.getValue());
        Shape shape = new Shape(dims);
        int n = shape.size();
        byte[] data = new byte[Math.multiplyExact(n, t.getByteSize())];
        Mxnet.check(lib.MXNDArraySyncCopyToCPU(handle, data, n), "MXNDArraySyncCopyToCPU");
        return NDArray.wrap(shape, t, data);
    }

    /** Frees the native memory. Throws nothing; calling it again does nothing. */
    @Override
    public void close() {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            freeAll();
        } finally {
            lock.unlock();
        }
    }

    private void freeAll() {
        if (lib == null) {
            return;
        }
        for (Pointer op : cachedOps.values()) {
            lib.MXFreeCachedOp(op);
        }
        cachedOps.clear();
        if (weights != null) {
            weights.release(lib);
            weights = null;
        }
        if (symbol != null) {
            lib.MXSymbolFree(symbol);
            symbol = null;
        }
    }

    SharedWeights weights() {
        return weights;
    }

    @Override
    public String toString() {
        return "Predictor(" + where + (closed ? ", closed" : "") + ")";
    }
}
