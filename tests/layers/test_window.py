"""``layer.window``: one public window geometry, settled in ``__init__`` (issue 21, item 3).

Everything outside ``layers/`` reads the geometry there; nobody reads a layer's privates or
re-derives kernel, stride, padding and dilation from the constructor's arguments.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest

from tatamu.im2col import conv_output_size
from tatamu.layers import AvgPool1D, AvgPool2D, Conv1D, Conv2D, MaxPool1D, MaxPool2D
from tatamu.layers.window import WindowGeometry

ROOT = Path(__file__).resolve().parents[2]
#: the geometry's old private names (kernel, stride, dilation, padding) read off a layer
PRIVATE = re.compile(r"\._(k|s|d|pads)\b")


def test_no_window_private_is_read_outside_layers():
    found = []
    for folder in ("src", "benchmarks", "tests", "docs", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.is_relative_to(ROOT / "src" / "tatamu" / "layers") or path == Path(__file__):
                continue  # the layers' own code may keep privates; this file names them
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if PRIVATE.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "read layer.window instead:\n" + "\n".join(found)


def test_the_private_pattern_catches_what_it_is_meant_to():
    assert PRIVATE.search("layer._k, layer._pads") and PRIVATE.search("(layer._d)")
    assert not PRIVATE.search("layer._kernel_dims_of, self._x_shape, layer._data")


@pytest.mark.parametrize(("layer", "kernel", "stride", "padding", "dilation"), [
    (Conv2D(1, 2, 3, stride=2, padding=1), (3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1)),
    (Conv2D(1, 2, (2, 3), padding="same", dilation=2), (2, 3), (1, 1), ((1, 1), (2, 2)),
     (2, 2)),
    (Conv2D(1, 2, 4, padding="same"), (4, 4), (1, 1), ((1, 2), (1, 2)), (1, 1)),
    (Conv2D(1, 2, 3, padding=((0, 1), (2, 0))), (3, 3), (1, 1), ((0, 1), (2, 0)), (1, 1)),
    (Conv1D(1, 2, 5, stride=2, padding=2), (1, 5), (1, 2), ((0, 0), (2, 2)), (1, 1)),
    (MaxPool2D(2), (2, 2), (2, 2), ((0, 0), (0, 0)), (1, 1)),
    (MaxPool2D(3, 2, 1, dilation=2), (3, 3), (2, 2), ((1, 1), (1, 1)), (2, 2)),
    (AvgPool2D((2, 3), (1, 2)), (2, 3), (1, 2), ((0, 0), (0, 0)), (1, 1)),
    (MaxPool1D(3, 1, 1), (1, 3), (1, 1), ((0, 0), (1, 1)), (1, 1)),
    (AvgPool1D(4), (1, 4), (1, 4), ((0, 0), (0, 0)), (1, 1)),
])
def test_the_window_holds_the_settled_arguments_in_2d_form(layer, kernel, stride, padding,
                                                             dilation):
    window = layer.window
    assert (window.kernel, window.stride, window.padding, window.dilation) == (
        kernel, stride, padding, dilation)
    assert window.dims == (1 if isinstance(layer, (Conv1D, MaxPool1D, AvgPool1D)) else 2)
    assert window.rounding == layer.rounding
    with pytest.raises(dataclasses.FrozenInstanceError):
        window.stride = (1, 1)


@pytest.mark.parametrize(("layer", "input_hw"), [
    (Conv2D(1, 2, 3, stride=2, padding=1), (9, 7)),
    (Conv2D(1, 2, 3, dilation=2, padding=(1, 2)), (8, 8)),
    (MaxPool2D(2, rounding="floor"), (7, 9)),
    (AvgPool2D(3, 2, 1), (9, 5)),
])
def test_output_size_is_the_formula_and_the_layer_agrees(layer, input_hw):
    window = layer.window
    expected = tuple(
        conv_output_size(size, k, s, pads, d, window.rounding)
        for size, k, s, pads, d in zip(input_hw, window.kernel, window.stride, window.padding,
                                       window.dilation, strict=True))
    assert window.output_size(input_hw) == expected
    assert layer.output_shape((1, *input_hw))[1:] == expected
    assert layer.forward(np.zeros((1, 1, *input_hw), np.float32)).shape[2:] == expected


def test_a_ceil_window_overruns_onto_the_bottom_right_only():
    # 5 pixels, 2-wide windows at stride 2, ceil: 3 windows; the last reaches pixel 5 (absent)
    window = MaxPool2D(2, rounding="ceil").window
    assert window.output_size((5, 5)) == (3, 3)
    assert window.applied_padding((5, 5)) == ((0, 1), (0, 1))
    assert window.overrun((5, 5)) == ((0, 1), (0, 1))
    assert window.overrun((4, 4)) == ((0, 0), (0, 0))  # it divides: nothing added


def test_own_axes_are_what_pytorch_takes():
    assert Conv1D(1, 2, 5, stride=2, padding=(1, 3)).window.own_axes() == (
        (5,), (2,), ((1, 3),), (1,))
    assert Conv2D(1, 2, (2, 3)).window.own_axes() == ((2, 3), (1, 1), ((0, 0), (0, 0)), (1, 1))


def test_overlapping_and_span():
    assert WindowGeometry((3, 3), (2, 2), ((0, 0), (0, 0))).overlapping  # 3 wide, steps of 2
    assert not WindowGeometry((2, 2), (2, 2), ((0, 0), (0, 0))).overlapping
    dilated = WindowGeometry((2, 2), (2, 2), ((0, 0), (0, 0)), dilation=(2, 1))
    assert dilated.span == (3, 2) and dilated.overlapping


def test_a_size_that_does_not_divide_names_the_layer():
    with pytest.raises(Exception, match="conv9: output size along H does not divide"):
        Conv2D(1, 1, 3, stride=2).window.output_size((6, 7), layer="conv9")


def test_sizes_are_kept_per_window_and_a_refused_size_is_refused_every_time():
    """The geometry of each (window, input size) is computed once and kept (the hot path asks
    two or three times a step); the answers stay conv_output_size's, and a size that does not
    divide raises on every call, naming the layer that asked, in the language of that moment."""
    from tatamu import set_language
    from tatamu.errors import ConfigError

    window = Conv2D(1, 2, 3, stride=2, rng=0).window
    for hw in [(7, 9), (7, 9), (11, 5)]:
        assert window.output_size(hw) == (conv_output_size(hw[0], 3, 2),
                                          conv_output_size(hw[1], 3, 2))
    for layer in ("conv1", "conv2"):  # not cached: each error names its own layer
        with pytest.raises(ConfigError, match=f"{layer}: output size along H does not divide"):
            window.output_size((8, 9), layer=layer)
    try:
        set_language("ja")
        with pytest.raises(ConfigError) as japanese:
            window.output_size((8, 9), layer="conv1")
    finally:
        set_language(None)
    assert "does not divide" not in str(japanese.value)
    assert "conv1" in str(japanese.value)
