"""mxport's main job: an end-to-end ResNet-18 run on a real photograph through the exported file.

    python demo/demo.py .cache/models/resnet18 demo/cat.jpg

(`make demo` exports the model first, with demo/export_resnet.py.)
"""

import sys
import time

import mxnet as mx
import numpy as np

import mxport


def main(prefix, image_path, runs=20):
    print(f"== signature of {prefix} (mxport {mxport.__version__})")
    print(mxport.read_signature(prefix).describe())
    block = mxport.load(prefix)                          # transforms fused in: feed raw uint8 pixels
    image = mx.image.imread(image_path)                  # RGB HWC uint8, any size: Resize is in the graph
    batch = image.expand_dims(0)
    prob = block(batch).asnumpy()[0]
    start = time.perf_counter()
    for _ in range(runs):
        block(batch).wait_to_read()
    latency = (time.perf_counter() - start) / runs * 1000
    top5 = np.argsort(-prob, kind="stable")[:5]
    print(f"== Python: {image_path} {image.shape[1]}x{image.shape[0]} (weights are random: the classes "
          "mean nothing)")
    print("top-5: " + ", ".join(f"{i} ({prob[i]:.4f})" for i in top5))
    print(f"latency: {latency:.1f} ms per sample (batch 1, mean of {runs} runs)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
