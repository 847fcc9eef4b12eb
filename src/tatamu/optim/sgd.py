"""Gradient descent with and without momentum: SGD, Momentum, Nesterov (book 6.1.2-6.1.4).

The three share one shape of update, ``p <- p + (a step built from g)``, and differ only in
how much of the previous step they carry. Momentum and Nesterov keep the book's velocity
``v`` (a step in parameter units) rather than PyTorch's buffer (in gradient units); the
class docstrings say when that makes a difference.
"""

from __future__ import annotations

from ..backend.arrays import get_array_module
from .base import Array, Optimizer, as_decay_rate


class SGD(Optimizer):
    """Stochastic gradient descent, ``p <- p - lr * g`` (the book's ``SGD``, section 6.1.2).

    Equals ``torch.optim.SGD(params, lr, weight_decay=weight_decay)``.

    Parameters
    ----------
    lr : float
        Learning rate η (> 0).
    weight_decay, clip_grad_norm, clip_grad_value
        See :class:`~tatamu.optim.base.Optimizer`.

    Examples
    --------
    >>> import numpy as np
    >>> p, g = np.array([1.0, 2.0], np.float32), np.array([10.0, -10.0], np.float32)
    >>> SGD(lr=0.1).step({"w": p}, {"w": g})
    >>> p
    array([0., 3.], dtype=float32)
    """

    name = "sgd"

    def __init__(
        self,
        lr: float = 0.01,
        *,
        weight_decay: float = 0.0,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay, clip_grad_norm=clip_grad_norm,
                         clip_grad_value=clip_grad_value)

    def _update(self, name: str, p: Array, g: Array) -> None:
        xp = get_array_module(p)
        s = xp.multiply(g, p.dtype.type(self.lr), out=self._buffer(self._scratch, name, p))
        p -= s


class Momentum(Optimizer):
    """Momentum SGD in the book's form, ``v <- momentum*v - lr*g; p <- p + v`` (section 6.1.4).

    PyTorch's ``SGD(momentum=μ, dampening=0)`` keeps ``b <- μ*b + g`` and steps
    ``p <- p - lr*b``. The two are equal (``v == -lr * b``) while ``lr`` is constant, which
    is how the tests compare them. When a schedule changes ``lr``, the book's ``v`` keeps the
    old learning rate's steps while PyTorch rescales its whole buffer by the new one; tatamu
    follows the book (saved state: ``"v/<name>"``).

    Parameters
    ----------
    lr : float
        Learning rate η (> 0).
    momentum : float
        The book's α, in [0, 1).
    weight_decay, clip_grad_norm, clip_grad_value
        See :class:`~tatamu.optim.base.Optimizer`.
    """

    name = "momentum"
    state_names = ("v",)

    def __init__(
        self,
        lr: float = 0.01,
        *,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        clip_grad_norm: float | None = None,
        clip_grad_value: float | None = None,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay, clip_grad_norm=clip_grad_norm,
                         clip_grad_value=clip_grad_value)
        self.momentum = as_decay_rate("momentum", momentum)

    def _update(self, name: str, p: Array, g: Array) -> None:
        xp = get_array_module(p)
        v = self._state_array("v", name, p)
        s = xp.multiply(g, p.dtype.type(self.lr), out=self._buffer(self._scratch, name, p))
        v *= p.dtype.type(self.momentum)
        v -= s
        p += v
        self._flush_tiny(v, self.momentum, s)  # where g = 0, v only decays: no subnormals


class Nesterov(Momentum):
    """Nesterov's accelerated gradient: ``v <- μ*v - lr*g; p <- p + μ*v - lr*g``.

    Equals ``torch.optim.SGD(momentum=μ, nesterov=True)`` while ``lr`` is constant (the same
    ``v == -lr * b`` relation as :class:`Momentum`). The book's ``Nesterov`` (section 6.1.4's
    footnote; copied from Chainer's ``NesterovAG``) adds ``μ²v - (1+μ)·lr·g`` with the
    *updated* ``v``, which differs from Bengio et al. (2012) and PyTorch by one extra factor
    μ on the old velocity (chainer/chainer#4274); tatamu follows PyTorch.

    Parameters
    ----------
    lr : float
        Learning rate η (> 0).
    momentum : float
        μ, in [0, 1).
    weight_decay, clip_grad_norm, clip_grad_value
        See :class:`~tatamu.optim.base.Optimizer`.
    """

    name = "nesterov"

    def _update(self, name: str, p: Array, g: Array) -> None:
        xp = get_array_module(p)
        mu = p.dtype.type(self.momentum)
        v = self._state_array("v", name, p)
        s = xp.multiply(g, p.dtype.type(self.lr), out=self._buffer(self._scratch, name, p))
        v *= mu
        v -= s  # v <- mu*v - lr*g
        p -= s
        p += xp.multiply(v, mu, out=s)  # p <- p - lr*g + mu*v
        self._flush_tiny(v, self.momentum, s)  # where g = 0, v only decays: no subnormals
