"""Per-element learning rates: AdaGrad, RMSprop, Adam and AdamW (book section 6.1.5-6.1.6).

Each divides the step by the square root of a running sum or average of ``g * g``, so
elements with large gradients take smaller steps. The arithmetic follows PyTorch: epsilon is
added *after* the square root, and Adam's bias corrections are exact (the book's ``Adam``
adds its epsilon 1e-7 to the uncorrected ``sqrt(v)`` instead). Adam and AdamW share one
update method that makes twelve in-place passes with one scratch array and no temporaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import ModuleType

import numpy as np

from ..backend.arrays import get_array_module
from ..errors import ConfigError
from ..i18n import _
from .base import FLUSH_MARGIN, Array, Optimizer, as_decay_rate, as_positive


class AdaGrad(Optimizer):
    """AdaGrad: ``h <- h + g*g; p <- p - lr * g / (sqrt(h) + eps)`` (the book's ``AdaGrad``).

    Equals ``torch.optim.Adagrad(params, lr, eps=eps, weight_decay=weight_decay)``
    (``lr_decay=0``, ``initial_accumulator_value=0``). The book uses ``eps = 1e-7``.

    Parameters
    ----------
    lr : float
        Learning rate η (> 0).
    eps : float
        Added to ``sqrt(h)`` so the first steps never divide by zero (> 0).
    weight_decay, clip_grad_norm, clip_grad_value
        See :class:`~tatamu.optim.base.Optimizer`.
    """

    name = "adagrad"
    state_names = ("h",)

    def __init__(
        self,
        lr: float = 0.01,
        *,
        eps: float = 1e-10,
        weight_decay: float = 0.0,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay, clip_grad_norm=clip_grad_norm,
                         clip_grad_value=clip_grad_value)
        self.eps = as_positive("eps", eps)

    def _update(self, name: str, p: Array, g: Array) -> None:
        xp, dt = get_array_module(p), p.dtype.type
        h = self._state_array("h", name, p)
        s = self._buffer(self._scratch, name, p)
        h += _at_least_tiny(xp, xp.multiply(g, g, out=s))  # g*g of a tiny g: no subnormal
        _step_by_root(xp, p, g, h, s, eps=dt(self.eps), lr=dt(self.lr))


class RMSprop(Optimizer):
    """RMSprop: ``h <- alpha*h + (1-alpha)*g*g; p <- p - lr * g / (sqrt(h) + eps)``.

    The book's ``RMSprop`` (its ``decay_rate`` is ``alpha``; its epsilon is 1e-7). Equals
    ``torch.optim.RMSprop(params, lr, alpha, eps, weight_decay)`` (``momentum=0``,
    ``centered=False``).

    Parameters
    ----------
    lr : float
        Learning rate η (> 0).
    alpha : float
        Decay of the running average of ``g*g``, in [0, 1).
    eps : float
        Added to ``sqrt(h)`` (> 0).
    weight_decay, clip_grad_norm, clip_grad_value
        See :class:`~tatamu.optim.base.Optimizer`.
    """

    name = "rmsprop"
    state_names = ("h",)

    def __init__(
        self,
        lr: float = 0.01,
        *,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay, clip_grad_norm=clip_grad_norm,
                         clip_grad_value=clip_grad_value)
        self.alpha = as_decay_rate("alpha", alpha)
        self.eps = as_positive("eps", eps)

    def _update(self, name: str, p: Array, g: Array) -> None:
        xp, dt = get_array_module(p), p.dtype.type
        h = self._state_array("h", name, p)
        s = self._buffer(self._scratch, name, p)
        xp.multiply(g, g, out=s)
        s *= dt(1.0 - self.alpha)
        _at_least_tiny(xp, s)  # h never decays into subnormals (see _at_least_tiny)
        h *= dt(self.alpha)
        h += s
        _step_by_root(xp, p, g, h, s, eps=dt(self.eps), lr=dt(self.lr))


def _at_least_tiny(xp: ModuleType, s: Array) -> Array:
    """Raise every entry of ``s`` (a non-negative ``g*g`` term) to at least ~1e-31 (float32).

    Why: a running average of ``g*g`` (Adam's ``v``, RMSprop's ``h``) only decays where the
    gradient stays 0, and ``g*g`` of a gradient near 1e-20 is itself below float32's smallest
    normal number (1.18e-38). Such *subnormal* numbers make x86 arithmetic many times slower.
    With this floor the average never drops below ~1e-31, whose square root (3e-16) is far
    below ``eps`` (1e-8): the step is unchanged, and the floor costs one pass, no branch.
    """
    return xp.maximum(s, s.dtype.type(FLUSH_MARGIN * float(np.finfo(s.dtype).tiny)), out=s)


def _step_by_root(xp: ModuleType, p: Array, num: Array, h: Array, s: Array, *, eps: Array,
                  lr: Array) -> None:
    """``p <- p - lr * num / (sqrt(h) + eps)`` in five in-place passes through scratch ``s``."""
    xp.sqrt(h, out=s)
    s += eps
    xp.divide(num, s, out=s)
    s *= lr
    p -= s


class Adam(Optimizer):
    """Adam with bias correction, as ``torch.optim.Adam`` (the book's ``Adam``, section 6.1.6).

    ``m <- b1*m + (1-b1)*g``; ``v <- b2*v + (1-b2)*g*g``;
    ``p <- p - lr * m̂ / (sqrt(v̂) + eps)`` with ``m̂ = m / (1 - b1**t)``,
    ``v̂ = v / (1 - b2**t)``. The corrections are folded into two scalars computed in Python
    floats, ``lr * sqrt(1 - b2**t) / (1 - b1**t)`` and ``eps * sqrt(1 - b2**t)``, which is the
    same formula rearranged; the book instead adds 1e-7 to the uncorrected ``sqrt(v)``.
    ``weight_decay`` is PyTorch's coupled L2 term ``g + weight_decay * p``; see :class:`AdamW`
    for the decoupled form. Saved state: ``"m/<name>"`` and ``"v/<name>"``, which equal
    PyTorch's ``exp_avg`` and ``exp_avg_sq`` except far below anything that moves a weight:
    ``m`` entries under ~1e-31 (float32) are set to 0 every 151 steps (for b1 = 0.9) and the
    ``g*g`` term of ``v`` is at least ~1e-31, so neither ever holds a slow subnormal number.

    Parameters
    ----------
    lr : float
        Learning rate (> 0).
    betas : (float, float)
        Decay rates ``(b1, b2)`` of the two moments, each in [0, 1).
    eps : float
        Added to ``sqrt(v̂)`` (> 0).
    weight_decay, clip_grad_norm, clip_grad_value
        See :class:`~tatamu.optim.base.Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> p, g = np.array([1.0, 1.0], np.float32), np.array([3.0, -0.5], np.float32)
    >>> Adam(lr=0.1).step({"w": p}, {"w": g})  # first step: p - lr * sign(g)
    >>> p.round(6)
    array([0.9, 1.1], dtype=float32)
    """

    name = "adam"
    state_names = ("m", "v")

    def __init__(
        self,
        lr: float = 1e-3,
        *,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay, clip_grad_norm=clip_grad_norm,
                         clip_grad_value=clip_grad_value)
        if isinstance(betas, str) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise ConfigError(_("betas must be a pair (beta1, beta2); got {betas!r}", betas=betas))
        self.betas = (as_decay_rate("betas[0]", betas[0]), as_decay_rate("betas[1]", betas[1]))
        self.eps = as_positive("eps", eps)

    def _update(self, name: str, p: Array, g: Array) -> None:
        xp, dt = get_array_module(p), p.dtype.type
        b1, b2 = self.betas
        root_bc2 = math.sqrt(1.0 - b2**self.t)
        step_size = self.lr * root_bc2 / (1.0 - b1**self.t)
        m = self._state_array("m", name, p)
        v = self._state_array("v", name, p)
        s = self._buffer(self._scratch, name, p)
        if self.decoupled_weight_decay and self.weight_decay > 0.0:
            p *= dt(1.0 - self.lr * self.weight_decay)  # AdamW: p <- p - lr*wd*p, before the step
        m *= dt(b1)
        m += xp.multiply(g, dt(1.0 - b1), out=s)  # m <- b1*m + (1-b1)*g
        xp.multiply(g, g, out=s)
        s *= dt(1.0 - b2)
        _at_least_tiny(xp, s)  # v never decays into subnormals (see _at_least_tiny)
        v *= dt(b2)
        v += s  # v <- b2*v + (1-b2)*g*g
        # where g stays 0, m only decays, into subnormals that slow x86 down many times
        self._flush_tiny(m, b1, s)
        # p <- p - lr*m̂/(sqrt(v̂) + eps) == p - step_size * m / (sqrt(v) + eps*root_bc2)
        _step_by_root(xp, p, m, v, s, eps=dt(self.eps * root_bc2), lr=dt(step_size))


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as ``torch.optim.AdamW``.

    Before the Adam step, ``p <- p * (1 - lr * weight_decay)``; the decay never enters
    ``m`` or ``v``, unlike :class:`Adam`'s coupled ``weight_decay``. Not in the book.

    Parameters
    ----------
    lr, betas, eps
        As :class:`Adam`.
    weight_decay : float
        Decoupled decay coefficient (>= 0), default 0.01 as in PyTorch.
    clip_grad_norm, clip_grad_value
        See :class:`~tatamu.optim.base.Optimizer`.
    """

    name = "adamw"
    decoupled_weight_decay = True

    def __init__(
        self,
        lr: float = 1e-3,
        *,
        betas: Sequence[float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
    ) -> None:
        super().__init__(lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value)
