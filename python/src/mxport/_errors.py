"""mxport's one exception type, the error codes of spec/FORMAT.md section 8, and fixes as data."""

import dataclasses

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


@dataclasses.dataclass(frozen=True)
class Fix:
    """How to fix a failure, as data that each face spells its own way (spec/MISTAKES.md, "The fix"): the Python
    API (``epoch=7``), the ``mxport`` command (``--epoch 7``), Java and Scala. ``MxportError.fix`` holds it.

    ``kind`` is one of:

    - ``"argument"``: pass the ``arguments`` (one ``(name, value)`` pair; names are the spec's, ``epoch``,
      ``load_transforms``);
    - ``"drop"``: leave out the arguments named in ``arguments`` (with the values given);
    - ``"describe_inputs"``: describe an old model's ``inputs``, ``(name, shape or None, dtype)`` each, and
      its epoch (``arguments``, when its params file is numbered);
    - ``"text"``: words that read the same in every face, the last resort.

    ``before`` and ``after`` are words around the fix, the same in every face.
    """

    kind: str
    arguments: tuple = ()
    inputs: tuple = ()
    before: str = ""
    after: str = ""

    KINDS = ("argument", "drop", "describe_inputs", "text")

    def __post_init__(self):
        if self.kind not in self.KINDS:
            raise ValueError(f"unknown fix kind {self.kind!r}")

    @classmethod
    def text(cls, words):
        return cls("text", before=words)

    @classmethod
    def argument(cls, name, value, *, before="", after=""):
        return cls("argument", ((name, value),), before=before, after=after)

    @classmethod
    def drop(cls, *arguments, after=""):
        """``arguments``: ``(name, value given)`` pairs."""
        return cls("drop", tuple(arguments), after=after)

    @classmethod
    def describe_inputs(cls, inputs, epoch=None):
        return cls("describe_inputs", (("epoch", epoch),) if epoch is not None else (), tuple(inputs))

    def render(self, spell):
        """The fix in one face's words: ``spell(fix)`` words the kind, this adds ``before`` and ``after``."""
        middle = "" if self.kind == "text" else spell(self)
        return self.before + middle + self.after


def python_spelling(fix):
    """A fix in the Python API's words."""
    if fix.kind == "argument":
        ((name, value),) = fix.arguments
        if name == "load_transforms":
            return f"load it with load_transforms={value}"
        return f"pass {name}={value!r}"
    if fix.kind == "drop":
        return "drop " + " and ".join(f"{name}=" for name, _ in fix.arguments)
    specs = ", ".join(_spec_text(*i) for i in fix.inputs) or "TensorSpec('data', (-1, ...), 'float32')"
    epoch = "".join(f", epoch={value}" for _, value in fix.arguments)
    return f"load it with inputs=[{specs}]{epoch}{_unknown_shapes(fix)}, or re-export it with mxport.export"


def _spec_text(name, shape, dtype):
    dims = ", ".join(str(d) for d in shape) if shape else "-1, ..."
    return f"TensorSpec({name!r}, ({dims}{',' if shape and len(shape) == 1 else ''}), '{dtype}')"


def _unknown_shapes(fix):
    """For describe_inputs: the note when a shape is not known and the caller must write it."""
    if not fix.inputs or any(shape is None for _, shape, _ in fix.inputs):
        return " (write each input's shape in place of ...)"
    return ""


class MxportError(Exception):
    """A failure with one of the spec's error codes.

    >>> try:
    ...     mxport.load("no/such/model")
    ... except mxport.MxportError as e:
    ...     print(e.code)
    MODEL_NOT_FOUND

    ``code`` is stable and shared with the Java and Scala APIs; the message names the problem and the fix.
    ``problem`` is what went wrong; ``fix``, when not None, is the message's fix as data, a ``Fix`` (the
    ``mxport`` command spells it with its own flags), and None when the message says the fix in words only.

    >>> try:
    ...     mxport.load("out/my_model", epoch=3)                # an epoch is for old models only
    ... except mxport.MxportError as e:
    ...     print(e.code, e.fix.kind, e.fix.arguments)
    INVALID_ARGUMENT drop (('inputs', None), ('epoch', 3))
    """

    def __init__(self, code, problem, fix=None):
        if code not in CODES:
            raise ValueError(f"unknown mxport error code {code!r}")
        self.code = code
        self.problem = problem
        self.fix = fix
        self.detail = problem if fix is None else f"{problem}: {fix.render(python_spelling)}"
        super().__init__(f"[{code}] {self.detail}")

    def spelled(self, spell):
        """The message (without the code) with the fix in another face's words."""
        return self.detail if self.fix is None else f"{self.problem}: {self.fix.render(spell)}"


def native_message(error):
    """The line of an MXNet error that says what went wrong, without its "Traceback (most recent call last):"
    and ``File "../src/..."`` lines (MXNet's C++ back-trace, which tells a user nothing)."""
    text = str(error).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("Traceback (most recent call last)", 'File "', "Stack trace", "[bt]")):
            return line
    return type(error).__name__
