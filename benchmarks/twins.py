"""The PyTorch twin of a tatamu layer or model, with the same weights.

Built from the tatamu object itself, so the two sides of every benchmark run the same
architecture by construction. Only what the benchmarked nets use is mapped.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from tatamu import layers as tl
from tatamu.model import Sequential


def layer_twin(layer: tl.Layer) -> nn.Module:
    """The ``torch.nn`` module for one tatamu layer, weights copied (Linear's W transposed)."""
    if isinstance(layer, tl.Conv2D):  # Conv1D too (a subclass)
        kernel, stride, pads, dilation = layer.window.own_axes()
        if any(before != after for before, after in pads) or layer.rounding == "ceil":
            raise ValueError(f"no torch twin for asymmetric padding or ceil: {layer!r}")
        cls = nn.Conv1d if layer.window.dims == 1 else nn.Conv2d
        module = cls(layer.in_channels, layer.out_channels, kernel, stride,
                     tuple(before for before, _ in pads), dilation, layer.groups,
                     layer.b is not None, layer.padding_mode)
        _copy(module.weight, layer.W)
        if layer.b is not None:
            _copy(module.bias, layer.b)
        return module
    if isinstance(layer, tl.Linear):
        module = nn.Linear(layer.in_features, layer.out_features, layer.b is not None)
        _copy(module.weight, layer.W.T)  # tatamu's W is (in, out): the book's x @ W
        if layer.b is not None:
            _copy(module.bias, layer.b)
        return module
    if isinstance(layer, (tl.MaxPool2D, tl.AvgPool2D)):
        win = layer.window
        (top, _), (left, _) = win.padding
        kw = {"ceil_mode": layer.rounding == "ceil"}
        if isinstance(layer, tl.MaxPool2D):
            return nn.MaxPool2d(win.kernel, win.stride, (top, left), win.dilation, **kw)
        return nn.AvgPool2d(win.kernel, win.stride, (top, left),
                             count_include_pad=layer.count_include_pad, **kw)
    simple = {tl.ReLU: nn.ReLU, tl.Tanh: nn.Tanh, tl.Sigmoid: nn.Sigmoid, tl.Flatten: nn.Flatten}
    for cls, twin in simple.items():
        if type(layer) is cls:
            return twin()
    if isinstance(layer, tl.Dropout):
        return nn.Dropout(layer.p)
    raise ValueError(f"no torch twin for {layer!r}")


def model_twin(model: Sequential) -> nn.Sequential:
    """``nn.Sequential`` of the layers' twins; a Linear on feature maps gets an nn.Flatten."""
    modules = []
    shape = model.input_shape
    for layer, out_shape in zip(model, model.output_shapes, strict=True):
        if isinstance(layer, tl.Linear) and len(shape) > 1:
            modules.append(nn.Flatten())  # tatamu's Linear flattens (N, C, H, W) itself
        modules.append(layer_twin(layer))
        shape = out_shape
    return nn.Sequential(*modules)


def _copy(param: torch.Tensor, array: np.ndarray) -> None:
    with torch.no_grad():
        param.copy_(torch.from_numpy(np.ascontiguousarray(array)))
