"""Comparing a learner's arrays with the expected ones, and naming the mistake behind a mismatch.

``mismatch`` describes the first difference in numbers (or the wrong shape, dtype, None);
``diagnose`` finds which *known wrong* answer (a flipped kernel, a missing transpose...) the
learner's array equals; ``LearnerError`` carries an exception raised inside the learner's code,
shown as one line pointing at their own file and line, never a traceback of tatamu's.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from ...i18n import _

#: float64 comparisons (the learner's layer runs on float64 copies of the inputs)
RTOL, ATOL = 1e-6, 1e-8


def num(v) -> str:
    """A number as a learner reads it: 15 not 15.000000, 0.333333 not 0.33333333333."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"


def shape_of(value) -> str:
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    return str(tuple(shape)) if shape is not None else type(value).__name__


def mismatch(got, want, name: str = "output", rtol: float = RTOL, atol: float = ATOL) -> str | None:
    """``None`` when ``got`` equals ``want`` within tolerance; else the first difference."""
    if got is None:
        return _("{name} is None (nothing returned or assigned)", name=name)
    if not isinstance(got, (np.ndarray, np.generic)):
        return (_("{name} is a {type}, not a NumPy array (layers pass arrays on: np.asarray it, "
                  "or drop the .tolist())", name=name, type=type(got).__name__))
    try:
        got_arr = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return _("{name} is a {type}, not an array of numbers", name=name,
                 type=type(got).__name__)
    want = np.asarray(want, dtype=np.float64)
    if got_arr.shape != want.shape:
        return _("{name} has shape {shape}; expected {expected}",
                 name=name, shape=got_arr.shape, expected=want.shape)
    # Differences below rounding at the array's own scale are not mistakes (a wrong index or
    # axis is off by O(1)). A layer that computes in float32 whatever it is given is held to
    # float32 accuracy here; keeping the input's dtype is a check of its own.
    f32 = getattr(got, "dtype", None) == np.float32
    rtol = max(rtol, 1e-4) if f32 else rtol
    scale = float(np.abs(want).max(initial=0.0)) if np.isfinite(want).all() else 0.0
    atol = max(atol, (1e-5 if f32 else 1e-7) * scale)
    close = np.isclose(got_arr, want, rtol=rtol, atol=atol)
    if close.all():
        return None
    bad = np.argwhere(~close)
    where = tuple(int(i) for i in bad[0])
    a, b = num(want[where]), num(got_arr[where])
    if a == b:  # equal to 6 digits: show more
        a, b = f"{want[where]:.12g}", f"{got_arr[where]:.12g}"
    return _("{name}{where}: expected {expected}, got {got} ({n_bad} of {size} values differ)",
             name=name, where=list(where), expected=a, got=b, n_bad=len(bad), size=want.size)


def same(got, want, rtol: float = RTOL, atol: float = ATOL) -> bool:
    return mismatch(got, want, rtol=rtol, atol=atol) is None


def diagnose(got, candidates: Iterable[tuple[Callable[[], object], str]]) -> str:
    """The text of the first candidate whose (lazily computed) array equals ``got``."""
    if got is None:
        return ""
    for make, text in candidates:
        try:
            candidate = make()
        except Exception:  # a candidate that does not exist for this geometry
            continue
        if candidate is not None and same(got, candidate):
            return text
    return ""


def grid(values) -> str:
    """A small 2-D array as rows of numbers: '15 16 / 6 15'."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        return np.array2string(values, precision=4)
    return " / ".join(" ".join(num(v) for v in row) for row in values)


class LearnerError(Exception):
    """An exception raised by the learner's code, described in one line."""

    def __init__(self, text: str, exc: BaseException) -> None:
        super().__init__(text)
        self.exc = exc


def describe(exc: BaseException, files: Iterable[Path]) -> str:
    """``ValueError: cannot reshape ... (conv.py, line 23: out = out.reshape(...))``.

    Points at the last line of the learner's own code in the traceback (where their code
    called numpy or tatamu's shim): ``files`` are their files, or folders holding them.
    """
    places = [Path(f).resolve() for f in files]
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if _inside(Path(f.filename).resolve(), places)]
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if own:
        frame = own[-1]
        code = f": {frame.line.strip()}" if frame.line else ""
        text += f" ({Path(frame.filename).name}, line {frame.lineno}{code})"
    return text


def _inside(path: Path, places: list[Path]) -> bool:
    return any(path == p or (p.is_dir() and p in path.parents) for p in places)
