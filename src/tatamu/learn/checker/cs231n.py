"""The CS231n form: layers as pairs of functions, ``*_forward`` returning ``(out, cache)`` and
``*_backward`` taking ``(dout, cache)``.

Assignment 2's ``layers.py`` holds ``conv_forward_naive(x, w, b, conv_param)`` /
``conv_backward_naive(dout, cache) -> (dx, dw, db)`` with ``conv_param = {'stride', 'pad'}``,
``max_pool_forward_naive(x, pool_param)`` / ``max_pool_backward_naive(dout, cache) -> dx``
with ``pool_param = {'pool_height', 'pool_width', 'stride'}`` (no padding), ``affine_*``
(``x`` of any shape, flattened) and ``relu_*``, and ``softmax_loss(x, y) -> (loss, dx)`` with
integer labels. Every pair in a file is found; a pair is named by either function
(``layers.py:conv_forward_naive``) or their common stem (``layers.py:conv``).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

import numpy as np

from .adapters import Adapter, Found

#: the stem of a pair -> its kind (``conv_forward_naive`` has the stem ``conv``)
STEMS = {"conv": "convolution", "max_pool": "pooling", "maxpool": "pooling",
         "affine": "affine", "fc": "affine", "relu": "relu"}
_FORWARD = re.compile(r"^(?P<stem>[a-z0-9_]+?)_forward(?P<suffix>_\w+)?$")


@dataclass(frozen=True)
class Pair:
    """A layer as two functions."""

    stem: str
    forward: object
    backward: object | None  # None for a loss: softmax_loss gives (loss, dx) at once

    @property
    def name(self) -> str:
        return getattr(self.forward, "__name__", self.stem)


@dataclass
class State:
    """A built "layer": the arrays and settings the functions are called with, and the cache
    and gradients they gave back."""

    pair: Pair
    kind: str
    W: np.ndarray | None = None
    b: np.ndarray | None = None
    param: dict | None = None
    cache: object = None
    dW: object = None
    db: object = None
    dx: object = None  # softmax_loss's, kept from forward for backward


def find_pairs(module) -> dict[str, tuple[Pair, str]]:
    """stem+suffix -> (the pair, its kind) for every ``X_forward*`` with its ``X_backward*``
    (and ``softmax_loss``)."""
    functions = {n: v for n, v in vars(module).items() if inspect.isfunction(v)}
    pairs = {}
    for name, fn in functions.items():
        match = _FORWARD.match(name)
        if not match or match["stem"] not in STEMS:
            continue
        suffix = match["suffix"] or ""
        backward = functions.get(f"{match['stem']}_backward{suffix}")
        if backward is not None:
            pairs[name] = (Pair(match["stem"], fn, backward), STEMS[match["stem"]])
    if "softmax_loss" in functions:
        pairs["softmax_loss"] = (Pair("softmax_loss", functions["softmax_loss"], None),
                                 "softmax")
    return pairs


class Cs231nProfile(Adapter):
    """CS231n's ``*_forward`` / ``*_backward`` function pairs (see the module)."""

    name = "cs231n"

    def find(self, module, wanted, kind=None):
        pairs = find_pairs(module)
        found = []
        for name, (pair, k) in pairs.items():
            names = {name, pair.stem, getattr(pair.backward, "__name__", name)}
            if wanted is not None and wanted not in names:
                continue
            if kind not in (None, k):
                continue
            how = (f"the CS231n form: {name} and {pair.backward.__name__}" if pair.backward
                   else "the CS231n form: softmax_loss(x, y) -> (loss, dx)")
            found.append(Found(name, pair, k, how, self))
        if wanted is not None and len(found) > 1:  # the stem named several: the naive first
            found = sorted(found, key=lambda f: "naive" not in f.name)[:1]
        return found

    def display(self, thing) -> str:
        return thing.name

    def call_names(self, thing) -> tuple[str, str]:
        backward = getattr(thing.backward, "__name__", thing.name)
        return thing.name, backward

    def supports(self, thing, kind, geometry):
        if kind == "pooling" and geometry["pad"]:
            return "no padding (pool_param has none)"
        return None

    def build(self, thing, kind, **g):
        if kind == "convolution":
            return State(thing, kind, g["W"], g["b"], {"stride": g["stride"], "pad": g["pad"]})
        if kind == "pooling":
            return State(thing, kind, param={"pool_height": g["pool_h"],
                                             "pool_width": g["pool_w"], "stride": g["stride"]})
        if kind == "affine":
            return State(thing, kind, g["W"], g["b"])
        return State(thing, kind)

    def forward(self, layer: State, x, *rest):
        f = layer.pair.forward
        if layer.kind == "softmax":
            t = rest[0]
            labels = t.argmax(axis=1) if np.ndim(t) == 2 else t  # the course takes labels
            loss, layer.dx = f(x, labels)
            return loss
        if layer.kind == "convolution":
            out, layer.cache = f(x, layer.W, layer.b, dict(layer.param))
        elif layer.kind == "pooling":
            out, layer.cache = f(x, dict(layer.param))
        elif layer.kind == "affine":
            out, layer.cache = f(x, layer.W, layer.b)
        else:
            out, layer.cache = f(x)
        return out

    def backward(self, layer: State, dout):
        if layer.kind == "softmax":
            return None if layer.dx is None else layer.dx * dout
        got = layer.pair.backward(dout, layer.cache)
        if layer.kind in ("convolution", "affine"):
            dx, layer.dW, layer.db = got
            return dx
        return got

    def parameters(self, layer: State):
        return {"W": layer.W, "b": layer.b}

    def gradients(self, layer: State):
        return {"W": layer.dW, "b": layer.db}
