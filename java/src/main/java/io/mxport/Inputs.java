package io.mxport;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Checks a call's inputs against the signature before any native call (INPUT_COUNT, UNKNOWN_INPUT,
 * DTYPE_MISMATCH, SHAPE_MISMATCH), and converts the flat float arrays of {@link Predictor#predict(float[][])}.
 */
final class Inputs {
    private Inputs() {}

    /** Checks inputs given in signature order: count, dtypes, shapes, one batch size. */
    static void check(Signature signature, List<NDArray> arrays) {
        List<TensorSpec> specs = signature.getInputs();
        if (arrays == null || arrays.size() != specs.size()) {
            throw new MxportException(
                    ErrorCode.INPUT_COUNT,
                    "got " + (arrays == null ? 0 : arrays.size()) + " input(s) but the model takes " + specs.size()
                            + ": " + signature.getInputNames());
        }
        int batch = -1;
        for (int i = 0; i < specs.size(); i++) {
            TensorSpec spec = specs.get(i);
            NDArray a = arrays.get(i);
            if (a == null) {
                throw new MxportException(ErrorCode.INVALID_ARGUMENT, "input '" + spec.getName() + "' is null");
            }
            if (a.getDType() != spec.getDType()) {
                boolean image =
                        a.getDType() == DType.UINT8 && spec.getDType().getName().startsWith("float");
                String convert = "convert it to " + spec.getDType() + ", an NDArray of DType."
                        + spec.getDType().name();
                throw new MxportException(
                        ErrorCode.DTYPE_MISMATCH,
                        "input '" + spec.getName() + "' has dtype " + a.getDType() + " but the model takes "
                                + spec.getDType(),
                        image
                                ? Fix.argument(
                                        "load_transforms",
                                        true,
                                        convert + "; an image (uint8) feeds the model with its" + " transforms: ",
                                        "")
                                : Fix.text(convert));
            }
            Shape got = a.getShape();
            Shape want = spec.getShape();
            boolean ok = got.rank() == want.rank();
            for (int k = 0; ok && k < got.rank(); k++) {
                ok = want.get(k) == -1 || want.get(k) == got.get(k);
            }
            if (!ok) {
                throw new MxportException(
                        ErrorCode.SHAPE_MISMATCH,
                        "input '" + spec.getName() + "' has shape " + got + " but the model takes " + want,
                        shapeFix(got, want));
            }
            for (int k = 0; k < got.rank(); k++) {
                if (got.get(k) < 1) {
                    throw new MxportException(
                            ErrorCode.SHAPE_MISMATCH,
                            "input '" + spec.getName() + "' has shape " + got
                                    + ": every dimension, the batch included, must be at least 1");
                }
            }
            if (batch != -1 && got.get(0) != batch) {
                throw new MxportException(
                        ErrorCode.SHAPE_MISMATCH,
                        "input '" + spec.getName() + "' has batch size "
                                + got.get(0) + " but '" + specs.get(0).getName() + "' has " + batch
                                + ": all inputs of a call share one batch size");
            }
            batch = got.get(0);
        }
    }

    /** The inputs of a map by name, in signature order: UNKNOWN_INPUT for a name the model lacks, INPUT_COUNT for a missing one. */
    static List<NDArray> ordered(Signature signature, Map<String, NDArray> inputs) {
        if (inputs == null) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT, "inputs must be a map of input name to NDArray, got null");
        }
        List<String> names = signature.getInputNames();
        for (String name : inputs.keySet()) {
            if (!names.contains(name)) {
                throw new MxportException(
                        ErrorCode.UNKNOWN_INPUT,
                        "Unknown input name '" + name + "', expected one of [" + String.join(", ", names) + "]");
            }
        }
        List<String> missing = new ArrayList<>(names);
        missing.removeAll(inputs.keySet());
        if (!missing.isEmpty()) {
            throw new MxportException(
                    ErrorCode.INPUT_COUNT, "missing input(s) " + missing + ": the model takes " + names);
        }
        List<NDArray> ordered = new ArrayList<>();
        names.forEach(n -> ordered.add(inputs.get(n)));
        return ordered;
    }

    /** Flat float arrays as MXNet's Java API took them, one per input, as arrays of the inputs' dtypes. */
    static List<NDArray> fromFloats(Signature signature, float[][] inputs) {
        List<TensorSpec> specs = signature.getInputs();
        if (inputs == null || inputs.length != specs.size()) {
            throw new MxportException(
                    ErrorCode.INPUT_COUNT,
                    "got " + (inputs == null ? 0 : inputs.length) + " input(s) but the model takes " + specs.size()
                            + ": " + signature.getInputNames());
        }
        List<NDArray> arrays = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            arrays.add(fromFloats(specs.get(i), inputs[i]));
        }
        return arrays;
    }

    private static NDArray fromFloats(TensorSpec spec, float[] values) {
        if (values == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "input '" + spec.getName() + "' is null");
        }
        Shape s = spec.getShape();
        long sample = 1;
        for (int k = 1; k < s.rank(); k++) {
            if (s.get(k) == -1) {
                throw new MxportException(
                        ErrorCode.INVALID_ARGUMENT,
                        "input '" + spec.getName() + "' has shape " + s
                                + ": with a dynamic dimension besides the batch, a flat array does not say its shape; use"
                                + " predictWithNDArray");
            }
            sample *= s.get(k);
        }
        if (values.length == 0 || values.length % sample != 0) {
            throw new MxportException(
                    ErrorCode.SHAPE_MISMATCH,
                    "input '" + spec.getName() + "' has " + values.length + " values, not a positive multiple of "
                            + sample + " (one sample of shape " + s + ")");
        }
        int[] dims = s.toArray();
        dims[0] = (int) (values.length / sample);
        if (s.get(0) != -1 && s.get(0) != dims[0]) {
            throw new MxportException(
                    ErrorCode.SHAPE_MISMATCH,
                    "input '" + spec.getName() + "' has shape " + new Shape(dims) + " but the model takes " + s);
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
                    throw new MxportException(
                            ErrorCode.DTYPE_MISMATCH,
                            "input '" + spec.getName() + "' is " + t
                                    + ": predict(float[][]) does not convert to it; pass NDArray.ofRaw(DType."
                                    + t.name()
                                    + ", ...) to predictWithNDArray");
            }
        }
        return NDArray.wrap(shape, t, b.array());
    }

    private static long exact(TensorSpec spec, int i, float v, long min, long max) {
        if (v != Math.rint(v) || v < min || v > max) {
            throw new MxportException(
                    ErrorCode.DTYPE_MISMATCH,
                    "input '" + spec.getName() + "' is " + spec.getDType()
                            + " but value " + i + " (" + v + ") is not an integer in " + min + ".." + max
                            + "; pass exact values"
                            + " or an NDArray of dtype " + spec.getDType());
        }
        return (long) v;
    }

    private static boolean fits(int[] got, Shape want) {
        if (got.length != want.rank()) {
            return false;
        }
        for (int k = 0; k < got.length; k++) {
            if (want.get(k) != -1 && want.get(k) != got[k]) {
                return false;
            }
        }
        return true;
    }

    /** The likely fix of a shape mismatch, a missing batch axis or channels on the wrong side; null when none. */
    static Fix shapeFix(Shape got, Shape want) {
        int[] g = got.toArray();
        int[] batched = new int[g.length + 1];
        batched[0] = 1;
        System.arraycopy(g, 0, batched, 1, g.length);
        if (fits(batched, want)) {
            return Fix.text("add the batch axis, shape " + new Shape(batched) + " for a batch of one (the same bytes)");
        }
        if (g.length == 4 && want.rank() == 4) {
            if (fits(new int[] {g[0], g[3], g[1], g[2]}, want)) {
                return Fix.argument(
                        "load_transforms",
                        true,
                        "the array is channels-last (NHWC) and the model takes"
                                + " channels-first (NCHW): transpose it; an image feeds the model with its transforms: ",
                        "");
            }
            if (fits(new int[] {g[0], g[2], g[3], g[1]}, want)) {
                return Fix.text(
                        "the array is channels-first (NCHW) and the model takes channels-last (NHWC): transpose it");
            }
        }
        return null;
    }
}
