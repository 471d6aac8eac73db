package io.mxport;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * MXNet's CPU engine workers, as mxport drives them: loads libmxnet.so once per process through the door
 * ({@link Mxnet}) and applies the thread rule of spec/RUNTIME.md on the workers before anything else may call
 * ({@link #load}: every Predictor and image decode goes through it), runs callbacks on the workers, and holds the
 * process-wide push lock. A failed load is retried on the next call: no static initializer can poison the class.
 */
final class EngineWorkers {
    /** Guards the load and {@link Environment}'s settings, so that a setting cannot change while it is read. */
    static final Object LOADING = new Object();

    /**
     * Held while a CachedOp is invoked or freed (spec/RUNTIME.md section 5). Both push one engine operation that
     * writes several variables every CachedOp shares: the temporary-space resources (four per device) and, when
     * freeing, the weights. MXNet's engine queues an operation on its variables one at a time, without a lock
     * across them, so two such pushes from two threads can interleave (A first on one variable, B first on
     * another) and then wait for each other forever: the engine's worker idles while every caller sits in
     * {@code WaitForVar}. Only the pushes are serialised; the computation and the waits run concurrently.
     */
    static final Object PUSH_LOCK = new Object();

    private static volatile Environment.Applied applied;

    private EngineWorkers() {}

    /** What was applied when libmxnet.so loaded, or null when it is not loaded yet (loads nothing). */
    static Environment.Applied appliedIfLoaded() {
        return applied;
    }

    /** Loads libmxnet.so if this process has not, applying the thread rule; returns what was applied. */
    static Environment.Applied load() {
        Environment.Applied a = applied;
        if (a == null) {
            synchronized (LOADING) {
                if (applied == null) {
                    applied = open();
                }
                a = applied;
            }
        }
        return a;
    }

    private static Environment.Applied open() {
        String userVariable = ThreadRule.userVariable();
        int wanted = userVariable == null ? ThreadRule.wantedCount() : -1; // an invalid request fails before loading
        int wantedWorkers = ThreadRule.wantedWorkers();
        int userWorkers = ThreadRule.userWorkers();
        LibraryLocator.Found found = LibraryLocator.find();
        boolean first = !found.alreadyMapped && LibraryLocator.mappedLibgomp() == null;
        boolean spin = userVariable == null && first && ThreadRule.spinUnset();
        boolean setWorkers = first && System.getenv(ThreadRule.WORKERS_VARIABLE) == null && wantedWorkers > 1;
        // MXNet reads MXNET_CPU_WORKER_NTHREADS once, when it loads; unset (or unusable) it means 1
        int workers = setWorkers ? wantedWorkers : Math.max(1, userWorkers);
        if (spin) {
            ThreadRule.setSpinCount();
        }
        if (setWorkers) {
            ThreadRule.setWorkers(wantedWorkers);
        }
        try {
            Mxnet.open(found.path, found.tried);
        } finally {
            if (spin) {
                ThreadRule.clearSpinCount();
            }
            if (setWorkers) {
                ThreadRule.clearWorkers();
            }
        }
        if (wantedWorkers != workers) {
            ThreadRule.workersNotApplied(
                    Environment.ENGINE_WORKERS_PROPERTY,
                    wantedWorkers,
                    workers,
                    userWorkers > 0
                            ? ThreadRule.WORKERS_VARIABLE + "=" + userWorkers + " is set"
                            : "libmxnet.so was loaded before mxport");
        }
        Environment.Applied decided = userVariable != null
                ? ThreadRule.environment(userVariable, workers, wantedWorkers)
                : applyOnWorkers(ThreadRule.perWorker(wanted, workers), wanted, workers, wantedWorkers, spin);
        decided.libraryPath = Mxnet.path();
        decided.libraryVersion = Mxnet.version();
        return decided;
    }

    /** What one callback saw on a CPU worker. */
    private static final class WorkerView {
        volatile long thread;
        volatile boolean fresh;
        volatile int ompThreads = -1;
        volatile String failure;
    }

    /**
     * Rule 4 of spec/RUNTIME.md: one callback per CPU engine worker sets that worker's count only when the worker
     * was created for these callbacks (its thread id is not among the threads listed before the push). With
     * several workers, each callback waits until all have started, so that no worker runs two of them.
     */
    private static Environment.Applied applyOnWorkers(
            int count, int wanted, int workers, int wantedWorkers, boolean spin) {
        Set<Long> before = ThreadRule.threadIds();
        ThreadRule.OpenMp openMp = ThreadRule.openMp();
        List<WorkerView> seen = Collections.synchronizedList(new ArrayList<>());
        onEachCpuWorker(
                workers,
                () -> {
                    WorkerView view = new WorkerView();
                    seen.add(view);
                    try {
                        view.thread = ThreadRule.currentThreadId();
                        view.fresh = !before.contains(view.thread);
                        view.ompThreads = openMp == null ? -1 : openMp.omp_get_max_threads();
                        if (view.fresh) {
                            view.failure = Mxnet.setOmpThreads(count);
                        }
                    } catch (Throwable e) { // nothing may escape into the engine
                        view.failure = e.toString();
                    }
                },
                "mxport_thread_rule");
        if (seen.isEmpty()) {
            throw new MxportException(
                    ErrorCode.NATIVE_ERROR,
                    "mxport's thread rule failed on MXNet's CPU engine worker:"
                            + " the callback did not run; set OMP_NUM_THREADS to skip the rule");
        }
        Set<Long> threadsSeen = new HashSet<>();
        boolean fresh = true;
        for (WorkerView view : seen) {
            if (view.failure != null) {
                throw new MxportException(
                        ErrorCode.NATIVE_ERROR,
                        "mxport's thread rule failed on MXNet's CPU engine worker: " + view.failure
                                + "; set OMP_NUM_THREADS to skip the rule");
            }
            threadsSeen.add(view.thread);
            fresh &= view.fresh;
        }
        if (threadsSeen.size() != workers) { // MXNET_CPU_WORKER_NTHREADS set after libmxnet.so loaded: MXNet has fewer
            ThreadRule.workersNotApplied(
                    ThreadRule.WORKERS_VARIABLE,
                    workers,
                    threadsSeen.size(),
                    "MXNet has " + threadsSeen.size() + " CPU engine worker(s): was it set after libmxnet.so loaded?");
        }
        return ThreadRule.decide(count, wanted, threadsSeen.size(), wantedWorkers, fresh, seen.get(0).ompThreads, spin);
    }

    /**
     * Runs {@code body} (which must not throw) once on each of {@code workers} CPU(0) engine workers and returns
     * when all have run: each callback waits, after its body, until all have started (at most
     * {@value ThreadRule#WORKER_ARRIVAL_SECONDS} s, for an engine with fewer workers), so that no worker runs two.
     * It waits for its own callbacks, never for the whole engine: a failure of other MXNet work in the process
     * (e.g. the user's own, not waited for) stays where it belongs, for that work's own wait.
     */
    static void onEachCpuWorker(int workers, Runnable body, String name) {
        CountDownLatch arrived = new CountDownLatch(workers);
        CountDownLatch finished = new CountDownLatch(workers);
        for (int i = 0; i < workers; i++) {
            Mxnet.pushSync(
                    (runContext, param) -> {
                        try {
                            body.run();
                            arrived.countDown();
                            arrived.await(ThreadRule.WORKER_ARRIVAL_SECONDS, TimeUnit.SECONDS);
                        } catch (InterruptedException e) { // nothing may escape into the engine
                            Thread.currentThread().interrupt();
                        } finally {
                            finished.countDown();
                        }
                    },
                    name);
        }
        boolean interrupted = false;
        while (true) {
            try {
                finished.await();
                break;
            } catch (InterruptedException e) { // the callbacks run whatever the caller wants: wait them out
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
