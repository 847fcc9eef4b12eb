"""What the drawing page asks, answered with the library: a prediction and conv1's arithmetic.

Everything here is plain data in, plain data out (dicts ready for JSON), so it is tested
without a server. The model is used under one lock: layers keep per-call state, and the
server answers requests from several threads.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ...checkpoint import store as checkpoint
from ...display import format_number
from ...errors import DataError
from ...padding import pad
from ...viz.probe import conv_layers, layer_outputs, map_layers
from ..images import OPTIONAL_STEPS, STEPS
from ..recognise import class_names_of, framing_for, recognise

#: ``data:image/png;base64,...`` (any image type; the bytes decide what it really is).
DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,(?P<data>[A-Za-z0-9+/=\s]*)", re.I)
#: Feature maps sent per layer: enough to see what a layer does, small enough to draw live.
MAX_CHANNELS = 32


class RequestError(DataError):
    """A request the page (or another client) got wrong: answered 400 with this message."""


class DrawApp:
    """A checkpoint loaded for the page: ``predict(payload)`` and ``explain(payload)``."""

    def __init__(self, path: str | Path):
        saved = checkpoint.read(path)
        self.model, self.meta = saved.model.eval(), saved.meta
        self.framing = framing_for(self.meta, self.model.input_shape)  # refuses 1-D models
        self.names = class_names_of(self.model, self.meta)
        self.maps = map_layers(self.model)
        convs = conv_layers(self.model)
        self.first_conv = convs[0] if convs else None
        self.lock = threading.Lock()
        self._last: tuple[tuple, np.ndarray, dict] | None = None  # (key, input, outputs)

    def info(self) -> dict[str, Any]:
        """What the page needs before the first drawing: classes, steps, layers."""
        return {"classes": self.names, "steps": list(STEPS), "optional": list(OPTIONAL_STEPS),
                "framing": self.framing.name, "input_shape": list(self.model.input_shape),
                "layers": self.maps, "first_conv": self.first_conv}

    def predict(self, payload: Any) -> dict[str, Any]:
        """``{"image": data URL, "skip": [steps]}`` -> the prediction and what led to it.

        Answers ``prediction``, ``probabilities``, ``input`` (H lists of W floats in [0, 1]),
        ``steps`` (names applied), and for the page: ``top``, ``unsure``, ``notes``, ``maps``
        (per conv/pool layer: its first MAX_CHANNELS feature maps).
        """
        picture, skip = self._read(payload)
        with self.lock:
            rec, outputs = self._run(payload["image"], picture, skip)
        x = rec.prepared.image
        return {
            "prediction": rec.prediction,
            "probabilities": [round(float(p), 6) for p in rec.probabilities],
            "input": np.round(x[0].astype(np.float64), 4).tolist(),
            "steps": rec.prepared.steps,
            "notes": rec.prepared.notes,
            "top": [{"class": i, "name": n, "probability": p} for i, n, p in rec.top],
            "unsure": rec.unsure,
            "classes": self.names,
            "maps": [{"layer": name, "shape": list(outputs[name].shape[1:]),
                      "data": np.round(outputs[name][0, :MAX_CHANNELS].astype(np.float64),
                                       3).tolist()}
                     for name in self.maps],
        }

    def explain(self, payload: Any) -> dict[str, Any]:
        """One pixel of the first conv layer's map, worked out as ``tatamu explain`` prints it.

        ``{"image", "skip", "channel", "row", "col"}`` -> ``{"text", "value", "layer"}``:
        window x filter + bias = value, every term written out; the value is the layer's own
        output (the sum is checked against it, never computed instead of it).
        """
        if self.first_conv is None:
            raise RequestError("this model has no convolution layer to explain")
        picture, skip = self._read(payload)
        with self.lock:  # the cached input and maps belong to this very picture
            key = (payload["image"], tuple(sorted(skip)))
            if self._last is None or self._last[0] != key:
                self._run(payload["image"], picture, skip)
            _, x, outputs = self._last
        layer = self.model.layers[self.first_conv]
        fmap = outputs[self.first_conv][0]  # (FN, OH, OW)
        c, i, j = (_index(payload, k, n) for k, n in zip(("channel", "row", "col"),
                                                           fmap.shape, strict=True))
        return conv_pixel(layer, x, c, i, j, float(fmap[c, i, j]), self.first_conv)

    def _run(self, data_url: str, picture: bytes, skip: list[str]):
        """Prepare, classify and keep every layer's output (the caller holds the lock)."""
        rec = recognise(self.model, self.meta, picture, top=3, skip=skip, name="the drawing")
        x = rec.prepared.image
        outputs = layer_outputs(self.model, x[None].astype(self.model.dtype))
        self._last = ((data_url, tuple(sorted(skip))), x, outputs)
        return rec, outputs

    def _read(self, payload: Any) -> tuple[bytes, list[str]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
            raise RequestError('expected a JSON object {"image": "data:image/png;base64,..."}')
        match = DATA_URL.fullmatch(payload["image"].strip())
        if not match:
            raise RequestError('"image" must be a data URL: data:image/png;base64,...')
        try:
            picture = base64.b64decode("".join(match["data"].split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestError(f'"image" is not valid base64 ({exc})') from None
        skip = payload.get("skip", [])
        if not isinstance(skip, list) or not all(s in OPTIONAL_STEPS for s in skip):
            raise RequestError(f'"skip" must be a list of step names from: '
                               f'{", ".join(OPTIONAL_STEPS)}')
        return picture, skip


def _index(payload: dict, key: str, size: int) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < size:
        raise RequestError(f'"{key}" must be a whole number from 0 to {size - 1}')
    return value


def conv_pixel(layer, x: np.ndarray, c: int, i: int, j: int, value: float,
               name: str = "conv1") -> dict[str, Any]:
    """The multiply-add behind ``layer``'s output (c, i, j) for one input ``x`` (C, H, W).

    Shapes: x (C, H, W); the window and filter (C/G, FH, FW).
    """
    win = layer.window
    (kh, kw), (sh, sw), pads, (dh, dw) = win.kernel, win.stride, win.padding, win.dilation
    group = c // (layer.out_channels // layer.groups)
    per_group = layer.in_channels // layer.groups
    padded = pad(x[None].astype(np.float64), pads, layer.padding_mode)[0]  # (C, H+2P, W+2P)
    window = padded[group * per_group: (group + 1) * per_group,
                    i * sh: i * sh + (kh - 1) * dh + 1: dh,
                    j * sw: j * sw + (kw - 1) * dw + 1: dw]  # (C/G, FH, FW)
    weights = layer.W[c].astype(np.float64)
    bias = float(layer.b[c]) if layer.b is not None else 0.0
    total = float((window * weights).sum()) + bias
    if not np.isclose(total, value, rtol=1e-3, atol=1e-4):
        raise AssertionError(f"the worked sum {total} must equal the layer's output {value}")
    terms = " + ".join(f"{format_number(a)}*{format_number(b)}"
                       for a, b in zip(window.ravel(), weights.ravel(), strict=True))
    with_bias = f" + {format_number(bias)}" if layer.b is not None else ""
    top, left = i * sh - pads[0][0], j * sw - pads[1][0]  # in the unpadded input
    return {"layer": name, "channel": c, "row": i, "col": j, "value": value,
            "window": {"top": top, "left": left, "height": (kh - 1) * dh + 1,
                       "width": (kw - 1) * dw + 1},
            "text": f"{name}[{c}] out[{i}, {j}]: the window at rows {i * sh}-"
                    f"{i * sh + (kh - 1) * dh}, columns {j * sw}-{j * sw + (kw - 1) * dw}"
                    f"{' of the padded input' if any(map(any, pads)) else ''} ⊛ filter {c} "
                    f"({window.size} products)\n  {terms}{with_bias} = {format_number(value)}"}
