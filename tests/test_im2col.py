"""im2col, col2im and the output-size formula (the book's §7.4).

Four independent checks: worked examples written out by hand, the naive loops of
``reference.py``, brute-force counting of window positions, and adjointness (hypothesis).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import count_windows, im2col_ref
from seed_figures import ARANGE64_COL

from tatamu import col2im, conv_output_size, im2col
from tatamu.errors import ConfigError, ShapeError

PROPERTY = settings(max_examples=50, deadline=None)


# -- worked examples -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "padding", "stride", "kernel", "expected"),
    [
        ((4, 4), 1, 1, 3, (4, 4)),  # the book's fig. 7-6: padding 1 keeps 4x4
        ((7, 7), 0, 2, 3, (3, 3)),  # the book's fig. 7-7: stride 2
        ((28, 31), 2, 3, 5, (10, 11)),  # the book's §7.2.4 example 3 (OH = 10, OW = 11)
    ],
)
def test_output_size_worked_examples(size, padding, stride, kernel, expected):
    got = tuple(conv_output_size(s, kernel, stride, padding) for s in size)
    assert got == expected




def test_im2col_arange64_worked_example():
    x = np.arange(64, dtype=np.float32).reshape(1, 1, 8, 8)
    col = im2col(x, 4, stride=2)
    assert col.shape == (9, 16)
    assert col.dtype == np.float32
    np.testing.assert_array_equal(col, np.array(ARANGE64_COL, dtype=np.float32))


def test_im2col_book_shapes():
    # The book's §7.4.2: (1, 3, 7, 7) and (10, 3, 7, 7) with a 5x5 filter -> 75 columns.
    assert im2col(np.zeros((1, 3, 7, 7)), 5).shape == (9, 75)
    assert im2col(np.zeros((10, 3, 7, 7)), 5).shape == (90, 75)


def test_col2im_is_not_an_inverse_worked_example():
    # col2im's docstring: the centre pixel 4 is in all four 2x2 windows -> 4 * 4 = 16.
    x = np.arange(9, dtype=np.float64).reshape(1, 1, 3, 3)
    back = col2im(im2col(x, 2), x.shape, 2)
    np.testing.assert_array_equal(back[0, 0], [[0, 2, 2], [6, 16, 10], [6, 14, 8]])
    assert back[0, 0, 1, 1] == 16  # not 4


def test_col2im_inverts_im2col_for_non_overlapping_windows(rng):
    x = rng.standard_normal((2, 3, 6, 4))
    np.testing.assert_array_equal(col2im(im2col(x, 2, stride=2), x.shape, 2, stride=2), x)


def test_im2col_1d_worked_example():
    x = np.array([[[1, 2, 3, 4]]], dtype=np.float64)  # (N, C, L) = (1, 1, 4)
    np.testing.assert_array_equal(im2col(x, 3), [[1, 2, 3], [2, 3, 4]])
    back = col2im(np.ones((2, 3)), x.shape, 3)
    np.testing.assert_array_equal(back, [[[1, 2, 2, 1]]])  # how many windows saw each pixel


# -- against the naive loops -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("shape", "kernel", "stride", "padding", "dilation"),
    [
        ((1, 1, 4, 4), 3, 1, 0, 1),
        ((2, 3, 5, 5), 3, 1, 1, 1),
        ((2, 2, 7, 7), 3, 2, 0, 1),
        ((1, 3, 6, 8), (2, 3), (2, 1), (0, 1), 1),  # non-square everything
        ((2, 2, 5, 6), 1, 1, 0, 1),  # 1x1
        ((1, 2, 9, 9), 3, 1, 2, 2),  # dilation
        ((1, 1, 5, 7), (3, 2), 2, ((1, 0), (2, 1)), 1),  # asymmetric padding
        ((3, 1, 6, 6), (2, 2), (2, 2), 0, (1, 2)),
    ],
)
def test_im2col_matches_reference(rng, shape, kernel, stride, padding, dilation):
    x = rng.standard_normal(shape)
    col = im2col(x, kernel, stride, padding, dilation, rounding="floor")
    np.testing.assert_array_equal(col, im2col_ref(x, kernel, stride, padding, dilation))


def test_im2col_keeps_dtype():
    for dtype in (np.float32, np.float64):
        assert im2col(np.zeros((1, 1, 4, 4), dtype), 2).dtype == dtype
        assert col2im(np.zeros((9, 4), dtype), (1, 1, 4, 4), 2).dtype == dtype


def test_col2im_refuses_a_col_of_the_wrong_shape():
    with pytest.raises(ShapeError, match=r"\(4, 9\)"):
        col2im(np.zeros((5, 9)), (1, 1, 4, 4), 3)


# -- the output-size formula ------------------------------------------------------------------


@PROPERTY
@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 5),
    before=st.integers(0, 4),
    after=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_output_size_formula_against_counting_windows(size, kernel, stride, before, after,
                                                      dilation):
    floor = count_windows(size, kernel, stride, before, after, dilation, "floor")
    ceil = count_windows(size, kernel, stride, before, after, dilation, "ceil")
    args = (size, kernel, stride, (before, after), dilation)
    if floor == 0:  # not even one window fits
        for rounding in ("strict", "floor", "ceil"):
            with pytest.raises(ConfigError, match="<= 0"):
                conv_output_size(*args, rounding)
        return
    assert conv_output_size(*args, "floor") == floor
    assert conv_output_size(*args, "ceil") == ceil
    divides = (size + before + after - dilation * (kernel - 1) - 1) % stride == 0
    if divides:
        assert conv_output_size(*args, "strict") == floor == ceil
    else:
        with pytest.raises(ConfigError, match='rounding="floor"'):
            conv_output_size(*args, "strict")


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding", "value"),
    [
        (20, 3, 2, 0, "9.5"),  # (20 - 3) / 2 + 1
        (6, 3, 2, 0, "2.5"),  # (6 - 3) / 2 + 1
        (8, 3, 2, 1, "4.5"),  # (8 + 2 - 3) / 2 + 1
    ],
)
def test_non_dividing_size_message_gives_the_value_and_the_fix(size, kernel, stride, padding,
                                                              value):
    with pytest.raises(ConfigError) as info:
        conv_output_size(size, kernel, stride, padding)
    message = str(info.value)
    assert value in message
    assert 'rounding="floor"' in message
    assert isinstance(info.value, ValueError)


def test_kernel_larger_than_input_message():
    with pytest.raises(ConfigError, match="larger than the padded input") as info:
        conv_output_size(3, 5, layer="conv1")
    assert "conv1" in str(info.value)
    assert "<= 0" in str(info.value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 0, "kernel_size": 3},
        {"size": 5, "kernel_size": 0},
        {"size": 5, "kernel_size": 3, "stride": 0},
        {"size": 5, "kernel_size": 3, "dilation": 0},
        {"size": 5, "kernel_size": 3, "padding": -1},
        {"size": 5, "kernel_size": 3, "rounding": "round"},
        {"size": 5.0, "kernel_size": 3},
    ],
)
def test_output_size_refuses_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        conv_output_size(**kwargs)


# -- adjointness ------------------------------------------------------------------------------


@st.composite
def window_configs(draw):
    """A random (x shape, kernel, stride, padding, dilation, rounding) with >= 1 window."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    dilation = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(
        (draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2)
    )
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    hw = tuple(
        draw(st.integers(max(1, d * (k - 1) + 1 - sum(p)), 9))
        for k, d, p in zip(kernel, dilation, pads, strict=True)
    )
    rounding = draw(st.sampled_from(["floor", "ceil"]))
    return (n, c, *hw), kernel, stride, pads, dilation, rounding


@PROPERTY
@given(cfg=window_configs(), seed=st.integers(0, 2**32 - 1))
def test_col2im_is_the_adjoint_of_im2col(cfg, seed):
    shape, kernel, stride, pads, dilation, rounding = cfg
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    col = im2col(x, kernel, stride, pads, dilation, rounding=rounding)
    y = rng.standard_normal(col.shape)
    back = col2im(y, shape, kernel, stride, pads, dilation, rounding=rounding)
    assert back.shape == x.shape
    lhs, rhs = np.vdot(col, y), np.vdot(x, back)
    assert lhs == pytest.approx(rhs, rel=1e-10, abs=1e-10)


@PROPERTY
@given(cfg=window_configs())
def test_im2col_shape_rule(cfg):
    shape, kernel, stride, pads, dilation, rounding = cfg
    n, c, h, w = shape
    oh = count_windows(h, kernel[0], stride[0], *pads[0], dilation[0], rounding)
    ow = count_windows(w, kernel[1], stride[1], *pads[1], dilation[1], rounding)
    col = im2col(np.zeros(shape, np.float32), kernel, stride, pads, dilation, rounding=rounding)
    assert col.shape == (n * oh * ow, c * kernel[0] * kernel[1])
