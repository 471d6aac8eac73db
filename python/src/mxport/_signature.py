"""TensorSpec and Signature: the value types of spec/FORMAT.md section 2, and their JSON form."""

import json
import re
from dataclasses import dataclass, field
from typing import Optional, Tuple

from ._errors import MxportError
from ._rules import (
    READ_VERSIONS,
    _NEW_KEYS,
    _SPEC_KEYS,
    _TOP_KEYS,
    _labels_problem,
    _spec_problem,
    metadata_problem,
    name_problem,
    optimization_problem,
)


@dataclass(frozen=True)
class TensorSpec:
    """The name, shape, dtype and layout of one input or output.

    >>> TensorSpec("data", (-1, 300, 300, 3), "uint8", "NHWC")

    ``-1`` marks a dynamic dimension (the batch dimension, dimension 0, at least). ``layout`` may be None
    when unknown. The name of a spec that mxport writes (``export``'s inputs and output names) matches
    ``^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$``; an old model's input descriptions and outputs carry the graph's own
    names, whatever they are (``TensorSpec("input.1", ...)``, ``"/Softmax_output"``, ``"0"``). An output may carry ``labels``: one class name per index of its last dimension
    (``export(..., labels={"prob": names})``); :meth:`top_k` uses them.
    """

    name: str
    shape: Tuple[int, ...]
    dtype: str = "float32"
    layout: Optional[str] = None
    labels: Optional[Tuple[str, ...]] = field(default=None, repr=False)

    def __post_init__(self):
        shape = tuple(self.shape) if isinstance(self.shape, (list, tuple)) else self.shape
        object.__setattr__(self, "shape", shape)
        problem = _spec_problem(self.name, shape, self.dtype, self.layout)
        if problem is None and self.labels is not None:
            problem = _labels_problem(self.name, shape, self.labels)
            object.__setattr__(self, "labels", tuple(self.labels))
        if problem:
            raise MxportError("INVALID_ARGUMENT", f"bad TensorSpec: {problem}")

    def to_dict(self):
        d = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype, "layout": self.layout}
        if self.labels is not None:
            d["labels"] = list(self.labels)
        return d

    def top_k(self, scores, k=5):
        """The k largest of one sample's scores, largest first (ties: lower index first), as
        ``[(index, label, score)]``; label is None when the output carries no labels.

        >>> sig.outputs[0].top_k(prob[0])   # [(282, 'tiger cat', 0.40), (285, 'Egyptian cat', 0.35), ...]
        """
        import numpy as np

        scores = np.asarray(scores)
        if scores.ndim != 1 or scores.shape[0] != self.shape[-1]:
            raise MxportError(
                "SHAPE_MISMATCH",
                f"top_k takes one sample's scores of '{self.name}', shape "
                f"[{self.shape[-1]}]; got shape {list(scores.shape)}: pass outputs[i] for sample i",
            )
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise MxportError("INVALID_ARGUMENT", f"k must be a positive integer, got {k!r}")
        order = np.argsort(-scores, kind="stable")[:k]
        return [(int(i), self.labels[i] if self.labels is not None else None, scores[i].item()) for i in order]

    @staticmethod
    def _from_dict(d, where, labels_allowed=False):
        keys = _SPEC_KEYS | {"labels"} if labels_allowed else _SPEC_KEYS
        if not isinstance(d, dict) or not _SPEC_KEYS <= set(d) <= keys:
            raise MxportError(
                "BAD_SIGNATURE",
                f"{where}: a tensor spec must be an object with the fields "
                f"{sorted(_SPEC_KEYS)}" + (" and optionally 'labels'" if labels_allowed else "") + f", got {d!r:.200}",
            )
        problem = name_problem(d["name"]) or _spec_problem(d["name"], d["shape"], d["dtype"], d["layout"])
        if problem is None and "labels" in d:
            problem = _labels_problem(d["name"], d["shape"], d["labels"])
        if problem:
            raise MxportError("BAD_SIGNATURE", f"{where}: {problem}")
        labels = tuple(d["labels"]) if "labels" in d else None
        return TensorSpec(d["name"], tuple(d["shape"]), d["dtype"], d["layout"], labels)

    def __str__(self):
        return f"{self.name}: {self.dtype}{list(self.shape)} {self.layout or '-'}"


@dataclass(frozen=True)
class Signature:
    """What a model takes and gives: ordered inputs and outputs.

    A model's signature also holds ``network``, the signature of the network alone (what
    ``load(..., load_transforms=False)`` exposes), and the digest of its params file. The signature of a
    network alone, or of an old model, has ``network`` None. ``metadata`` is the model's string map (name,
    licence, source...; ``export(..., metadata={...})``), empty when the model has none. ``optimization``
    says how the network was optimised at export (``export(..., optimize="fused"|"int8")``), e.g.
    ``{"kind": "int8", "backend": "MKLDNN", "calibration_mode": "naive", "calibration_samples": 200,
    "excluded_layers": []}``; None for an fp32 graph as written.
    """

    inputs: Tuple[TensorSpec, ...]
    outputs: Tuple[TensorSpec, ...]
    network: Optional["Signature"] = None
    params_sha256: Optional[str] = None
    params_size: Optional[int] = None
    producer: dict = field(default_factory=dict, compare=False)
    metadata: dict = field(default_factory=dict)
    optimization: Optional[dict] = None

    @property
    def input_names(self):
        return [s.name for s in self.inputs]

    @property
    def output_names(self):
        return [s.name for s in self.outputs]

    @property
    def format_version(self):
        """The version a writer writes: the lowest that holds the signature, so older readers still read it:
        3 with an optimization record, else 2 with labels or metadata, else 1."""
        if self.optimization is not None:
            return 3
        return 2 if self.metadata or any(s.labels is not None for s in self.outputs) else 1

    def to_json(self):
        """The compact JSON stored in the ``__mxport_signature__`` node attribute."""
        doc = {
            "mxport_format": self.format_version,
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
            "network": {
                "inputs": [s.to_dict() for s in self.network.inputs],
                "outputs": [s.to_dict() for s in self.network.outputs],
            },
            "params": {"sha256": self.params_sha256, "size": self.params_size},
        }
        if self.producer:
            doc["producer"] = self.producer
        if self.metadata:
            doc["metadata"] = dict(self.metadata)
        if self.optimization is not None:
            doc["optimization"] = dict(self.optimization)
        return json.dumps(doc, separators=(",", ":"))

    @staticmethod
    def from_json(text):
        """Parses and checks a signature (spec section 2); raises MxportError BAD_SIGNATURE or
        UNSUPPORTED_FORMAT_VERSION."""
        try:
            doc = json.loads(text)
        except (ValueError, TypeError) as e:
            raise MxportError("BAD_SIGNATURE", f"the signature is not JSON ({e}); re-export the model") from None
        if not isinstance(doc, dict):
            raise MxportError("BAD_SIGNATURE", "the signature must be a JSON object; re-export the model")
        version = doc.get("mxport_format")
        if isinstance(version, bool) or not isinstance(version, int):
            raise MxportError("BAD_SIGNATURE", f"'mxport_format' must be an integer, got {version!r}")
        if version not in READ_VERSIONS:
            raise MxportError(
                "UNSUPPORTED_FORMAT_VERSION",
                f"the model has format version {version}; this mxport reads versions "
                f"{list(READ_VERSIONS)}: upgrade mxport",
            )
        known = _TOP_KEYS - set().union(*(keys for v, keys in _NEW_KEYS.items() if v > version))
        extra = set(doc) - known
        missing = _TOP_KEYS - {"producer", "metadata", "optimization"} - set(doc)
        if extra or missing:
            raise MxportError("BAD_SIGNATURE", f"signature fields: missing {sorted(missing)}, unknown {sorted(extra)}")
        net = doc["network"]
        if not isinstance(net, dict) or set(net) != {"inputs", "outputs"}:
            raise MxportError("BAD_SIGNATURE", "'network' must be an object with exactly 'inputs' and 'outputs'")
        lists = {}
        for where, value in (
            ("inputs", doc["inputs"]),
            ("outputs", doc["outputs"]),
            ("network.inputs", net["inputs"]),
            ("network.outputs", net["outputs"]),
        ):
            if not isinstance(value, list) or not value:
                raise MxportError("BAD_SIGNATURE", f"'{where}' must be a non-empty list")
            labels_allowed = version >= 2 and where == "outputs"
            specs = tuple(TensorSpec._from_dict(d, f"{where}[{i}]", labels_allowed) for i, d in enumerate(value))
            names = [s.name for s in specs]
            if len(set(names)) != len(names):
                raise MxportError("BAD_SIGNATURE", f"'{where}' has duplicate names {names}")
            lists[where] = specs
        for kind in ("inputs", "outputs"):
            model = [s.name for s in lists[kind]]
            network = [s.name for s in lists["network." + kind]]
            if model != network:
                raise MxportError(
                    "BAD_SIGNATURE",
                    f"network {kind} {network} must have the names of the model {kind} {model}, in order",
                )
        params = _checked_params(doc["params"])
        producer = doc.get("producer", {})
        if not isinstance(producer, dict):
            raise MxportError("BAD_SIGNATURE", "'producer' must be an object")
        metadata = doc.get("metadata", {})
        problem = metadata_problem(metadata)
        if problem:
            raise MxportError("BAD_SIGNATURE", problem)
        optimization = doc.get("optimization")
        if "optimization" in doc:
            problem = optimization_problem(optimization)
            if problem:
                raise MxportError("BAD_SIGNATURE", problem)
        network = Signature(lists["network.inputs"], lists["network.outputs"])
        return Signature(
            lists["inputs"],
            lists["outputs"],
            network,
            params["sha256"],
            params["size"],
            producer,
            metadata,
            optimization,
        )

    def describe(self):
        """A table of the signature, as ``mxport inspect`` prints it."""
        rows = [("", "name", "dtype", "shape", "layout")]

        def add(kind, specs):
            for s in specs:
                rows.append((kind, s.name, s.dtype, "[" + ",".join(map(str, s.shape)) + "]", s.layout or "-"))

        add("input", self.inputs)
        add("output", self.outputs)
        if self.network is not None:
            add("network input", self.network.inputs)
            add("network output", self.network.outputs)
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        for s in self.outputs:
            if s.labels is not None:
                shown = ", ".join(f"{i} {x}" for i, x in enumerate(s.labels[:3]))
                more = f", ... {len(s.labels) - 1} {s.labels[-1]}" if len(s.labels) > 3 else ""
                lines.append(f"labels of {s.name}: {len(s.labels)} ({shown}{more})")
        for k, v in self.metadata.items():
            lines.append(f"metadata {k}: {v}")
        if self.params_sha256:
            lines.append(f"params: {self.params_size} bytes, sha256 {self.params_sha256}")
        if self.network is not None:  # a model's signature, not an old model's inferred one
            lines.append(f"optimization: {describe_optimization(self.optimization)}")
        return "\n".join(lines)


def describe_optimization(opt):
    """One line saying how a network was optimised, as ``mxport inspect`` prints it."""
    if opt is None:
        return "none (fp32 graph as exported)"
    if opt["kind"] == "fused":
        return f"fused (oneDNN subgraph fusion, backend {opt['backend']}, fp32)"
    excluded = ", ".join(opt["excluded_layers"]) or "none"
    return (
        f"int8 (quantised, backend {opt['backend']}, {opt['calibration_mode']} calibration on "
        f"{opt['calibration_samples']} samples; layers kept fp32: {excluded})"
    )


def _checked_params(params):
    """The signature's 'params' record (spec section 2), or BAD_SIGNATURE."""
    if (
        not isinstance(params, dict)
        or set(params) != {"sha256", "size"}
        or not isinstance(params["sha256"], str)
        or not re.fullmatch(r"[0-9a-f]{64}", params["sha256"])
        or isinstance(params["size"], bool)
        or not isinstance(params["size"], int)
        or params["size"] < 0
    ):
        raise MxportError("BAD_SIGNATURE", '\'params\' must be {"sha256": <64 lowercase hex>, "size": <bytes>}')
    return params
