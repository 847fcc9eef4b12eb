"""Padding modes and their adjoint (``tatamu.padding``).

``pad`` is checked against index rules written out in ``reference.pad_ref`` (and a hand
example per mode); ``pad_adjoint`` is checked to be the adjoint of ``pad``:
``<pad(x), y> == <x, pad_adjoint(y)>`` for every mode (hypothesis).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import pad_ref

from tatamu.errors import ConfigError
from tatamu.padding import PADDING_MODES, check_padding_mode, pad, pad_adjoint

MODES = tuple(PADDING_MODES)


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("zeros", [0, 0, 1, 2, 3, 0, 0]),
        ("reflect", [3, 2, 1, 2, 3, 2, 1]),
        ("replicate", [1, 1, 1, 2, 3, 3, 3]),
        ("circular", [2, 3, 1, 2, 3, 1, 2]),
    ],
)
def test_pad_worked_examples(mode, expected):
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 1, 1, 3)
    np.testing.assert_array_equal(pad(x, ((0, 0), (2, 2)), mode)[0, 0, 0], expected)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("pads", [((1, 1), (1, 1)), ((0, 2), (1, 0)), ((2, 1), (0, 3))])
def test_pad_matches_reference(rng, mode, pads):
    x = rng.standard_normal((2, 3, 4, 5))
    np.testing.assert_array_equal(pad(x, pads, mode), pad_ref(x, pads, mode))


def test_pad_fill_value():
    x = np.ones((1, 1, 2, 2))
    out = pad(x, ((1, 0), (0, 1)), "zeros", -np.inf)
    assert np.isneginf(out[0, 0, 0]).all() and np.isneginf(out[0, 0, :, 2]).all()


@st.composite
def pad_configs(draw):
    mode = draw(st.sampled_from(MODES))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    # PyTorch's limits: reflect needs padding < size, circular padding <= size.
    most = {"reflect": (h - 1, w - 1), "circular": (h, w)}.get(mode, (4, 4))
    pads = tuple(
        (draw(st.integers(0, m)), draw(st.integers(0, m))) for m in most
    )
    return mode, (draw(st.integers(1, 2)), draw(st.integers(1, 3)), h, w), pads


@settings(max_examples=60, deadline=None)
@given(cfg=pad_configs(), seed=st.integers(0, 2**32 - 1))
def test_pad_adjoint_is_the_adjoint_of_pad(cfg, seed):
    mode, shape, pads = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    padded = pad(x, pads, mode)
    np.testing.assert_array_equal(padded, pad_ref(x, pads, mode))
    y = rng.standard_normal(padded.shape)
    back = pad_adjoint(y, pads, mode)
    assert back.shape == x.shape
    assert np.vdot(padded, y) == pytest.approx(np.vdot(x, back), rel=1e-10, abs=1e-10)


def test_pad_adjoint_keeps_dtype():
    for mode in MODES:
        y = np.ones((1, 1, 5, 5), np.float32)
        assert pad_adjoint(y, ((1, 1), (1, 1)), mode).dtype == np.float32


def test_unknown_padding_mode():
    with pytest.raises(ConfigError, match="padding_mode must be one of"):
        check_padding_mode("mirror", ((1, 1), (1, 1)))


def test_reflect_padding_must_be_smaller_than_the_input():
    check_padding_mode("reflect", ((2, 2), (2, 2)), (3, 3))  # fine
    with pytest.raises(ConfigError, match="reflect") as info:
        check_padding_mode("reflect", ((3, 3), (0, 0)), (3, 8))
    assert "H=3" in str(info.value)


def test_circular_padding_must_not_exceed_the_input():
    check_padding_mode("circular", ((3, 3), (0, 0)), (3, 3))  # fine
    with pytest.raises(ConfigError, match="circular"):
        check_padding_mode("circular", ((0, 0), (0, 4)), (3, 3))
