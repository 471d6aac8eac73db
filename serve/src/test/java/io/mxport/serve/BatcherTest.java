package io.mxport.serve;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.mxport.DType;
import io.mxport.NDArray;
import io.mxport.Predictor;
import io.mxport.Shape;
import io.mxport.Signature;
import io.mxport.TestSupport;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Dynamic batching on the real ResNet-18 through libmxnet. */
class BatcherTest {
    private static Predictor predictor;
    /** Every batch the engine computed, by its input shape. */
    private static final List<Shape> computed = Collections.synchronizedList(new ArrayList<>());
    /** The thread that computed each of them. */
    private static final List<Thread> computedOn = Collections.synchronizedList(new ArrayList<>());

    private static Engine.Model model;

    @BeforeAll
    static void load() {
        predictor = new Predictor(TestSupport.resnet());
        model = new Engine.Model() {
            @Override
            public Signature signature() {
                return predictor.getSignature();
            }

            @Override
            public List<NDArray> predict(List<NDArray> inputs) {
                computed.add(inputs.get(0).getShape());
                computedOn.add(Thread.currentThread());
                return predictor.predictWithNDArray(inputs);
            }

            @Override
            public void close() {}
        };
    }

    @AfterAll
    static void close() {
        predictor.close();
    }

    private static NDArray pixels(int seed, int n, int h, int w) {
        byte[] b = new byte[n * h * w * 3];
        new Random(seed).nextBytes(b);
        return NDArray.ofBytes(b, new Shape(n, h, w, 3));
    }

    @Test
    void mergedRepliesAreExactlyTheirRowsOfTheMergedBatch() throws Exception {
        Metrics metrics = new Metrics();
        List<NDArray> inputs = List.of(pixels(1, 1, 64, 80), pixels(2, 2, 64, 80), pixels(3, 1, 64, 80));
        computed.clear();
        List<CompletableFuture<List<NDArray>>> replies = new ArrayList<>();
        try (Batcher batcher = new Batcher("resnet", model, 8, 60_000, 1, metrics)) {
            // the three arrive together (as the HTTP side takes their tickets): the batcher waits for them all
            List<Batcher.Ticket> tickets = List.of(batcher.expect(), batcher.expect(), batcher.expect());
            for (int i = 0; i < inputs.size(); i++) {
                replies.add(batcher.submit(List.of(inputs.get(i)), tickets.get(i)));
            }
            for (CompletableFuture<List<NDArray>> r : replies) {
                r.get();
            }
        }
        assertEquals(List.of(new Shape(4, 64, 80, 3)), computed, "the three requests ran as one batch of 4");
        byte[] all = new byte[4 * 64 * 80 * 3];
        int at = 0;
        for (NDArray in : inputs) {
            byte[] b = in.toByteArray();
            System.arraycopy(b, 0, all, at, b.length);
            at += b.length;
        }
        float[] merged = predictor
                .predictWithNDArray(List.of(NDArray.ofBytes(all, new Shape(4, 64, 80, 3))))
                .get(0)
                .toFloatArray();
        int row = 0;
        for (int i = 0; i < inputs.size(); i++) {
            NDArray got = replies.get(i).get().get(0);
            int n = inputs.get(i).getShape().get(0);
            assertEquals(new Shape(n, 1000), got.getShape());
            float[] want = java.util.Arrays.copyOfRange(merged, row * 1000, (row + n) * 1000);
            assertArrayEquals(
                    want, got.toFloatArray(), 0f, "request " + i + ": its rows of the merged batch, bit for bit");
            row += n;
        }
        assertTrue(metrics.scrape().contains("mxport_batch_size_bucket{model=\"resnet\",le=\"4.0\"} 1"));
    }

    @Test
    void requestsOfAnotherShapeRunOnTheirOwnAndAloneIsExactlyThePredictors() throws Exception {
        NDArray a = pixels(4, 1, 64, 80);
        NDArray b = pixels(5, 1, 48, 48);
        NDArray c = pixels(6, 1, 64, 80);
        computed.clear();
        CompletableFuture<List<NDArray>> ra;
        CompletableFuture<List<NDArray>> rb;
        CompletableFuture<List<NDArray>> rc;
        try (Batcher batcher = new Batcher("resnet", model, 8, 60_000, 1, new Metrics())) {
            Batcher.Ticket ta = batcher.expect();
            Batcher.Ticket tb = batcher.expect();
            Batcher.Ticket tc = batcher.expect();
            ra = batcher.submit(List.of(a), ta);
            rb = batcher.submit(List.of(b), tb);
            rc = batcher.submit(List.of(c), tc);
            rb.get();
        }
        assertEquals(2, computed.size(), "a and c merged, b alone: " + computed);
        assertTrue(computed.contains(new Shape(2, 64, 80, 3)) && computed.contains(new Shape(1, 48, 48, 3)));
        assertArrayEquals(
                predictor.predictWithNDArray(List.of(b)).get(0).toFloatArray(),
                rb.get().get(0).toFloatArray(),
                0f,
                "computed alone: the Predictor's output bit for bit");
        assertEquals(DType.FLOAT32, ra.get().get(0).getDType());
        assertEquals(new Shape(1, 1000), rc.get().get(0).getShape());
    }

    /**
     * Batching on, but nothing else on its way: the lone request is computed at once, not after the delay (a minute
     * here, so waiting it out fails the get's 30 s). The same once a request that was announced fails on its way in.
     */
    @Test
    void aLoneRequestDoesNotWaitTheDelay() throws Exception {
        Metrics metrics = new Metrics();
        computed.clear();
        try (Batcher batcher = new Batcher("resnet", model, 8, 60_000, 1, metrics)) {
            batcher.submit(List.of(pixels(9, 1, 32, 32))).get(30, TimeUnit.SECONDS);
            Batcher.Ticket failed = batcher.expect();
            Batcher.Ticket mine = batcher.expect();
            CompletableFuture<List<NDArray>> r = batcher.submit(List.of(pixels(10, 1, 32, 32)), mine);
            failed.close(); // e.g. its body was not valid: the batcher stops waiting for it
            r.get(30, TimeUnit.SECONDS);
        }
        assertEquals(List.of(new Shape(1, 32, 32, 3), new Shape(1, 32, 32, 3)), computed);
        Matcher queued = Pattern.compile("mxport_queue_duration_seconds_sum\\{model=\"resnet\"\\} (\\S+)")
                .matcher(metrics.scrape());
        assertTrue(queued.find(), metrics.scrape());
        assertTrue(Double.parseDouble(queued.group(1)) < 60, "waited out the delay: " + queued.group(1) + " s");
    }

    /**
     * A lone request, with nothing queued and nothing on its way in, is computed on the thread that submits it (no
     * hand-off); one that another announced request could merge with queues for the batcher's thread.
     */
    @Test
    void aLoneRequestIsComputedOnItsOwnThreadAndOthersOnTheBatchers() throws Exception {
        computed.clear();
        computedOn.clear();
        NDArray x = pixels(11, 1, 32, 32);
        try (Batcher batcher = new Batcher("resnet", model, 8, 60_000, 1, new Metrics())) {
            CompletableFuture<List<NDArray>> alone = batcher.submit(List.of(x));
            assertTrue(alone.isDone(), "computed before submit returned");
            assertEquals(List.of(Thread.currentThread()), computedOn);
            assertArrayEquals(
                    predictor.predictWithNDArray(List.of(x)).get(0).toFloatArray(),
                    alone.get().get(0).toFloatArray(),
                    0f);
            Batcher.Ticket other = batcher.expect(); // a request on its way in: this one waits to merge with it
            CompletableFuture<List<NDArray>> queued = batcher.submit(List.of(pixels(12, 1, 32, 32)));
            other.close();
            queued.get(30, TimeUnit.SECONDS);
        }
        assertEquals(2, computedOn.size(), computedOn.toString());
        assertEquals("mxport-serve-resnet-batcher", computedOn.get(1).getName());
    }

    @Test
    void batchingOffComputesEachRequestAlone() throws Exception {
        computed.clear();
        List<CompletableFuture<List<NDArray>>> replies = new ArrayList<>();
        NDArray[] in = {pixels(7, 1, 32, 32), pixels(8, 1, 32, 32)};
        try (Batcher batcher = new Batcher("resnet", model, 1, 100, 1, new Metrics())) {
            for (NDArray x : in) {
                replies.add(batcher.submit(List.of(x)));
            }
            replies.get(1).get();
        }
        assertEquals(List.of(new Shape(1, 32, 32, 3), new Shape(1, 32, 32, 3)), computed);
        for (int i = 0; i < in.length; i++) {
            assertArrayEquals(
                    predictor.predictWithNDArray(List.of(in[i])).get(0).toFloatArray(),
                    replies.get(i).get().get(0).toFloatArray(),
                    0f);
        }
    }
}
