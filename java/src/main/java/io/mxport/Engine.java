package io.mxport;

/**
 * The engine a {@link Predictor} runs a model on.
 *
 * <pre>{@code
 * try (Predictor p = new Predictor("out/my_model.onnx", Engine.ONNXRUNTIME, true)) {   // needs io.mxport:mxport-onnxruntime
 *     List<NDArray> out = p.predictWithNDArray(List.of(pixels));                       // same checks, same codes
 * }
 * }</pre>
 *
 * <p>{@link #MXNET}, the default, runs the mxport model files on {@code libmxnet.so} and is the bit-exact
 * reference. {@link #ONNXRUNTIME} runs the {@code .onnx} file that {@code mxport export-onnx} wrote from them
 * (spec/FORMAT.md section 13) on ONNX Runtime, within the tolerances of {@code spec/onnx_tolerances.json}; it comes
 * from the artifact {@link #getArtifact()} and loads neither {@code libmxnet.so} nor Python.
 */
public enum Engine {
    /** MXNet 1.9.1's {@code libmxnet.so} (this artifact). */
    MXNET("mxnet", "io.mxport:mxport"),
    /** ONNX Runtime, on an {@code .onnx} file written by {@code mxport export-onnx}. */
    ONNXRUNTIME("onnxruntime", "io.mxport:mxport-onnxruntime");

    private final String id;
    private final String artifact;

    Engine(String id, String artifact) {
        this.id = id;
        this.artifact = artifact;
    }

    /** The engine's name as Python's {@code mxport.load(..., engine=...)} spells it: "mxnet", "onnxruntime". */
    public String getId() {
        return id;
    }

    /** The Maven artifact (groupId:artifactId) that brings the engine. */
    public String getArtifact() {
        return artifact;
    }

    /**
     * The engine of a name as Python spells it ("mxnet", "onnxruntime"), case-insensitive.
     *
     * @throws MxportException INVALID_ARGUMENT for another name, listing the names
     */
    public static Engine of(String id) {
        for (Engine e : values()) {
            if (e.id.equalsIgnoreCase(String.valueOf(id).trim())) {
                return e;
            }
        }
        throw new MxportException(
                ErrorCode.INVALID_ARGUMENT,
                "engine '" + id + "' is not one of [mxnet, onnxruntime]"
                        + " (OpenVINO runs from Python only: java/README.md says why)");
    }

    @Override
    public String toString() {
        return id;
    }
}
