package io.mxport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The engine choice of the core alone: MXNet by default, and without io.mxport:mxport-onnxruntime a clear error. */
class EngineChoiceTest {
    @Test
    void withoutTheArtifactOnnxRuntimeIsAnInvalidArgumentNamingIt() {
        MxportException e =
                assertThrows(MxportException.class, () -> new Predictor("out/my_model.onnx", Engine.ONNXRUNTIME, true));
        assertEquals("INVALID_ARGUMENT", e.getCode());
        assertTrue(e.getMessage().contains("io.mxport:mxport-onnxruntime"), e.getMessage());
    }

    @Test
    void engineNamesAreSpelledAsInPython() {
        assertEquals(Engine.ONNXRUNTIME, Engine.of("onnxruntime"));
        assertEquals(Engine.MXNET, Engine.of("MXNet"));
        assertEquals(
                "INVALID_ARGUMENT",
                assertThrows(MxportException.class, () -> Engine.of("openvino")).getCode());
    }

    @Test
    void mxnetIsTheSamePredictorAsBefore() {
        try (Predictor chosen = new Predictor(TestSupport.resnet(), Engine.MXNET, true);
                Predictor plain = new Predictor(TestSupport.resnet())) {
            assertEquals(Engine.MXNET, chosen.getEngine());
            NDArray pixels = NDArray.ofBytes(new byte[64 * 48 * 3], new Shape(1, 64, 48, 3));
            assertEquals(plain.predictWithNDArray(List.of(pixels)), chosen.predictWithNDArray(List.of(pixels)));
        }
    }
}
