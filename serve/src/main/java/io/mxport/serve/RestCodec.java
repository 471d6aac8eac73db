package io.mxport.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.mxport.ErrorCode;
import io.mxport.TensorSpec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The REST side of the protocol: the JSON of requests and answers, with the binary tensor data extension (a JSON
 * header of {@code Inference-Header-Content-Length} bytes, then each binary tensor's bytes in order).
 */
final class RestCodec {
    static final ObjectMapper JSON = new ObjectMapper();

    static {
        JSON.getFactory()
                .setStreamReadConstraints(
                        StreamReadConstraints.builder().maxNestingDepth(64).build());
    }

    private RestCodec() {}

    /**
     * A finished HTTP body: the bytes (the caller sends or releases them), and the JSON header's length when binary
     * tensors follow it.
     */
    record Body(ByteBuf bytes, Integer headerLength) {}

    static byte[] error(String message) {
        ObjectNode o = JSON.createObjectNode().put("error", message);
        return bytes(o);
    }

    static byte[] bytes(JsonNode node) {
        try {
            return JSON.writeValueAsBytes(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] serverMetadata() {
        ObjectNode o =
                JSON.createObjectNode().put("name", InferenceServer.NAME).put("version", InferenceServer.VERSION);
        o.putArray("extensions").add("binary_tensor_data").add("classification");
        return bytes(o);
    }

    static byte[] modelMetadata(ModelHost m) {
        ObjectNode o = JSON.createObjectNode().put("name", m.name);
        o.putArray("versions").add("1");
        o.put("platform", m.platform);
        tensors(o.putArray("inputs"), m.signature.getInputs());
        tensors(o.putArray("outputs"), m.signature.getOutputs());
        return bytes(o);
    }

    private static void tensors(ArrayNode to, List<TensorSpec> specs) {
        for (TensorSpec s : specs) {
            ObjectNode t = to.addObject().put("name", s.getName()).put("datatype", Tensor.v2(s.getDType()));
            ArrayNode shape = t.putArray("shape");
            for (int d : s.getShape().toArray()) {
                shape.add(d);
            }
        }
    }

    /**
     * Parses an infer body (its readable bytes, left unchanged); {@code headerLength} null when the whole body is
     * JSON. Each binary tensor is copied once, from the body into its own array.
     */
    static InferenceRequest parse(String model, ByteBuf content, Integer headerLength) {
        int length = content.readableBytes();
        int jsonLength = headerLength == null ? length : headerLength;
        if (jsonLength < 0 || jsonLength > length) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    "Inference-Header-Content-Length is " + headerLength + " but the body has " + length
                            + " bytes: give the JSON header's length in bytes");
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes(content, 0, jsonLength));
        } catch (IOException e) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    "the request is not valid JSON ("
                            + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j
                                    ? j.getOriginalMessage()
                                    : e.getMessage())
                            + "): send a JSON object {\"inputs\": [...]} (protocol v2)");
        }
        if (root == null || !root.isObject()) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT, "the request must be a JSON object with" + " \"inputs\": [...]");
        }
        Map<String, Object> params = parameters(root.get("parameters"), "request");
        JsonNode inputs = root.get("inputs");
        if (inputs == null || !inputs.isArray() || inputs.isEmpty()) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    "the request has no \"inputs\" array: give"
                            + " [{\"name\", \"datatype\", \"shape\", \"data\"}, ...]");
        }
        int binaryAt = jsonLength;
        List<Tensor> tensors = new ArrayList<>();
        for (JsonNode in : inputs) {
            if (!in.isObject()) {
                throw ServeException.badRequest(ErrorCode.INVALID_ARGUMENT, "each input must be a JSON object");
            }
            String name = text(in, "name", "input");
            String datatype = text(in, "datatype", "input '" + name + "'");
            if (!Tensor.isKnownDatatype(datatype)) {
                throw ServeException.badRequest(
                        ErrorCode.DTYPE_MISMATCH,
                        "input '" + name + "' has datatype '" + datatype
                                + "', which protocol v2 does not define: use UINT8, FP32, INT64, BYTES, ...");
            }
            long[] shape = shape(in.get("shape"), name);
            Map<String, Object> tp = parameters(in.get("parameters"), "input '" + name + "'");
            Object binarySize = tp.get("binary_data_size");
            byte[] data;
            List<byte[]> elements = null;
            if (binarySize != null) {
                if (!(binarySize instanceof Long size) || size < 0) {
                    throw ServeException.badRequest(
                            ErrorCode.INVALID_ARGUMENT,
                            "binary_data_size of input '" + name + "' must be a byte count, got " + binarySize);
                }
                if (in.has("data")) {
                    throw ServeException.badRequest(
                            ErrorCode.INVALID_ARGUMENT,
                            "input '" + name + "' has both" + " binary_data_size and \"data\": give one");
                }
                if (size > length - binaryAt) {
                    throw ServeException.badRequest(
                            ErrorCode.INVALID_ARGUMENT,
                            "input '" + name + "' says "
                                    + size + " bytes of binary data but only " + (length - binaryAt)
                                    + " follow the JSON"
                                    + " header: the binary section is cut short; send every tensor's bytes after the header");
                }
                data = bytes(content, binaryAt, size.intValue());
                binaryAt += size.intValue();
                if (Tensor.BYTES.equals(datatype)) {
                    elements = Tensor.splitBytes(name, data, Tensor.elementCount(name, shape, Long.MAX_VALUE));
                    data = null;
                }
            } else {
                JsonNode d = in.get("data");
                if (d == null) {
                    throw ServeException.badRequest(
                            ErrorCode.INVALID_ARGUMENT,
                            "input '" + name + "' has no \"data\"" + " and no binary_data_size parameter: give one");
                }
                List<JsonNode> flat = new ArrayList<>();
                flatten(d, flat, name, 0);
                if (Tensor.BYTES.equals(datatype)) {
                    elements = new ArrayList<>();
                    for (JsonNode e : flat) {
                        if (!e.isTextual()) {
                            throw ServeException.badRequest(
                                    ErrorCode.INVALID_ARGUMENT,
                                    "BYTES input '" + name
                                            + "' takes strings in \"data\"; send binary data (binary_data_size) for raw bytes");
                        }
                        elements.add(e.textValue().getBytes(StandardCharsets.UTF_8));
                    }
                    data = null;
                } else {
                    data = numbers(flat, datatype, name);
                }
            }
            tensors.add(new Tensor(name, datatype, shape, data, elements, tp));
        }
        if (binaryAt != length) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    (length - binaryAt) + " bytes follow the"
                            + " tensors the JSON header describes: give each binary input its binary_data_size");
        }
        List<InferenceRequest.RequestedOutput> outs = new ArrayList<>();
        JsonNode outputs = root.get("outputs");
        if (outputs != null) {
            if (!outputs.isArray()) {
                throw ServeException.badRequest(
                        ErrorCode.INVALID_ARGUMENT, "\"outputs\" must be an array of {\"name\"}");
            }
            for (JsonNode o : outputs) {
                String name = text(o, "name", "requested output");
                outs.add(new InferenceRequest.RequestedOutput(
                        name, parameters(o.get("parameters"), "output '" + name + "'")));
            }
        }
        JsonNode id = root.get("id");
        return new InferenceRequest(model, id != null && id.isTextual() ? id.textValue() : null, params, tensors, outs);
    }

    private static String text(JsonNode o, String field, String what) {
        JsonNode v = o.get(field);
        if (v == null || !v.isTextual()) {
            throw ServeException.badRequest(ErrorCode.INVALID_ARGUMENT, what + " needs a string \"" + field + "\"");
        }
        return v.textValue();
    }

    private static long[] shape(JsonNode s, String name) {
        if (s == null || !s.isArray()) {
            throw ServeException.badRequest(ErrorCode.INVALID_ARGUMENT, "input '" + name + "' needs \"shape\": [dims]");
        }
        long[] shape = new long[s.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = s.get(i);
            if (!d.canConvertToLong()
                    || !d.isIntegralNumber()
                    || d.longValue() < 0
                    || d.longValue() > Integer.MAX_VALUE) {
                throw ServeException.badRequest(
                        ErrorCode.INVALID_ARGUMENT,
                        "input '" + name + "' has shape " + s + ": every dimension is an integer 0.."
                                + Integer.MAX_VALUE);
            }
            shape[i] = d.longValue();
        }
        return shape;
    }

    static Map<String, Object> parameters(JsonNode p, String what) {
        if (p == null || p.isNull()) {
            return Map.of();
        }
        if (!p.isObject()) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT, "the parameters of the " + what + " must be a" + " JSON object");
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = p.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            JsonNode v = e.getValue();
            Object value;
            if (v.isBoolean()) {
                value = v.booleanValue();
            } else if (v.isIntegralNumber() && v.canConvertToLong()) {
                value = v.longValue();
            } else if (v.isNumber()) {
                value = v.doubleValue();
            } else if (v.isTextual()) {
                value = v.textValue();
            } else {
                throw ServeException.badRequest(
                        ErrorCode.INVALID_ARGUMENT,
                        "parameter '" + e.getKey() + "' of the " + what + " must be a boolean, number or string");
            }
            out.put(e.getKey(), value);
        }
        return out;
    }

    private static void flatten(JsonNode d, List<JsonNode> out, String name, int depth) {
        if (depth > 32) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT, "\"data\" of input '" + name + "' nests too deep");
        }
        if (d.isArray()) {
            for (JsonNode e : d) {
                flatten(e, out, name, depth + 1);
            }
        } else {
            out.add(d);
        }
    }

    private static byte[] numbers(List<JsonNode> flat, String datatype, String name) {
        int size = Tensor.elementSize(datatype);
        ByteBuffer b = ByteBuffer.allocate(flat.size() * size).order(ByteOrder.LITTLE_ENDIAN);
        for (JsonNode e : flat) {
            if (!e.isNumber() && !(datatype.equals("BOOL") && e.isBoolean())) {
                throw notNumber(name, datatype, e);
            }
            switch (datatype) {
                case "FP32" -> b.putFloat(e.floatValue());
                case "FP64" -> b.putDouble(e.doubleValue());
                case "UINT8" -> b.put((byte) integer(e, 0, 255, name, datatype));
                case "INT8" -> b.put((byte) integer(e, -128, 127, name, datatype));
                case "BOOL" ->
                    b.put((byte) (e.isBoolean() ? (e.booleanValue() ? 1 : 0) : integer(e, 0, 1, name, datatype)));
                case "INT16" -> b.putShort((short) integer(e, Short.MIN_VALUE, Short.MAX_VALUE, name, datatype));
                case "UINT16" -> b.putShort((short) integer(e, 0, 65535, name, datatype));
                case "INT32" -> b.putInt((int) integer(e, Integer.MIN_VALUE, Integer.MAX_VALUE, name, datatype));
                case "UINT32" -> b.putInt((int) integer(e, 0, 0xFFFFFFFFL, name, datatype));
                case "INT64", "UINT64" -> b.putLong(integer(e, Long.MIN_VALUE, Long.MAX_VALUE, name, datatype));
                default ->
                    throw ServeException.badRequest(
                            ErrorCode.DTYPE_MISMATCH,
                            "input '" + name + "' of " + datatype
                                    + " needs binary data (binary_data_size): JSON has no form for it");
            }
        }
        return b.array();
    }

    private static long integer(JsonNode e, long min, long max, String name, String datatype) {
        if (!e.isIntegralNumber() || !e.canConvertToLong() || e.longValue() < min || e.longValue() > max) {
            throw notNumber(name, datatype, e);
        }
        return e.longValue();
    }

    private static ServeException notNumber(String name, String datatype, JsonNode e) {
        return ServeException.badRequest(
                ErrorCode.INVALID_ARGUMENT,
                "\"data\" of input '" + name + "' holds " + e + ", which is not a " + datatype
                        + " value: send numbers of the input's datatype");
    }

    /**
     * The answer, written into a buffer of {@code alloc}: JSON, or JSON then binary outputs when the request asked
     * for binary data.
     */
    static Body answer(InferenceResult r, InferenceRequest request, ByteBufAllocator alloc) {
        boolean binaryDefault = Boolean.TRUE.equals(request.parameters.get("binary_data_output"));
        ObjectNode o = JSON.createObjectNode().put("model_name", r.model()).put("model_version", "1");
        if (!r.id().isEmpty()) {
            o.put("id", r.id());
        }
        ArrayNode outs = o.putArray("outputs");
        List<byte[]> binary = new ArrayList<>();
        int binaryBytes = 0;
        for (Tensor t : r.outputs()) {
            ObjectNode j = outs.addObject().put("name", t.name).put("datatype", t.datatype);
            ArrayNode shape = j.putArray("shape");
            for (long d : t.shape) {
                shape.add(d);
            }
            Object asked = t.parameters.get("binary_data");
            boolean binary1 = asked instanceof Boolean b ? b : binaryDefault;
            if (binary1) {
                byte[] bytes = t.wireBytes();
                j.putObject("parameters").put("binary_data_size", bytes.length);
                binary.add(bytes);
                binaryBytes += bytes.length;
            } else {
                data(j.putArray("data"), t);
            }
        }
        ByteBuf out = alloc.buffer(512 + binaryBytes);
        try {
            JSON.writeValue((OutputStream) new ByteBufOutputStream(out), o);
            int json = out.readableBytes();
            for (byte[] b : binary) {
                out.writeBytes(b);
            }
            return new Body(out, binary.isEmpty() ? null : json); // one entry per binary output, even of 0 bytes
        } catch (IOException | RuntimeException e) {
            out.release();
            throw new IllegalStateException("the answer could not be written: " + e, e);
        }
    }

    /** {@code count} bytes of {@code content}'s readable ones, from {@code offset} on, as a new array. */
    private static byte[] bytes(ByteBuf content, int offset, int count) {
        byte[] out = new byte[count];
        content.getBytes(content.readerIndex() + offset, out);
        return out;
    }

    private static void data(ArrayNode to, Tensor t) {
        if (t.elements != null) {
            for (byte[] e : t.elements) {
                to.add(new String(e, StandardCharsets.UTF_8));
            }
            return;
        }
        ByteBuffer b = ByteBuffer.wrap(t.raw).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            switch (t.datatype) {
                case "FP32" -> to.add(b.getFloat());
                case "FP64" -> to.add(b.getDouble());
                case "UINT8" -> to.add(b.get() & 0xFF);
                case "INT8" -> to.add(b.get());
                case "INT32" -> to.add(b.getInt());
                case "INT64" -> to.add(b.getLong());
                case "FP16" -> to.add(halfToFloat(b.getShort()));
                default -> throw new IllegalStateException("no JSON form for " + t.datatype);
            }
        }
    }

    /** IEEE 754 binary16 to float (exact: every half is a float). */
    static float halfToFloat(short h) {
        int sign = (h >>> 15) & 1;
        int exp = (h >>> 10) & 0x1F;
        int mant = h & 0x3FF;
        float v;
        if (exp == 0) {
            v = mant * 0x1p-24f;
        } else if (exp == 31) {
            v = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else {
            v = Float.intBitsToFloat(((exp - 15 + 127) << 23) | (mant << 13));
        }
        return sign == 1 ? -v : v;
    }
}
