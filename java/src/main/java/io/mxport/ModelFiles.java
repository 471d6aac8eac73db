package io.mxport;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

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

    private ModelFiles(Graph graph, Signature signature, List<TensorSpec> oldInputs, byte[] params, String paramsDigest,
                       String symbolPath, String paramsPath) {
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

    static byte[] read(String path) {
        Path p = Paths.get(path);
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new MxportException(ErrorCode.MODEL_NOT_FOUND, path + " does not exist; check the model prefix (a model"
                    + " is <prefix>-symbol.json and <prefix>.params, written by mxport.export)");
        }
        if (Files.isDirectory(p)) {
            throw new MxportException(ErrorCode.MODEL_UNREADABLE, path + " is a directory, not a model file");
        }
        try {
            return Files.readAllBytes(p);
        } catch (AccessDeniedException e) {
            throw new MxportException(ErrorCode.MODEL_UNREADABLE, "cannot read " + path + ": permission denied; check its permissions");
        } catch (IOException | OutOfMemoryError e) {
            throw new MxportException(ErrorCode.MODEL_UNREADABLE, "cannot read " + path + ": " + e);
        }
    }

    private static Graph graph(String symbolPath) {
        byte[] data = read(symbolPath);
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(data)).toString();
        } catch (CharacterCodingException e) {
            throw new MxportException(ErrorCode.BAD_SYMBOL_JSON, symbolPath + " is not UTF-8 text, so not a symbol file");
        }
        return Graph.parse(text, symbolPath);
    }

    static MxportException noSignature(String path) {
        return new MxportException(ErrorCode.NO_SIGNATURE, path + " carries no mxport signature: it is an old MXNet model."
                + " Load it with new Predictor(prefix, List.of(new DataDesc(\"data\", new Shape(-1, 3, 224, 224),"
                + " DType.FLOAT32, \"NCHW\")), List.of(Context.cpu()), epoch) (one DataDesc per input; the epoch N when"
                + " its params file is <prefix>-NNNN.params), or re-export it with mxport.export");
    }

    static Signature readSignature(String prefix) {
        requirePrefix(prefix);
        String path = symbolPath(prefix);
        Graph graph = graph(path);
        Signature sig = graph.findSignature(path);
        if (sig == null) {
            throw noSignature(path);
        }
        graph.checkConnectors(sig, path);
        return sig;
    }

    static void requirePrefix(String prefix) {
        if (prefix == null || prefix.isEmpty()) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "the model prefix must be a path such as \"out/my_model\""
                    + " (for out/my_model-symbol.json and out/my_model.params), got " + (prefix == null ? "null" : "\"\""));
        }
    }

    /** Opens a model; {@code inputs} and {@code epoch} are for old models only (null otherwise). */
    static ModelFiles open(String prefix, List<TensorSpec> inputs, Integer epoch) {
        requirePrefix(prefix);
        String symbolPath = symbolPath(prefix);
        Graph graph = graph(symbolPath);
        Signature sig = graph.findSignature(symbolPath);
        if (sig != null) {
            if (inputs != null || epoch != null) {
                throw new MxportException(ErrorCode.INVALID_ARGUMENT, symbolPath + " carries its own signature: use"
                        + " new Predictor(prefix, contexts, loadTransforms) without input descriptions or epoch, which only"
                        + " old models need");
            }
            graph.checkConnectors(sig, symbolPath);
            String paramsPath = paramsPath(prefix, null);
            byte[] data = read(paramsPath);
            String digest = sha256(data);
            if (data.length != sig.paramsSize() || !digest.equals(sig.getParamsSha256().get())) {
                throw new MxportException(ErrorCode.DIGEST_MISMATCH, paramsPath + " is not the params file this model was"
                        + " exported with (" + data.length + " bytes, sha256 " + digest.substring(0, 12) + "..., expected "
                        + sig.paramsSize() + " bytes, sha256 " + sig.getParamsSha256().get().substring(0, 12)
                        + "...): it was damaged or replaced; copy or export the model again");
            }
            return new ModelFiles(graph, sig, null, data, digest, symbolPath, paramsPath);
        }
        if (inputs == null) {
            throw noSignature(symbolPath);
        }
        Set<String> variables = graph.variableNames();
        List<String> unknown = new ArrayList<>();
        for (TensorSpec s : inputs) {
            if (!variables.contains(s.getName())) {
                unknown.add(s.getName());
            }
        }
        if (!unknown.isEmpty()) {
            throw new MxportException(ErrorCode.UNKNOWN_INPUT, "the graph in " + symbolPath + " has no input " + unknown
                    + "; its variables are " + variables);
        }
        String paramsPath = paramsPath(prefix, epoch);
        byte[] data = read(paramsPath);
        return new ModelFiles(graph, null, inputs, data, sha256(data), symbolPath, paramsPath);
    }

    static List<TensorSpec> checkDescriptions(List<DataDesc> inputs) {
        if (inputs == null || inputs.isEmpty() || inputs.stream().anyMatch(java.util.Objects::isNull)) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "an old model needs a non-empty list of DataDesc, one"
                    + " per input of its graph, got " + inputs);
        }
        List<TensorSpec> specs = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (DataDesc d : inputs) {
            if (!names.add(d.getName())) {
                throw new MxportException(ErrorCode.INVALID_ARGUMENT, "the input descriptions have duplicate name '"
                        + d.getName() + "'");
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
