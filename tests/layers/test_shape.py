"""Flatten: worked example, numerical gradient, PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from reference import layer_gradient_errors
from torch_oracle import compare_with_torch, import_torch

from tatamu.layers import Flatten


def test_flatten_worked_example():
    x = np.arange(12, dtype=np.float32).reshape(2, 3, 2, 1)
    layer = Flatten()
    y = layer(x)
    np.testing.assert_array_equal(y, [[0, 1, 2, 3, 4, 5], [6, 7, 8, 9, 10, 11]])
    assert layer.output_shape((3, 2, 1)) == (6,)
    dx = layer.backward(np.arange(12, dtype=np.float32).reshape(2, 6))
    np.testing.assert_array_equal(dx, x)


@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 4), (3, 2, 2, 2), (1, 2, 1, 2, 3)])
def test_flatten_numerical_gradient(rng, tol, shape):
    layer = Flatten()
    x = rng.standard_normal(shape)
    dout = rng.standard_normal((shape[0], int(np.prod(shape[1:]))))
    assert layer_gradient_errors(layer, x, dout, eps=tol.grad_eps)["x"] < tol.grad_rtol


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("shape", [(2, 5), (2, 3, 4), (3, 2, 2, 2)])
def test_flatten_matches_torch(rng, tol, dtype, shape):
    import_torch()

    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal((shape[0], int(np.prod(shape[1:])))).astype(dtype)
    compare_with_torch(Flatten(), x, dout, rtol=tol.f64_rtol, atol=tol.f64_atol)
