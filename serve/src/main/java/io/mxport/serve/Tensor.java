package io.mxport.serve;

import io.mxport.DType;
import io.mxport.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * One tensor of the Open Inference Protocol as the server holds it between the wire and the engine: numeric data as
 * raw little-endian row-major bytes, BYTES data as its elements.
 */
final class Tensor {
    final String name;
    final String datatype;
    final long[] shape;
    /** Numeric tensors: elements * element size bytes. Null for BYTES. */
    final byte[] raw;
    /** BYTES tensors: one byte string per element. Null otherwise. */
    final List<byte[]> elements;

    final Map<String, Object> parameters;

    Tensor(
            String name,
            String datatype,
            long[] shape,
            byte[] raw,
            List<byte[]> elements,
            Map<String, Object> parameters) {
        this.name = name;
        this.datatype = datatype;
        this.shape = shape;
        this.raw = raw;
        this.elements = elements;
        this.parameters = parameters == null ? Map.of() : parameters;
    }

    static final String BYTES = "BYTES";

    /** The V2 datatype of a signature dtype. */
    static String v2(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "FP32";
            case FLOAT64 -> "FP64";
            case FLOAT16 -> "FP16";
            case UINT8 -> "UINT8";
            case INT8 -> "INT8";
            case INT32 -> "INT32";
            case INT64 -> "INT64";
        };
    }

    /** Bytes per element of a numeric V2 datatype, or -1 for BYTES and datatypes mxport models never take. */
    static int elementSize(String datatype) {
        return switch (datatype) {
            case "BOOL", "UINT8", "INT8" -> 1;
            case "UINT16", "INT16", "FP16" -> 2;
            case "UINT32", "INT32", "FP32" -> 4;
            case "UINT64", "INT64", "FP64" -> 8;
            default -> -1;
        };
    }

    static boolean isKnownDatatype(String datatype) {
        return elementSize(datatype) > 0 || BYTES.equals(datatype);
    }

    /** The element count of a declared shape; INVALID_ARGUMENT for a negative dimension or one over the limit. */
    static long elementCount(String name, long[] shape, long limit) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw ServeException.badRequest(
                        ErrorCode.INVALID_ARGUMENT,
                        "input '" + name + "' has shape " + Arrays.toString(shape)
                                + ": a request's shape gives every dimension (no -1)");
            }
            if (d != 0 && n > limit / d) {
                n = -1; // over the limit (and maybe over a long)
                break;
            }
            n *= d;
        }
        if (n < 0 || n > limit) {
            throw ServeException.badRequest(
                    ErrorCode.INVALID_ARGUMENT,
                    "input '" + name + "' of shape "
                            + Arrays.toString(shape) + " has more than " + limit + " elements, the server's limit: send"
                            + " smaller batches, or start the server with a larger --max-tensor-elements");
        }
        return n;
    }

    /** Splits a BYTES tensor's binary form: each element a 4-byte little-endian length, then its bytes. */
    static List<byte[]> splitBytes(String name, byte[] data, long count) {
        List<byte[]> out = new ArrayList<>();
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        while (b.remaining() > 0) {
            if (b.remaining() < 4) {
                throw truncatedBytes(name);
            }
            int len = b.getInt();
            if (len < 0 || len > b.remaining()) {
                throw truncatedBytes(name);
            }
            byte[] e = new byte[len];
            b.get(e);
            out.add(e);
        }
        if (out.size() != count) {
            throw ServeException.badRequest(
                    ErrorCode.SHAPE_MISMATCH,
                    "BYTES input '" + name + "' holds " + out.size() + " elements but its shape says " + count
                            + ": give one element (e.g. one encoded image) per position");
        }
        return out;
    }

    private static ServeException truncatedBytes(String name) {
        return ServeException.badRequest(
                ErrorCode.INVALID_ARGUMENT,
                "BYTES input '" + name + "' is cut short: each"
                        + " element is a 4-byte little-endian length followed by that many bytes");
    }

    /** The binary form of BYTES elements (4-byte little-endian length, then the bytes). */
    static byte[] joinBytes(List<byte[]> elements) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        for (byte[] e : elements) {
            len.clear();
            out.write(len.putInt(e.length).array(), 0, 4);
            out.write(e, 0, e.length);
        }
        return out.toByteArray();
    }

    /** The data as bytes on the wire: raw, or BYTES elements joined. */
    byte[] wireBytes() {
        return raw != null ? raw : joinBytes(elements);
    }
}
