"""Running a learner's class under test: constructing it, calling it, catching what it raises.

Every call into the learner's code goes through :meth:`Harness.call`, so an exception there
becomes one line pointing at their file and line (a failed check), never a traceback. The
helpers at the end are the checks every kind shares: a size that does not divide, the dtype
kept, the inputs left unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...i18n import N_, _
from .compare import LearnerError, describe, mismatch
from .report import Check

ROUNDINGS = ("strict", "floor")


@dataclass
class Harness:
    """The class under test and how to run it."""

    cls: type
    files: list[Path] = field(default_factory=list)  # the learner's files, to point into
    rounding: str = "strict"  # what a size that does not divide must give: refusal or floor
    seed: int = 0

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])

    def call(self, fn: Callable, *args, what: str | None = None):
        """``fn(*args)``; an exception in the learner's code becomes a LearnerError."""
        try:
            return fn(*args)
        except Exception as exc:  # anything the learner's code raises
            where = what or getattr(fn, "__qualname__", None) or _("the layer")
            raise LearnerError(_("{where} raised {describe}",
                                 where=where, describe=describe(exc, self.files)), exc) from None

    def new(self, *args):
        """The learner's class built with the book's positional arguments (copied)."""
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        shown = ", ".join(_arg(a) for a in args)
        return self.call(self.cls, *args, what=f"{self.cls.__name__}({shown})")

    def forward(self, layer, *args):
        return self.call(layer.forward, *args, what=f"{type(layer).__name__}.forward")

    def backward(self, layer, *args):
        return self.call(layer.backward, *args, what=f"{type(layer).__name__}.backward")


def _arg(a) -> str:
    return f"array{a.shape}" if isinstance(a, np.ndarray) else repr(a)


def run_checks(harness: Harness, checks: list[Callable[[Harness], Check]]) -> list[Check]:
    """Run each check; a learner exception or an unexpected result type fails that check only."""
    results = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # an overflow in the learner's softmax is reported as a failed check, not as a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        for fn in checks:
            results.append(_run_one(harness, fn))
    return results


def _run_one(harness: Harness, fn: Callable[[Harness], Check]) -> Check:
    title = fn.__doc__.strip().splitlines()[0] if fn.__doc__ else fn.__name__
    try:
        return fn(harness)
    except LearnerError as exc:
        return Check(title, False, str(exc), _hint(exc.exc))
    except Exception as exc:  # e.g. a forward that returned a list where an array belongs
        return Check(title, False, _("could not be checked: {type}: {exc}",
                                     type=type(exc).__name__, exc=exc))


def _hint(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, TypeError) and "interpreted as an integer" in text:
        return (_("a size computed with / is a float: use // (or int()) for OH and OW, e.g. "
                  "out_h = (H + 2*pad - FH) // stride + 1"))
    if "reshape" in text:
        return (_("the array does not have the size the reshape asks for: check OH, OW (the "
                  "size formula) and the order of the axes"))
    if "not aligned" in text or "matmul" in text:
        return (_("a matrix product's shapes do not fit: a .T missing or extra? Write each "
                  "factor's shape beside np.dot, e.g. (N*OH*OW, C*FH*FW) @ (C*FH*FW, FN)"))
    if "broadcast" in text:
        return (_("two arrays' shapes do not match: check the padding (np.pad on both sides of "
                  "H and W) and that OH, OW come from the same formula as the windows"))
    if isinstance(exc, TypeError) and ("positional argument" in text or "argument" in text):
        return _("the class must take the book's arguments (see 'tatamu check --help')")
    return ""


def result(name: str, problem: str | None, diagnosis: str = "") -> Check:
    """A Check from the first problem found (None: passed)."""
    return Check(name, problem is None, problem or "", diagnosis if problem else "")


def first_problem(*pairs) -> str | None:
    """The first non-None mismatch of (got, want, name) triples."""
    for got, want, name in pairs:
        problem = mismatch(got, want, name)
        if problem:
            return problem
    return None


def unchanged(before, after, name: str) -> str | None:
    if not np.array_equal(before, after):
        changed = np.argwhere(before != after)
        where = list(int(i) for i in changed[0])
        return (_("{name} was changed: {name}{where} was {before:.6g}, now {after:.6g} "
                  "({n_changed} values changed)",
                  name=name, where=where, before=before[tuple(where)], after=after[tuple(where)],
                  n_changed=len(changed)))
    return None


REFUSED_EVEN = N_("this size divides, so it has an output: are the stride and padding used the "
                  "ones given to __init__ (self.stride, self.pad)?")


def uneven_outcome(h: Harness, make, x, floor_ref, where: str):
    """None if the layer refuses (strict) or floors correctly (floor); else (problem, fix)."""
    try:
        layer = make()
        got = layer.forward(x)
    except Exception as exc:  # the learner refused (or crashed: told apart by the message)
        text = f"{type(exc).__name__}: {exc}"
        if h.rounding == "floor":
            return (_("{where}: raised {text}", where=where, text=text),
                    _("with --rounding floor the layer must floor the output size as the book's "
                      "// does"))
        if any(word in str(exc) for word in ("reshape", "broadcast", "interpreted as an integer",
                                             "could not be broadcast")):
            return (_("{where}: crashed with {text}", where=where, text=text),
                    _("refuse a size that does not divide with a clear ValueError before "
                      "computing (check (H + 2*pad - FH) % stride == 0)"))
        return None
    want = floor_ref()
    if h.rounding == "floor":
        problem = mismatch(got, want, "out")
        return None if problem is None else (f"{where}: {problem}", "")
    shape = tuple(getattr(got, "shape", ()))
    refuse = (_("raise a ValueError saying (H + 2*pad - FH) is not divisible by the stride (or "
                "run tatamu check --rounding floor to accept the book's flooring)"))
    if shape != want.shape:
        return (_("{where}: returned {shape} without complaint (floored it would be "
                  "{floored})", where=where, shape=shape, floored=want.shape),
                _("a size that does not divide must be refused: {refuse}", refuse=refuse))
    return (_("{where}: returned {shape} without complaint", where=where, shape=shape),
            _("the output size is floored where it does not divide: the last input rows/columns "
              "are silently ignored (the book's int() or //); {refuse}", refuse=refuse))


def dtype_check(name: str, run) -> Check:
    """``run(dtype)`` returns the layer's arrays for inputs of ``dtype``; each must keep it."""
    for dtype in (np.float32, np.float64):
        for what, value in run(dtype).items():
            got = getattr(value, "dtype", None)
            if got == dtype:
                continue
            if not isinstance(value, np.ndarray):
                return result(name, _("{what} is {type}, not an array, for a {dtype} input",
                                      what=what, type=type(value).__name__,
                                      dtype=np.dtype(dtype)))
            if got == np.float64:
                hint = (_("np.zeros(...) without dtype= makes float64 (the book's im2col and "
                          "col2im do): pass dtype=x.dtype, or use np.zeros_like"))
            else:
                hint = (_("a {dtype} input came back as {got}: is a dtype written into the "
                          "code? use the input's, x.dtype", dtype=np.dtype(dtype), got=got))
            return result(name, _("{what} is {got} for a {dtype} input",
                                  what=what, got=got, dtype=np.dtype(dtype)), hint)
    return result(name, None)


def leaves_check(h: Harness, name: str, layer, x) -> Check:
    """forward must leave ``x`` and backward ``dout`` as they were (Affine, ReLU)."""
    x0 = x.copy()
    y = h.forward(layer, x)
    dout = h.rng(51).standard_normal(np.shape(y))
    d0 = dout.copy()
    h.backward(layer, dout)
    problem = unchanged(x0, x, "x") or unchanged(d0, dout, "dout")
    hint = ""
    if problem and problem.startswith("dout"):
        hint = (_("backward wrote into dout (the book's Relu does dout[self.mask] = 0): the "
                  "caller's array must stay as it was; dx = dout.copy(), then dx[self.mask] = 0"))
    elif problem:
        hint = (_("forward wrote into x (out = x is not a copy: out[mask] = 0 zeroes the "
                  "caller's x); use out = x.copy()"))
    return result(name, problem, hint)
