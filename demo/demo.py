"""mxport's main job: a real ImageNet classifier, end to end, on a real photograph, through the exported file.

    python demo/demo.py .cache/models/efficientnet_lite0 demo/cat.jpg

(`make demo` converts the model first, with models/efficientnet_lite0.py. Any end-to-end image model works,
e.g. the random-weight .cache/models/resnet18 of demo/export_resnet.py.)
"""

import importlib.util
import sys
import time

import mxport

ENGINES = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}


def installed_engines():
    """The ONNX engines whose extras are installed (mxport[onnxruntime], mxport[openvino])."""
    return [e for e in ENGINES if importlib.util.find_spec(e) and importlib.util.find_spec("onnx")]


def main(prefix, image_path, runs=20):
    print(f"== signature of {prefix} (mxport {mxport.__version__})")
    print(mxport.read_signature(prefix).describe())
    block = mxport.load(prefix)  # transforms fused in: feed raw uint8 pixels
    batch = mxport.read_image(image_path)  # uint8 [1,H,W,3], RGB, any size: Resize is in the graph
    prob = block(batch).asnumpy()[0]
    start = time.perf_counter()
    for _ in range(runs):
        block(batch).wait_to_read()
    latency = (time.perf_counter() - start) / runs * 1000
    spec = block.signature.outputs[0]
    note = "" if spec.labels is not None else " (no class names in the model)"
    print(f"== Python: {image_path} {batch.shape[2]}x{batch.shape[1]}{note}")
    print("top-5:")
    for index, label, score in spec.top_k(prob, 5):
        print(f"  {index:4d} {label or '':<24} {score:.6f}")
    print(f"latency: {latency:.1f} ms per sample (batch 1, mean of {runs} runs)")
    for engine in installed_engines():  # the same file and pixels, the model's ONNX graph on another engine
        model = mxport.load(prefix, engine=engine)
        prob = model(batch).asnumpy()[0]
        start = time.perf_counter()
        for _ in range(runs):
            model(batch)
        latency = (time.perf_counter() - start) / runs * 1000
        print(f"== Python on {ENGINES[engine]} (mxport.load(..., engine='{engine}')): top-5")
        for index, label, score in spec.top_k(prob, 5):
            print(f"  {index:4d} {label or '':<24} {score:.6f}")
        print(f"latency: {latency:.1f} ms per sample (batch 1, mean of {runs} runs)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
