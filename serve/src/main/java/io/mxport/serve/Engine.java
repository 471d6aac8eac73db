package io.mxport.serve;

import io.mxport.NDArray;
import io.mxport.Signature;
import java.util.List;

/**
 * What runs a model for the server: the Java core's {@link io.mxport.Predictor} on MXNet or ONNX Runtime. Another
 * engine implements this and registers itself in {@link Engines}; the server needs nothing else from it.
 */
interface Engine {
    /** The name {@code --engine} takes. */
    String name();

    /** Applied before the first model loads (e.g. MXNet's engine workers, which libmxnet reads once). */
    default void configure(ServeOptions options) {}

    /** Loads the model at {@code prefix}; failures are {@link io.mxport.MxportException}s. */
    Model load(String prefix);

    /** How many calls the engine computes at once, so how many batches the server runs at once. */
    int concurrentCalls();

    /** A loaded model: thread-safe, called with whole batches. */
    interface Model extends AutoCloseable {
        Signature signature();

        /** Inputs and outputs in signature order; dimension 0 is the batch. */
        List<NDArray> predict(List<NDArray> inputs);

        @Override
        void close();
    }
}
