package io.mxport;

import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A checked model in MXNet: its symbol, its shared weights, and where the data inputs go among the CachedOp's
 * arguments. Loading checks what MXNet can tell before the first call: every array the graph needs is in the
 * params file, with the dtype and (when the inputs' shapes allow inference) the shape the graph needs; an old
 * model's output specs are inferred here.
 */
final class LoadedModel implements AutoCloseable {
    final String where;
    final Signature signature;
    /** CachedOp arguments in the graph's input order; data slots are null in this template. */
    final Pointer[] argTemplate;
    /** For signature input i, its slot in argTemplate. */
    final int[] dataSlots;
    /** The CachedOp's flags (data_indices, param_indices, static memory). */
    final String[] flagKeys;

    final String[] flagValues;
    private final List<String> inputNames;
    Pointer symbol;
    /** The weights, shared with every other open Predictor of the same params file. */
    SharedWeights weights;

    LoadedModel(ModelFiles model, boolean loadTransforms) {
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
        EngineWorkers.load(); // the thread rule, before MXNet sees the model
        boolean done = false;
        try {
            symbol = Mxnet.symbolFromJson(graph.toJsonFor(Mxnet.version()));
            if (symbol == null) {
                throw new MxportException(
                        ErrorCode.BAD_SYMBOL_JSON,
                        "MXNet cannot build the graph in " + where + ": " + Mxnet.lastErrorLine());
            }
            List<String> names = Mxnet.inputNames(symbol);
            this.inputNames = names;
            weights = SharedWeights.acquire(model.params, model.paramsDigest, model.paramsPath);
            Map<String, Pointer> params = weights.arrays;
            if (sig == null) {
                for (TensorSpec s : inputSpecs) {
                    if (params.containsKey(s.getName())) {
                        throw new MxportException(
                                ErrorCode.INVALID_ARGUMENT,
                                "input '" + s.getName() + "' is a parameter of the network (an array of "
                                        + model.paramsPath + "), not an input",
                                ModelFiles.describeInputs(model.prefix(), model.graph, params.keySet()));
                    }
                }
            }
            if (sig == null) {
                sig = Signature.ofOldModel(inputSpecs, inferOutputs(inputSpecs));
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
                throw new MxportException(
                        ErrorCode.BAD_PARAMS,
                        model.paramsPath + " lacks " + missing.size()
                                + " array(s) the graph needs, e.g. " + missing.subList(0, Math.min(3, missing.size()))
                                + "; export the model again");
            }
            if (dataIndices.size() != inputSpecs.size()) {
                List<String> absent = new ArrayList<>(sig.getInputNames());
                absent.removeAll(names);
                throw new MxportException(
                        sig.getNetwork().isPresent() || model.signature != null
                                ? ErrorCode.BAD_CONNECTORS
                                : ErrorCode.UNKNOWN_INPUT,
                        where + ": the graph does not use input(s) " + absent + "; its inputs are " + names);
            }
            checkParamTypes(inputSpecs, model.paramsPath);
            checkParamShapes(inputSpecs, model.paramsPath);
            this.flagKeys =
                    new String[] {"data_indices", "param_indices", "static_alloc", "static_shape", "inline_limit"};
            this.flagValues = new String[] {pyList(dataIndices), pyList(paramIndices), "True", "True", "2"};
            done = true;
        } finally {
            if (!done) {
                close();
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

    /** Shape inference with the inputs at the given batch (other dynamic dimensions 1); null, why[0] set, on failure. */
    private NativeArrays.Shapes inferShapes(List<TensorSpec> inputs, int batch, String[] why) {
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
        NativeArrays.Shapes shapes = Mxnet.inferShapes(
                symbol, keys, indPtr, data.stream().mapToInt(Integer::intValue).toArray());
        if (shapes == null) {
            why[0] = Mxnet.lastErrorLine();
        }
        return shapes;
    }

    /** Dtype inference from the inputs' dtypes: {arguments, outputs, aux}; null, why[0] set, on failure. */
    private int[][] inferTypes(List<TensorSpec> inputs, String[] why) {
        String[] keys = new String[inputs.size()];
        int[] types = new int[inputs.size()];
        for (int i = 0; i < inputs.size(); i++) {
            keys[i] = inputs.get(i).getName();
            types[i] = inputs.get(i).getDType().mxnetCode();
        }
        int[][] inferred = Mxnet.inferTypes(symbol, keys, types);
        if (inferred == null) {
            why[0] = Mxnet.lastErrorLine();
        }
        return inferred;
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
        NativeArrays.Shapes shapes = inferShapes(inputs, 1, why);
        if (shapes == null) {
            throw new MxportException(
                    ErrorCode.BAD_PARAMS, "the graph's shapes cannot be inferred with these params: " + why[0]);
        }
        List<String> names = Mxnet.argumentAndAuxNames(symbol);
        List<int[]> all = new ArrayList<>(shapes.args);
        all.addAll(shapes.aux);
        Map<String, Pointer> byName = paramsByName();
        for (int i = 0; i < Math.min(names.size(), all.size()); i++) {
            Pointer handle = byName.get(names.get(i));
            if (handle != null && all.get(i) != null) {
                int[] have = Mxnet.shapeOf(handle);
                if (!Arrays.equals(have, all.get(i))) {
                    throw new MxportException(
                            ErrorCode.BAD_PARAMS,
                            path + ": array '" + names.get(i) + "' has shape " + new Shape(have)
                                    + " but the graph needs " + new Shape(all.get(i)) + "; export the model again");
                }
            }
        }
    }

    /** Checks that every parameter has the dtype the graph infers from the signature's input dtypes. */
    private void checkParamTypes(List<TensorSpec> inputs, String path) {
        String[] why = new String[1];
        int[][] types = inferTypes(inputs, why);
        if (types == null) {
            throw new MxportException(
                    ErrorCode.BAD_PARAMS,
                    "the graph's dtypes cannot be inferred from the inputs " + inputs + ": " + why[0]);
        }
        List<String> names = Mxnet.argumentAndAuxNames(symbol);
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
            int have = Mxnet.dtypeOf(handle);
            if (have != inferred.get(i)) {
                throw new MxportException(
                        ErrorCode.BAD_PARAMS,
                        path + ": array '" + names.get(i) + "' has dtype "
                                + DType.byMxnetCode(have) + " but the graph needs " + DType.byMxnetCode(inferred.get(i))
                                + "; export the model again");
            }
        }
    }

    private Map<String, Pointer> paramsByName() {
        Map<String, Pointer> byName = new HashMap<>();
        for (int i = 0; i < argTemplate.length; i++) {
            if (argTemplate[i] != null) {
                byName.put(inputNames.get(i), argTemplate[i]);
            }
        }
        return byName;
    }

    /** Output specs of an old model by inference at two batch sizes: a dimension that follows the batch is -1. */
    private List<TensorSpec> inferOutputs(List<TensorSpec> inputs) {
        List<String> names = Mxnet.outputNames(symbol);
        String[] why = new String[1];
        NativeArrays.Shapes a = inferShapes(inputs, 1, why);
        NativeArrays.Shapes b = a == null ? null : inferShapes(inputs, 2, why);
        int[] outTypes = null;
        if (b != null) {
            int[][] types = inferTypes(inputs, why);
            if (types != null && types[1].length == names.size()) {
                outTypes = types[1];
            }
        }
        if (a == null
                || b == null
                || outTypes == null
                || a.outs.size() != names.size()
                || a.outs.contains(null)
                || b.outs.contains(null)) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "MXNet cannot infer the output shapes of " + where + " from the inputs " + inputs
                            + (why[0] == null ? "" : ": " + why[0]) + "; check the input descriptions");
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

    /** Releases the weights and frees the symbol; calling it again does nothing. */
    @Override
    public void close() {
        if (weights != null) {
            weights.release();
            weights = null;
        }
        if (symbol != null) {
            Mxnet.freeSymbol(symbol);
            symbol = null;
        }
    }
}
