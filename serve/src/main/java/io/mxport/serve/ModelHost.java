package io.mxport.serve;

import io.mxport.ClassScore;
import io.mxport.DType;
import io.mxport.ErrorCode;
import io.mxport.Images;
import io.mxport.MxportException;
import io.mxport.NDArray;
import io.mxport.Shape;
import io.mxport.Signature;
import io.mxport.TensorSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One served model: checks a request against the signature (before anything reaches the engine), decodes images,
 * queues the inputs on the model's {@link Batcher} and shapes the answer.
 */
final class ModelHost implements AutoCloseable {
    /** A 1x1 PNG: the warm-up loads the image decoder with it. */
    private static final byte[] WARM_UP_PNG = java.util.Base64.getDecoder()
            .decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==");

    /** The side of the warm-up image where the signature leaves height and width open. */
    static final int WARM_UP_SIDE = 224;

    final String name;
    /** The metadata's platform: mxport_ and the engine's name. */
    final String platform;

    final Signature signature;
    private final Engine.Model model;
    private final Batcher batcher;
    private final ServeOptions options;
    private volatile boolean ready;

    ModelHost(String name, Engine.Model model, Engine engine, ServeOptions options, Metrics metrics) {
        this.name = name;
        this.platform = "mxport_" + engine.name();
        this.model = model;
        this.signature = model.signature();
        this.options = options;
        this.batcher = new Batcher(
                name, model, options.maxBatchSize, options.maxBatchDelayMs, engine.concurrentCalls(), metrics);
        metrics.readiness(name, this::isReady);
    }

    boolean isReady() {
        return ready;
    }

    /** Runs the model once on zeros at the signature's static dimensions (224x224 for open image sides, 1 else). */
    void warmUp() {
        List<NDArray> inputs = new ArrayList<>();
        for (TensorSpec s : signature.getInputs()) {
            int[] dims = s.getShape().toArray();
            for (int i = 0; i < dims.length; i++) {
                if (dims[i] == -1) {
                    dims[i] = i == 0 ? 1 : (isImage(s) && (i == 1 || i == 2) ? WARM_UP_SIDE : 1);
                }
            }
            Shape shape = new Shape(dims);
            inputs.add(NDArray.wrapRaw(
                    s.getDType(), new byte[shape.size() * s.getDType().getByteSize()], shape));
        }
        model.predict(inputs);
        if (signature.getInputs().stream().anyMatch(ModelHost::isImage)) {
            // the default decoder (Images.defaultDecoder): libmxnet's, which an engine besides MXNet has not loaded
            // yet (seconds), or on ONNX Runtime without libmxnet the JDK's javax.imageio readers (their first use)
            Images.decode(WARM_UP_PNG, options.maxImagePixels);
        }
        ready = true;
    }

    /** An input that takes encoded images as BYTES: uint8 NHWC with 3 channels (or any). */
    static boolean isImage(TensorSpec s) {
        return s.getDType() == DType.UINT8
                && "NHWC".equals(s.getLayout())
                && s.getShape().rank() == 4
                && (s.getShape().get(3) == 3 || s.getShape().get(3) == -1);
    }

    /** Taken when a request for this model arrives, closed when it is answered: see {@link Batcher.Ticket}. */
    Batcher.Ticket expect() {
        return batcher.expect();
    }

    /** {@code ticket}: the request's, from {@link #expect()}, or null. */
    InferenceResult infer(InferenceRequest request, long deadlineNanos, Batcher.Ticket ticket) {
        if (!ready) {
            throw new ServeException(
                    503,
                    "UNAVAILABLE",
                    "model '" + name + "' is not ready yet (warming up): retry" + " when GET /v2/models/" + name
                            + "/ready answers 200");
        }
        List<NDArray> inputs = inputs(request);
        List<TensorSpec> wanted = outputs(request);
        int topK = topK(request.parameters.get("top_k"), "request parameter top_k");

        if (deadlineNanos - System.nanoTime() <= 0) { // e.g. decoding a large JSON body took it all
            throw deadlineExceeded();
        }
        // complete on return when the batcher computed it on this thread (an idle engine), else when its batch ran
        CompletableFuture<List<NDArray>> future = batcher.submit(inputs, ticket);
        List<NDArray> outputs;
        try {
            outputs = future.get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (deadlineNanos - System.nanoTime() < 0) { // computed here, past the deadline
                throw deadlineExceeded();
            }
        } catch (TimeoutException e) {
            future.cancel(false);
            throw deadlineExceeded();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ServeException(503, "UNAVAILABLE", "the server is stopping");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof MxportException m) {
                throw ServeException.of(m);
            }
            if (e.getCause() instanceof ServeException s) {
                throw s;
            }
            throw new ServeException(500, "INTERNAL", "model '" + name + "' failed: " + e.getCause());
        }

        List<Tensor> answer = new ArrayList<>();
        List<String> names = signature.getOutputNames();
        InferenceRequest.RequestedOutput[] asked = new InferenceRequest.RequestedOutput[names.size()];
        for (InferenceRequest.RequestedOutput r : request.outputs) {
            asked[names.indexOf(r.name())] = r;
        }
        for (TensorSpec spec : wanted) {
            int i = names.indexOf(spec.getName());
            NDArray out = outputs.get(i);
            Map<String, Object> params = asked[i] == null ? Map.of() : asked[i].parameters();
            int k = params.containsKey("classification")
                    ? topK(
                            params.get("classification"),
                            "output parameter" + " classification of '" + spec.getName() + "'")
                    : topK;
            answer.add(k > 0 ? classes(spec, out, k, params) : tensor(spec.getName(), out, params));
        }
        return new InferenceResult(name, request.id, answer);
    }

    private ServeException deadlineExceeded() {
        return new ServeException(
                504,
                "DEADLINE_EXCEEDED",
                "model '" + name + "' did not answer within "
                        + options.requestTimeoutMs
                        + " ms: send fewer samples per request, or start the server with a larger"
                        + " --request-timeout-ms");
    }

    private List<NDArray> inputs(InferenceRequest request) {
        Map<String, Tensor> byName = new HashMap<>();
        for (Tensor t : request.inputs) {
            if (byName.put(t.name, t) != null) {
                throw ServeException.badRequest(
                        ErrorCode.INVALID_ARGUMENT, "input '" + t.name + "' is given twice: give" + " each input once");
            }
            if (!signature.getInputNames().contains(t.name)) {
                throw ServeException.badRequest(
                        ErrorCode.UNKNOWN_INPUT,
                        "model '" + name + "' has no input '" + t.name + "'; its inputs are "
                                + signature.getInputNames() + " (GET /v2/models/" + name + ")");
            }
        }
        if (byName.size() != signature.getInputs().size()) {
            Set<String> missing = new HashSet<>(signature.getInputNames());
            missing.removeAll(byName.keySet());
            throw ServeException.badRequest(
                    ErrorCode.INPUT_COUNT,
                    "model '" + name + "' takes " + signature.getInputs().size() + " input(s) "
                            + signature.getInputNames() + "; missing " + missing);
        }
        List<NDArray> arrays = new ArrayList<>();
        int batch = -1;
        for (TensorSpec spec : signature.getInputs()) {
            NDArray a = array(spec, byName.get(spec.getName()));
            int n = a.getShape().get(0);
            if (batch >= 0 && n != batch) {
                throw ServeException.badRequest(
                        ErrorCode.SHAPE_MISMATCH,
                        "inputs have different batch sizes (" + batch + " and " + n + " for '" + spec.getName()
                                + "'): give every input the same dimension 0");
            }
            batch = n;
            arrays.add(a);
        }
        return arrays;
    }

    private NDArray array(TensorSpec spec, Tensor t) {
        String want = Tensor.v2(spec.getDType());
        if (Tensor.BYTES.equals(t.datatype) && isImage(spec)) {
            return images(spec, t);
        }
        if (!want.equals(t.datatype)) {
            throw ServeException.badRequest(
                    ErrorCode.DTYPE_MISMATCH,
                    "input '" + spec.getName() + "' is " + want + (isImage(spec) ? " (or BYTES: encoded images)" : "")
                            + ", got " + t.datatype + ": send " + want);
        }
        Tensor.elementCount(t.name, t.shape, options.maxTensorElements);
        checkShape(spec, t.shape);
        int[] dims = new int[t.shape.length];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = (int) t.shape[i];
        }
        Shape shape = new Shape(dims);
        long bytes = (long) shape.size() * spec.getDType().getByteSize();
        if (t.raw.length != bytes) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    "input '" + t.name + "' of shape "
                            + Arrays.toString(t.shape) + " " + want + " takes " + bytes + " bytes of data, got "
                            + t.raw.length
                            + ": send exactly the shape's elements");
        }
        return NDArray.wrapRaw(spec.getDType(), t.raw, shape); // t.raw is this request's own copy
    }

    private void checkShape(TensorSpec spec, long[] shape) {
        Shape s = spec.getShape();
        boolean ok = shape.length == s.rank() && shape.length > 0 && shape[0] > 0;
        for (int i = 1; ok && i < shape.length; i++) {
            ok = shape[i] > 0 && (s.get(i) == -1 || s.get(i) == shape[i]);
        }
        if (!ok) {
            throw ServeException.badRequest(
                    ErrorCode.SHAPE_MISMATCH,
                    "input '" + spec.getName() + "' has shape "
                            + Arrays.toString(shape) + " but the model takes " + s
                            + " (-1: any size above 0; dimension 0 is the"
                            + " batch): send that shape");
        }
    }

    /** N encoded images, decoded by libmxnet's decoder (spec/RUNTIME.md section 4) into uint8 [N, H, W, 3]. */
    private NDArray images(TensorSpec spec, Tensor t) {
        long n = Tensor.elementCount(t.name, t.shape, options.maxTensorElements);
        if (n == 0 || t.elements.size() != n) {
            throw ServeException.badRequest(
                    ErrorCode.SHAPE_MISMATCH,
                    "BYTES input '" + t.name + "' of shape " + Arrays.toString(t.shape) + " holds " + t.elements.size()
                            + " images: give shape [N] for N images");
        }
        List<NDArray> decoded = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            NDArray img;
            try {
                img = Images.decode(t.elements.get(i), options.maxImagePixels);
            } catch (MxportException e) {
                throw ServeException.badRequest(
                        e.getErrorCode(),
                        "image " + i + " of input '" + t.name + "': "
                                + e.getMessage().substring(e.getCode().length() + 3) + " (at most "
                                + options.maxImagePixels
                                + " pixels: --max-image-pixels)");
            }
            if (!decoded.isEmpty() && !img.getShape().equals(decoded.get(0).getShape())) {
                throw ServeException.badRequest(
                        ErrorCode.SHAPE_MISMATCH,
                        "the images of input '" + t.name + "' differ"
                                + " in size (" + decoded.get(0).getShape() + " and " + img.getShape()
                                + "): send images of one"
                                + " size together, or one image per request");
            }
            decoded.add(img);
        }
        int[] dims = decoded.get(0).getShape().toArray();
        checkShape(spec, new long[] {n, dims[1], dims[2], dims[3]});
        if (n == 1) {
            return decoded.get(0);
        }
        byte[] all = new byte[decoded.get(0).size() * (int) n];
        for (int i = 0; i < n; i++) {
            byte[] one = decoded.get(i).toRawBytes();
            System.arraycopy(one, 0, all, i * one.length, one.length);
        }
        dims[0] = (int) n;
        return NDArray.wrapRaw(DType.UINT8, all, new Shape(dims));
    }

    private List<TensorSpec> outputs(InferenceRequest request) {
        if (request.outputs.isEmpty()) {
            return signature.getOutputs();
        }
        List<TensorSpec> wanted = new ArrayList<>();
        for (InferenceRequest.RequestedOutput r : request.outputs) {
            int i = signature.getOutputNames().indexOf(r.name());
            if (i < 0) {
                throw ServeException.badRequest(
                        ErrorCode.INVALID_ARGUMENT,
                        "model '" + name + "' has no output '" + r.name() + "'; its outputs are "
                                + signature.getOutputNames());
            }
            wanted.add(signature.getOutputs().get(i));
        }
        return wanted;
    }

    /** 0 when absent; else a positive integer. */
    private static int topK(Object value, String what) {
        if (value == null) {
            return 0;
        }
        long k;
        if (value instanceof Long l) {
            k = l;
        } else if (value instanceof String s && s.matches("[0-9]{1,9}")) {
            k = Long.parseLong(s);
        } else {
            k = -1;
        }
        if (k < 1 || k > 100_000) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    what + " must be a positive integer (how many" + " classes to answer), got " + value);
        }
        return (int) k;
    }

    static Tensor tensor(String name, NDArray a, Map<String, Object> params) {
        int[] dims = a.getShape().toArray();
        long[] shape = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            shape[i] = dims[i];
        }
        return new Tensor(name, Tensor.v2(a.getDType()), shape, a.toRawBytes(), null, params);
    }

    /** Triton's classification form: BYTES [batch, k] of "score:index:label", best first. */
    private Tensor classes(TensorSpec spec, NDArray out, int k, Map<String, Object> params) {
        int[] dims = out.getShape().toArray();
        if (dims.length != 2) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    "output '" + spec.getName() + "' has shape " + out.getShape()
                            + ", not [batch, classes]: top_k works on class scores only; drop top_k");
        }
        float[] all = out.toFloatArray();
        int classes = dims[1];
        int kk = Math.min(k, classes);
        List<byte[]> elements = new ArrayList<>();
        for (int row = 0; row < dims[0]; row++) {
            float[] scores = Arrays.copyOfRange(all, row * classes, (row + 1) * classes);
            for (ClassScore c : spec.topK(scores, kk)) {
                String s = c.getScore() + ":" + c.getIndex()
                        + c.getLabel().map(l -> ":" + l).orElse("");
                elements.add(s.getBytes(StandardCharsets.UTF_8));
            }
        }
        return new Tensor(spec.getName(), Tensor.BYTES, new long[] {dims[0], kk}, null, elements, params);
    }

    /** Finishes the queued requests, then frees the model. */
    @Override
    public void close() {
        ready = false;
        batcher.close();
        model.close();
    }
}
