"""Reading the book's ``params.pkl`` without trusting it: a pickle reader that builds NumPy
arrays and nothing else (the book's ``save_params``/``load_params``, ch. 7 §7.5 and ch. 8).

``pickle.load`` runs whatever a file asks for: a pickle names functions (``os.system``,
``builtins.eval``) and arguments, and the loader calls them. PyTorch met the same problem and
since 2.6 loads with ``weights_only=True``: an allow-list of the few globals needed to rebuild
tensors. This module does the same for the book's dict of NumPy arrays, in two layers:

1. before anything is built, every opcode of the file is read (``pickletools.genops``) and
   every global it names is checked against the allow-list; a file that names any other is
   refused, naming it ("this file wants to call os.system: refused");
2. the unpickler's ``find_class`` admits only the same globals, each replaced by a guarded
   stand-in that checks its arguments, so even a file the first pass misread cannot reach
   anything else.

The objects built must then be exactly a ``dict`` of ``str`` to numeric ``numpy.ndarray``.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import pickletools
import re
import warnings
from pathlib import Path

import numpy as np

from ..errors import CheckpointError
from ..i18n import N_, _

#: A book params.pkl is a few MB (DeepConvNet ~ 0.6 MB, SimpleConvNet ~ 3.5 MB); anything far
#: larger is not one, and is refused before it is read into memory.
MAX_FILE_BYTES = 1 << 30
#: Array kinds a weight may have: bool, signed and unsigned integers, floating point.
NUMERIC_KINDS = "biuf"


class UnsafePickleError(CheckpointError):
    """A pickle that asks for anything but NumPy arrays (it could run code): refused unread."""


# -- the guarded stand-ins -------------------------------------------------------------------
class _Global:
    """An allowed global as the unpickler sees it: a callable that cannot be modified.

    A pickle can ``BUILD`` (set attributes of) any object it holds, including the functions it
    imported; the real ones could then be altered for the rest of the process. A stand-in has
    no ``__dict__`` and refuses ``setattr``.
    """

    __slots__ = ("_name", "_call")

    def __init__(self, name: str, call) -> None:
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_call", call)

    def __setattr__(self, key, value):
        raise pickle.UnpicklingError(_("the file tries to modify {name}", name=self._name))

    def __call__(self, *args):
        return self._call(*args)

    def __reduce__(self):  # pragma: no cover - never pickled
        raise TypeError(_("not picklable"))


def _refuse_call(*_args):
    raise pickle.UnpicklingError(_("the file calls numpy.ndarray directly (arrays never do)"))


_NDARRAY = _Global("numpy.ndarray", _refuse_call)
#: The type codes NumPy pickles numeric dtypes with ('f8', 'b1', 'u1', ...).
_TYPE_CODE = re.compile(r"[biuf][1-9]\d?")


class _DTypeSpec:
    """What the file asked ``numpy.dtype`` for, checked, until its byte order arrives.

    NumPy's own ``dtype.__setstate__`` trusts its input: a mutated state crashes the
    interpreter. So the state (``BUILD``) is checked here, and a real dtype made from it.
    """

    __slots__ = ("dtype",)

    def __init__(self, code: str) -> None:
        object.__setattr__(self, "dtype", np.dtype(code))

    def __setattr__(self, key, value):
        raise pickle.UnpicklingError(_("the file tries to modify a dtype"))

    def __setstate__(self, state) -> None:
        # (version 3, byte order, subarray, names, fields, elsize, alignment, flags): a plain
        # number type has no subarray, names or fields and the defaults -1, -1, 0
        if (type(state) is not tuple or len(state) != 8 or state[0] != 3
                or state[1] not in ("<", ">", "|", "=") or state[2:] != (None,) * 3 + (-1, -1, 0)):
            raise pickle.UnpicklingError(_("an unusual dtype state {state!r:.80}", state=state))
        if state[1] in "<>":
            object.__setattr__(self, "dtype", self.dtype.newbyteorder(state[1]))


def _dtype(code, align=False, copy=True):
    """``numpy.dtype`` for one plain number type code ('f8', 'i4'...), nothing else."""
    if code in ("O8", "O4"):
        raise pickle.UnpicklingError(_("an object array (dtype object can hold any object)"))
    if (type(code) is not str or not _TYPE_CODE.fullmatch(code) or align is not False
            or copy is not True):
        raise pickle.UnpicklingError(_("an array of dtype {code!r:.40} (only numbers are "
                                       "accepted)", code=code))
    try:
        return _DTypeSpec(code)
    except TypeError:
        raise pickle.UnpicklingError(_("an unknown dtype {code!r}", code=code)) from None


def _resolved(dtype) -> np.dtype:
    if type(dtype) is not _DTypeSpec:
        raise pickle.UnpicklingError(_("an array whose dtype is {type}", type=type(dtype).__name__))
    return dtype.dtype


def _checked_shape(shape) -> tuple[int, ...]:
    if type(shape) is not tuple or len(shape) > 32 or not all(
            type(n) is int and 0 <= n < 2**40 for n in shape):
        raise pickle.UnpicklingError(_("an array of shape {shape!r:.80}", shape=shape))
    return shape


def _from_bytes(data, dtype: np.dtype, shape, order: str) -> np.ndarray:
    """A writable array of ``shape`` over exactly ``prod(shape) * itemsize`` bytes."""
    if type(data) is str:  # protocols 0-2 under encoding="latin1" (Python 2 files)
        data = data.encode("latin1")
    if type(data) not in (bytes, bytearray):
        raise pickle.UnpicklingError(_("array data given as {type}", type=type(data).__name__))
    if math.prod(shape) * dtype.itemsize != len(data):
        raise pickle.UnpicklingError(_("an array of shape {shape} with {n_data} bytes of data",
                                       shape=shape, n_data=len(data)))
    flat = np.frombuffer(data, dtype=dtype)
    return flat.reshape(shape, order=order).astype(dtype.newbyteorder("="), order="C")


class _ArraySpec:
    """The empty array ``_reconstruct`` makes; ``BUILD`` fills it, checked (see _DTypeSpec)."""

    __slots__ = ("array",)

    def __init__(self) -> None:
        object.__setattr__(self, "array", None)

    def __setattr__(self, key, value):
        raise pickle.UnpicklingError(_("the file tries to modify an array"))

    def __setstate__(self, state) -> None:
        if type(state) is tuple and len(state) == 4:
            state = (1, *state)  # the layout before NumPy 1.0 versioned it
        if type(state) is not tuple or len(state) != 5 or state[0] != 1 or self.array is not None:
            raise pickle.UnpicklingError(_("an unusual array state {state!r:.80}", state=state))
        _version, shape, dtype, fortran, data = state
        if type(fortran) is not bool:
            raise pickle.UnpicklingError(_("an unusual array state"))
        array = _from_bytes(data, _resolved(dtype), _checked_shape(shape), "F" if fortran else "C")
        object.__setattr__(self, "array", array)


def _reconstruct(subtype, shape, typecode):
    """``numpy.core.multiarray._reconstruct``: the empty array that ``BUILD`` then fills."""
    if subtype is not _NDARRAY or shape != (0,) or typecode not in (b"b", "b"):
        raise pickle.UnpicklingError(_("an array subclass or an unusual array reconstruction"))
    return _ArraySpec()


def _frombuffer(buf, dtype, shape, order, axis_order=None):
    """``numpy.core.numeric._frombuffer`` (protocol 5): an array over in-band bytes."""
    if order not in ("C", "F") or axis_order is not None:
        raise pickle.UnpicklingError(_("an unusual protocol-5 array"))
    return _from_bytes(buf, _resolved(dtype), _checked_shape(shape), order)


def _latin1(text, encoding):
    """``_codecs.encode(text, 'latin1')``: how protocols 0-2 store the array's raw bytes."""
    if type(text) is not str or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(_("a call of _codecs.encode other than text -> latin1 bytes"))
    return text.encode("latin1")


_reconstruct_global = _Global("numpy._core.multiarray._reconstruct", _reconstruct)
_frombuffer_global = _Global("numpy._core.numeric._frombuffer", _frombuffer)

#: Every global a pickled dict of arrays needs, under the module names of NumPy 1.x
#: (``numpy.core``) and 2.x (``numpy._core``), and nothing else.
ALLOWED: dict[tuple[str, str], _Global] = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct_global,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct_global,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer_global,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer_global,
    ("numpy", "ndarray"): _NDARRAY,
    ("numpy", "dtype"): _Global("numpy.dtype", _dtype),
    ("_codecs", "encode"): _Global("_codecs.encode", _latin1),
}

_STRING_OPS = {"STRING", "BINSTRING", "SHORT_BINSTRING", "UNICODE", "BINUNICODE",
               "SHORT_BINUNICODE", "BINUNICODE8"}
_MEMO_PUT = {"PUT", "BINPUT", "LONG_BINPUT"}
_MEMO_GET = {"GET", "BINGET", "LONG_BINGET"}
#: Opcodes that fetch objects from outside the stream: never needed by plain arrays.
_OUTSIDE = {
    "PERSID": N_("a persistent id (an object stored elsewhere)"),
    "BINPERSID": N_("a persistent id (an object stored elsewhere)"),
    "EXT1": N_("the copyreg extension registry"), "EXT2": N_("the copyreg extension registry"),
    "EXT4": N_("the copyreg extension registry"),
    "NEXT_BUFFER": N_("out-of-band buffers (pickle protocol 5 with buffer_callback)"),
    "READONLY_BUFFER": N_("out-of-band buffers (pickle protocol 5 with buffer_callback)"),
    "INST": N_("an old-style class instance"), "OBJ": N_("an old-style class instance"),
}


def pickle_globals(data: bytes) -> list[str]:
    """Every global (``module.name``) the pickle ``data`` names, read without running it.

    ``GLOBAL`` carries its name; ``STACK_GLOBAL`` takes the two strings pushed before it,
    followed through the memo. Raises ``UnsafePickleError`` for opcodes that reach outside the
    stream, ``pickle.UnpicklingError`` for a stream that is not a whole pickle.
    """
    found: list[str] = []
    memo: dict[int, object] = {}
    pushed: list[object] = []  # recent pushes; non-strings as None (enough for STACK_GLOBAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # genops warns about odd escapes in protocol-0 strings
            for op, arg, _pos in pickletools.genops(data):
                if op.name in _OUTSIDE:
                    raise UnsafePickleError(_("the file uses {outside}: refused",
                                              outside=_(_OUTSIDE[op.name])))
                if op.name == "GLOBAL":
                    found.append(".".join(str(arg).split(" ", 1)))
                    pushed.append(None)
                elif op.name == "STACK_GLOBAL":
                    module, name = (pushed[-2:] if len(pushed) >= 2 else [None, None])
                    if not (isinstance(module, str) and isinstance(name, str)):
                        raise UnsafePickleError(_("the file computes the name of a global it "
                                                  "loads"))
                    found.append(f"{module}.{name}")
                    pushed.append(None)
                elif op.name in _STRING_OPS:
                    pushed.append(arg if isinstance(arg, str) else None)
                elif op.name == "MEMOIZE":
                    memo[len(memo)] = pushed[-1] if pushed else None
                elif op.name in _MEMO_PUT:
                    if int(arg) > len(data):
                        # pickle numbers memo slots 0, 1, 2...; the C unpickler allocates up to
                        # the index, so a forged 4-byte index would cost gigabytes
                        raise pickle.UnpicklingError(_("a memo index of {arg:,} in a file of "
                                                       "{n_data:,} bytes",
                                                       arg=int(arg), n_data=len(data)))
                    memo[int(arg)] = pushed[-1] if pushed else None
                elif op.name in _MEMO_GET:
                    pushed.append(memo.get(int(arg)))
                elif op.name not in ("FRAME", "PROTO", "STOP"):
                    pushed.append(None)
                del pushed[:-2]
    except UnsafePickleError:
        raise
    except Exception as exc:  # genops raises ValueError/EOFError on damaged streams
        raise pickle.UnpicklingError(str(exc) or type(exc).__name__) from exc
    return found


class _ArraysOnly(pickle.Unpickler):
    """An unpickler whose ``find_class`` knows only :data:`ALLOWED`."""

    def find_class(self, module, name):
        stand_in = ALLOWED.get((module, name))
        if stand_in is None:
            raise UnsafePickleError(
                _("this file wants to call {known_as}: refused",
                  known_as=_known_as(f'{module}.{name}')))
        return stand_in

    def persistent_load(self, pid):
        raise UnsafePickleError(_("the file refers to a persistent object: refused"))


def read_array_dict(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read a pickled ``dict`` of ``str`` to numeric ``numpy.ndarray`` without running code.

    Accepts what ``pickle.dump(params, f)`` writes with NumPy 1.x or 2.x, protocols 0 to 5
    (Python 2's ``str`` keys too). Raises ``UnsafePickleError`` (naming the global) for a file
    that asks for anything else, ``CheckpointError`` for a truncated, foreign or wrong file;
    both say nothing in the file was run.

    Shapes: the arrays as stored (copies, writable, native byte order).
    """
    path = Path(path)
    where = f"{path}: "
    data = _read_bytes(path)
    if data[:1] != b"\x80" and data[:1] not in (b"(", b"}", b"]", b"c", b"N"):
        # protocols 2-5 start with PROTO (0x80); 0 and 1 with a MARK or an empty container
        raise CheckpointError(f"{where}{_describe_damage(data, ValueError())}")
    try:
        names = pickle_globals(data)
    except UnsafePickleError as exc:
        raise UnsafePickleError(_("{where}{exc}; nothing in it was run", where=where,
                                  exc=exc)) from None
    except pickle.UnpicklingError as exc:
        raise CheckpointError(f"{where}{_describe_damage(data, exc)}") from None
    bad = [n for n in names if tuple(n.rsplit(".", 1)) not in ALLOWED]
    if bad:
        raise UnsafePickleError(
            _("{where}this file wants to call {known_as}: refused (a params.pkl of NumPy arrays "
              "needs only {allowed_summary}; nothing in it was run)",
              where=where, known_as=_known_as(bad[0]), allowed_summary=_allowed_summary())
        )
    try:
        obj = _ArraysOnly(io.BytesIO(data), encoding="latin1").load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(_("{where}{exc}; nothing else in it was run", where=where,
                                  exc=exc)) from None
    except (pickle.UnpicklingError, ValueError, TypeError, EOFError, AttributeError,
            IndexError, KeyError, MemoryError, OverflowError, RecursionError,
            UnicodeError) as exc:
        raise CheckpointError(
            _("{where}not a dict of NumPy arrays as the book's save_params writes: {exc}",
              where=where, exc=exc)
        ) from None
    if type(obj) is dict:
        obj = {k: v.array if type(v) is _ArraySpec and v.array is not None else v
               for k, v in obj.items()}
    return _checked(path, obj)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise CheckpointError(_("no file at {path}", path=path))
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CheckpointError(_("{path} is {size:,} bytes: far larger than a book params.pkl",
                                path=path, size=size))
    return path.read_bytes()


def _describe_damage(data: bytes, exc: Exception) -> str:
    """One line for a stream that is not a whole pickle: foreign, empty or truncated."""
    if not data:
        return _("the file is empty; it is not a params.pkl")
    if data[:2] == b"PK":
        return _("a zip archive (.npz?), not the book's params.pkl; a tatamu checkpoint is used "
                 "as it is, without import-book")
    if data[:1] != b"\x80" and data[:1] not in (b"(", b"}", b"]", b"c", b"N"):
        return _("not a pickle file (it starts with {start!r}); expected the book's params.pkl",
                 start=data[:8])
    if "stop" in str(exc).lower() or "ran off" in str(exc).lower() or "not enough" in str(exc):
        return _("the pickle ends after {size:,} bytes, before its end mark: the file is "
                 "truncated (copy it again)", size=len(data))
    return _("a damaged pickle ({error}); copy the file again", error=exc)


def _known_as(name: str) -> str:
    """``posix.system`` as users know it: ``os.system`` (pickle records the real module)."""
    module, _, attr = name.rpartition(".")
    if module in ("posix", "nt"):
        return f"os.{attr} ({name})"
    return f"builtins.{attr}" if module == "__builtin__" else name  # protocols 0-2


def _allowed_summary() -> str:
    return "numpy._core.multiarray._reconstruct, numpy.ndarray, numpy.dtype and _codecs.encode"


def _checked(path: Path, obj) -> dict[str, np.ndarray]:
    """Exactly a dict of str -> numeric ndarray, else a one-line refusal naming the key."""
    if type(obj) is not dict:
        raise CheckpointError(
            _("{path} holds a {type}, not a dict of arrays as the book's save_params writes",
              path=path, type=type(obj).__name__)
        )
    for key, value in obj.items():
        if type(key) is not str:
            raise CheckpointError(_("{path}: key {key!r} is not a string (the book uses 'W1'...)",
                                    path=path, key=key))
        if type(value) is _ArraySpec:  # reconstructed but never filled by BUILD
            raise CheckpointError(_("{path}: {key} is an array the file never fills",
                                    path=path, key=key))
        if type(value) is not np.ndarray:
            raise CheckpointError(
                _("{path}: {key} is a {type}, not a NumPy array",
                  path=path, key=key, type=type(value).__name__)
            )
        if value.dtype.kind not in NUMERIC_KINDS:
            raise CheckpointError(
                _("{path}: {key} is an array of dtype {dtype} (an object array can hold "
                  "anything); only arrays of numbers are accepted",
                  path=path, key=key, dtype=value.dtype)
            )
    return {k: np.ascontiguousarray(v, dtype=v.dtype.newbyteorder("=")) for k, v in obj.items()}
