"""INT8 against fp32: top-1 agreement and top-5 overlap on real photos, for EfficientNet-Lite0 and ResNet-18.

    .venv/bin/python benchmarks/int8_accuracy.py            # after `make real-model models bench-setup`

For each model and calibration setting, the fp32 mxport model is quantised with ``mxport.optimize(...,
"int8", calibration=...)`` on the calibration photos' variants, and both models classify the evaluation
photos' variants (one image per call, the model's own uint8 input, transforms in the graph). Reported per row:
top-1 agreement (the int8 top-1 class is the fp32 top-1 class), mean top-5 overlap (|top5_int8 & top5_fp32| / 5),
and the largest absolute difference of the probabilities.

The photos (licences as the source states them), split so that no photo is in both sets:
- evaluation: demo/cat.jpg (CC0), from the scikit-image 0.22.0 wheel (models/requirements.txt) coffee.png (CC0),
  rocket.jpg (public domain), camera.png (CC0), gravel.png (CC0), clock_motion.png (public domain),
  horse.png (CC0), and matplotlib's mpl-data/sample_data/grace_hopper.jpg (public domain, US Navy);
- calibration: astronaut.png (public domain, NASA), hubble_deep_field.jpg (public domain, NASA), retina.jpg
  (CC0), brick.png (CC0), grass.png (CC0), cell.png (CC0), text.png (public domain), microaneurysms.png (CC0).
A variant is a seeded random crop (35-100 % of the area, aspect 3:4 to 4:3), a horizontal flip half of the time,
and a rescale of the crop to a shorter side of 160-400 pixels (bilinear, bicubic or area), as uint8 HWC.

ResNet-18 here has random He-init weights (demo/export_resnet.py): its agreement measures how often
quantisation noise moves an arbitrary decision boundary, not accuracy on a task.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "models"))

EVAL_PHOTOS = [
    "cat.jpg",
    "coffee.png",
    "rocket.jpg",
    "camera.png",
    "gravel.png",
    "clock_motion.png",
    "horse.png",
    "grace_hopper.jpg",
]
CALIB_PHOTOS = [
    "astronaut.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "brick.png",
    "grass.png",
    "cell.png",
    "text.png",
    "microaneurysms.png",
]
FIRST_LAST = {
    "efficientnet_lite0": ["lite0_convbn0_conv0_fwd", "lite0_dense0_fwd"],
    "resnet18": ["resnetv10_conv0_fwd", "resnetv10_dense0_fwd"],
}


def layers(prefix):
    """The convolution nodes of a model's network, as (name, is depthwise), in graph order."""
    with open(prefix + "-symbol.json") as f:
        nodes = json.load(f)["nodes"]
    return [(n["name"], n.get("attrs", {}).get("num_group", "1") != "1") for n in nodes if n["op"] == "Convolution"]


def depthwise(prefix):
    """Every depthwise convolution: per-tensor 8-bit activations lose the most there (MobileNet-style nets)."""
    return [name for name, dw in layers(prefix) if dw]


def depthwise_and_early(prefix, blocks=3):
    """Every depthwise convolution, and every convolution of the first ``blocks`` MBConv blocks (the early layers,
    whose errors the rest of the network amplifies)."""
    early = [name for name, _ in layers(prefix) if any(f"_mbconv{i}_" in name for i in range(blocks))]
    return sorted(set(depthwise(prefix)) | set(early))


def expansions(prefix):
    """The 1x1 expansion convolution of each MBConv block that has one (blocks 1-15 of EfficientNet-Lite0): its
    input is the block's input and its output goes through ReLU6, so 8 bits represent both well."""
    return [name for name, _ in layers(prefix) if "_mbconv" in name and "_convbn0_" in name and "_mbconv0_" not in name]


def lite0_fp32_layers(prefix):
    """The EfficientNet-Lite0 recipe: only the expansion convolutions run in int8, every other convolution stays
    fp32 (the depthwise ones, whose per-tensor 8-bit activations lose the most; the linear projections, whose
    signed outputs feed the residual sums; the stem and the head)."""
    keep = set(expansions(prefix))
    return [name for name, _ in layers(prefix) if name not in keep]


def lite0_onnx_fp32_layers(prefix):
    """The EfficientNet-Lite0 recipe on the ONNX engines (mxport.quantize_onnx, spec/FORMAT.md 13.7): MXNet's, and the
    expansions of blocks 1 and 2 fp32 too (the earliest int8 layers, whose errors the rest of the network amplifies:
    96.7 % / 95.8 % top-1 agreement on ONNX Runtime / OpenVINO with them int8, 98.8 % / 98.3 % without)."""
    early = [name for name in expansions(prefix) if any(f"_mbconv{i}_" in name for i in (1, 2))]
    return lite0_fp32_layers(prefix) + early


RECIPE_LABEL = {"efficientnet_lite0": "all but expansions", "resnet18": "none"}


def settings(model, prefix, modes):
    """(calibration mode, excluded layers, label) rows to measure for one model."""
    rows = [(mode, [], "none") for mode in modes] + [("naive", FIRST_LAST[model], "first+last")]
    if model == "efficientnet_lite0":
        rows += [
            ("naive", depthwise(prefix), "depthwise"),
            ("naive", depthwise_and_early(prefix), "depthwise+early"),
            ("naive", depthwise_and_early(prefix, 6), "depthwise+early6"),
            ("naive", lite0_fp32_layers(prefix), RECIPE_LABEL[model]),
        ]
        if "entropy" in modes:
            rows.append(("entropy", lite0_fp32_layers(prefix), RECIPE_LABEL[model]))
    return rows


def photo_bytes(name):
    """The bytes of one of the licensed photos."""
    if name == "cat.jpg":
        with open(os.path.join(REPO, "demo", "cat.jpg"), "rb") as f:
            return f.read()
    if name == "grace_hopper.jpg":
        import matplotlib  # the bench extra; its sample data ships in the wheel

        with open(os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg"), "rb") as f:
            return f.read()
    import efficientnet_lite0 as lite0  # the pinned scikit-image wheel in .cache/wheels

    return lite0.photo(name)


def decode(data):
    """RGB HWC uint8 (grey photos get three equal channels)."""
    import mxnet as mx

    return mx.image.imdecode(data, flag=1).asnumpy()


def variants(image, count, seed):
    """``count`` seeded crops/flips/rescales of one HWC uint8 image."""
    import mxnet as mx

    rng = np.random.RandomState(seed)
    height, width = image.shape[:2]
    out = []
    for _ in range(count):
        area = rng.uniform(0.35, 1.0) * height * width
        aspect = np.exp(rng.uniform(np.log(3 / 4), np.log(4 / 3)))
        h = int(min(height, round(np.sqrt(area / aspect))))
        w = int(min(width, round(np.sqrt(area * aspect))))
        y, x = rng.randint(0, height - h + 1), rng.randint(0, width - w + 1)
        crop = image[y : y + h, x : x + w]
        if rng.rand() < 0.5:
            crop = crop[:, ::-1]
        short = rng.randint(160, 401)
        scale = short / min(h, w)
        size = (max(1, int(round(w * scale))), max(1, int(round(h * scale))))
        interp = int(rng.choice([1, 2, 3]))
        out.append(
            mx.image.imresize(mx.nd.array(np.ascontiguousarray(crop), dtype="uint8"), *size, interp=interp).asnumpy()
        )
    return out


def photo_set(names, per_photo, seed):
    images = []
    for i, name in enumerate(names):
        images.extend(variants(decode(photo_bytes(name)), per_photo, seed + i))
    return images


def predict(block, images):
    return np.stack([block(image[np.newaxis]).asnumpy()[0] for image in images])


def agreement(reference, other):
    """(top-1 agreement, mean top-5 overlap, max |difference|) of two (N, classes) score arrays."""
    top1 = float(np.mean(reference.argmax(1) == other.argmax(1)))
    ref5 = np.argsort(-reference, axis=1, kind="stable")[:, :5]
    oth5 = np.argsort(-other, axis=1, kind="stable")[:, :5]
    overlap = float(np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ref5, oth5)]))
    return top1, overlap, float(np.abs(reference - other).max())


def write_rows(rows, path):
    """Writes the report's rows as JSON (the folder made if missing) and says where."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(rows, f, indent=1)
    print(f"wrote {path}")


def add_photo_arguments(parser):
    """The options every agreement script takes: where the models are, which, and the evaluation set's draw."""
    parser.add_argument("--models", default=os.path.join(REPO, ".cache", "models"))
    parser.add_argument("--model", action="append", help="efficientnet_lite0 and/or resnet18 (default: both)")
    parser.add_argument("--eval-per-photo", type=int, default=30)
    parser.add_argument("--eval-seed", type=int, default=1000, help="another seed draws another evaluation set")


def references(args, evaluation):
    """(model, prefix, MXNet fp32's scores on the evaluation set) for each model the options name."""
    import mxport

    for model in args.model or ["efficientnet_lite0", "resnet18"]:
        prefix = os.path.join(args.models, model)
        yield model, prefix, predict(mxport.load(prefix), evaluation)


def exported_to_onnx(args, tmp):
    """(model, prefix, the evaluation set, MXNet fp32's scores on it, the model exported to ONNX in tmp) for each
    model the options name: what onnx_agreement.py and openvino_bf16.py compare an engine's scores against."""
    import mxport

    evaluation = photo_set(EVAL_PHOTOS, args.eval_per_photo, args.eval_seed)
    for model, prefix, fp32 in references(args, evaluation):
        path = os.path.join(tmp, model + ".onnx")
        mxport.export_onnx(prefix, path)
        yield model, prefix, evaluation, fp32, path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_photo_arguments(parser)
    parser.add_argument("--calib-per-photo", type=int, default=8)
    parser.add_argument("--modes", default="naive,entropy")
    parser.add_argument("--only", help="measure only the rows whose fp32-layers label is this (e.g. depthwise+early6)")
    parser.add_argument("--out", default=os.path.join(REPO, ".cache", "reports", "int8_accuracy.json"))
    args = parser.parse_args(argv)
    import mxport  # noqa: F401  (before MXNet runs anything: spec/RUNTIME.md)

    evaluation = photo_set(EVAL_PHOTOS, args.eval_per_photo, args.eval_seed)
    calibration = photo_set(CALIB_PHOTOS, args.calib_per_photo, 2000)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model, prefix, fp32 in references(args, evaluation):
            fused_prefix = os.path.join(tmp, model + "-fused")
            mxport.optimize(prefix, fused_prefix, "fused")
            rows_to_run = [("fused", None, [], "-")]
            rows_to_run += [("int8",) + row for row in settings(model, prefix, args.modes.split(","))]
            if args.only:
                rows_to_run = [r for r in rows_to_run if r[3] == args.only]
            for kind, mode, exclude, label in rows_to_run:
                started = time.time()
                if kind == "fused":
                    out = fused_prefix
                else:
                    out = os.path.join(tmp, f"{model}-int8-{mode}-{label}")
                    mxport.optimize(
                        prefix,
                        out,
                        "int8",
                        calibration=[c[np.newaxis] for c in calibration],
                        calibration_mode=mode,
                        exclude_layers=exclude,
                    )
                scores = predict(mxport.load(out), evaluation)
                top1, top5, diff = agreement(fp32, scores)
                row = {
                    "model": model,
                    "kind": kind,
                    "calibration_mode": mode,
                    "fp32_layers": label,
                    "excluded_layers": exclude,
                    "eval_inputs": len(evaluation),
                    "calibration_samples": len(calibration) if mode else 0,
                    "top1_agreement": top1,
                    "top5_overlap": top5,
                    "max_prob_diff": diff,
                    "fp32_mean_top1_prob": float(fp32.max(1).mean()),
                    "seconds": round(time.time() - started, 1),
                }
                rows.append(row)
                print(
                    f"{model:18} {kind:5} {mode or '-':7} fp32 layers: {label} ({len(exclude)}): top-1 agreement "
                    f"{100 * top1:.1f} % ({len(evaluation)} inputs), top-5 overlap {100 * top5:.1f} %, "
                    f"max |dprob| {diff:.4f}",
                    flush=True,
                )
    write_rows(rows, args.out)


if __name__ == "__main__":
    main()
