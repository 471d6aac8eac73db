package io.mxport;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The C calls on arrays and CachedOps that every model call makes (image decoding reads arrays with them too),
 * bound by JNA direct mapping: static native methods, where {@link MxnetLibrary}'s interface mapping goes through a
 * proxy, reflection and argument conversion on every call.
 * Out-parameters are one-element primitive arrays (JNA copies them back); a pointer comes back as a {@code long}.
 *
 * <p>Why: a JVM that has just started compiles the interface path for hundreds of calls, and on a 2-core machine
 * that compilation competes with MXNet's OpenMP threads (ResNet-18 int8, batch 1: about 0.5 ms per call over the
 * first 1,000 calls; benchmarks/RESULTS.md). Bound once, by {@link Mxnet} when it loads the library.
 */
final class DirectCalls {
    private DirectCalls() {}

    static void bind(NativeLibrary library) {
        Native.register(DirectCalls.class, library);
    }

    static native int MXNDArrayWaitToWrite(Pointer handle);

    /** {@code out[0]}: the array's CPU memory. */
    static native int MXNDArrayGetData(Pointer handle, long[] out);

    /** {@code numOutputs[0]} and {@code outputs[0]} in: 0 (MXNet allocates the outputs); out: their count and array. */
    static native int MXInvokeCachedOpEx(
            Pointer op, int numInputs, Pointer inputs, int[] numOutputs, long[] outputs, long[] outStypes);

    /** {@code ndim[0]}, and {@code dims[0]}: MXNet's thread-local array of {@code ndim} ints. */
    static native int MXNDArrayGetShapeEx(Pointer handle, int[] ndim, long[] dims);

    static native int MXNDArrayGetDType(Pointer handle, int[] dtype);

    static native int MXNDArraySyncCopyToCPU(Pointer handle, byte[] data, long size);

    static native int MXNDArrayFree(Pointer handle);
}
