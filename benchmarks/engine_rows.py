"""Times one Python row of benchmarks/engine_bench.py, in a process of its own, and prints one JSON line.

    python benchmarks/engine_rows.py --row mxport|bare --engine mxnet|onnxruntime|openvino --part model|network
        --batch 1 --runs 200 --threads 2 --pixels FILE --model .cache/models/resnet18[.onnx] [--precision bf16]

mxport: ``mxport.load`` on the engine (a model prefix on MXNet, an ``.onnx`` file written by export_onnx, or its
int8 QDQ file, on ONNX Runtime and OpenVINO). bare: the ONNX engine on the same file with no mxport code
(``onnxruntime.InferenceSession`` as io.mxport.bench.EngineBench's bare row, ``openvino.Core().compile_model``
at ``--precision``'s ``INFERENCE_PRECISION_HINT``: f32 unless bf16), with ``--threads`` intra-op threads. The
model part takes a uint8 batch of [N, 300, 300, 3], the bytes of ``--pixels`` (which the Java rows read too); the
network part a seeded float32 batch of [N, 3, 224, 224]. The time covers the input as the API takes it to the
output in host memory.
"""

import argparse
import json
import os

import mxport  # first: the thread rule of spec/RUNTIME.md (MXPORT_NUM_THREADS), then MXNet

import numpy as np  # noqa: E402
from python_rows import timed  # noqa: E402


def inputs(part, batch, pixels):
    if part == "model":
        with open(pixels, "rb") as f:  # the Java rows' bytes: both languages compute on one input
            return np.frombuffer(f.read(), np.uint8)[: batch * 300 * 300 * 3].reshape(batch, 300, 300, 3)
    return np.random.default_rng(0).standard_normal((batch, 3, 224, 224)).astype(np.float32)


def runner(row, engine, part, model, threads, precision):
    if row == "mxport":
        block = mxport.load(model, load_transforms=part == "model", engine=engine)
        if engine == "mxnet":
            import mxnet as mx

            how = str(mxport.environment.applied())
            return (lambda x: block(x).asnumpy()), how, (lambda x: mx.nd.array(x, dtype=x.dtype))
        how = f"mxport.environment.onnx_threads() = {mxport.environment.onnx_threads()}"
        return (lambda x: block(x).asnumpy()), how, (lambda x: x)
    if engine == "openvino":
        import openvino as ov

        hint = "bf16" if precision == "bf16" else "f32"
        config = {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": threads}
        compiled = ov.Core().compile_model(model, "CPU", config)
        request = compiled.create_infer_request()
        used = compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # f32 on a CPU without bf16
        how = (
            f"INFERENCE_NUM_THREADS {threads}, INFERENCE_PRECISION_HINT {hint}, used {used} (openvino {ov.__version__})"
        )
        return (lambda x: np.array(request.infer({0: x})[0])), how, (lambda x: x)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    how = f"per-session pool of {threads} intra-op thread(s), inter-op 1 (onnxruntime {ort.__version__})"
    return (lambda x: session.run(None, {name: x})[0]), how, (lambda x: x)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--row", choices=["mxport", "bare"], required=True)
    p.add_argument("--engine", choices=["mxnet", "onnxruntime", "openvino"], required=True)
    p.add_argument("--part", choices=["model", "network"], required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--runs", type=int, required=True)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--pixels", required=True, help="the uint8 input's bytes, shared with the Java rows")
    p.add_argument("--model", required=True)
    p.add_argument("--precision", default="fp32", help="fp32, int8 (the file says which) or bf16 (bare OpenVINO)")
    a = p.parse_args()
    run, how, as_input = runner(a.row, a.engine, a.part, a.model, a.threads, a.precision)
    x = as_input(inputs(a.part, a.batch, a.pixels))  # built once, as the Java rows build theirs once
    row = {"language": "Python", "row": a.row, "engine": a.engine, "precision": a.precision, "part": a.part}
    print(json.dumps(dict(row, batch=a.batch, runs=a.runs, threads=how, **timed(run, x, a.batch, a.warmup, a.runs))))


if __name__ == "__main__":
    main()
