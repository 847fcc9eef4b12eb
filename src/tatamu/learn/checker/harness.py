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

from .adapters import GEOMETRY, Adapter, Unsupported, View
from .compare import LearnerError, describe, mismatch
from .locate import Windows, locate
from .report import Check

ROUNDINGS = ("strict", "floor")


@dataclass
class Harness:
    """The layer under test (``thing``, read through ``adapter``) and how to run it."""

    thing: object  # the learner's class (or what the adapter found: a pair of functions...)
    files: list[Path] = field(default_factory=list)  # the learner's files, to point into
    rounding: str = "strict"  # what a size that does not divide must give: refusal or floor
    seed: int = 0
    adapter: Adapter = field(default_factory=Adapter)
    kind: str = "convolution"
    name: str = ""  # how messages name the learner's layer
    skipped: list[str] = field(default_factory=list)  # geometries the course cannot build

    def __post_init__(self) -> None:
        self.name = self.name or self.adapter.display(self.thing)

    def rng(self, salt: int = 0) -> np.random.Generator:
        return np.random.default_rng([self.seed, salt])

    def call(self, fn: Callable, *args, what: str | None = None):
        """``fn(*args)``; an exception in the learner's code becomes a LearnerError."""
        try:
            return fn(*args)
        except (Unsupported, MemoryError):
            raise  # a geometry the course cannot take; memory: the whole run stops, said so
        except Exception as exc:  # anything the learner's code raises
            where = what or getattr(fn, "__qualname__", None) or "the layer"
            raise LearnerError(f"{where} raised {describe(exc, self.files)}", exc) from None

    def new(self, *args):
        """The learner's layer built with the book's positional arguments (copied), seen
        through its adapter; :class:`Unsupported` when the course cannot take them."""
        args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        geometry = dict(zip(GEOMETRY[self.kind], args, strict=True))
        reason = self.adapter.supports(self.thing, self.kind, geometry)
        if reason:
            self.skip(reason)
            raise Unsupported(reason)
        shown = ", ".join(_arg(a) for a in args)
        layer = self.call(lambda: self.adapter.build(self.thing, self.kind, **geometry),
                          what=f"{self.name}({shown})")
        return View(self.adapter, layer, self.kind, self.name)

    def feasible(self, configs, args: Callable):
        """(index, config) of the configurations the course can build (``args(config)``: the
        book's arguments, arrays as shapes); the others are recorded as skipped."""
        out = []
        for i, config in enumerate(configs):
            geometry = dict(zip(GEOMETRY[self.kind], (_zeros(a) for a in args(config)),
                                strict=True))
            reason = self.adapter.supports(self.thing, self.kind, geometry)
            if reason:
                self.skip(reason)
            else:
                out.append((i, config))
        if not out:
            raise Unsupported(self.skipped[-1])
        return out

    def can(self, *args) -> bool:
        """Whether the course can build the layer with these book arguments (arrays may be
        given as shapes); a refusal is recorded as skipped."""
        return bool(self.feasible_or_none([args]))

    def pick(self, *options: tuple) -> tuple:
        """The first of ``options`` (tuples of book arguments) the course can build."""
        found = self.feasible_or_none(options)
        if not found:
            raise Unsupported(self.skipped[-1])
        return found[0]

    def feasible_or_none(self, options) -> list:
        try:
            return [c for _, c in self.feasible(list(options), lambda c: c)]
        except Unsupported:
            return []

    def takes(self, x_shape) -> bool:
        """Whether the layer takes inputs of this shape; a refusal is recorded as skipped."""
        reason = self.adapter.supports_input(self.thing, self.kind, tuple(x_shape))
        if reason:
            self.skip(reason)
        return not reason

    def skip(self, reason: str) -> None:
        if reason not in self.skipped:
            self.skipped.append(reason)

    def forward(self, layer, *args):
        return self.call(layer.forward, *args, what=self.adapter.call_names(self.thing)[0])

    def backward(self, layer, *args):
        return self.call(layer.backward, *args, what=self.adapter.call_names(self.thing)[1])


def _zeros(a):
    return np.zeros(a) if isinstance(a, tuple) else a


def _arg(a) -> str:
    return f"array{a.shape}" if isinstance(a, np.ndarray) else repr(a)


def run_checks(harness: Harness, checks: list[Callable[[Harness], Check]]) -> list[Check]:
    """Run each check; a learner exception or an unexpected result type fails that check only;
    a check the course cannot take at all (:class:`Unsupported`) is left out."""
    results = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # an overflow in the learner's softmax is reported as a failed check, not as a warning
        warnings.simplefilter("ignore", RuntimeWarning)
        for fn in checks:
            check = _run_one(harness, fn)
            if check is not None:
                results.append(check)
    return results


def _run_one(harness: Harness, fn: Callable[[Harness], Check]) -> Check | None:
    title = fn.__doc__.strip().splitlines()[0] if fn.__doc__ else fn.__name__
    try:
        return fn(harness)
    except Unsupported:
        return None
    except MemoryError:
        raise
    except LearnerError as exc:
        return Check(title, "fail", str(exc), _hint(exc.exc))
    except Exception as exc:  # e.g. a forward that returned a list where an array belongs
        return Check(title, "fail", f"could not be checked: {type(exc).__name__}: {exc}")


def _hint(exc: BaseException) -> str:
    text = str(exc)
    if isinstance(exc, TypeError) and "interpreted as an integer" in text:
        return ("a size computed with / is a float: use // (or int()) for OH and OW, "
                "e.g. out_h = (H + 2*pad - FH) // stride + 1")
    if "reshape" in text:
        return ("the array does not have the size the reshape asks for: check OH, OW "
                "(the size formula) and the order of the axes")
    if "not aligned" in text or "matmul" in text:
        return ("a matrix product's shapes do not fit: a .T missing or extra? Write each "
                "factor's shape beside np.dot, e.g. (N*OH*OW, C*FH*FW) @ (C*FH*FW, FN)")
    if "broadcast" in text:
        return ("two arrays' shapes do not match: check the padding (np.pad on both sides of "
                "H and W) and that OH, OW come from the same formula as the windows")
    if isinstance(exc, TypeError) and ("positional argument" in text or "argument" in text):
        return "the class must take the book's arguments (see 'tatamu check --help')"
    return ""


def result(name: str, problem: str | None, diagnosis: str = "") -> Check:
    """A Check from the first problem found (None: passed)."""
    if problem is None:
        return Check(name, "pass")
    return Check(name, "fail", problem, diagnosis)


def gradient_result(name: str, report, windows: Windows | None = None,
                    batch: int | None = None, diagnosis: str = "") -> Check:
    """A check from a gradient check's report: each wrong gradient located (where it is wrong,
    and the pattern that makes: :mod:`~tatamu.learn.checker.locate`)."""
    wrong = [e for e in report.errors if not e.passed]
    if not wrong:
        return Check(name, "pass")
    maps, texts = [], []
    for e in wrong:
        if e.arrays is None:
            continue
        found = locate(f"d{e.name}", *e.arrays, windows=windows if e.name == "x" else None,
                       batch=batch if e.name != "x" else None)
        if found is not None:  # a pattern names the mistake; "everywhere" only shows where
            maps.append(found.map if found.pattern != "everywhere" else str(found))
            texts += [found.text] if found.pattern != "everywhere" else []
    detail = "; ".join(str(e).strip() for e in wrong)
    return Check(name, "fail", detail, diagnosis or "; ".join(texts), "\n".join(maps))


def located(check: Check, name: str, got, want, windows: Windows | None = None,
            batch: int | None = None) -> Check:
    """``check`` (a failure) with where ``got`` differs from ``want``, when it has a pattern;
    the pattern's text becomes the diagnosis when there is none."""
    if check.status != "fail":
        return check
    found = locate(name, got, want, windows=windows, batch=batch)
    if found is None:
        return check
    if found.pattern == "everywhere":
        return Check(check.name, "fail", check.detail, check.diagnosis, str(found))
    return Check(check.name, "fail", check.detail, check.diagnosis or found.text, found.map)


def first_wrong(problem: str, got, want, n: int):
    """(name, got, want, batch) of the gradient the problem is about: dx, dW or db."""
    for name, g, w in zip(("dx", "dW", "db"), got, want, strict=True):
        if problem.startswith(name):
            return name, g, w, None if name == "dx" else n
    return "dx", got[0], want[0], None



def note(name: str, detail: str, meaning: str) -> Check:
    """A departure the book itself makes: ``detail`` what was seen, ``meaning`` when it bites."""
    return Check(name, "note", detail, meaning)


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


REFUSED_EVEN = ("this size divides, so it has an output: are the stride and padding used "
                "the ones given to __init__ (self.stride, self.pad)?")

FLOOR_NOTE = ("the book floors the output size (its int() or //), and so does PyTorch: the "
              "last rows/columns that no window reaches are silently ignored. tatamu refuses such "
              "a size instead; it bites when an image's edge holds what matters, or when a size "
              "is mistyped and training goes on anyway (--strict makes this a failure; --rounding "
              "floor asks for the flooring)")


def uneven_name(h: Harness, sizes: str) -> str:
    if h.rounding == "floor":
        return f"a size that does not divide ({sizes}) is floored (--rounding floor)"
    return f"a size that does not divide ({sizes}) is refused (or floored, as the book does)"


def uneven_check(h: Harness, name: str, cases) -> Check:
    """``cases``: (make the layer, x, the floored reference output, where) per size that does not
    divide. A refusal passes, a correct flooring is a note (passes with --rounding floor),
    anything else fails; the first failure wins over a note."""
    first_note = None
    for make, x, floor_ref, where in cases:
        outcome = uneven_outcome(h, make, x, floor_ref, where)
        if outcome is None:
            continue
        status, detail, text = outcome
        if status == "fail":
            return Check(name, "fail", detail, text)
        first_note = first_note or Check(name, "note", detail, text)
    return first_note or Check(name, "pass")


def uneven_outcome(h: Harness, make, x, floor_ref, where: str):
    """None if the layer refuses (default) or floors correctly (floor); else (status, detail,
    text): a note for the book's flooring, a failure for anything else."""
    try:
        layer = make()
        got = h.forward(layer, x)
    except Unsupported:
        raise
    except LearnerError as error:  # the learner refused (or crashed: told apart by the message)
        exc = error.exc
        text = f"{type(exc).__name__}: {exc}"
        if h.rounding == "floor":
            return ("fail", f"{where}: raised {text}", "with --rounding floor the layer must "
                    "floor the output size as the book's // does")
        if any(word in str(exc) for word in ("reshape", "broadcast", "interpreted as an integer",
                                             "could not be broadcast", "index")):
            return ("fail", f"{where}: crashed with {error}", "refuse a size that does not "
                    "divide with a clear ValueError before computing (check (H + 2*pad - FH) % "
                    "stride == 0), or floor it as the book does")
        return None
    want = floor_ref()
    problem = mismatch(got, want, "out")
    if h.rounding == "floor":
        return None if problem is None else ("fail", f"{where}: {problem}", "")
    shape = tuple(getattr(got, "shape", ()))
    if problem is None:
        return ("note", f"{where}: floored to {shape}, as the book does", FLOOR_NOTE)
    if shape != want.shape:
        return ("fail", f"{where}: returned {shape} without complaint (floored it would be "
                f"{want.shape})", "a size that does not divide must be refused (a ValueError "
                "saying (H + 2*pad - FH) is not divisible by the stride) or floored as the book's "
                "// does")
    return ("fail", f"{where}: floored to {shape}, but {problem}",
            "the floored output must be the windows that fit, as the book's // gives them")


PROMOTION_NOTE = ("np.zeros(...) without dtype= makes float64, as the book's im2col and col2im "
                  "do; its networks run in float64 throughout, so it does no harm there. In a "
                  "float32 network it doubles memory and time and hands float64 on to the next "
                  "layer: pass dtype=x.dtype (or use np.zeros_like)")


def dtype_check(name: str, run) -> Check:
    """``run(dtype)`` returns the layer's arrays for inputs of ``dtype``; each must keep it.

    float32 made float64 is a note (the book's np.zeros); anything else is a failure."""
    promoted = None
    for dtype in (np.float32, np.float64):
        for what, value in run(dtype).items():
            got = getattr(value, "dtype", None)
            if got == dtype:
                continue
            if not isinstance(value, np.ndarray):
                return result(name, f"{what} is {type(value).__name__}, not an array, for a "
                                    f"{np.dtype(dtype)} input")
            if got == np.float64 and dtype == np.float32:
                promoted = promoted or f"{what} is float64 for a float32 input"
                continue
            return result(name, f"{what} is {got} for a {np.dtype(dtype)} input",
                          f"a {np.dtype(dtype)} input came back as {got}: is a dtype written into "
                          f"the code? use the input's, x.dtype")
    if promoted:
        return note(name, promoted, PROMOTION_NOTE)
    return result(name, None)


DOUT_NOTE = ("backward wrote into dout (the book's Relu does dout[self.mask] = 0): harmless in "
             "the book's networks, where nothing reads dout again; it bites when the caller "
             "still needs dout (a branch feeding two layers, gradients summed over steps, a "
             "gradient check that reuses it): dx = dout.copy(), then dx[self.mask] = 0")


def inputs_check(name: str, x0, x, d0, dout, others=()) -> Check:
    """forward left ``x`` (and each of ``others``: (before, after, name)) as it was: else a
    failure; backward left ``dout``: else a note (the book's Relu writes into it)."""
    problem = unchanged(x0, x, "x")
    if problem:
        return result(name, problem, "forward wrote into x (out = x is not a copy: out[mask] = "
                                     "0 zeroes the caller's x); use out = x.copy()")
    for before, after, what in others:
        problem = unchanged(before, after, what)
        if problem:
            return result(name, problem, "the layer wrote into an array it was given; work on "
                                         "a copy")
    problem = unchanged(d0, dout, "dout")
    return note(name, problem, DOUT_NOTE) if problem else result(name, None)


def leaves_check(h: Harness, name: str, layer, x) -> Check:
    """forward must leave ``x`` and backward ``dout`` as they were (Affine, ReLU)."""
    x0 = x.copy()
    y = h.forward(layer, x)
    dout = h.rng(51).standard_normal(np.shape(y))
    d0 = dout.copy()
    h.backward(layer, dout)
    return inputs_check(name, x0, x, d0, dout)
