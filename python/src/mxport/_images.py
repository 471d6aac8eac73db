"""Decoding image files into the uint8 NHWC batches image models take, as every mxport language does.

The decoder is libmxnet's own ``_cvimdecode`` operator (OpenCV inside libmxnet.so), the one ``mx.image.imdecode``
runs; Java's ``io.mxport.Images.read`` calls the same operator through the C API, so a file gives the same
pixels in Python, Java, Scala and Spark (spec/RUNTIME.md section 4). ``decoder="pillow"`` decodes without
libmxnet, for the ONNX engines, by the same rules (section 4, rules 11-12).
"""

import os

from . import _threads
from ._errors import MxportError, native_message

_FIX = "give a JPEG or PNG (what OpenCV inside libmxnet reads), e.g. convert it with any image tool"
# The largest image read_image and decode_image take by default: 715,827,879 pixels (Java's Images.MAX_PIXELS,
# the most a Java array holds as RGB); the same limit and text in every language (spec/RUNTIME.md section 4)
MAX_PIXELS = (2**31 - 1 - 8) // 3
# The formats decoded: JPEG and PNG, by the signatures OpenCV's own decoders look for; other bytes never reach
# libmxnet (its TIFF, BMP and other decoders are old and rarely exercised; SECURITY.md)
_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


def read_image(path, max_pixels=MAX_PIXELS, decoder=None):
    """Read and decode an image file into uint8 ``[1, height, width, 3]``, RGB (an ``mx.nd.NDArray``).

    >>> pixels = mxport.read_image("images/cat.jpg")         # uint8 (1, 300, 451, 3); Java's Images.read: same bytes
    >>> pixels = mxport.read_image("images/cat.jpg", decoder="pillow")  # a numpy array, decoded without libmxnet

    JPEG and PNG only. Grayscale becomes R=G=B, alpha is dropped (not blended), 16-bit samples keep their high
    byte, CMYK JPEG is converted by OpenCV; a truncated JPEG decodes (its missing part as libjpeg fills it); a PNG
    whose header chunks libpng cannot read is refused (libmxnet would return memory it never wrote).

    ``decoder="mxnet"`` (the default where MXNet is installed, and the reference) runs libmxnet's OpenCV;
    ``decoder="pillow"`` (the default where MXNet is not installed, spec/RUNTIME.md section 8) runs Pillow
    (libjpeg-turbo, zlib: ``pip install pillow``) by the same rules and returns a ``numpy.ndarray``, for models
    loaded with ``engine="onnxruntime"`` or ``"openvino"``. Both gave the same bytes on every file of the image
    corpus; a truncated JPEG is filled as libjpeg fills it (spec/RUNTIME.md section 4, rules 9 and 11). Pillow,
    like the JVM's decoder without libmxnet, refuses the JPEG kinds libjpeg builds decode differently, naming
    ``decoder="mxnet"`` as the fix: 4:4:0 chroma subsampling, and a progressive JPEG cut short or short of full
    precision (rule 11).

    Raises
    ------
    MxportError
        ``INVALID_ARGUMENT`` naming the file when it cannot be read, is not a JPEG or PNG libmxnet decodes, or has
        more than ``max_pixels`` pixels (width x height; refused from its header, before MXNet allocates, for a
        JPEG or PNG).
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MxportError(
            "INVALID_ARGUMENT", f"cannot read the image file {path} ({e}); give the path of a readable JPEG or PNG file"
        ) from None
    return _decode(data, path, max_pixels, decoder)


def decode_image(data, max_pixels=MAX_PIXELS, decoder=None):
    """Decode an encoded image (the bytes of a JPEG or PNG file) into uint8 ``[1, height, width, 3]``, RGB.

    >>> with open("images/cat.jpg", "rb") as f:
    ...     data = f.read()
    >>> pixels = mxport.decode_image(data)                     # uint8 (1, 300, 451, 3)
    >>> pixels = mxport.decode_image(data, max_pixels=200_000)  # more pixels: refused from the header
    >>> pixels = mxport.decode_image(data, decoder="pillow")   # numpy uint8 (1, 300, 451, 3), without libmxnet

    The pixels of ``mx.image.imdecode(data, flag=1, to_rgb=1)`` for a whole file, with errors as ``MxportError``
    (see ``read_image``, also for ``decoder``; the message names the byte count). A damaged file never gives pixels the decoder did not
    write (spec/RUNTIME.md section 4).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image takes bytes, got {type(data).__name__}")
    return _decode(bytes(data), f"{len(data)} bytes", max_pixels, decoder)


# MXNet's JPEG and PNG header readers look up to 24 bytes past the end of the bytes they are given
_PADDING = 32


def _too_large(what, width, height, max_pixels):
    limit = min(max_pixels, MAX_PIXELS)
    return MxportError(
        "INVALID_ARGUMENT",
        f"{what} is a {width}x{height} image, more than {limit} pixels; shrink it"
        + (" or raise the limit" if max_pixels < MAX_PIXELS else ""),
    )


def declared_size(b):
    """The (width, height) a PNG's IHDR or a JPEG's frame header declares, or None (another format, or no header):
    MXNet allocates a JFIF JPEG's or a PNG's pixels from these numbers before decoding, so a tiny file can declare
    a huge image. Only a guard for the pixel limit (Java's Images.declaredSize reads the same bytes)."""
    if len(b) >= 24 and b[:4] == b"\x89PNG":
        return int.from_bytes(b[16:20], "big"), int.from_bytes(b[20:24], "big")
    if len(b) < 4 or b[0] != 0xFF or b[1] != 0xD8:
        return None
    i = 2
    while i + 3 < len(b):
        if b[i] != 0xFF:
            return None
        marker = b[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # no length
            i += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a frame header: SOFn
            return (
                (int.from_bytes(b[i + 7 : i + 9], "big"), int.from_bytes(b[i + 5 : i + 7], "big"))
                if i + 8 < len(b)
                else None
            )
        i += 2 + int.from_bytes(b[i + 2 : i + 4], "big")
    return None


def mxnet_declared_size(b):
    """The (width, height) libmxnet 1.9.1 itself reads (src/io/image_io.cc get_jpeg_size, get_png_size) and
    allocates for before decoding a JFIF JPEG or a PNG, or None. Its JPEG walk differs from a JPEG reader's (no
    fill bytes, a SOF-like marker anywhere in its path), so the pixel limit checks its answer too. It reads up to
    9 bytes past the end: those are the zeros of the padded buffer (_PADDING)."""
    b = bytes(b) + bytes(16)
    size = len(b) - 16
    if b[:4] == b"\x89PNG":
        return int.from_bytes(b[16:20], "big"), int.from_bytes(b[20:24], "big")
    if b[:4] != b"\xff\xd8\xff\xe0" or b[6:11] != b"JFIF\x00":
        return None
    i, block = 4, b[4] * 256 + b[5]
    while i < size:
        i += block
        if i >= size or b[i] != 0xFF:
            return None
        marker = b[i + 1]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return b[i + 7] * 256 + b[i + 8], b[i + 5] * 256 + b[i + 6]
        i += 2
        block = b[i] * 256 + b[i + 1]
    return None


def jpeg_for_decoder(b):
    """(bytes, flag) that libmxnet's ``_cvimdecode`` is given for JPEG bytes ``b``, so that every pixel it returns
    was written by the decoder (spec/RUNTIME.md section 4, rules 9 and 10; Java's ImageDecoder does the same):

    - an EOI marker (FF D9) is appended: OpenCV's JPEG source suspends at the end of the bytes instead of ending
      the scan, and a cut file's missing rows would be copies of a row buffer that may never have been written;
      with the marker, libjpeg fills them as it fills any truncated file. A whole file ends at its own EOI first.
    - a JFIF file (the header libmxnet's get_jpeg_size reads) gets a fill byte (FF) before its APP0 marker, so that
      libmxnet lets OpenCV allocate the output instead of decoding into a buffer of the header's size that it
      returns unwritten when OpenCV cannot read the header; flag 129 (colour, EXIF orientation ignored) keeps
      the pixels libmxnet's header path gives.
    """
    if b[:4] == b"\xff\xd8\xff\xe0" and b[6:11] == b"JFIF\x00":
        return b[:2] + b"\xff" + b[2:] + _EOI, 129
    return b + _EOI, 1


def png_header_for_decoder(b):
    """The first bytes of a PNG that libpng's header read (png_read_info, in OpenCV's readHeader) consumes: up to
    and including the first IDAT chunk's length and type, at least the 24 bytes libmxnet's get_png_size reads; the
    whole file when no IDAT chunk is found in its chunk walk. Decoding these bytes fails once the header was read
    (the image data is missing) and returns unwritten memory when it was not: the probe for a damaged header."""
    i = 8
    while i + 8 <= len(b):
        if b[i + 4 : i + 8] == b"IDAT":
            return b[: max(i + 8, 24)]
        i += 12 + int.from_bytes(b[i : i + 4], "big")
    return b


_EOI = b"\xff\xd9"
# OpenCV 3.4.2's imdecode returns without touching a caller's buffer when its header read fails, and libmxnet
# returns that buffer as the image (SECURITY.md): the PNG header is probed first
_PNG_DAMAGED = (
    "its PNG header is damaged (the chunks before its image data cannot be read); "
    "give the whole, undamaged file, e.g. save it again with any image tool"
)


# libmxnet's words when OpenCV decoded nothing (a header or image data it cannot read)
_OPENCV_FAILED = "Decoding failed. Invalid image file."
_DAMAGED = (
    "it cannot be decoded (it is damaged, cut short, or a JPEG or PNG variant libjpeg or libpng "
    "does not read); give the whole, undamaged file, e.g. save it again with any image tool"
)


def _cvimdecode(data, flag):
    """libmxnet's ``_cvimdecode`` on ``data`` in a zero-padded buffer: (image, shape, problem); problem is None when
    it decoded."""
    import mxnet as mx
    import numpy as np

    # MXNet given a view of zero-padded bytes: a file cut in its header reads zeros, not whatever memory follows
    padded = mx.nd.array(np.frombuffer(data + bytes(_PADDING), dtype=np.uint8), dtype=np.uint8)
    try:
        image = mx.nd._internal._cvimdecode(padded[0 : len(data)], flag=flag, to_rgb=1)
    except mx.base.MXNetError as e:
        return None, None, native_message(e)
    problem = shape = None
    try:
        shape = image.shape  # fails for more than 2^31 values (a header declaring a huge image)
    except mx.base.MXNetError as e:
        problem = native_message(e)
    try:
        # a JFIF JPEG or a PNG is decoded on MXNet's engine: waiting surfaces its failure and consumes it, else the
        # next mx.nd.waitall() would raise it
        image.wait_to_read()
    except mx.base.MXNetError as e:
        problem = problem or native_message(e)
    return image, shape, problem


DECODERS = ("mxnet", "pillow")


def _decode(data, what, max_pixels, decoder):
    chosen = decoder is None
    if chosen:  # MXNet's where it is installed; Pillow where not (spec/RUNTIME.md section 8)
        decoder = "mxnet" if _threads.mxnet_here() else "pillow"
    if decoder not in DECODERS:
        raise MxportError("INVALID_ARGUMENT", f"decoder={decoder!r}: give one of {list(DECODERS)}")
    if decoder == "mxnet":
        _threads.need_mxnet(
            "decoding with decoder='mxnet'",
            ("decoder", "pillow", " (the same pixels on every file tested, spec/RUNTIME.md section 4 rule 11)"),
        )
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, int) or max_pixels < 1:
        raise MxportError("INVALID_ARGUMENT", f"max_pixels must be an integer >= 1, got {max_pixels!r}")
    if len(data) == 0:
        raise MxportError(
            "INVALID_ARGUMENT", f"cannot decode {what} as an image: it is empty; give a JPEG or PNG file's bytes"
        )
    if not data.startswith(_SIGNATURES):  # other formats reach old decoders (libtiff 4.0.9...): SECURITY.md
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: it is not a JPEG or PNG file; {_FIX}")
    limit = min(max_pixels, MAX_PIXELS)
    for declared in (declared_size(data), mxnet_declared_size(data)):
        if declared is not None and declared[0] * declared[1] > limit:  # refused before MXNet allocates for it
            raise _too_large(what, declared[0], declared[1], max_pixels)
    if decoder == "pillow":
        return _decode_pillow(data, what, max_pixels, chosen)
    if data[:2] == b"\xff\xd8":
        image, shape, problem = _cvimdecode(*jpeg_for_decoder(data))
    else:
        if _cvimdecode(png_header_for_decoder(data), 1)[2] is None:
            raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: {_PNG_DAMAGED}")
        image, shape, problem = _cvimdecode(data, 1)
    if shape is not None and len(shape) == 3 and shape[0] * shape[1] > limit:  # a header the pre-read missed
        raise _too_large(what, shape[1], shape[0], max_pixels)
    if problem is not None and _OPENCV_FAILED in problem:
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: {_DAMAGED}")
    if problem is not None:
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: {problem}; {_FIX}")
    if len(shape) != 3 or shape[2] != 3 or shape[0] < 1 or shape[1] < 1:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"cannot decode {what} as an image: the decoder found no image (shape {list(shape)}); {_FIX}",
        )
    return image.expand_dims(0)


def _decode_pillow(data, what, max_pixels, chosen=False):
    try:
        from . import _pillow_images
    except ImportError:
        raise MxportError(
            "INVALID_ARGUMENT",
            "MXNet is not installed, so images are decoded with Pillow (decoder='pillow'), which is not installed "
            "either: pip install pillow (or the extra mxport[onnxruntime])"
            if chosen
            else "decoder='pillow' needs Pillow: pip install pillow (or the extra mxport[onnxruntime])",
        ) from None
    return _pillow_images.decode(
        data,
        what,
        min(max_pixels, MAX_PIXELS),
        lambda w, width, height: _too_large(w, width, height, max_pixels),
        (_PNG_DAMAGED, _DAMAGED),
    )
