"""``tatamu show WHAT CHECKPOINT``: one function that turns a run into one picture.

Finds the checkpoint (a file, or a run folder's ``best.npz``), its ``initial.npz`` and
``history.json`` beside it, the test set it was trained for (from its metadata), picks the
image asked for, draws, saves into the current folder (or ``out``) and returns the path.
Usable from Python as well: ``tatamu.viz.show("filters", "runs/simple-mnist-...")``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..checkpoint import store as ckpt
from ..errors import ConfigError, DataError, Fix, Name
from ..i18n import _, ngettext
from ..training import run
from ..training.history import upgrade_history

#: What ``show`` can draw, in the order the CLI lists them.
WHATS = ("filters", "feature-maps", "errors", "confusion", "curves", "saliency", "dream")


def show(what: str, checkpoint: str | Path, *, out: str | Path | None = None,
         image: int | str | None = None, layer: str | None = None,
         channels: list[int] | None = None, limit: int | None = None, count: int = 25,
         dataset: str | None = None, data_root: str | Path | None = None,
         target: int | None = None, smooth: int = 0, steps: int = 100,
         seed: int = 0) -> Path:
    """Draw ``what`` (one of :data:`WHATS`) for ``checkpoint`` and return the PNG's path.

    ``out``: a ``.png`` path, or a folder for the default file name (default: the current
    folder). ``image``: a test-set index or an image file (feature-maps, saliency).
    ``limit``: use only the first N test images (errors, confusion). See ``tatamu show -h``.
    """
    if what not in WHATS:
        raise ConfigError(_("cannot show {what!r}; choose one of {whats}",
                            what=what, whats=', '.join(WHATS)))
    path = run.resolve_checkpoint(checkpoint)
    saved = ckpt.read(path)
    ctx = _Context(saved, path, dataset, data_root)
    if what == "filters":
        from .weights import plot_filters

        initial_path = path.parent / run.INITIAL
        initial = ckpt.load(initial_path) if initial_path.is_file() and initial_path != path \
            else None
        name = f"filters-{layer}.png" if layer else "filters.png"
        return plot_filters(saved.model, output_path(out, name), layer=layer, initial=initial,
                            after=_after_label(saved.meta))
    if what in ("feature-maps", "saliency"):
        x, caption, tag = ctx.sample(0 if image is None else image)
        if what == "feature-maps":
            from .activations import plot_feature_maps

            return plot_feature_maps(saved.model, x, output_path(out, f"feature-maps-{tag}.png"),
                                     caption=caption, class_names=ctx.names)
        from .gradients import plot_saliency

        return plot_saliency(saved.model, x, output_path(out, f"saliency-{tag}.png"),
                             target=target, smooth=smooth, caption=caption,
                             class_names=ctx.names)
    if what in ("errors", "confusion"):
        from .mistakes import plot_confusion, plot_errors

        xt, yt = ctx.test_set(limit)
        probs = saved.model.predict(xt)
        if what == "errors":
            return plot_errors(xt, yt, probs, output_path(out, "errors.png"),
                               class_names=ctx.names, count=count)
        return plot_confusion(probs, yt, output_path(out, "confusion.png"), class_names=ctx.names)
    if what == "curves":
        from .plots import plot_history

        history = run.read_history(path, saved.meta)
        title = (_("{model_name} on {dataset}: train = mean over each epoch's batches; "
                   "validation, test = after an epoch",
                   model_name=saved.meta.get('model_name', 'model'),
                   dataset=ctx.dataset or _('its data')))
        return plot_history(history, output_path(out, "curves.png"), title=title)
    from .gradients import plot_dream
    from .probe import conv_layers

    layer = layer or (conv_layers(saved.model) or [None])[0]
    if layer is None:
        raise ConfigError(_("this model has no convolution layer; name a layer to dream about "
                            "with "), Fix("layer"),
                          _(" (its layers: {layers})", layers=", ".join(saved.model.layers)),
                          param="layer")
    suffix = f"-ch{channels[0]}" if channels and len(channels) == 1 else ""
    return plot_dream(saved.model, layer, channels, output_path(out, f"dream-{layer}{suffix}.png"),
                      steps=steps, seed=seed, class_names=ctx.names)


def show_runs(checkpoints: list[str | Path], *, out: str | Path | None = None,
              title: str = "") -> Path:
    """Several runs' accuracy per epoch on one axes (``tatamu show curves RUN RUN...``); the
    PNG's path. Each run is named by its folder (its path where two folders share a name)."""
    from .recipes import plot_runs

    paths = [run.resolve_checkpoint(c) for c in checkpoints]
    names = [_run_name(p) for p in paths]
    if len(set(names)) < len(names):  # two runs/seed0 in different sweeps: their whole paths
        names = [str(p.parent if p.name in run.FILES else p) for p in paths]
    histories = {}
    for name, path in zip(names, paths, strict=True):
        histories[name] = run.read_history(path, ckpt.read_meta(path))
    return plot_runs(histories, output_path(out, "curves.png"),
                     title=title or ngettext("{n} run", "{n} runs", len(paths)))


def _run_name(path: Path) -> str:
    return path.parent.name if path.name in run.FILES and path.parent.name else path.stem


class _Context:
    """The checkpoint's dataset, class names and test images, loaded only when needed."""

    def __init__(self, saved: ckpt.Checkpoint, path: Path, dataset, data_root) -> None:
        self.model, self.path = saved.model, path
        self.dataset = dataset or saved.meta.get("dataset")
        self.data_root = data_root
        names = saved.meta.get("class_names")
        self.names = list(names) if names else None
        self._test = None

    def test_set(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        if self._test is None:
            if self.dataset is None:
                raise ConfigError(_("{path} does not say which dataset it was trained on; pass ",
                                    path=self.path), Fix("dataset"), param="dataset")
            from ..datasets import class_names, load_dataset

            _train, (xt, yt) = load_dataset(self.dataset, root=self.data_root)
            if tuple(xt.shape[1:]) != self.model.input_shape:
                raise DataError(_("the model takes inputs of shape {input_shape}, but {dataset} "
                                  "has {shape}; pass the ",
                                  input_shape=self.model.input_shape, dataset=self.dataset,
                                  shape=tuple(xt.shape[1:])),
                                Name("dataset"), _(" it was trained on"), param="dataset",
                                value=self.dataset)
            self._test = (xt, yt)
            self.names = self.names or list(class_names(self.dataset))
        xt, yt = self._test
        return xt[:limit], yt[:limit]

    def sample(self, image: int | str) -> tuple[np.ndarray, str, str]:
        """One input, its caption and a file-name tag, from a test index or an image file."""
        text = str(image)
        if isinstance(image, (int, np.integer)) or text.lstrip("-").isdigit():
            index = int(text)
            xt, yt = self.test_set()
            if not 0 <= index < len(xt):
                raise ConfigError(_("image {index} is out of range: the {dataset} test set has "
                                    "{count:,} images (0 to {last})",
                                    index=index, dataset=self.dataset, count=len(xt),
                                    last=len(xt) - 1))
            true = self.names[int(yt[index])] if self.names else str(yt[index])
            return xt[index], _("{dataset} test image #{index}, true {true}",
                                dataset=self.dataset, index=index, true=true), str(index)
        from ..digits.images import load_image_for

        file = Path(text)
        x, notes = load_image_for(file, self.model.input_shape)
        caption = file.name + (f" ({'; '.join(notes)})" if notes else "")
        return x, caption, file.stem


def output_path(out: str | Path | None, default_name: str) -> Path:
    """``out`` if it names a .png file, else ``default_name`` inside ``out`` (or here)."""
    if out is None:
        return Path(default_name)
    out = Path(out)
    if out.suffix.lower() == ".png":
        return out
    if out.exists() and not out.is_dir():
        raise ConfigError(Fix("out", str(out)), _(" is a file that is not a .png; give a folder "
                                                  "or a .png"), param="out", value=str(out))
    return out / default_name


def _after_label(meta: dict[str, Any]) -> str:
    history = upgrade_history(meta.get("history") or {}, meta)
    epochs, accuracy = history.get("epoch") or [], history.get("test_accuracy") or []
    if not epochs:
        return _("after training")
    label = ngettext("after training: {n} epoch", "after training: {n} epochs", epochs[-1])
    if accuracy and accuracy[-1] is not None:
        label += _(", test accuracy {accuracy:.1f}%", accuracy=100 * accuracy[-1])
    return label
