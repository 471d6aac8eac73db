package io.mxport.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.mxport.Context;
import io.mxport.Engine;
import io.mxport.Environment;
import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Times one Java row of benchmarks/engine_bench.py inside the JVM and prints one JSON line.
 *
 * <pre>
 * java -Dmxport.threads=2 -cp CLASSPATH io.mxport.bench.EngineBench --row mxport|bare --engine mxnet|onnxruntime
 *      --part model|network --batch 1 --runs 200 --warmup 20 --pixels FILE --model .cache/models/resnet18[.onnx]
 * </pre>
 *
 * <p>mxport: the {@link Predictor} on the engine (a model prefix on MXNet, an {@code .onnx} file written by
 * {@code mxport export-onnx} on ONNX Runtime). bare: ONNX Runtime's own {@link OrtSession} on the same file, with
 * no mxport code, as a Java user would call it (a tensor made from the input each call, the output copied out),
 * with the same threads ({@code mxport.threads}) and options, so that the difference is mxport's own cost. The
 * model part takes a uint8 batch of [N, 300, 300, 3]: the bytes of {@code --pixels} (else
 * {@link JvmBench#syntheticPixels}); the network part a seeded float32 batch of [N, 3, 224, 224].
 */
public final class EngineBench {
    private EngineBench() {}

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String row = a.get("row");
        Engine engine = Engine.of(a.get("engine"));
        boolean whole = "model".equals(a.get("part"));
        int batch = Integer.parseInt(a.get("batch"));
        int runs = Integer.parseInt(a.get("runs"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "20"));
        String model = a.get("model");
        Shape shape = whole ? new Shape(batch, 300, 300, 3) : new Shape(batch, 3, 224, 224);
        byte[] pixels = a.containsKey("pixels") // the harness' bytes, which the Python rows read too
                ? Arrays.copyOf(Files.readAllBytes(Path.of(a.get("pixels"))), batch * 300 * 300 * 3)
                : JvmBench.syntheticPixels(batch);
        float[] floats = new float[batch * 3 * 224 * 224];
        Random random = new Random(0);
        for (int i = 0; i < floats.length; i++) {
            floats[i] = (float) random.nextGaussian();
        }
        Supplier<float[]> step;
        AutoCloseable resource;
        String threads;
        if ("mxport".equals(row)) {
            Predictor p = engine == Engine.MXNET
                    ? new Predictor(model, List.of(Context.cpu()), whole)
                    : new Predictor(model, engine, whole);
            resource = p;
            // built once, as the Python rows build theirs once
            List<NDArray> input = List.of(whole ? NDArray.ofBytes(pixels, shape) : NDArray.ofFloats(floats, shape));
            step = () -> p.predictWithNDArray(input).get(0).toFloatArray();
            threads = String.valueOf(Environment.applied(engine).orElseThrow());
        } else if ("bare".equals(row) && engine == Engine.ONNXRUNTIME) {
            int n = Integer.parseInt(System.getProperty(
                    Environment.THREADS_PROPERTY,
                    String.valueOf(Runtime.getRuntime().availableProcessors())));
            OrtEnvironment env = OrtEnvironment.getEnvironment();
            OrtSession.SessionOptions options = new OrtSession.SessionOptions();
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setIntraOpNumThreads(n);
            options.setInterOpNumThreads(1);
            OrtSession session = env.createSession(model, options);
            String name = session.getInputNames().iterator().next();
            long[] dims = {batch, whole ? 300 : 3, whole ? 300 : 224, whole ? 3 : 224};
            resource = () -> {
                session.close();
                options.close();
            };
            step = () -> {
                try (OnnxTensor x = whole
                                ? OnnxTensor.createTensor(
                                        env,
                                        ByteBuffer.allocateDirect(pixels.length)
                                                .put(pixels)
                                                .rewind(),
                                        dims,
                                        ai.onnxruntime.OnnxJavaType.UINT8)
                                : OnnxTensor.createTensor(env, FloatBuffer.wrap(floats), dims);
                        OrtSession.Result out = session.run(Map.of(name, x))) {
                    FloatBuffer y = ((OnnxTensor) out.get(0)).getFloatBuffer();
                    float[] copy = new float[y.remaining()];
                    y.get(copy);
                    return copy;
                } catch (ai.onnxruntime.OrtException e) {
                    throw new IllegalStateException(e);
                }
            };
            threads = "per-session pool of " + n + " intra-op thread(s), inter-op 1";
        } else {
            throw new IllegalArgumentException("--row mxport (any engine) or bare (onnxruntime), got " + row);
        }
        try (AutoCloseable r = resource) {
            double[] ms = JvmBench.timed(step, warmup, runs, batch);
            double[] sorted = ms.clone();
            Arrays.sort(sorted);
            System.out.println(String.format(
                    Locale.ROOT,
                    "{\"language\": \"Java\", \"row\": \"%s\", \"engine\": \"%s\", \"part\": \"%s\", \"batch\": %d,"
                            + " \"runs\": %d, \"ms_per_sample\": %.4f, \"p50\": %.4f, \"p90\": %.4f, \"threads\":"
                            + " \"%s\", \"raw_ms\": %s}",
                    row,
                    engine,
                    whole ? "model" : "network",
                    batch,
                    runs,
                    Arrays.stream(ms).average().orElse(Double.NaN),
                    sorted[sorted.length / 2],
                    sorted[(int) (sorted.length * 0.9)],
                    threads.replace("\"", "'"),
                    Arrays.toString(ms)));
        }
    }
}
