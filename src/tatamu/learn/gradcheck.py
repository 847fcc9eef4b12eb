"""Gradient check: is a layer's backward the true derivative of its forward? (the book's §5.7, §7).

The book checks backpropagation against numerical differentiation (``gradient_check.py``).
This module makes that check reusable on any layer, tatamu's or one a learner wrote with the
book's interface (``forward(x)``, ``backward(dout)``, gradients in ``dW``/``db``):

- central differences ``(f(x + h) - f(x - h)) / 2h`` in float64 (float32 differences drown
  in rounding), on a float64 copy of the layer, so the layer passed in is never changed;
- a *random* upstream gradient ``dout`` and the objective ``f = sum(forward(x) * dout)``, whose
  gradient is exactly ``backward(dout)`` (CS231n's vector-Jacobian form). With ``dout = 1``
  a backward that mixes up which output goes where can still pass;
- the relative error ``max|a - n| / max(max|a|, max|n|)`` per array, and a readable report.

>>> import numpy as np
>>> from tatamu.layers import Conv2D
>>> report = check_layer(Conv2D(2, 3, 3, rng=0), np.ones((1, 2, 4, 4), np.float32))
>>> report.passed
True
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: Relative error above which a gradient is called wrong. Float64 central differences of a
#: correct layer land near 1e-9; a kink (ReLU, max) crossed by the step can reach ~1e-6.
TOLERANCE = 1e-5
EPS = 1e-6


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to every element of ``x``.

    ``f`` reads ``x`` itself (a layer's input or weight array), so ``x`` is changed in place one
    element at a time and restored. ``x`` must be float64; it may be a view (a transposed
    weight array), whose writes reach the array ``f`` reads.

    Shapes: x (any) -> gradient of x's shape, float64.
    """
    if x.dtype != np.float64:
        raise TypeError(f"numerical gradients need float64 (float32 differences are mostly "
                        f"rounding); got {x.dtype}")
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):  # x[i] = ... writes through any view
        old = x[i]
        x[i] = old + eps
        plus = float(f())
        x[i] = old - eps
        minus = float(f())
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(analytic, numeric) -> float:
    """``max|a - n| / max(max|a|, max|n|)``: 0 when equal, about 1 when unrelated."""
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    scale = max(np.abs(a).max(initial=0.0), np.abs(n).max(initial=0.0), 1e-12)
    return float(np.abs(a - n).max(initial=0.0) / scale)


@dataclass
class GradientError:
    """One array's comparison: backward's gradient against the numerical one."""

    name: str  # "x", "W", "b", ...
    rel_error: float
    tolerance: float
    worst: tuple[int, ...] | None = None  # index of the largest difference
    analytic: float | None = None  # backward's value there
    numeric: float | None = None  # the numerical value there
    problem: str | None = None  # a gradient that could not be compared at all
    #: (backward's gradient, the numerical one) in full, to locate a disagreement
    arrays: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False,
                                                           compare=False)

    @property
    def passed(self) -> bool:
        return self.problem is None and self.rel_error <= self.tolerance

    def __str__(self) -> str:
        label = f"d{self.name}".ljust(4)
        if self.problem:
            return f"  {label} FAIL  {self.problem}"
        verdict = "ok  " if self.passed else "FAIL"
        text = f"  {label} {verdict}  relative error {self.rel_error:.1e}"
        if not self.passed and self.worst is not None:
            text += (f"; worst at {list(self.worst)}: backward {self.analytic:.6g}, "
                     f"numerical {self.numeric:.6g}")
        return text


@dataclass
class GradcheckReport:
    """Every array's :class:`GradientError`; ``passed`` when all are within tolerance."""

    layer: str
    errors: list[GradientError] = field(default_factory=list)
    eps: float = EPS
    upstream: str = "random dout"

    @property
    def passed(self) -> bool:
        return all(e.passed for e in self.errors)

    def __getitem__(self, name: str) -> GradientError:
        return next(e for e in self.errors if e.name == name)

    def __str__(self) -> str:
        head = (f"gradient check of {self.layer}: backward vs float64 central differences "
                f"(eps={self.eps:g}, {self.upstream})")
        return "\n".join([head, *(str(e) for e in self.errors)])


def compare(name: str, analytic, numeric, tolerance: float = TOLERANCE) -> GradientError:
    """A :class:`GradientError` for one array, naming a missing or misshapen gradient."""
    if analytic is None:
        return GradientError(name, float("inf"), tolerance,
                             problem="backward gave None (no gradient computed)")
    analytic = np.asarray(analytic)
    if analytic.shape != numeric.shape:
        return GradientError(name, float("inf"), tolerance, problem=(
            f"shape {analytic.shape}, but {name} has shape {numeric.shape}"))
    err = rel_error(analytic, numeric)
    if not numeric.size:
        return GradientError(name, err, tolerance)
    diff = np.abs(analytic.astype(np.float64) - numeric)
    diff[np.isnan(diff)] = np.inf  # a NaN is the worst difference of all
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    return GradientError(name, err, tolerance, tuple(int(i) for i in worst),
                         float(analytic[worst]), float(numeric[worst]),
                         arrays=(analytic, numeric))


def as_float64(layer):
    """A deep copy of ``layer`` with every floating array attribute (W, b, ...) in float64."""
    twin = copy.deepcopy(layer)
    for name, value in vars(twin).items():
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            setattr(twin, name, value.astype(np.float64))
    if isinstance(getattr(twin, "dtype", None), (np.dtype, type)):
        twin.dtype = np.dtype(np.float64)  # tatamu layers check the input against it
    if callable(getattr(twin, "train", None)) and hasattr(twin, "caching"):
        twin.train()  # a layer in eval mode caches nothing for backward
    return twin


def param_names(layer) -> list[str]:
    """The trainable arrays: tatamu's ``param_names``, else every array ``X`` with a ``dX``."""
    names = getattr(layer, "param_names", None)
    if names is not None:
        return list(names)
    return [n for n, v in vars(layer).items()
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and hasattr(layer, "d" + n)]


def check_layer(layer, x, dout=None, *, rng: np.random.Generator | int | None = 0,
                eps: float = EPS, tolerance: float = TOLERANCE,
                before_forward: Callable[[], None] | None = None) -> GradcheckReport:
    """Compare ``layer.backward`` with numerical gradients for x and every parameter.

    Works on tatamu layers and on book-style classes (``forward(x)``, ``backward(dout)``,
    gradients in ``d`` + the parameter's name). The check runs on a float64 copy; ``layer``
    and ``x`` are left as they were.

    Parameters
    ----------
    x : an input the layer accepts (small: every element costs two forward passes).
    dout : the upstream gradient; default random normal of the output's shape, from ``rng``.
    before_forward : called before every forward (to reseed a random layer such as Dropout).

    Shapes: x (N, ...) -> a report with one line per array (dx, dW, db, ...).
    """
    twin = as_float64(layer)
    x = np.array(x, dtype=np.float64)  # a private copy the differences can change

    def forward():
        if before_forward is not None:
            before_forward()
        return twin.forward(x)

    y = np.asarray(forward())
    if dout is None:
        dout = np.random.default_rng(rng).standard_normal(y.shape)
    dout = np.asarray(dout, dtype=np.float64)
    dx = twin.backward(dout.copy())
    names = param_names(twin)
    analytic = {"x": dx, **{n: _copy(getattr(twin, "d" + n, None)) for n in names}}

    def objective():
        return float(np.sum(np.asarray(forward()) * dout))

    report = GradcheckReport(getattr(layer, "name", None) or type(layer).__name__, eps=eps)
    report.errors.append(compare("x", analytic["x"], numerical_gradient(objective, x, eps),
                                 tolerance))
    for n in names:
        param = getattr(twin, n)
        if param is None:
            continue
        report.errors.append(compare(n, analytic[n], numerical_gradient(objective, param, eps),
                                     tolerance))
    return report


def check_loss(loss, x, t, *, eps: float = EPS, tolerance: float = TOLERANCE) -> GradcheckReport:
    """The same check for a loss (``forward(x, t) -> scalar``, ``backward(dout=1) -> dx``)."""
    twin = copy.deepcopy(loss)
    x = np.array(x, dtype=np.float64)
    twin.forward(x, t)
    dx = twin.backward(1)
    report = GradcheckReport(type(loss).__name__, eps=eps, upstream="dout = 1")
    numeric = numerical_gradient(lambda: float(twin.forward(x, t)), x, eps)
    report.errors.append(compare("x", dx, numeric, tolerance))
    return report


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


__all__ = ["GradcheckReport", "GradientError", "check_layer", "check_loss", "numerical_gradient",
           "rel_error"]
