package io.mxport.examples;

import io.mxport.ClassScore;
import io.mxport.Engine;
import io.mxport.Images;
import io.mxport.MxportException;
import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Loads an end-to-end image classifier, prints its signature, and classifies one photo.
 *
 * <pre>
 * mvn -q -Drevision=$(cat VERSION) -pl java exec:java -Dexec.args=".cache/models/efficientnet_lite0 demo/cat.jpg"
 * </pre>
 *
 * Prints the top-5 classes with their names (when the model carries them) and probabilities, and the
 * per-sample latency at batch 1 and 25; then, when {@code <prefix>.onnx} exists ({@code mxport export-onnx}) and
 * {@code io.mxport:mxport-onnxruntime} is on the classpath, the top-5 on ONNX Runtime too.
 */
public final class Demo {
    private Demo() {}

    /**
     * @param args the model prefix (default {@code .cache/models/efficientnet_lite0}) and a JPEG or PNG
     *             (default {@code demo/cat.jpg})
     */
    public static void main(String[] args) {
        String prefix = args.length > 0 ? args[0] : ".cache/models/efficientnet_lite0";
        String imagePath = args.length > 1 ? args[1] : "demo/cat.jpg";
        try (Predictor predictor = new Predictor(prefix)) {
            System.out.println(predictor.getSignature());
            NDArray pixels = Images.read(Path.of(imagePath)); // uint8 [1,H,W,3], RGB: Python's pixels, byte for byte
            Shape s = pixels.getShape();
            System.out.println("image " + imagePath + ": " + s.get(2) + "x" + s.get(1) + " -> " + pixels);
            printTop5(predictor, pixels, "top-5:");
            for (int batch : new int[] {1, 25}) {
                NDArray input = copies(pixels, batch);
                predictor.predictWithNDArray(List.of(input)); // warm-up: first call at a shape plans memory
                int runs = batch == 1 ? 20 : 3;
                long t0 = System.nanoTime();
                for (int r = 0; r < runs; r++) {
                    predictor.predictWithNDArray(List.of(input));
                }
                double ms = (System.nanoTime() - t0) / 1e6 / runs / batch;
                System.out.printf("batch %2d: %.1f ms per sample (mean of %d calls)%n", batch, ms, runs);
            }
            onOnnxRuntime(prefix + ".onnx", pixels);
        }
    }

    private static void printTop5(Predictor predictor, NDArray pixels, String title) {
        float[] probs = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
        System.out.println(title);
        for (ClassScore c : predictor.getSignature().getOutputs().get(0).topK(probs, 5)) {
            System.out.printf(
                    Locale.ROOT,
                    "  %4d %-24s %.6f%n",
                    c.getIndex(),
                    c.getLabel().orElse(""),
                    c.getScore());
        }
    }

    /** The same pixels on ONNX Runtime, when the model's ONNX file exists. */
    private static void onOnnxRuntime(String onnx, NDArray pixels) {
        if (!Files.isRegularFile(Path.of(onnx))) {
            System.out.println("(no " + onnx + ": `mxport export-onnx` writes it, for ONNX Runtime)");
            return;
        }
        try (Predictor ort = new Predictor(onnx, Engine.ONNXRUNTIME, true)) {
            printTop5(ort, pixels, "top-5 on ONNX Runtime (" + onnx + "):");
        } catch (MxportException e) {
            System.out.println("ONNX Runtime: " + e.getMessage());
        }
    }

    /** A batch of n copies of a batch of one. */
    private static NDArray copies(NDArray one, int n) {
        byte[] bytes = one.toByteArray();
        byte[] many = new byte[bytes.length * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(bytes, 0, many, i * bytes.length, bytes.length);
        }
        Shape s = one.getShape();
        return NDArray.ofBytes(many, new Shape(n, s.get(1), s.get(2), s.get(3)));
    }
}
