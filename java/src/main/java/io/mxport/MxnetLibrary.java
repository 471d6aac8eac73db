package io.mxport;

import com.sun.jna.Callback;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The part of MXNet 1.9.1's C API (c_api.h, nnvm/c_api.h) that mxport calls, mapped by JNA, but for the array and
 * CachedOp calls that every model call makes ({@link DirectCalls}). Every function returns 0 on success.
 */
interface MxnetLibrary extends Library {
    String MXGetLastError();

    int MXGetVersion(IntByReference out);

    int MXSetNumOMPThreads(int threadNum);

    /** Lists the operators; as a side effect it completes the legacy operators' registration (see Mxnet). */
    int MXListAllOpNames(IntByReference outSize, PointerByReference outArray);

    int MXNDArrayWaitAll();

    /** EngineSyncFunc: void (*)(RunContextHandle, void* param). */
    interface EngineSyncFunc extends Callback {
        void invoke(Pointer runContext, Pointer param);
    }

    int MXEnginePushSync(
            EngineSyncFunc fn,
            Pointer param,
            Pointer deleter,
            Pointer ctx,
            Pointer constVars,
            int numConst,
            Pointer mutableVars,
            int numMutable,
            Pointer prop,
            int priority,
            String name);

    int MXSymbolCreateFromJSON(String json, PointerByReference out);

    int MXSymbolFree(Pointer symbol);

    int NNSymbolListInputNames(Pointer symbol, int option, IntByReference outSize, PointerByReference outNames);

    int MXSymbolListArguments(Pointer symbol, IntByReference outSize, PointerByReference outNames);

    int MXSymbolListAuxiliaryStates(Pointer symbol, IntByReference outSize, PointerByReference outNames);

    int MXSymbolListOutputs(Pointer symbol, IntByReference outSize, PointerByReference outNames);

    int MXSymbolInferShapeEx(
            Pointer symbol,
            int numArgs,
            String[] keys,
            int[] argIndPtr,
            int[] argShapeData,
            IntByReference inSize,
            PointerByReference inNdim,
            PointerByReference inData,
            IntByReference outSize,
            PointerByReference outNdim,
            PointerByReference outData,
            IntByReference auxSize,
            PointerByReference auxNdim,
            PointerByReference auxData,
            IntByReference complete);

    int MXSymbolInferType(
            Pointer symbol,
            int numArgs,
            String[] keys,
            int[] argTypes,
            IntByReference inSize,
            PointerByReference inTypes,
            IntByReference outSize,
            PointerByReference outTypes,
            IntByReference auxSize,
            PointerByReference auxTypes,
            IntByReference complete);

    int MXNDArrayLoadFromBuffer(
            Pointer buffer,
            long size,
            IntByReference outSize,
            PointerByReference outArrays,
            IntByReference outNameSize,
            PointerByReference outNames);

    int MXNDArrayCreateEx(
            int[] shape, int ndim, int devType, int devId, int delayAlloc, int dtype, PointerByReference out);

    int MXNDArraySyncCopyFromCPU(Pointer handle, Pointer data, long size);

    /** A view of elements [begin, end) of the first axis, sharing the array's memory. */
    int MXNDArraySlice(Pointer handle, int begin, int end, PointerByReference out);

    int MXNDArrayWaitToRead(Pointer handle);

    /** An operator's handle by name (an AtomicSymbolCreator for MXImperativeInvoke). */
    int NNGetOpHandle(String opName, PointerByReference opOut);

    /** Runs one operator now; with {@code *outputs} NULL, MXNet allocates the outputs (the caller frees them). */
    int MXImperativeInvoke(
            Pointer creator,
            int numInputs,
            Pointer[] inputs,
            IntByReference numOutputs,
            PointerByReference outputs,
            int numParams,
            String[] paramKeys,
            String[] paramVals);

    int MXCreateCachedOpEx(Pointer symbol, int numFlags, String[] keys, String[] vals, PointerByReference out);

    int MXFreeCachedOp(Pointer handle);

    /**
     * Loads with RTLD_LAZY and without RTLD_GLOBAL (JNA's default adds it): libmxnet.so bundles libjpeg 8, and
     * global symbols would replace the JDK's own libjpeg, after which {@code ImageIO.read} of a JPEG fails
     * ("Wrong JPEG library version: library is 80, caller expects 62").
     */
    static MxnetLibrary load(String path) {
        return Native.load(path, MxnetLibrary.class, OPTIONS);
    }

    /** The library {@link #load} opened (JNA keeps one instance per path and options), for {@link DirectCalls}. */
    static com.sun.jna.NativeLibrary library(String path) {
        return com.sun.jna.NativeLibrary.getInstance(path, OPTIONS);
    }

    java.util.Map<String, Object> OPTIONS = java.util.Map.of(com.sun.jna.Library.OPTION_OPEN_FLAGS, 1);
}
