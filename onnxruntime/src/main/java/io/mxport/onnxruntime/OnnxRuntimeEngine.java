package io.mxport.onnxruntime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
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
 *
 * <p>Threads: the JVM has one {@link OrtEnvironment}. mxport creates it with one intra-op pool of
 * {@link io.mxport.Environment#setThreads} threads that every session shares (calls run on it, several at once
 * if several threads call), so that N models do not start N pools of every core. Sessions execute their
 * operators in sequence, so the inter-op pool has one thread. When other code created the environment first,
 * without those pools, each session gets its own pool of that many threads instead, and
 * {@link io.mxport.Environment#applied(Engine)} says so.
 */
public final class OnnxRuntimeEngine implements EngineProvider {
    private static volatile boolean sharedPool;
    private static volatile int threads = 1;

    /** For ServiceLoader. */
    public OnnxRuntimeEngine() {}

    @Override
    public Engine engine() {
        return Engine.ONNXRUNTIME;
    }

    @Override
    public String configure(int count) {
        threads = count;
        try (OrtEnvironment.ThreadingOptions pools = new OrtEnvironment.ThreadingOptions()) {
            pools.setGlobalIntraOpNumThreads(count);
            pools.setGlobalInterOpNumThreads(1);
            OrtEnvironment.getEnvironment(
                    OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, OrtEnvironment.DEFAULT_NAME, pools);
            sharedPool = true;
            return "ONNX Runtime computes with one pool of " + count + " thread(s) shared by every model";
        } catch (IllegalStateException e) { // an OrtEnvironment existed: its thread pools are fixed
            sharedPool = false;
            return "ONNX Runtime's environment was created before mxport's first model, without shared pools: each"
                    + " model computes with its own " + count + " thread(s) (fix: open an mxport model before other"
                    + " ONNX Runtime code, so that all share one pool)";
        } catch (OrtException e) {
            throw new MxportException(ErrorCode.NATIVE_ERROR, "ONNX Runtime cannot start: " + e.getMessage());
        }
    }

    @Override
    public EngineModel open(Path file) {
        try {
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
                options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
                options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
                if (sharedPool) {
                    options.disablePerSessionThreads();
                } else {
                    options.setIntraOpNumThreads(threads);
                    options.setInterOpNumThreads(1);
                }
                return new OnnxRuntimeModel(env, env.createSession(file.toString(), options));
            }
        } catch (OrtException e) {
            throw new MxportException(
                    ErrorCode.NATIVE_ERROR, "ONNX Runtime cannot load " + file + ": " + e.getMessage());
        }
    }
}
