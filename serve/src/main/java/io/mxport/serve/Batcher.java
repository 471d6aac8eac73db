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
 * dimensions) are concatenated along dimension 0, up to {@code maxBatchSize} samples, waiting at most
 * {@code maxDelay} after the first of them arrived; the outputs are split back by rows. A request whose shapes
 * differ from the first waiting one stays queued for a later batch, so it runs with its own kind.
 *
 * <p>As many batches compute at once as the engine computes calls at once ({@link Engine#concurrentCalls()}: the
 * MXNet engine workers of spec/RUNTIME.md rule 7). A batch is formed only when a compute slot is free, so requests
 * that arrive while every slot is busy merge.
 */
final class Batcher implements AutoCloseable {
    private final String name;
    private final Engine.Model model;
    private final int maxBatchSize;
    private final long maxDelayNanos;
    private final Metrics metrics;
    private final Semaphore slots;
    private final ExecutorService compute;
    private final Thread dispatcher;
    private final ArrayDeque<Job> pending = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition arrived = lock.newCondition();
    private boolean closing; // guarded by lock

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
        this.compute = Executors.newFixedThreadPool(concurrentCalls, r -> {
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

    /** Queues one request's inputs (signature order, checked); the future completes with its outputs. */
    CompletableFuture<List<NDArray>> submit(List<NDArray> inputs) {
        Job job = new Job(inputs);
        lock.lock();
        try {
            if (closing) {
                throw new ServeException(
                        503, "UNAVAILABLE", "model '" + name + "' is shutting down: retry on another" + " replica");
            }
            pending.addLast(job);
            arrived.signalAll();
        } finally {
            lock.unlock();
        }
        return job.result;
    }

    private void dispatch() {
        while (true) {
            List<Job> batch;
            slots.acquireUninterruptibly();
            lock.lock();
            try {
                while (pending.isEmpty() && !closing) {
                    arrived.awaitUninterruptibly();
                }
                if (pending.isEmpty()) { // closing and drained
                    slots.release();
                    return;
                }
                batch = collect();
            } finally {
                lock.unlock();
            }
            if (batch.isEmpty()) {
                slots.release();
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

    /** Under the lock: the first waiting job and those of its kind, waiting up to the delay for more. */
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
            if (batch.isEmpty() || rows >= maxBatchSize || left <= 0 || closing) {
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
        return NDArray.ofRaw(parts.get(0).getDType(), all, new Shape(dims));
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
        return NDArray.ofRaw(
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
            compute.shutdown();
            compute.awaitTermination(5, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
