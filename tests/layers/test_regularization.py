"""BatchNorm1D/2D and Dropout: worked examples, numerical gradients, PyTorch, statistics."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import layer_gradient_errors
from torch_oracle import compare_with_torch, import_torch

from tatamu.errors import ConfigError
from tatamu.layers import BatchNorm1D, BatchNorm2D, Dropout

PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def batchnorm_ref(x, gamma, beta, eps):
    """Per channel c: (x - mean_c) / sqrt(var_c + eps) * gamma_c + beta_c, by loops."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        values = x[:, c]
        mean = values.sum() / values.size
        var = ((values - mean) ** 2).sum() / values.size
        out[:, c] = (values - mean) / math.sqrt(var + eps) * gamma[c] + beta[c]
    return out


def random_batchnorm(cls, rng, c, dtype=np.float64, **kwargs):
    layer = cls(c, dtype=dtype, **kwargs)
    layer.gamma[...] = rng.uniform(0.5, 1.5, c)
    layer.beta[...] = rng.standard_normal(c)
    layer.running_mean[...] = rng.standard_normal(c)
    layer.running_var[...] = rng.uniform(0.5, 2.0, c)
    return layer


# -- BatchNorm -------------------------------------------------------------------------------


def test_batchnorm_worked_example():
    layer = BatchNorm1D(1, eps=0.0, dtype=np.float64)
    y = layer(np.array([[1.0], [3.0]]))  # mean 2, biased var 1
    np.testing.assert_allclose(y, [[-1.0], [1.0]], rtol=1e-15)
    # PyTorch's running statistics: momentum 0.1, the unbiased variance (2 here).
    np.testing.assert_allclose(layer.running_mean, [0.2], rtol=1e-15)
    np.testing.assert_allclose(layer.running_var, [0.9 * 1 + 0.1 * 2], rtol=1e-15)
    layer.eval()
    np.testing.assert_allclose(layer(np.array([[2.2]])), [[2.0 / math.sqrt(1.1)]], rtol=1e-12)


@pytest.mark.parametrize(("cls", "shape"), [(BatchNorm1D, (5, 3)), (BatchNorm1D, (4, 3, 2)),
                                             (BatchNorm2D, (2, 3, 3, 2))])
def test_batchnorm_train_matches_reference(rng, cls, shape):
    layer = random_batchnorm(cls, rng, shape[1])
    x = rng.standard_normal(shape) * 3 + 1
    np.testing.assert_allclose(layer(x), batchnorm_ref(x, layer.gamma, layer.beta, 1e-5),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize(("cls", "shape"), [(BatchNorm1D, (5, 3)), (BatchNorm1D, (4, 2, 3)),
                                             (BatchNorm2D, (3, 2, 3, 2))])
def test_batchnorm_numerical_gradients(rng, tol, cls, shape, training):
    layer = random_batchnorm(cls, rng, shape[1])
    layer.train(training)
    layer.caching = True  # eval() turns caching off; gradients in eval mode are still defined
    x = rng.standard_normal(shape)
    errors = layer_gradient_errors(layer, x, rng.standard_normal(shape), eps=tol.grad_eps)
    assert set(errors) == {"x", "gamma", "beta"}
    assert max(errors.values()) < tol.grad_rtol, errors


def test_batchnorm_needs_two_values_per_channel_in_training():
    with pytest.raises(ConfigError, match="more than 1 value per channel"):
        BatchNorm1D(3)(np.ones((1, 3), np.float32))
    BatchNorm1D(3).eval()(np.ones((1, 3), np.float32))  # fine in eval mode


@st.composite
def batchnorm_configs(draw):
    cls = draw(st.sampled_from([BatchNorm1D, BatchNorm2D]))
    c = draw(st.integers(1, 4))
    if cls is BatchNorm2D:
        shape = (draw(st.integers(1, 3)), c, draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    else:
        shape = (draw(st.integers(2, 5)), c, *draw(st.lists(st.integers(1, 3), max_size=1)))
    if math.prod(shape) // c < 2:
        shape = (2, *shape[1:])
    return cls, shape, {"eps": draw(st.sampled_from([1e-5, 1e-3])),
                        "momentum": draw(st.sampled_from([0.1, 0.5]))}


@pytest.mark.torch
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@PROPERTY
@given(cfg=batchnorm_configs(), seed=st.integers(0, 2**32 - 1))
def test_batchnorm_matches_torch(cfg, seed, dtype, training, tol):
    import_torch()

    cls, shape, opts = cfg
    rng = np.random.default_rng(seed)
    layer = random_batchnorm(cls, rng, shape[1], dtype=dtype, **opts)
    layer.train(training)
    layer.caching = True
    x = (rng.standard_normal(shape) * 2 + 1).astype(dtype)
    dout = rng.standard_normal(shape).astype(dtype)
    opts = ({"rtol": tol.f32_rtol, "atol": tol.f32_atol} if dtype == np.float32
            else {"rtol": tol.f64_rtol, "atol": tol.f64_atol})
    compare_with_torch(layer, x, dout, **opts)  # running statistics compared too


# -- Dropout ---------------------------------------------------------------------------------


def test_dropout_keeps_and_scales(rng):
    layer = Dropout(0.25, rng=rng)
    x = rng.uniform(1.0, 2.0, (200, 50))
    y = layer(x)
    kept = y != 0
    np.testing.assert_allclose(y[kept], x[kept] / 0.75, rtol=1e-15)
    # 10,000 Bernoulli(0.75) draws: the kept fraction is within 4 sigma (~0.017) of 0.75.
    assert abs(kept.mean() - 0.75) < 0.02
    dout = rng.standard_normal(x.shape)
    np.testing.assert_allclose(layer.backward(dout), np.where(kept, dout / 0.75, 0.0),
                               rtol=1e-15)


def test_dropout_is_the_identity_in_eval_and_for_p_zero(rng):
    x = rng.standard_normal((4, 5))
    np.testing.assert_array_equal(Dropout(0.5, rng=0).eval()(x), x)
    layer = Dropout(0.0, rng=0)
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_dropout_same_seed_same_mask():
    x = np.ones((10, 10), np.float32)
    np.testing.assert_array_equal(Dropout(0.5, rng=7)(x), Dropout(0.5, rng=7)(x))


@pytest.mark.parametrize("p", [0.0, 0.3, 0.8])
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 2, 2)])
def test_dropout_numerical_gradient_with_a_fixed_mask(rng, tol, p, shape):
    layer = Dropout(p)
    seed = int(rng.integers(2**32))

    def reseed():  # the same mask on every forward, so f(x) is a fixed linear map
        layer.rng = np.random.default_rng(seed)

    x = rng.standard_normal(shape)
    errors = layer_gradient_errors(layer, x, rng.standard_normal(shape), before_forward=reseed,
                                   eps=tol.grad_eps)
    assert errors["x"] < tol.grad_rtol


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_refuses_bad_p(p):
    with pytest.raises(ConfigError, match=r"\[0, 1\)"):
        Dropout(p)


@pytest.mark.torch
def test_dropout_agrees_with_torch_where_random_streams_allow(rng, tol):
    """The random masks differ (two generators), but the rule is the same: inverted dropout,
    kept elements scaled by 1/(1-p) in training, the identity in eval mode."""
    torch = import_torch()
    x = rng.uniform(1.0, 2.0, (50, 40))
    p = 0.3
    ours = Dropout(p, rng=rng)(x)
    theirs = torch.nn.functional.dropout(torch.from_numpy(x), p, training=True).numpy()
    for y in (ours, theirs):
        kept = y != 0
        np.testing.assert_allclose(y[kept], x[kept] / (1 - p), rtol=tol.f64_rtol)
    layer = Dropout(p, rng=0).eval()
    layer.caching = True  # keep what backward needs, still in eval mode
    compare_with_torch(layer, x, rng.standard_normal(x.shape), rtol=tol.f64_rtol,
                       atol=tol.f64_atol)
