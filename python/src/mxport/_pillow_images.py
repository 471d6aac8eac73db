"""Decoding image files without libmxnet: Pillow (libjpeg-turbo, zlib), for the ONNX engines.

The rules are those of MXNet's decoder (spec/RUNTIME.md section 4), written out here where Pillow's own defaults
differ, so that only JPEG's inverse DCT can make a pixel differ from the reference (section 4, rule 11).
"""

import io

import numpy as np
from PIL import JpegImagePlugin, PngImagePlugin

from ._errors import MxportError

_JPEG, _PNG = b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"


def _jfif(data):
    """A JPEG whose first segment is JFIF APP0: MXNet decodes it ignoring its EXIF orientation (rule 2)."""
    return data[:4] == b"\xff\xd8\xff\xe0" and data[6:11] == b"JFIF\x00"


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
        image.load()
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
