package io.mxport.serve;

import io.mxport.NDArray;
import io.mxport.Shape;
import io.mxport.TensorSpec;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Dynamic batching of one model. Requests whose inputs agree in everything but dimension 0 (dtype and the other
 * dimensions) are concatenated along dimension 0, up to {@code maxBatchSize} samples; the outputs are split back by
 * rows. A request whose shapes differ from the first waiting one stays queued for a later batch, so it runs with its
 * own kind.
 *
 * <p>Who computes: the request threads themselves, no thread of the batcher's. A request {@link #submit}s its inputs
 * and {@link Call#await}s its outputs; while it waits, its thread computes the next batch whenever a compute slot is
 * free (as many slots as the engine computes calls at once, {@link Engine#concurrentCalls()}: the MXNet engine
 * workers of spec/RUNTIME.md rule 7). So a lone request (batching on or off) is computed on the thread that parsed
 * it, with no hand-off to another thread and back, and requests that queue while every slot is busy merge into the
 * next batch, which one of their threads computes while the others wait for their rows.
 *
 * <p>When a batch starts: as soon as a compute slot is free. A free slot waits for more requests only while some are
 * known to be on their way in (a {@link Ticket} taken when the request arrived, before its body was decoded, and not
 * yet submitted), and never longer than {@code maxDelay} after the first waiting request was queued. So a lone
 * request (or one that a busy engine let queue long enough) is computed at once: batching adds no wait at low load.
 */
final class Batcher implements AutoCloseable {
    private final String name;
    private final Engine.Model model;
    private final int maxBatchSize;
    private final long maxDelayNanos;
    private final Metrics metrics;
    private final int slots;
    private final ArrayDeque<Call> pending = new ArrayDeque<>();
    private final ReentrantLock lock = new ReentrantLock();
    /** Signalled when a request is queued or a ticket closed: a batch being formed may take more (or stop waiting). */
    private final Condition arrived = lock.newCondition();
    /** Signalled when a batch is done: {@link #close()} waits for the queue to drain. */
    private final Condition batchDone = lock.newCondition();

    private boolean closing; // guarded by lock
    private int coming; // guarded by lock: tickets taken and neither submitted nor closed
    private int computing; // guarded by lock: batches being formed or computed now (at most slots)

    /** One request's inputs on their way to the engine; {@link #await} gives its outputs. */
    final class Call {
        final List<NDArray> inputs;
        final int rows;
        final String key;
        final long enqueued = System.nanoTime();
        private List<NDArray> outputs; // guarded by lock
        private RuntimeException failure; // guarded by lock
        private boolean done; // guarded by lock: answered, or given up (timed out)
        private boolean waiting; // guarded by lock: its thread waits in await
        /** Signalled when this request is answered, or when a compute slot is free for its thread to take. */
        private final Condition wake = lock.newCondition();

        Call(List<NDArray> inputs) {
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

        /**
         * The outputs (signature order, this request's rows), computing batches on this thread while a compute slot
         * is free: its own, or those queued before it.
         *
         * @param deadlineNanos a {@link System#nanoTime()} after which the request is answered 504
         * @throws ServeException 504 past the deadline, 503 when interrupted
         * @throws RuntimeException what the model threw ({@link io.mxport.MxportException} for bad input)
         */
        List<NDArray> await(long deadlineNanos) {
            lock.lock();
            try {
                while (!done) {
                    if (computing < slots && !pending.isEmpty()) {
                        lead();
                        continue;
                    }
                    long left = deadlineNanos - System.nanoTime();
                    if (left <= 0) {
                        giveUp();
                        throw timeout();
                    }
                    waiting = true;
                    try {
                        wake.awaitNanos(left);
                    } catch (InterruptedException e) {
                        giveUp();
                        Thread.currentThread().interrupt();
                        throw new ServeException(503, "UNAVAILABLE", "the server is stopping");
                    } finally {
                        waiting = false;
                    }
                }
                handOff(); // this thread is done: a free slot goes to a request still waiting
                if (failure != null) {
                    throw failure;
                }
                if (System.nanoTime() - deadlineNanos > 0) {
                    throw timeout(); // computed, but later than the request may take
                }
                return outputs;
            } finally {
                lock.unlock();
            }
        }

        /** Under the lock: the request stops waiting; a batch being computed with it drops its rows. */
        private void giveUp() {
            if (!done) {
                done = true;
                pending.remove(this);
                arrived.signalAll();
                handOff();
            }
        }

        private ServeException timeout() {
            return new ServeException(
                    504,
                    "DEADLINE_EXCEEDED",
                    "model '" + name + "' did not answer within the request timeout: send fewer samples per request, or"
                            + " start the server with a larger --request-timeout-ms");
        }

        /** Under the lock. */
        private void answer(List<NDArray> outputs, RuntimeException failure) {
            if (!done) {
                this.done = true;
                this.outputs = outputs;
                this.failure = failure;
                wake.signal();
            }
        }
    }

    Batcher(String name, Engine.Model model, int maxBatchSize, long maxDelayMs, int concurrentCalls, Metrics metrics) {
        this.name = name;
        this.model = model;
        this.maxBatchSize = batchable(model) ? maxBatchSize : 1;
        this.maxDelayNanos = TimeUnit.MILLISECONDS.toNanos(maxDelayMs);
        this.metrics = metrics;
        this.slots = Math.max(1, concurrentCalls);
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

    /** Queues one request's inputs (signature order, checked); {@link Call#await} gives its outputs. */
    Call submit(List<NDArray> inputs) {
        return submit(inputs, null);
    }

    /** As {@link #submit(List)}, for the request of {@code ticket} (null: none was taken). */
    Call submit(List<NDArray> inputs, Ticket ticket) {
        Call call = new Call(inputs);
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
            pending.addLast(call);
            arrived.signalAll(); // a batch being formed takes it; else this thread computes it in await

        } finally {
            lock.unlock();
        }
        return call;
    }

    /**
     * Under the lock, with a compute slot free and a request waiting: takes the slot, forms the next batch, computes
     * it without the lock, answers its requests and frees the slot.
     */
    private void lead() {
        computing++;
        List<Call> batch;
        try {
            batch = collect();
        } catch (RuntimeException | Error e) {
            computing--;
            batchDone.signalAll();
            throw e;
        }
        lock.unlock();
        try {
            run(batch);
        } finally {
            lock.lock();
            computing--;
            batchDone.signalAll();
        }
    }

    /**
     * Under the lock: when a compute slot is free and requests wait, wakes the thread of the first waiting one to
     * compute the next batch (a thread leaving {@link Call#await} passes the slot on).
     */
    private void handOff() {
        if (computing >= slots) {
            return;
        }
        for (Call c : pending) {
            if (c.waiting) {
                c.wake.signal();
                return;
            }
        }
    }

    /**
     * Under the lock, holding a compute slot: the first waiting request and those of its kind; waits for more only
     * while requests are on their way in ({@link Ticket}), and at most until the delay after the first was queued.
     */
    private List<Call> collect() {
        long deadline = pending.peekFirst().enqueued + maxDelayNanos;
        List<Call> batch = new ArrayList<>();
        String key = null;
        int rows = 0;
        while (true) {
            for (Iterator<Call> it = pending.iterator(); it.hasNext(); ) {
                Call c = it.next();
                if (key == null) {
                    key = c.key;
                }
                if (c.key.equals(key) && (batch.isEmpty() || rows + c.rows <= maxBatchSize)) {
                    it.remove();
                    batch.add(c);
                    rows += c.rows;
                }
            }
            long left = deadline - System.nanoTime();
            if (rows >= maxBatchSize || coming <= 0 || left <= 0 || closing) {
                return batch;
            }
            try {
                arrived.awaitNanos(left);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return batch;
            }
            batch.removeIf(c -> c.done); // gave up while the batch formed
            if (batch.isEmpty() && pending.isEmpty()) {
                return batch;
            }
            if (batch.isEmpty()) {
                key = null;
                rows = 0;
                deadline = pending.peekFirst().enqueued + maxDelayNanos;
            }
        }
    }

    /** Without the lock: computes the batch and answers each of its requests. */
    private void run(List<Call> batch) {
        if (batch.isEmpty()) {
            return;
        }
        long start = System.nanoTime();
        int rows = 0;
        for (Call c : batch) {
            metrics.queued(name, (start - c.enqueued) / 1e9);
            rows += c.rows;
        }
        metrics.batch(name, rows);
        List<List<NDArray>> answers = new ArrayList<>(batch.size());
        RuntimeException failure = null;
        try {
            if (batch.size() == 1) {
                answers.add(model.predict(batch.get(0).inputs));
            } else {
                List<NDArray> merged = new ArrayList<>();
                for (int i = 0; i < batch.get(0).inputs.size(); i++) {
                    List<NDArray> parts = new ArrayList<>();
                    for (Call c : batch) {
                        parts.add(c.inputs.get(i));
                    }
                    merged.add(concat(parts, rows));
                }
                List<NDArray> outputs = model.predict(merged);
                int offset = 0;
                for (Call c : batch) {
                    List<NDArray> mine = new ArrayList<>();
                    for (NDArray out : outputs) {
                        mine.add(rows(out, offset, c.rows, rows));
                    }
                    offset += c.rows;
                    answers.add(mine);
                }
            }
        } catch (RuntimeException e) {
            failure = e;
        } catch (Error e) {
            failure = new IllegalStateException("model '" + name + "' failed: " + e, e);
        }
        lock.lock();
        try {
            for (int i = 0; i < batch.size(); i++) {
                batch.get(i).answer(failure == null ? answers.get(i) : null, failure);
            }
        } finally {
            lock.unlock();
        }
    }

    private static NDArray concat(List<NDArray> parts, int rows) {
        int[] dims = parts.get(0).getShape().toArray();
        dims[0] = rows;
        int total = 0;
        for (NDArray p : parts) {
            total += p.asReadOnlyBuffer().remaining();
        }
        ByteBuffer all = ByteBuffer.allocate(total);
        for (NDArray p : parts) {
            all.put(p.asReadOnlyBuffer());
        }
        return NDArray.view(parts.get(0).getDType(), all.flip(), new Shape(dims));
    }

    private static NDArray rows(NDArray out, int offset, int count, int total) {
        int[] dims = out.getShape().toArray();
        if (dims.length == 0 || dims[0] != total) {
            throw new IllegalStateException(
                    "output of shape " + out.getShape() + " has no batch dimension of " + total);
        }
        ByteBuffer raw = out.asReadOnlyBuffer();
        int rowBytes = raw.remaining() / total;
        dims[0] = count;
        return NDArray.view(out.getDType(), raw.slice(offset * rowBytes, count * rowBytes), new Shape(dims));
    }

    /**
     * Refuses new requests, computes every queued one (on this thread, when their own threads do not), then returns
     * (the model stays open).
     */
    @Override
    public void close() {
        lock.lock();
        try {
            closing = true;
            arrived.signalAll();
            while (!pending.isEmpty() || computing > 0) {
                if (computing < slots && !pending.isEmpty()) {
                    lead();
                } else {
                    batchDone.awaitUninterruptibly();
                }
            }
        } finally {
            lock.unlock();
        }
    }
}
