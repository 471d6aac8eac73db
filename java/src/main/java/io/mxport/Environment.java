package io.mxport;

import io.mxport.spi.EngineProvider;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * mxport's process-wide settings in this JVM, and what was applied: the OpenMP threads MXNet computes with, its
 * CPU engine workers, and the libmxnet.so it runs on (spec/RUNTIME.md).
 *
 * <pre>{@code
 * Environment.setThreads(4);                    // before the first Predictor (or Images.decode) loads libmxnet.so
 * Environment.setEngineWorkers(2);              // two calls compute at once, each with 4 / 2 threads
 * try (Predictor predictor = new Predictor("models/resnet18")) {
 *     Environment.Applied applied = Environment.applied().orElseThrow();
 *     System.out.println(applied.getEngineWorkers() + " x " + applied.getThreads() + ": " + applied.getReason());
 * }
 * }</pre>
 *
 * <p>The settings are read once, when the first Predictor (or image decode, or {@link #load()}) loads
 * libmxnet.so: a setter here wins over its system property ({@value #THREADS_PROPERTY},
 * {@value #ENGINE_WORKERS_PROPERTY}, {@value #LIBRARY_PATH_PROPERTY}), each of which works on its own too; env
 * {@code OMP_NUM_THREADS} or {@code MXNET_OMP_MAX_THREADS}, when set, wins over both (mxport changes no thread
 * count), and env {@code MXNET_CPU_WORKER_NTHREADS} over the workers. Nothing changes afterwards: changing MXNet's
 * thread count after an operator ran corrupts memory, so a setter called after the load with another value throws
 * INVALID_ARGUMENT naming the fix (the same value is accepted and changes nothing).
 *
 * <p>Another engine ({@link Engine#ONNXRUNTIME}) computes with the same {@link #setThreads} count, decided when
 * its first Predictor opens a model: one pool of that many threads for every model of the engine in the process
 * ({@link #applied(Engine)} says what was done), and a setter called afterwards with another value throws
 * INVALID_ARGUMENT as above. The engine variables of OpenMP and MXNet do not apply to it.
 *
 * <p>Python's twin is the module {@code mxport.environment} (read-only there: Python decides at
 * {@code import mxport}, from env {@code MXPORT_NUM_THREADS} and {@code MXPORT_ENGINE_WORKERS}).
 */
public final class Environment {
    /** The system property of {@link #setThreads}. */
    public static final String THREADS_PROPERTY = "mxport.threads";
    /** The system property of {@link #setEngineWorkers}. */
    public static final String ENGINE_WORKERS_PROPERTY = "mxport.engineWorkers";
    /** The system property of {@link #setLibraryPath}. */
    public static final String LIBRARY_PATH_PROPERTY = "mxport.library.path";

    private static Integer threads; // guarded by EngineWorkers.LOADING
    private static Integer engineWorkers; // guarded by EngineWorkers.LOADING
    private static String libraryPath; // guarded by EngineWorkers.LOADING
    /** What each engine besides MXNet applied at its first model (guarded by EngineWorkers.LOADING). */
    private static final Map<Engine, Applied> ENGINES = new EnumMap<>(Engine.class);

    private Environment() {}

    /** What the thread rule did in this process (spec/RUNTIME.md rule 4). */
    public enum Outcome {
        /** Env OMP_NUM_THREADS or MXNET_OMP_MAX_THREADS is set: mxport changed no thread count. */
        ENVIRONMENT,
        /** The CPU engine workers were created by mxport's callbacks: their count was set. */
        APPLIED,
        /** The workers existed and already had the count (e.g. set by Python's mxport in this process). */
        ALREADY_SET,
        /** The workers existed with another count: nothing changed, a warning was logged naming the fix. */
        NOT_APPLIED
    }

    /** What was applied when libmxnet.so loaded in this process: decided once, never changed afterwards. */
    public static final class Applied {
        final Outcome outcome;
        /** The count the rule wanted for each worker; -1 for ENVIRONMENT. */
        final int count;

        final int requestedThreads;
        /** MXNet's CPU engine workers in this process; -1 for another engine. */
        final int workers;

        final int requestedWorkers;
        /** The worker's omp_get_max_threads() before the rule, -1 when unknown or not asked. */
        final int workerCountBefore;
        /** Whether libmxnet was loaded with GOMP_SPINCOUNT=3000 (spec/RUNTIME.md rule 3). */
        final boolean spinSet;

        final String text;
        volatile String libraryPath; // set once the library is open
        volatile int libraryVersion;

        Applied(
                Outcome outcome,
                int count,
                int requestedThreads,
                int workers,
                int requestedWorkers,
                int workerCountBefore,
                boolean spinSet,
                String text) {
            this.outcome = outcome;
            this.count = count;
            this.requestedThreads = requestedThreads;
            this.workers = workers;
            this.requestedWorkers = requestedWorkers;
            this.workerCountBefore = workerCountBefore;
            this.spinSet = spinSet;
            this.text = text;
        }

        /** What the thread rule did. */
        public Outcome getOutcome() {
            return outcome;
        }

        /**
         * The OpenMP threads of each CPU engine worker as the rule left them: the count it set or found set; -1
         * when it changed nothing (the environment's count, or workers that had run operators with another count).
         */
        public int getThreads() {
            return outcome == Outcome.APPLIED || outcome == Outcome.ALREADY_SET ? count : -1;
        }

        /** The threads asked for, all workers together (setter, property, else every core); -1 for ENVIRONMENT. */
        public int getRequestedThreads() {
            return requestedThreads;
        }

        /** MXNet's CPU engine workers, so how many calls of one Predictor compute at once; -1 for another engine. */
        public int getEngineWorkers() {
            return workers;
        }

        /** The engine workers mxport was asked for (setter, property, else 1); -1 for another engine. */
        public int getRequestedEngineWorkers() {
            return requestedWorkers;
        }

        /** Whether OpenMP's spin-wait was shortened (GOMP_SPINCOUNT=3000 while loading; spec/RUNTIME.md rule 3). */
        public boolean isSpinCountSet() {
            return spinSet;
        }

        /** Why, in a sentence (with the fix, when something asked for was not applied). */
        public String getReason() {
            return text;
        }

        /** The libmxnet.so this process runs on; null for another engine. */
        public String getLibraryPath() {
            return libraryPath;
        }

        /** Its MXNet version, e.g. 10901 for 1.9.1. */
        public int getLibraryVersion() {
            return libraryVersion;
        }

        @Override
        public String toString() {
            return outcome + ": " + text;
        }
    }

    /**
     * The OpenMP threads MXNet computes with, all engine workers together (each gets its share, at least 1), and
     * the threads of another engine's pool; the default is every core the JVM may run on. Same as system property
     * {@value #THREADS_PROPERTY}.
     *
     * @throws MxportException INVALID_ARGUMENT when not positive, or when libmxnet.so already loaded (or another
     *     engine opened a model) with another request
     */
    public static void setThreads(int threads) {
        synchronized (EngineWorkers.LOADING) {
            positive(threads, THREADS_PROPERTY, "the number of threads MXNet should compute with");
            Applied a = EngineWorkers.appliedIfLoaded();
            if (a != null && a.requestedThreads != threads) {
                throw tooLate(
                        THREADS_PROPERTY,
                        threads,
                        a.requestedThreads < 0
                                ? a.text
                                : "it computes with " + a.requestedThreads + " thread(s) in all");
            }
            for (Applied e : ENGINES.values()) {
                if (e.requestedThreads != threads) {
                    throw new MxportException(
                            ErrorCode.INVALID_ARGUMENT,
                            "cannot set " + THREADS_PROPERTY + "=" + threads + ": " + e.text
                                    + " (decided once, at the engine's first model)",
                            Fix.text("set it before the first Predictor opens a model, or -D" + THREADS_PROPERTY + "="
                                    + threads + " when the JVM starts"));
                }
            }
            Environment.threads = threads;
        }
    }

    /**
     * MXNet's CPU engine workers: how many calls compute at once (spec/RUNTIME.md rule 7); the default is 1. Same
     * as system property {@value #ENGINE_WORKERS_PROPERTY}.
     *
     * @throws MxportException INVALID_ARGUMENT when not positive, or when libmxnet.so already loaded with another
     *     request
     */
    public static void setEngineWorkers(int workers) {
        synchronized (EngineWorkers.LOADING) {
            positive(workers, ENGINE_WORKERS_PROPERTY, "the number of calls MXNet should compute at once");
            Applied a = EngineWorkers.appliedIfLoaded();
            if (a != null && a.requestedWorkers != workers) {
                throw tooLate(ENGINE_WORKERS_PROPERTY, workers, "it runs " + a.workers + " CPU engine worker(s)");
            }
            Environment.engineWorkers = workers;
        }
    }

    /**
     * The libmxnet.so to load (a file, or a folder holding it), ahead of every other place java/README.md lists.
     * Same as system property {@value #LIBRARY_PATH_PROPERTY}.
     *
     * @throws MxportException INVALID_ARGUMENT when blank, or when another libmxnet.so is already loaded
     */
    public static void setLibraryPath(String path) {
        synchronized (EngineWorkers.LOADING) {
            if (path == null || path.isBlank()) {
                throw new MxportException(
                        ErrorCode.INVALID_ARGUMENT,
                        "the library path is empty: give the path of" + " libmxnet.so or of its folder");
            }
            Applied a = EngineWorkers.appliedIfLoaded();
            if (a != null && !path.equals(a.libraryPath) && !path.equals(a.libraryPath.replaceFirst("/[^/]*$", ""))) {
                throw tooLate(LIBRARY_PATH_PROPERTY, path, "this process runs " + a.libraryPath);
            }
            Environment.libraryPath = path;
        }
    }

    /** What was applied, or empty while libmxnet.so is not loaded yet (this method loads nothing). */
    public static Optional<Applied> applied() {
        return Optional.ofNullable(EngineWorkers.appliedIfLoaded());
    }

    /**
     * What was applied for an engine: for {@link Engine#MXNET} the same as {@link #applied()}; for another, empty
     * until its first Predictor opened a model, then its thread count ({@link Applied#getThreads()}) and how the
     * engine took it ({@link Applied#getReason()}).
     */
    public static Optional<Applied> applied(Engine engine) {
        if (engine == Engine.MXNET) {
            return applied();
        }
        synchronized (EngineWorkers.LOADING) {
            return Optional.ofNullable(ENGINES.get(engine));
        }
    }

    /**
     * Loads libmxnet.so now, if this process has not, applying the settings (the first Predictor does it too);
     * returns what was applied. Call it before other MXNet work in the process (e.g. Python's through JPype).
     *
     * @throws MxportException LIBRARY_NOT_FOUND listing every place tried; INVALID_ARGUMENT for a bad setting
     */
    public static Applied load() {
        return EngineWorkers.load();
    }

    // ---- for the thread rule, the library locator and the other engines ----

    /** Hands an engine its threads before its first model opens, once per process (spec/RUNTIME.md section 6). */
    static void configure(EngineProvider provider) {
        synchronized (EngineWorkers.LOADING) {
            if (ENGINES.containsKey(provider.engine())) {
                return;
            }
            int count = requestedThreads(Runtime.getRuntime().availableProcessors());
            String text = provider.configure(count);
            ENGINES.put(provider.engine(), new Applied(Outcome.APPLIED, count, count, -1, -1, -1, false, text));
        }
    }

    /** The threads requested by {@link #setThreads} or the system property, or {@code absent}; checked. */
    static int requestedThreads(int absent) {
        synchronized (EngineWorkers.LOADING) {
            return threads != null
                    ? threads
                    : property(
                            THREADS_PROPERTY,
                            absent,
                            "set it to the number of threads"
                                    + " MXNet should compute with, e.g. -D" + THREADS_PROPERTY + "=" + absent
                                    + ", or remove it to use"
                                    + " every core");
        }
    }

    /** The engine workers requested by {@link #setEngineWorkers} or the system property, else 1; checked. */
    static int requestedWorkers() {
        synchronized (EngineWorkers.LOADING) {
            return engineWorkers != null
                    ? engineWorkers
                    : property(
                            ENGINE_WORKERS_PROPERTY,
                            1,
                            "set it to the number"
                                    + " of calls MXNet should compute at once, e.g. -D" + ENGINE_WORKERS_PROPERTY
                                    + "=2 for two"
                                    + " threads calling Predictors, or remove it for one (the default)");
        }
    }

    /** Where the library path was given, and the path: {@link #setLibraryPath}, else the property (maybe null). */
    static String[] libraryPathSetting() {
        synchronized (EngineWorkers.LOADING) {
            return libraryPath != null
                    ? new String[] {"Environment.setLibraryPath", libraryPath}
                    : new String[] {
                        "system property " + LIBRARY_PATH_PROPERTY, System.getProperty(LIBRARY_PATH_PROPERTY)
                    };
        }
    }

    /** A system property that must be a positive integer: {@code absent} when unset, else INVALID_ARGUMENT. */
    private static int property(String property, int absent, String fix) {
        String value = System.getProperty(property);
        if (value == null) {
            return absent;
        }
        int n;
        try {
            n = Integer.parseInt(value.strip());
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 1) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    "system property " + property + "=" + value + " is not a positive integer: " + fix);
        }
        return n;
    }

    private static void positive(int n, String setting, String what) {
        if (n < 1) {
            throw new MxportException(
                    ErrorCode.INVALID_ARGUMENT,
                    setting + "=" + n + " is not a positive integer: give " + what + ", e.g. 2");
        }
    }

    private static MxportException tooLate(String setting, Object value, String now) {
        return new MxportException(
                ErrorCode.INVALID_ARGUMENT,
                "cannot set " + setting + "=" + value + ": libmxnet.so"
                        + " is already loaded in this process and " + now
                        + " (decided once: changing MXNet's threads after an"
                        + " operator ran corrupts memory, spec/RUNTIME.md). Fix: set it before the first Predictor loads, or -D"
                        + setting + "=" + value + " when the JVM starts");
    }
}
