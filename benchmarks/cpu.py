"""The CPU a benchmark ran on, as every report records it: model name, usable cores and the ISA flags that decide
which kernels MXNet's oneDNN 2.4.4, ONNX Runtime and OpenVINO pick (compare figures only within one run)."""

import os

ISA = ("avx2", "avx512f", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_bf16", "amx_int8")


def describe():
    info = open("/proc/cpuinfo").read().splitlines()
    flags = next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), [])
    return {
        "cpu": next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "?"),
        "cores": len(os.sched_getaffinity(0)),
        "isa": {f: f in flags for f in ISA},
    }


def isa_line(isa):
    """``avx2, avx512f, ...``: the flags of ISA the CPU has."""
    return ", ".join(f for f, on in isa.items() if on) or "none of " + ", ".join(ISA)
