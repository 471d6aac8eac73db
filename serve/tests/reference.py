"""Computes the outputs serve/tests compare against, with Python's mxport.load (run by the project's .venv).

.venv/bin/python serve/tests/reference.py OUT.npz RESNET_PREFIX LITE0_PREFIX CAT_JPG
"""

import sys

import mxport  # first: spec/RUNTIME.md
import numpy as np

out, resnet, lite0, cat = sys.argv[1:5]
pixels = np.random.default_rng(7).integers(0, 256, (2, 96, 128, 3), dtype=np.uint8)
single = [pixels[i : i + 1] for i in range(2)]
resnet_block = mxport.load(resnet)
lite0_block = mxport.load(lite0)
np.savez(
    out,
    pixels=pixels,
    resnet_batch=resnet_block(pixels).asnumpy(),
    resnet_single0=resnet_block(single[0]).asnumpy(),
    resnet_single1=resnet_block(single[1]).asnumpy(),
    cat_pixels=mxport.read_image(cat).asnumpy(),
    lite0_cat=lite0_block(mxport.read_image(cat)).asnumpy(),
)
