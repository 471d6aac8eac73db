package io.mxport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads and checks a model's two files (spec/FORMAT.md section 6, steps 1-3); no native call. */
final class ModelFiles {
    final Graph graph;
    /** The whole model's signature; null for an old model. */
    final Signature signature;
    /** For an old model: its input descriptions. */
    final List<TensorSpec> oldInputs;

    final byte[] params;
    /** SHA-256 of params, lowercase hex. */
    final String paramsDigest;

    final String symbolPath;
    final String paramsPath;

    private ModelFiles(
            Graph graph,
            Signature signature,
            List<TensorSpec> oldInputs,
            byte[] params,
            String paramsDigest,
            String symbolPath,
            String paramsPath) {
        this.graph = graph;
        this.signature = signature;
        this.oldInputs = oldInputs;
        this.params = params;
        this.paramsDigest = paramsDigest;
        this.symbolPath = symbolPath;
        this.paramsPath = paramsPath;
    }

    static String symbolPath(String prefix) {
        return prefix + "-symbol.json";
    }

    static String paramsPath(String prefix, Integer epoch) {
        return epoch == null ? prefix + ".params" : String.format("%s-%04d.params", prefix, epoch);
    }

    private static final String[] SUFFIXES = {"-symbol.json", ".params"};
    private static final Pattern NUMBERED = Pattern.compile("^(.*)-(\\d{4})\\.params$");

    /** A prefix and the epoch it says (null: none), as {@link #resolve} found them. */
    static final class Resolved {
        final String prefix;
        final Integer epoch;

        Resolved(String prefix, Integer epoch) {
            this.prefix = prefix;
            this.epoch = epoch;
        }
    }

    /**
     * The prefix (and epoch) a caller meant. A path to one of the model's files is accepted in place of its prefix
     * ({@code out/m-symbol.json}, {@code out/m.params}, {@code old/m-0005.params}, which also says epoch 5), but only
     * when that file exists, the literal prefix names no model, and the file's own model is there: so the model
     * loaded is always the one whose file was named (spec/MISTAKES.md; the same rule as Python's).
     */
    static Resolved resolve(String prefix, Integer epoch) {
        requirePrefix(prefix);
        boolean suffixed = false;
        for (String suffix : SUFFIXES) {
            suffixed |= prefix.endsWith(suffix);
        }
        if (!suffixed || exists(symbolPath(prefix)) || !Files.isRegularFile(Paths.get(prefix))) {
            return new Resolved(prefix, epoch);
        }
        List<Resolved> candidates = new ArrayList<>();
        candidates.add(new Resolved(
                prefix.substring(
                        0,
                        prefix.length() - (prefix.endsWith(".params") ? ".params".length() : "-symbol.json".length())),
                epoch));
        Matcher m = NUMBERED.matcher(prefix);
        if (m.matches()) {
            candidates.add(new Resolved(m.group(1), Integer.parseInt(m.group(2))));
        }
        for (Resolved c : candidates) {
            if (exists(symbolPath(c.prefix))) {
                if (epoch != null && !epoch.equals(c.epoch)) {
                    throw new MxportException(
                            ErrorCode.INVALID_ARGUMENT,
                            prefix + " is the params file of epoch " + c.epoch + ", but epoch " + epoch + " was given",
                            Fix.drop(Map.of("epoch", epoch), ", or give the prefix " + c.prefix));
                }
                return c;
            }
        }
        return new Resolved(prefix, epoch);
    }

    private static boolean exists(String path) {
        return Files.exists(Paths.get(path), LinkOption.NOFOLLOW_LINKS);
    }

    private static String notFoundFix(String path) {
        String given = path.replaceFirst("(-symbol\\.json|(-\\d{4})?\\.params)$", ""); // the prefix the caller gave
        for (String suffix : SUFFIXES) {
            if (given.endsWith(suffix)) {
                return "; the prefix names the model without its file suffix: drop the " + suffix + " suffix ('"
                        + given.substring(0, given.length() - suffix.length()) + "')";
            }
        }
        return "; check the model prefix (a model is <prefix>-symbol.json and <prefix>.params, written by mxport.export)";
    }

    static byte[] read(String path) {
        Path p = Paths.get(path);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new MxportException(ErrorCode.MODEL_NOT_FOUND, path + " does not exist" + notFoundFix(path));
        }
        if (Files.isDirectory(p)) {
            throw new MxportException(ErrorCode.MODEL_UNREADABLE, path + " is a directory, not a model file");
        }
        try {
            return Files.readAllBytes(p);
        } catch (AccessDeniedException e) {
            throw new MxportException(
                    ErrorCode.MODEL_UNREADABLE, "cannot read " + path + ": permission denied; check its permissions");
        } catch (IOException | OutOfMemoryError e) {
            throw new MxportException(ErrorCode.MODEL_UNREADABLE, "cannot read " + path + ": " + e);
        }
    }

    private static Graph graph(String symbolPath) {
        byte[] data = read(symbolPath);
        String text;
        try {
            text = StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new MxportException(
                    ErrorCode.BAD_SYMBOL_JSON, symbolPath + " is not UTF-8 text, so not a symbol file");
        }
        return Graph.parse(text, symbolPath);
    }

    /** The NNNN of each {@code <prefix>-NNNN.params} on disk, ascending. */
    static List<Integer> epochsOnDisk(String prefix) {
        Path p = Paths.get(prefix).toAbsolutePath();
        Path dir = p.getParent();
        String stem = p.getFileName() == null ? "" : p.getFileName().toString();
        List<Integer> epochs = new ArrayList<>();
        if (dir == null || !Files.isDirectory(dir)) {
            return epochs;
        }
        Pattern numbered = Pattern.compile(Pattern.quote(stem) + "-(\\d{4})\\.params");
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                Matcher m = numbered.matcher(f.getFileName().toString());
                if (m.matches()) {
                    epochs.add(Integer.parseInt(m.group(1)));
                }
            }
        } catch (IOException e) {
            return epochs;
        }
        Collections.sort(epochs);
        return epochs;
    }

    /**
     * NO_SIGNATURE, naming the fix for this graph: a DataDesc for each of its own inputs (shapes from their
     * {@code __shape__} attributes where known) and the epoch whose params file is on disk.
     */
    static MxportException noSignature(String prefix, Graph graph) {
        return new MxportException(
                ErrorCode.NO_SIGNATURE,
                symbolPath(prefix) + " carries no mxport signature: it is an" + " old MXNet model",
                describeInputs(prefix, graph, Set.of()));
    }

    /** The fix that describes an old model's own inputs (its variables less {@code params}) and its last epoch. */
    static Fix describeInputs(String prefix, Graph graph, Set<String> params) {
        List<Fix.Input> inputs = new ArrayList<>();
        for (Graph.OldInput in : graph.oldModelInputs()) {
            if (!params.contains(in.name)) {
                inputs.add(new Fix.Input(in.name, in.shape, in.dtype));
            }
        }
        List<Integer> epochs = epochsOnDisk(prefix);
        return Fix.describeInputs(inputs, epochs.isEmpty() ? null : epochs.get(epochs.size() - 1));
    }

    /** The prefix these files were read with. */
    String prefix() {
        return symbolPath.substring(0, symbolPath.length() - "-symbol.json".length());
    }

    static Signature readSignature(String given) {
        String prefix = resolve(given, null).prefix;
        String path = symbolPath(prefix);
        Graph graph = graph(path);
        Signature sig = graph.findSignature(path);
        if (sig == null) {
            throw noSignature(prefix, graph);
        }
        graph.checkConnectors(sig, path);
        return sig;
    }

    static void requirePrefix(String prefix) {
        if (prefix == null || prefix.isEmpty()) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "the model prefix must be a path such as \"out/my_model\""
                            + " (for out/my_model-symbol.json and out/my_model.params), got "
                            + (prefix == null ? "null" : "\"\""));
        }
    }

    /** Opens a model; {@code inputs} and {@code epoch} are for old models only (null otherwise). */
    static ModelFiles open(String given, List<TensorSpec> inputs, Integer givenEpoch) {
        Resolved resolved = resolve(given, givenEpoch);
        String prefix = resolved.prefix;
        Integer epoch = resolved.epoch;
        String symbolPath = symbolPath(prefix);
        Graph graph = graph(symbolPath);
        Signature sig = graph.findSignature(symbolPath);
        if (sig != null) {
            if (inputs != null || epoch != null) {
                Map<String, Object> drop = new java.util.LinkedHashMap<>();
                drop.put("inputs", inputs);
                drop.put("epoch", epoch);
                throw new MxportException(
                        ErrorCode.INVALID_ARGUMENT,
                        symbolPath + " carries its own signature",
                        Fix.drop(drop, ", which only old models need"));
            }
            graph.checkConnectors(sig, symbolPath);
            String paramsPath = paramsPath(prefix, null);
            byte[] data = read(paramsPath);
            String digest = sha256(data);
            if (data.length != sig.paramsSize()
                    || !digest.equals(sig.getParamsSha256().get())) {
                throw new MxportException(
                        ErrorCode.DIGEST_MISMATCH,
                        paramsPath + " is not the params file this model was"
                                + " exported with (" + data.length + " bytes, sha256 " + digest.substring(0, 12)
                                + "..., expected "
                                + sig.paramsSize() + " bytes, sha256 "
                                + sig.getParamsSha256().get().substring(0, 12)
                                + "...): it was damaged or replaced; copy or export the model again");
            }
            ParamsHeader.check(data, paramsPath); // a file whose digest was recomputed can still lie
            return new ModelFiles(graph, sig, null, data, digest, symbolPath, paramsPath);
        }
        if (inputs == null) {
            throw noSignature(prefix, graph);
        }
        Set<String> variables = graph.variableNames();
        List<String> unknown = new ArrayList<>();
        for (TensorSpec s : inputs) {
            if (!variables.contains(s.getName())) {
                unknown.add(s.getName());
            }
        }
        if (!unknown.isEmpty()) {
            throw new MxportException(
                    ErrorCode.UNKNOWN_INPUT,
                    "the graph in " + symbolPath + " has no input " + unknown + "; its variables are " + variables);
        }
        String paramsPath = paramsPath(prefix, epoch);
        List<Integer> epochs = epochsOnDisk(prefix);
        if (epoch == null && !epochs.isEmpty() && !exists(paramsPath)) {
            int last = epochs.get(epochs.size() - 1);
            throw new MxportException(
                    ErrorCode.MODEL_NOT_FOUND,
                    paramsPath + " does not exist, but " + paramsPath(prefix, last) + " does",
                    Fix.argument("epoch", last, "", " (the NNNN of <prefix>-NNNN.params)"));
        }
        byte[] data = read(paramsPath);
        ParamsHeader.check(data, paramsPath); // before MXNet allocates what a damaged header claims
        return new ModelFiles(graph, null, inputs, data, sha256(data), symbolPath, paramsPath);
    }

    static List<TensorSpec> checkDescriptions(List<DataDesc> inputs) {
        if (inputs == null || inputs.isEmpty() || inputs.stream().anyMatch(java.util.Objects::isNull)) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "an old model needs a non-empty list of DataDesc, one" + " per input of its graph, got " + inputs);
        }
        List<TensorSpec> specs = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (DataDesc d : inputs) {
            if (!names.add(d.getName())) {
                throw new MxportException(
                        ErrorCode.INVALID_ARGUMENT, "the input descriptions have duplicate name '" + d.getName() + "'");
            }
            specs.add(d.toTensorSpec());
        }
        return specs;
    }

    static String sha256(byte[] data) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(data);
            StringBuilder b = new StringBuilder();
            for (byte x : d) {
                b.append(String.format("%02x", x));
            }
            return b.toString();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
