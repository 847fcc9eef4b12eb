"""Error messages a user will meet: each names what was wrong and says how to fix it.

(The label errors of SoftmaxCrossEntropy are in ``tests/test_losses.py``.)
"""

from __future__ import annotations

import numpy as np
import pytest

from tatamu.errors import ConfigError, ShapeError, TatamuError
from tatamu.layers import (
    AvgPool2D,
    BatchNorm2D,
    Conv1D,
    Conv2D,
    Linear,
    MaxPool1D,
    MaxPool2D,
    ReLU,
)


def test_error_classes_are_the_builtin_ones_too():
    assert issubclass(ConfigError, ValueError) and issubclass(ConfigError, TatamuError)
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, TatamuError)


# -- the input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "layout"),
    [
        (Conv2D(3, 4, 3, rng=0), (3, 8, 8), "(N, C, H, W)"),
        (Conv1D(3, 4, 3, rng=0), (3, 8), "(N, C, L)"),
        (MaxPool2D(2), (3, 8, 8), "(N, C, H, W)"),
        (BatchNorm2D(3), (3, 8, 8), "(N, C, H, W)"),
    ],
)
def test_missing_batch_axis_says_the_layout_and_hints_x_none(layer, shape, layout):
    with pytest.raises(ShapeError) as info:
        layer(np.zeros(shape, np.float32))
    message = str(info.value)
    assert layout in message and str(shape) in message
    assert "x[None]" in message


def test_too_many_axes_says_the_layout():
    with pytest.raises(ShapeError, match=r"\(N, C, H, W\)") as info:
        Conv2D(3, 4, 3, rng=0)(np.zeros((1, 1, 3, 8, 8), np.float32))
    assert "x[None]" not in str(info.value)


def test_wrong_channel_count():
    with pytest.raises(ShapeError, match="expected 3 channels") as info:
        Conv2D(3, 4, 3, rng=0)(np.zeros((2, 2, 8, 8), np.float32))
    assert "(2, 2, 8, 8)" in str(info.value)


def test_nhwc_input_is_recognised_and_the_transpose_shown():
    with pytest.raises(ShapeError) as info:
        Conv2D(3, 4, 3, rng=0)(np.zeros((2, 8, 8, 3), np.float32))
    message = str(info.value)
    assert "NHWC" in message
    assert "x.transpose(0, 3, 1, 2)" in message


def test_integer_input_is_refused_with_the_cast():
    with pytest.raises(ShapeError) as info:
        Conv2D(1, 1, 3, rng=0)(np.zeros((1, 1, 5, 5), np.uint8))
    message = str(info.value)
    assert "uint8" in message and "astype(np.float32)" in message
    with pytest.raises(ShapeError, match="int64"):
        ReLU()(np.zeros((2, 2), np.int64))


@pytest.mark.parametrize("layer", [Conv2D(1, 1, 3, rng=0), BatchNorm2D(1)])
def test_float64_input_into_a_float32_layer(layer):
    with pytest.raises(ShapeError) as info:
        layer(np.zeros((2, 1, 5, 5), np.float64))
    message = str(info.value)
    assert "float64" in message and "float32" in message
    assert "astype" in message


def test_linear_wrong_number_of_features():
    with pytest.raises(ShapeError, match="expected 12 features") as info:
        Linear(12, 3, rng=0)(np.zeros((2, 3, 2, 3), np.float32))
    assert "18" in str(info.value)


def test_not_an_array():
    with pytest.raises(ShapeError, match="np.asarray"):
        ReLU()([[1.0, 2.0]])


# -- sizes that do not work ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape", "value"),
    [
        (Conv2D(1, 1, 3, stride=2, rng=0), (1, 1, 20, 20), "9.5"),  # (20 - 3) / 2 + 1
        (MaxPool2D(3, stride=2), (1, 1, 6, 6), "2.5"),  # (6 - 3) / 2 + 1
        (Conv1D(1, 1, 3, stride=2, rng=0), (1, 1, 6), "2.5"),
        (AvgPool2D(2), (1, 1, 5, 4), "2.5"),  # the book's pool silently drops a row here
    ],
)
def test_non_dividing_size_gives_the_value_and_the_rounding_fix(layer, shape, value):
    with pytest.raises(ConfigError) as info:
        layer(np.zeros(shape, np.float32))
    message = str(info.value)
    assert value in message
    assert 'rounding="floor"' in message
    assert type(layer).__name__ in message


def test_non_dividing_size_passes_with_rounding_floor():
    y = Conv2D(1, 1, 3, stride=2, rounding="floor", rng=0)(np.zeros((1, 1, 20, 20),
                                                                     np.float32))
    assert y.shape == (1, 1, 9, 9)


@pytest.mark.parametrize(
    ("layer", "shape"),
    [
        (Conv2D(1, 1, 5, rng=0), (1, 1, 3, 3)),
        (MaxPool2D(4), (1, 1, 3, 8)),
        (MaxPool1D(5), (1, 1, 4)),
    ],
)
def test_kernel_larger_than_input_names_the_layer(layer, shape):
    with pytest.raises(ConfigError) as info:
        layer(np.zeros(shape, np.float32))
    message = str(info.value)
    assert type(layer).__name__ in message
    assert "<= 0" in message and "larger than" in message
    layer.name = "conv7"  # the name a model gives it wins
    with pytest.raises(ConfigError, match="conv7"):
        layer(np.zeros(shape, np.float32))


# -- constructor arguments ---------------------------------------------------------------


def test_bad_padding_mode():
    with pytest.raises(ConfigError, match="padding_mode must be one of") as info:
        Conv2D(1, 1, 3, padding=1, padding_mode="mirror", rng=0)
    assert "'mirror'" in str(info.value)


def test_reflect_padding_as_large_as_the_input():
    layer = Conv2D(1, 1, 3, padding=3, padding_mode="reflect", rng=0)
    with pytest.raises(ConfigError, match="reflect") as info:
        layer(np.zeros((1, 1, 3, 3), np.float32))
    assert "padding 3" in str(info.value) and "=3" in str(info.value)


@pytest.mark.parametrize("cls", [MaxPool2D, AvgPool2D])
def test_pool_padding_more_than_half_the_kernel(cls):
    with pytest.raises(ConfigError, match="half the kernel") as info:
        cls(2, padding=2)
    assert cls.__name__ in str(info.value)
    cls(4, padding=2)  # exactly half is fine (PyTorch's limit)


def test_same_padding_with_stride_two():
    with pytest.raises(ConfigError, match="stride 1"):
        Conv2D(1, 1, 3, stride=2, padding="same", rng=0)
    with pytest.raises(ConfigError, match="stride 1"):
        Conv1D(1, 1, 3, stride=2, padding="same", rng=0)


def test_unknown_padding_string():
    with pytest.raises(ConfigError, match="'valid' or 'same'"):
        Conv2D(1, 1, 3, padding="full", rng=0)


@pytest.mark.parametrize(("c", "fn", "groups"), [(3, 4, 2), (4, 3, 2), (4, 4, 3)])
def test_groups_must_divide_the_channels(c, fn, groups):
    with pytest.raises(ConfigError, match="divisible by groups") as info:
        Conv2D(c, fn, 3, groups=groups, rng=0)
    assert f"({groups})" in str(info.value)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: Conv2D(0, 1, 3), "in_channels"),
        (lambda: Conv2D(1, 1, 3, stride=0), "stride"),
        (lambda: Conv2D(1, 1, 0), "kernel_size"),  # was a ZeroDivisionError in he init
        (lambda: Conv1D(1, 1, -1), "kernel_size"),  # was numpy's "negative dimensions"
        (lambda: Conv2D(1, 1, 3, dilation=(1, 0)), "dilation"),
        (lambda: Conv2D(1, 1, 3, padding=-1), "padding"),
        (lambda: Conv2D(1, 1, 2.5), "kernel_size"),
        (lambda: Conv2D(1, 1, 3, dtype=np.int32), "floating"),
        (lambda: Conv2D(1, 1, 3, init="kaiming"), "init"),
        (lambda: Linear(0, 3), "in_features"),
        (lambda: BatchNorm2D(0), "num_features"),
        (lambda: Conv2D(1, 1, 3, rng="seed"), "rng"),
    ],
)
def test_bad_constructor_arguments(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


@pytest.mark.parametrize("make", [lambda: MaxPool2D(0), lambda: MaxPool2D(2, stride=0),
                                  lambda: AvgPool2D(2, stride=-1)])
def test_bad_pool_window_is_refused_at_the_first_forward(make):
    layer = make()
    with pytest.raises(ConfigError, match="must be an int >= 1"):
        layer(np.zeros((1, 1, 4, 4), np.float32))
