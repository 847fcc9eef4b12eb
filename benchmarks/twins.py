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
        (top, bottom), (left, right) = layer._pads
        if top != bottom or left != right or layer.rounding == "ceil":
            raise ValueError(f"no torch twin for asymmetric padding or ceil: {layer!r}")
        one_d = isinstance(layer, tl.Conv1D)
        cls = nn.Conv1d if one_d else nn.Conv2d
        pick = (lambda p: p[1]) if one_d else (lambda p: p)
        module = cls(layer.in_channels, layer.out_channels, pick(layer._k), pick(layer._s),
                     pick((top, left)), pick(layer._d), layer.groups, layer.b is not None,
                     layer.padding_mode)
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
        (top, _), (left, _) = layer._pads
        kw = {"ceil_mode": layer.rounding == "ceil"}
        if isinstance(layer, tl.MaxPool2D):
            return nn.MaxPool2d(layer._k, layer._s, (top, left), layer._d, **kw)
        return nn.AvgPool2d(layer._k, layer._s, (top, left),
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
