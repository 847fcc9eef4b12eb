"""MaxPool2D/1D, AvgPool2D/1D and GlobalAvgPool2D: worked examples, naive loops, numerical
gradients, PyTorch.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import avgpool2d_ref, layer_gradient_errors, maxpool2d_ref
from torch_oracle import compare_with_torch, import_torch

from tatamu.layers import AvgPool1D, AvgPool2D, GlobalAvgPool2D, MaxPool1D, MaxPool2D

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# The tutorials' 4x4 input (the book's fig. 7-14 uses a max pool 2x2, stride 2 like this).
X44 = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)


def distinct(rng, shape):
    """Values at least 0.1 apart, shuffled: no ties, so max pooling has no kinks to trip on."""
    size = int(np.prod(shape))
    return (rng.permutation(size) * 0.1 - size * 0.05).reshape(shape)


# -- worked examples -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maxpool_tutorial_example(dtype):
    layer = MaxPool2D(2, stride=2)
    y = layer(X44.astype(dtype)[None, None])
    np.testing.assert_array_equal(y[0, 0], [[2, 3], [3, 2]])
    assert y.dtype == dtype
    # Each window's gradient goes to its (first, on ties) maximum, as in PyTorch.
    dx = layer.backward(np.array([[[[10, 20], [30, 40]]]], dtype=dtype))
    np.testing.assert_array_equal(
        dx[0, 0], [[0, 10, 20, 0], [0, 0, 0, 0], [30, 0, 0, 40], [0, 0, 0, 0]]
    )
    assert dx.dtype == dtype


def test_avgpool_tutorial_example():
    layer = AvgPool2D(2)
    np.testing.assert_array_equal(layer(X44[None, None])[0, 0], [[1, 2], [2, 1]])
    dx = layer.backward(np.array([[[[4.0, 8.0], [12.0, 16.0]]]]))
    np.testing.assert_array_equal(
        dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]
    )


def test_avgpool_count_include_pad_worked_example():
    x = np.ones((1, 1, 2, 2))
    # One padded pixel around; each 2x2 window at stride 2 holds one real pixel.
    np.testing.assert_array_equal(AvgPool2D(2, padding=1)(x)[0, 0], [[0.25, 0.25]] * 2)
    np.testing.assert_array_equal(
        AvgPool2D(2, padding=1, count_include_pad=False)(x)[0, 0], [[1, 1]] * 2
    )


def test_global_avg_pool_worked_example():
    x = np.arange(16, dtype=np.float64).reshape(1, 1, 4, 4)
    layer = GlobalAvgPool2D()
    np.testing.assert_array_equal(layer(x), [[7.5]])
    np.testing.assert_array_equal(layer.backward(np.array([[16.0]])), np.ones((1, 1, 4, 4)))


def test_maxpool1d_worked_example():
    layer = MaxPool1D(2)
    np.testing.assert_array_equal(layer(np.array([[[1.0, 5, 2, 3, 9, 4]]])), [[[5, 3, 9]]])
    np.testing.assert_array_equal(layer.backward(np.array([[[1.0, 2, 3]]])),
                                  [[[0, 1, 0, 2, 3, 0]]])


# -- against the naive loops -----------------------------------------------------------------

MAX_CONFIGS = [
    ((1, 1, 4, 4), {"kernel_size": 2}),
    ((2, 3, 7, 7), {"kernel_size": 3, "stride": 2}),  # overlapping
    ((2, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "floor"}),
    ((1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "rounding": "ceil"}),
    ((1, 2, 5, 8), {"kernel_size": (2, 3), "stride": (1, 2), "rounding": "floor"}),
    ((1, 2, 7, 7), {"kernel_size": 2, "stride": 1, "dilation": 2}),
    ((1, 1, 8, 7), {"kernel_size": 3, "padding": (1, 0), "rounding": "ceil"}),
    ((2, 1, 5, 5), {"kernel_size": 1}),
]

AVG_CONFIGS = [
    ((1, 1, 4, 4), {"kernel_size": 2}),
    ((2, 3, 7, 7), {"kernel_size": 3, "stride": 2}),
    ((2, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "floor"}),
    ((2, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "floor",
                    "count_include_pad": False}),
    ((1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "ceil"}),
    ((1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "ceil",
                    "count_include_pad": False}),
    ((1, 2, 5, 8), {"kernel_size": (2, 3), "stride": (1, 2), "padding": (1, 1),
                    "rounding": "ceil"}),
]


def _ids(configs):
    return [f"{c[0]}-{c[1]}" for c in configs]


@pytest.mark.parametrize(("shape", "opts"), MAX_CONFIGS, ids=_ids(MAX_CONFIGS))
def test_maxpool_matches_reference(rng, shape, opts):
    x = rng.standard_normal(shape)
    layer = MaxPool2D(**opts)
    ref = {k: v for k, v in opts.items() if k != "kernel_size"}
    ref["rounding"] = "ceil" if opts.get("rounding") == "ceil" else "floor"
    expected = maxpool2d_ref(x, opts["kernel_size"], **ref)
    np.testing.assert_array_equal(layer(x), expected)
    assert layer.output_shape(shape[1:]) == expected.shape[1:]


@pytest.mark.parametrize(("shape", "opts"), AVG_CONFIGS, ids=_ids(AVG_CONFIGS))
def test_avgpool_matches_reference(rng, shape, opts):
    x = rng.standard_normal(shape)
    layer = AvgPool2D(**opts)
    expected = avgpool2d_ref(x, opts["kernel_size"], opts.get("stride"), opts.get("padding", 0),
                             opts.get("count_include_pad", True), opts.get("rounding") == "ceil")
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)
    assert layer.output_shape(shape[1:]) == expected.shape[1:]


@pytest.mark.parametrize(
    ("cls", "opts"),
    [
        (MaxPool1D, {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "floor"}),
        (MaxPool1D, {"kernel_size": 2, "dilation": 2, "stride": 1}),
        (AvgPool1D, {"kernel_size": 3, "stride": 2, "padding": 1, "rounding": "ceil",
                     "count_include_pad": False}),
    ],
)
def test_pool1d_matches_the_2d_reference_at_height_one(rng, cls, opts):
    x = rng.standard_normal((2, 3, 9))
    layer = cls(**opts)
    k, s, p = opts["kernel_size"], opts.get("stride"), opts.get("padding", 0)
    x4 = x[:, :, None, :]
    if cls is MaxPool1D:
        expected = maxpool2d_ref(x4, (1, k), None if s is None else (1, s), (0, p),
                                 (1, opts.get("dilation", 1)), opts.get("rounding", "floor"))
    else:
        expected = avgpool2d_ref(x4, (1, k), (1, s), (0, p), opts["count_include_pad"],
                                 opts["rounding"] == "ceil")
    np.testing.assert_allclose(layer(x), expected[:, :, 0, :], rtol=1e-12, atol=1e-12)


# -- numerical gradients (float64, random dout) --------------------------------------------

GRAD_CONFIGS = [
    (MaxPool2D, (2, 2, 4, 4), {"kernel_size": 2}),
    (MaxPool2D, (1, 2, 7, 7), {"kernel_size": 3, "stride": 2}),  # overlapping
    (MaxPool2D, (1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1,
                               "rounding": "ceil"}),
    (MaxPool2D, (1, 2, 6, 7), {"kernel_size": 2, "stride": 1, "dilation": 2}),
    (AvgPool2D, (2, 2, 4, 4), {"kernel_size": 2}),
    (AvgPool2D, (1, 2, 7, 7), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (AvgPool2D, (1, 2, 7, 7), {"kernel_size": 3, "stride": 2, "padding": 1,
                               "count_include_pad": False}),
    (AvgPool2D, (1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1,
                               "rounding": "ceil"}),
    (AvgPool2D, (1, 2, 6, 6), {"kernel_size": 3, "stride": 2, "padding": 1,
                               "rounding": "ceil", "count_include_pad": False}),
    (MaxPool1D, (2, 2, 9), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (AvgPool1D, (2, 2, 8), {"kernel_size": 3, "stride": 2, "rounding": "ceil"}),
]


@pytest.mark.parametrize(("cls", "shape", "opts"), GRAD_CONFIGS,
                         ids=[f"{c[0].__name__}-{c[1]}-{c[2]}" for c in GRAD_CONFIGS])
def test_pool_numerical_gradients(rng, tol, cls, shape, opts):
    layer = cls(**opts)
    x = distinct(rng, shape)
    dout = rng.standard_normal((shape[0], *layer.output_shape(shape[1:])))
    errors = layer_gradient_errors(layer, x, dout, eps=tol.grad_eps)
    assert errors["x"] < tol.grad_rtol, errors


def test_global_avg_pool_numerical_gradient(rng, tol):
    layer = GlobalAvgPool2D()
    x = rng.standard_normal((2, 3, 4, 5))
    errors = layer_gradient_errors(layer, x, rng.standard_normal((2, 3)), eps=tol.grad_eps)
    assert errors["x"] < tol.grad_rtol


# -- PyTorch as oracle ---------------------------------------------------------------------


@st.composite
def pool_configs(draw, avg: bool, one_d: bool = False):
    """A random pool config (PyTorch's limits: padding <= kernel/2) and an input shape."""
    dims = 1 if one_d else 2
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = draw(st.none() | st.tuples(*[st.integers(1, 3)] * dims))
    dilation = (1,) * dims if avg else tuple(draw(st.integers(1, 2)) for _ in range(dims))
    # No padding along a dilated axis: a dilated window could then hold padding only (its
    # taps straddling the input), where the max is -inf and PyTorch's gradient arbitrary.
    padding = tuple(draw(st.integers(0, k // 2 if d == 1 else 0))
                    for k, d in zip(kernel, dilation, strict=True))
    sizes = tuple(
        draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 8))
        for k, p, d in zip(kernel, padding, dilation, strict=True)
    )
    opts = {"kernel_size": kernel, "stride": stride, "padding": padding,
            "rounding": draw(st.sampled_from(["floor", "ceil"]))}
    if avg:
        opts["count_include_pad"] = draw(st.booleans())
    else:
        opts["dilation"] = dilation
    if one_d:
        opts = {k: (v[0] if isinstance(v, tuple) else v) for k, v in opts.items()}
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), *sizes)
    return shape, opts


DTYPES = [np.float32, np.float64]


def _tolerances(dtype, tol):
    if dtype == np.float32:
        return {"rtol": tol.f32_rtol, "atol": tol.f32_atol}
    return {"rtol": tol.f64_rtol, "atol": tol.f64_atol}


def _check_pool_against_torch(cls, cfg, seed, dtype, tol):
    import_torch()

    shape, opts = cfg
    rng = np.random.default_rng(seed)
    layer = cls(**opts)
    x = distinct(rng, shape).astype(dtype)
    dout = rng.standard_normal((shape[0], *layer.output_shape(shape[1:]))).astype(dtype)
    compare_with_torch(layer, x, dout, **_tolerances(dtype, tol))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@PROPERTY
@given(cfg=pool_configs(avg=False), seed=st.integers(0, 2**32 - 1))
def test_maxpool2d_matches_torch(cfg, seed, dtype, tol):
    _check_pool_against_torch(MaxPool2D, cfg, seed, dtype, tol)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@PROPERTY
@given(cfg=pool_configs(avg=True), seed=st.integers(0, 2**32 - 1))
def test_avgpool2d_matches_torch(cfg, seed, dtype, tol):
    _check_pool_against_torch(AvgPool2D, cfg, seed, dtype, tol)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@PROPERTY
@given(cfg=pool_configs(avg=False, one_d=True), seed=st.integers(0, 2**32 - 1))
def test_maxpool1d_matches_torch(cfg, seed, dtype, tol):
    _check_pool_against_torch(MaxPool1D, cfg, seed, dtype, tol)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@PROPERTY
@given(cfg=pool_configs(avg=True, one_d=True), seed=st.integers(0, 2**32 - 1))
def test_avgpool1d_matches_torch(cfg, seed, dtype, tol):
    _check_pool_against_torch(AvgPool1D, cfg, seed, dtype, tol)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_global_avg_pool_matches_torch(rng, tol, dtype):
    import_torch()

    x = rng.standard_normal((3, 4, 5, 2)).astype(dtype)
    dout = rng.standard_normal((3, 4)).astype(dtype)
    compare_with_torch(GlobalAvgPool2D(), x, dout, **_tolerances(dtype, tol))
