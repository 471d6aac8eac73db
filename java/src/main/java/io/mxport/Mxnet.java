package io.mxport;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The only class that calls libmxnet.so: loads the library {@link LibraryLocator} finds (lazily, once per process;
 * a failed attempt is retried on the next call, no static initializer can poison the class), applies the thread
 * rule of spec/RUNTIME.md while doing so, and offers one small typed method per native operation mxport uses.
 * Handles are opaque {@link Pointer}s; whoever creates one frees it with the matching {@code free...} method.
 *
 * <p>Failures throw {@link MxportException} NATIVE_ERROR carrying {@code MXGetLastError()}, except where a method
 * says it returns null: there the caller names the problem with {@link #lastErrorLine()}.
 */
final class Mxnet {
    private static volatile MxnetLibrary lib;
    private static String libPath;
    private static int libVersion;
    private static volatile ThreadRule.Decision threads;
    private static final List<MxnetLibrary.EngineSyncFunc> KEEP = new ArrayList<>(); // callbacks must outlive the engine's use

    private Mxnet() {
    }

    private static MxnetLibrary lib() {
        MxnetLibrary l = lib;
        if (l == null) {
            synchronized (Mxnet.class) {
                if (lib == null) {
                    lib = load();
                }
                l = lib;
            }
        }
        return l;
    }

    /** Loads libmxnet.so now if this process has not (mxport's thread rule is decided then). */
    static void ensureLoaded() {
        lib();
    }

    /** The path of the libmxnet.so this process uses; loads it if needed. */
    static synchronized String path() {
        lib();
        return libPath;
    }

    /** The loaded library's MXNet version, e.g. 10900 for 1.9.0; loads libmxnet.so if needed. */
    static synchronized int version() {
        lib();
        return libVersion;
    }

    /** What the thread rule decided in this process; loads libmxnet.so if needed. */
    static ThreadRule.Decision threadDecision() {
        lib();
        return threads;
    }

    /** What the thread rule decided, or null when libmxnet.so is not loaded yet (loads nothing). */
    static ThreadRule.Decision threadDecisionIfLoaded() {
        return threads;
    }

    private static MxnetLibrary load() {
        String userVariable = ThreadRule.userVariable();
        int count = userVariable == null ? ThreadRule.wantedCount() : -1; // an invalid mxport.threads fails before loading
        int wantedWorkers = ThreadRule.wantedWorkers();
        int userWorkers = ThreadRule.userWorkers();
        LibraryLocator.Found found = LibraryLocator.find();
        boolean first = !found.alreadyMapped && LibraryLocator.mappedLibgomp() == null;
        boolean spin = userVariable == null && first && ThreadRule.spinUnset();
        boolean setWorkers = first && System.getenv(ThreadRule.WORKERS_VARIABLE) == null && wantedWorkers > 1;
        // MXNet reads MXNET_CPU_WORKER_NTHREADS once, when it loads; unset (or unusable) it means 1
        int workers = setWorkers ? wantedWorkers : Math.max(1, userWorkers);
        MxnetLibrary loaded;
        if (spin) {
            ThreadRule.setSpinCount();
        }
        if (setWorkers) {
            ThreadRule.setWorkers(wantedWorkers);
        }
        try {
            loaded = MxnetLibrary.load(found.path);
        } catch (UnsatisfiedLinkError e) {
            found.tried.add(found.path + " (found, but loading failed: " + e.getMessage() + ")");
            throw new MxportException(ErrorCode.LIBRARY_NOT_FOUND, "cannot load " + LibraryLocator.LIB + "; tried:\n  - "
                    + String.join("\n  - ", found.tried) + "\nFix: install the system libraries it needs (libgomp1,"
                    + " libquadmath0) or point -Dmxport.library.path at a working " + LibraryLocator.LIB);
        } finally {
            if (spin) {
                ThreadRule.clearSpinCount();
            }
            if (setWorkers) {
                ThreadRule.clearWorkers();
            }
        }
        IntByReference version = new IntByReference();
        if (loaded.MXGetVersion(version) != 0 || version.getValue() / 100 != 109) {
            throw new MxportException(ErrorCode.LIBRARY_NOT_FOUND, found.path + " is MXNet version " + version.getValue()
                    + "; mxport needs 1.9.x (pip install mxnet==1.9.1)");
        }
        DirectCalls.bind(MxnetLibrary.library(found.path)); // after the version check: 2.x lacks MXInvokeCachedOpEx
        if (wantedWorkers != workers) {
            ThreadRule.workersNotApplied(ThreadRule.WORKERS_PROPERTY, wantedWorkers, workers, userWorkers > 0 ? ThreadRule.WORKERS_VARIABLE + "="
                    + userWorkers + " is set" : "libmxnet.so was loaded before mxport");
        }
        // MXNet registers the attributes of its legacy (OperatorProperty) operators, such as Pad's gradient, only
        // when the operator list is first read, as `import mxnet` does. Without it, a CachedOp over a graph with Pad
        // fails: "Operator Pad is non-differentiable because it didn't register FGradient attribute". Runs no operator.
        check(loaded, loaded.MXListAllOpNames(new IntByReference(), new PointerByReference()), "MXListAllOpNames");
        ThreadRule.Decision decision = userVariable != null ? ThreadRule.environment(userVariable, workers)
                : applyOnWorkers(loaded, ThreadRule.perWorker(count, workers), workers, spin);
        libPath = found.path;
        libVersion = version.getValue();
        threads = decision;
        return loaded;
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
    private static ThreadRule.Decision applyOnWorkers(MxnetLibrary l, int count, int workers, boolean spin) {
        Set<Long> before = ThreadRule.threadIds();
        ThreadRule.OpenMp openMp = ThreadRule.openMp();
        List<WorkerView> seen = Collections.synchronizedList(new ArrayList<>());
        onEachCpuWorker(l, workers, () -> {
            WorkerView view = new WorkerView();
            seen.add(view);
            try {
                view.thread = ThreadRule.currentThreadId();
                view.fresh = !before.contains(view.thread);
                view.ompThreads = openMp == null ? -1 : openMp.omp_get_max_threads();
                if (view.fresh && l.MXSetNumOMPThreads(count) != 0) {
                    view.failure = "MXSetNumOMPThreads failed: " + l.MXGetLastError();
                }
            } catch (Throwable e) { // nothing may escape into the engine
                view.failure = e.toString();
            }
        }, "mxport_thread_rule");
        if (seen.isEmpty()) {
            throw new MxportException(ErrorCode.NATIVE_ERROR, "mxport's thread rule failed on MXNet's CPU engine worker:"
                    + " the callback did not run; set OMP_NUM_THREADS to skip the rule");
        }
        Set<Long> threadsSeen = new HashSet<>();
        boolean fresh = true;
        for (WorkerView view : seen) {
            if (view.failure != null) {
                throw new MxportException(ErrorCode.NATIVE_ERROR, "mxport's thread rule failed on MXNet's CPU engine worker: "
                        + view.failure + "; set OMP_NUM_THREADS to skip the rule");
            }
            threadsSeen.add(view.thread);
            fresh &= view.fresh;
        }
        if (threadsSeen.size() != workers) { // MXNET_CPU_WORKER_NTHREADS set after libmxnet.so loaded: MXNet has fewer
            ThreadRule.workersNotApplied(ThreadRule.WORKERS_VARIABLE, workers, threadsSeen.size(), "MXNet has "
                    + threadsSeen.size() + " CPU engine worker(s): was it set after libmxnet.so loaded?");
        }
        return ThreadRule.decide(count, threadsSeen.size(), fresh, seen.get(0).ompThreads, spin);
    }

    /**
     * Runs {@code body} (which must not throw) once on each of {@code workers} CPU(0) engine workers and returns
     * when all have run: each callback waits, after its body, until all have started (at most
     * {@value ThreadRule#WORKER_ARRIVAL_SECONDS} s, for an engine with fewer workers), so that no worker runs two.
     */
    private static void onEachCpuWorker(MxnetLibrary l, int workers, Runnable body, String name) {
        CountDownLatch arrived = new CountDownLatch(workers);
        for (int i = 0; i < workers; i++) {
            push(l, (runContext, param) -> {
                body.run();
                arrived.countDown();
                try {
                    arrived.await(ThreadRule.WORKER_ARRIVAL_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) { // nothing may escape into the engine
                    Thread.currentThread().interrupt();
                }
            }, name);
        }
        check(l, l.MXNDArrayWaitAll(), "MXNDArrayWaitAll");
    }

    /** Pushes one synchronous callback onto a CPU(0) engine worker and waits until the engine has run it. */
    private static void onCpuWorker(MxnetLibrary l, MxnetLibrary.EngineSyncFunc callback, String name) {
        push(l, callback, name);
        check(l, l.MXNDArrayWaitAll(), "MXNDArrayWaitAll");
    }

    /** Pushes one synchronous callback with no dependencies onto the CPU(0) engine workers' queue. */
    private static void push(MxnetLibrary l, MxnetLibrary.EngineSyncFunc callback, String name) {
        synchronized (KEEP) {
            KEEP.add(callback);
        }
        Memory cpu = new Memory(8);
        cpu.setInt(0, 1); // kCPU
        cpu.setInt(4, 0);
        check(l, l.MXEnginePushSync(callback, null, null, cpu, null, 0, null, 0, null, 0, name), "MXEnginePushSync");
    }

    /** For tests: the CPU(0) engine worker's omp_get_max_threads() now, or -1 when libgomp is not found. */
    static int workerOmpThreads() {
        MxnetLibrary l = lib();
        ThreadRule.OpenMp openMp = ThreadRule.openMp();
        int[] seen = {-1};
        onCpuWorker(l, (runContext, param) -> seen[0] = openMp == null ? -1 : openMp.omp_get_max_threads(), "mxport_probe");
        return seen[0];
    }

    /**
     * For tests: each CPU(0) engine worker's thread id and omp_get_max_threads() now, as "tid:count" (one callback
     * per worker of the thread rule's decision, each waiting for the others, so no worker runs two).
     */
    static List<String> eachWorkerOmpThreads() {
        MxnetLibrary l = lib();
        ThreadRule.OpenMp openMp = ThreadRule.openMp();
        List<String> seen = Collections.synchronizedList(new ArrayList<>());
        onEachCpuWorker(l, threads.workers, () -> {
            try {
                seen.add(ThreadRule.currentThreadId() + ":" + (openMp == null ? -1 : openMp.omp_get_max_threads()));
            } catch (Throwable e) { // nothing may escape into the engine
                seen.add("failed:" + e);
            }
        }, "mxport_probe");
        return new ArrayList<>(seen);
    }

    // ---- errors ----

    private static void check(int rc, String what) {
        check(lib(), rc, what);
    }

    private static void check(MxnetLibrary l, int rc, String what) {
        if (rc != 0) {
            String e = l.MXGetLastError();
            throw new MxportException(ErrorCode.NATIVE_ERROR, what + " failed: " + (e == null ? "(no message)" : e.strip()));
        }
    }

    /** MXNet's last error on this thread. */
    static String lastError() {
        String e = lib().MXGetLastError();
        return e == null ? "(no message)" : e.strip();
    }

    /** The first line of MXNet's last error, without its stack trace. */
    static String lastErrorLine() {
        String text = lastError();
        for (String line : text.split("\n")) {
            if (!line.isBlank() && !line.startsWith("Stack trace")) {
                return line.strip();
            }
        }
        return text;
    }

    /** Reads a C array of {@code n} C strings. */
    private static List<String> strings(Pointer array, int n) {
        List<String> out = new ArrayList<>(n);
        if (n > 0) {
            for (Pointer p : array.getPointerArray(0, n)) {
                out.add(p.getString(0, "UTF-8"));
            }
        }
        return out;
    }

    private interface StringLister {
        int call(IntByReference n, PointerByReference out);
    }

    private static List<String> listStrings(StringLister lister, String what) {
        IntByReference n = new IntByReference();
        PointerByReference out = new PointerByReference();
        check(lister.call(n, out), what);
        return strings(out.getValue(), n.getValue());
    }

    // ---- symbols ----

    /** The symbol of a graph's JSON, or null when MXNet refuses it ({@link #lastErrorLine()} says why). */
    static Pointer symbolFromJson(String json) {
        PointerByReference out = new PointerByReference();
        return lib().MXSymbolCreateFromJSON(json, out) != 0 ? null : out.getValue();
    }

    static void freeSymbol(Pointer symbol) {
        lib().MXSymbolFree(symbol);
    }

    /** Every input (arguments and auxiliary states) in the graph's order, that of a CachedOp's arguments. */
    static List<String> inputNames(Pointer symbol) {
        MxnetLibrary l = lib();
        return listStrings((n, out) -> l.NNSymbolListInputNames(symbol, 0, n, out), "NNSymbolListInputNames");
    }

    /** The arguments then the auxiliary states, in the order of shape and type inference. */
    static List<String> argumentAndAuxNames(Pointer symbol) {
        MxnetLibrary l = lib();
        List<String> names = new ArrayList<>(listStrings((n, o) -> l.MXSymbolListArguments(symbol, n, o), "MXSymbolListArguments"));
        names.addAll(listStrings((n, o) -> l.MXSymbolListAuxiliaryStates(symbol, n, o), "MXSymbolListAuxiliaryStates"));
        return names;
    }

    static List<String> outputNames(Pointer symbol) {
        MxnetLibrary l = lib();
        return listStrings((n, o) -> l.MXSymbolListOutputs(symbol, n, o), "MXSymbolListOutputs");
    }

    /** Inferred shapes; an entry is null where MXNet could not infer it. */
    static final class Shapes {
        final List<int[]> args = new ArrayList<>();
        final List<int[]> outs = new ArrayList<>();
        final List<int[]> aux = new ArrayList<>();
    }

    /**
     * Shape inference given the named inputs' shapes in CSR form ({@code indPtr}, {@code dims}); null when MXNet
     * cannot infer ({@link #lastErrorLine()} says why).
     */
    static Shapes inferShapes(Pointer symbol, String[] keys, int[] indPtr, int[] dims) {
        IntByReference inSize = new IntByReference();
        IntByReference outSize = new IntByReference();
        IntByReference auxSize = new IntByReference();
        PointerByReference inNdim = new PointerByReference();
        PointerByReference inData = new PointerByReference();
        PointerByReference outNdim = new PointerByReference();
        PointerByReference outData = new PointerByReference();
        PointerByReference auxNdim = new PointerByReference();
        PointerByReference auxData = new PointerByReference();
        IntByReference complete = new IntByReference();
        if (lib().MXSymbolInferShapeEx(symbol, keys.length, keys, indPtr, dims, inSize, inNdim, inData,
                outSize, outNdim, outData, auxSize, auxNdim, auxData, complete) != 0) {
            return null;
        }
        Shapes r = new Shapes();
        readShapes(inSize, inNdim, inData, r.args);
        readShapes(outSize, outNdim, outData, r.outs);
        readShapes(auxSize, auxNdim, auxData, r.aux);
        return r;
    }

    private static void readShapes(IntByReference size, PointerByReference ndim, PointerByReference data, List<int[]> into) {
        int n = size.getValue();
        if (n == 0) {
            return;
        }
        int[] ndims = ndim.getValue().getIntArray(0, n);
        Pointer[] ptrs = data.getValue().getPointerArray(0, n);
        for (int i = 0; i < n; i++) {
            into.add(ndims[i] <= 0 || ptrs[i] == null ? null : ptrs[i].getIntArray(0, ndims[i]));
        }
    }

    /**
     * MXNet's dtype codes of {arguments, outputs, auxiliary states} given the named inputs' dtype codes; null when
     * MXNet cannot infer them ({@link #lastErrorLine()} says why).
     */
    static int[][] inferTypes(Pointer symbol, String[] keys, int[] types) {
        IntByReference inSize = new IntByReference();
        IntByReference outSize = new IntByReference();
        IntByReference auxSize = new IntByReference();
        PointerByReference inT = new PointerByReference();
        PointerByReference outT = new PointerByReference();
        PointerByReference auxT = new PointerByReference();
        IntByReference complete = new IntByReference();
        if (lib().MXSymbolInferType(symbol, keys.length, keys, types, inSize, inT, outSize, outT, auxSize, auxT, complete) != 0) {
            return null;
        }
        return new int[][] {intArray(inT, inSize), intArray(outT, outSize), intArray(auxT, auxSize)};
    }

    private static int[] intArray(PointerByReference data, IntByReference size) {
        return size.getValue() == 0 ? new int[0] : data.getValue().getIntArray(0, size.getValue());
    }

    // ---- arrays ----

    /** The arrays of a params file's bytes and their names (as stored, with arg:/aux:). */
    static final class LoadedArrays {
        final Pointer[] handles;
        /** Null when the file holds unnamed arrays; an entry is null when that name is not UTF-8. */
        final List<String> names;

        LoadedArrays(Pointer[] handles, List<String> names) {
            this.handles = handles;
            this.names = names;
        }
    }

    /** Parses params bytes (exactly these bytes); null when MXNet cannot ({@link #lastErrorLine()} says why). */
    static LoadedArrays loadArrays(byte[] data) {
        IntByReference n = new IntByReference();
        PointerByReference handles = new PointerByReference();
        IntByReference nNames = new IntByReference();
        PointerByReference names = new PointerByReference();
        int rc;
        try (Memory buffer = new Memory(Math.max(1, data.length))) {
            buffer.write(0, data, 0, data.length);
            rc = lib().MXNDArrayLoadFromBuffer(buffer, data.length, n, handles, nNames, names);
        }
        if (rc != 0) {
            return null;
        }
        Pointer[] arrays = n.getValue() == 0 ? new Pointer[0] : handles.getValue().getPointerArray(0, n.getValue());
        return new LoadedArrays(arrays, nNames.getValue() == arrays.length ? utf8Names(names.getValue(), nNames.getValue()) : null);
    }

    /** The array names of a params file, each null when its bytes are not UTF-8 (a damaged file: spec section 6). */
    private static List<String> utf8Names(Pointer array, int n) {
        List<String> out = new ArrayList<>(n);
        if (n > 0) {
            for (Pointer p : array.getPointerArray(0, n)) {
                byte[] bytes = p.getByteArray(0, (int) p.indexOf(0, (byte) 0));
                try {
                    out.add(StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(bytes)).toString());
                } catch (CharacterCodingException e) {
                    out.add(null);
                }
            }
        }
        return out;
    }

    /** Whether MXNet can tell the array's shape and dtype (it parses absurd shapes, then refuses to say them). */
    static boolean describable(Pointer array) {
        return DirectCalls.MXNDArrayGetShapeEx(array, new int[1], new long[1]) == 0
                && DirectCalls.MXNDArrayGetDType(array, new int[1]) == 0;
    }

    static int[] shapeOf(Pointer array) {
        int[] ndim = new int[1];
        long[] dims = new long[1];
        check(DirectCalls.MXNDArrayGetShapeEx(array, ndim, dims), "MXNDArrayGetShapeEx");
        return ndim[0] <= 0 ? new int[0] : new Pointer(dims[0]).getIntArray(0, ndim[0]);
    }

    /** MXNet's dtype code of the array. */
    static int dtypeOf(Pointer array) {
        int[] dtype = new int[1];
        check(DirectCalls.MXNDArrayGetDType(array, dtype), "MXNDArrayGetDType");
        return dtype[0];
    }

    /** A new CPU array of this shape and MXNet dtype code, allocated now. */
    static Pointer newArray(int[] shape, int dtype) {
        PointerByReference out = new PointerByReference();
        check(lib().MXNDArrayCreateEx(shape, shape.length, 1, 0, 0, dtype, out), "MXNDArrayCreateEx");
        return out.getValue();
    }

    /** Copies {@code count} elements from {@code raw} (the array's own dtype, little-endian) into the array. */
    static void copyIn(Pointer array, byte[] raw, long count) {
        try (Memory staging = new Memory(Math.max(1, raw.length))) { // one copy; a byte[] argument costs two
            staging.write(0, raw, 0, raw.length);
            check(lib().MXNDArraySyncCopyFromCPU(array, staging, count), "MXNDArraySyncCopyFromCPU");
        }
    }

    /**
     * Writes {@code raw} (the array's own dtype, little-endian, exactly its size) into a CPU array this layer
     * created, in one copy: waits until no engine operation uses the array, then copies into its memory. Unlike
     * {@link #copyIn} it needs no staging buffer and no MXNet copy (which runs an OpenMP loop on the caller's
     * thread above 200,000 elements).
     */
    static void writeInto(Pointer array, byte[] raw) {
        if (raw.length == 0) {
            return;
        }
        check(DirectCalls.MXNDArrayWaitToWrite(array), "MXNDArrayWaitToWrite");
        long[] data = new long[1];
        check(DirectCalls.MXNDArrayGetData(array, data), "MXNDArrayGetData");
        new Pointer(data[0]).write(0, raw, 0, raw.length);
    }

    /** Copies {@code count} elements of the array into {@code into} (sized for them). */
    static void copyOut(Pointer array, byte[] into, long count) {
        check(DirectCalls.MXNDArraySyncCopyToCPU(array, into, count), "MXNDArraySyncCopyToCPU");
    }

    static void freeArray(Pointer array) {
        DirectCalls.MXNDArrayFree(array);
    }

    // ---- CachedOp ----

    static Pointer newCachedOp(Pointer symbol, String[] flagKeys, String[] flagValues) {
        PointerByReference out = new PointerByReference();
        check(lib().MXCreateCachedOpEx(symbol, flagKeys.length, flagKeys, flagValues, out), "MXCreateCachedOpEx");
        return out.getValue();
    }

    /**
     * Held while a CachedOp is invoked or freed (spec/RUNTIME.md section 5). Both push one engine operation that
     * writes several variables every CachedOp shares: the temporary-space resources (four per device) and, when
     * freeing, the weights. MXNet's engine queues an operation on its variables one at a time, without a lock
     * across them, so two such pushes from two threads can interleave (A first on one variable, B first on
     * another) and then wait for each other forever: the engine's worker idles while every caller sits in
     * {@code WaitForVar}. Only the pushes are serialised; the computation and the waits run concurrently.
     */
    static final Object PUSH_LOCK = new Object();

    /** The handles as a native array, for {@link #invokeCachedOp(Pointer, Memory, int)} (kept while they live). */
    static Memory handleArray(Pointer[] handles) {
        Memory m = new Memory((long) Math.max(1, handles.length) * Native.POINTER_SIZE);
        m.write(0, handles, 0, handles.length);
        return m;
    }

    /**
     * Runs the CachedOp on {@code count} argument handles already in native memory ({@link #handleArray}); returns
     * the outputs MXNet allocated, which the caller frees with {@link #freeArray}.
     */
    static Pointer[] invokeCachedOp(Pointer op, Memory args, int count) {
        int[] numOut = new int[1];
        long[] outArray = new long[1];
        long[] stypes = new long[1];
        synchronized (PUSH_LOCK) {
            check(DirectCalls.MXInvokeCachedOpEx(op, count, args, numOut, outArray, stypes), "MXInvokeCachedOpEx");
        }
        // the returned array is thread-local and overwritten by this thread's next call: copy it now
        return new Pointer(outArray[0]).getPointerArray(0, numOut[0]);
    }

    static void freeCachedOp(Pointer op) {
        synchronized (PUSH_LOCK) {
            lib().MXFreeCachedOp(op);
        }
    }

    // ---- images ----

    private static volatile Pointer imdecode;

    /** An image that {@link #decodeImage} decoded, or why it could not. */
    static final class DecodedImage {
        final int height;
        final int width;
        /** RGB, uint8, HWC; null when {@link #problem} says why there is none. */
        final byte[] rgb;
        final String problem;
        /** True when the image decodes but has more pixels than allowed ({@link #height}, {@link #width} say). */
        final boolean tooLarge;

        private DecodedImage(int height, int width, byte[] rgb, String problem, boolean tooLarge) {
            this.height = height;
            this.width = width;
            this.rgb = rgb;
            this.problem = problem;
            this.tooLarge = tooLarge;
        }

        private static DecodedImage failed(String problem) {
            return new DecodedImage(0, 0, null, problem, false);
        }
    }

    /** Zero bytes after an image's bytes: MXNet's JPEG and PNG header readers look up to 24 bytes past the end. */
    static final int IMAGE_PADDING = 32;

    /**
     * Decodes an encoded image with libmxnet's own {@code _cvimdecode} operator (OpenCV, flag=1, to_rgb=1), the
     * operator Python's {@code mx.image.imdecode} runs: the same pixels as Python for the same library build. The
     * bytes lie in a zero-padded buffer (a view of its first {@code encoded.length} bytes goes to MXNet), so a file
     * cut inside its header reads zeros, as {@code mxport.decode_image} arranges in Python. An image of more than
     * {@code maxPixels} pixels is refused before its pixels are copied out. {@code encoded} must not be empty.
     */
    static DecodedImage decodeImage(byte[] encoded, long maxPixels) {
        MxnetLibrary l = lib();
        Pointer op = imdecode;
        if (op == null) {
            PointerByReference handle = new PointerByReference();
            check(l, l.NNGetOpHandle("_cvimdecode", handle), "NNGetOpHandle(_cvimdecode)");
            imdecode = op = handle.getValue();
        }
        Pointer padded = newArray(new int[] {encoded.length + IMAGE_PADDING}, 3); // uint8
        Pointer in = null;
        try {
            copyIn(padded, java.util.Arrays.copyOf(encoded, encoded.length + IMAGE_PADDING), encoded.length + IMAGE_PADDING);
            PointerByReference view = new PointerByReference();
            check(l, l.MXNDArraySlice(padded, 0, encoded.length, view), "MXNDArraySlice");
            in = view.getValue();
            IntByReference numOut = new IntByReference(0);
            PointerByReference outs = new PointerByReference(Pointer.NULL);
            if (l.MXImperativeInvoke(op, 1, new Pointer[] {in}, numOut, outs, 2, new String[] {"flag", "to_rgb"},
                    new String[] {"1", "1"}) != 0) {
                return DecodedImage.failed(lastErrorLine());
            }
            Pointer out = outs.getValue().getPointer(0); // thread-local array: read it now
            try {
                int[] ndim = new int[1];
                long[] dims = new long[1];
                // fails for more than 2^31 values (a header declaring a huge image)
                String shapeProblem = DirectCalls.MXNDArrayGetShapeEx(out, ndim, dims) != 0 ? lastErrorLine() : null;
                int[] shape = shapeProblem != null || ndim[0] <= 0 ? new int[0] : new Pointer(dims[0]).getIntArray(0, ndim[0]);
                // The decode may run on MXNet's engine; waiting surfaces its failure (a truncated PNG) and consumes
                // it, else the next MXNDArrayWaitAll anywhere in the process would raise it.
                String decodeProblem = l.MXNDArrayWaitToRead(out) != 0 ? lastErrorLine() : null;
                if (shapeProblem != null) {
                    return DecodedImage.failed(shapeProblem);
                }
                long pixels = shape.length == 3 ? (long) shape[0] * shape[1] : 0;
                if (pixels > maxPixels) {
                    return new DecodedImage(shape[0], shape[1], null, null, true);
                }
                if (decodeProblem != null) {
                    return DecodedImage.failed(decodeProblem);
                }
                if (shape.length != 3 || shape[2] != 3 || shape[0] < 1 || shape[1] < 1) {
                    return DecodedImage.failed("the decoder found no image (shape " + java.util.Arrays.toString(shape) + ")");
                }
                byte[] rgb = new byte[(int) (pixels * 3)];
                copyOut(out, rgb, rgb.length);
                return new DecodedImage(shape[0], shape[1], rgb, null, false);
            } finally {
                freeArray(out);
            }
        } finally {
            if (in != null) {
                freeArray(in);
            }
            freeArray(padded);
        }
    }
}
