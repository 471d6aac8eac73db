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

    /** An image that {@link #decode} decoded, or why it could not. */
    static final class DecodedImage {
        final int height;
        final int width;
        /** RGB, uint8, HWC; null when {@link #problem} says why there is none. */
        final byte[] rgb;

        final String problem;
        /** True when the image decodes but has more pixels than allowed ({@link #height}, {@link #width} say). */
        final boolean tooLarge;

        private DecodedImage(int height, int width, byte[] rgb, String problem, boolean tooLarge) {
            this.height = height;
            this.width = width;
            this.rgb = rgb;
            this.problem = problem;
            this.tooLarge = tooLarge;
        }

        private static DecodedImage failed(String problem) {
            return new DecodedImage(0, 0, null, problem, false);
        }
    }

    /**
     * Decodes {@code encoded} (not empty). The bytes lie in a zero-padded buffer (a view of its first
     * {@code encoded.length} bytes goes to MXNet), so a file cut inside its header reads zeros, as
     * {@code mxport.decode_image} arranges in Python. An image of more than {@code maxPixels} pixels is refused
     * before its pixels are copied out. Loads libmxnet.so (applying the thread rule) if this process has not.
     */
    static DecodedImage decode(byte[] encoded, long maxPixels) {
        EngineWorkers.load();
        Pointer op = imdecode;
        if (op == null) {
            imdecode = op = Mxnet.operator("_cvimdecode");
        }
        Pointer padded = Mxnet.newArray(new int[] {encoded.length + IMAGE_PADDING}, 3); // uint8
        Pointer in = null;
        try {
            Mxnet.copyIn(
                    padded, Arrays.copyOf(encoded, encoded.length + IMAGE_PADDING), encoded.length + IMAGE_PADDING);
            in = Mxnet.slice(padded, 0, encoded.length);
            Pointer out =
                    Mxnet.invoke(op, new Pointer[] {in}, new String[] {"flag", "to_rgb"}, new String[] {"1", "1"});
            if (out == null) {
                return DecodedImage.failed(Mxnet.lastErrorLine());
            }
            try {
                int[] shape =
                        Mxnet.shapeOrNull(out); // fails for more than 2^31 values (a header declaring a huge image)
                String shapeProblem = shape == null ? Mxnet.lastErrorLine() : null;
                // The decode may run on MXNet's engine; waiting surfaces its failure (a truncated PNG) and consumes
                // it, else the next MXNDArrayWaitAll anywhere in the process would raise it.
                String decodeProblem = Mxnet.waitToRead(out);
                if (shapeProblem != null) {
                    return DecodedImage.failed(shapeProblem);
                }
                long pixels = shape.length == 3 ? (long) shape[0] * shape[1] : 0;
                if (pixels > maxPixels) {
                    return new DecodedImage(shape[0], shape[1], null, null, true);
                }
                if (decodeProblem != null) {
                    return DecodedImage.failed(decodeProblem);
                }
                if (shape.length != 3 || shape[2] != 3 || shape[0] < 1 || shape[1] < 1) {
                    return DecodedImage.failed("the decoder found no image (shape " + Arrays.toString(shape) + ")");
                }
                byte[] rgb = new byte[(int) (pixels * 3)];
                Mxnet.copyOut(out, rgb, rgb.length);
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
