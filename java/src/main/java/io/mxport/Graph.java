package io.mxport;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigInteger;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The symbol JSON graph: the checks and cuts of spec/FORMAT.md sections 4-6, on a JSON tree. */
final class Graph {
    static final String SIGNATURE_ATTR = "__mxport_signature__";
    static final String CONNECTOR_ATTR = "__mxport_connector__";
    static final String PORT_ATTR = "__mxport_port__";
    static final String BATCHIFY = "batchify";
    static final String NOOP = "noop";
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    final ObjectNode root;

    private Graph(ObjectNode root) {
        this.root = root;
    }

    ArrayNode nodes() {
        return (ArrayNode) root.get("nodes");
    }

    ArrayNode heads() {
        return (ArrayNode) root.get("heads");
    }

    String toJson() {
        return Json.write(root);
    }

    /**
     * The JSON to hand to a library of MXNet version {@code library} (e.g. 10900). A 1.9.x file saved by a newer 1.9
     * patch release (the wheel is 1.9.1, DJL's native jar a 1.9.0 build) is labelled with the library's version, so
     * MXNet does not print "loading symbol saved by MXNet version 10901 with lower version of MXNet v10900" on every
     * load. Nothing else changes: MXNet's JSON upgrade passes only touch files older than 1.0, and within 1.9.x the
     * graph format is one.
     */
    String toJsonFor(int library) {
        JsonNode saved = root.path("attrs").path("mxnet_version");
        int file = saved.isArray() && saved.size() == 2 ? saved.get(1).asInt(-1) : -1;
        if (file <= library || file / 100 != 109 || library / 100 != 109) {
            return toJson();
        }
        ObjectNode copy = root.deepCopy();
        ArrayNode version = F.arrayNode().add("int").add(library);
        ((ObjectNode) copy.get("attrs")).set("mxnet_version", version);
        return Json.write(copy);
    }

    private static MxportException bad(String message) {
        return new MxportException(ErrorCode.BAD_SYMBOL_JSON, message);
    }

    /** Parses a symbol file's text and checks that it is an MXNet graph (spec section 6, step 1). */
    static Graph parse(String text, String path) {
        String[] why = new String[1];
        JsonNode doc = Json.parse(text, why);
        if (doc == null) {
            throw bad(
                    path + " is not JSON (" + why[0] + "); it must be a symbol file written by MXNet or mxport.export");
        }
        if (!doc.isObject()
                || !doc.path("nodes").isArray()
                || !doc.path("heads").isArray()
                || doc.get("nodes").isEmpty()
                || doc.get("heads").isEmpty()) {
            throw bad(path + " is JSON but not an MXNet graph: it needs non-empty lists 'nodes' and 'heads'");
        }
        ArrayNode nodes = (ArrayNode) doc.get("nodes");
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode node = nodes.get(i);
            if (!node.isObject()
                    || !node.path("op").isTextual()
                    || !node.path("name").isTextual()
                    || (node.has("inputs") && !node.get("inputs").isArray())) {
                throw bad(path + ": node " + i + " needs a string 'op', a string 'name' and a list 'inputs'");
            }
            String name = node.get("name").asText();
            JsonNode attrs = node.get("attrs");
            if (attrs != null) {
                boolean ok = attrs.isObject();
                for (Iterator<JsonNode> it = attrs.elements(); ok && it.hasNext(); ) {
                    ok = it.next().isTextual();
                }
                if (!ok) {
                    throw bad(path + ": node " + i + " ('" + name + "') has 'attrs' that are not a map of strings");
                }
            }
            for (JsonNode ref : inputsOf(node)) {
                if (!entryOk(ref, i)) {
                    throw bad(path + ": node " + i + " ('" + name + "') has input " + Json.show(ref)
                            + " that does not point at an earlier node");
                }
            }
        }
        for (JsonNode ref : doc.get("heads")) {
            if (!entryOk(ref, nodes.size())) {
                throw bad(path + ": head " + Json.show(ref) + " does not point at a node");
            }
        }
        return new Graph((ObjectNode) doc);
    }

    private static Iterable<JsonNode> inputsOf(JsonNode node) {
        JsonNode inputs = node.get("inputs");
        return inputs == null ? List.of() : inputs;
    }

    private static boolean entryOk(JsonNode ref, int limit) {
        if (!ref.isArray() || (ref.size() != 2 && ref.size() != 3)) {
            return false;
        }
        for (JsonNode x : ref) {
            if (!Json.isInteger(x) || x.bigIntegerValue().signum() < 0) {
                return false;
            }
        }
        return ref.get(0).bigIntegerValue().compareTo(BigInteger.valueOf(limit)) < 0;
    }

    private static String attr(JsonNode node, String key) {
        JsonNode attrs = node.get("attrs");
        if (attrs == null || !attrs.has(key)) {
            return null;
        }
        return attrs.get(key).asText();
    }

    /** The signature carried by the graph, or null for an old model (spec section 3). */
    Signature findSignature(String path) {
        List<JsonNode> carriers = new ArrayList<>();
        for (JsonNode node : nodes()) {
            if (attr(node, SIGNATURE_ATTR) != null) {
                carriers.add(node);
            }
        }
        if (carriers.isEmpty()) {
            return null;
        }
        if (carriers.size() > 1) {
            List<String> names = new ArrayList<>();
            carriers.forEach(c -> names.add(c.get("name").asText()));
            throw new MxportException(
                    ErrorCode.BAD_SIGNATURE,
                    path + ": " + carriers.size() + " nodes carry " + SIGNATURE_ATTR + " (" + names
                            + "); a model has exactly one");
        }
        return Signature.fromJson(attr(carriers.get(0), SIGNATURE_ATTR));
    }

    /** Port name (null when absent) -> node index, for the connectors of one kind. */
    Map<String, Integer> connectors(String kind) {
        Map<String, Integer> found = new HashMap<>();
        ArrayNode nodes = nodes();
        for (int i = 0; i < nodes.size(); i++) {
            if (kind.equals(attr(nodes.get(i), CONNECTOR_ATTR))) {
                String port = attr(nodes.get(i), PORT_ATTR);
                if (found.containsKey(port)) {
                    throw new MxportException(
                            ErrorCode.BAD_CONNECTORS,
                            "two " + kind + " connectors for '" + port + "'; re-export the model");
                }
                found.put(port, i);
            }
        }
        return found;
    }

    /** Checks connectors, input variables and heads against the signature (spec section 4). */
    void checkConnectors(Signature sig, String path) {
        for (JsonNode node : nodes()) {
            String kind = attr(node, CONNECTOR_ATTR);
            if (kind != null
                    && (!(kind.equals(BATCHIFY) || kind.equals(NOOP))
                            || !node.get("op").asText().equals("_copy")
                            || node.path("inputs").size() != 1)) {
                throw new MxportException(
                        ErrorCode.BAD_CONNECTORS,
                        path + ": node '" + node.get("name").asText()
                                + "' is not a valid connector (kind '" + kind + "', op '"
                                + node.get("op").asText()
                                + "'); connectors are '_copy' nodes of kind 'batchify' or 'noop' with one input");
            }
        }
        checkPorts(BATCHIFY, sig.getInputNames(), path);
        checkPorts(NOOP, sig.getOutputNames(), path);
        Set<String> variables = new HashSet<>();
        for (JsonNode node : nodes()) {
            if (node.get("op").asText().equals("null")) {
                variables.add(node.get("name").asText());
            }
        }
        for (String name : sig.getInputNames()) {
            if (!variables.contains(name)) {
                throw new MxportException(
                        ErrorCode.BAD_CONNECTORS,
                        path + ": the signature names input '" + name + "' but the graph has no variable of that name");
            }
        }
        if (heads().size() != sig.getOutputs().size()) {
            throw new MxportException(
                    ErrorCode.BAD_CONNECTORS,
                    path + ": the graph has " + heads().size() + " heads but the signature names "
                            + sig.getOutputs().size() + " outputs");
        }
        cutNetwork(sig); // BAD_CONNECTORS when an input bypasses its batchify connector
    }

    private void checkPorts(String kind, List<String> want, String path) {
        Map<String, Integer> found = connectors(kind);
        if (!found.keySet().equals(new HashSet<>(want))) {
            List<String> got = new ArrayList<>();
            found.keySet().forEach(k -> got.add(String.valueOf(k)));
            throw new MxportException(
                    ErrorCode.BAD_CONNECTORS,
                    path + ": " + kind + " connectors are for " + new TreeSet<>(got) + " but the signature names "
                            + want + "; re-export the model");
        }
    }

    private static ObjectNode variable(String name) {
        ObjectNode v = F.objectNode();
        v.put("op", "null");
        v.put("name", name);
        v.set("inputs", F.arrayNode());
        return v;
    }

    private static int index(JsonNode ref) {
        return ref.get(0).intValue();
    }

    /** Keeps the nodes reachable from heads, in their original order, and renumbers (spec 5, steps 3-4). */
    private Graph reduce(List<JsonNode> nodes, List<JsonNode> heads) {
        BitSet keep = new BitSet(nodes.size());
        Deque<Integer> stack = new ArrayDeque<>();
        heads.forEach(h -> stack.push(index(h)));
        while (!stack.isEmpty()) {
            int i = stack.pop();
            if (keep.get(i)) {
                continue;
            }
            keep.set(i);
            for (JsonNode ref : inputsOf(nodes.get(i))) {
                stack.push(index(ref));
            }
        }
        Map<Integer, Integer> renumber = new LinkedHashMap<>();
        for (int old = keep.nextSetBit(0); old >= 0; old = keep.nextSetBit(old + 1)) {
            renumber.put(old, renumber.size());
        }
        ArrayNode outNodes = F.arrayNode();
        ArrayNode argNodes = F.arrayNode();
        for (int old : renumber.keySet()) {
            ObjectNode node = ((ObjectNode) nodes.get(old)).deepCopy();
            ArrayNode inputs = F.arrayNode();
            for (JsonNode ref : inputsOf(nodes.get(old))) {
                inputs.add(renumbered(ref, renumber));
            }
            node.set("inputs", inputs);
            if (node.get("op").asText().equals("null")) {
                argNodes.add(outNodes.size());
            }
            outNodes.add(node);
        }
        ArrayNode outHeads = F.arrayNode();
        heads.forEach(h -> outHeads.add(renumbered(h, renumber)));
        ObjectNode out = F.objectNode();
        out.set("nodes", outNodes);
        out.set("arg_nodes", argNodes);
        out.set("heads", outHeads);
        if (root.has("attrs")) {
            out.set("attrs", root.get("attrs").deepCopy());
        }
        return new Graph(out);
    }

    private static ArrayNode renumbered(JsonNode ref, Map<Integer, Integer> renumber) {
        ArrayNode r = F.arrayNode();
        r.add(renumber.get(index(ref)));
        for (int k = 1; k < ref.size(); k++) {
            r.add(ref.get(k));
        }
        return r;
    }

    private List<JsonNode> nodeList() {
        List<JsonNode> list = new ArrayList<>();
        nodes().forEach(list::add);
        return list;
    }

    /** The network alone: batchify connectors become variables, heads move to the no-op connectors. */
    Graph cutNetwork(Signature sig) {
        List<JsonNode> nodes = nodeList();
        connectors(BATCHIFY).forEach((port, i) -> nodes.set(i, variable(port)));
        Map<String, Integer> noop = connectors(NOOP);
        List<JsonNode> heads = new ArrayList<>();
        for (String name : sig.getOutputNames()) {
            heads.add(F.arrayNode().add(noop.get(name)).add(0).add(0));
        }
        Graph out = reduce(nodes, heads);
        Set<String> seen = new HashSet<>();
        Set<String> dup = new TreeSet<>();
        for (JsonNode node : out.nodes()) {
            if (node.get("op").asText().equals("null")
                    && !seen.add(node.get("name").asText())) {
                dup.add(node.get("name").asText());
            }
        }
        if (!dup.isEmpty()) {
            throw new MxportException(
                    ErrorCode.BAD_CONNECTORS,
                    "cutting at the connectors leaves two variables named " + dup
                            + "; every path from an input must pass its batchify connector");
        }
        return out;
    }

    /** The transforms of one input: the graph up to its batchify connector. */
    Graph cutInputTransforms(String name) {
        return reduce(
                nodeList(),
                List.of(F.arrayNode().add(connectors(BATCHIFY).get(name)).add(0).add(0)));
    }

    /** The transforms of one output: from its no-op connector (now a variable) to its head. */
    Graph cutOutputTransforms(Signature sig, String name) {
        List<JsonNode> nodes = nodeList();
        nodes.set(connectors(NOOP).get(name), variable(name));
        return reduce(nodes, List.of(heads().get(sig.getOutputNames().indexOf(name))));
    }

    /** Names of the variable nodes (op null). */
    Set<String> variableNames() {
        Set<String> names = new TreeSet<>();
        for (JsonNode node : nodes()) {
            if (node.get("op").asText().equals("null")) {
                names.add(node.get("name").asText());
            }
        }
        return names;
    }

    private static final List<String> PARAM_SUFFIXES = List.of(
            "_weight",
            "_bias",
            "_gamma",
            "_beta",
            "_moving_mean",
            "_moving_var",
            "_running_mean",
            "_running_var",
            "_label");

    /** An input of an old model's graph as its variable node tells it: shape null when unknown. */
    static final class OldInput {
        final String name;
        final Shape shape;
        final DType dtype;

        OldInput(String name, Shape shape, DType dtype) {
            this.name = name;
            this.shape = shape;
            this.dtype = dtype;
        }
    }

    /**
     * The variables of an old model's graph that are not parameters (by MXNet's parameter name suffixes and
     * attributes), with the batch-free shape and the dtype their {@code __shape__}/{@code __dtype__} give.
     */
    List<OldInput> oldModelInputs() {
        List<OldInput> out = new ArrayList<>();
        for (JsonNode node : nodes()) {
            String name = node.get("name").asText();
            if (!node.get("op").asText().equals("null")
                    || attr(node, "__lr_mult__") != null
                    || attr(node, "__init__") != null
                    || PARAM_SUFFIXES.stream().anyMatch(name::endsWith)) {
                continue;
            }
            Shape shape = null;
            String dims = attr(node, "__shape__");
            if (dims != null) {
                try {
                    List<Integer> d = new ArrayList<>();
                    for (String x : dims.replaceAll("[()\\[\\] ]", "").split(",")) {
                        if (!x.isEmpty()) {
                            d.add(Integer.parseInt(x));
                        }
                    }
                    boolean known =
                            !d.isEmpty() && d.subList(1, d.size()).stream().allMatch(x -> x > 0);
                    if (known) {
                        d.set(0, -1);
                        shape = new Shape(d.stream().mapToInt(Integer::intValue).toArray());
                    }
                } catch (NumberFormatException e) {
                    shape = null;
                }
            }
            DType dtype = DType.FLOAT32;
            String code = attr(node, "__dtype__");
            if (code != null && code.matches("[0-6]")) {
                dtype = DType.byMxnetCode(Integer.parseInt(code));
            }
            out.add(new OldInput(name, shape, dtype));
        }
        return out;
    }
}
