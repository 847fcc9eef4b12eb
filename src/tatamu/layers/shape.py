"""Flatten: (N, C, H, W) feature maps to (N, C*H*W) vectors for a fully connected layer."""

from __future__ import annotations

import math

from .base import Layer, check_input


class Flatten(Layer):
    """Keep the batch axis, join the rest. Shapes: x (N, ...) -> (N, prod(...))."""

    cache_names = ("_x_shape",)

    def __init__(self) -> None:
        super().__init__()
        self._x_shape = None  # cache for backward: the input's shape

    def forward(self, x):
        check_input(self, x, (2, 3, 4, 5))
        if self.caching:
            self._x_shape = x.shape
        return x.reshape(x.shape[0], -1)  # (N, ...) -> (N, prod(...))

    def backward(self, dout):
        x_shape = self._cached(self._x_shape)
        self._check_dout(dout, (x_shape[0], math.prod(x_shape[1:])))
        return dout.reshape(x_shape)  # (N, prod(...)) -> (N, ...)

    def output_shape(self, input_shape):
        return (math.prod(input_shape),)
