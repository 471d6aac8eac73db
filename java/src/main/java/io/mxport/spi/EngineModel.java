package io.mxport.spi;

import io.mxport.NDArray;
import java.util.List;
import java.util.Map;

/** A model file opened by an {@link EngineProvider}. May be called from several threads at once. */
public interface EngineModel extends AutoCloseable {
    /** The file's metadata (ONNX {@code metadata_props}): {@code mxport_signature} and {@code mxport_graph}. */
    Map<String, String> metadata();

    /** The graph's input names, in the graph's order. */
    List<String> inputNames();

    /** The graph's output names, in the graph's order. */
    List<String> outputNames();

    /**
     * Runs the graph on inputs the core has checked against the signature (count, dtypes, shapes, batch).
     *
     * @param inputs by input name
     * @param outputs the output names, in the order to return them
     * @throws io.mxport.MxportException NATIVE_ERROR when the engine fails
     */
    List<NDArray> run(Map<String, NDArray> inputs, List<String> outputs);

    /** Frees the engine's memory; throws nothing. */
    @Override
    void close();
}
