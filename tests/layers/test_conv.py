"""Conv2D and Conv1D: worked examples, naive loops, numerical gradients, PyTorch, properties.

The worked examples are the numbers of the Japanese tutorials the project grows from (the
book's fig. 7-4/7-5/7-6 example, and the 1-D walk-through with x=[1,2,3,4], w=[3,5,7]).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import conv1d_ref, conv2d_ref, layer_gradient_errors
from torch_oracle import compare_with_torch, import_torch

import tatamu
from tatamu.layers import Conv1D, Conv2D

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

# The tutorials' 4x4 input and 3x3 filter (the book's fig. 7-3).
X44 = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
F33 = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)


def conv_with(cls, weight, bias=None, dtype=np.float64, **kwargs):
    """A conv layer whose W (and b) are set to the given numbers."""
    w = np.asarray(weight, dtype=dtype)
    layer = cls(w.shape[1], w.shape[0], w.shape[2:] if cls is Conv2D else w.shape[2],
                bias=bias is not None, dtype=dtype, rng=0, **kwargs)
    layer.W[...] = w
    if bias is not None:
        layer.b[...] = bias
    return layer


def random_conv(cls, rng, *args, dtype=np.float64, **kwargs):
    """A conv layer with random W and a random (non-zero) bias."""
    layer = cls(*args, dtype=dtype, rng=rng, **kwargs)
    if layer.b is not None:
        layer.b[...] = rng.standard_normal(layer.b.shape)
    return layer


# -- worked examples -------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv2d_tutorial_example(dtype):
    x = X44.astype(dtype)[None, None]
    y = conv_with(Conv2D, F33[None, None], dtype=dtype)(x)
    np.testing.assert_array_equal(y[0, 0], [[15, 16], [6, 15]])
    assert y.dtype == dtype


def test_conv2d_tutorial_example_with_bias():
    y = conv_with(Conv2D, F33[None, None], bias=[3.0])(X44[None, None])
    np.testing.assert_array_equal(y[0, 0], [[18, 19], [9, 18]])


def test_conv2d_tutorial_example_with_padding():
    y = conv_with(Conv2D, F33[None, None], padding=1)(X44[None, None])
    np.testing.assert_array_equal(
        y[0, 0], [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]]
    )


def test_conv1d_tutorial_example_forward_and_backward():
    layer = conv_with(Conv1D, [[[3, 5, 7]]], bias=[1.0])
    y = layer(np.array([[[1.0, 2, 3, 4]]]))
    np.testing.assert_array_equal(y, [[[35, 50]]])  # 1*3+2*5+3*7+1, 2*3+3*5+4*7+1
    dx = layer.backward(np.array([[[10.0, 20.0]]]))
    np.testing.assert_array_equal(layer.db, [30])
    np.testing.assert_array_equal(layer.dW, [[[50, 80, 110]]])
    np.testing.assert_array_equal(dx, [[[30, 110, 170, 140]]])


def test_conv1d_multichannel_tutorial_example():
    layer = conv_with(Conv1D, np.ones((3, 2, 3)), bias=[1.0, 2.0, 3.0])
    y = layer(np.array([[[1.0, 2, 3, 4], [2, 3, 4, 5]]]))
    np.testing.assert_array_equal(y, [[[16, 22], [17, 23], [18, 24]]])


@pytest.mark.parametrize(
    ("in_channels", "out_channels", "count"),
    [(3, 6, 168), (24, 48, 10_416), (10, 20, 1_820)],
)
def test_conv2d_parameter_counts(in_channels, out_channels, count):
    layer = Conv2D(in_channels, out_channels, 3, rng=0)
    assert sum(p.size for p in layer.params().values()) == count  # FN*C*3*3 + FN


@pytest.mark.parametrize(
    ("hw", "padding", "stride", "kernel", "out_hw"),
    [((4, 4), 1, 1, 3, (4, 4)), ((7, 7), 0, 2, 3, (3, 3)), ((28, 31), 2, 3, 5, (10, 11))],
)
def test_conv2d_output_size_worked_examples(hw, padding, stride, kernel, out_hw):
    assert tuple(tatamu.conv_output_size(s, kernel, stride, padding) for s in hw) == out_hw
    layer = Conv2D(2, 5, kernel, stride=stride, padding=padding, rng=0)
    assert layer.output_shape((2, *hw)) == (5, *out_hw)
    assert layer(np.zeros((3, 2, *hw), np.float32)).shape == (3, 5, *out_hw)


# -- against the naive loops -----------------------------------------------------------------

# (N, C, H, W), FN, kernel, options
CONV_CONFIGS = [
    ((1, 1, 4, 4), 1, 3, {}),
    ((2, 3, 5, 5), 4, 3, {"padding": 1}),
    ((2, 2, 7, 7), 3, 3, {"stride": 2}),
    ((1, 3, 8, 6), 2, (3, 2), {"stride": (2, 1), "padding": (1, 0), "rounding": "floor"}),
    ((2, 4, 5, 6), 3, 1, {}),  # 1x1
    ((1, 2, 9, 9), 2, 3, {"dilation": 2, "padding": 2}),
    ((2, 4, 6, 6), 6, 3, {"groups": 2, "padding": 1}),
    ((2, 3, 6, 5), 3, 3, {"groups": 3, "padding": 1}),  # depthwise
    ((2, 3, 6, 5), 6, (2, 3), {"groups": 3, "stride": 2, "rounding": "floor"}),
    ((1, 2, 5, 7), 2, (3, 2), {"padding": ((1, 0), (2, 1)), "stride": 2, "rounding": "floor"}),
    ((1, 2, 6, 5), 3, (4, 3), {"padding": "same"}),  # odd total padding: extra at the end
    ((1, 1, 6, 6), 2, 3, {"padding": "same", "dilation": 2}),
    ((2, 2, 5, 5), 2, 3, {"padding": 2, "padding_mode": "reflect"}),
    ((1, 2, 4, 6), 2, 3, {"padding": (1, 2), "padding_mode": "replicate"}),
    ((1, 2, 4, 5), 2, 3, {"padding": 2, "padding_mode": "circular", "stride": 2,
                          "rounding": "floor"}),
    ((1, 2, 5, 6), 2, 3, {"padding": "valid"}),
    ((2, 1, 8, 8), 2, 3, {"stride": 3, "rounding": "floor"}),
    ((1, 2, 4, 4), 2, 2, {"padding": 1, "stride": 2, "bias": False}),
]


def _ids(configs):
    return [f"{c[0]}-{c[1]}-{c[2]}-{c[3]}" for c in configs]


@pytest.mark.parametrize(("shape", "fn", "kernel", "opts"), CONV_CONFIGS,
                         ids=_ids(CONV_CONFIGS))
def test_conv2d_matches_reference(rng, shape, fn, kernel, opts):
    layer = random_conv(Conv2D, rng, shape[1], fn, kernel, **opts)
    x = rng.standard_normal(shape)
    ref_opts = {k: v for k, v in opts.items() if k != "bias"}
    expected = conv2d_ref(x, layer.W, layer.b, **ref_opts)
    y = layer(x)
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    assert layer.output_shape(shape[1:]) == expected.shape[1:]


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv2d_ceil_rounding_matches_reference(rng, mode):
    """With rounding="ceil", the part of the last window beyond the padded input is absent."""
    layer = random_conv(Conv2D, rng, 2, 3, 3, stride=2, padding=1, padding_mode=mode,
                        rounding="ceil")
    x = rng.standard_normal((2, 2, 6, 5))  # (6 + 2 - 3) / 2 + 1 = 3.5 -> 4 windows along H
    expected = conv2d_ref(x, layer.W, layer.b, stride=2, padding=1, padding_mode=mode,
                          rounding="ceil")
    assert expected.shape == (2, 3, 4, 3)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)


CONV1D_CONFIGS = [
    ((1, 1, 4), 1, 3, {}),
    ((2, 3, 9), 4, 3, {"stride": 2, "padding": 1}),
    ((2, 4, 10), 4, 3, {"groups": 4, "dilation": 2, "padding": 2}),
    ((1, 2, 7), 3, 2, {"padding": (2, 1)}),
    ((1, 2, 7), 2, 4, {"padding": "same"}),
    ((2, 2, 6), 2, 3, {"padding": 2, "padding_mode": "reflect"}),
    ((2, 2, 7), 2, 3, {"padding": 2, "padding_mode": "replicate", "stride": 2}),
    ((1, 2, 5), 2, 3, {"padding": 3, "padding_mode": "circular", "rounding": "floor"}),
]


@pytest.mark.parametrize(("shape", "fn", "kernel", "opts"), CONV1D_CONFIGS,
                         ids=_ids(CONV1D_CONFIGS))
def test_conv1d_matches_reference(rng, shape, fn, kernel, opts):
    layer = random_conv(Conv1D, rng, shape[1], fn, kernel, **opts)
    x = rng.standard_normal(shape)
    ref_opts = {k: v for k, v in opts.items() if k != "rounding"}
    expected = conv1d_ref(x, layer.W, layer.b, **ref_opts)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-12, atol=1e-12)
    assert layer.output_shape(shape[1:]) == expected.shape[1:]


# -- numerical gradients (float64, random dout) --------------------------------------------

GRAD_CONFIGS = [
    ((2, 2, 5, 5), 3, 3, {"padding": 1}),
    ((1, 2, 7, 6), 2, (3, 2), {"stride": (2, 1), "rounding": "floor"}),
    ((1, 2, 7, 7), 2, 3, {"dilation": 2, "padding": 1}),
    ((2, 4, 4, 4), 4, 3, {"groups": 2, "padding": 1}),
    ((1, 3, 5, 4), 3, 2, {"groups": 3}),  # depthwise
    ((1, 2, 5, 6), 2, 3, {"padding": ((0, 2), (1, 0)), "stride": 2}),
    ((1, 2, 4, 5), 2, 3, {"padding": "same"}),
    ((1, 2, 4, 5), 2, 3, {"padding": 2, "padding_mode": "reflect"}),
    ((1, 2, 4, 5), 2, 3, {"padding": (1, 2), "padding_mode": "replicate"}),
    ((1, 2, 4, 5), 2, 3, {"padding": 2, "padding_mode": "circular", "stride": 2,
                          "rounding": "floor"}),
    ((1, 2, 6, 5), 2, 3, {"padding": 1, "stride": 2, "rounding": "ceil"}),
    ((1, 2, 6, 5), 2, 3, {"padding": 1, "stride": 2, "rounding": "ceil",
                          "padding_mode": "reflect"}),
    ((1, 2, 4, 4), 2, 1, {"bias": False}),
]


@pytest.mark.parametrize(("shape", "fn", "kernel", "opts"), GRAD_CONFIGS,
                         ids=_ids(GRAD_CONFIGS))
def test_conv2d_numerical_gradients(rng, tol, shape, fn, kernel, opts):
    layer = random_conv(Conv2D, rng, shape[1], fn, kernel, **opts)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal((shape[0], *layer.output_shape(shape[1:])))
    errors = layer_gradient_errors(layer, x, dout, eps=tol.grad_eps)
    assert set(errors) == {"x", *layer.param_names}
    assert max(errors.values()) < tol.grad_rtol, errors


@pytest.mark.parametrize(("shape", "fn", "kernel", "opts"), CONV1D_CONFIGS,
                         ids=_ids(CONV1D_CONFIGS))
def test_conv1d_numerical_gradients(rng, tol, shape, fn, kernel, opts):
    layer = random_conv(Conv1D, rng, shape[1], fn, kernel, **opts)
    x = rng.standard_normal(shape)
    dout = rng.standard_normal((shape[0], *layer.output_shape(shape[1:])))
    errors = layer_gradient_errors(layer, x, dout, eps=tol.grad_eps)
    assert max(errors.values()) < tol.grad_rtol, errors


# -- properties ----------------------------------------------------------------------------


@st.composite
def conv1d_configs(draw):
    c_groups = draw(st.integers(1, 2))
    groups = draw(st.sampled_from([1, c_groups]))
    c, fn = c_groups * draw(st.integers(1, 2)), c_groups * draw(st.integers(1, 2))
    k, d, s = draw(st.integers(1, 4)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    p = draw(st.integers(0, 2))
    length = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 10))
    return (draw(st.integers(1, 2)), c, length), fn, k, {
        "stride": s, "padding": p, "dilation": d, "groups": groups, "rounding": "floor",
        "bias": draw(st.booleans()),
    }


@PROPERTY
@given(cfg=conv1d_configs(), seed=st.integers(0, 2**32 - 1))
def test_conv1d_equals_conv2d_at_height_one(cfg, seed, tol):
    shape, fn, k, opts = cfg
    rng = np.random.default_rng(seed)
    conv1 = random_conv(Conv1D, rng, shape[1], fn, k, **opts)
    conv2 = Conv2D(shape[1], fn, (1, k), stride=(1, opts["stride"]),
                   padding=(0, opts["padding"]), dilation=(1, opts["dilation"]),
                   groups=opts["groups"], bias=opts["bias"], rounding="floor",
                   dtype=np.float64, rng=0)
    conv2.W[...] = conv1.W[:, :, None, :]  # (FN, C/G, K) -> (FN, C/G, 1, K)
    if opts["bias"]:
        conv2.b[...] = conv1.b
    x = rng.standard_normal(shape)
    y1, y2 = conv1(x), conv2(x[:, :, None, :])
    np.testing.assert_allclose(y1, y2[:, :, 0, :], rtol=tol.f64_rtol, atol=tol.f64_atol)
    dout = rng.standard_normal(y1.shape)
    dx1, dx2 = conv1.backward(dout), conv2.backward(dout[:, :, None, :])
    np.testing.assert_allclose(dx1, dx2[:, :, 0, :], rtol=tol.f64_rtol, atol=tol.f64_atol)
    np.testing.assert_allclose(conv1.dW, conv2.dW[:, :, 0, :], rtol=tol.f64_rtol,
                               atol=tol.f64_atol)
    if opts["bias"]:
        np.testing.assert_allclose(conv1.db, conv2.db, rtol=tol.f64_rtol, atol=tol.f64_atol)


def test_needs_input_grad_false_still_sets_weight_gradients(rng):
    for layer, x in (
        (random_conv(Conv2D, rng, 2, 3, 3), rng.standard_normal((2, 2, 5, 5))),
        (random_conv(Conv1D, rng, 2, 3, 3), rng.standard_normal((2, 2, 5))),
    ):
        y = layer(x)
        dout = rng.standard_normal(y.shape)
        layer.backward(dout)
        dW, db = layer.dW.copy(), layer.db.copy()
        layer.needs_input_grad = False
        layer(x)
        assert layer.backward(dout) is None
        np.testing.assert_array_equal(layer.dW, dW)
        np.testing.assert_array_equal(layer.db, db)


# -- PyTorch as oracle ---------------------------------------------------------------------


@st.composite
def conv2d_configs(draw):
    """A random Conv2D config and an input shape it accepts (small, so each run is quick)."""
    g = draw(st.integers(1, 3))
    groups = draw(st.sampled_from([1, g]))
    c, fn = g * draw(st.integers(1, 2)), g * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    mode = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    kind = draw(st.sampled_from(["int", "pair", "same", "pairs"] if mode == "zeros"
                                else ["int", "pair", "same"]))
    if kind == "same":
        stride, padding = (1, 1), "same"
        pads = [(d * (k - 1)) // 2 + 1 for k, d in zip(kernel, dilation, strict=True)]
    else:
        stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
        if kind == "int":
            padding = draw(st.integers(0, 2))
            pads = [padding, padding]
        elif kind == "pair":
            padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
            pads = list(padding)
        else:
            padding = ((draw(st.integers(0, 2)), draw(st.integers(0, 2))),
                       (draw(st.integers(0, 2)), draw(st.integers(0, 2))))
            pads = [max(p) for p in padding]
    # Big enough for one window; reflect needs padding < size (PyTorch's limit too).
    hw = [draw(st.integers(max(d * (k - 1) + 1, p + 1), 7))
          for k, d, p in zip(kernel, dilation, pads, strict=True)]
    opts = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
            "padding_mode": mode, "bias": draw(st.booleans()), "rounding": "floor"}
    return (draw(st.integers(1, 2)), c, *hw), fn, kernel, opts


DTYPES = [np.float32, np.float64]


def _tolerances(dtype, tol):
    if dtype == np.float32:
        return {"rtol": tol.f32_rtol, "atol": tol.f32_atol}
    return {"rtol": tol.f64_rtol, "atol": tol.f64_atol}


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")  # torch's own note
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@PROPERTY
@given(cfg=conv2d_configs(), seed=st.integers(0, 2**32 - 1))
def test_conv2d_matches_torch(cfg, seed, dtype, tol):
    import_torch()

    shape, fn, kernel, opts = cfg
    rng = np.random.default_rng(seed)
    layer = random_conv(Conv2D, rng, shape[1], fn, kernel, dtype=dtype, **opts)
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal((shape[0], *layer.output_shape(shape[1:]))).astype(dtype)
    compare_with_torch(layer, x, dout, **_tolerances(dtype, tol))


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@PROPERTY
@given(cfg=conv1d_configs(), mode=st.sampled_from(["zeros", "reflect", "replicate",
                                                    "circular"]),
       seed=st.integers(0, 2**32 - 1))
def test_conv1d_matches_torch(cfg, mode, seed, dtype, tol):
    import_torch()

    shape, fn, k, opts = cfg
    if mode != "zeros" and opts["padding"] >= shape[2]:
        opts["padding"] = shape[2] - 1  # PyTorch's limit for reflect; keep it for all modes
        if opts["dilation"] * (k - 1) + 1 > shape[2] + 2 * opts["padding"]:
            return
    rng = np.random.default_rng(seed)
    layer = random_conv(Conv1D, rng, shape[1], fn, k, dtype=dtype, padding_mode=mode, **opts)
    x = rng.standard_normal(shape).astype(dtype)
    dout = rng.standard_normal((shape[0], *layer.output_shape(shape[1:]))).astype(dtype)
    compare_with_torch(layer, x, dout, **_tolerances(dtype, tol))
