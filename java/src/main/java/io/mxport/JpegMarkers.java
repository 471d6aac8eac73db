package io.mxport;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What a JPEG's markers before its scan say, read as libjpeg reads them: its colour space (jdapimin.c
 * default_decompress_parms), whether it is JFIF, whether it is 4:4:0. {@link ImageIoDecoder} converts libjpeg's
 * stored samples with these answers, as libjpeg and OpenCV inside libmxnet would.
 */
final class JpegMarkers {
    private JpegMarkers() {}

    /** The colour spaces libjpeg stores a JPEG's samples in. */
    enum ColourSpace {
        GRAY,
        YCBCR,
        RGB,
        CMYK,
        YCCK
    }

    /**
     * Whether the bytes are a JPEG whose first segment is JFIF APP0 (bytes 6-10 {@code JFIF\0}), as libmxnet's
     * get_jpeg_size reads them: MXNet then decodes into a buffer of its own sizing and ignores EXIF orientation.
     */
    static boolean isJfif(byte[] b) {
        return b.length >= 11
                && (b[0] & 0xFF) == 0xFF
                && (b[1] & 0xFF) == 0xD8
                && (b[2] & 0xFF) == 0xFF
                && (b[3] & 0xFF) == 0xE0
                && b[6] == 'J'
                && b[7] == 'F'
                && b[8] == 'I'
                && b[9] == 'F'
                && b[10] == 0;
    }

    /**
     * libjpeg's colour space for a JPEG of {@code components} components: a JFIF or Adobe marker decides, else the
     * component ids (1, 2, 3: YCbCr; 'R', 'G', 'B': RGB). Null for a count OpenCV does not turn into RGB.
     */
    static ColourSpace colourSpace(byte[] b, int components) {
        boolean jfif = false;
        int adobeTransform = -1;
        int[] ids = null;
        for (int[] segment : headerSegments(b)) {
            int marker = segment[0];
            int data = segment[1];
            int dataLength = Math.min(segment[2] - 2, b.length - data);
            if (marker == 0xE0 && dataLength >= 14 && text(b, data, "JFIF\0")) {
                jfif = true;
            } else if (marker == 0xEE && dataLength >= 12 && text(b, data, "Adobe")) {
                adobeTransform = b[data + 11] & 0xFF;
            } else if (isFrame(marker) && dataLength >= 6) {
                ids = frameComponents(b, data, 0);
            }
        }
        switch (components) {
            case 1:
                return ColourSpace.GRAY;
            case 3:
                if (jfif) {
                    return ColourSpace.YCBCR;
                }
                if (adobeTransform >= 0) {
                    return adobeTransform == 0 ? ColourSpace.RGB : ColourSpace.YCBCR;
                }
                return ids != null && ids.length == 3 && ids[0] == 'R' && ids[1] == 'G' && ids[2] == 'B'
                        ? ColourSpace.RGB
                        : ColourSpace.YCBCR;
            case 4:
                return adobeTransform < 0 || adobeTransform == 0 ? ColourSpace.CMYK : ColourSpace.YCCK;
            default:
                return null;
        }
    }

    /** Whether the frame header is a progressive one (SOF2, SOF6, SOF10, SOF14). */
    static boolean isProgressive(byte[] b) {
        int marker = frameMarker(b);
        return marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE;
    }

    /**
     * Whether a progressive JPEG leaves a coefficient short of full precision at its end-of-image marker, which is
     * when libjpeg smooths blocks: its bytes end before an EOI (cut short, even between two scans, where libjpeg,
     * given the EOI the decoders append, does not warn), or its scans' spectral selection and successive
     * approximation (Ss, Se, Ah, Al) do not take every coefficient of every component to Al = 0 in order (libjpeg's
     * coef_bits, jdphuff.c). Bytes before a marker are skipped, as libjpeg skips them; a scan's entropy-coded data
     * runs to the next marker that is neither a stuffed zero nor a restart. Python's
     * {@code _pillow_images._progression_incomplete}.
     */
    static boolean isProgressionIncomplete(byte[] b) {
        java.util.Map<Integer, int[]> bits = new java.util.HashMap<>(); // component id -> each coefficient's precision
        int i = 2;
        while (true) {
            while (i < b.length && (b[i] & 0xFF) != 0xFF) {
                i++;
            }
            while (i < b.length && (b[i] & 0xFF) == 0xFF) {
                i++;
            }
            if (i >= b.length) {
                return true;
            }
            int marker = b[i++] & 0xFF;
            if (marker == 0xD9) {
                return bits.isEmpty()
                        || bits.values().stream().flatMapToInt(Arrays::stream).anyMatch(v -> v != 0);
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
                continue;
            }
            if (i + 2 > b.length) {
                return true;
            }
            int length = u16(b, i);
            int data = i + 2;
            int end = Math.min(i + length, b.length);
            if ((marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE) && data + 6 <= end) {
                bits.clear();
                for (int c = 0; c < (b[data + 5] & 0xFF) && data + 6 + 3 * c < end; c++) {
                    int[] precision = new int[64];
                    Arrays.fill(precision, -1);
                    bits.put(b[data + 6 + 3 * c] & 0xFF, precision);
                }
            } else if (marker == 0xDA) {
                int n = data < end ? b[data] & 0xFF : 0;
                if (data + 4 + 2 * n > end) {
                    return true;
                }
                int ss = b[data + 1 + 2 * n] & 0xFF;
                int se = b[data + 2 + 2 * n] & 0xFF;
                int ah = (b[data + 3 + 2 * n] & 0xFF) >> 4;
                int al = b[data + 3 + 2 * n] & 0x0F;
                for (int c = 0; c < n; c++) {
                    int[] precision = bits.get(b[data + 1 + 2 * c] & 0xFF);
                    if (precision == null || ss > se || se > 63) {
                        return true;
                    }
                    for (int k = ss; k <= se; k++) {
                        if (precision[k] != (ah == 0 ? -1 : ah)) {
                            return true; // libjpeg warns: a bogus progression
                        }
                        precision[k] = al;
                    }
                }
            }
            i += length;
            if (marker == 0xDA) { // the scan's entropy-coded data runs to the next marker
                i = markerInScan(b, i);
            }
        }
    }

    /** Where the first marker at or after {@code i} starts (its first 0xFF), or the length: the scan's end. */
    private static int markerInScan(byte[] b, int i) {
        for (; i < b.length; i++) {
            if ((b[i] & 0xFF) != 0xFF) {
                continue;
            }
            int j = i + 1;
            while (j < b.length && (b[j] & 0xFF) == 0xFF) {
                j++;
            }
            if (j < b.length) {
                int next = b[j] & 0xFF;
                if (next != 0x00 && (next < 0xD0 || next > 0xD7)) {
                    return i;
                }
            }
            i = j;
        }
        return b.length;
    }

    /** The first frame header's marker (SOFn) before the scan, or -1. */
    private static int frameMarker(byte[] b) {
        for (int[] segment : headerSegments(b)) {
            if (isFrame(segment[0])) {
                return segment[0];
            }
        }
        return -1;
    }

    /**
     * Whether a component is subsampled vertically only, by two (4:4:0): libjpeg-turbo 2.0.2 (libmxnet's) upsamples
     * it with its own h1v2 filter, IJG libjpeg 6b replicates rows and later libjpeg-turbo releases round differently,
     * so no other libjpeg gives libmxnet's values for it.
     */
    static boolean isVerticallySubsampledOnly(byte[] b) {
        for (int[] segment : headerSegments(b)) {
            if (isFrame(segment[0]) && segment[2] >= 8) {
                int[] h = frameComponents(b, segment[1], 1);
                int[] v = frameComponents(b, segment[1], 2);
                int hMax = Arrays.stream(h).max().orElse(0);
                int vMax = Arrays.stream(v).max().orElse(0);
                for (int c = 0; c < h.length; c++) {
                    if (h[c] == hMax && v[c] * 2 == vMax) {
                        return true;
                    }
                }
                return false;
            }
        }
        return false;
    }

    /**
     * The segments before the first scan (SOS) or EOI, walked as libjpeg's marker reader walks them: each as {marker,
     * the offset of its data, its length field}; fill bytes and markers without parameters skipped, the walk ending
     * at a byte that starts no marker.
     */
    private static List<int[]> headerSegments(byte[] b) {
        List<int[]> segments = new ArrayList<>();
        for (int i = 2; i + 4 <= b.length; ) {
            if ((b[i] & 0xFF) != 0xFF) {
                break;
            }
            int marker = b[i + 1] & 0xFF;
            if (marker == 0xFF) {
                i++;
                continue;
            }
            if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {
                i += 2;
                continue;
            }
            if (marker == 0xDA || marker == 0xD9) {
                break;
            }
            int length = u16(b, i + 2);
            segments.add(new int[] {marker, i + 4, length});
            i += 2 + length;
        }
        return segments;
    }

    /** Per component of the frame header whose data starts at {@code data}: its id (0), H (1) or V (2) factor. */
    private static int[] frameComponents(byte[] b, int data, int what) {
        int n = data + 5 < b.length ? b[data + 5] & 0xFF : 0;
        int[] out = new int[n];
        for (int c = 0; c < n && data + 7 + 3 * c < b.length; c++) {
            int at = data + 6 + 3 * c;
            out[c] = what == 0 ? b[at] & 0xFF : what == 1 ? (b[at + 1] & 0xFF) >> 4 : b[at + 1] & 0x0F;
        }
        return out;
    }

    private static boolean isFrame(int marker) {
        return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
    }

    private static boolean text(byte[] b, int at, String s) {
        if (at + s.length() > b.length) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (b[at + i] != (byte) s.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    private static int u16(byte[] b, int i) {
        return i + 1 < b.length ? (b[i] & 0xFF) << 8 | (b[i + 1] & 0xFF) : 0;
    }
}
