package io.mxport.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import io.mxport.TestSupport;
import io.mxport.serve.grpc.GRPCInferenceServiceGrpc;
import io.mxport.serve.grpc.ModelInferRequest;
import io.mxport.serve.grpc.ModelInferResponse;
import io.mxport.serve.grpc.ModelReadyRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The server in this JVM on free loopback ports: readiness, REST JSON and gRPC raw tensors against the Predictor. */
class ServerTest {
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static HttpResponse<String> send(int port, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path));
        b = body == null ? b.GET() : b.POST(HttpRequest.BodyPublishers.ofString(body));
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void notReadyUntilWarmedUpThenAnswersAsThePredictorDoes() throws Exception {
        String prefix = TestSupport.resnet();
        ServeOptions o = ServeOptions.parse(new String[] {
            "--model", "resnet=" + prefix, "--http-port", "0", "--grpc-port", "0", "--access-log", "off"
        });
        Main.Running running = Main.start(o);
        ManagedChannel channel = null;
        try (Predictor predictor = new Predictor(prefix)) {
            int port = running.http.port();
            assertEquals(200, send(port, "GET", "/v2/health/live", null).statusCode());
            assertEquals(503, send(port, "GET", "/v2/health/ready", null).statusCode());
            assertEquals(503, send(port, "GET", "/v2/models/resnet/ready", null).statusCode());
            String json = "{\"id\":\"a1\",\"inputs\":[{\"name\":\"data\",\"datatype\":\"UINT8\",\"shape\":[1,2,2,3],"
                    + "\"data\":[[[[1,2,3],[4,5,6]],[[7,8,9],[10,11,12]]]]}]}";
            HttpResponse<String> early = send(port, "POST", "/v2/models/resnet/infer", json);
            assertEquals(503, early.statusCode());
            assertTrue(early.body().startsWith("{\"error\":\"[UNAVAILABLE] model 'resnet' is not ready"), early.body());

            running.server.warmUp();
            assertEquals(200, send(port, "GET", "/v2/health/ready", null).statusCode());
            HttpResponse<String> r = send(port, "POST", "/v2/models/resnet/infer", json);
            assertEquals(200, r.statusCode(), r.body());
            JsonNode out = RestCodec.JSON.readTree(r.body());
            assertEquals("a1", out.get("id").asText());
            JsonNode data = out.get("outputs").get(0).get("data");
            byte[] pixels = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
            float[] want = predictor
                    .predictWithNDArray(List.of(NDArray.ofBytes(pixels, new Shape(1, 2, 2, 3))))
                    .get(0)
                    .toFloatArray();
            float[] got = new float[data.size()];
            for (int i = 0; i < got.length; i++) {
                got[i] = data.get(i).floatValue();
            }
            assertArrayEquals(want, got, 0f, "JSON floats round-trip bit for bit");

            channel = NettyChannelBuilder.forAddress("127.0.0.1", running.grpc.port())
                    .usePlaintext()
                    .build();
            GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub =
                    GRPCInferenceServiceGrpc.newBlockingStub(channel);
            assertTrue(stub.modelReady(
                            ModelReadyRequest.newBuilder().setName("resnet").build())
                    .getReady());
            byte[] big = new byte[2 * 40 * 50 * 3];
            new Random(3).nextBytes(big);
            ModelInferResponse g = stub.modelInfer(ModelInferRequest.newBuilder()
                    .setModelName("resnet")
                    .addInputs(ModelInferRequest.InferInputTensor.newBuilder()
                            .setName("data")
                            .setDatatype("UINT8")
                            .addShape(2)
                            .addShape(40)
                            .addShape(50)
                            .addShape(3))
                    .addRawInputContents(ByteString.copyFrom(big))
                    .build());
            assertEquals(List.of(2L, 1000L), g.getOutputs(0).getShapeList());
            float[] grpcGot = new float[2000];
            ByteBuffer.wrap(g.getRawOutputContents(0).toByteArray())
                    .order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer()
                    .get(grpcGot);
            assertArrayEquals(
                    predictor
                            .predictWithNDArray(List.of(NDArray.ofBytes(big, new Shape(2, 40, 50, 3))))
                            .get(0)
                            .toFloatArray(),
                    grpcGot,
                    0f);
        } finally {
            if (channel != null) {
                channel.shutdownNow();
            }
            running.stop();
        }
    }

    @Test
    void aRequestPastTheTimeoutIsA504AndTheServerGoesOn() throws Exception {
        ServeOptions o = ServeOptions.parse(new String[] {
            "--model",
            "resnet=" + TestSupport.resnet(),
            "--http-port",
            "0",
            "--grpc-port",
            "0",
            "--access-log",
            "off",
            "--request-timeout-ms",
            "1"
        });
        Main.Running running = Main.start(o);
        try {
            running.server.warmUp();
            int port = running.http.port();
            StringBuilder data = new StringBuilder();
            for (int i = 0; i < 512 * 512 * 3; i++) {
                data.append(i == 0 ? "" : ",").append(i % 256);
            }
            String json = "{\"inputs\":[{\"name\":\"data\",\"datatype\":\"UINT8\",\"shape\":[1,512,512,3],"
                    + "\"data\":[" + data + "]}]}";
            HttpResponse<String> r = send(port, "POST", "/v2/models/resnet/infer", json);
            assertEquals(504, r.statusCode(), r.body());
            assertTrue(
                    r.body().startsWith("{\"error\":\"[DEADLINE_EXCEEDED] model 'resnet' did not answer within 1 ms"),
                    r.body());
            assertEquals(200, send(port, "GET", "/v2/health/ready", null).statusCode());
        } finally {
            running.stop();
        }
    }
}
