"""Winograd's F(2x2, 3x3) path of Conv2D (layers/winograd.py) against independent oracles.

- the 1-D algorithm by hand (the worked example in the module docstring);
- the book's ``Convolution`` (im2col, ``col @ col_W``, col2im) in float64 for every padding the
  book accepts and channel counts from the smallest the path takes (4) up;
- the naive loops (``conv2d_ref``) for what the book lacks: asymmetric padding, "same",
  stride = dilation (the subsampled grid), floor/ceil rounding;
- PyTorch in float32, and the float32 error against a float64 reference measured and bounded;
- central differences in float64 for dx, dW, db.

The tests also pin down which configurations take the path, that dtype stays, that eval mode
caches nothing, and the memory layout it hands on (HWNC seen as NCHW).
"""

from __future__ import annotations

import numpy as np
import pytest
from reference import conv2d_ref, layer_gradient_errors
from torch_oracle import compare_with_torch, import_torch

from tatamu.layers import Conv2D, winograd
from tatamu.layers import conv as conv_module
from tatamu.layers.book import Convolution
from tatamu.layers.layout import axis_order


def _conv(c, fn, dtype=np.float64, **kw):
    layer = Conv2D(c, fn, 3, rng=0, dtype=dtype, **kw)
    layer.b[...] = np.arange(fn) * 0.25 - 0.5  # a non-zero bias, so db and the bias add count
    return layer


def _run(layer, x, dout):
    y = layer.forward(x)
    assert layer._tiles is not None, "expected the Winograd path"
    dx = layer.backward(dout)
    return y, dx


def test_one_dimension_by_hand():
    """F(2, 3): 4 multiplications give the two outputs of a 3-tap filter over 4 inputs."""
    d = np.array([1.0, 2.0, 3.0, 4.0])
    g = np.array([2.0, -1.0, 0.5])
    bt = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]])
    at = np.array([[1, 1, 1, 0], [0, 1, -1, -1]])
    m = (winograd.G @ g) * (bt @ d)  # the 4 products
    np.testing.assert_allclose(at @ m, [d[0:3] @ g, d[1:4] @ g])  # [1.5, 3.0]


def test_kernel_transform_is_g_g_gt_and_its_adjoint(rng):
    W = rng.standard_normal((3, 5, 3, 3))
    U = winograd.kernel_transform(W)  # (16, C, FN)
    for f in range(3):
        for c in range(5):
            expected = winograd.G @ W[f, c] @ winograd.G.T  # (4, 4)
            np.testing.assert_allclose(U[:, c, f].reshape(4, 4), expected, rtol=1e-12)
    dU = rng.standard_normal(U.shape)
    # adjoint: <U(W), dU> == <W, U^T(dU)>
    np.testing.assert_allclose(np.sum(U * dU), np.sum(W * winograd.kernel_transform_grad(dU)),
                               rtol=1e-12)


BOOK_CASES = [  # (N, C, H, W), FN, pad: every padding the book's layer takes, odd and even sizes
    ((2, 4, 5, 5), 1, 0), ((2, 4, 6, 7), 3, 1), ((3, 5, 8, 8), 8, 1), ((1, 8, 7, 6), 2, 2),
    ((2, 16, 9, 9), 32, 1), ((2, 6, 3, 3), 4, 0), ((2, 4, 3, 4), 2, 0), ((1, 7, 4, 9), 5, 2),
]


@pytest.mark.parametrize("shape, fn, pad", BOOK_CASES)
def test_equals_the_books_convolution(rng, shape, fn, pad):
    x = rng.standard_normal(shape)
    layer = _conv(shape[1], fn, padding=pad)
    book = Convolution(layer.W.copy(), layer.b.copy(), stride=1, pad=pad, dtype=np.float64)
    dout = rng.standard_normal((shape[0], fn, shape[2] + 2 * pad - 2, shape[3] + 2 * pad - 2))
    y, dx = _run(layer, x, dout)
    np.testing.assert_allclose(y, book.forward(x), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(dx, book.backward(dout), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.dW, book.dW, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.db, book.db, rtol=1e-10, atol=1e-10)


REF_CASES = [  # what the book's layer does not take
    ((2, 4, 7, 7), 3, {"padding": ((2, 0), (1, 2))}),
    ((2, 5, 6, 5), 4, {"padding": "same"}),
    ((2, 4, 5, 6), 2, {"padding": "valid"}),
    ((2, 4, 9, 9), 3, {"stride": 2, "dilation": 2, "padding": 2}),
    ((1, 4, 27, 27), 3, {"stride": 2, "dilation": 2, "padding": 2}),
    ((2, 5, 10, 11), 3, {"stride": 2, "dilation": 2, "padding": 1, "rounding": "floor"}),
    ((2, 4, 8, 8), 3, {"stride": 2, "dilation": 2, "rounding": "ceil"}),
    ((1, 4, 13, 10), 2, {"stride": 3, "dilation": 3, "padding": (2, 3), "rounding": "floor"}),
    ((2, 4, 6, 6), 3, {"bias": False, "padding": 1}),
]


@pytest.mark.parametrize("shape, fn, kw", REF_CASES)
def test_equals_the_loops(rng, shape, fn, kw):
    x = rng.standard_normal(shape)
    layer = Conv2D(shape[1], fn, 3, rng=0, dtype=np.float64, **kw)
    ref_kw = {k: v for k, v in kw.items() if k != "bias"}
    expected = conv2d_ref(x, layer.W, layer.b, **ref_kw)
    dout = rng.standard_normal(expected.shape)
    y, dx = _run(layer, x, dout)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)
    # the im2col path of the same layer is the reference for the gradients here
    general = Conv2D(shape[1], fn, 3, rng=0, dtype=np.float64, groups=1, **kw)
    general.W[...] = layer.W
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(conv_module, "WINOGRAD_MIN_CHANNELS", 10**9)
        np.testing.assert_allclose(general.forward(x), expected, rtol=1e-10, atol=1e-10)
        assert general._tiles is None
        np.testing.assert_allclose(dx, general.backward(dout), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.dW, general.dW, rtol=1e-10, atol=1e-10)
    if layer.b is not None:
        np.testing.assert_allclose(layer.db, general.db, rtol=1e-10, atol=1e-10)
    else:
        assert layer.db is None


@pytest.mark.torch
@pytest.mark.parametrize("shape, fn, pad", BOOK_CASES)
def test_float32_against_torch_and_its_error_measured(rng, tol, shape, fn, pad):
    """float32 within the oracle tolerances; the error against float64 stays ~1e-7 of scale."""
    import_torch()
    x = rng.standard_normal(shape).astype(np.float32)
    layer = _conv(shape[1], fn, dtype=np.float32, padding=pad)
    dout = rng.standard_normal((shape[0], fn, shape[2] + 2 * pad - 2,
                                shape[3] + 2 * pad - 2)).astype(np.float32)
    compare_with_torch(layer, x, dout, rtol=tol.f32_rtol, atol=tol.f32_atol)
    assert layer._tiles is not None
    # the float32 error, measured against the same layer in float64
    exact = _conv(shape[1], fn, padding=pad)
    exact.W[...] = layer.W
    y64, dx64 = _run(exact, x.astype(np.float64), dout.astype(np.float64))
    y32, dx32 = _run(layer, x, dout)
    for got, want in ((y32, y64), (dx32, dx64), (layer.dW, exact.dW), (layer.db, exact.db)):
        assert got.dtype == np.float32
        assert np.abs(got - want).max() / np.abs(want).max() < 5e-6


def test_gradients_match_central_differences(rng, tol):
    layer = _conv(4, 3, padding=1)
    x = rng.standard_normal((2, 4, 5, 6))
    dout = rng.standard_normal((2, 3, 5, 6))
    layer.forward(x)
    assert layer._tiles is not None
    errors = layer_gradient_errors(layer, x, dout, eps=tol.grad_eps)
    assert max(errors.values()) < tol.grad_rtol, errors


@pytest.mark.parametrize("kw, takes_it", [
    ({"in_channels": 4}, True),
    ({"in_channels": 3}, False),  # too few channels: im2col is faster
    ({"stride": 2}, False),
    ({"stride": 2, "dilation": 2}, True),
    ({"dilation": 2}, False),
    ({"groups": 2}, False),
    ({"padding": 1, "padding_mode": "reflect"}, False),
    ({"kernel_size": 5}, False),
])
def test_which_layers_take_the_path(rng, kw, takes_it):
    args = {"in_channels": 4, "out_channels": 2, "kernel_size": 3, **kw}
    layer = Conv2D(**args, rng=0)
    layer.forward(rng.standard_normal((2, args["in_channels"], 11, 11)).astype(np.float32))
    assert (layer._tiles is not None) == takes_it


def test_eval_caches_nothing_and_dtype_stays(rng):
    layer = Conv2D(4, 3, 3, padding=1, rng=0)
    x = rng.standard_normal((2, 4, 6, 6)).astype(np.float32)
    y = layer.forward(x)
    assert y.dtype == np.float32 and layer._tiles.dtype == np.float32
    dx = layer.backward(np.ones_like(y))
    assert dx.dtype == layer.dW.dtype == layer.db.dtype == np.float32
    layer.eval()
    assert layer._tiles is None and layer._U is None
    np.testing.assert_allclose(layer.forward(x), y, rtol=1e-6, atol=1e-6)
    assert layer._tiles is None


def test_output_is_hwnc_memory_and_the_next_layer_reads_it_as_nchw(rng):
    """The output is an (N, C, H, W) view of HWNC memory; a second convolution given it
    computes what it computes from a plain C-contiguous copy."""
    first, second = _conv(4, 5, padding=1), _conv(5, 3, padding=1)
    x = rng.standard_normal((3, 4, 6, 7))
    y = first.forward(x)
    assert axis_order(y) == (2, 3, 0, 1)
    z = second.forward(y)
    dout = rng.standard_normal(z.shape)
    dy = second.backward(dout)
    z_plain = second.forward(np.ascontiguousarray(y))
    np.testing.assert_allclose(z, z_plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dy, second.backward(dout), rtol=1e-12, atol=1e-12)
    assert axis_order(dy) == (2, 3, 0, 1)  # and the gradient goes back HWNC too
    # an NCHW input gets an NCHW gradient: the layer below multiplies arrays of one layout
    first.forward(x)
    assert axis_order(first.backward(dy)) == (0, 1, 2, 3)


def test_scratch_memory_never_leaks_into_results(rng):
    """The chunks' temporaries live in per-thread scratch memory reused by every layer: a
    layer's output and dx must stay as they were while other layers (other shapes, other
    channel counts) run forward and backward after it, on this thread and on another at the
    same time. Checked against the naive loops, computed before anything else ran."""
    import threading

    pads = [1, 0, 2]
    layers = [_conv(c, fn, dtype=np.float32, padding=p)
              for (c, fn), p in zip([(4, 6), (6, 5), (8, 8)], pads, strict=True)]
    inputs = [rng.standard_normal((3, 4, 9, 7)).astype(np.float32),
              rng.standard_normal((2, 6, 8, 10)).astype(np.float32),
              rng.standard_normal((4, 8, 5, 6)).astype(np.float32)]
    expected = [conv2d_ref(x.astype(np.float64), layer.W.astype(np.float64),
                           layer.b.astype(np.float64), padding=p)
                for layer, x, p in zip(layers, inputs, pads, strict=True)]
    results = []
    for layer, x in zip(layers, inputs, strict=True):
        y = layer.forward(x)
        dx = layer.backward(np.ones_like(y))
        results.append((y, dx, dx.copy()))

    def other_work():  # another thread, the same shapes: its own scratch
        for layer, x in zip([_conv(4, 6, dtype=np.float32, padding=1)] * 3, inputs[:1] * 3,
                            strict=True):
            layer.backward(np.ones_like(layer.forward(x)))

    worker = threading.Thread(target=other_work)
    worker.start()
    for layer, x in zip(layers[::-1], inputs[::-1], strict=True):
        layer.backward(rng.standard_normal(layer.forward(x).shape).astype(np.float32))
    worker.join()
    for (y, dx, dx_copy), want in zip(results, expected, strict=True):
        np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(dx, dx_copy)
