package io.mxport.onnxruntime;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.mxport.DType;
import io.mxport.ErrorCode;
import io.mxport.MxportException;
import io.mxport.NDArray;
import io.mxport.Shape;
import io.mxport.spi.EngineModel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/** One ONNX Runtime session; {@code OrtSession.run} may be called from several threads at once. */
final class OnnxRuntimeModel implements EngineModel {
    private final OrtEnvironment env;
    private final OrtSession session;
    private final Map<String, String> metadata;
    private final List<String> inputNames;
    private final List<String> outputNames;

    OnnxRuntimeModel(OrtEnvironment env, OrtSession session) throws OrtException {
        this.env = env;
        this.session = session;
        try {
            this.metadata = Map.copyOf(session.getMetadata().getCustomMetadata());
            this.inputNames = List.copyOf(session.getInputInfo().keySet());
            this.outputNames = List.copyOf(session.getOutputInfo().keySet());
        } catch (OrtException | RuntimeException e) {
            session.close();
            throw e;
        }
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public List<String> inputNames() {
        return inputNames;
    }

    @Override
    public List<String> outputNames() {
        return outputNames;
    }

    @Override
    public List<NDArray> run(Map<String, NDArray> inputs, List<String> outputs) {
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, NDArray> e : inputs.entrySet()) {
                feed.put(e.getKey(), tensor(e.getValue()));
            }
            try (OrtSession.Result result = session.run(feed, new LinkedHashSet<>(outputs))) {
                List<NDArray> out = new ArrayList<>(outputs.size());
                for (String name : outputs) {
                    OnnxValue v = result.get(name)
                            .orElseThrow(() -> new MxportException(
                                    ErrorCode.NATIVE_ERROR, "ONNX Runtime returned no output '" + name + "'"));
                    out.add(array(name, (OnnxTensor) v));
                }
                return out;
            }
        } catch (OrtException e) {
            throw new MxportException(ErrorCode.NATIVE_ERROR, "ONNX Runtime failed: " + e.getMessage());
        } finally {
            feed.values().forEach(OnnxTensor::close);
        }
    }

    private OnnxTensor tensor(NDArray a) throws OrtException {
        byte[] raw = a.toRawBytes();
        ByteBuffer b = ByteBuffer.allocateDirect(raw.length).order(ByteOrder.nativeOrder());
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || a.getDType().getByteSize() == 1) {
            b.put(raw);
        } else {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "ONNX Runtime on a big-endian CPU is not supported");
        }
        b.rewind();
        int[] dims = a.getShape().toArray();
        long[] shape = new long[dims.length];
        for (int i = 0; i < dims.length; i++) {
            shape[i] = dims[i];
        }
        return OnnxTensor.createTensor(env, b, shape, javaType(a.getDType()));
    }

    private static OnnxJavaType javaType(DType t) {
        switch (t) {
            case FLOAT32:
                return OnnxJavaType.FLOAT;
            case FLOAT64:
                return OnnxJavaType.DOUBLE;
            case FLOAT16:
                return OnnxJavaType.FLOAT16;
            case UINT8:
                return OnnxJavaType.UINT8;
            case INT8:
                return OnnxJavaType.INT8;
            case INT32:
                return OnnxJavaType.INT32;
            case INT64:
                return OnnxJavaType.INT64;
            default:
                throw new MxportException(ErrorCode.DTYPE_MISMATCH, "dtype " + t + " has no ONNX Runtime tensor type");
        }
    }

    private static DType dtype(String name, OnnxJavaType t) {
        for (DType d : DType.values()) {
            if (javaType(d) == t) {
                return d;
            }
        }
        throw new MxportException(
                ErrorCode.NATIVE_ERROR, "output '" + name + "' has ONNX type " + t + ", which no mxport dtype holds");
    }

    private static NDArray array(String name, OnnxTensor t) {
        TensorInfo info = t.getInfo();
        long[] s = info.getShape();
        int[] dims = new int[s.length];
        for (int i = 0; i < s.length; i++) {
            dims[i] = Math.toIntExact(s[i]);
        }
        ByteBuffer b = t.getByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        byte[] raw = new byte[b.remaining()];
        b.get(raw);
        return NDArray.ofRaw(dtype(name, info.type), raw, new Shape(dims));
    }

    @Override
    public void close() {
        try {
            session.close();
        } catch (OrtException e) {
            // closing frees memory; nothing a caller could do about a failure here
        }
    }
}
