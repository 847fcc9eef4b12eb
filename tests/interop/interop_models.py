"""The models every export test runs: the built-in architectures and two that use every layer
type and option tatamu has (padding modes, dilation, groups, asymmetric 'same' padding, ceil
rounding, pooling padding, count_include_pad, BatchNorm with non-trivial running statistics,
LeakyReLU/Sigmoid/Tanh, global average pooling, Linear without bias, Dropout, Flatten).
"""

from __future__ import annotations

import numpy as np

from tatamu import models
from tatamu.layers import (
    AvgPool1D,
    AvgPool2D,
    BatchNorm1D,
    BatchNorm2D,
    Conv1D,
    Conv2D,
    Dropout,
    Flatten,
    GlobalAvgPool2D,
    LeakyReLU,
    Linear,
    MaxPool1D,
    MaxPool2D,
    ReLU,
    Sigmoid,
    Tanh,
)
from tatamu.model import Sequential


def every_layer_2d(rng) -> Sequential:
    kw = {"rng": rng}
    return Sequential([
        Conv2D(3, 8, 3, padding=1, padding_mode="reflect", **kw), BatchNorm2D(8), LeakyReLU(0.1),
        Conv2D(8, 8, 3, padding=2, dilation=2, groups=2, padding_mode="replicate", **kw),
        Sigmoid(),
        MaxPool2D(3, stride=2, padding=1, rounding="ceil"),  # 13 -> 7, last window partial
        Conv2D(8, 6, 2, padding="same", bias=False, **kw),  # even kernel: pads (0, 1)
        Tanh(),
        AvgPool2D(2, rounding="ceil", count_include_pad=False),  # 7 -> 4
        Conv2D(6, 6, 3, padding=1, padding_mode="circular", **kw), ReLU(),
        AvgPool2D(3, stride=1, padding=1),  # counts padding, as PyTorch's default
        Conv2D(6, 5, 3, stride=2, padding=1, rounding="floor", **kw),  # 4 -> 2, floored
        MaxPool2D((2, 1), stride=1, dilation=(1, 1)),
        GlobalAvgPool2D(), BatchNorm1D(5), Dropout(0.3, rng=rng),
        Linear(5, 7, bias=False, **kw), Tanh(), Linear(7, 4, **kw),
    ], input_shape=(3, 13, 13))


def every_layer_1d(rng) -> Sequential:
    kw = {"rng": rng}
    return Sequential([
        Conv1D(2, 6, 5, padding=2, padding_mode="circular", **kw), BatchNorm1D(6), ReLU(),
        Conv1D(6, 6, 4, padding="same", dilation=2, groups=3, padding_mode="reflect", **kw),
        MaxPool1D(3, stride=2, padding=1, rounding="ceil"),  # 30 -> 15
        Conv1D(6, 4, 3, stride=2, padding=1, padding_mode="replicate", rounding="floor", **kw),
        AvgPool1D(2, padding=1, rounding="ceil"),  # 8 -> 5
        Sigmoid(), Flatten(), Linear(20, 3, **kw),
    ], input_shape=(2, 30))


def built_in(name):
    def build(rng):
        return models.MODELS[name](rng=rng)
    return build


#: name -> builder(rng) for every model the export tests check.
ARCHITECTURES = {
    **{name: built_in(name) for name in models.MODELS},
    "every-layer-2d": every_layer_2d,
    "every-layer-1d": every_layer_1d,
}


def trained_looking(model: Sequential, rng) -> Sequential:
    """Give BatchNorm non-trivial statistics and affine parameters, as training would."""
    for name, value in {**model.params(), **model.buffers()}.items():
        if name.endswith(("gamma", "running_var")):
            value[...] = rng.uniform(0.5, 1.5, value.shape)
        elif name.endswith(("beta", "running_mean")):
            value[...] = rng.normal(0, 0.3, value.shape)
        elif name.endswith(".b"):
            value[...] = rng.normal(0, 0.1, value.shape)
    return model.eval()


def inputs(model: Sequential, rng, n: int) -> np.ndarray:
    return rng.standard_normal((n, *model.input_shape), dtype=np.float32)
