package io.mxport.onnxruntime;

import ai.onnxruntime.OrtEnvironment;
import io.mxport.Engine;
import io.mxport.Environment;
import io.mxport.Predictor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.stream.Stream;

/**
 * A fresh JVM for EnvironmentThreadsTest: {@code ThreadsProbe <model.onnx> <network.onnx> <threads or "-">
 * [ort-first]} sets the threads (unless "-"), creates ONNX Runtime's environment itself first when asked (as
 * other code in the JVM might), opens both files on ONNX Runtime and prints the native threads the JVM gained
 * meanwhile (ONNX Runtime's pool threads carry the launcher's name, "java"; the JVM names its own) and what
 * Environment says was applied.
 */
public final class ThreadsProbe {
    private ThreadsProbe() {}

    static long unnamedThreads() throws IOException {
        try (Stream<Path> tasks = Files.list(Paths.get("/proc/self/task"))) {
            return tasks.filter(t -> {
                        try {
                            return Files.readString(t.resolve("comm")).strip().equals("java");
                        } catch (IOException e) {
                            return false; // the thread ended meanwhile
                        }
                    })
                    .count();
        }
    }

    public static void main(String[] args) throws IOException {
        long before = unnamedThreads();
        if (!args[2].equals("-")) {
            Environment.setThreads(Integer.parseInt(args[2]));
        }
        if (args.length > 3) {
            OrtEnvironment.getEnvironment();
        }
        try (Predictor whole = new Predictor(args[0], Engine.ONNXRUNTIME, true);
                Predictor network = new Predictor(args[1], Engine.ONNXRUNTIME, false)) {
            Environment.Applied a = Environment.applied(Engine.ONNXRUNTIME).orElseThrow();
            System.out.println("gained " + (unnamedThreads() - before));
            System.out.println("threads " + a.getThreads());
            System.out.println("reason " + a.getReason());
            System.out.println("mxnet " + Environment.applied().isPresent());
        }
    }
}
