package io.mxport;

/** An image that a decoder ({@link ImageDecoder}, {@link ImageIoDecoder}) decoded, or why it could not. */
final class DecodedImage {
    final int height;
    final int width;
    /** RGB, uint8, HWC; null when {@link #problem} says why there is none. */
    final byte[] rgb;

    final String problem;
    /** True when the image decodes but has more pixels than allowed ({@link #height}, {@link #width} say). */
    final boolean tooLarge;

    /** Why a PNG whose header chunks libpng cannot read is refused (spec/RUNTIME.md section 4, rule 10). */
    static final String PNG_DAMAGED = "its PNG header is damaged (the chunks before its image data cannot be"
            + " read); give the whole, undamaged file, e.g. save it again with any image tool";

    /** Why a file the decoder cannot read is refused (rule 7). */
    static final String DAMAGED = "it cannot be decoded (it is damaged, cut short, or a JPEG or PNG"
            + " variant libjpeg or libpng does not read); give the whole, undamaged file, e.g. save it again with any"
            + " image tool";

    DecodedImage(int height, int width, byte[] rgb, String problem, boolean tooLarge) {
        this.height = height;
        this.width = width;
        this.rgb = rgb;
        this.problem = problem;
        this.tooLarge = tooLarge;
    }

    static DecodedImage failed(String problem) {
        return new DecodedImage(0, 0, null, problem, false);
    }
}
