package io.mxport.serve;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;

/** The test models of `make models` / `make real-model` (.cache/models, or env MXPORT_MODELS). */
final class TestModels {
    private TestModels() {}

    static Path root() {
        String p = System.getProperty("mxport.root");
        if (p != null && Files.isRegularFile(Paths.get(p, "VERSION"))) {
            return Paths.get(p).toAbsolutePath();
        }
        for (Path d = Paths.get("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.isRegularFile(d.resolve("VERSION")) && Files.isDirectory(d.resolve("spec"))) {
                return d;
            }
        }
        throw new IllegalStateException("cannot find the repository root (a folder with VERSION and spec/)");
    }

    static String resnet() {
        String env = System.getenv("MXPORT_MODELS");
        Path models = env != null && !env.isEmpty()
                ? Paths.get(env)
                : root().resolve(".cache").resolve("models");
        assertTrue(Files.isRegularFile(models.resolve("resnet18-symbol.json")), "run `make models` first");
        return models.resolve("resnet18").toString();
    }
}
