"""``tatamu.gradcheck``: numerical gradients, relative error, and check_layer's verdicts.

The numerical gradient is checked against closed-form derivatives; check_layer must pass
correct layers and fail deliberately wrong ones, naming the wrong array.
"""

from __future__ import annotations

import numpy as np
import pytest

from tatamu.layers import Conv2D, Linear, MaxPool2D, ReLU, Sigmoid
from tatamu.learn.gradcheck import check_layer, check_loss, numerical_gradient, rel_error
from tatamu.losses import SoftmaxCrossEntropy


def test_numerical_gradient_of_a_cubic_is_three_x_squared(rng):
    x = rng.standard_normal((3, 4))
    grad = numerical_gradient(lambda: float((x**3).sum()), x)
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-7, atol=1e-8)


def test_numerical_gradient_restores_x_and_refuses_float32(rng):
    x = rng.standard_normal(5)
    before = x.copy()
    numerical_gradient(lambda: float(np.sin(x).sum()), x)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, x.astype(np.float32))


def test_rel_error():
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0, 2.0], [1.0, 1.0]) == pytest.approx(0.5)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0


@pytest.mark.parametrize("make, shape", [
    (lambda: Conv2D(2, 3, 3, stride=2, padding=1, rng=0), (2, 2, 5, 5)),
    (lambda: MaxPool2D(3, 2, 1), (2, 2, 5, 5)),
    (lambda: Linear(12, 4, rng=0), (3, 3, 2, 2)),
    (lambda: ReLU(), (2, 3, 4)),
    (lambda: Sigmoid(), (4, 5)),
])
def test_correct_layers_pass(rng, make, shape):
    layer = make()
    x = rng.standard_normal(shape).astype(np.float32)
    report = check_layer(layer, x)
    assert report.passed, str(report)
    assert {e.name for e in report.errors} == {"x", *layer.param_names}


def test_the_layer_and_input_are_left_as_they_were(rng):
    layer = Conv2D(2, 3, 3, rng=0)
    w = layer.W.copy()
    x = rng.standard_normal((1, 2, 4, 4)).astype(np.float32)
    x_before = x.copy()
    check_layer(layer, x)
    assert layer.W.dtype == np.float32 and layer.dtype == np.float32
    np.testing.assert_array_equal(layer.W, w)
    np.testing.assert_array_equal(x, x_before)
    assert layer.dW is None  # the check ran on a copy


class DoubledDx(Linear):
    def backward(self, dout):
        return 2 * super().backward(dout)


class MeanBias(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = dout.mean(axis=0)
        return dx


class TransposedDW(Linear):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = self.dW.T
        return dx


class OnesDout(Linear):
    """A backward that ignores dout (uses 1 everywhere): passes only a check with dout = 1."""

    def backward(self, dout):
        return super().backward(np.ones_like(dout))


class LeakyMask(ReLU):
    def _derivative(self, out, dout):
        return dout.copy()  # forgets the mask


@pytest.mark.parametrize("cls, wrong", [
    (DoubledDx, "x"), (MeanBias, "b"), (TransposedDW, "W"), (OnesDout, "x")])
def test_wrong_linear_layers_fail_on_the_wrong_array(rng, cls, wrong):
    layer = cls(6, 5, rng=0)
    report = check_layer(layer, rng.standard_normal((4, 6)).astype(np.float32))
    assert not report.passed
    assert not report[wrong].passed
    text = str(report)
    assert f"d{wrong}" in text and "FAIL" in text
    if cls is TransposedDW:
        assert "shape (5, 6), but W has shape (6, 5)" in text
    else:
        assert "worst at [" in text and "numerical" in text


def test_ones_dout_passes_with_dout_one_but_not_random(rng):
    """Why the upstream gradient is random: dout = 1 hides a backward that ignores dout."""
    x = rng.standard_normal((4, 6)).astype(np.float32)
    assert check_layer(OnesDout(6, 5, rng=0), x, dout=np.ones((4, 5))).passed
    assert not check_layer(OnesDout(6, 5, rng=0), x).passed


def test_relu_without_mask_fails(rng):
    report = check_layer(LeakyMask(), rng.standard_normal((3, 4)).astype(np.float32))
    assert not report["x"].passed


def test_book_style_class_without_param_names(rng):
    """A learner's class: W, b attributes and dW, db gradients; no tatamu base class."""

    class Affine:
        def __init__(self, W, b):
            self.W, self.b, self.dW, self.db, self.x = W, b, None, None, None

        def forward(self, x):
            self.x = x
            return x @ self.W + self.b

        def backward(self, dout):
            self.dW = self.x.T @ dout
            self.db = dout.sum(axis=0) * 0.5  # planted bug
            return dout @ self.W.T

    layer = Affine(rng.standard_normal((3, 2)), np.zeros(2))
    report = check_layer(layer, rng.standard_normal((4, 3)))
    assert [e.name for e in report.errors] == ["x", "W", "b"]
    assert report["x"].passed and report["W"].passed and not report["b"].passed


def test_check_loss(rng):
    x, t = rng.standard_normal((3, 5)), np.array([0, 4, 2])
    assert check_loss(SoftmaxCrossEntropy(), x, t).passed

    class Undivided(SoftmaxCrossEntropy):
        def backward(self, dout=1.0):
            return super().backward(dout) * 3  # forgot to divide by N = 3

    report = check_loss(Undivided(), x, t)
    assert not report.passed and "dout = 1" in str(report)


@pytest.mark.parametrize("name", ["tatamu.gradcheck", "tatamu.layers.book", "tatamu.checker"])
def test_docstring_examples_run(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
