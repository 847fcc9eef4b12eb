"""The fully connected layer (the book's ``Affine``, §5.6): ``y = x @ W + b``."""

from __future__ import annotations

import math

import numpy as np

from ..backend.arrays import resolve_dtype
from ..errors import ShapeError
from ..i18n import _
from ..validate import as_rng, positive_int
from .base import Layer, check_input
from .init import init_weight


class Linear(Layer):
    """Read book.py first; this is the same plus PyTorch's arguments and initialisers.

    Fully connected layer ``y = x @ W + b``, the book's ``Affine(W, b)`` built from sizes
    (``in_features``, ``out_features``, ``bias``, ``init``, ``rng``) as PyTorch's ``nn.Linear``.
    ``W`` has shape (in_features, out_features) so that forward reads ``x @ W`` as in the book;
    PyTorch's ``nn.Linear.weight`` is the transpose, (out, in). An input with more than two
    axes, such as pooled feature maps (N, C, H, W), is flattened to (N, C*H*W) first and its
    gradient reshaped back, as the book's Affine does.

    Shapes
    ------
    x: (N, in_features) or (N, ...) with prod(...) = in_features -> y: (N, out_features).
    """

    param_names = ("W", "b")
    cache_names = ("_x2", "_x_shape")
    prefix = "linear"

    @classmethod
    def param_shapes(cls, config):
        """``W`` (in_features, out_features) and ``b`` (out_features,) (none without bias)."""
        n_in = positive_int(config.get("in_features"), "in_features")
        n_out = positive_int(config.get("out_features"), "out_features")
        shapes = {"W": (n_in, n_out)}
        return {**shapes, "b": (n_out,)} if config.get("bias", True) else shapes

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        init: str | float = "he",
        rng: np.random.Generator | int | None = None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_features, self.out_features, self.bias, self.init = (
            in_features, out_features, bias, init)
        self.dtype = resolve_dtype(dtype)
        shapes = self.param_shapes(self.config())
        self.W = init_weight(shapes["W"], in_features, out_features, init, as_rng(rng),
                             self.dtype)
        self.b = np.zeros(shapes["b"], dtype=self.dtype) if bias else None
        if not bias:
            self.param_names = ("W",)
        self.dW = self.db = None
        self._x2 = None  # cache for backward: the input as (N, in_features)
        self._x_shape = None  # cache for backward: the input's original shape

    def forward(self, x):
        check_input(self, x, (2, 3, 4, 5), dtype=self.dtype)
        if math.prod(x.shape[1:]) != self.in_features:
            raise ShapeError(
                _("{label}: expected {in_features} features per sample; got shape {shape} "
                  "({features} features). Check in_features, or the size of the layers before it.",
                  label=self._label(), in_features=self.in_features, shape=x.shape,
                  features=math.prod(x.shape[1:]))
            )
        x2 = x.reshape(x.shape[0], -1)  # (N, ...) -> (N, in_features)
        out = x2 @ self.W  # (N, in) @ (in, out) -> (N, out)
        if self.b is not None:
            out += self.b
        if self.caching:
            self._x2, self._x_shape = x2, x.shape
        return out

    def backward(self, dout):
        x2, x_shape = self._cached(self._x2, self._x_shape)
        self._check_dout(dout, (x_shape[0], self.out_features))
        self.dW = x2.T @ dout  # (in, N) @ (N, out) -> (in, out)
        self.db = dout.sum(axis=0) if self.b is not None else None
        if not self.needs_input_grad:
            return None
        return (dout @ self.W.T).reshape(x_shape)  # (N, out) @ (out, in) -> (N, in) -> x's shape

    def output_shape(self, input_shape):
        if math.prod(input_shape) != self.in_features:
            raise ShapeError(
                _("{label}: expected {in_features} input features; the layer before it gives "
                  "{input_shape} = {features}",
                  label=self._label(), in_features=self.in_features, input_shape=input_shape,
                  features=math.prod(input_shape))
            )
        return (self.out_features,)

