"""The mxport command line.

    mxport inspect PREFIX                      # the signature as a table
    mxport predict PREFIX --input cat.jpg      # an image (JPEG/PNG) or a .npy array; prints the outputs
"""

import argparse
import sys

import numpy as np

from ._errors import MxportError


def _inspect(args):
    from ._load import read_signature
    print(read_signature(args.prefix).describe())


def _read_input(path, spec):
    """A .npy array as it is, or an image decoded to RGB HWC uint8, resized to a fixed H, W, batched."""
    if path.endswith(".npy"):
        return np.load(path, allow_pickle=False)
    import mxnet as mx
    try:
        image = mx.image.imread(path).asnumpy()  # RGB, HWC, uint8
    except mx.base.MXNetError as e:
        raise MxportError("INVALID_ARGUMENT", f"cannot decode {path} as an image: {str(e).splitlines()[0]}; "
                          "give a JPEG or PNG, or a .npy array") from None
    if spec.layout == "NHWC" and len(spec.shape) == 4:
        height, width = spec.shape[1], spec.shape[2]
        if (height != -1 and height != image.shape[0]) or (width != -1 and width != image.shape[1]):
            print(f"note: resizing the image from {image.shape[1]}x{image.shape[0]} to the model's "
                  f"{width}x{height}", file=sys.stderr)
            image = mx.image.imresize(mx.nd.array(image, dtype="uint8"), width, height).asnumpy()
    return image[np.newaxis].astype(spec.dtype)


def _predict(args):
    import mxport
    block = mxport.load(args.prefix, load_transforms=not args.no_transforms)
    sig = block.signature
    if len(sig.inputs) != len(args.input):
        raise MxportError("INPUT_COUNT", f"the model takes {len(sig.inputs)} input(s) {sig.input_names}: give "
                          "one --input per input, in that order")
    arrays = [_read_input(path, spec) for path, spec in zip(args.input, sig.inputs)]
    outputs = block(*arrays)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    np.set_printoptions(precision=6, suppress=True, threshold=40)
    for spec, out in zip(sig.outputs, outputs):
        values = out.asnumpy()
        print(f"{spec.name}: {values.dtype}{list(values.shape)}")
        if values.ndim == 2 and values.shape[1] > args.top:
            for row, v in enumerate(values):
                top = np.argsort(-v, kind="stable")[:args.top]
                name = (lambda i: f" {spec.labels[i]}") if spec.labels is not None else (lambda i: "")
                print(f"  sample {row}: top-{args.top} " + ", ".join(f"{i}{name(i)} ({v[i]:.4f})" for i in top))
        else:
            print(values)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="mxport", description="Inspect and run mxport models.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("inspect", help="print a model's signature as a table")
    p.add_argument("prefix", help="the model: PREFIX-symbol.json and PREFIX.params")
    p.set_defaults(run=_inspect)
    p = sub.add_parser("predict", help="run a model on an image or a .npy array and print the outputs")
    p.add_argument("prefix")
    p.add_argument("--input", action="append", required=True, metavar="FILE",
                   help="an image (JPEG/PNG) or a .npy array; repeat for each input, in signature order")
    p.add_argument("--no-transforms", action="store_true", help="run the network alone (load_transforms=False)")
    p.add_argument("--top", type=int, default=5, help="for class scores, how many to print (default 5)")
    p.set_defaults(run=_predict)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except MxportError as e:
        print(f"mxport: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
