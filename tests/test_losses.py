"""SoftmaxCrossEntropy (the book's SoftmaxWithLoss): worked values, numerical gradients with
integer and one-hot labels, PyTorch, stability and label errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import numerical_gradient, rel_error
from torch_oracle import import_torch

import tatamu.layers
import tatamu.losses
from tatamu.errors import ShapeError, StateError
from tatamu.layers import SoftmaxCrossEntropy, book

PROPERTY = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def cross_entropy_ref(logits, target):
    """Mean over rows of -sum_k target_k log softmax(logits)_k, one row at a time."""
    total = 0.0
    for row, t in zip(logits, target, strict=True):
        m = max(row)
        log_z = m + math.log(sum(math.exp(v - m) for v in row))
        total -= sum(tk * (v - log_z) for v, tk in zip(row, t, strict=True))
    return total / len(logits)


def one_hot(labels, k):
    return np.eye(k)[labels]


def test_cross_entropy_worked_example():
    loss = SoftmaxCrossEntropy()
    # Equal logits: softmax is uniform, the loss is log 3 whatever the label.
    assert loss(np.zeros((2, 3)), np.array([0, 2])) == pytest.approx(math.log(3), rel=1e-15)
    np.testing.assert_allclose(loss.backward(), [[-1 / 3, 1 / 6, 1 / 6], [1 / 6, 1 / 6, -1 / 3]],
                               rtol=1e-15)
    # softmax(log p) = p, so the loss is -log p[label] (the book's §4.2.2: -log 0.6 = 0.51).
    assert loss(np.log([[0.6, 0.4]]), np.array([0])) == pytest.approx(0.5108256, rel=1e-6)


def test_softmax_with_loss_names_the_books_class_only():
    assert not hasattr(tatamu.layers, "SoftmaxWithLoss")
    assert not hasattr(tatamu.losses, "SoftmaxWithLoss")
    assert book.SoftmaxWithLoss is not SoftmaxCrossEntropy


def test_backward_scales_with_dout(rng):
    loss = SoftmaxCrossEntropy()
    logits, labels = rng.standard_normal((4, 5)), rng.integers(0, 5, 4)
    loss(logits, labels)
    np.testing.assert_allclose(loss.backward(2.5), 2.5 * loss.backward(), rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_and_gradient_keep_the_logits_dtype(rng, dtype):
    loss = SoftmaxCrossEntropy()
    value = loss(rng.standard_normal((3, 4)).astype(dtype), np.array([0, 1, 3]))
    assert isinstance(value, float)
    assert loss.backward().dtype == dtype


def test_one_hot_labels_equal_integer_labels(rng):
    logits, labels = rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    by_index, by_one_hot = SoftmaxCrossEntropy(), SoftmaxCrossEntropy()
    assert by_index(logits, labels) == pytest.approx(by_one_hot(logits, one_hot(labels, 4)),
                                                     rel=1e-14)
    np.testing.assert_allclose(by_index.backward(), by_one_hot.backward(), rtol=1e-14,
                               atol=1e-16)


@pytest.mark.parametrize("labels_kind", ["int", "one-hot", "soft"])
def test_matches_reference_and_numerical_gradient(rng, tol, labels_kind):
    logits = rng.standard_normal((5, 4)) * 3
    labels = rng.integers(0, 4, 5)
    target = one_hot(labels, 4)
    if labels_kind == "soft":
        target = rng.dirichlet(np.ones(4), 5)
    given_labels = labels if labels_kind == "int" else target
    loss = SoftmaxCrossEntropy()
    assert loss(logits, given_labels) == pytest.approx(cross_entropy_ref(logits, target),
                                                       rel=1e-12)
    analytic = loss.backward()
    numeric = numerical_gradient(lambda: SoftmaxCrossEntropy()(logits, given_labels), logits,
                                 tol.grad_eps)
    assert rel_error(analytic, numeric) < tol.grad_rtol


def test_stable_for_huge_logits():
    # RuntimeWarnings are errors here: exp(1000) overflowing would fail the test.
    loss = SoftmaxCrossEntropy()
    value = loss(np.array([[1000.0, 0.0], [-1000.0, 0.0]]), np.array([0, 0]))
    assert value == pytest.approx(500.0, rel=1e-12)  # (0 + 1000) / 2
    assert np.all(np.isfinite(loss.backward()))
    value32 = loss(np.array([[1e4, 0.0]], np.float32), np.array([1]))
    assert math.isfinite(value32) and value32 == pytest.approx(1e4, rel=1e-6)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@PROPERTY
@given(n=st.integers(1, 6), k=st.integers(2, 7), scale=st.sampled_from([1.0, 10.0, 100.0]),
       one_hot_labels=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_matches_torch_cross_entropy(n, k, scale, one_hot_labels, seed, dtype, tol):
    torch = import_torch()
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((n, k)) * scale).astype(dtype)
    labels = rng.integers(0, k, n)
    given_labels = one_hot(labels, k).astype(dtype) if one_hot_labels else labels
    loss = SoftmaxCrossEntropy()
    value = loss(logits, given_labels)
    dlogits = loss.backward()

    lt = torch.from_numpy(logits.copy()).requires_grad_(True)
    out = torch.nn.functional.cross_entropy(lt, torch.from_numpy(
        given_labels.copy() if one_hot_labels else labels))
    out.backward()
    rtol, atol = ((tol.f32_rtol, tol.f32_atol) if dtype == np.float32
                  else (tol.f64_rtol, tol.f64_atol))
    assert value == pytest.approx(out.item(), rel=rtol, abs=atol)
    np.testing.assert_allclose(dlogits, lt.grad.numpy(), rtol=rtol, atol=atol)


# -- errors ----------------------------------------------------------------------------------


def test_backward_before_forward():
    with pytest.raises(StateError, match="before forward"):
        SoftmaxCrossEntropy().backward()
    assert issubclass(StateError, RuntimeError)


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.array([0, 3]), r"\[0, 3\).*from 0 to 3"),  # out of range
        (np.array([-1, 0]), r"\[0, 3\)"),  # negative
        (np.array([0.0, 1.0]), "must be integers.*astype"),  # float labels
        (np.array([0, 1, 2]), "3 labels for 2 samples"),  # wrong count
        (np.zeros((2, 4)), r"\(2, 3\)"),  # one-hot of the wrong width
        (np.zeros((2, 3, 1)), "one-hot"),
    ],
    ids=["out-of-range", "negative", "float", "count", "one-hot-width", "ndim"],
)
def test_label_errors(labels, match):
    with pytest.raises(ShapeError, match=match) as info:
        SoftmaxCrossEntropy()(np.zeros((2, 3)), labels)
    assert isinstance(info.value, ValueError)


def test_logits_must_be_a_2d_float_array():
    with pytest.raises(ShapeError, match=r"\(N, classes\)"):
        SoftmaxCrossEntropy()(np.zeros(3), np.array([0]))
    with pytest.raises(ShapeError, match="int64"):
        SoftmaxCrossEntropy()(np.zeros((1, 3), np.int64), np.array([0]))
