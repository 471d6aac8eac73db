"""export's tracing step: each block of the pre-processing, the network and the post-processing run on symbols,
with errors that name the block that cannot become a graph."""

import dataclasses

import mxnet as mx
import numpy as np
from mxnet import gluon

from ._errors import Fix, MxportError, native_message
from ._inputs import check_inputs
from ._rules import name_problem
from ._signature import Signature


@dataclasses.dataclass
class _Traced:
    """What one imperative pass learnt: the blocks per port, the output names, and every parameter."""

    specs: tuple
    examples: list
    pre: list
    post: list
    names: list
    params: dict  # name -> gluon Parameter, of net, preprocess and postprocess


def _trace(net, specs, preprocess, postprocess, output_names, example_inputs):
    """One imperative pass on the example inputs: completes deferred initialisation, counts the outputs and
    names them, and checks that each block gives arrays."""
    pre = _per_port(preprocess, len(specs), "preprocess", "input")
    examples = _examples(specs, example_inputs)
    features = [
        _run_block(p, x, f"preprocess of input '{s.name}'") if p is not None else x
        for s, p, x in zip(specs, pre, examples)
    ]
    try:
        raw = net(*features)
    except Exception as e:  # Gluon reports uninitialised parameters and bad shapes with several types
        raise MxportError(
            "INVALID_ARGUMENT",
            f"the network does not run on the example inputs {[x.shape for x in examples]}: {type(e).__name__}: {e}",
        ) from None
    outputs = list(raw) if isinstance(raw, (list, tuple)) else [raw]
    post = _per_port(postprocess, len(outputs), "postprocess", "output")
    names = _output_names(output_names, len(outputs))
    for j, (name, p, y) in enumerate(zip(names, post, outputs)):
        if p is not None:
            _run_block(p, y, f"postprocess {j} (of output '{name}')")
    params = {}
    for block in [net] + [p for p in pre + post if p is not None]:
        for param in block.collect_params().values():
            params[param.name] = param
    clash = [s.name for s in specs if s.name in params]
    if clash:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"input '{clash[0]}' has the name of a parameter of the network "
            "(the two would become one variable of the graph): give the input another name",
        )
    return _Traced(specs, examples, pre, post, names, params)


def _run_block(block, x, what):
    """``block`` on an example array: its output, or an error naming the block and what it gave."""
    try:
        y = block(x)
    except Exception as e:
        reason = f"{type(e).__name__}: {native_message(e)}"
        raise MxportError(
            "INVALID_ARGUMENT",
            f"{what} ({type(block).__name__}) does not run on an array of shape {list(x.shape)}: {reason[:300]}",
        ) from None
    if not isinstance(y, mx.nd.NDArray):
        raise MxportError(
            "INVALID_ARGUMENT",
            f"{what} ({type(block).__name__}) returned {_kind(y)}, not an "
            "NDArray: a transform block gives one array; use F.* operators, not .asnumpy()",
        )
    return y


def _kind(value):
    if isinstance(value, np.ndarray):
        return f"a numpy array ({value.dtype}{list(value.shape)})"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return f"a {type(value).__name__}"


def _symbolic(block, x, what):
    """``block`` applied to symbols, or an error naming the block and why it cannot become a graph."""
    try:
        return block(*x) if isinstance(x, list) else block(x)
    except Exception as e:  # AttributeError (asnumpy), NotImplementedForSymbol (shape), TypeError (branches)...
        reason = f"{type(e).__name__}: {native_message(e)}"
        raise MxportError(
            "INVALID_ARGUMENT",
            f"{what} ({type(block).__name__}) cannot be hybridized into a graph "
            f"({reason[:300]}): its hybrid_forward must use only F.* operators, with no .asnumpy(), "
            "no x.shape and no Python branch on values",
        ) from None


def _per_port(blocks, count, what, port):
    if blocks is None:
        return [None] * count
    if not isinstance(blocks, (list, tuple)):
        if count != 1:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"the model has {count} {port}s: give {what} as a list with one HybridBlock or None per {port}",
            )
        blocks = [blocks]
    if len(blocks) != count:
        raise MxportError("INVALID_ARGUMENT", f"{what} has {len(blocks)} entries but the model has {count} {port}s")
    for b in blocks:
        if b is not None and not isinstance(b, gluon.HybridBlock):
            raise MxportError(
                "INVALID_ARGUMENT",
                f"{what} entries must be gluon.HybridBlock or None, got "
                f"{type(b).__name__}; wrap plain functions in gluon.nn.HybridLambda",
            )
    return list(blocks)


def _examples(specs, example_inputs):
    if example_inputs is None:
        return [mx.nd.zeros(tuple(1 if d == -1 else d for d in s.shape), dtype=s.dtype) for s in specs]
    if len(example_inputs) != len(specs):
        raise MxportError(
            "INVALID_ARGUMENT", f"example_inputs has {len(example_inputs)} arrays for {len(specs)} inputs"
        )
    check_inputs(Signature(specs, specs), example_inputs)
    return [mx.nd.array(x, dtype=x.dtype) if isinstance(x, np.ndarray) else x for x in example_inputs]


def _output_names(output_names, count):
    if isinstance(output_names, str):
        output_names = [output_names]  # one output's name, not a sequence of one-letter names
    names = list(output_names) if output_names is not None else [f"output{j}" for j in range(count)]
    if len(names) != count or len(set(names)) != count:
        raise MxportError(
            "INVALID_ARGUMENT", f"output_names {names} must name the network's {count} output(s), each once"
        )
    for n in names:
        problem = name_problem(n)
        if problem:
            raise MxportError(
                "INVALID_ARGUMENT",
                f"output {problem}: an mxport model's names follow the spec's name rule",
                Fix.argument("output_names", ["prob"], before="give the outputs such names, e.g. "),
            )
    return names
