package io.mxport.bench;

import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import java.util.List;

/** The in-JVM halves of benchmarks/bridge_row.py and benchmarks/paired_row.py: calls looped in Java. */
public final class BridgeLoop {
    /** Mean milliseconds per call of {@code predictor} on a (1,300,300,3) uint8 image, output copied out. */
    public static double msPerCall(Predictor predictor, byte[] pixels, int runs) {
        Shape shape = new Shape(1, 300, 300, 3);
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            predictor
                    .predictWithNDArray(List.of(NDArray.ofBytes(pixels, shape)))
                    .get(0)
                    .toRawBytes();
        }
        return (System.nanoTime() - start) / 1e6 / runs;
    }

    /**
     * Milliseconds per sample of {@code calls} end-to-end calls on one input built beforehand (as JvmBench's e2e
     * cell and the Python rows do), the first output copied out and converted to floats.
     */
    public static double msPerSample(Predictor predictor, NDArray input, int calls) {
        List<NDArray> inputs = List.of(input);
        long start = System.nanoTime();
        for (int i = 0; i < calls; i++) {
            predictor.predictWithNDArray(inputs).get(0).toFloatArray();
        }
        return (System.nanoTime() - start) / 1e6 / calls / input.getShape().get(0);
    }

    private BridgeLoop() {}
}
