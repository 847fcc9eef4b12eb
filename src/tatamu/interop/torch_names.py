"""tatamu's layers as PyTorch modules: names, layouts and the ``nn.Sequential`` that holds them.

One table decides, for every layer class, the torch module(s) it becomes, the constructor call
written out in Python, and how each parameter maps to a ``state_dict`` entry. Export
(:mod:`tatamu.interop.safetensors_io`) and import read the same table, so the names written are
the names read back.

Layouts: convolution filters are (FN, C/groups, FH, FW) in both libraries; tatamu's ``Linear.W``
is (in, out) as in the book, PyTorch's ``Linear.weight`` is (out, in), so it is transposed.
BatchNorm's ``gamma``/``beta`` are torch's ``weight``/``bias``; its running statistics keep
their names, and torch adds ``num_batches_tracked`` (tatamu does not count steps: written as 0,
which only a torch BatchNorm built with ``momentum=None`` would read).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..errors import ConfigError
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

#: torch's padding modules for an asymmetric border, by padding_mode and dimension.
_PAD_MODULES = {
    "zeros": "nn.ZeroPad{}d", "reflect": "nn.ReflectionPad{}d",
    "replicate": "nn.ReplicationPad{}d", "circular": "nn.CircularPad{}d",
}


def _same(x):
    return x


def _transpose(x):
    return np.ascontiguousarray(x.T)  # (in, out) <-> (out, in)


@dataclass
class TorchModule:
    """One entry of the ``nn.Sequential``: its key, its constructor call, its tensors.

    ``tensors`` maps the torch tensor name (``weight``) to the tatamu parameter or buffer name
    (``conv1.W``) and the function that turns one layout into the other (its own inverse).
    """

    name: str
    code: str
    tensors: dict[str, tuple[str, Callable]] = field(default_factory=dict)


def torch_modules(model: Sequential) -> list[TorchModule]:
    """The modules of the ``nn.Sequential`` that computes what ``model`` computes (logits)."""
    modules: list[TorchModule] = []
    shapes = [model.input_shape, *model.output_shapes]
    for (name, layer), in_shape in zip(model.layers.items(), shapes, strict=False):
        converter = _CONVERTERS.get(type(layer))
        if converter is None:
            raise ConfigError(
                _("{name} ({type}) has no PyTorch equivalent in tatamu's exporter (it knows "
                  "{items})",
                  name=name, type=type(layer).__name__,
                  items=', '.join(c.__name__ for c in _CONVERTERS))
            )
        modules += converter(name, layer, tuple(in_shape))
    return modules


def torch_state_dict(model: Sequential) -> dict[str, np.ndarray]:
    """``model``'s weights under PyTorch's names and layouts (``conv1.weight``...)."""
    arrays = {**model.params(), **model.buffers()}
    state = {}
    for module in torch_modules(model):
        for torch_name, (ours, convert) in module.tensors.items():
            key = f"{module.name}.{torch_name}"
            if ours is None:  # num_batches_tracked
                state[key] = np.array(0, dtype=np.int64)
            else:
                state[key] = np.ascontiguousarray(convert(np.asarray(arrays[ours])))
    return state


def torch_definition(model: Sequential, weights: str = "model.safetensors") -> str:
    """Python code building the matching ``torch.nn.Sequential`` and loading ``weights``."""
    lines = [
        "import torch",
        "from collections import OrderedDict",
        "from safetensors.torch import load_file",
        "from torch import nn",
        "",
        "model = nn.Sequential(OrderedDict([",
    ]
    lines += [f"    ({m.name!r}, {m.code})," for m in torch_modules(model)]
    shape = ", ".join(str(s) for s in model.input_shape)
    lines += [
        "]))",
        f"model.load_state_dict(load_file({weights!r}))",
        "model.eval()",
        f"# x: torch.float32 (N, {shape}); logits = model(x); "
        "probabilities = logits.softmax(dim=1)",
    ]
    return "\n".join(lines)


# -- one converter per layer class ------------------------------------------------------------
def _call(cls: str, *args, **kwargs) -> str:
    """``nn.Cls(args, key=value)`` with keyword arguments left out when they are None."""
    def text(v):  # (2, 2) -> 2, as torch accepts and people write
        return repr(v[0]) if isinstance(v, tuple) and len(set(v)) == 1 else repr(v)

    parts = [text(a) for a in args]
    parts += [f"{k}={text(v)}" for k, v in kwargs.items() if v is not None]
    return f"{cls}({', '.join(parts)})"


def _default(value, default):
    return None if value == default else value


def _overrun(layer, in_shape) -> bool:
    """Whether a ``ceil`` window overruns the padding here (torch's Conv has no ceil_mode)."""
    hw = in_shape[1:] if len(in_shape) == 3 else (1, in_shape[1])
    return layer.window.applied_padding(hw) != layer.window.padding


def _conv(name, layer, in_shape):
    one_d = layer.window.dims == 1
    dims = 1 if one_d else 2
    if _overrun(layer, in_shape):
        raise ConfigError(
            _("{name}: rounding='ceil' with a partial last window has no torch Conv{dims}d "
              "equivalent (torch floors); rebuild with padding that makes the size divide",
              name=name, dims=dims)
        )
    k, s, pads, d = layer.window.own_axes()
    symmetric = all(a == b for a, b in pads)
    out = []
    padding = tuple(a for a, _after in pads) if symmetric else (0,) * dims
    if not symmetric:
        # torch's F.pad order: last axis first, (left, right, top, bottom)
        border = tuple(p for pair in reversed(pads) for p in pair)
        out.append(TorchModule(f"{name}_pad",
                               _call(_PAD_MODULES[layer.padding_mode].format(dims), border)))
    mode = layer.padding_mode if symmetric else "zeros"
    unpack = (lambda t: t[0]) if one_d else (lambda t: t)
    code = _call(f"nn.Conv{dims}d", layer.in_channels, layer.out_channels,
                 kernel_size=unpack(k), stride=_default(unpack(s), unpack((1,) * dims)),
                 padding=_default(unpack(padding), unpack((0,) * dims)),
                 dilation=_default(unpack(d), unpack((1,) * dims)),
                 groups=_default(layer.groups, 1), bias=_default(layer.b is not None, True),
                 padding_mode=_default(mode, "zeros"))
    tensors = {"weight": (f"{name}.W", _same)}
    if layer.b is not None:
        tensors["bias"] = (f"{name}.b", _same)
    return [*out, TorchModule(name, code, tensors)]


def _pool(name, layer, in_shape):
    one_d = layer.window.dims == 1
    k, s, pads, d = layer.window.own_axes()
    if any(a != b for a, b in pads):
        raise ConfigError(_("{name}: torch's pooling pads both sides alike; got {padding}",
                            name=name, padding=layer.padding))
    pick = (lambda t: t[0]) if one_d else (lambda t: t)
    dims = 1 if one_d else 2
    kind = "Max" if isinstance(layer, MaxPool2D) else "Avg"
    kwargs = {"stride": pick(s),
              "padding": _default(pick(tuple(a for a, _after in pads)), pick((0, 0))),
              "ceil_mode": _default(layer.rounding == "ceil", False)}
    if kind == "Max":
        kwargs["dilation"] = _default(pick(d), pick((1, 1)))
    else:
        kwargs["count_include_pad"] = _default(layer.count_include_pad, True)
    return [TorchModule(name, _call(f"nn.{kind}Pool{dims}d", pick(k), **kwargs))]


def _linear(name, layer, in_shape):
    out = []
    if len(in_shape) > 1:  # tatamu's Linear flattens its input; torch needs a Flatten module
        out.append(TorchModule(f"{name}_flatten", "nn.Flatten()"))
    code = _call("nn.Linear", layer.in_features, layer.out_features,
                 bias=_default(layer.b is not None, True))
    tensors = {"weight": (f"{name}.W", _transpose)}
    if layer.b is not None:
        tensors["bias"] = (f"{name}.b", _same)
    return [*out, TorchModule(name, code, tensors)]


def _batchnorm(name, layer, in_shape):
    dims = 2 if isinstance(layer, BatchNorm2D) else 1
    code = _call(f"nn.BatchNorm{dims}d", layer.num_features, eps=_default(layer.eps, 1e-5),
                 momentum=_default(layer.momentum, 0.1))
    return [TorchModule(name, code, {
        "weight": (f"{name}.gamma", _same), "bias": (f"{name}.beta", _same),
        "running_mean": (f"{name}.running_mean", _same),
        "running_var": (f"{name}.running_var", _same),
        "num_batches_tracked": (None, _same),
    })]


def _simple(code: str | Callable):
    def convert(name, layer, in_shape):
        return [TorchModule(name, code(layer) if callable(code) else code)]
    return convert


_CONVERTERS = {
    Conv2D: _conv, Conv1D: _conv, Linear: _linear,
    MaxPool2D: _pool, AvgPool2D: _pool, MaxPool1D: _pool, AvgPool1D: _pool,
    GlobalAvgPool2D: lambda name, layer, in_shape: [
        TorchModule(name, "nn.AdaptiveAvgPool2d(1)"),
        TorchModule(f"{name}_flatten", "nn.Flatten()")],
    BatchNorm2D: _batchnorm, BatchNorm1D: _batchnorm,
    ReLU: _simple("nn.ReLU()"), Sigmoid: _simple("nn.Sigmoid()"), Tanh: _simple("nn.Tanh()"),
    LeakyReLU: _simple(lambda layer: _call("nn.LeakyReLU", layer.negative_slope)),
    Dropout: _simple(lambda layer: _call("nn.Dropout", layer.p)),
    Flatten: _simple("nn.Flatten()"),
}
