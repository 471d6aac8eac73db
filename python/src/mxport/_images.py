"""Decoding image files into the uint8 NHWC batches image models take, as every mxport language does.

The decoder is libmxnet's own ``_cvimdecode`` operator (OpenCV inside libmxnet.so), the one ``mx.image.imdecode``
runs; Java's ``io.mxport.Images.read`` calls the same operator through the C API, so a file gives the same
pixels in Python, Java, Scala and Spark (spec/RUNTIME.md section 4).
"""

import os

from ._errors import MxportError, native_message

_FIX = "give a JPEG or PNG (what OpenCV inside libmxnet reads), e.g. convert it with any image tool"


def read_image(path):
    """Read and decode an image file into uint8 ``[1, height, width, 3]``, RGB (an ``mx.nd.NDArray``).

    >>> pixels = mxport.read_image("images/cat.jpg")         # uint8 (1, 300, 451, 3); Java's Images.read: same bytes

    Grayscale becomes R=G=B, alpha is dropped (not blended), 16-bit samples keep their high byte, CMYK JPEG is
    converted by OpenCV; a truncated JPEG decodes (its missing part as libjpeg fills it).

    Raises
    ------
    MxportError
        ``INVALID_ARGUMENT`` naming the file when it cannot be read or is not an image libmxnet decodes.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise MxportError("INVALID_ARGUMENT", f"cannot read the image file {path} ({e}); give the path of a "
                          "readable JPEG or PNG file") from None
    return _decode(data, path)


def decode_image(data):
    """Decode an encoded image (the bytes of a JPEG, PNG, ... file) into uint8 ``[1, height, width, 3]``, RGB.

    >>> with open("images/cat.jpg", "rb") as f:
    ...     pixels = mxport.decode_image(f.read())             # uint8 (1, 300, 451, 3)

    The pixels of ``mx.image.imdecode(data, flag=1, to_rgb=1)``, with errors as ``MxportError`` (see
    ``read_image``).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"decode_image takes bytes, got {type(data).__name__}")
    return _decode(bytes(data), f"{len(data)} bytes")


# MXNet's JPEG and PNG header readers look up to 24 bytes past the end of the bytes they are given
_PADDING = 32


def _decode(data, what):
    import mxnet as mx
    import numpy as np
    if len(data) == 0:
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: it is empty; give a JPEG or PNG "
                          "file's bytes")
    # the bytes in a zero-padded buffer, MXNet given a view of them: a file cut in its header reads zeros, not
    # whatever memory follows (Java's Images.decode does the same)
    padded = mx.nd.array(np.frombuffer(data + bytes(_PADDING), dtype=np.uint8), dtype=np.uint8)
    try:
        image = mx.image.imdecode(padded[0:len(data)], flag=1, to_rgb=1)
        # the decode may run on MXNet's engine: waiting surfaces its failure (a truncated PNG) and consumes it,
        # else the next mx.nd.waitall() would raise it
        image.wait_to_read()
        shape = image.shape
    except mx.base.MXNetError as e:
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: {native_message(e)}; {_FIX}") \
            from None
    if len(shape) != 3 or shape[2] != 3 or shape[0] < 1 or shape[1] < 1:
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {what} as an image: the decoder found no image "
                          f"(shape {list(shape)}); {_FIX}")
    return image.expand_dims(0)
