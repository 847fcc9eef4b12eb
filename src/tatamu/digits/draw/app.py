"""What the drawing page asks, answered with the library: a prediction and conv1's arithmetic.

Everything here is plain data in, plain data out (dicts ready for JSON), so it is tested
without a server. The model is used under one lock: layers keep per-call state, and the
server answers requests from several threads.

Over time (issue 24): given a run folder, the page can ask for any epoch the run saved in
``epochs/`` (``"epoch": k``; default the last), and given several runs, for each of them
(``"run": i``): the same drawing through the network as it was after each epoch.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ...backend.arrays import as_numpy
from ...checkpoint import store as checkpoint
from ...display import format_number
from ...errors import ConfigError, DataError
from ...i18n import LANGUAGES, _, checked, normalise
from ...padding import pad
from ...training.history import upgrade_history
from ...training.run import epoch_files, resolve_checkpoint
from ...viz.probe import conv_layers, layer_outputs, map_layers
from ..images import OPTIONAL_STEPS, STEPS
from ..recognise import class_names_of, framing_for, recognise
from .texts import page_texts

#: ``data:image/png;base64,...`` (any image type; the bytes decide what it really is).
DATA_URL = re.compile(r"data:image/[a-z0-9.+-]+;base64,(?P<data>[A-Za-z0-9+/=\s]*)", re.I)
#: Feature maps sent per layer: enough to see what a layer does, small enough to draw live.
MAX_CHANNELS = 32


class RequestError(DataError):
    """A request the page (or another client) got wrong: answered 400 with this message."""


class DrawApp:
    """Checkpoints loaded for the page: ``predict(payload)``, ``explain(payload)``, ``epochs()``.

    ``sources``: checkpoint files or run folders (a run folder with ``epochs/`` offers each of
    its epochs; one without, its best.npz or last.npz). The first is the page's main view; the
    others are shown beside it, and must read the same pictures (framing and classes).
    ``language``: the page's language (``"ja"``, ``"en"``); None: each browser's own.
    """

    def __init__(self, *sources: str | Path, language: str | None = None):
        self.language = None if language is None else checked(language)
        if not sources:
            raise ConfigError(_("give a checkpoint or a run folder to draw on"))
        self.views = [RunView(Path(s)) for s in sources]
        self.model, self.meta = self.views[0].load(None)
        self.framing = framing_for(self.meta, self.model.input_shape)  # refuses 1-D models
        self.names = class_names_of(self.model, self.meta)
        for view in self.views[1:]:
            model, meta = view.load(None)
            if (framing_for(meta, model.input_shape) != self.framing
                    or class_names_of(model, meta) != self.names):
                raise ConfigError(_("{source} does not read the same pictures as {first} "
                                    "(another dataset or input): side by side needs runs on "
                                    "the same data", source=view.source,
                                    first=self.views[0].source))
        self.maps = map_layers(self.model)
        convs = conv_layers(self.model)
        self.first_conv = convs[0] if convs else None
        self.lock = threading.Lock()
        self._last: tuple[tuple, np.ndarray, dict] | None = None  # (key, input, outputs)

    def info(self) -> dict[str, Any]:
        """What the page needs before the first drawing: classes, steps, layers, runs, and its
        words in every language (``texts``) with the one to show (``language``; None: the
        browser's)."""
        return {"classes": self.names, "steps": list(STEPS), "optional": list(OPTIONAL_STEPS),
                "framing": self.framing.name, "input_shape": list(self.model.input_shape),
                "layers": self.maps, "first_conv": self.first_conv,
                "runs": [view.describe() for view in self.views], "language": self.language,
                "languages": list(LANGUAGES), "texts": page_texts()}

    def language_of(self, payload: Any) -> str:
        """The language to answer ``payload`` in: the one given to the app, else the page's
        ``"lang"`` (its browser's), else English."""
        asked = payload.get("lang") if isinstance(payload, dict) else None
        return self.language or (normalise(asked) if isinstance(asked, str) else None) or "en"

    def epochs(self) -> dict[str, Any]:
        """``GET /api/epochs``: the epochs each run offers (and their figures) for the slider.

        ``epochs``/``default``: the main run's ([] and None for a single checkpoint);
        ``runs``: every run's, with its validation and test accuracy after each epoch.
        """
        runs = [view.describe(figures=True) for view in self.views]
        return {"epochs": runs[0]["epochs"], "default": runs[0]["default"], "runs": runs}

    def predict(self, payload: Any) -> dict[str, Any]:
        """``{"image": data URL, "skip": [steps], "name": optional}`` -> the prediction and
        what led to it. ``name`` (a photo's file name) is what an error calls the picture.

        Answers ``prediction``, ``probabilities``, ``input`` (H lists of W floats in [0, 1]),
        ``steps`` (names applied), and for the page: ``top``, ``unsure``, ``hint`` (a photo
        too faint to trust: what would help; else null), ``contrast``, ``notes``, ``maps``
        (per conv/pool layer: its first MAX_CHANNELS feature maps).
        """
        picture, skip = self._read(payload)
        index, epoch = self._which(payload)
        with self.lock:
            model, meta = self.views[index].load(epoch)
            rec, outputs = self._run(payload["image"], picture, skip, index, epoch,
                                     _name(payload))
        x = rec.prepared.image
        maps = map_layers(model)
        return {
            "run": index,
            "epoch": epoch if epoch is not None else self.views[index].default,
            "filters": first_filters(model),
            "prediction": rec.prediction,
            "probabilities": [round(float(p), 6) for p in rec.probabilities],
            "input": np.round(x[0].astype(np.float64), 4).tolist(),
            "steps": rec.prepared.steps,
            "notes": rec.prepared.notes,
            "top": [{"class": i, "name": n, "probability": p} for i, n, p in rec.top],
            "unsure": rec.unsure,
            "hint": rec.hint,
            "contrast": (None if rec.prepared.contrast is None
                         else round(rec.prepared.contrast, 4)),
            "classes": self.names,
            "maps": [{"layer": name, "shape": list(outputs[name].shape[1:]),
                      "data": np.round(outputs[name][0, :MAX_CHANNELS].astype(np.float64),
                                       3).tolist()}
                     for name in maps],
        }

    def explain(self, payload: Any) -> dict[str, Any]:
        """One pixel of the first conv layer's map, worked out as ``tatamu explain`` prints it.

        ``{"image", "skip", "channel", "row", "col"}`` -> ``{"text", "value", "layer"}``:
        window x filter + bias = value, every term written out; the value is the layer's own
        output (the sum is checked against it, never computed instead of it).
        """
        picture, skip = self._read(payload)
        index, epoch = self._which(payload)
        with self.lock:  # the cached input and maps belong to this very picture
            model, _meta = self.views[index].load(epoch)
            first_conv = next(iter(conv_layers(model)), None)
            if first_conv is None:
                raise RequestError(_("this model has no convolution layer to explain"))
            key = (payload["image"], tuple(sorted(skip)), index, epoch)
            if self._last is None or self._last[0] != key:
                self._run(payload["image"], picture, skip, index, epoch)
            _key, x, outputs = self._last
        layer = model.layers[first_conv]
        fmap = outputs[first_conv][0]  # (FN, OH, OW)
        c, i, j = (_index(payload, k, n) for k, n in zip(("channel", "row", "col"),
                                                           fmap.shape, strict=True))
        return conv_pixel(layer, x, c, i, j, float(fmap[c, i, j]), first_conv)

    def _run(self, data_url: str, picture: bytes, skip: list[str], index: int = 0,
             epoch: int | None = None, name: str | None = None):
        """Prepare, classify and keep every layer's output (the caller holds the lock)."""
        model, meta = self.views[index].load(epoch)
        rec = recognise(model, meta, picture, top=3, skip=skip, name=name or _("the drawing"))
        x = rec.prepared.image
        outputs = layer_outputs(model, x[None].astype(model.dtype))
        self._last = ((data_url, tuple(sorted(skip)), index, epoch), x, outputs)
        return rec, outputs

    def _which(self, payload: dict) -> tuple[int, int | None]:
        """The run (``"run"``, default 0) and epoch (``"epoch"``, default its last) asked for."""
        index = payload.get("run", 0)
        if not isinstance(index, int) or isinstance(index, bool) or not (
                0 <= index < len(self.views)):
            raise RequestError(_("\"{key}\" must be a whole number from 0 to {value}",
                                 key="run", value=len(self.views) - 1))
        epoch = payload.get("epoch")
        if epoch is not None:
            self.views[index].check_epoch(epoch)
        return index, epoch

    def _read(self, payload: Any) -> tuple[bytes, list[str]]:
        if not isinstance(payload, dict) or not isinstance(payload.get("image"), str):
            raise RequestError(_("expected a JSON object {\"image\": "
                                 "\"data:image/png;base64,...\"}"))
        match = DATA_URL.fullmatch(payload["image"].strip())
        if not match:
            raise RequestError(_("\"image\" must be a data URL: data:image/png;base64,..."))
        try:
            picture = base64.b64decode("".join(match["data"].split()), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestError(_("\"image\" is not valid base64 ({exc})", exc=exc)) from None
        skip = payload.get("skip", [])
        if not isinstance(skip, list) or not all(s in OPTIONAL_STEPS for s in skip):
            raise RequestError(_("\"skip\" must be a list of step names from: {optional_steps}",
                                 optional_steps=", ".join(OPTIONAL_STEPS)))
        return picture, skip


class RunView:
    """One run (or one checkpoint) on the page: its checkpoints by epoch, each read when first
    asked for (a run of 20 epochs does not load 20 models to show the last)."""

    def __init__(self, source: Path) -> None:
        self.source = source
        self.files = epoch_files(source) if source.is_dir() else {}
        self.single = None if self.files else resolve_checkpoint(source)
        self.default = max(self.files) if self.files else None
        self.name = source.name if source.is_dir() or not source.parent.name else (
            f"{source.parent.name}/{source.name}")
        self._loaded: dict[int | None, tuple] = {}

    def check_epoch(self, epoch: Any) -> None:
        if not self.files:
            raise RequestError(_("{name} is one checkpoint, not a run with epochs: leave out "
                                 "\"epoch\", or draw a run folder", name=self.name))
        if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch not in self.files:
            raise RequestError(_("\"epoch\" {epoch!r} is not an epoch {name} saved; it has "
                                 "{epochs}", epoch=epoch, name=self.name,
                                 epochs=epoch_span(list(self.files))))

    def load(self, epoch: int | None):
        """(model in eval mode, metadata) at ``epoch`` (None: the last, or the checkpoint)."""
        epoch = self.default if epoch is None else epoch
        if epoch not in self._loaded:
            saved = checkpoint.read(self.files[epoch] if self.files else self.single)
            self._loaded[epoch] = (saved.model.eval(), saved.meta)
        return self._loaded[epoch]

    def describe(self, figures: bool = False) -> dict[str, Any]:
        """Name, epochs and default epoch; with ``figures``, each epoch's validation and test
        accuracy (None where not measured; epoch 0 is before training)."""
        epochs = list(self.files)
        out = {"name": self.name, "epochs": epochs, "default": self.default}
        if figures:
            _model, meta = self.load(None)
            history = upgrade_history(meta.get("history") or {}, meta)
            for kind in ("val_accuracy", "test_accuracy"):
                by_epoch = dict(zip(history.get("epoch") or [], history.get(kind) or [],
                                    strict=False))
                out[kind] = [by_epoch.get(e) for e in epochs]
        return out


def first_filters(model) -> dict[str, Any] | None:
    """The first convolution's filters for the page: each one averaged over its input channels.

    Shapes: W (FN, C, FH, FW) -> data (FN, FH, FW); 1-D filters (FN, C, K) -> (FN, 1, K).
    """
    convs = conv_layers(model)
    if not convs:
        return None
    weights = as_numpy(model.layers[convs[0]].W).astype(np.float64)
    if weights.ndim == 3:
        weights = weights[:, :, None, :]  # (FN, C, K) -> (FN, C, 1, K)
    tiles = weights.mean(axis=1)  # (FN, FH, FW)
    return {"layer": convs[0], "shape": list(tiles.shape),
            "data": np.round(tiles, 4).tolist()}


def epoch_span(epochs: list[int]) -> str:
    """``epochs 0-12`` for a whole range, else the list: what a run has, in words."""
    if epochs == list(range(epochs[0], epochs[-1] + 1)):
        return (_("epochs {first}-{last}", first=epochs[0], last=epochs[-1]) if len(epochs) > 1
                else _("epoch {epoch}", epoch=epochs[0]))
    return _("epochs {epochs}", epochs=", ".join(map(str, epochs)))


def _name(payload: dict) -> str:
    """What an error calls the picture: the photo's file name the page sent, on one line and
    at most 80 characters, or "the drawing"."""
    name = payload.get("name")
    if name is None:
        return _("the drawing")
    if not isinstance(name, str):
        raise RequestError(_("\"name\" must be a string (the picture's file name)"))
    return " ".join(name.split())[:80] or _("the drawing")


def _index(payload: dict, key: str, size: int) -> int:
    value = payload.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < size:
        raise RequestError(_("\"{key}\" must be a whole number from 0 to {value}",
                             key=key, value=size - 1))
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
            "text": _("{layer}[{c}] out[{i}, {j}]: the window at rows {top}-{bottom}, columns "
                      "{left}-{right}{padded} ⊛ filter {c} ({products} products)", layer=name,
                      c=c, i=i, j=j, top=i * sh, bottom=i * sh + (kh - 1) * dh, left=j * sw,
                      right=j * sw + (kw - 1) * dw, products=window.size,
                      padded=_(" of the padded input") if any(map(any, pads)) else "")
                    + f"\n  {terms}{with_bias} = {format_number(value)}"}
