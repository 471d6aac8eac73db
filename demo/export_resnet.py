"""Exports the end-to-end ResNet-18 v1 used by the demo, the tests and the benchmarks.

    python demo/export_resnet.py .cache/models/resnet18

Writes <prefix>-symbol.json and <prefix>.params (about 45 MB: kept out of git) and, beside them,
<prefix>-network-symbol.json / .params: the same weights exported by stock Gluon with no transforms, for the
"non end-to-end" benchmark rows; <prefix>-fused and <prefix>-int8: the same model optimised by
``mxport.optimize`` (oneDNN fusion; int8 calibrated on 16 seeded crops of demo/cat.jpg, CC0), for the
optimised rows and the JVM and Spark tests of optimised models. Weights are random with a fixed seed (no machine here reaches a model hub),
drawn with a He-style init so that the logits are of order 1-10, not the ~1e-15 of the default init.
Skips the work when the files exist and were made by this script's recipe.
"""

import hashlib
import os
import sys

import mxport  # first: it sets up MXNet's threads and, on Python 3.12+, what MXNet needs to import (spec/RUNTIME.md)
from mxport import TensorSpec
import mxnet as mx
from mxnet import gluon
from mxnet.gluon.data.vision import transforms


SEED = 42
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
RECIPE = (
    f"resnet18_v1 seed={SEED} he-init output*0.03 resize224 totensor normalize{MEAN}{STD} softmax "
    f"fused int8(naive, 16 cat crops seed 14, ToTensor+Normalize folded) mxport={mxport.__version__}"
)
CAT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cat.jpg")


def calibration_crops(count=16, seed=14):
    """Seeded crops of demo/cat.jpg (CC0), 160-300 pixels a side, one per batch: int8 calibration data."""
    import numpy as np

    image = mx.image.imread(CAT).asnumpy()
    rng = np.random.RandomState(seed)
    crops = []
    for _ in range(count):
        h, w = rng.randint(160, 301), rng.randint(160, 301)
        y, x = rng.randint(0, image.shape[0] - h + 1), rng.randint(0, image.shape[1] - w + 1)
        crops.append(np.ascontiguousarray(image[np.newaxis, y : y + h, x : x + w]))
    return crops


def preprocess():
    pre = gluon.nn.HybridSequential()
    pre.add(transforms.Resize((224, 224)), transforms.ToTensor(), transforms.Normalize(mean=MEAN, std=STD))
    return pre


def network():
    mx.random.seed(SEED)
    net = gluon.model_zoo.vision.resnet18_v1(pretrained=False)
    net.initialize(mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2))
    net(mx.nd.zeros((1, 3, 224, 224)))
    # He init keeps activations alive through 18 layers but leaves logits of std ~65, which saturates the
    # softmax into a one-hot; a smaller last layer gives logits of std ~2, like a trained classifier's.
    weight = net.output.weight
    weight.set_data(weight.data() * 0.03)
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
        inputs=[TensorSpec("data", (-1, -1, -1, 3), "uint8", "NHWC")],
        preprocess=preprocess(),
        postprocess=gluon.nn.HybridLambda(lambda F, x: F.softmax(x)),
        output_names=["prob"],
        layouts={"prob": "NC", "network:data": "NCHW", "network:prob": "NC"},
        overwrite=True,
    )
    net.hybridize()
    net(mx.nd.zeros((1, 3, 224, 224)))
    net.export(f"{prefix}-network", epoch=0)  # stock Gluon: <prefix>-network-symbol.json, -0000.params
    mxport.optimize(prefix, f"{prefix}-fused", "fused", overwrite=True)
    mxport.optimize(prefix, f"{prefix}-int8", "int8", calibration=calibration_crops(), overwrite=True)
    with open(stamp, "w") as f:
        f.write(recipe_id)
    print(f"exported {prefix}-symbol.json and {prefix}.params, and {prefix}-fused, {prefix}-int8")


if __name__ == "__main__":
    main(sys.argv[1])
