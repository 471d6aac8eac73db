package io.mxport.bench;

import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import java.util.List;

/** The in-JVM half of benchmarks/bridge_row.py: the same batch-1 call, looped in Java. */
public final class BridgeLoop {
    /** Mean milliseconds per call of {@code predictor} on a (1,300,300,3) uint8 image, output copied out. */
    public static double msPerCall(Predictor predictor, byte[] pixels, int runs) {
        Shape shape = new Shape(1, 300, 300, 3);
        long start = System.nanoTime();
        for (int i = 0; i < runs; i++) {
            predictor.predictWithNDArray(List.of(NDArray.ofBytes(pixels, shape))).get(0).toRawBytes();
        }
        return (System.nanoTime() - start) / 1e6 / runs;
    }

    private BridgeLoop() {}
}
