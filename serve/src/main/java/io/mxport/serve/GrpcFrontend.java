package io.mxport.serve;

import com.google.protobuf.ByteString;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.mxport.ErrorCode;
import io.mxport.TensorSpec;
import io.mxport.serve.grpc.GRPCInferenceServiceGrpc;
import io.mxport.serve.grpc.InferParameter;
import io.mxport.serve.grpc.InferTensorContents;
import io.mxport.serve.grpc.ModelInferRequest;
import io.mxport.serve.grpc.ModelInferResponse;
import io.mxport.serve.grpc.ModelMetadataRequest;
import io.mxport.serve.grpc.ModelMetadataResponse;
import io.mxport.serve.grpc.ModelReadyRequest;
import io.mxport.serve.grpc.ModelReadyResponse;
import io.mxport.serve.grpc.ServerLiveRequest;
import io.mxport.serve.grpc.ServerLiveResponse;
import io.mxport.serve.grpc.ServerMetadataRequest;
import io.mxport.serve.grpc.ServerMetadataResponse;
import io.mxport.serve.grpc.ServerReadyRequest;
import io.mxport.serve.grpc.ServerReadyResponse;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;

/** The gRPC side of protocol v2 (service inference.GRPCInferenceService) on grpc-java. */
final class GrpcFrontend implements AutoCloseable {
    private final Server grpc;

    GrpcFrontend(InferenceServer server, ExecutorService requests, String host, int port) throws IOException {
        this.grpc = NettyServerBuilder.forAddress(new InetSocketAddress(host, port))
                .maxInboundMessageSize(server.options.maxBodyBytes)
                .executor(requests)
                .addService(checkedParsing(new Service(server).bindService(), server.options.maxBodyBytes))
                .build()
                .start();
    }

    int port() {
        return grpc.getPort();
    }

    /** Stops taking new calls; calls under way go on. */
    void stopAccepting() {
        grpc.shutdown();
    }

    boolean awaitTermination(long millis) throws InterruptedException {
        return grpc.awaitTermination(millis, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        grpc.shutdownNow();
    }

    /** Stands for a ModelInferRequest over the size limit once inflated (grpc-java counts the inflated bytes). */
    private static final ModelInferRequest TOO_LARGE =
            ModelInferRequest.newBuilder().build();
    /** Stands for a ModelInferRequest that is not valid protobuf. */
    private static final ModelInferRequest MALFORMED =
            ModelInferRequest.newBuilder().build();

    /**
     * The service with ModelInfer's request parsed so that a message over the limit, or not protobuf, reaches
     * {@link Service#modelInfer} as {@link #TOO_LARGE} or {@link #MALFORMED} and is answered with a status and a
     * code: grpc-java parses on the request thread, outside any handler, and answers a failure there UNKNOWN.
     */
    private static ServerServiceDefinition checkedParsing(ServerServiceDefinition service, int maxBodyBytes) {
        MethodDescriptor<ModelInferRequest, ModelInferResponse> infer = GRPCInferenceServiceGrpc.getModelInferMethod();
        MethodDescriptor.Marshaller<ModelInferRequest> proto = infer.getRequestMarshaller();
        MethodDescriptor.Marshaller<ModelInferRequest> checked = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(ModelInferRequest value) {
                return proto.stream(value);
            }

            @Override
            public ModelInferRequest parse(InputStream stream) {
                try {
                    return proto.parse(stream);
                } catch (StatusRuntimeException e) {
                    return e.getStatus().getCode() == Status.Code.RESOURCE_EXHAUSTED ? TOO_LARGE : MALFORMED;
                }
            }
        };
        ServerServiceDefinition.Builder b =
                ServerServiceDefinition.builder(service.getServiceDescriptor().getName());
        for (ServerMethodDefinition<?, ?> m : service.getMethods()) {
            if (m.getMethodDescriptor().getFullMethodName().equals(infer.getFullMethodName())) {
                @SuppressWarnings("unchecked")
                ServerCallHandler<ModelInferRequest, ModelInferResponse> handler =
                        (ServerCallHandler<ModelInferRequest, ModelInferResponse>) m.getServerCallHandler();
                b.addMethod(infer.toBuilder().setRequestMarshaller(checked).build(), handler);
            } else {
                b.addMethod(m);
            }
        }
        return b.build();
    }

    static Status status(ServeException e) {
        Status s = switch (e.httpStatus) {
            case 404 -> Status.NOT_FOUND;
            case 413 -> Status.RESOURCE_EXHAUSTED;
            case 503 -> Status.UNAVAILABLE;
            case 504 -> Status.DEADLINE_EXCEEDED;
            case 500 -> Status.INTERNAL;
            default -> Status.INVALID_ARGUMENT;
        };
        return s.withDescription(e.getMessage());
    }

    private static final class Service extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
        private final InferenceServer server;

        Service(InferenceServer server) {
            this.server = server;
        }

        private <T> void answer(
                StreamObserver<T> observer,
                String what,
                String model,
                long start,
                long in,
                java.util.function.Supplier<T> body) {
            server.metrics.inFlight.incrementAndGet();
            try {
                T reply = body.get();
                observer.onNext(reply);
                observer.onCompleted();
                String id = reply instanceof ModelInferResponse r ? r.getId() : null;
                server.log(
                        "grpc",
                        what,
                        model,
                        200,
                        start,
                        in,
                        ((com.google.protobuf.MessageLite) reply).getSerializedSize(),
                        id,
                        null);
            } catch (ServeException e) {
                observer.onError(status(e).asRuntimeException());
                server.log("grpc", what, model, e.httpStatus, start, in, 0, null, e.getMessage());
            } catch (RuntimeException e) {
                ServeException s = new ServeException(500, "INTERNAL", "the server failed on this request: " + e);
                observer.onError(status(s).asRuntimeException());
                server.log("grpc", what, model, 500, start, in, 0, null, s.getMessage());
            } finally {
                server.metrics.inFlight.decrementAndGet();
            }
        }

        @Override
        public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> o) {
            answer(
                    o,
                    "ServerLive",
                    "",
                    System.nanoTime(),
                    0,
                    () -> ServerLiveResponse.newBuilder()
                            .setLive(server.isLive())
                            .build());
        }

        @Override
        public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> o) {
            answer(
                    o,
                    "ServerReady",
                    "",
                    System.nanoTime(),
                    0,
                    () -> ServerReadyResponse.newBuilder()
                            .setReady(server.isReady())
                            .build());
        }

        @Override
        public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> o) {
            answer(
                    o,
                    "ModelReady",
                    request.getName(),
                    System.nanoTime(),
                    0,
                    () -> ModelReadyResponse.newBuilder()
                            .setReady(server.model(request.getName(), request.getVersion())
                                            .isReady()
                                    && !server.isDraining())
                            .build());
        }

        @Override
        public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> o) {
            answer(
                    o,
                    "ServerMetadata",
                    "",
                    System.nanoTime(),
                    0,
                    () -> ServerMetadataResponse.newBuilder()
                            .setName(InferenceServer.NAME)
                            .setVersion(InferenceServer.VERSION)
                            .addExtensions("binary_tensor_data")
                            .addExtensions("classification")
                            .build());
        }

        @Override
        public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> o) {
            answer(o, "ModelMetadata", request.getName(), System.nanoTime(), 0, () -> {
                ModelHost m = server.model(request.getName(), request.getVersion());
                ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder()
                        .setName(m.name)
                        .addVersions("1")
                        .setPlatform(m.platform);
                for (TensorSpec s : m.signature.getInputs()) {
                    b.addInputs(metadata(s));
                }
                for (TensorSpec s : m.signature.getOutputs()) {
                    b.addOutputs(metadata(s));
                }
                return b.build();
            });
        }

        private static ModelMetadataResponse.TensorMetadata metadata(TensorSpec s) {
            ModelMetadataResponse.TensorMetadata.Builder t = ModelMetadataResponse.TensorMetadata.newBuilder()
                    .setName(s.getName())
                    .setDatatype(Tensor.v2(s.getDType()));
            for (int d : s.getShape().toArray()) {
                t.addShape(d);
            }
            return t.build();
        }

        @Override
        public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> o) {
            long start = System.nanoTime();
            answer(o, "ModelInfer", request.getModelName(), start, request.getSerializedSize(), () -> {
                if (request == TOO_LARGE) {
                    throw new ServeException(
                            413,
                            "INVALID_ARGUMENT",
                            "the request message is over the server's limit of " + server.options.maxBodyBytes
                                    + " bytes (once inflated, when compressed): send fewer samples per request, or"
                                    + " start the server with a larger --max-body-bytes");
                }
                if (request == MALFORMED) {
                    throw ServeException.badRequest(
                            ErrorCode.INVALID_ARGUMENT,
                            "the request is not a valid inference.ModelInferRequest message: send one built from"
                                    + " grpc_predict_v2.proto");
                }
                InferenceResult result;
                try (Batcher.Ticket ticket = server.expect(request.getModelName(), request.getModelVersion())) {
                    InferenceRequest r = fromProto(request);
                    result = server.infer(r, request.getModelVersion(), start, ticket);
                }
                ModelInferResponse.Builder b = ModelInferResponse.newBuilder()
                        .setModelName(result.model())
                        .setModelVersion("1")
                        .setId(result.id());
                for (Tensor t : result.outputs()) {
                    ModelInferResponse.InferOutputTensor.Builder ot = ModelInferResponse.InferOutputTensor.newBuilder()
                            .setName(t.name)
                            .setDatatype(t.datatype);
                    for (long d : t.shape) {
                        ot.addShape(d);
                    }
                    b.addOutputs(ot);
                    b.addRawOutputContents(ByteString.copyFrom(t.wireBytes()));
                }
                return b.build();
            });
        }
    }

    static Map<String, Object> parameters(Map<String, InferParameter> p) {
        Map<String, Object> out = new LinkedHashMap<>();
        p.forEach((k, v) -> out.put(
                k,
                switch (v.getParameterChoiceCase()) {
                    case BOOL_PARAM -> v.getBoolParam();
                    case INT64_PARAM -> v.getInt64Param();
                    case STRING_PARAM -> v.getStringParam();
                    case DOUBLE_PARAM -> v.getDoubleParam();
                    case UINT64_PARAM -> v.getUint64Param();
                    case PARAMETERCHOICE_NOT_SET -> "";
                }));
        return out;
    }

    static InferenceRequest fromProto(ModelInferRequest request) {
        boolean raw = request.getRawInputContentsCount() > 0;
        if (raw && request.getRawInputContentsCount() != request.getInputsCount()) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    request.getInputsCount() + " inputs but " + request.getRawInputContentsCount()
                            + " raw_input_contents: give one per input, in order");
        }
        List<Tensor> inputs = new ArrayList<>();
        for (int i = 0; i < request.getInputsCount(); i++) {
            ModelInferRequest.InferInputTensor in = request.getInputs(i);
            String name = in.getName();
            String datatype = in.getDatatype();
            if (!Tensor.isKnownDatatype(datatype)) {
                throw ServeException.badRequest(
                        ErrorCode.DTYPE_MISMATCH,
                        "input '" + name + "' has datatype '" + datatype
                                + "', which protocol v2 does not define: use UINT8, FP32, INT64, BYTES, ...");
            }
            long[] shape = in.getShapeList().stream().mapToLong(Long::longValue).toArray();
            long count = Tensor.elementCount(name, shape, Long.MAX_VALUE);
            byte[] data = null;
            List<byte[]> elements = null;
            if (raw) {
                if (in.hasContents()) {
                    throw ServeException.badRequest(
                            ErrorCode.INVALID_ARGUMENT,
                            "input '" + name + "' has contents"
                                    + " while the request uses raw_input_contents: use one form");
                }
                data = request.getRawInputContents(i).toByteArray();
                if (Tensor.BYTES.equals(datatype)) {
                    elements = Tensor.splitBytes(name, data, count);
                    data = null;
                }
            } else {
                InferTensorContents c = in.getContents();
                if (Tensor.BYTES.equals(datatype)) {
                    elements = new ArrayList<>();
                    for (ByteString b : c.getBytesContentsList()) {
                        elements.add(b.toByteArray());
                    }
                } else {
                    data = typed(name, datatype, c);
                }
            }
            inputs.add(new Tensor(name, datatype, shape, data, elements, parameters(in.getParametersMap())));
        }
        List<InferenceRequest.RequestedOutput> outs = new ArrayList<>();
        for (ModelInferRequest.InferRequestedOutputTensor o : request.getOutputsList()) {
            outs.add(new InferenceRequest.RequestedOutput(o.getName(), parameters(o.getParametersMap())));
        }
        return new InferenceRequest(
                request.getModelName(), request.getId(), parameters(request.getParametersMap()), inputs, outs);
    }

    private static byte[] typed(String name, String datatype, InferTensorContents c) {
        int size = Tensor.elementSize(datatype);
        ByteBuffer b;
        switch (datatype) {
            case "FP32" -> {
                b = ByteBuffer.allocate(c.getFp32ContentsCount() * size).order(ByteOrder.LITTLE_ENDIAN);
                c.getFp32ContentsList().forEach(b::putFloat);
            }
            case "FP64" -> {
                b = ByteBuffer.allocate(c.getFp64ContentsCount() * size).order(ByteOrder.LITTLE_ENDIAN);
                c.getFp64ContentsList().forEach(b::putDouble);
            }
            case "UINT8" -> {
                b = ByteBuffer.allocate(c.getUintContentsCount()).order(ByteOrder.LITTLE_ENDIAN);
                for (int v : c.getUintContentsList()) {
                    if (v < 0 || v > 255) {
                        throw ServeException.badRequest(
                                ErrorCode.INVALID_ARGUMENT,
                                "uint_contents of UINT8 input '" + name + "' holds " + Integer.toUnsignedString(v)
                                        + ": values are 0..255");
                    }
                    b.put((byte) v);
                }
            }
            case "INT8", "INT32" -> {
                b = ByteBuffer.allocate(c.getIntContentsCount() * size).order(ByteOrder.LITTLE_ENDIAN);
                for (int v : c.getIntContentsList()) {
                    if (size == 1 && (v < -128 || v > 127)) {
                        throw ServeException.badRequest(
                                ErrorCode.INVALID_ARGUMENT,
                                "int_contents of INT8 input '" + name + "' holds " + v + ": values are -128..127");
                    }
                    if (size == 1) {
                        b.put((byte) v);
                    } else {
                        b.putInt(v);
                    }
                }
            }
            case "INT64" -> {
                b = ByteBuffer.allocate(c.getInt64ContentsCount() * size).order(ByteOrder.LITTLE_ENDIAN);
                c.getInt64ContentsList().forEach(b::putLong);
            }
            default ->
                throw ServeException.badRequest(
                        ErrorCode.DTYPE_MISMATCH,
                        "input '" + name + "' of " + datatype + ": send it in raw_input_contents");
        }
        return b.array();
    }
}
