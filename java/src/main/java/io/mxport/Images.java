package io.mxport;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns images into the uint8 NHWC batches that image models take (RGB, as MXNet's image operators expect).
 *
 * <pre>{@code
 * NDArray one = Images.read(Path.of("cat.jpg"));                     // [1, H, W, 3]: Python's pixels, byte for byte
 * NDArray same = Images.decode(Files.readAllBytes(Path.of("cat.jpg")));
 * NDArray two = Images.toNHWC(List.of(imageA, imageB));              // BufferedImages of one size: [2, H, W, 3]
 * }</pre>
 *
 * <p>{@link #read} and {@link #decode} decode with libmxnet's own {@code _cvimdecode} operator (OpenCV inside
 * libmxnet.so), the operator Python's {@code mx.image.imdecode(data)} and {@code mxport.decode_image} run, so a
 * file gives the same pixels in Java, Scala, Spark and Python (spec/RUNTIME.md, "Decoding images"): JPEG
 * (baseline, progressive, grayscale, CMYK) and PNG (8 and 16 bits, gray, palette, alpha) only. Grayscale
 * becomes R=G=B, alpha is dropped (not blended), 16-bit samples keep their high byte, CMYK is converted by
 * OpenCV. Other bytes (BMP, TIFF, GIF, text, a truncated PNG, a PNG whose header chunks libpng cannot read) are
 * INVALID_ARGUMENT; a truncated JPEG decodes, its missing part filled as libjpeg fills it, as in Python. A damaged
 * file never gives pixels the decoder did not write (libmxnet 1.9.1 alone can: spec/RUNTIME.md section 4).
 *
 * <p>Without libmxnet, {@link Decoder#IMAGEIO} decodes with the JDK's {@code javax.imageio} readers and MXNet's
 * rules (every value equal to libmxnet's on the test corpus; a 4:4:0 JPEG and a progressive JPEG cut short or
 * damaged are refused, as Python's Pillow decoder refuses them: libjpeg builds decode them differently). {@link #read(Path)} and
 * {@link #decode(byte[])} use it by themselves where a Predictor runs on ONNX Runtime and libmxnet is not loaded
 * ({@link #defaultDecoder}).
 *
 * <p>{@link #toNHWC} takes images already decoded by Java (e.g. {@code ImageIO.read}): their pixels are read as
 * sRGB through {@link BufferedImage#getRGB}, so a grayscale image's pixels differ from OpenCV's (by up to 73 of
 * 255); decode files with {@link #read} to get Python's pixels.
 */
public final class Images {
    /**
     * Which decoder turns a file's bytes into pixels (spec/RUNTIME.md section 4). Both give uint8 RGB
     * {@code [1, H, W, 3]}, make the same checks in the same order and refuse the same files with the same codes.
     */
    public enum Decoder {
        /** libmxnet's {@code _cvimdecode} (OpenCV, libjpeg-turbo, libpng): the reference; loads libmxnet.so. */
        MXNET,
        /**
         * The JDK's {@code javax.imageio} JPEG and PNG readers, pure Java (no libmxnet): libjpeg's samples and
         * MXNet's conversions (grayscale, alpha, palette, 16 bits, CMYK, EXIF orientation; rules 11 and 12).
         */
        IMAGEIO
    }

    /** The largest image {@link #read} and {@link #decode} take: 715,827,879 pixels, the most a Java array holds as RGB. */
    public static final long MAX_PIXELS = (Integer.MAX_VALUE - 8) / 3;

    private Images() {}

    /**
     * Reads and decodes an image file: uint8 {@code [1, height, width, 3]}, RGB, the pixels Python's
     * {@code mxport.read_image} gives.
     *
     * @throws MxportException INVALID_ARGUMENT naming the file when it cannot be read or is not an image libmxnet
     *     decodes; LIBRARY_NOT_FOUND when no libmxnet.so loads
     */
    public static NDArray read(Path file) {
        return read(file, MAX_PIXELS);
    }

    /**
     * Reads and decodes an image file, refusing one of more than {@code maxPixels} pixels (width x height; from its
     * header, before MXNet allocates) with a message naming the file.
     *
     * @throws MxportException INVALID_ARGUMENT naming the file when it cannot be read, is not a JPEG or PNG libmxnet
     *     decodes, or is too large
     */
    public static NDArray read(Path file, long maxPixels) {
        return read(file, maxPixels, defaultDecoder());
    }

    /** Decodes an encoded image (the bytes of a JPEG, PNG, ... file); see {@link #read}. */
    public static NDArray decode(byte[] encoded) {
        return decode(encoded, MAX_PIXELS);
    }

    /**
     * Decodes an encoded image, refusing one of more than {@code maxPixels} pixels before its pixels are copied.
     *
     * @throws MxportException INVALID_ARGUMENT when the bytes are empty, not an image libmxnet decodes, or too large
     */
    public static NDArray decode(byte[] encoded, long maxPixels) {
        return decode(encoded, maxPixels, null, defaultDecoder());
    }

    /**
     * Reads and decodes an image file with the chosen decoder, refusing one of more than {@code maxPixels} pixels.
     *
     * <pre>{@code
     * NDArray pixels = Images.read(Path.of("cat.jpg"), Images.MAX_PIXELS, Images.Decoder.IMAGEIO); // no libmxnet
     * }</pre>
     *
     * @throws MxportException INVALID_ARGUMENT as {@link #read(Path, long)}, or when {@code decoder} is null
     */
    public static NDArray read(Path file, long maxPixels, Decoder decoder) {
        checkDecoder(decoder);
        if (file == null) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "the image file is null");
        }
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "cannot read the image file " + file + " (" + e
                            + "); give the path of a readable JPEG or PNG file");
        }
        return decode(data, maxPixels, file.toString(), decoder);
    }

    /** Decodes an encoded image with the chosen decoder; see {@link #read(Path, long, Decoder)}. */
    public static NDArray decode(byte[] encoded, long maxPixels, Decoder decoder) {
        checkDecoder(decoder);
        return decode(encoded, maxPixels, null, decoder);
    }

    /**
     * The decoder {@link #read(Path)} and {@link #decode(byte[])} use: {@link Decoder#MXNET}, the reference, unless
     * this process has opened a {@link Predictor} on another engine (ONNX Runtime) and has not loaded libmxnet.so,
     * then {@link Decoder#IMAGEIO}, so that a program on ONNX Runtime decodes without libmxnet.
     */
    public static Decoder defaultDecoder() {
        return engineWithoutMxnet && EngineWorkers.appliedIfLoaded() == null ? Decoder.IMAGEIO : Decoder.MXNET;
    }

    /** Set when a Predictor opens a model on an engine other than MXNet (it never loads libmxnet.so). */
    static volatile boolean engineWithoutMxnet;

    private static void checkDecoder(Decoder decoder) {
        if (decoder == null) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "decoder is null: pass Images.Decoder.MXNET (libmxnet's, the reference) or Images.Decoder.IMAGEIO"
                            + " (the JDK's, without libmxnet)");
        }
    }

    private static NDArray decode(byte[] encoded, long maxPixels, String file, Decoder decoder) {
        String what = file == null ? (encoded == null ? "null" : encoded.length + " bytes") : file;
        if (encoded == null || encoded.length == 0) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "cannot decode " + what + " as an image: " + (encoded == null ? "no bytes" : "it is empty")
                            + "; give a JPEG or PNG file's bytes");
        }
        if (!isJpegOrPng(encoded)) { // other formats reach old decoders (libtiff 4.0.9, ...): SECURITY.md
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "cannot decode " + what + " as an image: it is not a"
                            + " JPEG or PNG file; give a JPEG or PNG (what OpenCV inside libmxnet reads), e.g. convert it with"
                            + " any image tool");
        }
        long limit = Math.min(maxPixels, MAX_PIXELS);
        for (long[] declared : new long[][] {declaredSize(encoded), mxnetDeclaredSize(encoded)}) {
            // refused before MXNet allocates for it; two uint32 multiply below 2^64, so compared unsigned
            if (declared != null && Long.compareUnsigned(declared[0] * declared[1], limit) > 0) {
                throw tooLarge(what, declared[0], declared[1], maxPixels);
            }
        }
        DecodedImage img =
                decoder == Decoder.MXNET ? ImageDecoder.decode(encoded, limit) : ImageIoDecoder.decode(encoded, limit);
        if (img.tooLarge) {
            throw tooLarge(what, img.width, img.height, maxPixels);
        }
        if (img.rgb == null) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "cannot decode " + what + " as an image: "
                            + img.problem
                            + (DecodedImage.PNG_DAMAGED.equals(img.problem)
                                            || DecodedImage.DAMAGED.equals(img.problem)
                                            || ImageIoDecoder.VERTICAL_ONLY.equals(img.problem)
                                            || ImageIoDecoder.PROGRESSIVE_INCOMPLETE.equals(img.problem)
                                    ? ""
                                    : "; give a JPEG or PNG (what OpenCV inside libmxnet reads), e.g. convert it"
                                            + " with any image tool"));
        }
        return NDArray.wrap(new Shape(1, img.height, img.width, 3), DType.UINT8, img.rgb);
    }

    /** One image as a batch of one: uint8 {@code [1, height, width, 3]}, RGB. */
    public static NDArray toNHWC(BufferedImage image) {
        return toNHWC(List.of(checked(image, 0)));
    }

    /**
     * Several images of one size as a batch: uint8 {@code [n, height, width, 3]}, RGB.
     *
     * @throws MxportException INVALID_ARGUMENT when the list is empty, holds null or images of different sizes
     */
    public static NDArray toNHWC(List<BufferedImage> images) {
        if (images == null || images.isEmpty()) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "need at least one image, got " + images);
        }
        BufferedImage first = checked(images.get(0), 0);
        int h = first.getHeight();
        int w = first.getWidth();
        long total = (long) images.size() * h * w * 3;
        if (total > Integer.MAX_VALUE) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    images.size() + " images of " + w + "x" + h + " exceed one Java array; pass fewer at a time");
        }
        byte[] out = new byte[(int) total];
        int[] row = new int[w];
        int o = 0;
        for (int n = 0; n < images.size(); n++) {
            BufferedImage img = checked(images.get(n), n);
            if (img.getWidth() != w || img.getHeight() != h) {
                throw new MxportException(
                        ErrorCode.INVALID_ARGUMENT,
                        "image " + n + " is " + img.getWidth() + "x" + img.getHeight() + " but image 0 is " + w + "x"
                                + h + ": a batch needs one size; resize first");
            }
            for (int y = 0; y < h; y++) {
                img.getRGB(0, y, w, 1, row, 0, w);
                for (int x = 0; x < w; x++) {
                    int p = row[x];
                    out[o++] = (byte) (p >> 16);
                    out[o++] = (byte) (p >> 8);
                    out[o++] = (byte) p;
                }
            }
        }
        return NDArray.wrap(new Shape(images.size(), h, w, 3), DType.UINT8, out);
    }

    private static BufferedImage checked(BufferedImage image, int index) {
        if (image == null) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "image " + index + " is null (ImageIO.read returns null" + " for a format it cannot read)");
        }
        return image;
    }

    private static MxportException tooLarge(String what, long width, long height, long maxPixels) {
        long limit = Math.min(maxPixels, MAX_PIXELS);
        return new MxportException(
                ErrorCode.INVALID_ARGUMENT,
                what + " is a " + width + "x" + height + " image, more" + " than " + limit + " pixels; shrink it"
                        + (maxPixels < MAX_PIXELS ? " or raise the limit" : ""));
    }

    private static final byte[] JPEG = {(byte) 0xFF, (byte) 0xD8, (byte) 0xFF};
    private static final byte[] PNG = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    /** Whether the bytes start with the signature OpenCV's JPEG or PNG decoder looks for: the formats decoded. */
    static boolean isJpegOrPng(byte[] b) {
        return startsWith(b, JPEG) || startsWith(b, PNG);
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        return b.length >= prefix.length && java.util.Arrays.equals(b, 0, prefix.length, prefix, 0, prefix.length);
    }

    /**
     * The width and height a PNG's IHDR or a JPEG's frame header declares, or null (another format, or no header):
     * MXNet allocates a JFIF JPEG's or a PNG's pixels from these numbers before decoding, so a tiny file can
     * declare a huge image. Only a guard for the pixel limit; the pixels always come from libmxnet.
     */
    static long[] declaredSize(byte[] b) {
        if (b.length >= 24 && (b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return new long[] {u32(b, 16), u32(b, 20)};
        }
        if (b.length < 4 || (b[0] & 0xFF) != 0xFF || (b[1] & 0xFF) != 0xD8) {
            return null;
        }
        int i = 2;
        while (i + 3 < b.length) {
            if ((b[i] & 0xFF) != 0xFF) {
                return null;
            }
            int marker = b[i + 1] & 0xFF;
            if (marker == 0xFF) { // fill byte
                i++;
                continue;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) { // no length
                i += 2;
                continue;
            }
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                return i + 8 < b.length ? new long[] {u16(b, i + 7), u16(b, i + 5)} : null;
            }
            i += 2 + u16(b, i + 2);
        }
        return null;
    }

    /**
     * The width and height libmxnet 1.9.1 itself reads (src/io/image_io.cc get_jpeg_size, get_png_size) and allocates
     * for before decoding a JFIF JPEG or a PNG, or null. Its JPEG walk differs from a JPEG reader's (no fill bytes, a
     * SOF-like marker anywhere in its path), so the pixel limit checks its answer too. It reads up to 9 bytes past the
     * end: the zeros of the padded buffer ({@link Mxnet#IMAGE_PADDING}).
     */
    static long[] mxnetDeclaredSize(byte[] encoded) {
        byte[] b = java.util.Arrays.copyOf(encoded, encoded.length + 16);
        int size = encoded.length;
        if ((b[0] & 0xFF) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G') {
            return new long[] {u32(b, 16), u32(b, 20)};
        }
        if ((b[0] & 0xFF) != 0xFF
                || (b[1] & 0xFF) != 0xD8
                || (b[2] & 0xFF) != 0xFF
                || (b[3] & 0xFF) != 0xE0
                || b[6] != 'J'
                || b[7] != 'F'
                || b[8] != 'I'
                || b[9] != 'F'
                || b[10] != 0) {
            return null;
        }
        long i = 4;
        int block = u16(b, 4);
        while (i < size) {
            i += block;
            if (i >= size || (b[(int) i] & 0xFF) != 0xFF) {
                return null;
            }
            int at = (int) i;
            int marker = b[at + 1] & 0xFF;
            if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
                return new long[] {u16(b, at + 7), u16(b, at + 5)};
            }
            i += 2;
            block = u16(b, (int) i);
        }
        return null;
    }

    private static int u16(byte[] b, int i) {
        return (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF);
    }

    private static long u32(byte[] b, int i) {
        return (long) u16(b, i) << 16 | u16(b, i + 2);
    }
}
