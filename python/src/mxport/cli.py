"""The mxport command line.

mxport inspect PREFIX                      # the signature as a table
mxport predict PREFIX --input cat.jpg      # an image (JPEG/PNG) or a .npy array; prints the outputs
mxport predict old/mlp --input-spec data=-1,7 --epoch 5 --input x.npy   # an old model (no signature)
mxport optimize m m-int8 int8 --calibration a.jpg --calibration b.png ...  # an optimised copy (also: fused)
mxport export-onnx PREFIX model.onnx        # one ONNX file, signature in metadata_props (--no-transforms)
mxport quantize-onnx model.onnx int8.onnx --calibration a.jpg ...  # its int8 QDQ file (mxport[onnx-int8], no MXNet)
mxport predict PREFIX --input cat.jpg --engine onnxruntime                 # or openvino
"""

import argparse
import os
import shlex
import sys

import numpy as np

from ._cli_inputs import read_input
from ._onnx._int8 import TARGETS
from ._errors import MxportError
from ._version import __version__

_PREFIX_HELP = "the model: PREFIX-symbol.json and PREFIX.params (the path of either file works too)"

_FLAGS = {"epoch": "--epoch", "inputs": "--input-spec", "load_transforms": "--no-transforms"}


def _shell_spelling(args):
    """A fix (mxport.MxportError.fix) in the command line's words: its flags, not the Python API's arguments."""

    def spell(fix):
        if fix.kind == "argument":
            ((name, value),) = fix.arguments
            if name == "load_transforms":
                return "drop --no-transforms" if value else "add --no-transforms"
            flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
            return f"add {flag}" if value is True else f"add {flag} {value}"
        if fix.kind == "drop":
            return "drop " + " and ".join(_FLAGS.get(name, "--" + name.replace("_", "-")) for name, _ in fix.arguments)
        specs = (
            " ".join(
                "--input-spec " + shlex.quote(f"{name}={','.join(map(str, shape)) if shape else '-1,...'}:{dtype}")
                for name, shape, dtype in fix.inputs
            )
            or "--input-spec data=-1,...:float32"
        )
        epoch = "".join(f" --epoch {value}" for _, value in fix.arguments)
        rest = " --input FILE" if args.command == "predict" else ""
        unknown = " (write each input's shape in place of ...)" if "..." in specs else ""
        return (
            f"describe its inputs, mxport {args.command} {shlex.quote(args.prefix)} {specs}{epoch}{rest}"
            f"{unknown}, or re-export it with mxport.export"
        )

    return spell


def _input_spec(text):
    """NAME=SHAPE[:DTYPE[:LAYOUT]], e.g. data=-1,3,224,224:float32:NCHW."""
    from ._signature import TensorSpec

    name, eq, rest = text.rpartition("=")  # a graph's own name may hold '=' and ':'; a shape holds neither
    parts = rest.split(":")
    try:
        if not eq or not 1 <= len(parts) <= 3:
            raise ValueError
        shape = tuple(int(d) for d in parts[0].split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=SHAPE[:DTYPE[:LAYOUT]], e.g. data=-1,3,224,224:float32:NCHW"
        ) from None
    try:
        return TensorSpec(name, shape, *parts[1:])
    except MxportError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _load(args, signature_only=False):
    import mxport

    old = dict(inputs=args.input_spec, epoch=args.epoch)
    if signature_only and args.input_spec is None and args.epoch is None:
        return mxport.read_signature(args.prefix)
    if signature_only:
        from . import _threads

        _threads.need_mxnet("mxport inspect of an old model")  # MXNet infers its outputs
        from ._blocks import open_model

        return open_model(args.prefix, **old).signature
    engine = getattr(args, "engine", "mxnet")
    if engine != "mxnet":
        return mxport.load(args.prefix, load_transforms=not args.no_transforms, engine=engine, **old)
    return mxport.load(args.prefix, load_transforms=not args.no_transforms, **old)


def _inspect(args):
    print(_load(args, signature_only=True).describe())


def _check_top(top, classes, name):
    if top is not None and not 1 <= top <= classes:
        raise MxportError("INVALID_ARGUMENT", f"--top {top}: output '{name}' has {classes} classes; give 1..{classes}")


def _predict(args):
    if args.top is not None and args.top < 1:
        raise MxportError("INVALID_ARGUMENT", f"--top {args.top}: give at least 1")
    block = _load(args)
    sig = block.signature
    if len(sig.inputs) != len(args.input):
        raise MxportError(
            "INPUT_COUNT",
            f"the model takes {len(sig.inputs)} input(s) {sig.input_names}: give one --input per input, in that order",
        )
    for spec in sig.outputs:
        if len(spec.shape) == 2 and spec.shape[1] != -1:
            _check_top(args.top, spec.shape[1], spec.name)
    arrays = [read_input(path, spec, args) for path, spec in zip(args.input, sig.inputs)]
    outputs = block(*arrays)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    np.set_printoptions(precision=6, suppress=True, threshold=40)
    for spec, out in zip(sig.outputs, outputs):
        values = out.asnumpy() if hasattr(out, "asnumpy") else out  # numpy from an ONNX engine without MXNet
        print(f"{spec.name}: {values.dtype}{list(values.shape)}")
        if values.ndim == 2 and (args.top is not None or values.shape[1] > 5):
            _check_top(args.top, values.shape[1], spec.name)
            k = args.top or 5
            for row, v in enumerate(values):
                top = np.argsort(-v, kind="stable")[:k]
                name = (lambda i, labels=spec.labels: f" {labels[i]}") if spec.labels is not None else (lambda i: "")
                print(f"  sample {row}: top-{k} " + ", ".join(f"{i}{name(i)} ({v[i]:.4f})" for i in top))
        else:
            print(values)


def _optimize(args):
    import mxport

    calibration = None
    if args.calibration:
        sig = mxport.read_signature(args.source)
        if len(sig.inputs) != 1:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"the model takes {len(sig.inputs)} inputs: calibrate it with the "
                "Python API, mxport.optimize(..., calibration=[[a, b], ...])",
            )
        calibration = [read_input(path, sig.inputs[0], args) for path in args.calibration]
    sig = mxport.optimize(
        args.source,
        args.prefix,
        args.kind,
        calibration=calibration,
        calibration_mode=args.calibration_mode,
        exclude_layers=args.exclude_layer,
        overwrite=args.overwrite,
    )
    from ._signature import describe_optimization

    print(f"wrote {args.prefix}-symbol.json and {args.prefix}.params: {describe_optimization(sig.optimization)}")


def _export_onnx(args):
    import mxport

    sig = mxport.export_onnx(args.prefix, args.path, load_transforms=not args.no_transforms, overwrite=args.overwrite)
    what = "the network alone" if args.no_transforms else "the whole model"
    print(
        f"wrote {args.path}: {what}, {', '.join(sig.input_names)} -> {', '.join(sig.output_names)} "
        "(signature in metadata_props 'mxport_signature')"
    )


def _quantize_onnx(args):
    import mxport

    from ._onnx import contract
    from ._onnx._int8 import quantizer

    onnx = quantizer()[0]  # the extra's error before any file is read

    sig = contract(onnx.load(args.model, load_external_data=False))[0] if os.path.isfile(args.model) else None
    if sig is not None and len(sig.inputs) != 1:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"the model takes {len(sig.inputs)} inputs: calibrate it with the Python API, "
            "mxport.quantize_onnx(..., calibration=[[a, b], ...])",
        )
    calibration = [read_input(path, sig.inputs[0], args) for path in args.calibration] if sig else []
    record = mxport.quantize_onnx(
        args.model,
        args.path,
        calibration,
        exclude_layers=args.exclude_layer,
        target=args.target,
        overwrite=args.overwrite,
    )
    print(
        f"wrote {args.path}: int8 QDQ ({record['quantizer']}) for {record['target']}, calibrated on "
        f"{record['calibration_samples']} samples, {len(record['fp32_layers'])} layers kept fp32"
    )


def _old_model_arguments(p):
    p.add_argument(
        "--input-spec",
        action="append",
        type=_input_spec,
        metavar="NAME=SHAPE[:DTYPE[:LAYOUT]]",
        help="for an old model (no signature): one input's description, e.g. "
        "data=-1,3,224,224:float32:NCHW (dtype float32 when omitted); repeat for each input",
    )
    p.add_argument("--epoch", type=int, help="for an old model whose params file is PREFIX-NNNN.params: NNNN")


def _model_commands(sub):
    """inspect and predict."""
    p = sub.add_parser("inspect", help="print a model's signature as a table")
    p.add_argument("prefix", help=_PREFIX_HELP)
    _old_model_arguments(p)
    p.set_defaults(run=_inspect)
    p = sub.add_parser("predict", help="run a model on an image or a .npy array and print the outputs")
    p.add_argument("prefix", help=_PREFIX_HELP)
    p.add_argument(
        "--input",
        action="append",
        required=True,
        metavar="FILE",
        help="an image (JPEG/PNG) or a .npy array; repeat for each input, in signature order",
    )
    p.add_argument("--no-transforms", action="store_true", help="run the network alone (load_transforms=False)")
    p.add_argument(
        "--top", type=int, help="for class scores, how many to print (default 5, at most the number of classes)"
    )
    p.add_argument(
        "--engine",
        choices=["mxnet", "onnxruntime", "openvino"],
        default="mxnet",
        help="run on MXNet (default), or the model's ONNX graph on ONNX Runtime or OpenVINO",
    )
    _old_model_arguments(p)
    p.set_defaults(run=_predict)


def _optimize_command(sub):
    p = sub.add_parser("optimize", help="write an optimised copy of a model: oneDNN-fused fp32, or int8")
    p.add_argument("source", help="the fp32 model: SOURCE-symbol.json and SOURCE.params")
    p.add_argument("prefix", help="where the copy goes: PREFIX-symbol.json and PREFIX.params")
    p.add_argument("kind", choices=["fused", "int8"], help="fused: oneDNN subgraph fusion (fp32); int8: quantised")
    p.add_argument(
        "--calibration",
        action="append",
        metavar="FILE",
        help="int8: an image (JPEG/PNG) or a .npy batch in the model's input format; repeat, a few "
        "hundred samples like those the model will see",
    )
    p.add_argument(
        "--calibration-mode",
        choices=["naive", "entropy"],
        default="naive",
        help="int8: naive (min/max, default) or entropy (KL-optimal clipping; needs scipy)",
    )
    p.add_argument(
        "--exclude-layer",
        action="append",
        metavar="NODE",
        help="int8: a network node to keep in fp32 (its name in SOURCE-symbol.json); repeat",
    )
    p.add_argument("--overwrite", action="store_true", help="replace files at PREFIX that are not an mxport model")
    p.set_defaults(run=_optimize, no_transforms=False)


def _onnx_commands(sub):
    """export-onnx and quantize-onnx."""
    p = sub.add_parser("export-onnx", help="write a model as one ONNX file (signature in metadata_props)")
    p.add_argument("prefix", help=_PREFIX_HELP)
    p.add_argument("path", help="the ONNX file to write, e.g. model.onnx")
    p.add_argument("--no-transforms", action="store_true", help="the network alone (load_transforms=False)")
    p.add_argument("--overwrite", action="store_true", help="replace a file at PATH that mxport did not write")
    p.set_defaults(run=_export_onnx)
    p = sub.add_parser(
        "quantize-onnx", help="write the int8 QDQ file of an export-onnx file (ONNX Runtime's quantiser; no MXNet)"
    )
    p.add_argument("model", help="an ONNX file that mxport export-onnx wrote (the whole model)")
    p.add_argument("path", help="the int8 ONNX file to write, e.g. model-int8.onnx")
    p.add_argument(
        "--calibration",
        action="append",
        required=True,
        metavar="FILE",
        help="a calibration input: an image (JPEG/PNG) or a .npy batch; repeat",
    )
    p.add_argument(
        "--exclude-layer",
        action="append",
        metavar="NODE",
        help="an MXNet node to keep in fp32; repeat (default: those the int8 model the file came from excluded)",
    )
    p.add_argument(
        "--target",
        choices=TARGETS,
        default="onnxruntime",
        help="the engine the QDQ placement is made for (both run the file): openvino fuses the residual sums "
        "into its int8 convolutions (faster there); default onnxruntime (the residual sums read fp32)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace a file at PATH")
    p.set_defaults(run=_quantize_onnx, no_transforms=False)


def main(argv=None):
    from ._rules import FORMAT_VERSION

    parser = argparse.ArgumentParser(prog="mxport", description="Inspect and run mxport models.")
    parser.add_argument(
        "--version", action="version", version=f"mxport {__version__} (model format version {FORMAT_VERSION})"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _model_commands(sub)
    _optimize_command(sub)
    _onnx_commands(sub)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except MxportError as e:
        print(f"mxport: error: [{e.code}] {e.spelled(_shell_spelling(args))}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
