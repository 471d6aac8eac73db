"""Prints what pip installs with ``mxport[EXTRA]`` where MXNet 1.9.1 has no wheel: the installed mxport's own
requirements (its metadata, from python/pyproject.toml), their markers evaluated for Linux aarch64, which stands
for every such platform (spec/RUNTIME.md section 8). The Makefile's no-mxnet-setup installs them.

    python without_mxnet_requirements.py onnxruntime > requirements.txt
"""

import importlib.metadata
import sys

from pip._vendor.packaging.requirements import Requirement  # pip's own copy: the venv holds nothing else yet

extra = sys.argv[1]
for line in importlib.metadata.requires("mxport"):
    requirement = Requirement(line)
    if requirement.marker is None or requirement.marker.evaluate({"platform_machine": "aarch64", "extra": extra}):
        print(line.split(";")[0].strip())
