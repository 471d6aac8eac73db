package io.mxport.serve;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.InflaterInputStream;

/**
 * The REST side (protocol v2 over HTTP/1.1) on Netty: Netty parses HTTP and enforces the body limit
 * ({@link HttpObjectAggregator}); infer calls run on the request threads, but for a lone one (no other request in
 * flight, no other connection open), which the event loop that read it computes and answers itself: one client's
 * request then crosses no thread.
 *
 * <pre>
 * GET  /v2/health/live | /v2/health/ready | /v2 | /metrics
 * GET  /v2/models/NAME[/versions/V] | /v2/models/NAME[/versions/V]/ready
 * POST /v2/models/NAME[/versions/V]/infer
 * </pre>
 */
final class HttpFrontend implements AutoCloseable {
    private static final Pattern MODEL = Pattern.compile("/v2/models/([^/]+)(?:/versions/([^/]+))?(/ready|/infer)?/?");
    static final String HEADER_LENGTH = "Inference-Header-Content-Length";

    private final InferenceServer server;
    private final ExecutorService requests;
    private final EventLoopGroup boss = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup workers = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final Channel channel;
    /** Open HTTP connections. */
    private final AtomicInteger connections = new AtomicInteger();

    HttpFrontend(InferenceServer server, ExecutorService requests, String host, int port) throws InterruptedException {
        this.server = server;
        this.requests = requests;
        int maxBody = server.options.maxBodyBytes;
        this.channel = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new Aggregator(maxBody), new Handler());
                    }
                })
                .bind(host, port)
                .sync()
                .channel();
    }

    int port() {
        return ((InetSocketAddress) channel.localAddress()).getPort();
    }

    /** Stops taking new connections; open ones are answered (503 once the server drains). */
    void stopAccepting() {
        channel.close().awaitUninterruptibly();
    }

    @Override
    public void close() {
        stopAccepting();
        boss.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly();
        workers.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly();
    }

    /** Netty's aggregator, answering a body over the limit with the protocol's JSON error. */
    private final class Aggregator extends HttpObjectAggregator {
        Aggregator(int maxBody) {
            super(maxBody);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            long start = System.nanoTime();
            String message = "[INVALID_ARGUMENT] the request body is over the server's limit of " + maxContentLength()
                    + " bytes: send fewer samples per request, or start the server with a larger --max-body-bytes";
            FullHttpResponse r = response(
                    HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE, RestCodec.error(message), "application/json", null);
            // as Netty's own answer does: a keep-alive client may still be sending the body, which the aggregator
            // then reads and drops, so the client gets to read this answer; else close
            boolean close = oversized instanceof io.netty.handler.codec.http.FullHttpMessage
                    || !HttpUtil.isKeepAlive(oversized);
            if (close) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.writeAndFlush(r);
            }
            String uri = oversized instanceof io.netty.handler.codec.http.HttpRequest q ? q.uri() : "?";
            server.log(
                    "http",
                    "POST " + uri,
                    modelOf(uri),
                    413,
                    start,
                    HttpUtil.getContentLength(oversized, -1L),
                    r.content().readableBytes(),
                    null,
                    message);
        }
    }

    private static String modelOf(String uri) {
        Matcher m = MODEL.matcher(new QueryStringDecoder(uri).path());
        return m.matches() ? m.group(1) : "";
    }

    private static FullHttpResponse response(
            HttpResponseStatus status, byte[] body, String type, Integer headerLength) {
        return response(status, Unpooled.wrappedBuffer(body), type, headerLength);
    }

    private static FullHttpResponse response(
            HttpResponseStatus status, ByteBuf body, String type, Integer headerLength) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, body);
        r.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, type)
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (headerLength != null) {
            r.headers().setInt(HEADER_LENGTH, headerLength);
        }
        return r;
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        public void channelActive(ChannelHandlerContext ctx) throws Exception {
            connections.incrementAndGet();
            super.channelActive(ctx);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) throws Exception {
            connections.decrementAndGet();
            super.channelInactive(ctx);
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            long start = System.nanoTime();
            server.metrics.inFlight.incrementAndGet();
            String path = new QueryStringDecoder(req.uri()).path();
            String what = req.method() + " " + req.uri();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!req.decoderResult().isSuccess()) {
                reply(
                        ctx,
                        keepAlive,
                        start,
                        what,
                        "",
                        0,
                        null,
                        new ServeException(
                                400,
                                "INVALID_ARGUMENT",
                                "the HTTP request is malformed: "
                                        + req.decoderResult().cause()));
                return;
            }
            Matcher m = MODEL.matcher(path);
            if (req.method().equals(HttpMethod.POST) && m.matches() && "/infer".equals(m.group(3))) {
                ByteBuf body = req.content(); // read where it is: released when this method returns
                if (server.isDraining()) {
                    reply(
                            ctx,
                            false,
                            start,
                            what,
                            m.group(1),
                            body.readableBytes(),
                            null,
                            new ServeException(
                                    503, "UNAVAILABLE", "the server is shutting down: retry on another replica"));
                    return;
                }
                String headerLength = req.headers().get(HEADER_LENGTH);
                String encoding = req.headers().get(HttpHeaderNames.CONTENT_ENCODING);
                // taken here, before the hand-off to a request thread: the model's batcher knows it is coming
                Batcher.Ticket ticket = server.expect(m.group(1), m.group(2));
                if (server.metrics.inFlight.get() == 1 && connections.get() == 1) {
                    // the only request in the server, on its only connection: the engine is idle and no other call
                    // waits to be read, so it computes here and is answered from here, without the hand-offs to a
                    // request thread and back to the event loop
                    infer(ctx, keepAlive, start, what, m.group(1), m.group(2), body, headerLength, encoding, ticket);
                    return;
                }
                body.retain(); // for the request thread, which releases it
                try {
                    requests.execute(() -> {
                        try {
                            infer(
                                    ctx,
                                    keepAlive,
                                    start,
                                    what,
                                    m.group(1),
                                    m.group(2),
                                    body,
                                    headerLength,
                                    encoding,
                                    ticket);
                        } finally {
                            body.release();
                        }
                    });
                } catch (RejectedExecutionException e) {
                    body.release();
                    if (ticket != null) {
                        ticket.close();
                    }
                    reply(
                            ctx,
                            keepAlive,
                            start,
                            what,
                            m.group(1),
                            body.readableBytes(),
                            null,
                            new ServeException(
                                    503, "UNAVAILABLE", "the server is shutting down: retry on another replica"));
                }
                return;
            }
            try {
                Reply r = route(req.method(), path, m);
                FullHttpResponse resp = response(r.status, r.body, r.type, null);
                send(ctx, resp, keepAlive, start, what, r.model, 0, null, null);
            } catch (ServeException e) {
                reply(ctx, keepAlive, start, what, m.matches() ? m.group(1) : "", 0, null, e);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // a connection reset or the like: nothing to answer
        }
    }

    private record Reply(HttpResponseStatus status, byte[] body, String type, String model) {}

    private Reply route(HttpMethod method, String path, Matcher m) {
        if (!method.equals(HttpMethod.GET)) {
            throw new ServeException(
                    405,
                    "INVALID_ARGUMENT",
                    method + " " + path + " is not a call of protocol v2: use" + " GET, or POST .../infer");
        }
        String json = "application/json";
        switch (path) {
            case "/v2/health/live", "/v2/health/live/":
                return new Reply(
                        server.isLive() ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                        RestCodec.bytes(RestCodec.JSON.createObjectNode().put("live", server.isLive())),
                        json,
                        "");
            case "/v2/health/ready", "/v2/health/ready/":
                boolean ready = server.isReady();
                return new Reply(
                        ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                        RestCodec.bytes(RestCodec.JSON.createObjectNode().put("ready", ready)),
                        json,
                        "");
            case "/v2", "/v2/":
                return new Reply(HttpResponseStatus.OK, RestCodec.serverMetadata(), json, "");
            case "/metrics":
                return new Reply(
                        HttpResponseStatus.OK,
                        server.metrics.scrape().getBytes(StandardCharsets.UTF_8),
                        Metrics.CONTENT_TYPE,
                        "");
            default:
                break;
        }
        if (!m.matches() || "/infer".equals(m.group(3))) {
            throw new ServeException(
                    404,
                    "INVALID_ARGUMENT",
                    "no such path " + path + ": the paths are /v2,"
                            + " /v2/health/live, /v2/health/ready, /v2/models/NAME, /v2/models/NAME/ready,"
                            + " /v2/models/NAME/infer (POST), /metrics");
        }
        ModelHost model = server.model(m.group(1), m.group(2));
        if ("/ready".equals(m.group(3))) {
            boolean ready = model.isReady() && !server.isDraining();
            return new Reply(
                    ready ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                    RestCodec.bytes(RestCodec.JSON
                            .createObjectNode()
                            .put("name", model.name)
                            .put("ready", ready)),
                    json,
                    model.name);
        }
        return new Reply(HttpResponseStatus.OK, RestCodec.modelMetadata(model), json, model.name);
    }

    private void infer(
            ChannelHandlerContext ctx,
            boolean keepAlive,
            long start,
            String what,
            String model,
            String version,
            ByteBuf body,
            String headerLength,
            String encoding,
            Batcher.Ticket ticket) {
        String id = null;
        long in = body.readableBytes();
        try (ticket) {
            server.model(model, version); // an unknown model is 404 whatever the body
            ByteBuf plain = isIdentity(encoding)
                    ? body
                    : Unpooled.wrappedBuffer(
                            decompress(ByteBufUtil.getBytes(body), encoding, server.options.maxBodyBytes));
            Integer jsonLength = null;
            if (headerLength != null) {
                try {
                    jsonLength = Integer.valueOf(headerLength.trim());
                } catch (NumberFormatException e) {
                    throw ServeException.badRequest(
                            io.mxport.ErrorCode.INVALID_ARGUMENT,
                            HEADER_LENGTH + " is '" + headerLength + "': give the JSON header's length in bytes");
                }
            }
            InferenceRequest request = RestCodec.parse(model, plain, jsonLength);
            id = request.id;
            InferenceResult result = server.infer(request, version, start, ticket);
            RestCodec.Body answer = RestCodec.answer(result, request, ctx.alloc());
            FullHttpResponse r = response(
                    HttpResponseStatus.OK,
                    answer.bytes(),
                    answer.headerLength() == null ? "application/json" : "application/octet-stream",
                    answer.headerLength());
            send(ctx, r, keepAlive, start, what, model, in, id, null);
        } catch (ServeException e) {
            reply(ctx, keepAlive, start, what, model, in, id, e);
        } catch (RuntimeException e) {
            reply(
                    ctx,
                    keepAlive,
                    start,
                    what,
                    model,
                    in,
                    id,
                    new ServeException(500, "INTERNAL", "the server failed on this request: " + e));
        }
    }

    /**
     * The body as sent, or inflated from gzip or deflate (Content-Encoding, as tritonclient's
     * request_compression_algorithm sends it). The body limit applies to the inflated bytes too, counted while
     * inflating: a decompression bomb stops at the limit, with 413.
     */
    static byte[] decompress(byte[] body, String encoding, int maxBodyBytes) {
        if (isIdentity(encoding)) {
            return body;
        }
        String e = encoding.trim().toLowerCase(java.util.Locale.ROOT);
        InputStream in;
        try {
            in = switch (e) {
                case "gzip", "x-gzip" -> new GZIPInputStream(new ByteArrayInputStream(body));
                case "deflate" -> new InflaterInputStream(new ByteArrayInputStream(body));
                default ->
                    throw new ServeException(
                            415,
                            "INVALID_ARGUMENT",
                            "Content-Encoding '" + encoding + "' is not accepted: send the body uncompressed, gzip or"
                                    + " deflate");
            };
            ByteArrayOutputStream out = new ByteArrayOutputStream(Math.min(maxBodyBytes, body.length * 4 + 64));
            byte[] chunk = new byte[64 * 1024];
            for (int n; (n = in.read(chunk)) > 0; ) {
                if (out.size() + n > maxBodyBytes) {
                    throw new ServeException(
                            413,
                            "INVALID_ARGUMENT",
                            "the " + e + " request body inflates to more than the server's limit of " + maxBodyBytes
                                    + " bytes: send fewer samples per request, or start the server with a larger"
                                    + " --max-body-bytes");
                }
                out.write(chunk, 0, n);
            }
            return out.toByteArray();
        } catch (IOException x) {
            throw ServeException.badRequest(
                    io.mxport.ErrorCode.INVALID_ARGUMENT,
                    "the body is not valid " + e + " (" + x.getMessage() + "), as its Content-Encoding says: compress"
                            + " it whole, or drop the header");
        }
    }

    /** No Content-Encoding, or identity: the body is sent as it is. */
    private static boolean isIdentity(String encoding) {
        String e = encoding == null ? "" : encoding.trim().toLowerCase(java.util.Locale.ROOT);
        return e.isEmpty() || e.equals("identity");
    }

    private void reply(
            ChannelHandlerContext ctx,
            boolean keepAlive,
            long start,
            String what,
            String model,
            long in,
            String id,
            ServeException e) {
        FullHttpResponse r = response(
                HttpResponseStatus.valueOf(e.httpStatus), RestCodec.error(e.getMessage()), "application/json", null);
        send(ctx, r, keepAlive, start, what, model, in, id, e.getMessage());
    }

    private void send(
            ChannelHandlerContext ctx,
            FullHttpResponse r,
            boolean keepAlive,
            long start,
            String what,
            String model,
            long in,
            String id,
            String error) {
        int status = r.status().code();
        long out = r.content().readableBytes();
        if (keepAlive) {
            r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
        ctx.writeAndFlush(r).addListener(f -> {
            server.log("http", what, model, status, start, in, out, id, error);
            server.metrics.inFlight.decrementAndGet();
            if (!keepAlive) {
                ctx.close();
            }
        });
    }
}
