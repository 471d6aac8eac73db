package io.mxport;

import java.util.HashMap;
import java.util.Map;

/**
 * A JPEG's EXIF orientation as OpenCV 3.4.2 reads it (imgcodecs exif.cpp, ExifReader, run by imdecode on the bytes
 * libmxnet gives it), so that {@link ImageIoDecoder} turns exactly the images libmxnet turns. Its reading differs
 * from the EXIF standard's and from Pillow's: the first APP1 segment is taken whatever it holds (no {@code Exif}
 * check), a byte order other than {@code II} is read as big-endian, the walk reads on into the scan, and any entry
 * of IFD0 it cannot read (an offset out of bounds) drops every tag.
 */
final class ExifOrientation {
    private final byte[] data;
    private final boolean intel;

    private ExifOrientation(byte[] data) {
        this.data = data;
        this.intel = data.length >= 1 && (data.length == 1 || data[0] == data[1]) && data[0] == 'I';
    }

    /** Thrown where OpenCV throws ExifParsingError: the image then keeps its orientation. */
    private static final class Unreadable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreadable() {
            super(null, null, false, false);
        }
    }

    /** The orientation (1-8, or another value OpenCV ignores) of {@code jpeg}, the bytes OpenCV is given; 1 if none. */
    static int of(byte[] jpeg) {
        try {
            byte[] tiff = app1(jpeg);
            if (tiff == null) {
                return 1;
            }
            Map<Integer, Integer> tags = new ExifOrientation(tiff).entries();
            Integer orientation = tags.get(0x0112);
            return orientation == null ? 1 : orientation;
        } catch (Unreadable e) {
            return 1;
        }
    }

    /** ExifReader::getExif: the first APP1's bytes from 6 past its length field, or null when the walk finds none. */
    private static byte[] app1(byte[] b) throws Unreadable {
        int at = 0;
        while (at < b.length) { // !m_stream.eof()
            if (at + 2 > b.length) {
                return null;
            }
            int marker = b[at + 1] & 0xFF; // the first byte of the pair is not looked at
            at += 2;
            if (marker == 0xD8 || marker == 0xD9) {
                continue;
            }
            boolean skipped = marker == 0xC0
                    || marker == 0xC2
                    || marker == 0xC4
                    || marker == 0xDB
                    || marker == 0xDD
                    || marker == 0xDA
                    || (marker >= 0xD0 && marker <= 0xD7)
                    || marker == 0xE0
                    || (marker >= 0xE2 && marker <= 0xEF)
                    || marker == 0xFE;
            if (!skipped && marker != 0xE1) {
                return null;
            }
            int size = at + 2 <= b.length ? (b[at] & 0xFF) << 8 | (b[at + 1] & 0xFF) : 0;
            at = Math.min(at + 2, b.length);
            if (skipped) {
                if (size < 2 || at + size - 2 > b.length) { // a seek past the end fails
                    throw new Unreadable();
                }
                at += size - 2;
                continue;
            }
            if (size <= 6 || at + 6 > b.length) {
                throw new Unreadable();
            }
            byte[] tiff = new byte[size - 6]; // zeros where the bytes end
            System.arraycopy(b, at + 6, tiff, 0, Math.max(0, Math.min(tiff.length, b.length - at - 6)));
            return tiff;
        }
        return null;
    }

    /** ExifReader::parseExif: IFD0's entries of the tags OpenCV knows, the first of each; empty without the mark. */
    private Map<Integer, Integer> entries() throws Unreadable {
        Map<Integer, Integer> out = new HashMap<>();
        if (u16(2) != 0x2A) {
            return out;
        }
        long offset = u32(4);
        long count = u16(offset);
        offset = (offset + 2) & 0xFFFFFFFFL;
        for (long e = 0; e < count; e++) {
            int tag = entry(offset);
            out.putIfAbsent(tag, tag == 0x0112 ? u16(offset + 8) : 0);
            offset = (offset + 12) & 0xFFFFFFFFL;
        }
        return out;
    }

    /** ExifReader::parseExifEntry: reads what OpenCV reads of one entry (and fails where it fails); its tag. */
    private int entry(long offset) throws Unreadable {
        int tag = u16(offset);
        switch (tag) {
            case 0x010E: // image description, make, model, software, date and time, copyright: strings
            case 0x010F:
            case 0x0110:
            case 0x0131:
            case 0x0132:
            case 0x8298: {
                long size = u32(offset + 4);
                long dataOffset = size > 4 ? u32(offset + 8) : 8;
                if (dataOffset > data.length || dataOffset + size > data.length) {
                    throw new Unreadable();
                }
                return tag;
            }
            case 0x0112: // orientation, resolution unit, YCbCr positioning: a short
            case 0x0128:
            case 0x0213:
                u16(offset + 8);
                return tag;
            case 0x011A: // resolutions, white point, primaries, YCbCr coefficients, reference black and white
            case 0x011B:
                rationals(u32(offset + 8), 1);
                return tag;
            case 0x013E:
                rationals(u32(offset + 8), 2);
                return tag;
            case 0x013F:
            case 0x0214:
                rationals(u32(offset + 8), 6);
                return tag;
            case 0x0211:
                rationals(u32(offset + 8), 3);
                return tag;
            case 0x8769: // EXIF sub-IFD offset: not read
                return tag;
            default:
                return 0xFFFF;
        }
    }

    private void rationals(long offset, int count) throws Unreadable {
        for (int i = 0; i < count; i++) {
            u32(offset);
            u32(offset + 4);
            offset = (offset + 8) & 0xFFFFFFFFL;
        }
    }

    private int u16(long offset) throws Unreadable {
        if (offset + 1 >= data.length) {
            throw new Unreadable();
        }
        int a = data[(int) offset] & 0xFF;
        int b = data[(int) offset + 1] & 0xFF;
        return intel ? a | b << 8 : a << 8 | b;
    }

    private long u32(long offset) throws Unreadable {
        if (offset + 3 >= data.length) {
            throw new Unreadable();
        }
        long hi = u16(intel ? offset + 2 : offset);
        long lo = u16(intel ? offset : offset + 2);
        return hi << 16 | lo;
    }
}
