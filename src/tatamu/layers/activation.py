"""Activation layers (the book's §5.5): ReLU, LeakyReLU, Sigmoid, Tanh.

Each keeps what its derivative needs (the output, for all four) and never writes into
``dout``: the book's ReLU zeroed ``dout[mask]`` in place, which corrupts the caller's array.
"""

from __future__ import annotations

from ..backend.arrays import get_array_module
from .base import Layer, check_input


class _Elementwise(Layer):
    """Shared plumbing: any input shape; the output is cached for backward."""

    cache_names = ("_out",)

    def __init__(self) -> None:
        super().__init__()
        self._out = None  # cache for backward: the forward output

    def forward(self, x):
        check_input(self, x, (2, 3, 4, 5))
        out = self._apply(x)
        if self.caching:
            self._out = out
        return out

    def backward(self, dout):
        out = self._cached(self._out)
        self._check_dout(dout, out.shape)
        return self._derivative(out, dout)


class ReLU(_Elementwise):
    """Read book.py first; this is the same, keeping the output for backward, not a mask.

    ``max(0, x)``, the book's ``Relu``: the gradient is 1 where the output is positive, else 0.
    """

    def _apply(self, x):
        return get_array_module(x).maximum(x, 0)

    def _derivative(self, out, dout):
        return dout * (out > 0)


class LeakyReLU(_Elementwise):
    """``x`` where positive, ``negative_slope * x`` elsewhere (PyTorch's default slope 0.01)."""

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def _apply(self, x):
        xp = get_array_module(x)
        return xp.where(x > 0, x, x * x.dtype.type(self.negative_slope))

    def _derivative(self, out, dout):
        xp = get_array_module(dout)
        return xp.where(out > 0, dout, dout * dout.dtype.type(self.negative_slope))


class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))``, computed without overflow for large ``|x|``."""

    def _apply(self, x):
        xp = get_array_module(x)
        e = xp.exp(-xp.abs(x))  # in (0, 1]: never overflows
        return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))

    def _derivative(self, out, dout):
        return dout * out * (1 - out)


class Tanh(_Elementwise):
    """``tanh(x)``; derivative ``1 - tanh(x)**2``."""

    def _apply(self, x):
        return get_array_module(x).tanh(x)

    def _derivative(self, out, dout):
        return dout * (1 - out * out)
