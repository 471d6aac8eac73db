"""Where an ONNX engine spends its time on one file: per-node times, and CPU time per sample (issue #23).

    python benchmarks/engine_profile.py .cache/models/resnet18.onnx --engine openvino --batch 25 --threads 1
    python benchmarks/engine_profile.py .cache/models/resnet18-qdq.onnx --engine onnxruntime --fused
    python benchmarks/engine_profile.py .cache/models/resnet18.onnx --precision bf16    # OpenVINO's bf16 hint

Runs the file as benchmarks/engine_rows.py's bare rows do (OpenVINO at INFERENCE_PRECISION_HINT f32, or bf16 with
``--precision bf16``; ONNX Runtime
with every graph optimisation), with the engine's own profiler on (OpenVINO ``PERF_COUNT`` and
``request.profiling_info``; ONNX Runtime ``enable_profiling``), on seeded input: uint8 [N, 300, 300, 3] for an
end-to-end file, float32 [N, 3, 224, 224] for the network alone. Prints the slowest nodes with the kernel the
engine picked (OpenVINO's ``ref_*`` is its reference implementation), the time of the pre-processing nodes (those
named after ``resize``, ``totensor``, ``normalize``) against the rest, and wall and CPU milliseconds per sample of
the timed calls: with one thread, CPU time moves less than wall time when other processes share the cores (profiled
runs are slower than engine_bench.py's). ``--fused`` lists the operator types of ONNX Runtime's optimised graph
(whether QDQ pairs became QLinearConv). Compare files only within one run of this script or interleaved runs.
"""

import argparse
import collections
import json
import os
import tempfile
import time

import numpy as np

PRE = ("resize", "totensor", "normalize")


def feed(dtype, batch):
    rng = np.random.default_rng(0)
    if dtype == "uint8":
        return rng.integers(0, 256, (batch, 300, 300, 3), dtype=np.uint8)
    return rng.standard_normal((batch, 3, 224, 224)).astype(np.float32)


def openvino(path, batch, threads, precision="f32"):
    import openvino as ov

    config = {"INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": threads, "PERF_COUNT": True}
    compiled = ov.Core().compile_model(path, "CPU", config)
    request = compiled.create_infer_request()
    x = feed("uint8" if compiled.input(0).get_element_type() == ov.Type.u8 else "float32", batch)
    nodes = collections.Counter()

    def run():
        request.infer({0: x})
        for p in request.profiling_info:
            if p.real_time.total_seconds() > 0:
                nodes[(p.node_name, f"{p.node_type} {p.exec_type}")] += p.real_time.total_seconds()

    return run, nodes, lambda: None


def onnxruntime(path, batch, threads, fused):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.enable_profiling = True
    options.profile_file_prefix = os.path.join(tempfile.gettempdir(), "engine_profile")
    options.log_severity_level = 3
    if fused:
        options.optimized_model_filepath = fused
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name, dtype = session.get_inputs()[0].name, session.get_inputs()[0].type
    x = feed("uint8" if dtype == "tensor(uint8)" else "float32", batch)
    nodes = collections.Counter()

    def collect():
        trace = session.end_profiling()
        with open(trace) as f:
            events = json.load(f)
        os.remove(trace)
        for e in events:
            if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
                nodes[(e["name"][: -len("_kernel_time")], e["args"].get("op_name", "?"))] += e["dur"] / 1e6

    return (lambda: session.run(None, {name: x})), nodes, collect


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("file")
    p.add_argument("--engine", choices=["openvino", "onnxruntime"], default="openvino")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--fused", action="store_true", help="ONNX Runtime: the operator types of its optimised graph")
    p.add_argument("--precision", choices=["f32", "bf16"], default="f32", help="OpenVINO's INFERENCE_PRECISION_HINT")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fused = os.path.join(tmp, "optimized.onnx") if a.fused and a.engine == "onnxruntime" else None
        if a.engine == "openvino":
            run, nodes, collect = openvino(a.file, a.batch, a.threads, a.precision)
        else:
            run, nodes, collect = onnxruntime(a.file, a.batch, a.threads, fused)
        for _ in range(3):
            run()
        nodes.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(a.runs):
            run()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        collect()
        if a.engine == "onnxruntime":  # its trace holds the warm-up calls too
            runs = a.runs + 3
        else:
            runs = a.runs
        if fused:
            import onnx

            kinds = collections.Counter(n.op_type for n in onnx.load(fused).graph.node)
            print("optimised graph:", dict(kinds.most_common()))
    per_sample = 1e3 / a.runs / a.batch
    print(
        f"{os.path.basename(a.file)} on {a.engine}{f' {a.precision}' if a.engine == 'openvino' else ''}, batch {a.batch}, {a.threads} thread(s): wall "
        f"{wall * per_sample:.2f} ms, CPU {cpu * per_sample:.2f} ms per sample (profiler on); load average "
        f"{os.getloadavg()[0]:.1f}"
    )
    groups = collections.Counter()
    for (name, _), seconds in nodes.items():
        groups["pre-processing" if any(t in name for t in PRE) else "rest"] += seconds / runs * 1e3
    print("node time per call (ms):", {k: round(v, 3) for k, v in groups.items()})
    for (name, kind), seconds in nodes.most_common(a.top):
        print(f"{seconds / runs * 1e3:9.3f} ms  {kind:36s} {name}")


if __name__ == "__main__":
    main()
