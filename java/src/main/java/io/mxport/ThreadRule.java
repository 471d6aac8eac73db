package io.mxport;

import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The thread rule of spec/RUNTIME.md for the JVM: what to decide, from what, and the text of the decision.
 * {@link EngineWorkers} applies it once per process when it loads (or finds) libmxnet.so, on MXNet's CPU engine
 * workers, with the requests of {@link Environment}; this class calls no MXNet function (only libc's
 * {@code setenv}/{@code unsetenv} and libgomp's {@code omp_get_max_threads}).
 */
final class ThreadRule {
    /** libgomp's spin count while mxport loads libmxnet first (spec/RUNTIME.md, rule 3); libgomp's default is 300,000. */
    static final String SPIN_COUNT = "3000";
    /** MXNet's own setting of its CPU engine workers (rule 7 of spec/RUNTIME.md), read once when libmxnet.so loads. */
    static final String WORKERS_VARIABLE = "MXNET_CPU_WORKER_NTHREADS";
    /** How long a worker's callback waits for the others to arrive (they arrive at once on a fresh engine). */
    static final long WORKER_ARRIVAL_SECONDS = 10;

    static final String[] USER_VARIABLES = {"OMP_NUM_THREADS", "MXNET_OMP_MAX_THREADS"};
    static final String[] SPIN_VARIABLES = {"GOMP_SPINCOUNT", "OMP_WAIT_POLICY"};
    private static final System.Logger LOG = System.getLogger("io.mxport");

    private ThreadRule() {}

    /** The user's environment variable that fixes the count, or null (rule 1). */
    static String userVariable() {
        for (String v : USER_VARIABLES) {
            String value = System.getenv(v);
            if (value != null && !value.isEmpty()) {
                return v;
            }
        }
        return null;
    }

    /**
     * The threads to compute with, all workers together (rule 2): {@link Environment#setThreads} or system property
     * mxport.threads, else every core the JVM may run on.
     */
    static int wantedCount() {
        return Environment.requestedThreads(Runtime.getRuntime().availableProcessors());
    }

    /** The CPU engine workers asked for (rule 7): {@link Environment#setEngineWorkers} or mxport.engineWorkers, else 1. */
    static int wantedWorkers() {
        return Environment.requestedWorkers();
    }

    /** MXNET_CPU_WORKER_NTHREADS as the user set it (MXNet reads it when it loads), or -1 when unset or unusable. */
    static int userWorkers() {
        String value = System.getenv(WORKERS_VARIABLE);
        return value == null ? -1 : positive(value);
    }

    private static int positive(String value) {
        try {
            int n = Integer.parseInt(value.strip());
            return n >= 1 ? n : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** Each worker's share of the threads: never below one. */
    static int perWorker(int count, int workers) {
        return Math.max(1, count / workers);
    }

    static Environment.Applied environment(String variable, int workers, int wantedWorkers) {
        return new Environment.Applied(
                Environment.Outcome.ENVIRONMENT,
                -1,
                -1,
                workers,
                wantedWorkers,
                -1,
                false,
                variable + " is set: mxport changes no thread count"
                        + (workers > 1 ? " (" + workers + " CPU engine workers)" : ""));
    }

    /** Whether neither GOMP_SPINCOUNT nor OMP_WAIT_POLICY is set (rule 3). */
    static boolean spinUnset() {
        for (String v : SPIN_VARIABLES) {
            if (System.getenv(v) != null) {
                return false;
            }
        }
        return true;
    }

    private interface CLibrary extends Library {
        int setenv(String name, String value, int overwrite);

        int unsetenv(String name);
    }

    private static CLibrary libc() {
        return Native.load("c", CLibrary.class);
    }

    /** Puts GOMP_SPINCOUNT=SPIN_COUNT into the C environment, for libgomp to read when libmxnet loads it. */
    static void setSpinCount() {
        libc().setenv(SPIN_VARIABLES[0], SPIN_COUNT, 0);
    }

    /** Removes it again once loaded: child processes do not inherit it. */
    static void clearSpinCount() {
        libc().unsetenv(SPIN_VARIABLES[0]);
    }

    /** Puts MXNET_CPU_WORKER_NTHREADS into the C environment, for libmxnet to read when it loads. */
    static void setWorkers(int workers) {
        libc().setenv(WORKERS_VARIABLE, String.valueOf(workers), 0);
    }

    /** Removes it again once loaded: child processes do not inherit it. */
    static void clearWorkers() {
        libc().unsetenv(WORKERS_VARIABLE);
    }

    /** libgomp's omp_get_max_threads(): the calling thread's OpenMP count. */
    interface OpenMp extends Library {
        int omp_get_max_threads();
    }

    /** The libgomp libmxnet uses (found in /proc/self/maps, never a second copy), or null when none is mapped. */
    static OpenMp openMp() {
        String path = LibraryLocator.mappedLibgomp();
        if (path == null) {
            return null;
        }
        // RTLD_LAZY | RTLD_NOLOAD: the library this process already has, and no change to its symbol scope
        return Native.load(path, OpenMp.class, Map.of(Library.OPTION_OPEN_FLAGS, 5));
    }

    /** The ids of this process's threads now (/proc/self/task). */
    static Set<Long> threadIds() {
        Set<Long> ids = new HashSet<>();
        try (Stream<Path> tasks = Files.list(Paths.get("/proc/self/task"))) {
            tasks.forEach(t -> ids.add(Long.parseLong(t.getFileName().toString())));
        } catch (IOException e) {
            throw new MxportException(
                    ErrorCode.NATIVE_ERROR,
                    "cannot list /proc/self/task (" + e + "): mxport needs"
                            + " Linux's /proc to apply its thread rule; set OMP_NUM_THREADS to skip the rule");
        }
        return ids;
    }

    /** The kernel's id of the calling thread (what gettid() returns), from /proc/thread-self. */
    static long currentThreadId() throws IOException {
        String link = Files.readSymbolicLink(Paths.get("/proc/thread-self")).toString(); // "<pid>/task/<tid>"
        return Long.parseLong(link.substring(link.lastIndexOf('/') + 1));
    }

    /**
     * Rule 4, given what the callbacks saw on the CPU workers (all fresh, or all existing: an engine's workers are
     * created together); logs the one warning when the count stays.
     */
    static Environment.Applied decide(
            int count,
            int wantedCount,
            int workers,
            int wantedWorkers,
            boolean freshWorkers,
            int workerCount,
            boolean spinSet) {
        String who = workers == 1 ? "MXNet's CPU engine worker" : "Each of MXNet's " + workers + " CPU engine workers";
        Environment.Outcome outcome;
        String text;
        if (freshWorkers) {
            outcome = Environment.Outcome.APPLIED;
            text = who + " computes with " + count + " OpenMP thread(s)"
                    + (spinSet ? ", GOMP_SPINCOUNT=" + SPIN_COUNT : "");
        } else if (workerCount == count) {
            outcome = Environment.Outcome.ALREADY_SET;
            text = who + " already" + " computes with " + count + " OpenMP thread(s)";
        } else {
            outcome = Environment.Outcome.NOT_APPLIED;
            text = who + (workers == 1 ? " has" : " have") + " already run operators with "
                    + (workerCount < 0 ? "an unknown number of" : String.valueOf(workerCount))
                    + " OpenMP thread(s); mxport leaves it so (changing it corrupts memory, spec/RUNTIME.md) instead of "
                    + count + ". Fix: set OMP_NUM_THREADS=" + count + " before the process starts, or load the first"
                    + " Predictor before other MXNet work";
            LOG.log(System.Logger.Level.WARNING, "mxport: " + text);
        }
        return new Environment.Applied(outcome, count, wantedCount, workers, wantedWorkers, workerCount, spinSet, text);
    }

    /** Logs that the engine workers asked for (by {@code setting}) are not what MXNet runs, and the fix. */
    static void workersNotApplied(String setting, int wanted, int workers, String why) {
        LOG.log(
                System.Logger.Level.WARNING,
                "mxport: " + setting + "=" + wanted + " is not applied: " + why
                        + "; MXNet runs " + workers + " CPU engine worker(s). Fix: set " + WORKERS_VARIABLE + "="
                        + wanted
                        + " before the process starts, or load the first Predictor before other MXNet work");
    }
}
