package io.mxport.it;

import io.mxport.DType;
import io.mxport.NDArray;
import io.mxport.Shape;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The .npy format (version 1.0, little-endian, C order): how arrays cross the Python-JVM bridges as bytes. */
public final class Npy {
    private static final Map<String, DType> DESCR = Map.of(
            "<f4",
            DType.FLOAT32,
            "<f8",
            DType.FLOAT64,
            "<f2",
            DType.FLOAT16,
            "|u1",
            DType.UINT8,
            "|i1",
            DType.INT8,
            "<i4",
            DType.INT32,
            "<i8",
            DType.INT64);
    private static final Pattern HEADER =
            Pattern.compile("'descr': '([^']+)', 'fortran_order': False, 'shape': \\(([0-9, ]*)\\)");

    /** Parses .npy bytes into a host NDArray. */
    public static NDArray read(byte[] npy) {
        int headerLength = (npy[8] & 0xff) | (npy[9] & 0xff) << 8;
        String header = new String(npy, 10, headerLength, StandardCharsets.US_ASCII);
        Matcher m = HEADER.matcher(header);
        if (!m.find() || !DESCR.containsKey(m.group(1))) {
            throw new IllegalArgumentException("unsupported .npy header: " + header.trim());
        }
        int[] dims = Arrays.stream(m.group(2).split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .mapToInt(Integer::parseInt)
                .toArray();
        byte[] data = Arrays.copyOfRange(npy, 10 + headerLength, npy.length);
        return NDArray.ofRaw(DESCR.get(m.group(1)), data, new Shape(dims));
    }

    /** Writes a host NDArray as .npy bytes. */
    public static byte[] write(NDArray array) {
        String descr = DESCR.entrySet().stream()
                .filter(e -> e.getValue() == array.getDType())
                .findFirst()
                .orElseThrow()
                .getKey();
        int[] dims = array.getShape().toArray();
        StringBuilder shape = new StringBuilder();
        for (int d : dims) {
            shape.append(d).append(", ");
        }
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': ("
                + (dims.length == 1 ? dims[0] + "," : shape.toString().replaceAll(", $", "")) + "), }";
        int pad = 64 - (10 + dict.length() + 1) % 64;
        String header = dict + " ".repeat(pad % 64) + "\n";
        byte[] head = header.getBytes(StandardCharsets.US_ASCII);
        byte[] data = array.toRawBytes();
        byte[] out = new byte[10 + head.length + data.length];
        byte[] magic = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (byte) head.length, (byte) (head.length >> 8)};
        System.arraycopy(magic, 0, out, 0, 10);
        System.arraycopy(head, 0, out, 10, head.length);
        System.arraycopy(data, 0, out, 10 + head.length, data.length);
        return out;
    }

    private Npy() {}
}
