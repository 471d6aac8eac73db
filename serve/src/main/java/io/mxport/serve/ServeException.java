package io.mxport.serve;

import io.mxport.ErrorCode;
import io.mxport.MxportException;

/**
 * A request the server refuses or cannot answer: an HTTP status (a gRPC status follows from it) and the message
 * {@code [CODE] what is wrong; the fix}, the code one of the spec's (section 8) for bad input.
 */
final class ServeException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    final int httpStatus;
    final String code;

    ServeException(int httpStatus, String code, String message) {
        super("[" + code + "] " + message);
        this.httpStatus = httpStatus;
        this.code = code;
    }

    static ServeException badRequest(ErrorCode code, String message) {
        return new ServeException(400, code.name(), message);
    }

    /** A core failure: the input codes are the client's to fix (400); NATIVE_ERROR and the like are the server's. */
    static ServeException of(MxportException e) {
        int status = switch (e.getErrorCode()) {
            case INPUT_COUNT, UNKNOWN_INPUT, SHAPE_MISMATCH, DTYPE_MISMATCH, INVALID_ARGUMENT -> 400;
            default -> 500;
        };
        String message = e.getMessage();
        String prefix = "[" + e.getCode() + "] ";
        return new ServeException(
                status, e.getCode(), message.startsWith(prefix) ? message.substring(prefix.length()) : message);
    }
}
