package io.mxport;

import com.sun.jna.Pointer;
import java.util.Arrays;

/**
 * Decodes encoded images with libmxnet's own {@code _cvimdecode} operator (OpenCV, flag=1, to_rgb=1), the operator
 * Python's {@code mx.image.imdecode} runs: the same pixels as Python for the same library build (spec/RUNTIME.md
 * section 4). {@link Images} checks the caller's input and names the problems; this class talks to the door.
 */
final class ImageDecoder {
    /** Zero bytes after an image's bytes: MXNet's JPEG and PNG header readers look up to 24 bytes past the end. */
    static final int IMAGE_PADDING = 32;

    private static volatile Pointer imdecode;

    private ImageDecoder() {}

    /**
     * Decodes {@code encoded} (a JPEG or PNG, not empty) so that every pixel returned was written by the decoder
     * (spec/RUNTIME.md section 4, rules 9 and 10, as {@code mxport.decode_image} does): a JPEG goes through
     * {@link #jpegForDecoder}; a PNG's header is probed first ({@link #pngHeaderForDecoder}), because OpenCV 3.4.2
     * returns without touching the buffer libmxnet sized from the header when it cannot read that header, and
     * libmxnet returns the buffer as the image. An image of more than {@code maxPixels} pixels is refused before
     * its pixels are copied out. Loads libmxnet.so (applying the thread rule) if this process has not.
     */
    static DecodedImage decode(byte[] encoded, long maxPixels) {
        EngineWorkers.load();
        if ((encoded[0] & 0xFF) == 0xFF) {
            boolean jfif = JpegMarkers.isJfif(encoded);
            return run(jpegForDecoder(encoded), jfif ? "129" : "1", maxPixels, true);
        }
        DecodedImage probe = run(pngHeaderForDecoder(encoded), "1", maxPixels, false);
        if (probe.problem == null && !probe.tooLarge) {
            return DecodedImage.failed(DecodedImage.PNG_DAMAGED);
        }
        return run(encoded, "1", maxPixels, true);
    }

    /** libmxnet's words when OpenCV decoded nothing (a header or image data it cannot read). */
    private static final String OPENCV_FAILED = "Decoding failed. Invalid image file.";

    private static DecodedImage failedDecoding(String problem) {
        return DecodedImage.failed(problem != null && problem.contains(OPENCV_FAILED) ? DecodedImage.DAMAGED : problem);
    }

    private static final byte[] EOI = {(byte) 0xFF, (byte) 0xD9};

    /**
     * The bytes {@code _cvimdecode} is given for a JPEG: an EOI marker appended (OpenCV's JPEG source suspends at the
     * end of the bytes, and a cut file's missing rows would be copies of a row buffer that may never have been
     * written; with the marker libjpeg fills them, and a whole file ends at its own EOI first), and for a JFIF file a
     * fill byte (FF) before its APP0 marker, so that libmxnet lets OpenCV allocate the output (decoded with flag 129,
     * EXIF orientation ignored, as libmxnet's header path decodes it). Python: {@code jpeg_for_decoder}.
     */
    static byte[] jpegForDecoder(byte[] b) {
        boolean jfif = JpegMarkers.isJfif(b);
        byte[] out = new byte[b.length + (jfif ? 1 : 0) + EOI.length];
        if (jfif) {
            out[0] = b[0];
            out[1] = b[1];
            out[2] = (byte) 0xFF;
            System.arraycopy(b, 2, out, 3, b.length - 2);
        } else {
            System.arraycopy(b, 0, out, 0, b.length);
        }
        System.arraycopy(EOI, 0, out, out.length - EOI.length, EOI.length);
        return out;
    }

    /**
     * The first bytes of a PNG that libpng's header read consumes: up to and including the first IDAT chunk's length
     * and type, at least the 24 bytes libmxnet's get_png_size reads; the whole file when its chunk walk finds no IDAT.
     * Decoding them fails once the header was read (the image data is missing) and returns unwritten memory when it
     * was not. Python: {@code png_header_for_decoder}.
     */
    static byte[] pngHeaderForDecoder(byte[] b) {
        long i = 8;
        while (i + 8 <= b.length) {
            int at = (int) i;
            if (b[at + 4] == 'I' && b[at + 5] == 'D' && b[at + 6] == 'A' && b[at + 7] == 'T') {
                return Arrays.copyOf(b, Math.min(b.length, Math.max(at + 8, 24)));
            }
            i += 12
                    + ((long) (b[at] & 0xFF) << 24
                            | (b[at + 1] & 0xFF) << 16
                            | (b[at + 2] & 0xFF) << 8
                            | (b[at + 3] & 0xFF));
        }
        return b;
    }

    /**
     * Runs {@code _cvimdecode} on {@code bytes} in a zero-padded buffer (a view of its first {@code bytes.length}
     * bytes goes to MXNet, so a file cut inside its header reads zeros, as Python arranges); copies the pixels out
     * when {@code copy}.
     */
    private static DecodedImage run(byte[] bytes, String flag, long maxPixels, boolean copy) {
        Pointer op = imdecode;
        if (op == null) {
            imdecode = op = Mxnet.operator("_cvimdecode");
        }
        Pointer padded = Mxnet.newArray(new int[] {bytes.length + IMAGE_PADDING}, 3); // uint8
        Pointer in = null;
        try {
            Mxnet.copyIn(padded, Arrays.copyOf(bytes, bytes.length + IMAGE_PADDING), bytes.length + IMAGE_PADDING);
            in = Mxnet.slice(padded, 0, bytes.length);
            Pointer out =
                    Mxnet.invoke(op, new Pointer[] {in}, new String[] {"flag", "to_rgb"}, new String[] {flag, "1"});
            if (out == null) {
                return failedDecoding(Mxnet.lastErrorLine());
            }
            try {
                int[] shape =
                        Mxnet.shapeOrNull(out); // fails for more than 2^31 values (a header declaring a huge image)
                String shapeProblem = shape == null ? Mxnet.lastErrorLine() : null;
                // A JFIF JPEG or a PNG is decoded on MXNet's engine; waiting surfaces its failure and consumes it,
                // else the next MXNDArrayWaitAll anywhere in the process would raise it.
                String decodeProblem = Mxnet.waitToRead(out);
                if (shapeProblem != null) {
                    return DecodedImage.failed(shapeProblem);
                }
                long pixels = shape.length == 3 ? (long) shape[0] * shape[1] : 0;
                if (pixels > maxPixels) {
                    return new DecodedImage(shape[0], shape[1], null, null, true);
                }
                if (decodeProblem != null) {
                    return failedDecoding(decodeProblem);
                }
                if (shape.length != 3 || shape[2] != 3 || shape[0] < 1 || shape[1] < 1) {
                    return DecodedImage.failed("the decoder found no image (shape " + Arrays.toString(shape) + ")");
                }
                byte[] rgb = copy ? new byte[(int) (pixels * 3)] : null;
                if (copy) {
                    Mxnet.copyOut(out, rgb, rgb.length);
                }
                return new DecodedImage(shape[0], shape[1], rgb, null, false);
            } finally {
                Mxnet.freeArray(out);
            }
        } finally {
            if (in != null) {
                Mxnet.freeArray(in);
            }
            Mxnet.freeArray(padded);
        }
    }
}
