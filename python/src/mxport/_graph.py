"""The symbol JSON graph: checks and cuts of spec/FORMAT.md sections 4 and 5, on plain dicts."""

import json

from ._errors import MxportError
from ._signature import Signature

SIGNATURE_ATTR = "__mxport_signature__"
CONNECTOR_ATTR = "__mxport_connector__"
PORT_ATTR = "__mxport_port__"
BATCHIFY = "batchify"
NOOP = "noop"


def parse_graph(text, path):
    """Parses a symbol file's text and checks that it is an MXNet graph (spec section 6, step 1)."""
    try:
        graph = json.loads(text)
    except (ValueError, TypeError) as e:
        raise MxportError(
            "BAD_SYMBOL_JSON", f"{path} is not JSON ({e}); it must be a symbol file written by MXNet or mxport.export"
        ) from None
    if (
        not isinstance(graph, dict)
        or not isinstance(graph.get("nodes"), list)
        or not isinstance(graph.get("heads"), list)
        or not graph["nodes"]
        or not graph["heads"]
    ):
        raise MxportError(
            "BAD_SYMBOL_JSON", f"{path} is JSON but not an MXNet graph: it needs non-empty lists 'nodes' and 'heads'"
        )
    for i, node in enumerate(graph["nodes"]):
        if (
            not isinstance(node, dict)
            or not isinstance(node.get("op"), str)
            or not isinstance(node.get("name"), str)
            or not isinstance(node.get("inputs", []), list)
        ):
            raise MxportError(
                "BAD_SYMBOL_JSON", f"{path}: node {i} needs a string 'op', a string 'name' and a list 'inputs'"
            )
        attrs = node.get("attrs", {})
        if not isinstance(attrs, dict) or not all(isinstance(v, str) for v in attrs.values()):
            raise MxportError(
                "BAD_SYMBOL_JSON", f"{path}: node {i} ('{node['name']}') has 'attrs' that are not a map of strings"
            )
        for ref in node.get("inputs", []):
            if not _entry_ok(ref, i):
                raise MxportError(
                    "BAD_SYMBOL_JSON",
                    f"{path}: node {i} ('{node['name']}') has input {ref!r} that does not point at an earlier node",
                )
    n = len(graph["nodes"])
    for ref in graph["heads"]:
        if not _entry_ok(ref, n):
            raise MxportError("BAD_SYMBOL_JSON", f"{path}: head {ref!r} does not point at a node")
    return graph


def _entry_ok(ref, limit):
    return (
        isinstance(ref, list)
        and len(ref) in (2, 3)
        and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in ref)
        and ref[0] < limit
    )


def find_signature(graph, path):
    """Returns the Signature carried by the graph, or None for an old model (spec section 3)."""
    carriers = [node for node in graph["nodes"] if SIGNATURE_ATTR in node.get("attrs", {})]
    if not carriers:
        return None
    if len(carriers) > 1:
        raise MxportError(
            "BAD_SIGNATURE",
            f"{path}: {len(carriers)} nodes carry {SIGNATURE_ATTR} "
            f"({[c['name'] for c in carriers]}); a model has exactly one",
        )
    return Signature.from_json(carriers[0]["attrs"][SIGNATURE_ATTR])


def connectors(graph, kind):
    """Maps port name -> node index for the connectors of one kind."""
    found = {}
    for i, node in enumerate(graph["nodes"]):
        attrs = node.get("attrs", {})
        if attrs.get(CONNECTOR_ATTR) == kind:
            port = attrs.get(PORT_ATTR)
            if port in found:
                raise MxportError("BAD_CONNECTORS", f"two {kind} connectors for '{port}'; re-export the model")
            found[port] = i
    return found


def check_connectors(graph, sig, path):
    """Checks connectors, input variables and heads against the signature (spec section 4)."""
    nodes = graph["nodes"]
    for node in nodes:
        kind = node.get("attrs", {}).get(CONNECTOR_ATTR)
        if kind is not None and (kind not in (BATCHIFY, NOOP) or node["op"] != "_copy" or len(node["inputs"]) != 1):
            raise MxportError(
                "BAD_CONNECTORS",
                f"{path}: node '{node['name']}' is not a valid connector "
                f"(kind {kind!r}, op '{node['op']}'); connectors are '_copy' nodes of kind "
                "'batchify' or 'noop' with one input",
            )
    for kind, specs in ((BATCHIFY, sig.inputs), (NOOP, sig.outputs)):
        found = connectors(graph, kind)
        want = [s.name for s in specs]
        if sorted(found, key=str) != sorted(want):
            raise MxportError(
                "BAD_CONNECTORS",
                f"{path}: {kind} connectors are for {sorted(found, key=str)} "
                f"but the signature names {want}; re-export the model",
            )
    variables = {node["name"] for node in nodes if node["op"] == "null"}
    for s in sig.inputs:
        if s.name not in variables:
            raise MxportError(
                "BAD_CONNECTORS",
                f"{path}: the signature names input '{s.name}' but the graph has no variable of that name",
            )
    if len(graph["heads"]) != len(sig.outputs):
        raise MxportError(
            "BAD_CONNECTORS",
            f"{path}: the graph has {len(graph['heads'])} heads but the signature names {len(sig.outputs)} outputs",
        )
    cut_network(graph, sig)  # raises BAD_CONNECTORS when an input bypasses its batchify connector


def _variable(name):
    return {"op": "null", "name": name, "inputs": []}


def reduce_to(graph, heads):
    """The graph with only the nodes reachable from ``heads`` (entries of its nodes), renumbered."""
    return _reduce(graph, graph["nodes"], heads)


def _reduce(graph, nodes, heads):
    """Keeps the nodes reachable from heads, in their original order, and renumbers (spec 5, steps 3-4)."""
    keep = set()
    stack = [h[0] for h in heads]
    while stack:
        i = stack.pop()
        if i in keep:
            continue
        keep.add(i)
        stack.extend(ref[0] for ref in nodes[i].get("inputs", []))
    order = sorted(keep)
    index = {old: new for new, old in enumerate(order)}
    out_nodes = []
    for old in order:
        node = dict(nodes[old])
        node["inputs"] = [[index[r[0]]] + list(r[1:]) for r in node.get("inputs", [])]
        out_nodes.append(node)
    out = {
        "nodes": out_nodes,
        "arg_nodes": [i for i, n in enumerate(out_nodes) if n["op"] == "null"],
        "heads": [[index[h[0]]] + list(h[1:]) for h in heads],
    }
    if "attrs" in graph:
        out["attrs"] = graph["attrs"]
    return out


def cut_network(graph, sig):
    """The network alone: batchify connectors become variables, heads move to the no-op connectors."""
    nodes = list(graph["nodes"])
    for port, i in connectors(graph, BATCHIFY).items():
        nodes[i] = _variable(port)
    noop = connectors(graph, NOOP)
    heads = [[noop[s.name], 0, 0] for s in sig.outputs]
    out = _reduce(graph, nodes, heads)
    names = [n["name"] for n in out["nodes"] if n["op"] == "null"]
    dup = sorted({x for x in names if names.count(x) > 1})
    if dup:
        raise MxportError(
            "BAD_CONNECTORS",
            f"cutting at the connectors leaves two variables named {dup}; "
            "every path from an input must pass its batchify connector",
        )
    return out


def cut_input_transforms(graph, name):
    """The transforms of one input: the graph up to its batchify connector."""
    return _reduce(graph, graph["nodes"], [[connectors(graph, BATCHIFY)[name], 0, 0]])


def cut_output_transforms(graph, sig, name):
    """The transforms of one output: from its no-op connector (now a variable) to its head."""
    nodes = list(graph["nodes"])
    nodes[connectors(graph, NOOP)[name]] = _variable(name)
    head = graph["heads"][sig.output_names.index(name)]
    return _reduce(graph, nodes, [head])


def remap(entry, ref):
    """Entry ``ref`` (node, output[, version]) of a sub-graph, whose node is now at ``entry``."""
    return [entry[0], entry[1] + ref[1] if len(ref) > 1 else entry[1]] + ([ref[2]] if len(ref) > 2 else [0])
