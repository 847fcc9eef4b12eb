"""PyTorch as an outside oracle: the torch twin of a tatamu layer, and a y/dx/dW/db comparison.

``torch_twin(layer)`` builds the ``torch.nn`` module that the same constructor arguments mean
in PyTorch and copies the weights into it. Where tatamu and PyTorch differ on purpose the
mapping says so:

- ``Linear.W`` is (in_features, out_features), the book's ``x @ W``; torch's ``weight`` is the
  transpose (out, in).
- BatchNorm's ``gamma``/``beta`` are torch's ``weight``/``bias``; running statistics are
  buffers with the same names.
- ``rounding="floor"`` (or a size that divides under ``"strict"``) is torch's default;
  ``rounding="ceil"`` is ``ceil_mode=True``. Conv has no ceil mode in torch.
- asymmetric padding ``((top, bottom), (left, right))`` is ``F.pad`` then an unpadded conv.

``compare_with_torch(layer, x, dout, rtol, atol)`` runs forward and backward on both and
asserts that the output, ``dx`` and every parameter gradient (and the running statistics)
agree. torch is imported lazily so that this module imports without it; tests using it call
``import_torch()`` (``pytest.importorskip("torch")``, one thread) first.
"""

from __future__ import annotations

import numpy as np
import pytest


def import_torch():
    """``pytest.importorskip("torch")``, with torch kept to one thread.

    The oracle runs on tiny tensors, where torch's thread pool costs far more than it saves
    (10x slower per call on a busy 2-core machine).
    """
    torch = pytest.importorskip("torch")
    if torch.get_num_threads() != 1:
        torch.set_num_threads(1)
    return torch


def _tuple(value):
    if isinstance(value, list):
        return tuple(_tuple(v) for v in value)
    return value


def _torch_dtype(dtype):
    import torch

    return {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[
        np.dtype(dtype)
    ]


def _asymmetric_conv(cfg, nd):
    """``F.pad`` with explicit (before, after) pairs, then an unpadded torch conv."""
    import torch
    from torch.nn import functional as F

    conv_cls = torch.nn.Conv2d if nd == 2 else torch.nn.Conv1d
    conv = conv_cls(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"],
                    stride=cfg["stride"], padding=0, dilation=cfg["dilation"],
                    groups=cfg["groups"], bias=cfg["bias"])
    pads = cfg["padding"] if nd == 2 else ((0, 0), cfg["padding"])
    (top, bottom), (left, right) = pads
    flat = (left, right) if nd == 1 else (left, right, top, bottom)  # torch: last axis first
    mode = {"zeros": "constant"}.get(cfg["padding_mode"], cfg["padding_mode"])

    class Padded(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = conv
            self.weight, self.bias = conv.weight, conv.bias

        def forward(self, x):
            return self.conv(F.pad(x, flat, mode=mode))

    return Padded()


def _flatten_linear(cfg):
    """tatamu's Linear flattens (N, ...) first, as the book's Affine; torch's acts on the
    last axis, so the twin is Flatten then Linear."""
    import torch

    class FlattenLinear(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(cfg["in_features"], cfg["out_features"],
                                          bias=cfg["bias"])
            self.weight, self.bias = self.linear.weight, self.linear.bias

        def forward(self, x):
            return self.linear(torch.flatten(x, 1))

    return FlattenLinear()


def _is_pair_of_pairs(padding) -> bool:
    return isinstance(padding, tuple) and all(isinstance(p, tuple) for p in padding)


def torch_twin(layer):
    """The torch module equivalent to ``layer`` (same config), with the same weights."""
    import torch

    from tatamu import layers as L

    cfg = {k: _tuple(v) for k, v in layer.config().items()}
    nn = torch.nn
    name = type(layer).__name__
    if isinstance(layer, (L.Conv1D, L.Conv2D)):
        nd = 1 if isinstance(layer, L.Conv1D) else 2
        padding = cfg["padding"]
        if nd == 1 and isinstance(padding, tuple):
            padding = padding if padding[0] != padding[1] else padding[0]
        if _is_pair_of_pairs(padding) or (nd == 1 and isinstance(padding, tuple)):
            cfg["padding"] = padding
            module = _asymmetric_conv(cfg, nd)
        else:
            conv_cls = nn.Conv2d if nd == 2 else nn.Conv1d
            module = conv_cls(cfg["in_channels"], cfg["out_channels"], cfg["kernel_size"],
                              stride=cfg["stride"], padding=padding, dilation=cfg["dilation"],
                              groups=cfg["groups"], bias=cfg["bias"],
                              padding_mode=cfg["padding_mode"])
    elif isinstance(layer, L.Linear):
        module = _flatten_linear(cfg)
    elif isinstance(layer, (L.MaxPool1D, L.MaxPool2D)):
        cls = nn.MaxPool1d if isinstance(layer, L.MaxPool1D) else nn.MaxPool2d
        module = cls(cfg["kernel_size"], cfg["stride"], cfg["padding"], cfg["dilation"],
                     ceil_mode=cfg["rounding"] == "ceil")
    elif isinstance(layer, (L.AvgPool1D, L.AvgPool2D)):
        cls = nn.AvgPool1d if isinstance(layer, L.AvgPool1D) else nn.AvgPool2d
        module = cls(cfg["kernel_size"], cfg["stride"], cfg["padding"],
                     ceil_mode=cfg["rounding"] == "ceil",
                     count_include_pad=cfg["count_include_pad"])
    elif isinstance(layer, L.GlobalAvgPool2D):
        module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    elif isinstance(layer, (L.BatchNorm1D, L.BatchNorm2D)):
        cls = nn.BatchNorm2d if isinstance(layer, L.BatchNorm2D) else nn.BatchNorm1d
        module = cls(cfg["num_features"], eps=cfg["eps"], momentum=cfg["momentum"])
    elif name == "Dropout":  # comparable in eval mode only: the random masks differ
        module = nn.Dropout(cfg["p"])
    elif name == "LeakyReLU":
        module = nn.LeakyReLU(cfg["negative_slope"])
    elif name in ("ReLU", "Sigmoid", "Tanh", "Flatten"):
        module = getattr(nn, name)()
    else:
        raise NotImplementedError(f"no torch twin for {name}")
    module = module.to(_torch_dtype(getattr(layer, "dtype", np.float64)))
    copy_weights(layer, module)
    module.train(layer.training)
    return module


def copy_weights(layer, module) -> None:
    """Copy tatamu's parameters and buffers into the torch twin (Linear's W transposed)."""
    import torch

    from tatamu import layers as L

    with torch.no_grad():
        for name, value in {**layer.params(), **layer.buffers()}.items():
            if value is None:
                continue
            target = getattr(module, _torch_name(name))
            src = value.T if isinstance(layer, L.Linear) and name == "W" else value
            target.copy_(torch.from_numpy(np.ascontiguousarray(src)).reshape(target.shape))


def _torch_name(name: str) -> str:
    return {"W": "weight", "b": "bias", "gamma": "weight", "beta": "bias"}.get(name, name)


def _torch_grad(layer, module, name):
    from tatamu import layers as L

    grad = getattr(module, _torch_name(name)).grad.detach().numpy()
    return grad.T if isinstance(layer, L.Linear) and name == "W" else grad


def compare_with_torch(layer, x: np.ndarray, dout: np.ndarray, rtol: float, atol: float,
                       module=None) -> None:
    """Assert that tatamu and torch agree on y, dx, the parameter gradients and the buffers.

    The torch twin is built from ``layer`` *before* tatamu's forward (which updates
    BatchNorm's running statistics). ``dout`` has the output's shape.
    """
    torch = import_torch()
    module = torch_twin(layer) if module is None else module
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yt = module(xt)
    yt.backward(torch.from_numpy(dout.copy()))

    y = layer.forward(x)
    dx = layer.backward(dout)
    opts = {"rtol": rtol, "atol": atol}
    np.testing.assert_allclose(y, yt.detach().numpy(), err_msg="forward y", **opts)
    np.testing.assert_allclose(dx, xt.grad.numpy(), err_msg="dx", **opts)
    assert y.dtype == x.dtype and dx.dtype == x.dtype
    for name in layer.param_names:
        grad = layer.grads()[name]
        assert grad.dtype == x.dtype, name
        np.testing.assert_allclose(grad, _torch_grad(layer, module, name),
                                   err_msg=f"d{name}", **opts)
    for name, value in layer.buffers().items():
        np.testing.assert_allclose(value, getattr(module, name).detach().numpy(),
                                   err_msg=name, **opts)
