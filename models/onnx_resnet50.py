"""An old MXNet model as a converter leaves it: a ResNet-50 that went through ONNX with PyTorch-exporter names.

    python models/onnx_resnet50.py .cache/models/onnx_resnet50      # the integration test builds it when absent

What it builds, with fixed seeds and no network (issue 13, part 4):

1. Gluon's ``resnet50_v1`` (the full ResNet-50 v1 architecture, 224x224 input, 25.6 M parameters), He-initialised
   (``Xavier(gaussian, in, 2)``), with seeded BatchNorm statistics so the logits are of order 1-10 and the
   softmax is not one-hot; a softmax after it.
2. Exported to ONNX (``mx.onnx.export_model``, opset 13, dynamic batch), then every name rewritten the way the
   PyTorch exporter writes them: nodes ``/layer1/layer1.0/conv1/Conv``, tensors
   ``/layer1/layer1.0/conv1/Conv_output_0``, parameters ``layer1.0.conv1.weight`` and ``onnx::Conv_497``, the
   input ``input.1``, the output ``495``, the softmax node ``/Softmax``. Written as ``<prefix>.onnx``.
3. Imported with ``mx.contrib.onnx.import_model`` and saved as stock MXNet saves a model:
   ``<prefix>-symbol.json`` and ``<prefix>-0000.params`` (98 MB). Its output is ``/Softmax_output``.

Also written: ``<prefix>-input.npy`` (2 seeded images), ``<prefix>.recipe`` (the work is skipped when it has not
changed). The ONNX file is what onnxruntime runs as the reference.
"""

import json
import os
import re
import sys

import mxnet as mx
import numpy as np

RECIPE = {
    "net": "resnet50_v1",
    "seed": 50,
    "opset": 13,
    "input": [2, 3, 224, 224],
    "names": "pytorch-exporter/1",
    "gamma": [0.45, 0.85],
}
INPUT = "input.1"
OUTPUT = "495"
MXNET_OUTPUT = "/Softmax_output"


def _he():
    return mx.init.Xavier(rnd_type="gaussian", factor_type="in", magnitude=2)


def gluon_net(seed):
    """ResNet-50 v1 with a softmax, He init and seeded BatchNorm statistics (non-degenerate outputs)."""
    from mxnet import gluon

    mx.random.seed(seed)
    net = gluon.model_zoo.vision.resnet50_v1(pretrained=False)
    net.initialize(_he())
    net(mx.nd.zeros((1, 3, 224, 224)))  # completes the deferred initialisation
    rng = np.random.RandomState(seed)
    for name, p in net.collect_params().items():
        shape = p.shape
        if name.endswith("gamma"):
            p.set_data(mx.nd.array(rng.uniform(0.45, 0.85, shape)))
        elif name.endswith("beta"):
            p.set_data(mx.nd.array(rng.uniform(-0.1, 0.1, shape)))
        elif name.endswith("running_mean"):
            p.set_data(mx.nd.array(rng.uniform(-0.1, 0.1, shape)))
        elif name.endswith("running_var"):
            p.set_data(mx.nd.array(rng.uniform(0.5, 1.5, shape)))
    return net


def _pytorch_names(model):
    """Renames every node, tensor and initializer of an ONNX model the way torch.onnx.export names them."""
    graph = model.graph
    stage_of = lambda n: (re.search(r"stage(\d+)_", n) or [None, None])[1]  # noqa: E731
    counters, tensor = {}, {}
    for node in graph.node:
        stage = stage_of(node.name) or stage_of(node.output[0])
        scope = f"/layer{stage}/layer{stage}.{counters.get(('unit', stage), 0) // 10}" if stage else ""
        if stage:
            counters[("unit", stage)] = counters.get(("unit", stage), 0) + 1
        k = counters.get((scope, node.op_type), 0)
        counters[(scope, node.op_type)] = k + 1
        node.name = f"{scope}/{node.op_type}" + (f"_{k}" if k else "")
        if node.op_type == "Softmax":
            node.name = "/Softmax"
        for i, out in enumerate(node.output):
            tensor[out] = f"{node.name}_output_{i}"
    params = {}
    for j, init in enumerate(graph.initializer):
        stage = stage_of(init.name)
        kind = init.name.rsplit("_", 1)[-1]
        new = f"layer{stage}.{j}.{kind}" if stage and j % 3 else f"onnx::Conv_{497 + j}"
        params[init.name] = new
    tensor.update(params)
    tensor[graph.input[0].name] = INPUT
    tensor[graph.output[0].name] = OUTPUT
    for node in graph.node:
        node.input[:] = [tensor.get(x, x) for x in node.input]
        node.output[:] = [tensor.get(x, x) for x in node.output]
    for init in graph.initializer:
        init.name = tensor[init.name]
    for value in list(graph.input) + list(graph.output) + list(graph.value_info):
        value.name = tensor.get(value.name, value.name)
    return model


def build(prefix):
    """Writes the model files (see the module docstring) unless the recipe is unchanged; returns the paths."""
    import onnx
    from mxnet.contrib import onnx as onnx_mxnet

    paths = {
        "onnx": prefix + ".onnx",
        "symbol": prefix + "-symbol.json",
        "params": prefix + "-0000.params",
        "input": prefix + "-input.npy",
        "recipe": prefix + ".recipe",
    }
    recipe = json.dumps(dict(RECIPE, mxnet=mx.__version__, onnx=onnx.__version__), sort_keys=True)
    if all(os.path.exists(p) for p in paths.values()) and open(paths["recipe"]).read() == recipe:
        return paths
    os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
    net = gluon_net(RECIPE["seed"])
    data = mx.sym.var("data")
    sym = mx.sym.softmax(net(data), name="softmax")
    params = {k: v.data() for k, v in net.collect_params().items()}
    onnx_tmp = paths["onnx"] + ".tmp"
    mx.onnx.export_model(
        sym,
        params,
        in_shapes=[tuple(RECIPE["input"])],
        in_types=[np.float32],
        onnx_file_path=onnx_tmp,
        dynamic=True,
        dynamic_input_shapes=[(None, 3, 224, 224)],
    )
    model = _pytorch_names(onnx.load(onnx_tmp))  # initializers stay graph inputs: MXNet's importer needs that
    onnx.checker.check_model(model)
    onnx.save(model, paths["onnx"])
    os.remove(onnx_tmp)
    sym, arg, aux = onnx_mxnet.import_model(paths["onnx"])
    sym.save(paths["symbol"])
    mx.nd.save(paths["params"], {**{"arg:" + k: v for k, v in arg.items()}, **{"aux:" + k: v for k, v in aux.items()}})
    x = np.random.RandomState(RECIPE["seed"]).uniform(-2, 2, RECIPE["input"]).astype(np.float32)
    np.save(paths["input"], x)
    with open(paths["recipe"], "w") as f:
        f.write(recipe)
    return paths


def onnxruntime_session(onnx_path, threads=2):
    """An onnxruntime session over the ONNX file, its initializers taken out of the graph inputs (onnxruntime
    folds constants only then, as in the PyTorch exporter's files)."""
    import onnx
    import onnxruntime

    model = onnx.load(onnx_path)
    inits = {i.name for i in model.graph.initializer}
    kept = [i for i in model.graph.input if i.name not in inits]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    return onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])


if __name__ == "__main__":
    built = build(sys.argv[1] if len(sys.argv) > 1 else ".cache/models/onnx_resnet50")
    print("\n".join(f"{k}: {v}" for k, v in built.items()))
