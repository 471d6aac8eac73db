package io.mxport.bench;

import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.translate.NoopTranslator;
import io.mxport.Context;
import io.mxport.Shape;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.awt.image.DataBufferByte;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Times one JVM row of the benchmark table inside the JVM and prints one JSON line.
 *
 * <pre>
 * java -cp CLASSPATH io.mxport.bench.JvmBench --lang java|djl --mode e2e|split --batch 1 --runs 500
 *      --warmup 20 --model .cache/models/resnet18
 * </pre>
 *
 * <p>e2e: the fused model, fed the uint8 NHWC batch. split ("non end-to-end"): what a Java user does without
 * mxport: resize each image with {@code java.awt} (bilinear), convert to float CHW, divide by 255, normalize
 * with the ImageNet mean and std, then run the network-only model and apply softmax in Java. The DJL row runs
 * the same two ways through DJL's MXNet engine on the same libmxnet.so.
 */
public final class JvmBench {
    static final float[] MEAN = {0.485f, 0.456f, 0.406f};
    static final float[] STD = {0.229f, 0.224f, 0.225f};

    public static void main(String[] args) throws Exception {
        Map<String, String> a = new HashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        String lang = a.get("lang");
        boolean e2e = "e2e".equals(a.get("mode"));
        int batch = Integer.parseInt(a.get("batch"));
        int runs = Integer.parseInt(a.get("runs"));
        int warmup = Integer.parseInt(a.getOrDefault("warmup", "20"));
        String model = a.get("model");
        byte[] pixels = syntheticPixels(batch);
        Supplier<float[]> step;
        AutoCloseable resource;
        switch (lang) {
            case "java": {
                io.mxport.Predictor p = new io.mxport.Predictor(model, List.of(Context.cpu()), e2e);
                resource = p;
                // built once, as the Python rows build their mx.nd input once: the call then starts from the
                // API's own input type in both languages (the JVM's still lives in the Java heap)
                List<io.mxport.NDArray> input =
                        List.of(io.mxport.NDArray.ofBytes(pixels, new Shape(batch, 300, 300, 3)));
                step = e2e
                        ? () -> p.predictWithNDArray(input).get(0).toFloatArray()
                        : () -> softmax(
                                p.predictWithNDArray(List.of(io.mxport.NDArray.ofFloats(
                                                preprocess(pixels, batch), new Shape(batch, 3, 224, 224))))
                                        .get(0)
                                        .toFloatArray(),
                                batch);
                break;
            }
            case "djl": {
                Path dir = Path.of(model).toAbsolutePath().getParent();
                String name = Path.of(model).getFileName().toString() + (e2e ? "" : "-network");
                if (e2e) { // DJL insists on an epoch in the params file name: link the mxport files under one
                    Path links = java.nio.file.Files.createTempDirectory("mxport-djl");
                    links.toFile().deleteOnExit(); // deleteOnExit runs in reverse order: the links go first
                    for (String[] link :
                            new String[][] {{"-symbol.json", "-symbol.json"}, {"-0000.params", ".params"}}) {
                        Path at = links.resolve(name + link[0]);
                        java.nio.file.Files.createSymbolicLink(at, dir.resolve(name + link[1]));
                        at.toFile().deleteOnExit();
                    }
                    dir = links;
                }
                ZooModel<NDList, NDList> zoo = Criteria.builder()
                        .setTypes(NDList.class, NDList.class)
                        .optModelPath(dir)
                        .optModelName(name)
                        .optEngine("MXNet")
                        .optTranslator(new NoopTranslator())
                        .build()
                        .loadModel();
                Predictor<NDList, NDList> p = zoo.newPredictor();
                resource = () -> {
                    p.close();
                    zoo.close();
                };
                step = () -> {
                    try (NDManager m = NDManager.newBaseManager()) {
                        NDArray x = e2e
                                ? m.create(
                                        ByteBuffer.wrap(pixels),
                                        new ai.djl.ndarray.types.Shape(batch, 300, 300, 3),
                                        DataType.UINT8)
                                : m.create(
                                        preprocess(pixels, batch), new ai.djl.ndarray.types.Shape(batch, 3, 224, 224));
                        float[] out =
                                p.predict(new NDList(x)).singletonOrThrow().toFloatArray();
                        return e2e ? out : softmax(out, batch);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                };
                break;
            }
            default:
                throw new IllegalArgumentException("--lang must be java or djl, got " + lang);
        }
        try (AutoCloseable r = resource) {
            System.out.println(json(lang, e2e, batch, runs, timed(step, warmup, runs, batch)));
        }
    }

    /** {@code step} {@code warmup} times, then {@code runs} times timed: milliseconds per sample of each run. */
    static double[] timed(Supplier<?> step, int warmup, int runs, int batch) {
        for (int i = 0; i < warmup; i++) {
            step.get();
        }
        double[] ms = new double[runs];
        for (int i = 0; i < runs; i++) {
            long t = System.nanoTime();
            step.get();
            ms[i] = (System.nanoTime() - t) / 1e6 / batch;
        }
        return ms;
    }

    /** The proposal's synthetic input: uniform random pixels, seeded. */
    public static byte[] syntheticPixels(int batch) {
        byte[] b = new byte[batch * 300 * 300 * 3];
        new Random(0).nextBytes(b); // uniform over 0..255, as the proposal's random.uniform(0, 255)
        return b;
    }

    /** Resize(224,224) + ToTensor + Normalize, written as a Java user would: java.awt, then loops. */
    static float[] preprocess(byte[] nhwc, int batch) {
        int h = 300, w = 300, side = 224;
        float[] out = new float[batch * 3 * side * side];
        for (int n = 0; n < batch; n++) {
            BufferedImage src = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
            byte[] bgr = ((DataBufferByte) src.getRaster().getDataBuffer()).getData();
            int base = n * h * w * 3;
            for (int i = 0; i < h * w; i++) {
                bgr[3 * i] = nhwc[base + 3 * i + 2];
                bgr[3 * i + 1] = nhwc[base + 3 * i + 1];
                bgr[3 * i + 2] = nhwc[base + 3 * i];
            }
            BufferedImage dst = new BufferedImage(side, side, BufferedImage.TYPE_3BYTE_BGR);
            java.awt.Graphics2D g = dst.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(src, 0, 0, side, side, null);
            g.dispose();
            byte[] px = ((DataBufferByte) dst.getRaster().getDataBuffer()).getData();
            int plane = side * side;
            for (int i = 0; i < plane; i++) {
                for (int c = 0; c < 3; c++) {
                    float v = (px[3 * i + (2 - c)] & 0xff) / 255f;
                    out[n * 3 * plane + c * plane + i] = (v - MEAN[c]) / STD[c];
                }
            }
        }
        return out;
    }

    static float[] softmax(float[] logits, int batch) {
        int k = logits.length / batch;
        float[] out = new float[logits.length];
        for (int n = 0; n < batch; n++) {
            float max = Float.NEGATIVE_INFINITY;
            for (int i = 0; i < k; i++) {
                max = Math.max(max, logits[n * k + i]);
            }
            double sum = 0;
            for (int i = 0; i < k; i++) {
                out[n * k + i] = (float) Math.exp(logits[n * k + i] - max);
                sum += out[n * k + i];
            }
            for (int i = 0; i < k; i++) {
                out[n * k + i] /= sum;
            }
        }
        return out;
    }

    /** One JSON line of results, as benchmarks/bench.py reads it. */
    public static String json(String lang, boolean e2e, int batch, int runs, double[] ms) {
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double mean = Arrays.stream(ms).average().orElse(Double.NaN);
        String language = "java".equals(lang) ? "Java" : "scala".equals(lang) ? "Scala" : "DJL";
        return String.format(
                java.util.Locale.ROOT,
                "{\"language\": \"%s\", \"mode\": \"%s\", \"batch\": %d, \"runs\": %d, \"ms_per_sample\": %.4f,"
                        + " \"p50\": %.4f, \"p90\": %.4f, \"raw_ms\": %s}",
                language,
                e2e ? "e2e" : "split",
                batch,
                runs,
                mean,
                sorted[sorted.length / 2],
                sorted[(int) (sorted.length * 0.9)],
                Arrays.toString(ms));
    }

    private JvmBench() {}
}
