package io.mxport.it;

import io.mxport.Context;
import io.mxport.DType;
import io.mxport.DataDesc;
import io.mxport.Engine;
import io.mxport.Images;
import io.mxport.NDArray;
import io.mxport.Npy;
import io.mxport.Predictor;
import io.mxport.Shape;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The Java tester adapter: an mxport Predictor driven with .npy bytes, so that JPype and Py4J exercise the same
 * calls. {@code oldInputs} ("name\tdtype\td0,d1,..." lines) and {@code epoch} are only for an old model.
 */
public final class JavaRunner implements AutoCloseable {
    private final Predictor predictor;

    public JavaRunner(String prefix, boolean loadTransforms) {
        predictor = new Predictor(prefix, List.of(Context.cpu()), loadTransforms);
    }

    private JavaRunner(Predictor predictor) {
        this.predictor = predictor;
    }

    /** A Predictor on another engine ("onnxruntime"): {@code path} is the .onnx file export_onnx wrote. */
    public static JavaRunner onEngine(String path, String engine, boolean loadTransforms) {
        return new JavaRunner(new Predictor(path, Engine.of(engine), loadTransforms));
    }

    public JavaRunner(String prefix, String oldInputs, int epoch) {
        predictor = new Predictor(prefix, descriptions(oldInputs), List.of(Context.cpu()), epoch);
    }

    static List<DataDesc> descriptions(String text) {
        List<DataDesc> out = new ArrayList<>();
        for (String item : text.split("\n")) {
            String[] parts = item.split("\t"); // an old model's names may hold ':' and ';' (spec section 7)
            int[] dims = java.util.Arrays.stream(parts[2].split(","))
                    .mapToInt(Integer::parseInt)
                    .toArray();
            out.add(new DataDesc(parts[0], new Shape(dims), DType.of(parts[1]), parts.length > 3 ? parts[3] : null));
        }
        return out;
    }

    /** Runs the model on .npy inputs in signature order; returns .npy outputs in signature order. */
    public byte[][] predict(byte[][] npyInputs) {
        List<NDArray> inputs = new ArrayList<>();
        for (byte[] npy : npyInputs) {
            inputs.add(Npy.read(npy));
        }
        List<NDArray> outputs = predictor.predictWithNDArray(inputs);
        byte[][] out = new byte[outputs.size()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = Npy.write(outputs.get(i));
        }
        return out;
    }

    /** {@link Images#read} of the file, as .npy bytes. */
    public static byte[] readImage(String path) {
        return Npy.write(Images.read(Path.of(path)));
    }

    /** The libmxnet.so this JVM has mapped (/proc/self/maps), or null before one is loaded. */
    public static String libmxnet() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .filter(l -> l.endsWith("/libmxnet.so"))
                .map(l -> l.substring(l.indexOf('/')))
                .findFirst()
                .orElse(null);
    }

    public String signature() {
        return predictor.getSignature().toString();
    }

    @Override
    public void close() {
        predictor.close();
    }
}
