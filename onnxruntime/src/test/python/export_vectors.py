"""Writes the ONNX files OnnxVectorsTest runs: every conformance vector through the Python exporter.

    python export_vectors.py <spec/vectors> <out dir>

For each vector and part ('model': load_transforms=True, 'network': False), mxport.export_onnx writes
<out>/<case>-<part>.onnx, or refuses the vector; <out>/exported.json records, per vector, the files written
({"model": ..., "network": ...}) or the code of the refusal ({"error": "NO_SIGNATURE"}), so that the Java test
checks the reasons spec/onnx_tolerances.json gives against what the exporter does.
"""

import json
import os
import sys

import mxport


def main(vectors, out):
    os.makedirs(out, exist_ok=True)
    exported = {}
    for name in sorted(os.listdir(vectors)):
        if not os.path.isfile(os.path.join(vectors, name, "case.json")):
            continue
        prefix = os.path.join(vectors, name, "model")
        try:
            files = {}
            for part, transforms in (("model", True), ("network", False)):
                files[part] = f"{name}-{part}.onnx"
                mxport.export_onnx(prefix, os.path.join(out, files[part]), load_transforms=transforms)
            exported[name] = files
        except mxport.MxportError as e:
            exported[name] = {"error": e.code}
    with open(os.path.join(out, "exported.json"), "w") as f:
        json.dump(exported, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
