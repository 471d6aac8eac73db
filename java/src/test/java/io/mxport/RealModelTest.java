package io.mxport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real model (EfficientNet-Lite0, ImageNet, made by {@code make real-model}): its class names and metadata
 * read from the signature, and its probabilities on demo/cat.jpg equal to Python's, bit for bit, on the pixels
 * Python decodes (the JVM's own decode is another question: issue 13, part 3).
 */
class RealModelTest {
    private static final String PYTHON_RUN = String.join(
            "\n",
            "import sys, mxnet as mx, numpy as np, mxport",
            "image = mx.image.imread(sys.argv[2]).expand_dims(0)",
            "np.save(sys.argv[3], image.asnumpy())",
            "np.save(sys.argv[4], mxport.load(sys.argv[1])(image).asnumpy())");

    @Test
    void theCatIsATigerCatWithPythonsProbabilities(@TempDir Path tmp) throws Exception {
        String prefix = TestSupport.realModel();
        TestSupport.run(
                List.of(
                        TestSupport.python(),
                        "-c",
                        PYTHON_RUN,
                        prefix,
                        TestSupport.root().resolve("demo/cat.jpg").toString(),
                        tmp.resolve("in.npy").toString(),
                        tmp.resolve("out.npy").toString()),
                600);
        NDArray pixels = Npy.read(tmp.resolve("in.npy"));
        NDArray want = Npy.read(tmp.resolve("out.npy"));
        TestSupport.assertMeaningful(want, "Python's probabilities");
        try (Predictor predictor = new Predictor(prefix)) {
            float[] prob = predictor.predictWithNDArray(List.of(pixels)).get(0).toFloatArray();
            assertArrayEquals(want.toFloatArray(), prob, "Java's CachedOp runs the graph Python runs");
            TensorSpec out = predictor.getSignature().getOutputs().get(0);
            List<ClassScore> top = out.topK(prob, 3);
            assertEquals(
                    List.of("tiger cat", "Egyptian cat", "tabby"),
                    top.stream().map(c -> c.getLabel().get()).collect(Collectors.toList()));
            assertEquals(
                    List.of(282, 285, 281),
                    top.stream().map(ClassScore::getIndex).collect(Collectors.toList()));
            assertEquals(1000, out.getLabels().get().size());
            assertEquals(
                    "EfficientNet-Lite0", predictor.getSignature().getMetadata().get("name"));
            assertEquals(
                    "SHAPE_MISMATCH",
                    assertThrows(MxportException.class, () -> out.topK(new float[10], 3))
                            .getCode());
        }
    }
}
