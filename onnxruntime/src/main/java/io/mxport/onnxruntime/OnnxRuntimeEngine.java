package io.mxport.onnxruntime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.mxport.Engine;
import io.mxport.ErrorCode;
import io.mxport.MxportException;
import io.mxport.spi.EngineModel;
import io.mxport.spi.EngineProvider;
import java.nio.file.Path;

/**
 * ONNX Runtime behind {@link io.mxport.Predictor}: found by the core through {@link java.util.ServiceLoader} when
 * this artifact is on the classpath. Users write {@code new Predictor("out/my_model.onnx", Engine.ONNXRUNTIME,
 * true)}; this class is not called directly.
 */
public final class OnnxRuntimeEngine implements EngineProvider {
    /** For ServiceLoader. */
    public OnnxRuntimeEngine() {}

    @Override
    public Engine engine() {
        return Engine.ONNXRUNTIME;
    }

    @Override
    public EngineModel open(Path file) {
        try {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                return new OnnxRuntimeModel(env, env.createSession(file.toString(), options));
            }
        } catch (OrtException e) {
            throw new MxportException(
                    ErrorCode.NATIVE_ERROR, "ONNX Runtime cannot load " + file + ": " + e.getMessage());
        }
    }
}
