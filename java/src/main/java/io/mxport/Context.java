package io.mxport;

/**
 * Where a model runs. The {@code mxnet==1.9.1} wheel is CPU-only, so {@link #cpu()} is the one context a
 * {@link Predictor} accepts; {@link #gpu(int)} exists so that code written for a GPU build reads naturally and
 * fails with a clear INVALID_ARGUMENT.
 */
public final class Context {
    private static final Context CPU = new Context("cpu", 0);

    private final String deviceType;
    private final int deviceId;

    private Context(String deviceType, int deviceId) {
        this.deviceType = deviceType;
        this.deviceId = deviceId;
    }

    /** The CPU. */
    public static Context cpu() {
        return CPU;
    }

    /** GPU {@code id} (not supported by the CPU-only MXNet wheel this package runs on). */
    public static Context gpu(int id) {
        if (id < 0) {
            throw new MxportException(ErrorCode.INVALID_ARGUMENT, "GPU id " + id + " must be >= 0");
        }
        return new Context("gpu", id);
    }

    /** {@code "cpu"} or {@code "gpu"}. */
    public String getDeviceType() {
        return deviceType;
    }

    /** The device number. */
    public int getDeviceId() {
        return deviceId;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Context
                && ((Context) o).deviceType.equals(deviceType)
                && ((Context) o).deviceId == deviceId;
    }

    @Override
    public int hashCode() {
        return deviceType.hashCode() * 31 + deviceId;
    }

    @Override
    public String toString() {
        return deviceType + "(" + deviceId + ")";
    }
}
