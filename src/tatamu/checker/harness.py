"""Running a learner's class under test: constructing it, calling it, catching what it raises.

Every call into the learner's code goes through :meth:`Harness.call`, so an exception there
becomes one line pointing at their file and line (a failed check), never a traceback.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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
            where = what or getattr(fn, "__qualname__", None) or "the layer"
            raise LearnerError(f"{where} raised {describe(exc, self.files)}", exc) from None

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
        return Check(title, False, f"could not be checked: {type(exc).__name__}: {exc}")


def _hint(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, TypeError) and "interpreted as an integer" in text:
        return ("a size computed with / is a float: use // (or int()) for OH and OW, "
                "e.g. out_h = (H + 2*pad - FH) // stride + 1")
    if "reshape" in text:
        return ("the array does not have the size the reshape asks for: check OH, OW "
                "(the size formula) and the order of the axes")
    if isinstance(exc, TypeError) and ("positional argument" in text or "argument" in text):
        return "the class must take the book's arguments (see 'tatamu check --help')"
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
        return (f"{name} was changed: {name}{where} was {before[tuple(where)]:.6g}, now "
                f"{after[tuple(where)]:.6g} ({len(changed)} values changed)")
    return None


def snapshot(value):
    return copy.deepcopy(value)
