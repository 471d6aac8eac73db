package io.mxport.examples;

import io.mxport.ClassScore;
import io.mxport.Images;
import io.mxport.NDArray;
import io.mxport.Predictor;
import java.io.File;
import java.io.IOException;
import java.awt.image.BufferedImage;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Loads an end-to-end image classifier, prints its signature, and classifies one photo.
 *
 * <pre>
 * mvn -q -Drevision=$(cat VERSION) -pl java exec:java -Dexec.args=".cache/models/efficientnet_lite0 demo/cat.jpg"
 * </pre>
 *
 * Prints the top-5 classes with their names (when the model carries them) and probabilities, and the
 * per-sample latency at batch 1 and 25.
 */
public final class Demo {
    private Demo() {
    }

    /**
     * @param args the model prefix (default {@code .cache/models/efficientnet_lite0}) and a JPEG or PNG
     *             (default {@code demo/cat.jpg})
     */
    public static void main(String[] args) throws IOException {
        String prefix = args.length > 0 ? args[0] : ".cache/models/efficientnet_lite0";
        String imagePath = args.length > 1 ? args[1] : "demo/cat.jpg";
        BufferedImage image = ImageIO.read(new File(imagePath));
        if (image == null) {
            throw new IOException(imagePath + " is missing or not an image ImageIO can read");
        }
        try (Predictor predictor = new Predictor(prefix)) {
            System.out.println(predictor.getSignature());
            NDArray pixels = Images.toNHWC(image);
            System.out.println("image " + imagePath + ": " + image.getWidth() + "x" + image.getHeight() + " -> " + pixels);
            float[] probs = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
            System.out.println("top-5:");
            for (ClassScore c : predictor.getSignature().getOutputs().get(0).topK(probs, 5)) {
                System.out.printf(Locale.ROOT, "  %4d %-24s %.6f%n", c.getIndex(), c.getLabel().orElse(""), c.getScore());
            }
            for (int batch : new int[] {1, 25}) {
                NDArray input = Images.toNHWC(Collections.nCopies(batch, image));
                predictor.predictWithNDArray(List.of(input)); // warm-up: first call at a shape plans memory
                int runs = batch == 1 ? 20 : 3;
                long t0 = System.nanoTime();
                for (int r = 0; r < runs; r++) {
                    predictor.predictWithNDArray(List.of(input));
                }
                double ms = (System.nanoTime() - t0) / 1e6 / runs / batch;
                System.out.printf("batch %2d: %.1f ms per sample (mean of %d calls)%n", batch, ms, runs);
            }
        }
    }
}
