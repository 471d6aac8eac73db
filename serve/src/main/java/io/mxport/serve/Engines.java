package io.mxport.serve;

import io.mxport.Environment;
import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Signature;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/** The engines {@code --engine} offers. A new engine adds one line to {@link #ENGINES}. */
final class Engines {
    private static final Map<String, Supplier<Engine>> ENGINES = new LinkedHashMap<>();

    static {
        ENGINES.put("mxnet", MxnetEngine::new);
        ENGINES.put("onnxruntime", OnnxRuntimeEngine::new);
    }

    private Engines() {}

    static String names() {
        return String.join(", ", ENGINES.keySet());
    }

    /** @throws IllegalArgumentException naming the engines there are */
    static Engine byName(String name) {
        Supplier<Engine> e = ENGINES.get(name);
        if (e == null) {
            throw new IllegalArgumentException("--engine '" + name + "' is not available; choose one of: " + names());
        }
        return e.get();
    }

    /** MXNet 1.9.1 through the Java core's Predictor (CachedOp, bit-identical to Python's mxport.load). */
    static final class MxnetEngine implements Engine {
        @Override
        public String name() {
            return "mxnet";
        }

        @Override
        public void configure(ServeOptions options) {
            // read once, when the first Predictor loads libmxnet.so (spec/RUNTIME.md rule 7 and section 6); a
            // -Dmxport.engineWorkers of the user's stays in force when the flag is left at its default
            if (options.engineWorkers != 1 || System.getProperty(Environment.ENGINE_WORKERS_PROPERTY) == null) {
                Environment.setEngineWorkers(options.engineWorkers);
            }
        }

        @Override
        public Model load(String prefix) {
            return wrap(new Predictor(prefix));
        }

        @Override
        public int concurrentCalls() {
            return Math.max(1, Environment.load().getEngineWorkers());
        }
    }

    /**
     * ONNX Runtime through the Java core's Predictor (io.mxport:mxport-onnxruntime, in the jar) on the {@code .onnx}
     * file that {@code mxport export-onnx} wrote: {@code --model NAME=FILE.onnx}, or a prefix whose
     * {@code <PREFIX>.onnx} is that file. Outputs are the in-process Predictor's on the same engine.
     */
    static final class OnnxRuntimeEngine implements Engine {
        private int concurrentCalls = 1;

        @Override
        public String name() {
            return "onnxruntime";
        }

        @Override
        public void configure(ServeOptions options) {
            concurrentCalls = options.engineWorkers; // each run uses ONNX Runtime's own threads
        }

        @Override
        public Model load(String prefix) {
            Predictor predictor = new Predictor(
                    prefix.endsWith(".onnx") ? prefix : prefix + ".onnx", io.mxport.Engine.ONNXRUNTIME, true);
            return wrap(predictor);
        }

        @Override
        public int concurrentCalls() {
            return concurrentCalls;
        }
    }

    static Engine.Model wrap(Predictor predictor) {
        return new Engine.Model() {
            @Override
            public Signature signature() {
                return predictor.getSignature();
            }

            @Override
            public List<NDArray> predict(List<NDArray> inputs) {
                return predictor.predictWithNDArray(inputs);
            }

            @Override
            public void close() {
                predictor.close();
            }
        };
    }
}
