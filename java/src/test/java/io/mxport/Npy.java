package io.mxport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A small reader and writer of .npy files (versions 1-3, little-endian, C order), for the tests: the core's, and
 * the integration adapters', through which arrays cross the Python-JVM bridges as bytes (this test-jar's one copy).
 */
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

    private Npy() {}

    public static NDArray read(Path path) throws IOException {
        return read(Files.readAllBytes(path), path.toString());
    }

    /** Parses .npy bytes into a host NDArray. */
    public static NDArray read(byte[] npy) {
        try {
            return read(npy, ".npy bytes");
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    private static NDArray read(byte[] all, String path) throws IOException {
        if (all.length < 10
                || all[0] != (byte) 0x93
                || !new String(all, 1, 5, StandardCharsets.US_ASCII).equals("NUMPY")) {
            throw new IOException(path + " is not a .npy file");
        }
        int major = all[6];
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        int headerLen;
        int offset;
        if (major == 1) {
            headerLen = b.getShort(8) & 0xFFFF;
            offset = 10;
        } else {
            headerLen = b.getInt(8);
            offset = 12;
        }
        String header = new String(all, offset, headerLen, StandardCharsets.ISO_8859_1);
        Matcher d = Pattern.compile("'descr':\\s*'([^']+)'").matcher(header);
        Matcher f = Pattern.compile("'fortran_order':\\s*(True|False)").matcher(header);
        Matcher s = Pattern.compile("'shape':\\s*\\(([^)]*)\\)").matcher(header);
        if (!d.find() || !f.find() || !s.find()) {
            throw new IOException(path + ": cannot read header " + header);
        }
        DType dtype = DESCR.get(d.group(1));
        if (dtype == null || f.group(1).equals("True")) {
            throw new IOException(path + ": unsupported dtype/order " + header);
        }
        List<Integer> dims = new ArrayList<>();
        for (String part : s.group(1).split(",")) {
            if (!part.isBlank()) {
                dims.add(Integer.parseInt(part.strip()));
            }
        }
        int[] shape = dims.stream().mapToInt(Integer::intValue).toArray();
        int start = offset + headerLen;
        byte[] data = java.util.Arrays.copyOfRange(all, start, all.length);
        return NDArray.ofRaw(dtype, data, new Shape(shape));
    }

    public static void write(Path path, NDArray array) throws IOException {
        Files.write(path, write(array));
    }

    /** A host NDArray as .npy bytes (version 1.0). */
    public static byte[] write(NDArray array) {
        String descr = null;
        for (Map.Entry<String, DType> e : DESCR.entrySet()) {
            if (e.getValue() == array.getDType()) {
                descr = e.getKey();
            }
        }
        StringBuilder shape = new StringBuilder();
        for (int i = 0; i < array.getShape().rank(); i++) {
            shape.append(array.getShape().get(i)).append(',');
        }
        String header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + shape + "), }";
        int total = 10 + header.length() + 1;
        int pad = (64 - total % 64) % 64;
        header = header + " ".repeat(pad) + "\n";
        ByteBuffer head = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
        head.put((byte) 0x93)
                .put("NUMPY".getBytes(StandardCharsets.US_ASCII))
                .put((byte) 1)
                .put((byte) 0)
                .putShort((short) header.length());
        byte[] raw = array.toRawBytes();
        byte[] out = new byte[10 + header.length() + raw.length];
        System.arraycopy(head.array(), 0, out, 0, 10);
        System.arraycopy(header.getBytes(StandardCharsets.US_ASCII), 0, out, 10, header.length());
        System.arraycopy(raw, 0, out, 10 + header.length(), raw.length);
        return out;
    }
}
