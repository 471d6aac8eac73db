package io.mxport;

import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.util.Arrays;
import java.util.Iterator;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * Decodes JPEG and PNG without libmxnet: the JDK's own {@code javax.imageio} readers (its libjpeg, its zlib), the
 * rules of MXNet's decoder written out where the JDK's differ (spec/RUNTIME.md section 4, rules 11 and 12), so that
 * only libjpeg itself can make a value differ from libmxnet's. Pure Java: no libmxnet, no JNA.
 *
 * <p>A JPEG's samples are read as libjpeg stores them ({@code ImageReader.readRaster}: no colour conversion, no ICC
 * profile applied), then converted here with libjpeg's own integer tables (YCbCr to RGB, YCCK to CMYK) and OpenCV's
 * CMYK conversion; a PNG's samples come from the raster (never {@code getRGB}, which applies a gamma: rule 1).
 * {@link Images} has already checked the signature and the header's size.
 */
final class ImageIoDecoder {
    private static final String JPEG_READER = "com.sun.imageio.plugins.jpeg.JPEGImageReader";
    private static final String PNG_READER = "com.sun.imageio.plugins.png.PNGImageReader";
    private static final byte[] EOI = {(byte) 0xFF, (byte) 0xD9};

    private ImageIoDecoder() {}

    /** Decodes a JPEG or PNG whose signature the caller checked, refusing more than {@code maxPixels} pixels. */
    static DecodedImage decode(byte[] encoded, long maxPixels) {
        return (encoded[0] & 0xFF) == 0xFF ? jpeg(encoded, maxPixels) : png(encoded, maxPixels);
    }

    // ---- JPEG ----

    private static DecodedImage jpeg(byte[] encoded, long maxPixels) {
        // an end-of-image marker after the bytes: a truncated JPEG decodes, its missing part as libjpeg fills it
        // (rules 9 and 12); a whole file ends at its own EOI first
        byte[] data = Arrays.copyOf(encoded, encoded.length + EOI.length);
        System.arraycopy(EOI, 0, data, encoded.length, EOI.length);
        ImageReader reader = reader("jpeg", JPEG_READER);
        try {
            Size size = open(reader, data, maxPixels, DecodedImage.DAMAGED);
            if (size.outcome() != null) {
                return size.outcome();
            }
            int width = size.width();
            int height = size.height();
            if (JpegMarkers.isVerticallySubsampledOnly(encoded)) {
                return DecodedImage.failed(VERTICAL_ONLY);
            }
            boolean[] warned = {false}; // libjpeg's warnings: data missing or damaged, filled by libjpeg
            reader.addIIOReadWarningListener((source, warning) -> warned[0] = true);
            Raster raster;
            try {
                raster = reader.readRaster(0, null);
            } catch (Exception e) {
                return DecodedImage.failed(DecodedImage.DAMAGED);
            }
            // a baseline file cut short decodes as libjpeg fills it, the same in every libjpeg (rule 9); a progressive
            // one's missing scans are smoothed over, and each libjpeg build smooths its own way: refused when its
            // markers say so (cut short, even between scans; a progression short of full precision), as Pillow's,
            // or when libjpeg warns (damaged data, which each libjpeg recovers from its own way)
            if (JpegMarkers.isProgressive(encoded) && (warned[0] || JpegMarkers.isProgressionIncomplete(encoded))) {
                return DecodedImage.failed(PROGRESSIVE_INCOMPLETE);
            }
            if (width < 1 || height < 1 || raster.getWidth() != width || raster.getHeight() != height) {
                return DecodedImage.failed(DecodedImage.DAMAGED);
            }
            byte[] rgb = jpegToRgb(raster, JpegMarkers.colourSpace(encoded, raster.getNumBands()));
            if (rgb == null) {
                return DecodedImage.failed(DecodedImage.DAMAGED);
            }
            int orientation = JpegMarkers.isJfif(encoded) ? 1 : ExifOrientation.of(data); // what OpenCV reads
            return orient(rgb, height, width, orientation);
        } finally {
            reader.dispose();
        }
    }

    // the kinds every decoder without libmxnet refuses (spec/RUNTIME.md section 4, rule 11), in Python's words
    // (_pillow_images.py), the fix spelled in Java
    static final String VERTICAL_ONLY = "it is a JPEG with 4:4:0 chroma subsampling (halved vertically only), which"
            + " other libjpeg builds upsample differently from libmxnet's (values up to 9 of 255 apart); decode it with"
            + " Images.Decoder.MXNET (libmxnet), or save it again with 4:2:0 or 4:4:4 subsampling";

    static final String PROGRESSIVE_INCOMPLETE = "it is a progressive JPEG cut short or damaged, whose missing part"
            + " each libjpeg build smooths its own way (values up to 60 of 255 apart); decode it with"
            + " Images.Decoder.MXNET (libmxnet), or give the whole, undamaged file";

    private static final int SCALEBITS = 16;
    private static final int ONE_HALF = 1 << (SCALEBITS - 1);
    // libjpeg's jdcolor.c build_ycc_rgb_table, entry i for the sample value i
    private static final int[] CR_R = new int[256];
    private static final int[] CB_B = new int[256];
    private static final int[] CR_G = new int[256];
    private static final int[] CB_G = new int[256];

    static {
        for (int i = 0; i < 256; i++) {
            int x = i - 128;
            CR_R[i] = (fix(1.40200) * x + ONE_HALF) >> SCALEBITS;
            CB_B[i] = (fix(1.77200) * x + ONE_HALF) >> SCALEBITS;
            CR_G[i] = -fix(0.71414) * x;
            CB_G[i] = -fix(0.34414) * x + ONE_HALF;
        }
    }

    private static int fix(double x) {
        return (int) (x * (1 << SCALEBITS) + 0.5);
    }

    private static int clamp(int v) {
        return v < 0 ? 0 : Math.min(v, 255);
    }

    /**
     * RGB from libjpeg's stored samples: gray as R=G=B, YCbCr through libjpeg's tables (what its RGB output gives),
     * RGB as stored, CMYK (YCCK first turned into CMYK as libjpeg does) through OpenCV's conversion. Null for a
     * colour space OpenCV does not decode.
     */
    private static byte[] jpegToRgb(Raster raster, JpegMarkers.ColourSpace space) {
        int w = raster.getWidth();
        int h = raster.getHeight();
        int bands = raster.getNumBands();
        if (space == null || raster.getTransferType() != DataBuffer.TYPE_BYTE) {
            return null;
        }
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int[] row = new int[w * bands];
        int o = 0;
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0, i = 0; x < w; x++, i += bands) {
                int r;
                int g;
                int b;
                switch (space) {
                    case GRAY:
                        r = g = b = row[i];
                        break;
                    case RGB:
                        r = row[i];
                        g = row[i + 1];
                        b = row[i + 2];
                        break;
                    case YCBCR:
                        r = clamp(row[i] + CR_R[row[i + 2]]);
                        g = clamp(row[i] + ((CB_G[row[i + 1]] + CR_G[row[i + 2]]) >> SCALEBITS));
                        b = clamp(row[i] + CB_B[row[i + 1]]);
                        break;
                    default: { // CMYK, YCCK: the samples as libjpeg gives them (an Adobe file's inverted ones)
                        int c = row[i];
                        int m = row[i + 1];
                        int yy = row[i + 2];
                        if (space == JpegMarkers.ColourSpace.YCCK) { // jdcolor.c ycck_cmyk_convert
                            c = clamp(255 - (row[i] + CR_R[row[i + 2]]));
                            m = clamp(255 - (row[i] + ((CB_G[row[i + 1]] + CR_G[row[i + 2]]) >> SCALEBITS)));
                            yy = clamp(255 - (row[i] + CB_B[row[i + 1]]));
                        }
                        int k = row[i + 3]; // OpenCV's icvCvt_CMYK2BGR_8u_C4C3R
                        r = k - ((255 - c) * k >> 8);
                        g = k - ((255 - m) * k >> 8);
                        b = k - ((255 - yy) * k >> 8);
                    }
                }
                out[o++] = (byte) r;
                out[o++] = (byte) g;
                out[o++] = (byte) b;
            }
        }
        return out;
    }

    /** EXIF orientation 2-8 applied as OpenCV 3.4.2 applies it (ApplyExifOrientation); others leave the image. */
    static DecodedImage orient(byte[] rgb, int h, int w, int orientation) {
        if (orientation < 2 || orientation > 8) {
            return new DecodedImage(h, w, rgb, null, false);
        }
        boolean turned = orientation >= 5;
        int oh = turned ? w : h;
        int ow = turned ? h : w;
        byte[] out = new byte[rgb.length];
        int o = 0;
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sy;
                int sx;
                switch (orientation) {
                    case 2:
                        sy = y;
                        sx = w - 1 - x;
                        break;
                    case 3:
                        sy = h - 1 - y;
                        sx = w - 1 - x;
                        break;
                    case 4:
                        sy = h - 1 - y;
                        sx = x;
                        break;
                    case 5:
                        sy = x;
                        sx = y;
                        break;
                    case 6:
                        sy = h - 1 - x;
                        sx = y;
                        break;
                    case 7:
                        sy = h - 1 - x;
                        sx = w - 1 - y;
                        break;
                    default:
                        sy = x;
                        sx = w - 1 - y;
                        break; // 8
                }
                int s = (sy * w + sx) * 3;
                out[o++] = rgb[s];
                out[o++] = rgb[s + 1];
                out[o++] = rgb[s + 2];
            }
        }
        return new DecodedImage(oh, ow, out, null, false);
    }

    // ---- PNG ----

    private static DecodedImage png(byte[] encoded, long maxPixels) {
        String chunks = pngChunkProblem(encoded);
        if (chunks != null) {
            return DecodedImage.failed(chunks);
        }
        ImageReader reader = reader("png", PNG_READER);
        try {
            Size size = open(reader, encoded, maxPixels, DecodedImage.PNG_DAMAGED);
            if (size.outcome() != null) {
                return size.outcome();
            }
            int width = size.width();
            int height = size.height();
            BufferedImage image;
            try {
                image = reader.read(0);
            } catch (Exception e) {
                return DecodedImage.failed(DecodedImage.DAMAGED);
            }
            if (width < 1 || height < 1 || image.getWidth() != width || image.getHeight() != height) {
                return DecodedImage.failed(DecodedImage.DAMAGED);
            }
            return new DecodedImage(height, width, pngToRgb(image), null, false);
        } finally {
            reader.dispose();
        }
    }

    /**
     * What libpng refuses that the JDK's reader reads: a critical chunk whose CRC is wrong, one libpng does not know
     * or a second IHDR (anywhere), the end before image data, no image data at all (libpng reads on to IEND after
     * the image data; a PLTE after it is only a warning). Null when the chunks are sound.
     */
    static String pngChunkProblem(byte[] b) {
        long i = 8;
        boolean data = false;
        CRC32 crc = new CRC32();
        while (i + 8 <= b.length) {
            int at = (int) i;
            long length = (long) (b[at] & 0xFF) << 24
                    | (b[at + 1] & 0xFF) << 16
                    | (b[at + 2] & 0xFF) << 8
                    | (b[at + 3] & 0xFF);
            String type = new String(b, at + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            boolean critical = (b[at + 4] & 0x20) == 0;
            boolean idat = type.equals("IDAT");
            boolean known = idat || type.equals("PLTE") || type.equals("IEND") || type.equals("IHDR") && i == 8;
            if (critical && !known || !data && type.equals("IEND")) { // an unknown one, IHDR again, IEND before data
                return data ? DecodedImage.DAMAGED : DecodedImage.PNG_DAMAGED;
            }
            if (length > Integer.MAX_VALUE || i + 12 + length > b.length) {
                return data || idat ? DecodedImage.DAMAGED : DecodedImage.PNG_DAMAGED;
            }
            if (critical) {
                crc.reset();
                crc.update(b, at + 4, (int) length + 4);
                int end = at + 8 + (int) length;
                long stored = (long) (b[end] & 0xFF) << 24
                        | (b[end + 1] & 0xFF) << 16
                        | (b[end + 2] & 0xFF) << 8
                        | (b[end + 3] & 0xFF);
                if (crc.getValue() != stored) {
                    return data || idat ? DecodedImage.DAMAGED : DecodedImage.PNG_DAMAGED;
                }
            }
            data |= idat;
            if (type.equals("IEND")) {
                return null;
            }
            i += 12 + length;
        }
        return data ? DecodedImage.DAMAGED : DecodedImage.PNG_DAMAGED;
    }

    /**
     * RGB from a PNG's raster: gray as R=G=B, alpha dropped (not blended), a palette (and a gray of 1, 2 or 4 bits,
     * which the JDK reads as a palette of libpng's expanded grays) expanded, 16-bit samples' high byte.
     */
    private static byte[] pngToRgb(BufferedImage image) {
        Raster raster = image.getRaster();
        int w = raster.getWidth();
        int h = raster.getHeight();
        int bands = raster.getNumBands();
        IndexColorModel palette =
                image.getColorModel() instanceof IndexColorModel ? (IndexColorModel) image.getColorModel() : null;
        int shift = raster.getTransferType() == DataBuffer.TYPE_USHORT ? 8 : 0;
        byte[] out = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int[] row = new int[w * bands];
        int o = 0;
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0, i = 0; x < w; x++, i += bands) {
                if (palette != null) {
                    int p = row[i];
                    out[o++] = (byte) palette.getRed(p);
                    out[o++] = (byte) palette.getGreen(p);
                    out[o++] = (byte) palette.getBlue(p);
                } else if (bands < 3) {
                    byte v = (byte) (row[i] >> shift);
                    out[o++] = v;
                    out[o++] = v;
                    out[o++] = v;
                } else {
                    out[o++] = (byte) (row[i] >> shift);
                    out[o++] = (byte) (row[i + 1] >> shift);
                    out[o++] = (byte) (row[i + 2] >> shift);
                }
            }
        }
        return out;
    }

    // ---- the JDK's readers ----

    /** An image's size as its header gives it, or the outcome already known ({@code outcome} not null). */
    private record Size(int width, int height, DecodedImage outcome) {}

    /**
     * Sets {@code reader} on {@code data} and reads the size: {@code unreadable} when the header cannot be read, too
     * large (with the size) when over {@code maxPixels}, else the size with no outcome yet.
     */
    private static Size open(ImageReader reader, byte[] data, long maxPixels, String unreadable) {
        reader.setInput(new MemoryCacheImageInputStream(new ByteArrayInputStream(data)), true, true);
        int width;
        int height;
        try {
            width = reader.getWidth(0);
            height = reader.getHeight(0);
        } catch (Exception e) { // the JDK's failures on bad bytes have many types
            return new Size(0, 0, DecodedImage.failed(unreadable));
        }
        if ((long) width * height > maxPixels) {
            return new Size(width, height, new DecodedImage(height, width, null, null, true));
        }
        return new Size(width, height, null);
    }

    /** The JDK's own reader of a format, never another registered plugin (its conversions would differ). */
    private static ImageReader reader(String format, String className) {
        for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName(format); it.hasNext(); ) {
            ImageReader r = it.next();
            if (r.getClass().getName().equals(className)) {
                return r;
            }
            r.dispose();
        }
        throw new MxportException(
                ErrorCode.INVALID_ARGUMENT,
                "this JDK has no " + className + " (javax.imageio's " + format + " reader), which"
                        + " Images.Decoder.IMAGEIO decodes with; use Images.Decoder.MXNET (libmxnet) or a JDK with the"
                        + " java.desktop module");
    }
}
