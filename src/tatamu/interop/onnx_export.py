"""A tatamu model as an ONNX graph, for ONNX Runtime and every tool that reads ONNX.

Each layer becomes the ONNX operator(s) computing exactly what its forward computes in eval mode,
for the model's input size (the batch dimension stays free, ``N``): Conv, MaxPool/AveragePool,
GlobalAveragePool, Gemm (or MatMul without a bias), Relu/LeakyRelu/Sigmoid/Tanh, Flatten and
BatchNormalization in its inference form; Dropout is the identity at inference and is left out.
A Softmax at the end makes the output the probabilities ``model.predict`` gives.

Window arithmetic is taken from tatamu itself (``layer.window``): a ``ceil`` window's overrun
becomes extra end padding, and padding modes other than zeros become a Pad node, so ONNX's own
rounding rules never have to agree with tatamu's.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..checkpoint.store import atomic_write
from ..errors import CheckpointError, ConfigError
from ..i18n import _
from ..layers import (
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
from ..model import Sequential
from .optional import require

#: Opset 19: Pad has mode "wrap" (circular padding); ONNX Runtime 1.15+ runs it.
OPSET = 19
IR_VERSION = 9
#: tatamu's padding_mode -> ONNX Pad's mode.
_PAD_MODES = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def onnx_model(model: Sequential):
    """The ``onnx.ModelProto`` computing ``model.predict`` (float32), checked by onnx.checker."""
    onnx = require("onnx")
    if len(model.output_shapes[-1]) != 1:
        raise ConfigError(
            _("the model ends with output shape {output_shapes} per sample, not class scores; "
              "end it with a Linear layer (or Flatten) before exporting to ONNX",
              output_shapes=model.output_shapes[-1])
        )
    graph = _Graph(onnx)
    x = "input"
    shapes = [model.input_shape, *model.output_shapes]
    for (name, layer), in_shape in zip(model.layers.items(), shapes, strict=False):
        convert = _CONVERTERS.get(type(layer))
        if convert is None:
            raise ConfigError(
                _("{name} ({type}) has no ONNX equivalent in tatamu's exporter (it knows "
                  "{items})",
                  name=name, type=type(layer).__name__,
                  items=', '.join(c.__name__ for c in _CONVERTERS))
            )
        x = convert(graph, name, layer, x, tuple(in_shape))
    graph.node("Softmax", [x], name="softmax", outputs=["probabilities"], axis=1)
    h = onnx.helper
    inputs = [h.make_tensor_value_info("input", onnx.TensorProto.FLOAT,
                                       ["N", *model.input_shape])]
    outputs = [h.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT,
                                        ["N", model.num_classes])]
    proto = h.make_model(
        h.make_graph(graph.nodes, "tatamu", inputs, outputs, graph.initializers),
        opset_imports=[h.make_opsetid("", OPSET)], ir_version=IR_VERSION,
        producer_name="tatamu",
    )
    onnx.checker.check_model(proto, full_check=True)
    return proto


def save_onnx(model: Sequential, path: str | os.PathLike[str], *,
              overwrite: bool = False) -> Path:
    """Write ``model`` as an ONNX file (input ``input`` (N, ...), output ``probabilities``)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise CheckpointError(_("{path} already exists; choose another name or pass --force",
                                path=path))
    data = onnx_model(model).SerializeToString()
    atomic_write(path, lambda f: f.write(data))
    return path


class _Graph:
    """Nodes and initializers as they are added, with unique tensor names."""

    def __init__(self, onnx) -> None:
        self.onnx = onnx
        self.nodes: list = []
        self.initializers: list = []

    def const(self, name: str, value) -> str:
        array = np.asarray(value)
        if array.dtype.kind == "f":
            array = array.astype(np.float32)  # ONNX Runtime's CPU kernels are float32
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], *, name: str, outputs: list[str] | None = None,
             **attrs) -> str:
        outputs = outputs or [name]
        self.nodes.append(self.onnx.helper.make_node(op, inputs, outputs, name=name, **attrs))
        return outputs[0]


# -- geometry shared by convolution and pooling ----------------------------------------------
def _window(layer, in_shape):
    """(kernel, stride, dilation, requested pads, applied pads) on the layer's own axes."""
    one_d = len(in_shape) == 2
    hw = (1, in_shape[1]) if one_d else in_shape[1:]
    kernel, stride, pads, dilation = layer.window.own_axes()
    applied = layer.window.applied_padding(hw)[2 - layer.window.dims:]
    return list(kernel), list(stride), list(dilation), pads, applied


def _onnx_pads(pairs) -> list[int]:
    """((top, bottom), (left, right)) -> ONNX's [top, left, bottom, right]."""
    return [int(p[0]) for p in pairs] + [int(p[1]) for p in pairs]


def _pad_node(g: _Graph, name: str, x: str, pairs, mode: str, value: float = 0.0) -> str:
    begin, end = [p[0] for p in pairs], [p[1] for p in pairs]
    pads = g.const(f"{name}.pads", np.array([0, 0, *begin, 0, 0, *end], dtype=np.int64))
    if mode == "constant":
        fill = g.const(f"{name}.value", np.array(value, dtype=np.float32))
        return g.node("Pad", [x, pads, fill], name=name, mode="constant")
    return g.node("Pad", [x, pads], name=name, mode=mode)


def _overrun(requested, applied):
    return tuple((0, a[1] - r[1]) for r, a in zip(requested, applied, strict=True))


# -- one converter per layer class ------------------------------------------------------------
def _conv(g: _Graph, name, layer, x, in_shape):
    kernel, strides, dilations, requested, applied = _window(layer, in_shape)
    if layer.padding_mode != "zeros" and any(p for pair in requested for p in pair):
        x = _pad_node(g, f"{name}.pad", x, requested, _PAD_MODES[layer.padding_mode])
        applied = _overrun(requested, applied)  # the ceil overrun is zeros, not the mode's fill
    inputs = [x, g.const(f"{name}.W", layer.W)]
    if layer.b is not None:
        inputs.append(g.const(f"{name}.b", layer.b))
    return g.node("Conv", inputs, name=name, kernel_shape=kernel, strides=strides,
                  dilations=dilations, group=layer.groups, pads=_onnx_pads(applied))


def _maxpool(g: _Graph, name, layer, x, in_shape):
    kernel, strides, dilations, _, applied = _window(layer, in_shape)
    if any(max(pair) >= k for pair, k in zip(applied, kernel, strict=True)):
        # ONNX Runtime wants pads smaller than the kernel; -inf padding is the same thing
        x = _pad_node(g, f"{name}.pad", x, applied, "constant", -np.inf)
        applied = tuple((0, 0) for _ in applied)
    return g.node("MaxPool", [x], name=name, kernel_shape=kernel, strides=strides,
                  dilations=dilations, pads=_onnx_pads(applied))


def _avgpool(g: _Graph, name, layer, x, in_shape):
    kernel, strides, _, requested, applied = _window(layer, in_shape)
    if layer.count_include_pad and any(p for pair in requested for p in pair):
        # Requested padding counts in the mean, a ceil window's overrun never does (PyTorch's
        # rule): pad with real zeros first, then let the pool ignore only the overrun.
        x = _pad_node(g, f"{name}.pad", x, requested, "constant", 0.0)
        applied = _overrun(requested, applied)
    return g.node("AveragePool", [x], name=name, kernel_shape=kernel, strides=strides,
                  pads=_onnx_pads(applied), count_include_pad=0)


def _linear(g: _Graph, name, layer, x, in_shape):
    if len(in_shape) > 1:  # tatamu's Linear flattens (N, C, H, W) -> (N, C*H*W) itself
        x = g.node("Flatten", [x], name=f"{name}.flatten", axis=1)
    w = g.const(f"{name}.W", layer.W)  # (in, out): Gemm computes x @ W + b as the book does
    if layer.b is None:
        return g.node("MatMul", [x, w], name=name)
    return g.node("Gemm", [x, w, g.const(f"{name}.b", layer.b)], name=name)


def _batchnorm(g: _Graph, name, layer, x, in_shape):
    inputs = [x] + [g.const(f"{name}.{p}", getattr(layer, p))
                    for p in ("gamma", "beta", "running_mean", "running_var")]
    return g.node("BatchNormalization", inputs, name=name, epsilon=float(layer.eps))


def _global_avgpool(g: _Graph, name, layer, x, in_shape):
    x = g.node("GlobalAveragePool", [x], name=name)  # (N, C, 1, 1)
    return g.node("Flatten", [x], name=f"{name}.flatten", axis=1)  # -> (N, C), as tatamu's


def _elementwise(op: str, **attrs):
    def convert(g: _Graph, name, layer, x, in_shape):
        values = {k: float(getattr(layer, v)) for k, v in attrs.items()}
        return g.node(op, [x], name=name, **values)
    return convert


_CONVERTERS = {
    Conv2D: _conv, Conv1D: _conv, Linear: _linear,
    MaxPool2D: _maxpool, MaxPool1D: _maxpool, AvgPool2D: _avgpool, AvgPool1D: _avgpool,
    GlobalAvgPool2D: _global_avgpool, BatchNorm2D: _batchnorm, BatchNorm1D: _batchnorm,
    ReLU: _elementwise("Relu"), LeakyReLU: _elementwise("LeakyRelu", alpha="negative_slope"),
    Sigmoid: _elementwise("Sigmoid"), Tanh: _elementwise("Tanh"),
    Dropout: lambda g, name, layer, x, in_shape: x,  # the identity at inference: left out
    Flatten: lambda g, name, layer, x, in_shape: g.node("Flatten", [x], name=name, axis=1),
}
