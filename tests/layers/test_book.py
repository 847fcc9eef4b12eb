"""``tatamu.layers.book``: the book's layers, checked without tatamu's other layers.

Oracles, as for every layer (STYLE.md §3.6): the seeds' worked figures (4x4 ⊛ 3x3 -> 15 16 /
6 15, with bias 3, with padding 1; the max-pooling figure; the 8x8 im2col printout), the naive
loops of tests/reference.py, float64 central differences with a random dout, and PyTorch.
The fast layers are held equal to these in tests/test_fastpaths.py.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from reference import (
    conv2d_ref,
    im2col_ref,
    layer_gradient_errors,
    maxpool2d_ref,
    numerical_gradient,
    rel_error,
)
from seed_figures import ARANGE64_COL
from torch_oracle import import_torch

from tatamu import Sequential
from tatamu.errors import ConfigError, ShapeError, StateError
from tatamu.layers.book import (
    Affine,
    Convolution,
    Pooling,
    Relu,
    SoftmaxWithLoss,
    col2im,
    im2col,
)

X44 = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float32)
F33 = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float32)

CONV_CASES = [  # (x shape, W shape, stride, pad)
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0),
    ((2, 2, 6, 8), (3, 2, 3, 2), 1, 1),
    ((3, 2, 9, 7), (4, 2, 3, 3), 2, 1),
    ((1, 3, 8, 8), (2, 3, 4, 4), 2, 1),
    ((1, 2, 8, 11), (2, 2, 2, 2), 3, 0),
]
POOL_CASES = [((2, 3, 8, 8), 2, 2, 2, 0), ((2, 2, 7, 7), 3, 3, 2, 0), ((1, 2, 6, 6), 3, 3, 1, 1),
              ((2, 2, 6, 9), 2, 3, 2, 0)]


# -- the seeds' figures ----------------------------------------------------------------------
@pytest.mark.parametrize("bias, pad, expected", [
    (0, 0, [[15, 16], [6, 15]]),  # 入力データ (4, 4) ⊛ フィルター (3, 3) -> 出力
    (3, 0, [[18, 19], [9, 18]]),  # + バイアス 3
    (0, 1, [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]]),  # パディング 1
])
def test_convolution_reproduces_the_seeds_figures(bias, pad, expected):
    layer = Convolution(F33[None, None], np.array([bias], np.float32), 1, pad)
    out = layer.forward(X44[None, None])
    np.testing.assert_array_equal(out[0, 0], expected)
    assert out.dtype == np.float32


def test_pooling_reproduces_the_books_figure():
    x = np.array([[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]], np.float32)
    np.testing.assert_array_equal(Pooling(2, 2).forward(x[None, None])[0, 0], [[2, 3], [4, 2]])


def test_im2col_with_the_books_signature_prints_the_seeds_matrix():
    x = np.arange(64, dtype=np.float64).reshape(1, 1, 8, 8)
    np.testing.assert_array_equal(im2col(x, 4, 4, stride=2, pad=0), ARANGE64_COL)


def test_book_im2col_equals_loops_and_col2im_is_its_adjoint(rng):
    x = rng.standard_normal((2, 3, 7, 6))
    col = im2col(x, 3, 2, 2, 1)
    np.testing.assert_array_equal(col, im2col_ref(x, (3, 2), 2, 1))
    y = rng.standard_normal(col.shape)
    np.testing.assert_allclose((col * y).sum(), (x * col2im(y, x.shape, 3, 2, 2, 1)).sum(),
                               rtol=1e-10)


# -- naive loops, numerical gradients ----------------------------------------------------------
@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
def test_convolution_equals_loops_and_numerical_gradients(rng, x_shape, w_shape, stride, pad):
    x = rng.standard_normal(x_shape)
    W, b = rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
    layer = Convolution(W, b, stride, pad)
    np.testing.assert_allclose(layer.forward(x), conv2d_ref(x, W, b, stride, pad), rtol=1e-10,
                               atol=1e-10)
    small = Convolution(W, b, stride, pad)
    x_small = x[:1]
    dout = rng.standard_normal(small.forward(x_small).shape)
    errors = layer_gradient_errors(small, x_small, dout)
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("x_shape, ph, pw, stride, pad", POOL_CASES)
def test_pooling_equals_loops_and_numerical_gradients(rng, x_shape, ph, pw, stride, pad):
    x = rng.standard_normal(x_shape)  # negative values too: the padding must never win
    layer = Pooling(ph, pw, stride, pad)
    np.testing.assert_array_equal(layer.forward(x), maxpool2d_ref(x, (ph, pw), stride, pad))
    dout = rng.standard_normal(layer.forward(x).shape)
    errors = layer_gradient_errors(layer, x, dout)
    assert errors["x"] < 1e-6, errors


def test_affine_and_relu_equal_loops_and_numerical_gradients(rng):
    x = rng.standard_normal((3, 2, 2, 3))
    W, b = rng.standard_normal((12, 4)), rng.standard_normal(4)
    affine = Affine(W, b)
    flat = x.reshape(3, 12)
    expected = np.array([[sum(flat[n, i] * W[i, j] for i in range(12)) + b[j] for j in range(4)]
                         for n in range(3)])
    np.testing.assert_allclose(affine.forward(x), expected, rtol=1e-10)
    errors = layer_gradient_errors(affine, x, rng.standard_normal((3, 4)))
    assert max(errors.values()) < 1e-6, errors
    assert affine.backward(np.ones((3, 4))).shape == x.shape  # dx in x's own shape
    x = np.where(np.abs(x) < 1e-3, 0.5, x)  # no value at the kink
    np.testing.assert_array_equal(Relu().forward(x), np.where(x > 0, x, 0))
    assert layer_gradient_errors(Relu(), x, rng.standard_normal(x.shape))["x"] < 1e-6


@pytest.mark.parametrize("one_hot", [True, False])
def test_softmax_with_loss_by_hand_and_numerically(rng, one_hot):
    loss = SoftmaxWithLoss()
    t = np.array([0])
    value = loss.forward(np.ones((1, 4)), np.eye(4)[t] if one_hot else t)
    assert value == pytest.approx(np.log(4), rel=1e-6)  # -log(1/4), the book's + 1e-7 aside
    np.testing.assert_allclose(loss.backward(), [[-0.75, 0.25, 0.25, 0.25]])
    x, t = rng.standard_normal((3, 5)), np.array([4, 0, 2])
    labels = np.eye(5)[t] if one_hot else t
    loss.forward(x, labels)
    dx = loss.backward()
    numeric = numerical_gradient(lambda: float(loss.forward(x, labels)), x)
    assert rel_error(dx, numeric) < 1e-5  # the + 1e-7 inside the log bends the curve a little
    big = loss.forward(x + 1000, labels)  # the max is subtracted: no overflow
    assert np.isfinite(big)


# -- PyTorch ---------------------------------------------------------------------------------
@pytest.mark.torch
def test_convolution_and_pooling_match_torch(rng):
    torch = import_torch()
    F = torch.nn.functional
    x = rng.standard_normal((2, 3, 9, 7)).astype(np.float32)
    W = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4).astype(np.float32)
    conv = Convolution(W, b, 2, 1)
    y = conv.forward(x)
    dout = rng.standard_normal(y.shape).astype(np.float32)
    dx = conv.backward(dout)
    xt = torch.from_numpy(x).requires_grad_(True)
    Wt, bt = torch.from_numpy(W).requires_grad_(True), torch.from_numpy(b).requires_grad_(True)
    yt = F.conv2d(xt, Wt, bt, stride=2, padding=1)
    yt.backward(torch.from_numpy(dout))
    opts = {"rtol": 1e-4, "atol": 1e-5}
    np.testing.assert_allclose(y, yt.detach().numpy(), **opts)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **opts)
    np.testing.assert_allclose(conv.dW, Wt.grad.numpy(), **opts)
    np.testing.assert_allclose(conv.db, bt.grad.numpy(), **opts)

    pool = Pooling(3, 3, 2, 1)
    y = pool.forward(x)
    dout = rng.standard_normal(y.shape).astype(np.float32)
    xt = torch.from_numpy(x).requires_grad_(True)
    yt = F.max_pool2d(xt, 3, 2, 1)
    yt.backward(torch.from_numpy(dout))
    np.testing.assert_allclose(y, yt.detach().numpy(), **opts)
    np.testing.assert_allclose(pool.backward(dout), xt.grad.numpy(), **opts)


# -- the Layer contract ----------------------------------------------------------------------
def test_book_layers_train_inside_a_sequential(rng):
    model = Sequential([
        Convolution(rng.standard_normal((4, 1, 3, 3)).astype(np.float32) * 0.3,
                    np.zeros(4, np.float32), 1, 1),
        Relu(), Pooling(2, 2, 2),
        Affine(rng.standard_normal((64, 3)).astype(np.float32) * 0.1, np.zeros(3, np.float32)),
    ], input_shape=(1, 8, 8))
    x = rng.standard_normal((6, 1, 8, 8)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    first = model.gradient(x, labels)
    for name, grad in model.grads().items():
        assert grad.shape == model.params()[name].shape and grad.dtype == np.float32
    for _ in range(30):
        model.gradient(x, labels)
        for name, param in model.params().items():
            param -= 0.1 * model.grads()[name]
    assert model.loss(x, labels) < first / 2
    assert model.predict(x).shape == (6, 3)


@pytest.mark.parametrize("make, shape", [
    (lambda: Convolution(np.ones((2, 3, 3, 3), np.float32), np.zeros(2, np.float32), 1, 1),
     (2, 3, 5, 5)),
    (lambda: Pooling(2, 2), (2, 3, 4, 4)),
    (lambda: Affine(np.ones((12, 2), np.float32), np.zeros(2, np.float32)), (2, 3, 2, 2)),
    (lambda: Relu(), (2, 3, 4)),
])
def test_contract(rng, make, shape):
    layer = make()
    with pytest.raises(StateError, match=r"backward\(\) called before forward\(\)"):
        layer.backward(np.ones((2, 2), np.float32))
    x = rng.standard_normal(shape).astype(np.float32)
    x_before = x.copy()
    y = layer.forward(x)
    dout = rng.standard_normal(y.shape).astype(np.float32)
    dout_before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    assert y.dtype == dx.dtype == np.float32 and dx.shape == x.shape
    for name, grad in layer.grads().items():
        assert grad.dtype == np.float32 and grad.shape == layer.params()[name].shape
    layer.eval()
    layer.forward(x)
    assert all(getattr(layer, n) is None for n in layer.cache_names)
    with pytest.raises(StateError):
        layer.backward(dout)
    twin = type(layer)(**json.loads(json.dumps(layer.config())))  # the config rebuilds it
    for name, value in layer.params().items():
        np.testing.assert_array_equal(twin.params()[name], value)
        assert twin.params()[name].dtype == value.dtype


def test_weights_are_shared_not_copied_and_dtype_follows_them():
    W = np.ones((2, 1, 3, 3), np.float32)
    conv = Convolution(W, np.zeros(2, np.float32))
    assert conv.W is W  # an optimizer updating the network's arrays updates the layer
    assert Convolution(W.astype(np.float64), np.zeros(2)).W.dtype == np.float64
    assert Convolution(W.astype(int).tolist(), [0, 0]).W.dtype == np.float32
    with pytest.raises(ShapeError, match="float64"):
        conv.forward(np.ones((1, 1, 5, 5)))  # float64 input into float32 weights


def test_sizes_that_do_not_divide_are_refused():
    with pytest.raises(ConfigError, match="does not divide"):
        Convolution(np.ones((1, 1, 3, 3), np.float32), np.zeros(1, np.float32), 2).forward(
            np.ones((1, 1, 6, 6), np.float32))
    with pytest.raises(ConfigError, match="does not divide"):
        Pooling(2, 2).forward(np.ones((1, 1, 5, 5), np.float32))
    with pytest.raises(ConfigError, match="at most half"):
        Pooling(2, 2, 2, 2)


# -- one file: the book's idea without tatamu's general machinery ----------------------------
def test_book_py_reads_on_its_own():
    import ast
    from pathlib import Path

    import tatamu.layers.book as book

    tree = ast.parse(Path(book.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                 for a in node.names}
    # arrays, errors, the Layer contract and the words of its messages (tatamu.i18n: a learner
    # reads them in Japanese too); never the general im2col, padding or fast layers
    assert imported == {"__future__", "numpy", "tatamu.backend.arrays", "tatamu.errors",
                        "tatamu.i18n", "tatamu.layers.base"}


@pytest.mark.parametrize("x_shape, fh, fw, stride, pad", [
    ((2, 3, 7, 6), 3, 2, 2, 1), ((1, 2, 8, 8), 3, 3, 3, 0), ((2, 1, 9, 5), 2, 4, 2, 2)])
def test_book_im2col_floors_like_the_book_and_matches_the_general_one(rng, x_shape, fh, fw,
                                                                      stride, pad):
    # two independent implementations (slices per filter position vs a strided window view)
    from tatamu.im2col import col2im as general_col2im
    from tatamu.im2col import im2col as general_im2col

    x = rng.standard_normal(x_shape)
    col = im2col(x, fh, fw, stride, pad)
    oh = (x_shape[2] + 2 * pad - fh) // stride + 1
    ow = (x_shape[3] + 2 * pad - fw) // stride + 1
    assert col.shape == (x_shape[0] * oh * ow, x_shape[1] * fh * fw)
    np.testing.assert_array_equal(
        col, general_im2col(x, (fh, fw), stride, pad, rounding="floor"))
    y = rng.standard_normal(col.shape)
    np.testing.assert_allclose(
        col2im(y, x.shape, fh, fw, stride, pad),
        general_col2im(y, x.shape, (fh, fw), stride, pad, rounding="floor"), rtol=1e-12)


def test_the_output_size_refusal_offers_a_pad_that_fits():
    from tatamu.layers.book import output_size

    assert output_size(28, 5, 1, 2) == 28 and output_size(7, 3, 2) == 3
    with pytest.raises(ConfigError, match=r"= 2.67 .*last 2 columns.*Fix: pad=2") as info:
        output_size(8, 3, 3, 0, axis="W")
    assert info.value.fixes[0].value == 2 and (8 + 2 * 2 - 3) % 3 == 0
    with pytest.raises(ConfigError, match="Fix: another stride"):  # even stride: no pad fits
        output_size(6, 3, 2, 0)
    with pytest.raises(ConfigError, match="larger than H=3"):
        output_size(3, 5)
