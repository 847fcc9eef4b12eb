"""Classifying one picture a person made: the policy behind ``tatamu predict`` and ``tatamu draw``.

Which preprocessing a model needs depends on how its training pictures were framed, which the
checkpoint's metadata says (its ``dataset``); :func:`framing_for` decides, :func:`recognise`
prepares the picture, runs the model and ranks the classes, and says when it is unsure. The
command line and the drawing page only print or show what these return.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError
from ..i18n import _
from ..model import Sequential
from .images import (
    MNIST_FRAMING,
    OPTIONAL_STEPS,
    Framing,
    PreparedDigit,
    load_image_for,
    prepare_digit,
)

#: Below this top probability the answer is called "unsure". A model trained on MNIST gives
#: over 90% to nearly every test digit it gets right; a scribble, two digits or a letter
#: spreads its probability, and saying so is more useful than a confident-looking guess.
UNSURE_BELOW = 0.6


def framing_for(meta: dict[str, Any], input_shape: tuple[int, ...]) -> Framing:
    """How to frame a new picture for a model, from its checkpoint's metadata.

    - ``mnist`` (or no dataset named and a 28x28 single-channel input): MNIST's own framing,
      the digit's longer side fitted to 20/28 of the frame, centred by mass, stroke width
      normalised. For another input size the same proportions are kept.
    - ``fashion-mnist``: Zalando trimmed each product photo to the item and resized its longer
      edge to 28 px, centred (Xiao et al. 2017): cropped and fitted to the whole frame, centred
      by its box, not by mass; no stroke normalisation (photos, not pen strokes).
    - anything else: tatamu does not know how the training pictures were framed, so the
      whole picture is resized to the input (after alpha, inversion and background).

    A model whose input is not an image ((C, L) signals, such as MNIST-1D) is refused.
    """
    if len(input_shape) != 3:
        raise DataError(_("this model takes {input_shape} samples, not images: there is no "
                          "picture to prepare for it", input_shape=tuple(input_shape)))
    _channels, height, width = input_shape
    dataset = str(meta.get("dataset") or "").lower().replace("_", "-")
    if dataset == "fashion-mnist":
        return Framing("fashion-mnist", (height, width), box=max(height, width),
                       by_mass=False, stroke=False)
    if dataset == "mnist" or (not dataset and input_shape == (1, 28, 28)):
        if (height, width) == MNIST_FRAMING.size:
            return MNIST_FRAMING
        return Framing("mnist", (height, width), box=round(20 * min(height, width) / 28))
    return Framing(f"whole picture ({dataset or 'unknown data'})", (height, width), box=None,
                   by_mass=False, stroke=False)


@dataclass
class Recognition:
    """One picture classified: the ranking, whether to trust it, and how the input was made.

    ``probabilities``: (classes,) float; ``top``: the best (class index, name, probability)
    triples, best first; ``unsure``: the top probability is under :data:`UNSURE_BELOW`, or
    the picture is too faint to trust (then ``hint`` says what would help).
    """

    probabilities: np.ndarray
    top: list[tuple[int, str, float]]
    unsure: bool
    prepared: PreparedDigit
    framing: Framing

    @property
    def prediction(self) -> int:
        return self.top[0][0]

    @property
    def hint(self) -> str | None:
        """What would make a better picture, when it is too faint to trust (else None)."""
        return self.prepared.hint


def class_names_of(model: Sequential, meta: dict[str, Any]) -> list[str]:
    """The checkpoint's class names, or "0", "1", ... when it has none."""
    names = meta.get("class_names")
    if isinstance(names, list) and len(names) == model.num_classes:
        return [str(n) for n in names]
    return [str(i) for i in range(model.num_classes)]


def recognise(model: Sequential, meta: dict[str, Any], picture, *, top: int = 3,
              skip=(), name: str | None = None) -> Recognition:
    """Prepare ``picture`` for ``model`` (see :func:`framing_for`), classify it, rank classes.

    ``picture``: a path (PNG, JPEG, ... or .npy), a file's bytes, a ``PIL.Image.Image`` or an
    array (see :func:`tatamu.digits.images.read_picture`). A ``.npy`` file holding exactly the
    model's input shape, e.g. (1, 28, 28), is taken as the input itself: nothing is changed.
    ``skip``: preprocessing steps to leave out (:data:`tatamu.digits.images.OPTIONAL_STEPS`).

    Shapes: picture of any size -> probabilities (classes,).
    """
    framing = framing_for(meta, model.input_shape)
    channels = model.input_shape[0]
    if isinstance(picture, (str, Path)) and Path(picture).suffix.lower() == ".npy":
        prepared = _npy_input(Path(picture), model.input_shape, framing, channels, skip)
    else:
        prepared = prepare_digit(picture, framing=framing, channels=channels, skip=skip,
                                 name=name)
    probs = np.asarray(model.predict(prepared.image[None].astype(model.dtype))[0],
                       dtype=np.float64)
    names = class_names_of(model, meta)
    order = np.argsort(-probs, kind="stable")[: max(1, top)]
    ranked = [(int(i), names[i], float(probs[i])) for i in order]
    unsure = ranked[0][2] < UNSURE_BELOW or prepared.hint is not None
    return Recognition(probs, ranked, unsure, prepared, framing)


def recognise_each(model: Sequential, meta: dict[str, Any], pictures: Iterable, *,
                   top: int = 3, skip=()) -> Iterator[tuple[Any, Recognition | DataError]]:
    """Each picture recognised in turn, ``(picture, Recognition)``; a picture that cannot be
    (missing, not a picture, blank) gives ``(picture, its DataError)`` and the others are
    still answered: one bad picture among 200 never hides the other answers.

    What would fail for every picture is refused before the first, as a ConfigError or
    DataError raised here: an unknown step in ``skip``, a model that takes no pictures.
    """
    unknown = sorted(set(skip) - set(OPTIONAL_STEPS))
    if unknown:
        raise ConfigError(_("unknown preprocessing step {unknown!r}; the steps are: "
                            "{optional_steps}", unknown=unknown[0],
                            optional_steps=", ".join(OPTIONAL_STEPS)))
    framing_for(meta, model.input_shape)  # a 1-D model: refused once, not once per picture
    for picture in pictures:
        try:
            yield picture, recognise(model, meta, picture, top=top, skip=skip,
                                     name=str(picture))
        except DataError as exc:
            yield picture, exc


def recognition_record(picture, answer: Recognition | DataError) -> dict[str, Any]:
    """One picture's answer as plain data (``tatamu predict --json``): ``image``, and either
    ``error`` (one line) or ``prediction`` (class index), ``name``, ``unsure``, ``hint``,
    ``contrast``, ``top`` (best first), ``probabilities`` (per class) and ``steps``."""
    if isinstance(answer, DataError):
        return {"image": str(picture), "error": " ".join(str(answer).split())}
    contrast = answer.prepared.contrast
    return {"image": str(picture), "prediction": answer.prediction, "name": answer.top[0][1],
            "unsure": answer.unsure, "hint": answer.hint,
            "contrast": None if contrast is None else round(contrast, 4),
            "top": [{"class": i, "name": n, "probability": round(p, 6)}
                    for i, n, p in answer.top],
            "probabilities": [round(float(p), 6) for p in answer.probabilities],
            "steps": answer.prepared.steps}


def _npy_input(path: Path, input_shape, framing, channels, skip) -> PreparedDigit:
    try:
        shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
    except (ValueError, OSError, EOFError):
        shape = None  # load_image_for says what is wrong with it
    if shape in (tuple(input_shape), tuple(input_shape[1:])) or shape is None:
        x, notes = load_image_for(path, input_shape, invert=False)
        return PreparedDigit(x, [], notes or [_("used as given (already the model's input "
                                                "shape)")], {"input": x[0]})
    x, _notes = load_image_for(path, (1, *shape[-2:]), invert=False)  # checked and scaled to [0, 1]
    return prepare_digit(x[0], framing=framing, channels=channels, skip=skip, name=str(path))
