"""Looking inside a trained model with NumPy: layer outputs, input gradients, dreamed inputs.

These are the numbers behind ``tatamu show feature-maps``, ``saliency`` and ``dream``; they
need no matplotlib. Gradients with respect to the *input* come from the same ``backward``
that training uses (the book's §5: backpropagation gives the gradient of anything with
respect to anything upstream), run in eval mode with caching switched on for the occasion.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import ConfigError
from ..i18n import _
from ..layers import Layer
from ..model import Sequential, softmax


def conv_layers(model: Sequential) -> list[str]:
    """Names of the model's convolution layers, in order (``["conv1"]`` for SimpleConvNet).

    A convolution is a layer whose outputs are feature maps (its class says
    ``feature_maps = True``) made by learned filters ``W`` (FN, C, FH, FW) or (FN, C, K).
    """
    return [n for n, layer in model.layers.items()
            if layer.feature_maps and "W" in layer.param_names and layer.W.ndim in (3, 4)]


def map_layers(model: Sequential) -> list[str]:
    """Names of the layers whose outputs are feature maps (conv and pool layers: each class
    says so with ``feature_maps = True``)."""
    return [n for n, layer in model.layers.items() if layer.feature_maps]


def find_layer(model: Sequential, name: str) -> Layer:
    """``model[name]``, or a ConfigError that lists the layers there are."""
    if name not in model.layers:
        raise ConfigError(_("no layer {name!r} in this model; its layers are: {layers}",
                            name=name, layers=', '.join(model.layers)))
    return model.layers[name]


def layer_outputs(model: Sequential, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every layer's output for a batch ``x``, by layer name, in eval mode (nothing cached).

    Shapes: x (N, *input_shape) -> {name: (N, *output_shape of that layer)}.
    """
    outputs = {}
    was_training = model.training
    model.eval()
    try:
        h = x.astype(model.dtype, copy=False)
        for name, layer in model.layers.items():
            h = layer.forward(h)
            outputs[name] = as_numpy(h)
    finally:
        model.train(was_training)
    return outputs


@contextmanager
def input_gradients(model: Sequential) -> Iterator[Sequential]:
    """Eval mode (no Dropout, BatchNorm's running statistics) but every layer caching, and the
    first layer computing dx: what a gradient with respect to the input needs.

    Afterwards every layer is as it was: its flags, its cache (the ``_``-prefixed arrays, so
    no stale cache or extra memory is left behind) and its parameter gradients (``dW``...).
    """
    layers = list(model)
    saved = [(layer.training, layer.caching, layer.needs_input_grad) for layer in layers]
    state = [{k: v for k, v in vars(layer).items()
              if k.startswith("_") or k in {"d" + n for n in layer.param_names}}
             for layer in layers]
    was_training = model.training
    model.eval()
    for layer in layers:
        layer.caching = True
    layers[0].needs_input_grad = True
    try:
        yield model
    finally:
        for layer, (training, caching, needs), before in zip(layers, saved, state, strict=True):
            layer.training, layer.caching, layer.needs_input_grad = training, caching, needs
            for name in [k for k in vars(layer) if k.startswith("_") and k not in before]:
                delattr(layer, name)  # a cache attribute the probe created
            for name, value in before.items():
                setattr(layer, name, value)
        model.training = was_training


def saliency_map(model: Sequential, x: np.ndarray, target: int | None = None, *,
                 smooth: int = 0, noise: float = 0.15,
                 seed: int = 0) -> tuple[np.ndarray, int, np.ndarray]:
    """The gradient of one class score (logit) with respect to each input pixel.

    Where it is large, a small change of the pixel changes the score most: the pixels the
    decision depends on (Simonyan et al. 2013, "saliency maps"). ``target`` defaults to the
    predicted class. A single gradient is noisy; ``smooth=N`` averages it over N copies of
    ``x`` with Gaussian noise of std ``noise`` added (SmoothGrad, Smilkov et al. 2017).

    Shapes: x (C, H, W) one sample -> (gradient (C, H, W), target, probabilities (classes,)).
    """
    with input_gradients(model):
        logits = model.forward(x[None].astype(model.dtype, copy=False))  # (1, classes)
        probs = as_numpy(softmax(logits))[0]
        if target is None:
            target = int(np.argmax(probs))
        if not 0 <= target < probs.shape[0]:
            raise ConfigError(_("class {target} does not exist: the model has classes 0 to "
                                "{value}", target=target, value=probs.shape[0] - 1))
        if smooth > 0:  # (smooth, *x.shape): noisy copies, one batch
            rng = np.random.default_rng(seed)
            batch = x[None] + noise * rng.standard_normal((smooth, *x.shape))
            logits = model.forward(batch.astype(model.dtype))
        dout = np.zeros_like(as_numpy(logits))
        dout[:, target] = 1.0  # d score_target / d logits, for every copy
        dx = as_numpy(model.backward(dout))
    return dx.mean(axis=0), target, probs


def dream(model: Sequential, layer: str, channels: list[int], *, steps: int = 100,
          lr: float = 0.05, decay: float = 0.3, blur: float = 0.3,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Inputs that excite ``channels`` of ``layer`` most: activation maximisation.

    Starting from dark grey noise, each input climbs the gradient of its channel's objective,
    one normalised step of size ``lr`` at a time, kept in the pixel range [0, 1]. Two gentle
    regularisers keep the result looking like an image rather than adversarial noise: each
    step pulls pixels towards black by ``lr * decay * x`` (MNIST's background is black) and
    mixes each pixel with its neighbours by ``blur``. The objective is the mean of the
    channel's *rectified* map (what the next layer sees after ReLU) for a conv or pool layer
    (a plain mean would only ask a linear filter for a uniformly bright or dark image), and
    the unit itself for a fully connected layer: for the last layer a class score ("what the
    network thinks a 7 looks like").

    Returns the inputs (K, *input_shape) and each one's final objective (K,).
    """
    find_layer(model, layer)
    names = list(model.layers)
    stack = [model.layers[n] for n in names[: names.index(layer) + 1]]
    width = model.output_shapes[names.index(layer)][0]
    for ch in channels:
        if not 0 <= ch < width:
            raise ConfigError(_("{layer} has {width} channels (0 to {value}); got channel {ch}",
                                layer=layer, width=width, value=width - 1, ch=ch))
    rng = np.random.default_rng(seed)
    x = (0.3 + 0.05 * rng.standard_normal((len(channels), *model.input_shape))).astype(model.dtype)
    with input_gradients(model):
        for _step in range(steps):
            _score, dx = _objective(stack, x, channels)
            # Normalised step: each input moves by about lr per pixel, whatever the gradient's
            # scale (which differs by orders of magnitude between layers).
            scale = np.abs(dx).reshape(len(x), -1).mean(axis=1) + 1e-12
            x = x + lr * dx / scale.reshape(-1, *([1] * (dx.ndim - 1))) - lr * decay * x
            x = np.clip(_smooth(x, blur), 0.0, 1.0).astype(model.dtype)
        score, _dx = _objective(stack, x, channels)
    return x, score


def _smooth(x: np.ndarray, amount: float) -> np.ndarray:
    """Mix each pixel with the mean of its 4 neighbours (2 for a 1-D signal) by ``amount``.

    Shapes: (K, C, H, W) or (K, C, L) -> the same.
    """
    if amount == 0:
        return x
    if x.ndim == 3:  # (K, C, L): neighbours along L only
        p = np.pad(x, ((0, 0), (0, 0), (1, 1)), mode="edge")
        neighbours = (p[..., :-2] + p[..., 2:]) / 2
    else:
        p = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="edge")
        neighbours = (p[..., :-2, 1:-1] + p[..., 2:, 1:-1]
                      + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]) / 4
    return (1 - amount) * x + amount * neighbours


def _objective(stack: list[Layer], x: np.ndarray, channels: list[int]):
    """Each input's objective for its own channel and the gradient w.r.t. the input.

    Shapes: x (K, *input_shape) -> (score (K,), dx (K, *input_shape)).
    """
    h = x
    for layer in stack:
        h = layer.forward(h)
    h = as_numpy(h)
    rows = np.arange(len(x))
    picked = h[rows, channels]  # (K, *map) or (K,): each input's own channel
    if picked.ndim > 1:  # a feature map: the mean of its positive part
        flat = picked.reshape(len(x), -1)
        score = np.maximum(flat, 0).mean(axis=1)
        # Where no position is positive yet, the rectified mean has no gradient: climb the
        # plain mean until some position wakes up.
        active = (flat > 0) | ~(flat > 0).any(axis=1, keepdims=True)
        dpicked = (active / flat.shape[1]).astype(h.dtype).reshape(picked.shape)
    else:  # one unit of a fully connected layer: its value
        score, dpicked = picked, np.ones_like(picked)
    dout = np.zeros_like(h)
    dout[rows, channels] = dpicked
    for layer in reversed(stack):
        dout = layer.backward(dout)
    return np.asarray(score, dtype=np.float64), as_numpy(dout)
