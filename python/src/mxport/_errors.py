"""mxport's one exception type and the error codes of spec/FORMAT.md section 8."""

CODES = (
    "MODEL_NOT_FOUND",
    "MODEL_UNREADABLE",
    "BAD_SYMBOL_JSON",
    "NO_SIGNATURE",
    "BAD_SIGNATURE",
    "UNSUPPORTED_FORMAT_VERSION",
    "BAD_CONNECTORS",
    "DIGEST_MISMATCH",
    "BAD_PARAMS",
    "INPUT_COUNT",
    "UNKNOWN_INPUT",
    "SHAPE_MISMATCH",
    "DTYPE_MISMATCH",
    "INVALID_ARGUMENT",
    "TARGET_EXISTS",
    "NATIVE_ERROR",
    "LIBRARY_NOT_FOUND",
    "WORKER_PYTHON",
)


class MxportError(Exception):
    """A failure with one of the spec's error codes.

    >>> try:
    ...     mxport.load("no/such/model")
    ... except mxport.MxportError as e:
    ...     print(e.code)
    MODEL_NOT_FOUND

    ``code`` is stable and shared with the Java and Scala APIs; the message names the problem and the fix.
    """

    def __init__(self, code, message):
        if code not in CODES:
            raise ValueError(f"unknown mxport error code {code!r}")
        super().__init__(f"[{code}] {message}")
        self.code = code
        self.detail = message


def native_message(error):
    """The line of an MXNet error that says what went wrong, without its "Traceback (most recent call last):"
    and ``File "../src/..."`` lines (MXNet's C++ back-trace, which tells a user nothing)."""
    text = str(error).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Traceback (most recent call last)", "File \"", "Stack trace", "[bt]")):
            return line
    return type(error).__name__
