"""The ready-made networks: parameter counts, derived shapes, any input size, clear errors.

Parameter counts are checked against numbers computed by hand from the architectures (the
book's SimpleConvNet has 433,890 parameters; LeNet-5 on 1x28x28 has 61,706), never against the
library's own arithmetic.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tatamu
from tatamu.errors import ConfigError
from tatamu.layers import Conv1D, Conv2D, Dropout, Linear
from tatamu.models import MODELS, conv1d_net, deep_convnet, lenet5, simple_convnet


def _summary_total(summary: str) -> int:
    match = re.search(r"total parameters: ([\d,]+)", summary)
    assert match, summary
    return int(match.group(1).replace(",", ""))


def _linears(model) -> list[tuple[int, int]]:
    return [(layer.in_features, layer.out_features) for layer in model if isinstance(layer, Linear)]


def test_simple_convnet_has_the_books_433890_parameters():
    model = simple_convnet(rng=0)
    # conv 30@1x5x5 + 30; Linear 30*12*12 -> 100; Linear 100 -> 10 (book §7.5)
    by_hand = (30 * 25 + 30) + (30 * 12 * 12 * 100 + 100) + (100 * 10 + 10)
    assert by_hand == 433_890
    assert model.num_params() == 433_890
    summary = model.summary()
    assert "433,890" in summary
    assert _summary_total(summary) == 433_890
    assert [name for name in model.layers] == [
        "conv1", "relu1", "pool1", "linear1", "relu2", "linear2"]
    assert model.output_shapes[-1] == (10,)
    assert _linears(model) == [(4320, 100), (100, 10)]


def test_lenet5_for_1x28x28_has_61706_parameters():
    model = lenet5(rng=0)
    convs = (6 * 25 + 6) + (16 * 6 * 25 + 16)
    by_hand = convs + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert by_hand == 61_706
    assert model.num_params() == 61_706
    assert _summary_total(model.summary()) == 61_706
    assert _linears(model) == [(400, 120), (120, 84), (84, 10)]


def test_deep_convnet_shapes_follow_the_book():
    model = deep_convnet(rng=0)
    convs = [layer for layer in model if isinstance(layer, Conv2D)]
    assert [c.out_channels for c in convs] == [16, 16, 32, 32, 64, 64]
    shapes = dict(zip(model.layers, model.output_shapes, strict=True))
    assert shapes["conv1"] == (16, 28, 28)
    assert shapes["pool1"] == (16, 14, 14)
    assert shapes["conv4"] == (32, 16, 16)  # padding 2, as in the book
    assert shapes["pool2"] == (32, 8, 8)
    assert shapes["pool3"] == (64, 4, 4)
    assert _linears(model) == [(64 * 4 * 4, 50), (50, 10)]
    assert sum(isinstance(layer, Dropout) for layer in model) == 2
    assert model.num_params() == _summary_total(model.summary())


def test_conv1d_net_on_40_samples_ends_in_linear_125_to_10():
    model = conv1d_net((1, 40), rng=0)
    convs = [layer for layer in model if isinstance(layer, Conv1D)]
    assert len(convs) == 3
    # 40 -> floor((40 + 2 - 5) / 2) + 1 = 19 -> 10 -> 5 positions; 25 channels * 5 = 125
    assert [s for s in model.output_shapes if len(s) == 2] == [
        (25, 19), (25, 19), (25, 10), (25, 10), (25, 5), (25, 5)]
    assert _linears(model) == [(125, 10)]
    assert model.num_params() == (25 * 5 + 25) + 2 * (25 * 25 * 3 + 25) + (125 * 10 + 10)


@pytest.mark.parametrize(
    ("shape", "first_linear"),
    [
        ((3, 32, 32), 30 * 14 * 14),  # (32 - 5 + 1) / 2 = 14
        ((1, 8, 8), 30 * 2 * 2),
        ((2, 12, 20), 30 * 4 * 8),  # non-square, two channels
    ],
)
def test_simple_convnet_takes_any_input_size_with_derived_fan_ins(shape, first_linear, rng):
    model = simple_convnet(shape, rng=0)
    assert model.input_shape == shape
    assert model["conv1"].in_channels == shape[0]
    assert _linears(model) == [(first_linear, 100), (100, 10)]
    x = rng.random((3, *shape), dtype=np.float32)
    assert model.predict(x).shape == (3, 10)


@pytest.mark.parametrize("builder", [lenet5, deep_convnet])
def test_other_builders_take_other_image_sizes(builder, rng):
    model = builder((3, 36, 36), num_classes=4, rng=0)
    assert model.output_shapes[-1] == (4,)
    x = rng.random((2, 3, 36, 36), dtype=np.float32)
    assert model.predict(x).shape == (2, 4)


def test_conv1d_net_takes_other_lengths():
    model = conv1d_net((2, 72), num_classes=3, rng=0)
    # 72 -> 35 -> 18 -> 9 positions (floor rounding, as the MNIST-1D paper's code)
    assert _linears(model) == [(25 * 9, 3)]


@pytest.mark.parametrize(
    ("builder", "shape"),
    [(simple_convnet, (1, 27, 27)), (simple_convnet, (1, 29, 28)), (deep_convnet, (1, 30, 30))],
)
def test_an_input_size_that_does_not_divide_raises_config_error_with_the_fix(builder, shape):
    with pytest.raises(ConfigError) as info:
        builder(shape, rng=0)
    message = str(info.value)
    assert "does not divide" in message
    assert "Fix" in message and "rounding=" in message
    assert isinstance(info.value, tatamu.TatamuError) and isinstance(info.value, ValueError)


def test_builders_are_reproducible_from_a_seed():
    a, b, c = simple_convnet(rng=3), simple_convnet(rng=3), simple_convnet(rng=4)
    for name, value in a.params().items():
        np.testing.assert_array_equal(value, b.params()[name])
    assert not np.array_equal(a.params()["conv1.W"], c.params()["conv1.W"])


def test_book_init_std_and_dtype_options():
    model = simple_convnet(init=0.01, rng=0, dtype=np.float64)
    assert model.dtype == np.float64
    w = model.params()["linear1.W"]
    assert 0.008 < float(w.std()) < 0.012  # the book's weight_init_std = 0.01
    assert all(v.dtype == np.float64 for v in model.params().values())


def test_model_table_names_every_builder():
    assert set(MODELS) == {"simple", "deep", "lenet5", "conv1d"}
    assert MODELS["simple"] is simple_convnet
