"""mxport: MXNet models that carry their pre-processing and their signature, for Python, Java and Scala.

>>> import mxport                                        # before MXNet runs anything (spec/RUNTIME.md)
>>> from mxport import TensorSpec
>>> import mxnet as mx
>>> import numpy as np
>>> from mxnet import gluon
>>> from mxnet.gluon.data.vision import transforms
>>> net = gluon.nn.HybridSequential()                    # any HybridBlock: here a small classifier
>>> net.add(gluon.nn.Conv2D(8, 3), gluon.nn.GlobalAvgPool2D(), gluon.nn.Dense(10))
>>> net.initialize()
>>> pre = gluon.nn.HybridSequential()                    # pre-processing: uint8 NHWC pixels -> float32 NCHW
>>> pre.add(transforms.Resize(32), transforms.ToTensor())
>>> sig = mxport.export(net, "out/my_model",
...                     inputs=[TensorSpec("data", (-1, 64, 64, 3), "uint8", "NHWC")],
...                     preprocess=pre, postprocess=gluon.nn.HybridLambda(lambda F, x: F.softmax(x)),
...                     output_names=["prob"])
>>> block = mxport.load("out/my_model")                  # a Gluon block; block.signature
>>> prob = block(np.zeros((1, 64, 64, 3), np.uint8))     # a batch of one image in, prob.shape == (1, 10)
>>> mod = mxport.load_module("out/my_model", load_transforms=False)
>>> sig = mxport.read_signature("out/my_model")

The examples of ``export``, ``load``, ``load_module`` and ``read_signature`` continue this one. The format is
spec/FORMAT.md; errors carry its codes (``MxportError.code``) and name the fix (spec/MISTAKES.md). Without MXNet
(``pip install 'mxport[onnxruntime]'`` where MXNet 1.9.1 has no wheel), ``mxport.load("model.onnx",
engine="onnxruntime")``, ``read_image`` (Pillow), ``read_signature`` and ``Signature`` work; the calls that run on
MXNet raise ``LIBRARY_NOT_FOUND`` naming the fix (spec/RUNTIME.md section 8).
"""

from . import _threads

# spec/RUNTIME.md: MXNet imported, and the thread rule decided before the caller's first operator, where MXNet is
# installed; where it is not (section 8), mxport runs ONNX files, and the calls that need MXNet say so
_MXNET = _threads.start()

from . import environment  # noqa: E402  what was applied, mxport.environment.applied()

from ._errors import MxportError  # noqa: E402

if _MXNET:
    from ._export import export, optimize
else:
    from ._without_mxnet import export, optimize
from ._files import read_signature  # noqa: E402
from ._images import decode_image, read_image  # noqa: E402
from ._load import load, load_module  # noqa: E402
from ._onnx import export_onnx  # noqa: E402
from ._onnx._int8 import quantize_onnx  # noqa: E402
from ._signature import Signature, TensorSpec  # noqa: E402
from ._version import __version__  # noqa: E402

__all__ = [
    "environment",
    "export",
    "optimize",
    "export_onnx",
    "quantize_onnx",
    "load",
    "load_module",
    "read_signature",
    "read_image",
    "decode_image",
    "Signature",
    "TensorSpec",
    "MxportError",
    "__version__",
]
