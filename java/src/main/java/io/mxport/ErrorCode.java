package io.mxport;

/**
 * The failure codes of the mxport format (spec/FORMAT.md section 8), shared with the Python and Scala APIs.
 * Tests and callers branch on the code; the message of an {@link MxportException} explains the problem.
 */
public enum ErrorCode {
    /** The symbol or params file does not exist. */
    MODEL_NOT_FOUND,
    /** A model file is a directory, cannot be read, or fails while being read. */
    MODEL_UNREADABLE,
    /** The symbol file is not JSON, or not an MXNet graph. */
    BAD_SYMBOL_JSON,
    /** The model carries no signature and the caller gave no input descriptions. */
    NO_SIGNATURE,
    /** The signature is not JSON or breaks a rule of the spec's section 2, or two nodes carry one. */
    BAD_SIGNATURE,
    /** {@code mxport_format} is not a version this loader implements. */
    UNSUPPORTED_FORMAT_VERSION,
    /** Connectors, input variables or heads do not match the signature. */
    BAD_CONNECTORS,
    /** The params file's size or SHA-256 differs from the signature's. */
    DIGEST_MISMATCH,
    /** MXNet cannot parse the params, or an array the graph needs is missing or misshaped. */
    BAD_PARAMS,
    /** A call gives more or fewer inputs than the model has. */
    INPUT_COUNT,
    /** A call names an input the model does not have. */
    UNKNOWN_INPUT,
    /** An input's rank or a fixed dimension differs from the signature, or batch sizes differ or are 0. */
    SHAPE_MISMATCH,
    /** An input's dtype differs from the signature's. */
    DTYPE_MISMATCH,
    /** An API argument is invalid in itself. */
    INVALID_ARGUMENT,
    /** Export would overwrite a file that is not an mxport model (not raised by the Java API, which does not export). */
    TARGET_EXISTS,
    /** MXNet failed; the message carries {@code MXGetLastError()}. */
    NATIVE_ERROR,
    /** No {@code libmxnet.so} could be loaded; the message lists every place tried. */
    LIBRARY_NOT_FOUND,
    /** (PySpark) Spark's Python workers cannot import mxport: not raised by the Java API. */
    WORKER_PYTHON
}
