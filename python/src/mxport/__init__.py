"""mxport: MXNet models that carry their pre-processing and their signature, for Python, Java and Scala.

>>> import mxport
>>> from mxport import TensorSpec
>>> sig = mxport.export(net, "out/my_model",
...                     inputs=[TensorSpec("data", (-1, 300, 300, 3), "uint8", "NHWC")],
...                     preprocess=transforms, output_names=["prob"])
>>> block = mxport.load("out/my_model")                  # a Gluon block; block.signature
>>> mod = mxport.load_module("out/my_model", load_transforms=False)
>>> mxport.read_signature("out/my_model")

The format is spec/FORMAT.md; errors carry its codes (``MxportError.code``).
"""

from . import _threads

_threads.apply_once(spin=_threads.import_mxnet())  # spec/RUNTIME.md: before the caller's first operator

from ._errors import MxportError  # noqa: E402
from ._export import export  # noqa: E402
from ._load import load, load_module, read_signature  # noqa: E402
from ._signature import Signature, TensorSpec  # noqa: E402
from ._version import __version__  # noqa: E402

__all__ = ["export", "load", "load_module", "read_signature", "Signature", "TensorSpec", "MxportError",
           "__version__"]
