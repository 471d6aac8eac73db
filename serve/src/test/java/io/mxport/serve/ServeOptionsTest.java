package io.mxport.serve;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ServeOptionsTest {
    @Test
    void theIssuesCommandLineAndTheLimits() {
        ServeOptions o = ServeOptions.parse(new String[] {
            "--model",
            "a=models/a",
            "--model=b=/m/b",
            "--http-port",
            "0",
            "--grpc-port",
            "9001",
            "--max-batch-size",
            "16",
            "--max-batch-delay-ms",
            "5",
            "--max-body-bytes",
            "2048",
            "--max-tensor-elements",
            "100",
            "--max-image-pixels",
            "1000",
            "--request-timeout-ms",
            "250",
            "--engine",
            "mxnet"
        });
        assertEquals(Map.of("a", "models/a", "b", "/m/b"), o.models);
        assertEquals(0, o.httpPort);
        assertEquals(9001, o.grpcPort);
        assertEquals(16, o.maxBatchSize);
        assertEquals(5, o.maxBatchDelayMs);
        assertEquals(2048, o.maxBodyBytes);
        assertEquals(100, o.maxTensorElements);
        assertEquals(1000, o.maxImagePixels);
        assertEquals(250, o.requestTimeoutMs);
        assertEquals(1, ServeOptions.parse(new String[] {"--model", "a=b"}).maxBatchSize, "batching is off by default");
    }

    @Test
    void mistakesNameTheFlagAndTheFix() {
        assertTrue(fails("--model", "a=b", "--engine", "openvino").contains("choose one of: mxnet, onnxruntime"));
        assertTrue(fails("--model", "nameonly").contains("NAME=PREFIX"));
        assertTrue(fails("--model", "a/b=c").contains("model name 'a/b'"));
        assertTrue(fails("--model", "a=b", "--model", "a=c").contains("given twice"));
        assertTrue(fails("--model", "a=b", "--http-port", "http").contains("--http-port takes an integer"));
        assertTrue(fails("--model", "a=b", "--max-batch-size", "0").contains("--max-batch-size takes 1..4096"));
        assertTrue(fails("--http-port", "1").contains("at least one --model"));
        assertTrue(fails("--model", "a=b", "--colour", "red").contains("unknown flag --colour"));
    }

    private static String fails(String... args) {
        return assertThrows(IllegalArgumentException.class, () -> ServeOptions.parse(args))
                .getMessage();
    }
}
