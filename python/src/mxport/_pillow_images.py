"""Decoding image files without libmxnet: Pillow (libjpeg-turbo, zlib), for the ONNX engines.

The rules are those of MXNet's decoder (spec/RUNTIME.md section 4), written out here where Pillow's own defaults
differ, so that only JPEG's inverse DCT can make a pixel differ from the reference (section 4, rule 11).
"""

import io
import re

import numpy as np
from PIL import JpegImagePlugin, PngImagePlugin

from ._errors import MxportError

_JPEG, _PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


def _jfif(data):
    """A JPEG whose first segment is JFIF APP0: MXNet decodes it ignoring its EXIF orientation (rule 2)."""
    return data[:4] == b"\xff\xd8\xff\xe0" and data[6:11] == b"JFIF\x00"


# the kinds every decoder without libmxnet refuses (section 4, rule 11), with the JVM's text, the fix spelled here
VERTICAL_ONLY = (
    "it is a JPEG with 4:4:0 chroma subsampling (halved vertically only), which other libjpeg builds upsample "
    "differently from libmxnet's (values up to 9 of 255 apart); decode it with {mxnet_decoder} (libmxnet), or save it "
    "again with 4:2:0 or 4:4:4 subsampling"
)
PROGRESSIVE_INCOMPLETE = (
    "it is a progressive JPEG cut short or damaged, whose missing part each libjpeg build smooths its own way "
    "(values up to 60 of 255 apart); decode it with {mxnet_decoder} (libmxnet), or give the whole, undamaged file"
)
MXNET_DECODER = 'decoder="mxnet"'

# a marker in entropy-coded data: 0xFF (and fill bytes) then neither a stuffed zero nor a restart marker
_MARKER_IN_SCAN = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")


def _vertically_subsampled_only(image):
    """4:4:0: a component at the frame's widest horizontal sampling but half its tallest vertical one (the SOF's
    sampling factors, as Pillow read them; Java's JpegMarkers.isVerticallySubsampledOnly)."""
    h_max = max(h for _, h, _, _ in image.layer)
    v_max = max(v for _, _, v, _ in image.layer)
    return any(h == h_max and v * 2 == v_max for _, h, v, _ in image.layer)


def _progression_incomplete(data):
    """Whether a progressive JPEG leaves a coefficient short of full precision at its end-of-image marker, which is
    when libjpeg smooths blocks: its bytes end before an EOI (cut short, even between two scans, where libjpeg, given
    the EOI mxport appends, does not warn), or its scans' spectral selection and successive approximation (Ss, Se,
    Ah, Al) do not take every coefficient of every component to Al = 0 in order (libjpeg's coef_bits, jdphuff.c).
    Bytes before a marker are skipped, as libjpeg skips them; a scan's entropy-coded data runs to the next marker
    that is neither a stuffed zero nor a restart. Java's JpegMarkers.isProgressionIncomplete."""
    bits = {}  # component id -> the precision each of its 64 coefficients has reached (-1: none yet)
    at = 2
    while True:
        at = data.find(b"\xff", at)
        while 0 <= at < len(data) and data[at] == 0xFF:
            at += 1
        if at < 0 or at >= len(data):
            return True
        marker = data[at]
        at += 1
        if marker == 0xD9:
            return not bits or any(b != 0 for component in bits.values() for b in component)
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:
            continue
        if at + 2 > len(data):
            return True
        length = (data[at] << 8) | data[at + 1]
        segment = data[at + 2 : at + length]
        if marker in (0xC2, 0xC6, 0xCA, 0xCE) and len(segment) >= 6:
            bits = {segment[6 + 3 * c]: [-1] * 64 for c in range(segment[5]) if 6 + 3 * c < len(segment)}
        elif marker == 0xDA:
            n = segment[0] if segment else 0
            if len(segment) < 4 + 2 * n:
                return True
            ss, se, ah, al = segment[1 + 2 * n], segment[2 + 2 * n], segment[3 + 2 * n] >> 4, segment[3 + 2 * n] & 15
            for c in range(n):
                component = bits.get(segment[1 + 2 * c])
                if component is None or ss > se or se > 63:
                    return True
                for k in range(ss, se + 1):
                    if component[k] != (-1 if ah == 0 else ah):
                        return True  # libjpeg warns: a bogus progression
                    component[k] = al
        at += length
        if marker == 0xDA:  # the scan's entropy-coded data runs to the next marker
            found = _MARKER_IN_SCAN.search(data, at)
            if found is None:
                return True
            at = found.start()


def _cmyk_to_rgb(cmyk):
    """OpenCV's CMYK conversion (icvCvt_CMYK2BGR_8u_C4C3R) of the samples as libjpeg gives them (an Adobe
    JPEG's inverted CMYK, which Pillow turns back): each channel is k - ((255 - c) * k >> 8)."""
    c = 255 - cmyk.astype(np.int32)
    k = c[..., 3:4]
    return (k - (((255 - c[..., :3]) * k) >> 8)).astype(np.uint8)


def _orient(pixels, orientation):
    """EXIF orientation 2-8 applied as OpenCV 3.4.2 applies it (ApplyExifOrientation)."""
    flips = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.transpose(1, 0, 2),
        6: lambda a: a.transpose(1, 0, 2)[:, ::-1],
        7: lambda a: a.transpose(1, 0, 2)[::-1, ::-1],
        8: lambda a: a.transpose(1, 0, 2)[::-1],
    }
    return np.ascontiguousarray(flips[orientation](pixels)) if orientation in flips else pixels


def decode(data, what, limit, too_large, damaged):
    """uint8 [1, H, W, 3] RGB (numpy) from JPEG or PNG bytes whose signature the caller checked. ``damaged`` gives
    the texts of MXNet's decoder for a failure: ``(png_header_damaged, damaged)`` (section 4, rules 7 and 10)."""
    # the plugin chosen by the signature, not Image.open: no other format, and no decompression-bomb check of
    # Pillow's own (process-wide; the caller's limit applies instead, before the pixels are allocated)
    plugin = JpegImagePlugin.JpegImageFile if data.startswith(_JPEG) else PngImagePlugin.PngImageFile
    try:
        # an end-of-image marker after the bytes: a truncated JPEG then decodes, its missing part as libjpeg
        # fills it (rule 2), as its own reader does at the end of a memory buffer; a complete JPEG ends before it
        opened = False
        image = plugin(io.BytesIO(data + b"\xff\xd9" if plugin is JpegImagePlugin.JpegImageFile else data))
        opened = True
        width, height = image.size
        if width * height > limit:
            raise too_large(what, width, height)
        if width < 1 or height < 1:
            raise ValueError("an image of no pixels")
        jpeg = plugin is JpegImagePlugin.JpegImageFile
        if jpeg and _vertically_subsampled_only(image):
            raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: {_refusal(VERTICAL_ONLY)}")
        image.load()
        # after the decode, as the JVM's decoder judges it: a file libjpeg cannot read is damaged, as for libmxnet
        if jpeg and image.info.get("progressive") and _progression_incomplete(data):
            raise MxportError(
                "INVALID_ARGUMENT", f"cannot decode {what} as an image: {_refusal(PROGRESSIVE_INCOMPLETE)}"
            )
        orientation = image.getexif().get(0x0112, 1) if plugin is JpegImagePlugin.JpegImageFile else 1
        pixels = _pixels(image)
    except MxportError:
        raise
    except Exception:  # noqa: BLE001 - Pillow's failures on bad bytes have many types
        png_header, other = damaged
        problem = png_header if plugin is PngImagePlugin.PngImageFile and not opened else other
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: {problem}") from None
    if plugin is JpegImagePlugin.JpegImageFile and not _jfif(data):
        pixels = _orient(pixels, orientation)
    return pixels[None]


def _refusal(text):
    """A JPEG kind on which libjpeg builds differ (section 4, rule 11), the fix spelled in Python. Pillow silences
    libjpeg's warnings, so a progressive file is judged by its markers alone (_progression_incomplete)."""
    return text.format(mxnet_decoder=MXNET_DECODER)


def _pixels(image):
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit gray: the high byte (v >> 8), as OpenCV
        gray = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "CMYK":
        return _cmyk_to_rgb(np.asarray(image))
    if mode in ("L", "LA", "1"):
        gray = np.asarray(image.getchannel(0) if mode == "LA" else image.convert("L"))
        return np.repeat(gray[..., None], 3, axis=2)
    if mode == "P":  # palette: expanded, its transparency dropped
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
        mode = image.mode
    if mode in ("RGBA", "RGBX", "RGB"):  # Pillow's 16-bit RGB(A) PNG modes already hold the high bytes
        return np.ascontiguousarray(np.asarray(image)[..., :3])
    return np.asarray(image.convert("RGB"))
