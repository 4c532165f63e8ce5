"""A restricted unpickler for data files: numpy arrays and builtin containers, nothing else.

A pickle is a program: ``pickle.load`` can import and call any function the
file names. Data files such as ``mnist.pkl.gz`` only ever need numpy's array
reconstruction and builtin containers, so every other global is refused
before anything is called.
"""

from __future__ import annotations

import contextlib
import io
import pickle
from typing import Any, FrozenSet, Iterator, Tuple

from ppsci_ext.errors import UserError, as_user_error

# (module, name) pairs a pickled numpy array needs. numpy 2 writes
# numpy._core.*; numpy 1.x writes numpy.core.*; both resolve to the same objects.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}
_BUILTINS = {"list", "tuple", "dict", "set", "frozenset", "int", "float", "complex", "bool", "str", "bytes",
             "bytearray"}


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode`` restricted to latin-1.

    Python 3 writes ``bytes`` (dict keys such as ``b"data"``, array buffers) at
    pickle protocols <= 2 as ``_codecs.encode(text, "latin1")``; no data file
    needs any other codec.
    """
    if encoding not in ("latin1", "latin-1"):
        raise UserError(f"refusing a pickle that encodes bytes with the codec {encoding!r}; data files only use "
                        "latin1. Get the file again from a source you trust.")
    return text.encode("latin1")


# What ``paddle.save`` files of this package hold besides arrays and containers:
# ordered state dicts and Paddle's random-generator state (in full checkpoints).
_PADDLE_EXTRA = frozenset({("collections", "OrderedDict"), ("paddle.base.libpaddle", "GeneratorState")})


class _DataUnpickler(pickle.Unpickler):
    """Unpickler whose ``find_class`` only returns the globals listed above (and latin-1 encoding)."""

    def __init__(self, file, source: str, extra: FrozenSet[Tuple[str, str]] = frozenset()):
        super().__init__(file, encoding="latin1")  # the classic MNIST pickle was written by Python 2
        self.source = source
        self.extra = extra

    def find_class(self, module: str, name: str):
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        if ((module, name) in _ALLOWED or (module, name) in self.extra
                or (module in ("builtins", "__builtin__") and name in _BUILTINS)):
            if module == "__builtin__":
                module = "builtins"
            return super().find_class(module, name)
        raise UserError(
            f"refusing to load {self.source!r}: the pickle asks for {module}.{name}, which a data file never "
            "needs (only numpy arrays and builtin containers are allowed). Nothing from it was run; get the "
            "file again from a source you trust."
        )


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` admitting only numpy arrays and builtin containers.

    Args:
        data (bytes): Pickle bytes (any protocol; Python 2 strings decode as latin-1).
        source (str): Name of the file, used in error messages.

    Returns:
        Any: The unpickled object.

    Raises:
        UserError: If the pickle names any other global (nothing from it is
            called) or is not a readable pickle.

    Examples:
        >>> import pickle, numpy as np
        >>> from ppsci_ext.io.safe_pickle import safe_loads
        >>> safe_loads(pickle.dumps((np.zeros(2), [1, 2])))[1]
        [1, 2]
    """
    with as_user_error(f"{source!r} is not a readable pickle ({{error}}); get the file again."):
        return _DataUnpickler(io.BytesIO(data), source).load()


class _RestrictedPickleModule:
    """Stands in for the ``pickle`` module inside ``paddle.framework.io`` during one load."""

    def __init__(self, source: str):
        self.source = source

    def load(self, file, encoding: str = "latin1", **_):
        return _DataUnpickler(file, self.source, _PADDLE_EXTRA).load()

    def __getattr__(self, name: str):
        return getattr(pickle, name)  # UnpicklingError, dumps, ... as the real module


@contextlib.contextmanager
def _restricted_paddle_load(source: str) -> Iterator[None]:
    """Within this context ``paddle.load`` unpickles through the restricted unpickler (``safe_paddle_load``)."""
    import paddle.framework.io as paddle_io

    original = paddle_io.pickle
    paddle_io.pickle = _RestrictedPickleModule(source)
    try:
        yield
    finally:
        paddle_io.pickle = original


def safe_paddle_load(path: str, source: str, advice: str) -> Any:
    """``paddle.load(path)`` with the restricted unpickler; any failure ends in one ``UserError``.

    ``paddle.load`` reads ``.pdparams`` / ``.pdckpt`` files with ``pickle``,
    which would run whatever a tampered (or downloaded) file names. Here only
    the unpickler is replaced (Paddle's post-processing, arrays back to
    tensors, is kept): it admits numpy arrays, builtin containers,
    ``OrderedDict`` and Paddle's ``GeneratorState``, and refuses anything else
    before it is called.

    Args:
        path (str): Local file to load.
        source (str): Name of the file in messages.
        advice (str): What to do when the file is not a readable Paddle file.

    Returns:
        Any: What ``paddle.load`` returns.
    """
    import paddle

    with as_user_error(f"{source} is not a readable Paddle weights file ({{error}}); {advice}"), \
            _restricted_paddle_load(source):
        return paddle.load(path)
