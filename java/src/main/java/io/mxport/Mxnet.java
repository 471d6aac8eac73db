package io.mxport;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;
import java.util.ArrayList;
import java.util.List;

/**
 * The native door: the only class that calls libmxnet.so. It opens the library once per process ({@link #open}),
 * checks its version, and offers one small typed method per native operation mxport uses. It knows nothing of
 * who uses it: {@code EngineWorkers} finds the library, opens it through here and applies the thread rule of
 * spec/RUNTIME.md before anything else may call; until then every call throws IllegalStateException. Handles are
 * opaque {@link Pointer}s; whoever creates one frees it with the matching {@code free...} method.
 *
 * <p>Failures throw {@link MxportException} NATIVE_ERROR carrying {@code MXGetLastError()}, except where a method
 * says it returns null: there the caller names the problem with {@link #lastErrorLine()}.
 */
final class Mxnet {
    private static volatile MxnetLibrary lib;
    private static volatile String libPath;
    private static volatile int libVersion;
    private static final List<MxnetLibrary.EngineSyncFunc> KEEP =
            new ArrayList<>(); // callbacks must outlive the engine's use

    private Mxnet() {}

    private static MxnetLibrary lib() {
        MxnetLibrary l = lib;
        if (l == null) {
            throw new IllegalStateException(
                    "libmxnet.so is not open: EngineWorkers.load() opens it, applying the" + " thread rule first");
        }
        return l;
    }

    /**
     * Opens the libmxnet.so at {@code path} ({@code tried}: the places searched, for the error), checks that it
     * is MXNet 1.9.x and completes its operator registration. Runs no operator. Call it once, under the caller's
     * lock; a failure leaves the door closed, so a later call may try again.
     */
    static void open(String path, List<String> tried) {
        MxnetLibrary loaded;
        try {
            loaded = MxnetLibrary.load(path);
        } catch (UnsatisfiedLinkError e) {
            List<String> places = new ArrayList<>(tried);
            places.add(path + " (found, but loading failed: " + e.getMessage() + ")");
            throw new MxportException(
                    ErrorCode.LIBRARY_NOT_FOUND,
                    "cannot load libmxnet.so; tried:\n  - "
                            + String.join("\n  - ", places) + "\nFix: install the system libraries it needs (libgomp1,"
                            + " libquadmath0) or point -Dmxport.library.path at a working libmxnet.so");
        }
        IntByReference version = new IntByReference();
        if (loaded.MXGetVersion(version) != 0 || version.getValue() / 100 != 109) {
            throw new MxportException(
                    ErrorCode.LIBRARY_NOT_FOUND,
                    path + " is MXNet version " + version.getValue()
                            + "; mxport needs 1.9.x (pip install mxnet==1.9.1)");
        }
        DirectCalls.bind(MxnetLibrary.library(path)); // after the version check: 2.x lacks MXInvokeCachedOpEx
        // MXNet registers the attributes of its legacy (OperatorProperty) operators, such as Pad's gradient, only
        // when the operator list is first read, as `import mxnet` does. Without it, a CachedOp over a graph with Pad
        // fails: "Operator Pad is non-differentiable because it didn't register FGradient attribute". Runs no operator.
        check(loaded, loaded.MXListAllOpNames(new IntByReference(), new PointerByReference()), "MXListAllOpNames");
        libPath = path;
        libVersion = version.getValue();
        lib = loaded;
    }

    /** The path of the libmxnet.so this process uses. */
    static String path() {
        lib();
        return libPath;
    }

    /** The loaded library's MXNet version, e.g. 10900 for 1.9.0. */
    static int version() {
        lib();
        return libVersion;
    }

    // ---- the engine ----

    /**
     * Pushes one synchronous callback with no dependencies onto the CPU(0) engine workers' queue; the callback is
     * kept for the life of the process (the engine may call it after this returns). Nothing may escape it.
     */
    static void pushSync(MxnetLibrary.EngineSyncFunc callback, String name) {
        MxnetLibrary l = lib();
        synchronized (KEEP) {
            KEEP.add(callback);
        }
        Memory cpu = new Memory(8);
        cpu.setInt(0, 1); // kCPU
        cpu.setInt(4, 0);
        check(l, l.MXEnginePushSync(callback, null, null, cpu, null, 0, null, 0, null, 0, name), "MXEnginePushSync");
    }

    /** Sets the calling thread's OpenMP count (MXSetNumOMPThreads); null on success, else MXNet's error. */
    static String setOmpThreads(int count) {
        MxnetLibrary l = lib();
        return l.MXSetNumOMPThreads(count) == 0 ? null : String.valueOf(l.MXGetLastError());
    }

    // ---- errors ----

    private static void check(int rc, String what) {
        check(lib(), rc, what);
    }

    private static void check(MxnetLibrary l, int rc, String what) {
        if (rc != 0) {
            String e = l.MXGetLastError();
            throw new MxportException(
                    ErrorCode.NATIVE_ERROR, what + " failed: " + (e == null ? "(no message)" : e.strip()));
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

    private interface StringLister {
        int call(IntByReference n, PointerByReference out);
    }

    private static List<String> listStrings(StringLister lister, String what) {
        IntByReference n = new IntByReference();
        PointerByReference out = new PointerByReference();
        check(lister.call(n, out), what);
        return NativeArrays.strings(out.getValue(), n.getValue());
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
        List<String> names =
                new ArrayList<>(listStrings((n, o) -> l.MXSymbolListArguments(symbol, n, o), "MXSymbolListArguments"));
        names.addAll(listStrings((n, o) -> l.MXSymbolListAuxiliaryStates(symbol, n, o), "MXSymbolListAuxiliaryStates"));
        return names;
    }

    static List<String> outputNames(Pointer symbol) {
        MxnetLibrary l = lib();
        return listStrings((n, o) -> l.MXSymbolListOutputs(symbol, n, o), "MXSymbolListOutputs");
    }

    /**
     * Shape inference given the named inputs' shapes in CSR form ({@code indPtr}, {@code dims}); null when MXNet
     * cannot infer ({@link #lastErrorLine()} says why).
     */
    static NativeArrays.Shapes inferShapes(Pointer symbol, String[] keys, int[] indPtr, int[] dims) {
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
        if (lib().MXSymbolInferShapeEx(
                                symbol,
                                keys.length,
                                keys,
                                indPtr,
                                dims,
                                inSize,
                                inNdim,
                                inData,
                                outSize,
                                outNdim,
                                outData,
                                auxSize,
                                auxNdim,
                                auxData,
                                complete)
                != 0) {
            return null;
        }
        NativeArrays.Shapes r = new NativeArrays.Shapes();
        NativeArrays.readShapes(inSize, inNdim, inData, r.args);
        NativeArrays.readShapes(outSize, outNdim, outData, r.outs);
        NativeArrays.readShapes(auxSize, auxNdim, auxData, r.aux);
        return r;
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
        if (lib().MXSymbolInferType(
                                symbol, keys.length, keys, types, inSize, inT, outSize, outT, auxSize, auxT, complete)
                != 0) {
            return null;
        }
        return new int[][] {
            NativeArrays.ints(inT, inSize), NativeArrays.ints(outT, outSize), NativeArrays.ints(auxT, auxSize)
        };
    }

    // ---- arrays ----

    /** Parses params bytes (exactly these bytes); null when MXNet cannot ({@link #lastErrorLine()} says why). */
    static NativeArrays.LoadedArrays loadArrays(byte[] data) {
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
        Pointer[] arrays =
                n.getValue() == 0 ? new Pointer[0] : handles.getValue().getPointerArray(0, n.getValue());
        return new NativeArrays.LoadedArrays(
                arrays,
                nNames.getValue() == arrays.length
                        ? NativeArrays.utf8Names(names.getValue(), nNames.getValue())
                        : null);
    }

    /** Whether MXNet can tell the array's shape and dtype (it parses absurd shapes, then refuses to say them). */
    static boolean describable(Pointer array) {
        return DirectCalls.MXNDArrayGetShapeEx(array, new int[1], new long[1]) == 0
                && DirectCalls.MXNDArrayGetDType(array, new int[1]) == 0;
    }

    static int[] shapeOf(Pointer array) {
        int[] shape = shapeOrNull(array);
        check(shape == null ? -1 : 0, "MXNDArrayGetShapeEx");
        return shape;
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
     * Runs the CachedOp on {@code count} argument handles already in native memory ({@link NativeArrays#handleArray}); returns
     * the outputs MXNet allocated, which the caller frees with {@link #freeArray}. The caller holds the push lock
     * (spec/RUNTIME.md section 5), as for {@link #freeCachedOp}.
     */
    static Pointer[] invokeCachedOp(Pointer op, Memory args, int count) {
        int[] numOut = new int[1];
        long[] outArray = new long[1];
        long[] stypes = new long[1];
        check(DirectCalls.MXInvokeCachedOpEx(op, count, args, numOut, outArray, stypes), "MXInvokeCachedOpEx");
        // the returned array is thread-local and overwritten by this thread's next call: copy it now
        return new Pointer(outArray[0]).getPointerArray(0, numOut[0]);
    }

    static void freeCachedOp(Pointer op) {
        lib().MXFreeCachedOp(op);
    }

    // ---- operators ----

    /** An operator's handle by name, for {@link #invoke}. */
    static Pointer operator(String name) {
        PointerByReference handle = new PointerByReference();
        check(lib().NNGetOpHandle(name, handle), "NNGetOpHandle(" + name + ")");
        return handle.getValue();
    }

    /** A view of elements [begin, end) of the array's first axis, sharing its memory; freed with {@link #freeArray}. */
    static Pointer slice(Pointer array, int begin, int end) {
        PointerByReference view = new PointerByReference();
        check(lib().MXNDArraySlice(array, begin, end, view), "MXNDArraySlice");
        return view.getValue();
    }

    /**
     * Runs one operator on {@code inputs} with string parameters; returns the one output MXNet allocated (the
     * caller frees it), or null when MXNet refuses ({@link #lastErrorLine()} says why). The output may still be
     * computing on the engine: {@link #waitToRead} it.
     */
    static Pointer invoke(Pointer operator, Pointer[] inputs, String[] keys, String[] values) {
        IntByReference numOut = new IntByReference(0);
        PointerByReference outs = new PointerByReference(Pointer.NULL);
        if (lib().MXImperativeInvoke(operator, inputs.length, inputs, numOut, outs, keys.length, keys, values) != 0) {
            return null;
        }
        return outs.getValue().getPointer(0); // thread-local array: read it now
    }

    /**
     * The array's shape, or null when MXNet cannot say it ({@link #lastErrorLine()} says why; e.g. more than 2^31
     * values). Unlike {@link #shapeOf} it does not wait for the array.
     */
    static int[] shapeOrNull(Pointer array) {
        int[] ndim = new int[1];
        long[] dims = new long[1];
        if (DirectCalls.MXNDArrayGetShapeEx(array, ndim, dims) != 0) {
            return null;
        }
        return ndim[0] <= 0 ? new int[0] : new Pointer(dims[0]).getIntArray(0, ndim[0]);
    }

    /**
     * Waits until the array is computed; null when it was, else the engine's failure (then consumed: no later
     * {@code MXNDArrayWaitAll} raises it).
     */
    static String waitToRead(Pointer array) {
        return lib().MXNDArrayWaitToRead(array) != 0 ? lastErrorLine() : null;
    }
}
