"""One home for each check that several modules make on what a user passes in.

A fact checked in two places drifts: ``evaluate`` once took ``True`` as a batch size because
its positive-int test was written differently from ``fit``'s. Every module asks here instead:
is it an int, is it at least 1, is an array finite, does it look channels-last, what
Generator does this ``rng`` argument mean. The errors carry the parameter's name and value
(``error.param``, ``error.value``), so the CLI can name its own flag for it.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from .backend.arrays import get_array_module
from .errors import ConfigError, Name, TatamuError
from .i18n import _


def is_int(value: Any) -> bool:
    """True for a Python or NumPy integer; False for ``True``/``False`` (bools are not sizes)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def int_at_least(value: Any, name: str, minimum: int = 1, *,
                 error: type[TatamuError] = ConfigError, where: str = "") -> int:
    """``value`` as an int if it is an integer >= ``minimum``; else ``error`` naming ``name``.

    >>> int_at_least(3, "epochs")
    3
    """
    if not is_int(value) or value < minimum:
        raise error(where, Name(name), _(" must be an int >= {minimum}; got {value!r}",
                                         minimum=minimum, value=value), param=name, value=value)
    return int(value)


def positive_int(value: Any, name: str, *, error: type[TatamuError] = ConfigError) -> int:
    """``value`` as an int if it is an integer >= 1 (a batch size, a count, a channel number)."""
    return int_at_least(value, name, 1, error=error)


def as_rng(rng: np.random.Generator | int | None, name: str = "rng") -> np.random.Generator:
    """The Generator an ``rng`` argument means: itself, one seeded by an int (or a sequence of
    ints, as ``numpy.random.default_rng`` takes), or a fresh one from entropy for None.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    seeds = rng if isinstance(rng, (list, tuple)) else [rng]
    if rng is None or (seeds and all(is_int(s) and s >= 0 for s in seeds)):
        return np.random.default_rng(rng)
    raise ConfigError(Name(name), _(" must be a numpy.random.Generator, an int seed >= 0 or "
                                    "None; got {rng!r}", rng=rng), param=name, value=rng)


def all_finite(x) -> bool:
    """True when the array holds no NaN and no inf (integer arrays always do)."""
    xp = get_array_module(x)
    return x.dtype.kind not in "fc" or bool(xp.isfinite(x).all())


def first_nonfinite(x) -> int | None:
    """Index of the first sample (along axis 0) holding NaN or inf, or None if there is none.

    Shapes: x (N, ...) -> an index in [0, N) or None.
    """
    if all_finite(x):
        return None
    xp = get_array_module(x)
    ok = xp.isfinite(x).reshape(len(x), -1).all(axis=1)  # (N, ...) -> (N, prod(...)) -> (N,)
    return int(xp.argmax(~ok))


def channels_last_hint(shape: tuple[int, ...], channels: int,
                       spatial: tuple[int, ...] | None = None) -> str:
    """A sentence for an NCHW input that arrived as NHWC, else "".

    ``shape`` is the batch's shape; it looks channels-last when its *last* axis has the
    ``channels`` expected on axis 1 (and the axes between are ``spatial``, when given).
    """
    ndim = len(shape)
    if ndim < 3 or shape[-1] != channels or shape[1] == channels:
        return ""
    if spatial is not None and tuple(shape[1:-1]) != tuple(spatial):
        return ""
    order = (0, ndim - 1, *range(1, ndim - 1))
    return _(" This looks like channels-last (NHWC) data; tatamu uses NCHW: x.transpose{order}.",
             order=order)
