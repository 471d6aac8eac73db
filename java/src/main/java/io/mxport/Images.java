package io.mxport;

import java.awt.image.BufferedImage;
import java.util.List;

/**
 * Turns Java images into the uint8 NHWC batches that image models take (MXNet's image operators expect RGB).
 *
 * <pre>{@code
 * NDArray one = Images.toNHWC(ImageIO.read(new File("cat.jpg")));            // [1, H, W, 3]
 * NDArray two = Images.toNHWC(List.of(imageA, imageB));                     // [2, H, W, 3], same H and W
 * }</pre>
 *
 * Any {@link BufferedImage} type is accepted; pixels are read as sRGB through {@link BufferedImage#getRGB}, so
 * grayscale, indexed and BGR images come out as RGB. Alpha is dropped.
 */
public final class Images {
    private Images() {
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
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, images.size() + " images of " + w + "x" + h
                    + " exceed one Java array; pass fewer at a time");
        }
        byte[] out = new byte[(int) total];
        int[] row = new int[w];
        int o = 0;
        for (int n = 0; n < images.size(); n++) {
            BufferedImage img = checked(images.get(n), n);
            if (img.getWidth() != w || img.getHeight() != h) {
                throw new MxportException(ErrorCode.INVALID_ARGUMENT, "image " + n + " is " + img.getWidth() + "x"
                        + img.getHeight() + " but image 0 is " + w + "x" + h + ": a batch needs one size; resize first");
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
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "image " + index + " is null (ImageIO.read returns null"
                    + " for a format it cannot read)");
        }
        return image;
    }
}
