package io.mxport;

import java.util.Objects;
import java.util.Optional;

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
 * problem and the fix. Where the fix is a step of the API (pass an argument, drop one, describe an old model's
 * inputs) it is also data, {@link #getFix()}, which the message spells in Java and the Scala API in Scala.
 */
public class MxportException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;
    private final String problem;
    private final transient Fix fix;

    /**
     * @param code the error code
     * @param message what went wrong and how to fix it (without the code, which is prepended)
     */
    public MxportException(ErrorCode code, String message) {
        this(code, message, null, Fix.JAVA);
    }

    /**
     * @param code the error code
     * @param problem what went wrong
     * @param fix how to fix it; the message is {@code problem + ": " + fix.render(Fix.JAVA)}
     */
    public MxportException(ErrorCode code, String problem, Fix fix) {
        this(code, problem, fix, Fix.JAVA);
    }

    /**
     * The same failure with its fix in another API's words (the Scala API's, for one).
     *
     * @param spelling the words of {@code fix} in the message
     */
    public MxportException(ErrorCode code, String problem, Fix fix, Fix.Spelling spelling) {
        super("[" + Objects.requireNonNull(code, "code") + "] " + problem
                + (fix == null ? "" : ": " + fix.render(Objects.requireNonNull(spelling, "spelling"))));
        this.errorCode = code;
        this.problem = problem;
        this.fix = fix;
    }

    /** The code as the spec writes it, e.g. {@code "SHAPE_MISMATCH"}. */
    public String getCode() {
        return errorCode.name();
    }

    /** The code as an enum constant. */
    public ErrorCode getErrorCode() {
        return errorCode;
    }

    /** What went wrong: the message without its code and, when {@link #getFix()} is there, without the fix. */
    public String getProblem() {
        return problem;
    }

    /** The fix as data, when the message's fix is a step of the API; empty when the message says it in words. */
    public Optional<Fix> getFix() {
        return Optional.ofNullable(fix);
    }
}
