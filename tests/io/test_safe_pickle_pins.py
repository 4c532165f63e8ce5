"""The restricted unpickler refuses every known gadget global, before calling anything.

Each pickle below is written by hand (protocol 2 opcodes: PROTO, GLOBAL, args,
REDUCE, STOP) so that, were its global admitted, loading it would create a
marker directory (or at least reach a different, later global). Each test
pins that the loader refuses exactly the gadget global named first, and that
the marker does not exist afterwards.
"""

import os
import pickle
import sys

import numpy as np
import pytest

from ppsci_ext.errors import UserError
from ppsci_ext.io.safe_pickle import safe_loads, safe_paddle_load


def _str(text: str) -> bytes:
    """A SHORT_BINUNICODE / BINUNICODE opcode pushing ``text``."""
    raw = text.encode("utf-8")
    if len(raw) < 256:
        return b"\x8c" + bytes([len(raw)]) + raw
    return b"X" + len(raw).to_bytes(4, "little") + raw


def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _call(module: str, name: str, *args: bytes) -> bytes:
    """``module.name(*args)``: GLOBAL, MARK, args, TUPLE, REDUCE."""
    return _global(module, name) + b"(" + b"".join(args) + b"tR"


def _pickle(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


def _make_dir_code(marker) -> str:
    return f"__import__('os').makedirs({str(marker)!r})"


def _gadgets(marker):
    """(first global named, pickle bytes) for every gadget."""
    code = _make_dir_code(marker)
    m = str(marker)
    import_os = _call("builtins", "__import__", _str("os"))
    return [
        # getattr(__import__("os"), "makedirs")(marker)
        (("builtins", "getattr"),
         _pickle(b"c" + b"builtins\ngetattr\n" + b"(" + import_os + _str("makedirs") + b"tR" + b"(" + _str(m) + b"tR")),
        (("builtins", "eval"), _pickle(_call("builtins", "eval", _str(code)))),
        (("builtins", "exec"), _pickle(_call("builtins", "exec", _str(code)))),
        (("__builtin__", "eval"), _pickle(_call("__builtin__", "eval", _str(code)))),
        (("builtins", "__import__"), _pickle(_call("builtins", "__import__", _str("os")))),
        (("builtins", "compile"), _pickle(_call("builtins", "compile", _str(code), _str("x"), _str("exec")))),
        (("builtins", "open"), _pickle(_call("builtins", "open", _str(m), _str("w")))),
        (("os", "system"), _pickle(_call("os", "system", _str(f"mkdir {m}")))),
        (("posix", "system"), _pickle(_call("posix", "system", _str(f"mkdir {m}")))),
        (("os", "makedirs"), _pickle(_call("os", "makedirs", _str(m)))),
        (("subprocess", "Popen"),
         _pickle(_call("subprocess", "Popen", b"(" + _str("mkdir") + _str(m) + b"l"))),
        (("subprocess", "check_call"),
         _pickle(_call("subprocess", "check_call", b"(" + _str("mkdir") + _str(m) + b"l"))),
        (("numpy.testing._private.utils", "runstring"),
         _pickle(_call("numpy.testing._private.utils", "runstring", _str(code), b"}"))),
        (("importlib", "import_module"),
         _pickle(_call("importlib", "import_module", _str("os")))),
        # functools.partial(os.makedirs, marker)()
        (("functools", "partial"),
         _pickle(_call("functools", "partial", _global("os", "makedirs"), _str(m)) + b")R")),
        # operator.attrgetter("makedirs")(os)(marker), os via importlib
        (("operator", "attrgetter"),
         _pickle(_call("operator", "attrgetter", _str("makedirs")) + b"("
                 + _call("importlib", "import_module", _str("os")) + b"tR" + b"(" + _str(m) + b"tR")),
        (("numpy", "load"), _pickle(_call("numpy", "load", _str(m), _str("r"), b"\x88"))),
        (("collections", "OrderedDict"), _pickle(_call("collections", "OrderedDict"))),
    ]


_IDS = [f"{mod}.{name}" for (mod, name), _ in _gadgets("m")]


def test_gadget_pickles_are_well_formed():
    """The hand-written pickles are real programs: with pickle.loads the harmless ones run (sanity of the bytes)."""
    by_name = {f"{mod}.{name}": data for (mod, name), data in _gadgets("m")}
    assert pickle.loads(by_name["importlib.import_module"]) is os
    assert pickle.loads(by_name["builtins.__import__"]) is os
    assert pickle.loads(by_name["collections.OrderedDict"]) == {}


def test_getattr_gadget_would_run_with_plain_pickle(tmp_path):
    """Plain pickle runs the getattr chain (so refusing it really prevents something)."""
    marker = tmp_path / "ran"
    data = dict((f"{mod}.{name}", d) for (mod, name), d in _gadgets(marker))["builtins.getattr"]
    pickle.loads(data)
    assert marker.is_dir()


@pytest.mark.parametrize("index", range(len(_IDS)), ids=_IDS)
def test_safe_loads_refuses_each_gadget_naming_it(tmp_path, index):
    marker = tmp_path / "ran"
    (module, name), data = _gadgets(marker)[index]
    with pytest.raises(UserError) as info:
        safe_loads(data, "evil.pkl")
    message = str(info.value)
    assert message.startswith(f"refusing to load 'evil.pkl': the pickle asks for {module}.{name}, "), message
    assert "Nothing from it was run" in message
    assert not marker.exists()


@pytest.mark.parametrize("index", [i for i, n in enumerate(_IDS) if n != "collections.OrderedDict"],
                         ids=[n for n in _IDS if n != "collections.OrderedDict"])
def test_safe_paddle_load_refuses_each_gadget_naming_it(tmp_path, index):
    marker = tmp_path / "ran"
    (module, name), data = _gadgets(marker)[index]
    path = tmp_path / "evil.pdparams"
    path.write_bytes(data)
    with pytest.raises(UserError) as info:
        safe_paddle_load(str(path), "evil.pdparams", "get it again")
    message = str(info.value)
    assert f"the pickle asks for {module}.{name}, " in message, message
    assert not marker.exists()


def test_paddle_load_admits_ordered_dict_but_safe_loads_does_not(tmp_path):
    data = _pickle(_call("collections", "OrderedDict"))
    path = tmp_path / "od.pdparams"
    path.write_bytes(data)
    loaded = safe_paddle_load(str(path), "od", "again")
    assert loaded == {}
    with pytest.raises(UserError, match="asks for collections.OrderedDict"):
        safe_loads(data)


def test_exact_allowed_globals_load(tmp_path):
    """Arrays (numpy's reconstruction), scalars, dtypes and every builtin container and scalar type load."""
    value = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.float64(2.5), "d": np.dtype("int16"),
             "t": (1, 2.0, 3j, True, "x", b"by", bytearray(b"ba")), "l": [set([1]), frozenset([2])]}
    for protocol in (2, 4):
        loaded = safe_loads(pickle.dumps(value, protocol=protocol))
        assert loaded["a"].dtype == np.float32 and (loaded["a"] == value["a"]).all()
        assert loaded["s"] == 2.5 and type(loaded["s"]) is np.float64
        assert loaded["d"] == np.dtype("int16")
        assert loaded["t"] == value["t"] and loaded["l"] == value["l"]
    # explicit builtin constructors by GLOBAL (protocol 2 reduces) load too
    for name, arg, expected in [("list", b")", []), ("tuple", b")", ()), ("dict", b")", {}), ("set", b")", set()),
                                ("frozenset", b")", frozenset()), ("int", _str("7"), 7), ("float", _str("1.5"), 1.5),
                                ("complex", _str("1j"), 1j), ("bool", b"K\x01", True), ("str", b"K\x05", "5"),
                                ("bytes", b")", b""), ("bytearray", b")", bytearray())]:
        args = b"(" + arg + b"tR" if arg != b")" else b")R"
        assert safe_loads(_pickle(_global("builtins", name) + args)) == expected
        assert safe_loads(_pickle(_global("__builtin__", name) + args)) == expected


def test_codecs_encode_only_latin1():
    ok = _pickle(_call("_codecs", "encode", _str("\xe9a"), _str("latin1")))
    assert safe_loads(ok) == b"\xe9a"
    assert safe_loads(_pickle(_call("_codecs", "encode", _str("ab"), _str("latin-1")))) == b"ab"
    for codec in ("rot13", "utf-8", "hex", "base64"):
        bad = _pickle(_call("_codecs", "encode", _str("ab"), _str(codec)))
        with pytest.raises(UserError, match=f"encodes bytes with the codec '{codec}'"):
            safe_loads(bad)


def test_other_globals_in_allowed_modules_are_refused():
    for module, name in [("numpy", "load"), ("numpy", "frombuffer"), ("numpy.core.multiarray", "fromstring"),
                         ("numpy._core.multiarray", "_reconstruct_evil"), ("builtins", "type"),
                         ("builtins", "object"), ("builtins", "setattr"), ("builtins", "vars"),
                         ("builtins", "globals"), ("builtins", "breakpoint"), ("codecs", "encode"),
                         ("_codecs", "decode"), ("paddle.base.libpaddle", "GeneratorState"),
                         ("sys", "exit"), ("shutil", "rmtree"), ("pickle", "loads"), ("runpy", "run_path")]:
        with pytest.raises(UserError) as info:
            safe_loads(_pickle(_call(module, name)))
        assert f"asks for {module}.{name}, " in str(info.value)
    assert sys.modules  # keeps the import used
