package io.mxport;

import java.util.Objects;

/**
 * A failure with one of the spec's error codes. Unchecked: every public method of this package may throw it.
 *
 * <pre>{@code
 * try (Predictor p = new Predictor("no/such/model")) {
 *     ...
 * } catch (MxportException e) {
 *     System.out.println(e.getCode());   // MODEL_NOT_FOUND
 * }
 * }</pre>
 *
 * The message starts with the code in brackets, as in Python ({@code [MODEL_NOT_FOUND] ...}), then names the
 * problem and the fix.
 */
public class MxportException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    /**
     * @param code the error code
     * @param message what went wrong and how to fix it (without the code, which is prepended)
     */
    public MxportException(ErrorCode code, String message) {
        super("[" + Objects.requireNonNull(code, "code") + "] " + message);
        this.errorCode = code;
    }

    /** The code as the spec writes it, e.g. {@code "SHAPE_MISMATCH"}. */
    public String getCode() {
        return errorCode.name();
    }

    /** The code as an enum constant. */
    public ErrorCode getErrorCode() {
        return errorCode;
    }
}
