"""The command line's inputs: a .npy array as it is, or an image file decoded (and resized) for a model input."""

import os
import sys

import numpy as np

from ._errors import MxportError, native_message


def read_input(path, spec, args):
    """A .npy array as it is, or an image decoded to RGB HWC uint8, resized to a fixed H, W, batched."""
    if not os.path.exists(path):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"--input {path}: no such file; give an image (JPEG/PNG) or a .npy array per model input",
        )
    if os.path.isdir(path):
        raise MxportError(
            "INVALID_ARGUMENT", f"--input {path} is a directory; give one image (JPEG/PNG) or .npy file per model input"
        )
    if path.endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise MxportError(
                "INVALID_ARGUMENT", f"--input {path} is not a .npy array ({e}); write one with numpy.save"
            ) from None
    image_like = len(spec.shape) == 4 and spec.shape[3] in (3, -1)
    if not image_like:
        fix = (
            "drop --no-transforms: the model's transforms take the image"
            if args.no_transforms
            else f"give a .npy array of shape [{','.join(map(str, spec.shape))}] (batch first)"
        )
        raise MxportError(
            "SHAPE_MISMATCH",
            f"--input {path} is read as an image (uint8 [1,H,W,3]) but input "
            f"'{spec.name}' takes {spec.dtype} [{','.join(map(str, spec.shape))}] ({spec.layout or 'layout unknown'}):"
            f" {fix}",
        )
    from . import _threads

    if not _threads.mxnet_here():
        return _read_image_without_mxnet(path, spec)
    import mxnet as mx

    try:
        image = mx.image.imread(path).asnumpy()  # RGB, HWC, uint8
    except mx.base.MXNetError as e:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"cannot decode {path} as an image ({native_message(e)}); give a JPEG or PNG, or a .npy array",
        ) from None
    if spec.layout == "NHWC" and len(spec.shape) == 4:
        height, width = spec.shape[1], spec.shape[2]
        if (height != -1 and height != image.shape[0]) or (width != -1 and width != image.shape[1]):
            print(
                f"note: resizing the image from {image.shape[1]}x{image.shape[0]} to the model's {width}x{height}",
                file=sys.stderr,
            )
            image = mx.image.imresize(mx.nd.array(image, dtype="uint8"), width, height).asnumpy()
    return image[np.newaxis].astype(spec.dtype)


def _read_image_without_mxnet(path, spec):
    """An image for an ONNX engine where MXNet is not installed: decoded by Pillow (spec/RUNTIME.md section 8), not
    resized (MXNet resizes)."""
    from ._images import read_image

    image = read_image(path)
    height, width = (spec.shape[1], spec.shape[2]) if spec.layout == "NHWC" else (-1, -1)
    if height not in (-1, image.shape[1]) or width not in (-1, image.shape[2]):
        raise MxportError(
            "LIBRARY_NOT_FOUND",
            f"--input {path} is {image.shape[2]}x{image.shape[1]} and the model takes {width}x{height}: resizing "
            "runs on MXNet, which is not installed; give an image of that size, or a .npy array",
        )
    return image.astype(spec.dtype)
