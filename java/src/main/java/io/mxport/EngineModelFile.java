package io.mxport;

import io.mxport.spi.EngineModel;
import io.mxport.spi.EngineProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;

/**
 * A model file on an engine besides MXNet (spec/FORMAT.md section 13): the provider from the classpath, the file
 * opened by it, and the signature read from its {@code mxport_signature} by this package's own parser.
 * Nothing here touches {@code libmxnet.so}.
 */
final class EngineModelFile implements AutoCloseable {
    final Signature signature;
    final String where;
    private final EngineModel model;

    private EngineModelFile(Signature signature, String where, EngineModel model) {
        this.signature = signature;
        this.where = where;
        this.model = model;
    }

    static EngineProvider provider(Engine engine) {
        for (EngineProvider p : ServiceLoader.load(EngineProvider.class, Predictor.class.getClassLoader())) {
            if (p.engine() == engine) {
                return p;
            }
        }
        throw new MxportException(
                ErrorCode.INVALID_ARGUMENT,
                "engine " + engine + " is not on the classpath",
                Fix.text("add the Maven artifact " + engine.getArtifact() + " (the same version as io.mxport:mxport)"));
    }

    static EngineModelFile open(String path, Engine engine, boolean loadTransforms) {
        if (path == null || !path.endsWith(".onnx")) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "engine " + engine + " runs an .onnx file, got " + path,
                    Fix.text("write it from the mxport model with `mxport export-onnx <prefix> <prefix>.onnx`"
                            + (loadTransforms ? "" : " --no-transforms") + " and pass that file"));
        }
        EngineProvider provider = provider(engine);
        Path file = Paths.get(path);
        if (!Files.exists(file)) {
            throw new MxportException(
                    ErrorCode.MODEL_NOT_FOUND,
                    "no such file: " + file.toAbsolutePath(),
                    Fix.text("write it with `mxport export-onnx <prefix> " + path + "`"
                            + (loadTransforms ? "" : " --no-transforms")));
        }
        if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
            throw new MxportException(ErrorCode.MODEL_UNREADABLE, file.toAbsolutePath() + " is not a readable file");
        }
        Environment.configure(provider);
        EngineModel model = provider.open(file);
        try {
            Signature signature = signature(model, path, loadTransforms);
            return new EngineModelFile(signature, path + " on " + engine, model);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
    }

    /** The part of the signature the file holds, checked against the file's graph (section 13.1). */
    private static Signature signature(EngineModel model, String path, boolean loadTransforms) {
        Map<String, String> meta = model.metadata();
        String json = meta.get("mxport_signature");
        if (json == null) {
            throw new MxportException(
                    ErrorCode.NO_SIGNATURE,
                    path + " has no mxport_signature in its metadata_props",
                    Fix.text("write the file from an mxport model with `mxport export-onnx`"));
        }
        Signature whole = Signature.fromJson(json);
        String graph = meta.get("mxport_graph");
        if (!"model".equals(graph) && !"network".equals(graph)) {
            throw new MxportException(
                    ErrorCode.BAD_SIGNATURE,
                    path + " has mxport_graph " + graph + ", not 'model' or 'network' (spec/FORMAT.md section 13.1)");
        }
        if (graph.equals("network") == loadTransforms) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    path + " holds the " + (loadTransforms ? "network alone" : "whole model (transforms included)")
                            + " but loadTransforms=" + loadTransforms + " asks for the "
                            + (loadTransforms ? "whole model" : "network alone"),
                    Fix.argument(
                            "load_transforms",
                            !loadTransforms,
                            "",
                            ", or write the other part with `mxport export-onnx <prefix> <file>"
                                    + (loadTransforms ? "`" : " --no-transforms`")));
        }
        Signature part = loadTransforms
                ? whole
                : whole.getNetwork()
                        .orElseThrow(() -> new MxportException(
                                ErrorCode.BAD_SIGNATURE,
                                path + " says it holds the network alone, but its signature has no network part"));
        if (!model.inputNames().equals(part.getInputNames())
                || !model.outputNames().equals(part.getOutputNames())) {
            throw new MxportException(
                    ErrorCode.BAD_CONNECTORS,
                    path + ": the graph's inputs " + model.inputNames()
                            + " and outputs " + model.outputNames() + " differ from the signature's "
                            + part.getInputNames()
                            + " and " + part.getOutputNames());
        }
        return part;
    }

    /** Runs inputs already checked against the signature; outputs in signature order. */
    List<NDArray> run(List<NDArray> inputs) {
        Map<String, NDArray> byName = new LinkedHashMap<>();
        for (int i = 0; i < inputs.size(); i++) {
            byName.put(signature.getInputNames().get(i), inputs.get(i));
        }
        return model.run(byName, signature.getOutputNames());
    }

    @Override
    public void close() {
        model.close();
    }
}
