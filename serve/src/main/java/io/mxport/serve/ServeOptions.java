package io.mxport.serve;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The command line of mxport-serve.
 *
 * <pre>{@code
 * java -jar mxport-serve-<version>.jar --model resnet=models/resnet18 --http-port 8000 --grpc-port 8001
 * }</pre>
 */
final class ServeOptions {
    static final String USAGE = String.join(
            "\n",
            "usage: java -jar mxport-serve.jar --model NAME=PREFIX [--model NAME=PREFIX ...] [options]",
            "  --model NAME=PREFIX        serve the mxport model <PREFIX>-symbol.json + <PREFIX>.params as NAME (repeatable);",
            "                             with --engine onnxruntime, <PREFIX>.onnx (mxport export-onnx) or a FILE.onnx",
            "  --http-port P              REST port (default 8000; 0 picks a free port)",
            "  --grpc-port Q              gRPC port (default 8001; 0 picks a free port)",
            "  --host H                   address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)",
            "  --engine NAME              the engine that runs the models: " + Engines.names() + " (default mxnet)",
            "  --engine-workers W         W batches compute at once (default 1): MXNet's CPU engine workers (spec/RUNTIME.md",
            "                             rule 7), or W ONNX Runtime runs side by side",
            "  --max-batch-size N         merge concurrent requests up to N samples (default 1: off; merged replies equal",
            "                             the reply alone within float rounding, not bit for bit: serve/README.md)",
            "  --max-batch-delay-ms D     a free engine waits at most D ms for requests already arriving (default 2)",
            "  --max-body-bytes B         largest request body (default 67108864)",
            "  --max-tensor-elements E    largest input tensor, in elements (default 50000000)",
            "  --max-image-pixels X       largest encoded image, in pixels, read from its header (default 40000000)",
            "  --request-timeout-ms T     answer 504 when a request waited and ran longer (default 30000)",
            "  --request-threads N        threads that decode and wait on requests (default 32)",
            "  --access-log on|off        one line per request on stdout (default on)");

    final Map<String, String> models = new LinkedHashMap<>();
    String host = "127.0.0.1";
    int httpPort = 8000;
    int grpcPort = 8001;
    String engine = "mxnet";
    int engineWorkers = 1;
    int maxBatchSize = 1;
    long maxBatchDelayMs = 2;
    int maxBodyBytes = 64 << 20;
    long maxTensorElements = 50_000_000L;
    long maxImagePixels = 40_000_000L;
    long requestTimeoutMs = 30_000;
    int requestThreads = 32;
    boolean accessLog = true;

    /** @throws IllegalArgumentException naming the flag and what it takes */
    static ServeOptions parse(String[] args) {
        ServeOptions o = new ServeOptions();
        List<String> a = new ArrayList<>(List.of(args));
        for (int i = 0; i < a.size(); i++) {
            String flag = a.get(i);
            String value;
            int eq = flag.indexOf('=');
            if (flag.startsWith("--") && eq > 0) {
                value = flag.substring(eq + 1);
                flag = flag.substring(0, eq);
            } else {
                if (i + 1 >= a.size()) {
                    throw new IllegalArgumentException(flag + " needs a value");
                }
                value = a.get(++i);
            }
            switch (flag) {
                case "--model" -> {
                    int at = value.indexOf('=');
                    if (at <= 0 || at == value.length() - 1) {
                        throw new IllegalArgumentException(
                                "--model takes NAME=PREFIX, e.g. resnet=models/resnet18; got '" + value + "'");
                    }
                    String name = value.substring(0, at);
                    if (!name.matches("[A-Za-z0-9_.-]+")) {
                        throw new IllegalArgumentException("model name '" + name
                                + "' may hold only letters, digits, '_', '.'" + " and '-' (it is a URL path segment)");
                    }
                    if (o.models.put(name, value.substring(at + 1)) != null) {
                        throw new IllegalArgumentException("model name '" + name + "' is given twice");
                    }
                }
                case "--host" -> o.host = value;
                case "--http-port" -> o.httpPort = (int) number(flag, value, 0, 65535);
                case "--grpc-port" -> o.grpcPort = (int) number(flag, value, 0, 65535);
                case "--engine" -> o.engine = value;
                case "--engine-workers" -> o.engineWorkers = (int) number(flag, value, 1, 64);
                case "--max-batch-size" -> o.maxBatchSize = (int) number(flag, value, 1, 4096);
                case "--max-batch-delay-ms" -> o.maxBatchDelayMs = number(flag, value, 0, 60_000);
                case "--max-body-bytes" -> o.maxBodyBytes = (int) number(flag, value, 1024, Integer.MAX_VALUE - 8);
                case "--max-tensor-elements" -> o.maxTensorElements = number(flag, value, 1, Integer.MAX_VALUE);
                case "--max-image-pixels" -> o.maxImagePixels = number(flag, value, 1, Integer.MAX_VALUE);
                case "--request-timeout-ms" -> o.requestTimeoutMs = number(flag, value, 1, 3_600_000);
                case "--request-threads" -> o.requestThreads = (int) number(flag, value, 1, 4096);
                case "--access-log" -> {
                    if (!value.equals("on") && !value.equals("off")) {
                        throw new IllegalArgumentException("--access-log takes on or off, got '" + value + "'");
                    }
                    o.accessLog = value.equals("on");
                }
                default -> throw new IllegalArgumentException("unknown flag " + flag);
            }
        }
        if (o.models.isEmpty()) {
            throw new IllegalArgumentException("give at least one --model NAME=PREFIX");
        }
        Engines.byName(o.engine); // fails early, naming the engines there are
        return o;
    }

    private static long number(String flag, String value, long min, long max) {
        long n;
        try {
            n = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " takes an integer, got '" + value + "'");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(flag + " takes " + min + ".." + max + ", got " + n);
        }
        return n;
    }
}
