package io.mxport.spi;

import io.mxport.Engine;
import java.nio.file.Path;

/**
 * An engine besides MXNet, found by {@link java.util.ServiceLoader} (a {@code
 * META-INF/services/io.mxport.spi.EngineProvider} entry in the engine's artifact), so that the core depends on no
 * engine. Implemented by {@code io.mxport:mxport-onnxruntime}; users call {@link io.mxport.Predictor}, not this.
 */
public interface EngineProvider {
    /** The engine this provider runs. */
    Engine engine();

    /**
     * Sizes the engine's process-wide threads before its first model opens: called once per process, by
     * {@link io.mxport.Environment}, with the count it decided for every engine (spec/RUNTIME.md section 6).
     *
     * @param threads the threads calls compute with, all calls of all models together; at least 1
     * @return what was done, in a sentence, for {@link io.mxport.Environment.Applied#getReason()}
     * @throws io.mxport.MxportException NATIVE_ERROR when the engine cannot start
     */
    String configure(int threads);

    /**
     * Opens a model file on the engine. The core then reads the signature from {@link EngineModel#metadata()} and
     * checks every call's inputs before {@link EngineModel#run}.
     *
     * @throws io.mxport.MxportException NATIVE_ERROR when the engine cannot load the file
     */
    EngineModel open(Path file);
}
