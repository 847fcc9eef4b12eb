"""Linear (the book's Affine): worked example, naive loops, numerical gradients, PyTorch."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import layer_gradient_errors
from torch_oracle import compare_with_torch, import_torch

import tatamu.layers
from tatamu.layers import Linear, book

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def linear_ref(x, W, b):
    """y[n, j] = sum_i x[n, i] W[i, j] + b[j] over the flattened sample, by loops."""
    x2 = x.reshape(x.shape[0], -1)
    out = np.zeros((x2.shape[0], W.shape[1]), dtype=x.dtype)
    for n in range(x2.shape[0]):
        for j in range(W.shape[1]):
            out[n, j] = sum(x2[n, i] * W[i, j] for i in range(W.shape[0]))
            out[n, j] += 0 if b is None else b[j]
    return out


def test_linear_worked_example():
    layer = Linear(2, 3, dtype=np.float64, rng=0)
    layer.W[...] = [[1, 2, 3], [4, 5, 6]]
    layer.b[...] = [1, 1, 1]
    np.testing.assert_array_equal(layer(np.array([[1.0, 2.0]])), [[10, 13, 16]])
    dx = layer.backward(np.array([[1.0, 1.0, 1.0]]))
    np.testing.assert_array_equal(dx, [[6, 15]])
    np.testing.assert_array_equal(layer.dW, [[1, 1, 1], [2, 2, 2]])
    np.testing.assert_array_equal(layer.db, [1, 1, 1])


def test_affine_names_the_books_class_only():
    # one name per thing: tatamu.layers.Affine once was Linear(in, out), book.Affine is (W, b)
    assert not hasattr(tatamu.layers, "Affine")
    assert book.Affine is not Linear and "W" in book.Affine.__init__.__code__.co_varnames


@pytest.mark.parametrize("shape", [(3, 6), (2, 2, 3), (2, 2, 3, 1), (1, 1, 2, 1, 3)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_reference(rng, shape, bias):
    layer = Linear(6, 4, bias=bias, dtype=np.float64, rng=rng)
    if bias:
        layer.b[...] = rng.standard_normal(4)
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(layer(x), linear_ref(x, layer.W, layer.b), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("shape", [(3, 6), (2, 2, 3), (2, 3, 2, 1)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_numerical_gradients(rng, tol, shape, bias):
    layer = Linear(6, 4, bias=bias, dtype=np.float64, rng=rng)
    if bias:
        layer.b[...] = rng.standard_normal(4)
    x = rng.standard_normal(shape)
    errors = layer_gradient_errors(layer, x, rng.standard_normal((shape[0], 4)),
                                   eps=tol.grad_eps)
    assert set(errors) == {"x", *layer.param_names}
    assert max(errors.values()) < tol.grad_rtol, errors


def test_linear_on_4d_input_restores_the_shape_of_dx(rng):
    layer = Linear(2 * 3 * 2, 5, dtype=np.float64, rng=rng)
    x = rng.standard_normal((4, 2, 3, 2))
    y = layer(x)
    assert y.shape == (4, 5)
    assert layer.backward(np.ones((4, 5))).shape == x.shape


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@PROPERTY
@given(
    n=st.integers(1, 4),
    sample=st.lists(st.integers(1, 4), min_size=1, max_size=3),
    out=st.integers(1, 5),
    bias=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_matches_torch(n, sample, out, bias, seed, dtype, tol):
    import_torch()

    rng = np.random.default_rng(seed)
    layer = Linear(int(np.prod(sample)), out, bias=bias, dtype=dtype, rng=rng)
    if bias:
        layer.b[...] = rng.standard_normal(out)
    x = rng.standard_normal((n, *sample)).astype(dtype)
    dout = rng.standard_normal((n, out)).astype(dtype)
    opts = ({"rtol": tol.f32_rtol, "atol": tol.f32_atol} if dtype == np.float32
            else {"rtol": tol.f64_rtol, "atol": tol.f64_atol})
    compare_with_torch(layer, x, dout, **opts)
