package io.mxport.serve;

import io.mxport.MxportException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * mxport-serve: serves mxport models over the Open Inference Protocol (KServe V2), REST and gRPC.
 *
 * <pre>{@code
 * java -jar mxport-serve-<version>.jar --model lite0=.cache/models/efficientnet_lite0 --http-port 8000 --grpc-port 8001
 * curl -s localhost:8000/v2/models/lite0
 * }</pre>
 *
 * <p>Startup: the ports open first (live), then each model runs once (a warm-up) and the server becomes ready.
 * SIGTERM: new requests are refused (503, not ready), the requests under way are answered, the models are closed,
 * then the process exits.
 */
public final class Main {
    private Main() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 1 && (args[0].equals("--help") || args[0].equals("-h"))) {
            System.out.println(ServeOptions.USAGE);
            return;
        }
        ServeOptions options;
        try {
            options = ServeOptions.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("mxport-serve: " + e.getMessage() + "\n" + ServeOptions.USAGE);
            System.exit(2);
            return;
        }
        Running running;
        try {
            running = start(options);
        } catch (MxportException e) {
            System.err.println("mxport-serve: cannot load the models: " + e.getMessage());
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(running::stop, "mxport-serve-shutdown"));
        running.server.warmUp();
        System.out.println("mxport-serve " + InferenceServer.VERSION + ": ready; HTTP " + options.host + ":"
                + running.http.port() + ", gRPC " + options.host + ":" + running.grpc.port() + ", models "
                + options.models.keySet() + ", engine " + options.engine + ", max batch " + options.maxBatchSize);
        System.out.flush();
        Thread.currentThread().join(); // the shutdown hook ends the process
    }

    /** Loads the models and opens both ports; the models are not ready until {@link InferenceServer#warmUp()}. */
    static Running start(ServeOptions options) throws Exception {
        AtomicInteger n = new AtomicInteger();
        ThreadPoolExecutor requests = new ThreadPoolExecutor(
                options.requestThreads,
                options.requestThreads,
                60,
                TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(),
                r -> {
                    Thread t = new Thread(r, "mxport-serve-request-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        InferenceServer server = new InferenceServer(options);
        HttpFrontend http = null;
        try {
            http = new HttpFrontend(server, requests, options.host, options.httpPort);
            GrpcFrontend grpc = new GrpcFrontend(server, requests, options.host, options.grpcPort);
            return new Running(server, http, grpc, requests);
        } catch (Exception | Error e) {
            if (http != null) {
                http.close();
            }
            requests.shutdownNow();
            server.close();
            throw e;
        }
    }

    /** A started server and how to stop it. */
    static final class Running {
        final InferenceServer server;
        final HttpFrontend http;
        final GrpcFrontend grpc;
        private final ExecutorService requests;
        private boolean stopped;

        Running(InferenceServer server, HttpFrontend http, GrpcFrontend grpc, ExecutorService requests) {
            this.server = server;
            this.http = http;
            this.grpc = grpc;
            this.requests = requests;
        }

        /** Stops accepting, answers the requests under way, closes the models. */
        synchronized void stop() {
            if (stopped) {
                return;
            }
            stopped = true;
            long start = System.nanoTime();
            server.drain();
            http.stopAccepting();
            grpc.stopAccepting();
            long limit = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(server.options.requestTimeoutMs + 5_000);
            while (server.metrics.inFlight.get() > 0 && System.nanoTime() < limit) {
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    break;
                }
            }
            try {
                // a call grpc-java took in but had not yet handed to its handler is not counted in flight
                grpc.awaitTermination(Math.max(1_000, TimeUnit.NANOSECONDS.toMillis(limit - System.nanoTime())));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            long left = server.metrics.inFlight.get();
            requests.shutdown();
            server.close();
            http.close();
            grpc.close();
            System.out.println("mxport-serve: stopped in " + (System.nanoTime() - start) / 1_000_000 + " ms"
                    + (left > 0 ? ", " + left + " request(s) still open at the limit" : ", every request answered"));
            System.out.flush();
        }
    }
}
