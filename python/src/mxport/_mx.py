"""The few places where mxport hands plain data to MXNet, each turning MXNet's failures into error codes."""

import json

import mxnet as mx
import numpy as np

from ._errors import MxportError, native_message
from ._params_header import check_params_header
from ._signature import TensorSpec


def symbol_from_graph(graph, path):
    try:
        # MXNet's JSON reader knows no \u escapes: non-ASCII names (a converter's) go as UTF-8 text
        return mx.sym.load_json(json.dumps(graph, ensure_ascii=False))
    except mx.base.MXNetError as e:
        raise MxportError("BAD_SYMBOL_JSON", f"MXNet cannot build the graph in {path}: {_first_line(e)}") from None


def params_from_bytes(data, path):
    """Parses an MXNet params file's bytes into {name: NDArray}, with the 'arg:'/'aux:' prefixes stripped."""
    check_params_header(data, path)  # before MXNet allocates what a damaged header claims
    try:
        loaded = mx.nd.load_frombuffer(data)
    except mx.base.MXNetError as e:
        raise MxportError(
            "BAD_PARAMS",
            f"MXNet cannot parse {path}: {_first_line(e)}; the file is damaged or "
            "not a params file: export the model again",
        ) from None
    except UnicodeDecodeError:
        raise MxportError(
            "BAD_PARAMS", f"{path}: an array name is not UTF-8 text; the file is damaged: export the model again"
        ) from None
    if not isinstance(loaded, dict):
        raise MxportError(
            "BAD_PARAMS", f"{path} holds unnamed arrays; a params file maps 'arg:'/'aux:' names to arrays"
        )
    for name, array in loaded.items():
        try:
            _ = (array.shape, array.dtype)  # MXNet parses absurd shapes, then refuses to say them
        except mx.base.MXNetError as e:
            raise MxportError(
                "BAD_PARAMS",
                f"{path}: array '{name}' is unusable: {_first_line(e)}; the file is damaged: export the model again",
            ) from None
    return {(k[4:] if k.startswith(("arg:", "aux:")) else k): v for k, v in loaded.items()}


def check_params(symbol, params, input_specs, path):
    """Checks that every parameter the graph needs is there, with the dtype and shape the graph infers."""
    inputs = {s.name for s in input_specs}
    needed = [n for n in symbol.list_arguments() + symbol.list_auxiliary_states() if n not in inputs]
    missing = [n for n in needed if n not in params]
    if missing:
        raise MxportError(
            "BAD_PARAMS",
            f"{path} lacks {len(missing)} array(s) the graph needs, e.g. {missing[:3]}; export the model again",
        )
    names = symbol.list_arguments() + symbol.list_auxiliary_states()
    try:
        arg_types, _, aux_types = symbol.infer_type(**{s.name: np.dtype(s.dtype) for s in input_specs})
    except mx.base.MXNetError as e:
        raise MxportError(
            "BAD_PARAMS", f"the graph's dtypes cannot be inferred from the inputs: {_first_line(e)}"
        ) from None
    for name, dtype in zip(names, list(arg_types or []) + list(aux_types or [])):
        if name in params and dtype is not None and np.dtype(params[name].dtype) != np.dtype(dtype):
            raise MxportError(
                "BAD_PARAMS",
                f"{path}: array '{name}' has dtype {np.dtype(params[name].dtype).name} "
                f"but the graph needs {np.dtype(dtype).name}; export the model again",
            )
    if any(d == -1 for s in input_specs for d in s.shape[1:]):
        return  # shapes depend on the data: MXNet checks them at the first call
    shapes = {s.name: (1,) + tuple(s.shape[1:]) for s in input_specs}
    try:
        arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    except mx.base.MXNetError as e:
        raise MxportError(
            "BAD_PARAMS", f"the graph's shapes cannot be inferred with these params: {_first_line(e)}"
        ) from None
    for name, shape in zip(names, list(arg_shapes or []) + list(aux_shapes or [])):
        if name in params and shape is not None and tuple(params[name].shape) != tuple(shape):
            raise MxportError(
                "BAD_PARAMS",
                f"{path}: array '{name}' has shape {list(params[name].shape)} but "
                f"the graph needs {list(shape)}; export the model again",
            )


def infer_output_specs(symbol, input_specs, example_shapes, names, layouts):
    """Output specs by shape inference at two batch sizes: a dimension that follows the batch is -1."""
    shapes_b = {n: (s[0] + 1,) + tuple(s[1:]) for n, s in example_shapes.items()}
    try:
        _, out_a, _ = symbol.infer_shape(**example_shapes)
        _, out_b, _ = symbol.infer_shape(**shapes_b)
        _, types, _ = symbol.infer_type(**{s.name: np.dtype(s.dtype) for s in input_specs})
    except mx.base.MXNetError as e:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"MXNet cannot infer the output shapes from the inputs {example_shapes}: {_first_line(e)}",
        ) from None
    if out_a is None or types is None:
        raise MxportError(
            "INVALID_ARGUMENT",
            f"MXNet cannot infer the output shapes from the inputs "
            f"{example_shapes}; give fixed input shapes or example inputs",
        )
    specs = []
    for name, a, b, t, layout in zip(names, out_a, out_b, types, layouts):
        shape = tuple(-1 if x != y else x for x, y in zip(a, b))
        specs.append(TensorSpec(name, shape, np.dtype(t).name, layout))
    return tuple(specs)


def _first_line(error):
    return native_message(error)
