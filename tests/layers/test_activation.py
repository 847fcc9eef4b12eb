"""ReLU, LeakyReLU, Sigmoid, Tanh: worked values, numerical gradients, PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import layer_gradient_errors
from torch_oracle import compare_with_torch, import_torch

from tatamu.layers import LeakyReLU, ReLU, Sigmoid, Tanh

PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

X = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])


@pytest.mark.parametrize(
    ("layer", "expected", "derivative"),
    [
        (ReLU(), [0, 0, 0, 0.5, 2], [0, 0, 0, 1, 1]),
        (LeakyReLU(0.1), [-0.2, -0.05, 0, 0.5, 2], [0.1, 0.1, 0.1, 1, 1]),
        (Sigmoid(), [1 / (1 + math.e**2), 1 / (1 + math.e**0.5), 0.5, 1 / (1 + math.e**-0.5),
                     1 / (1 + math.e**-2)], None),
        (Tanh(), [math.tanh(v) for v in X[0]], [1 - math.tanh(v) ** 2 for v in X[0]]),
    ],
    ids=["ReLU", "LeakyReLU", "Sigmoid", "Tanh"],
)
def test_activation_worked_values(layer, expected, derivative):
    y = layer(X.copy())
    np.testing.assert_allclose(y[0], expected, rtol=1e-15, atol=1e-15)
    if derivative is None:  # sigmoid: y (1 - y)
        derivative = [v * (1 - v) for v in expected]
    np.testing.assert_allclose(layer.backward(np.ones_like(X))[0], derivative, rtol=1e-15,
                               atol=1e-15)


def test_leaky_relu_default_slope_is_pytorchs():
    assert LeakyReLU().negative_slope == 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_for_large_inputs(dtype):
    # RuntimeWarnings are errors in this suite: an exp overflow would fail here.
    y = Sigmoid()(np.array([[-1000.0, -100.0, 100.0, 1000.0]], dtype=dtype))
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[0], [0, 0, 1, 1], atol=1e-30)
    assert y.dtype == dtype


def _away_from_zero(rng, shape):
    """|x| >= 0.1: no kink of ReLU/LeakyReLU within a central-difference step."""
    x = rng.uniform(0.1, 2.0, shape)
    return x * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("make", [ReLU, lambda: LeakyReLU(0.2), Sigmoid, Tanh],
                         ids=["ReLU", "LeakyReLU", "Sigmoid", "Tanh"])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 2, 3, 3)])
def test_activation_numerical_gradients(rng, tol, make, shape):
    layer = make()
    x = _away_from_zero(rng, shape)
    errors = layer_gradient_errors(layer, x, rng.standard_normal(shape), eps=tol.grad_eps)
    assert errors["x"] < tol.grad_rtol


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("make", [ReLU, lambda: LeakyReLU(0.2), LeakyReLU, Sigmoid, Tanh],
                         ids=["ReLU", "LeakyReLU0.2", "LeakyReLU", "Sigmoid", "Tanh"])
@PROPERTY
@given(shape=st.lists(st.integers(1, 4), min_size=2, max_size=5),
       scale=st.sampled_from([1.0, 10.0]), seed=st.integers(0, 2**32 - 1))
def test_activation_matches_torch(shape, scale, seed, make, dtype, tol):
    import_torch()

    rng = np.random.default_rng(seed)
    x = (_away_from_zero(rng, shape) * scale).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    opts = ({"rtol": tol.f32_rtol, "atol": tol.f32_atol} if dtype == np.float32
            else {"rtol": tol.f64_rtol, "atol": tol.f64_atol})
    compare_with_torch(make(), x, dout, **opts)
