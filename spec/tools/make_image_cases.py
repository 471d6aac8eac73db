"""Writes spec/image_cases: images over the pixel limit (spec/RUNTIME.md section 4), and some at it.

    python spec/tools/make_image_cases.py            # rewrites spec/image_cases (make vectors runs it)

Damaged files (a PNG whose header chunks libpng cannot read, JPEGs cut short) check that no runtime returns
pixels the decoder did not write. Every runtime decodes JPEG and PNG only, and refuses an image of more pixels (width x height) than the caller's limit, by default 715,827,879
(the most a Java array holds as RGB), as INVALID_ARGUMENT with one text; a JPEG's or PNG's size is read from its
header, before MXNet allocates for it. Each case is a file and the limit to decode it with (`max_pixels`, null:
the default); `cases.json` holds what Python's `mxport.decode_image` gives: the code and message (the file
named by its byte count, as `decode_image` and Java's `Images.decode(bytes, ...)` name bytes), or the decoded
shape and the pixels' SHA-256. Java's tests assert the same.

Where a decoder without libmxnet (Python's decoder="pillow", the JVM's Images.Decoder.IMAGEIO) gives another outcome
(the JPEG kinds it refuses, spec/RUNTIME.md section 4 rule 11), the case also holds `without_libmxnet`: the code and
message Pillow gives, with the fix's decoder written `{mxnet_decoder}` (each language spells it: decoder="mxnet",
Images.Decoder.MXNET).
"""

import hashlib
import io
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.join(HERE, "..", "..")
OUT = os.path.join(HERE, "..", "image_cases")


def png(width, height, rows=None):
    """An 8-bit RGB PNG; rows (bytes per row, without the filter byte) default to a gradient."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    rows = rows or [bytes((x * 3 + y + c * 40) % 256 for x in range(width) for c in range(3)) for y in range(height)]
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"".join(b"\0" + r for r in rows)))
        + chunk(b"IEND", b"")
    )


def bmp(width, height):
    """A 24-bit BMP (bottom-up, BGR rows padded to 4 bytes)."""
    row = (width * 3 + 3) // 4 * 4
    pixels = b"".join(
        bytes((x * 5 + y + c * 70) % 256 for x in range(width) for c in range(3)).ljust(row, b"\0")
        for y in range(height)
    )
    return (
        b"BM"
        + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
        + pixels
    )


def jpeg_claiming(width, height, marker=0xC0):
    """demo/cat.jpg's first 2 KB with its frame header (SOF0 at byte 158) rewritten: a JPEG that claims a size."""
    data = bytearray(open(os.path.join(REPO, "demo", "cat.jpg"), "rb").read()[:2048])
    assert data[158:160] == b"\xff\xc0"
    data[159] = marker
    struct.pack_into(">HH", data, 163, height, width)
    return bytes(data)


def png_claiming(width, height):
    """A small PNG whose IHDR claims another size (its CRC recomputed: only the size lies)."""
    data = bytearray(png(5, 4))
    struct.pack_into(">II", data, 16, width, height)
    struct.pack_into(">I", data, 29, zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def jfif_with_a_size_only_mxnet_reads():
    """demo/cat.jpg with, after its JFIF segment, a restart marker followed by two bytes that libmxnet's own header
    walk takes for a segment length (a JPEG reader does not: a restart marker has none), landing on a frame header
    that claims 65535x65535: the size libmxnet would allocate for."""
    cat = open(os.path.join(REPO, "demo", "cat.jpg"), "rb").read()
    assert cat[2:4] == b"\xff\xe0" and cat[4:6] == b"\x00\x10"
    fake = b"\xff\xd0\x00\x0a" + b"\x00" * 8 + b"\xff\xc0\x00\x11\x08\xff\xff\xff\xff"
    return cat[:20] + fake + cat[20:2048]


def png_damaged(kind):
    """png(83, 61) with a damaged header: its IDAT chunk renamed (libpng meets IEND before any image data), or its
    IHDR's CRC wrong. libmxnet sizes its output from the IHDR, OpenCV cannot read the header and writes nothing,
    and libmxnet 1.9.1 returns that buffer, unwritten, as the image: mxport refuses the file."""
    data = bytearray(png(83, 61))
    if kind == "idat_renamed":
        at = data.index(b"IDAT")
        data[at : at + 4] = b"iDAT"
    else:
        data[29] ^= 0xFF
    return bytes(data)


def cat_cut(end):
    """demo/cat.jpg (a JFIF baseline JPEG, 451x300; its scan data starts at byte 623) cut to its first end bytes."""
    cat = open(os.path.join(REPO, "demo", "cat.jpg"), "rb").read()
    assert cat[609:611] == b"\xff\xda" and end < len(cat)
    return cat[:end]


def cat_crop(**save):
    """A 96x64 crop of demo/cat.jpg (its face), written by Pillow (quality 90) with ``save``'s options."""
    from PIL import Image

    out = io.BytesIO()
    Image.open(os.path.join(REPO, "demo", "cat.jpg")).convert("RGB").crop((180, 60, 276, 124)).save(
        out, "JPEG", quality=90, **save
    )
    return out.getvalue()


def progressive_cut(where):
    """cat_crop written progressive (10 scans), cut inside its second scan or between two scans (before its sixth
    scan's header: no scan is cut, and libjpeg, given the EOI every runtime appends, does not warn)."""
    data = cat_crop(progressive=True)
    scans = [i for i in range(len(data) - 1) if data[i : i + 2] == b"\xff\xda"]
    assert len(scans) == 10
    return data[: scans[1] + 120] if where == "in_a_scan" else data[: scans[5]]


def progressive_short_of_full_precision():
    """cat_crop written progressive, whole, its last scan (luma AC 1-63, refined from bit 1 to bit 0) changed to
    refine 17-63 only: luma coefficients 1-16 end short of full precision, which libjpeg does not warn about and
    smooths over."""
    data = bytearray(cat_crop(progressive=True))
    last = data.rindex(b"\xff\xda")
    assert data[last + 4 : last + 10] == b"\x01\x01\x00\x01\x3f\x10"  # 1 component (id 1), Ss 1, Se 63, Ah 1 Al 0
    data[last + 7] = 17
    return bytes(data)


def vertically_subsampled_only():
    """cat_crop written 4:2:2 (luma 2x1 blocks per MCU), its luma sampling factors rewritten to 1x2: the same
    entropy-coded blocks read as a 4:4:0 JPEG (96 and 64 are multiples of 16: the MCU count is the same), its luma
    blocks rearranged."""
    data = bytearray(cat_crop(subsampling="4:2:2"))
    sof = data.index(b"\xff\xc0")
    assert data[sof + 10 : sof + 12] == b"\x01\x21"
    data[sof + 11] = 0x12
    return bytes(data)


def cases():
    yield "png_100000x100000.png", png_claiming(100000, 100000), None
    yield "png_2147483647x1.png", png_claiming(2**31 - 1, 1), None
    yield "png_4294967295x4294967295.png", png_claiming(2**32 - 1, 2**32 - 1), None
    yield "jpeg_65535x65535.jpg", jpeg_claiming(65535, 65535), None
    yield "jpeg_30000x30000.jpg", jpeg_claiming(30000, 30000), None
    yield "progressive_jpeg_60000x60000.jpg", jpeg_claiming(60000, 60000, 0xC2), None
    yield "arithmetic_jpeg_65535x20000.jpg", jpeg_claiming(65535, 20000, 0xC9), None
    yield "jpeg_451x300_limit_100000.jpg", jpeg_claiming(451, 300), 100000
    yield "jfif_65535x65535_in_mxnets_walk_only.jpg", jfif_with_a_size_only_mxnet_reads(), None
    yield "png_83x61_limit_5000.png", png(83, 61), 5000
    yield "png_83x61_at_limit.png", png(83, 61), 83 * 61
    yield "png_1x1_limit_1.png", png(1, 1), 1
    # JPEG and PNG only: other formats never reach libmxnet's decoders (SECURITY.md)
    yield "bmp_8x6.bmp", bmp(8, 6), None
    yield "tiff_header.tif", b"II*\x00\x08\x00\x00\x00" + bytes(64), None
    yield "gif_header.gif", b"GIF89a" + bytes(64), None
    yield "jpeg_soi_only.jpg", b"\xff\xd8\x00" + bytes(64), None
    # damaged files: never pixels the decoder did not write (spec/RUNTIME.md section 4, rules 9 and 10)
    yield "png_83x61_idat_renamed.png", png_damaged("idat_renamed"), None
    yield "png_83x61_ihdr_crc_wrong.png", png_damaged("ihdr_crc"), None
    yield "jfif_451x300_cut_before_its_scan.jpg", cat_cut(400), None
    yield "jfif_451x300_cut_in_its_first_rows.jpg", cat_cut(660), None
    yield "jfif_451x300_cut_halfway.jpg", cat_cut(12000), None
    # JPEG kinds libjpeg builds decode differently: libmxnet decodes them, a decoder without it refuses (rule 11)
    yield "progressive_96x64_cut_in_a_scan.jpg", progressive_cut("in_a_scan"), None
    yield "progressive_96x64_cut_between_scans.jpg", progressive_cut("between_scans"), None
    yield "progressive_96x64_short_of_full_precision.jpg", progressive_short_of_full_precision(), None
    yield "jpeg_96x64_440_subsampling.jpg", vertically_subsampled_only(), None


def main():
    sys.path.insert(0, os.path.join(REPO, "python", "src"))
    import mxport

    os.makedirs(OUT, exist_ok=True)
    for old in os.listdir(OUT):
        os.remove(os.path.join(OUT, old))
    index = []
    for name, data, max_pixels in cases():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        case = {"file": name, "max_pixels": max_pixels}
        try:
            pixels = mxport.decode_image(data, **({} if max_pixels is None else {"max_pixels": max_pixels}))
            case.update(
                code="OK", shape=list(pixels.shape), sha256=hashlib.sha256(pixels.asnumpy().tobytes()).hexdigest()
            )
        except mxport.MxportError as e:
            case.update(code=e.code, message=e.detail)
        try:
            mxport.decode_image(data, decoder="pillow", **({} if max_pixels is None else {"max_pixels": max_pixels}))
            without = {"code": "OK"}
        except mxport.MxportError as e:
            without = {"code": e.code, "message": e.detail}
        if without["code"] != case["code"] or without.get("message") != case.get("message"):
            if "message" in without:
                without["message"] = without["message"].replace('decoder="mxnet"', "{mxnet_decoder}")
            case["without_libmxnet"] = without
        index.append(case)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
