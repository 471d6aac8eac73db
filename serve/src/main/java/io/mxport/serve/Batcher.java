package io.mxport.serve;

import io.mxport.NDArray;
import io.mxport.Shape;
import io.mxport.TensorSpec;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Dynamic batching of one model. Requests whose inputs agree in everything but dimension 0 (dtype and the other
 * dimensions) are concatenated along dimension 0, up to {@code maxBatchSize} samples; the outputs are split back by
 * rows. A request whose shapes differ from the first waiting one stays queued for a later batch, so it runs with its
 * own kind.
 *
 * <p>When a batch starts: as soon as a compute slot is free. As many batches compute at once as the engine computes
 * calls at once ({@link Engine#concurrentCalls()}: the MXNet engine workers of spec/RUNTIME.md rule 7), and a batch
 * is formed only when a slot is free, so the requests that queued while every slot was busy merge into the next
 * batch. A free slot waits for more requests only while some are known to be on their way in (a {@link Ticket}
 * taken when the request arrived, before its body was decoded, and not yet submitted), and never longer than
 * {@code maxDelay} after the first waiting request was queued. So a lone request (or one that a busy engine let
 * queue long enough) is computed at once: batching adds no wait at low load.
 *
 * <p>Where: a request that finds the engine idle (no batch computing nor forming), nothing queued and (batching on)
 * no other request on its way in has nothing to merge with, so {@link #submit} computes it on the caller's thread, without the two thread hand-offs to
 * the batcher's thread and back; every other request queues for the batcher's thread, as above.
 */
final class Batcher implements AutoCloseable {
    private final String name;
    private final Engine.Model model;
    private final int maxBatchSize;
    private final long maxDelayNanos;
    private final Metrics metrics;
    private final Semaphore slots;
    private final int concurrentCalls;
    private final ExecutorService compute;
    private final Thread dispatcher;
    private final ArrayDeque<Job> pending = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private boolean closing; // guarded by lock
    private int coming; // guarded by lock: tickets taken and neither submitted nor closed
    private final boolean inline;

    private static final class Job {
        final List<NDArray> inputs;
        final int rows;
        final String key;
        final long enqueued = System.nanoTime();
        final CompletableFuture<List<NDArray>> result = new CompletableFuture<>();

        Job(List<NDArray> inputs) {
            this.inputs = inputs;
            this.rows = inputs.get(0).getShape().get(0);
            StringBuilder k = new StringBuilder();
            for (NDArray a : inputs) {
                int[] dims = a.getShape().toArray();
                k.append(a.getDType())
                        .append(Arrays.toString(Arrays.copyOfRange(dims, 1, dims.length)))
                        .append(';');
            }
            this.key = k.toString();
        }
    }

    Batcher(String name, Engine.Model model, int maxBatchSize, long maxDelayMs, int concurrentCalls, Metrics metrics) {
        this.name = name;
        this.model = model;
        this.maxBatchSize = batchable(model) ? maxBatchSize : 1;
        this.maxDelayNanos = TimeUnit.MILLISECONDS.toNanos(maxDelayMs);
        this.metrics = metrics;
        this.slots = new Semaphore(concurrentCalls);
        this.concurrentCalls = concurrentCalls;
        this.inline = concurrentCalls == 1; // the dispatcher computes the batch itself: one thread hand-off fewer
        this.compute = inline
                ? null
                : Executors.newFixedThreadPool(concurrentCalls, r -> {
                    Thread t = new Thread(r, "mxport-serve-" + name + "-compute");
                    t.setDaemon(true);
                    return t;
                });
        this.dispatcher = new Thread(this::dispatch, "mxport-serve-" + name + "-batcher");
        this.dispatcher.setDaemon(true);
        this.dispatcher.start();
    }

    /** Merging needs dimension 0 to be the batch of every input and output. */
    private static boolean batchable(Engine.Model model) {
        List<TensorSpec> all = new ArrayList<>(model.signature().getInputs());
        all.addAll(model.signature().getOutputs());
        for (TensorSpec s : all) {
            if (s.getShape().rank() == 0 || s.getShape().get(0) != -1) {
                return false;
            }
        }
        return true;
    }

    int maxBatchSize() {
        return maxBatchSize;
    }

    /**
     * A request on its way in: taken when it arrives (before its body is decoded), handed to {@link #submit} or
     * closed when it fails before that. A free compute slot waits (at most the delay) for the requests whose tickets
     * are open, so that they merge.
     */
    final class Ticket implements AutoCloseable {
        private boolean open = true; // guarded by lock

        /** Without a submit: the request failed on its way in, nothing waits for it any more. */
        @Override
        public void close() {
            lock.lock();
            try {
                if (open) {
                    open = false;
                    coming--;
                    arrived.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }
    }

    /** See {@link Ticket}; close it (try-with-resources) whether or not the request was submitted. */
    Ticket expect() {
        lock.lock();
        try {
            coming++;
            return new Ticket();
        } finally {
            lock.unlock();
        }
    }

    /** Queues one request's inputs (signature order, checked); the future completes with its outputs. */
    CompletableFuture<List<NDArray>> submit(List<NDArray> inputs) {
        return submit(inputs, null);
    }

    /** As {@link #submit(List)}, for the request of {@code ticket} (null: none was taken). */
    CompletableFuture<List<NDArray>> submit(List<NDArray> inputs, Ticket ticket) {
        Job job = new Job(inputs);
        boolean alone;
        lock.lock();
        try {
            if (ticket != null && ticket.open) {
                ticket.open = false;
                coming--;
            }
            if (closing) {
                throw new ServeException(
                        503, "UNAVAILABLE", "model '" + name + "' is shutting down: retry on another" + " replica");
            }
            // an idle engine (no batch computing nor forming) and nothing to merge with: compute here, without the
            // hand-offs to the batcher's thread and back
            alone = pending.isEmpty()
                    && (maxBatchSize == 1 || coming <= 0)
                    && slots.availablePermits() == concurrentCalls
                    && slots.tryAcquire();
            if (!alone) {
                pending.addLast(job);
                arrived.signalAll();
            }
        } finally {
            lock.unlock();
        }
        if (alone) {
            try {
                run(List.of(job));
            } finally {
                slots.release();
            }
        }
        return job.result;
    }

    private void dispatch() {
        while (true) {
            List<Job> batch;
            lock.lock();
            try {
                while (pending.isEmpty() && !closing) {
                    arrived.awaitUninterruptibly();
                }
                if (pending.isEmpty()) { // closing and drained
                    return;
                }
            } finally {
                lock.unlock();
            }
            slots.acquireUninterruptibly(); // waits while a request computes on its own thread (submit)
            lock.lock();
            try {
                batch = pending.isEmpty() ? List.of() : collect();
            } finally {
                lock.unlock();
            }
            if (batch.isEmpty()) {
                slots.release();
                continue;
            }
            if (inline) {
                try {
                    run(batch);
                } finally {
                    slots.release();
                }
                continue;
            }
            compute.execute(() -> {
                try {
                    run(batch);
                } finally {
                    slots.release();
                }
            });
        }
    }

    /**
     * Under the lock, with a compute slot free: the first waiting job and those of its kind; waits for more only while
     * requests are on their way in ({@link Ticket}), and at most until the delay after the first job was queued.
     */
    private List<Job> collect() {
        Job first = pending.peekFirst();
        long deadline = first.enqueued + maxDelayNanos;
        List<Job> batch = new ArrayList<>();
        int rows = 0;
        while (true) {
            for (Iterator<Job> it = pending.iterator(); it.hasNext(); ) {
                Job j = it.next();
                if (j.result.isDone()) { // timed out or cancelled while waiting
                    it.remove();
                    continue;
                }
                if (j.key.equals(first.key) && (batch.isEmpty() || rows + j.rows <= maxBatchSize)) {
                    it.remove();
                    batch.add(j);
                    rows += j.rows;
                }
            }
            long left = deadline - System.nanoTime();
            if (batch.isEmpty() || rows >= maxBatchSize || coming <= 0 || left <= 0 || closing) {
                return batch;
            }
            try {
                arrived.awaitNanos(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return batch;
            }
        }
    }

    private void run(List<Job> batch) {
        long start = System.nanoTime();
        int rows = 0;
        for (Job j : batch) {
            metrics.queued(name, (start - j.enqueued) / 1e9);
            rows += j.rows;
        }
        metrics.batch(name, rows);
        try {
            if (batch.size() == 1) {
                batch.get(0).result.complete(model.predict(batch.get(0).inputs));
                return;
            }
            List<NDArray> merged = new ArrayList<>();
            for (int i = 0; i < batch.get(0).inputs.size(); i++) {
                List<NDArray> parts = new ArrayList<>();
                for (Job j : batch) {
                    parts.add(j.inputs.get(i));
                }
                merged.add(concat(parts, rows));
            }
            List<NDArray> outputs = model.predict(merged);
            int offset = 0;
            for (Job j : batch) {
                List<NDArray> mine = new ArrayList<>();
                for (NDArray out : outputs) {
                    mine.add(rows(out, offset, j.rows, rows));
                }
                offset += j.rows;
                j.result.complete(mine);
            }
        } catch (RuntimeException | Error e) {
            for (Job j : batch) {
                j.result.completeExceptionally(e);
            }
        }
    }

    private static NDArray concat(List<NDArray> parts, int rows) {
        int[] dims = parts.get(0).getShape().toArray();
        dims[0] = rows;
        byte[][] raw = new byte[parts.size()][];
        int total = 0;
        for (int i = 0; i < raw.length; i++) {
            raw[i] = parts.get(i).toRawBytes();
            total += raw[i].length;
        }
        byte[] all = new byte[total];
        int at = 0;
        for (byte[] r : raw) {
            System.arraycopy(r, 0, all, at, r.length);
            at += r.length;
        }
        return NDArray.wrapRaw(parts.get(0).getDType(), all, new Shape(dims));
    }

    private static NDArray rows(NDArray out, int offset, int count, int total) {
        int[] dims = out.getShape().toArray();
        if (dims.length == 0 || dims[0] != total) {
            throw new IllegalStateException(
                    "output of shape " + out.getShape() + " has no batch dimension of " + total);
        }
        byte[] raw = out.toRawBytes();
        int rowBytes = raw.length / total;
        dims[0] = count;
        return NDArray.wrapRaw(
                out.getDType(),
                Arrays.copyOfRange(raw, offset * rowBytes, (offset + count) * rowBytes),
                new Shape(dims));
    }

    /** Refuses new requests, computes every queued one, then returns (the model stays open). */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            dispatcher.join();
            if (compute != null) {
                compute.shutdown();
                compute.awaitTermination(5, TimeUnit.MINUTES);
            }
            if (slots.tryAcquire(concurrentCalls, 5, TimeUnit.MINUTES)) { // requests computing on their own threads
                slots.release(concurrentCalls);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
