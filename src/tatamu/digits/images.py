"""Reading a user's picture into the shape a model takes (``tatamu predict``, ``tatamu draw``).

MNIST digits are white on black, 28x28, fitted to 20 px and centred by mass. A photo or
drawing rarely is: it may be in colour, transparent, of another size, dark ink on white paper,
small in a corner. :func:`prepare_digit` frames one drawn digit as MNIST's were (the steps are
in :mod:`tatamu.digits.steps`); :func:`load_image_for` only converts and resizes (for arrays already
in the model's shape). Each conversion is reported back so the user knows what the network saw.
"""

from __future__ import annotations

import io
import struct
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ConfigError, DataError
from ..i18n import _
from . import paper
from . import steps as digits

#: Larger picture files are refused unread (a 12-megapixel photo is a few MB).
MAX_PICTURE_BYTES = 64 * 2**20


def load_image_for(path: str | Path, input_shape: tuple[int, ...],
                   invert: bool = True) -> tuple[np.ndarray, list[str]]:
    """Load ``path`` (PNG, JPEG, ... or .npy) as float32 in [0, 1] of ``input_shape``.

    Returns the sample and notes describing each conversion (grey, resize, invert).
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(_("no image file at {path}", path=path))
    if len(input_shape) != 3:
        raise DataError(_("this model takes {input_shape} samples, not images",
                          input_shape=input_shape))
    channels, height, width = input_shape
    notes: list[str] = []
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(_("{path} is not a readable .npy array ({exc})", path=path,
                              exc=exc)) from exc
        if arr.dtype.kind not in "uif" or arr.ndim not in (2, 3) or arr.size == 0:
            raise DataError(_("{path}: expected a non-empty 2-D (H, W) or 3-D (C, H, W) numeric "
                              "array; got {dtype} of shape {shape}",
                              path=path, dtype=arr.dtype, shape=arr.shape))
        if arr.ndim == 3 and arr.shape[0] not in (1, 3, 4) and arr.shape[-1] in (1, 3, 4):
            raise DataError(_("{path}: shape {shape} looks channels-last (H, W, C); tatamu "
                              "takes (C, H, W): save np.transpose(a, (2, 0, 1)) instead",
                              path=path, shape=arr.shape))
        arr = arr.astype(np.float64)  # float32 would turn huge integers into inf
        if not np.isfinite(arr).all():
            raise DataError(_("{path} contains NaN or inf values; it is not an image", path=path))
        if arr.min() < 0 or arr.max() > 255:
            raise DataError(_("{path}: pixel values must lie in [0, 1] or [0, 255]; got "
                              "[{min:g}, {max:g}] (standardised data? undo the normalisation "
                              "first)", path=path, min=arr.min(), max=arr.max()))
        if arr.max(initial=0) > 1.0:
            arr = arr / 255.0
            notes.append(_("scaled 0-255 to 0-1"))
        if arr.ndim == 3:
            arr = arr.mean(axis=0) if channels == 1 else arr
        image = _resize(arr, height, width, notes)
    else:
        image = _read_picture(path, height, width, notes)
    if invert and image.mean() > 0.5:
        image = 1.0 - image
        notes.append(_("inverted (dark on light -> light on dark, like MNIST)"))
    if image.ndim == 2:
        image = np.repeat(image[None], channels, axis=0)  # (H, W) -> (C, H, W)
    if image.shape != tuple(input_shape):
        raise DataError(_("{path}: could not make an image of shape {input_shape} (got {shape})",
                          path=path, input_shape=input_shape, shape=image.shape))
    return image.astype(np.float32), notes


def _read_picture(path: Path, height: int, width: int, notes: list[str]) -> np.ndarray:
    from PIL import Image

    with open_picture(path) as img:
        if img.mode != "L":
            notes.append(_("converted {mode} to grey", mode=img.mode))
            img = img.convert("L")
        if img.size != (width, height):
            notes.append(_("resized {from_width}x{from_height} to {width}x{height}",
                           from_width=img.size[0], from_height=img.size[1], width=width,
                           height=height))
            img = img.resize((width, height), Image.Resampling.LANCZOS)
        return np.asarray(img, dtype=np.float32) / 255.0


def open_picture(source: str | Path | bytes, name: str | None = None):
    """A picture file (or its bytes) opened and decoded by Pillow, safely.

    Refused with a DataError naming the file: more than MAX_PICTURE_BYTES, more than Pillow's
    decompression-bomb limit of pixels (about 89 million), or not a picture Pillow can read.
    Returns a loaded ``PIL.Image.Image`` (the first frame of an animation).
    """
    from PIL import Image, UnidentifiedImageError  # Pillow comes with matplotlib

    if isinstance(source, (bytes, bytearray)):
        data, name = bytes(source), name or _("the picture")
    else:
        path = Path(source)
        if not path.is_file():
            raise DataError(_("no image file at {path}", path=path))
        size, name = path.stat().st_size, name or str(path)
        if size > MAX_PICTURE_BYTES:
            raise DataError(_("{path} is {size:,} bytes; tatamu reads pictures up to "
                              "{max_picture_bytes:,}: scale it down to a few hundred pixels a "
                              "side first",
                              path=path, size=size, max_picture_bytes=MAX_PICTURE_BYTES))
        data = path.read_bytes()
    if len(data) > MAX_PICTURE_BYTES:
        raise DataError(_("{name} is {n_data:,} bytes; tatamu reads pictures up to "
                          "{max_picture_bytes:,}",
                          name=name, n_data=len(data), max_picture_bytes=MAX_PICTURE_BYTES))
    try:
        with warnings.catch_warnings():
            # Pillow warns about damaged metadata it skips (noise for a user) and about
            # "decompression bombs" (over 89 million pixels): those are refused below.
            warnings.filterwarnings("ignore", module="PIL")
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # From memory: a damaged chunk length then cannot make a file read reserve
            # gigabytes (Pillow reads what a chunk header claims).
            img = Image.open(io.BytesIO(data))
            img.load()
            return img
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise DataError(_("{name} is too large a picture for tatamu ({exc}); scale it down to a "
                          "few hundred pixels a side first", name=name, exc=exc)) from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error,
            IndexError) as exc:  # SyntaxError: Pillow's "broken PNG file"
        detail = (_("unknown file format") if isinstance(exc, UnidentifiedImageError)
                  else exc or type(exc).__name__)
        raise DataError(_("{name} is not an image tatamu can read (PNG, JPEG, BMP, .npy): "
                          "{detail}", name=name, detail=detail)) from exc


def _resize(arr: np.ndarray, height: int, width: int, notes: list[str]) -> np.ndarray:
    if arr.shape[-2:] == (height, width):
        return arr
    from PIL import Image

    notes.append(_("resized {from_width}x{from_height} to {width}x{height}",
                   from_width=arr.shape[-1], from_height=arr.shape[-2], width=width,
                   height=height))
    img = Image.fromarray(arr.astype(np.float32), mode="F")
    resized = np.asarray(img.resize((width, height), Image.Resampling.LANCZOS), dtype=np.float32)
    return np.clip(resized, 0.0, 1.0)  # Lanczos rings below 0 / above 1 at sharp edges


# -- one drawn digit, prepared like MNIST ------------------------------------------------------
#: The steps of :func:`prepare_digit`, in order (each a function in :mod:`tatamu.digits.steps`,
#: or for photographs of paper, :mod:`tatamu.digits.paper`).
STEPS = ("composite_alpha", "even_out_light", "invert_light_background", "subtract_background",
         "threshold_ink", "crop_to_ink", "normalise_stroke", "fit_longer_side", "paste_centred",
         "centre_by_mass")
#: The steps a caller may switch off (``skip=``): pasting is part of fitting.
OPTIONAL_STEPS = tuple(s for s in STEPS if s != "paste_centred")


@dataclass(frozen=True)
class Framing:
    """How a model's training items were framed, so a new picture is framed the same way.

    ``box``: the longer side of the fitted item in pixels (None: the whole picture is resized
    to the input size, for models whose data tatamu does not know); ``by_mass``: centred by
    centre of mass (else by bounding box); ``stroke``: stroke width normalised (drawn lines).
    """

    name: str
    size: tuple[int, int] = (28, 28)
    box: int | None = 20
    by_mass: bool = True
    stroke: bool = True


#: MNIST: the digit's longer side fitted to 20 px, centred by mass in 28x28 (LeCun et al.).
MNIST_FRAMING = Framing("mnist")


@dataclass
class PreparedDigit:
    """What :func:`prepare_digit` gives: the model's input and how it was made.

    ``image``: (C, H, W) float32 in [0, 1], (1, 28, 28) for MNIST; ``steps``: the names of the
    steps applied, in order (from :data:`STEPS`); ``notes``: one line per step saying what it
    did; ``pictures``: 2-D float arrays for showing the steps ("original", "light", "evened",
    "marks", "crop", "stroke", "fit", "input"); ``marks``: separate marks taken as the digit;
    ``contrast``: how far the ink stands out from the paper, as a fraction of the paper's light
    (:func:`tatamu.digits.paper.ink_contrast`; None when not measured); ``hint``: what would
    make a better picture, when it is too faint to trust (None otherwise). Unpacks as
    ``image, steps = prepare_digit(...)``.
    """

    image: np.ndarray
    steps: list[str]
    notes: list[str] = field(default_factory=list)
    pictures: dict[str, np.ndarray] = field(default_factory=dict)
    marks: int = 1
    contrast: float | None = None
    hint: str | None = None

    def __iter__(self):
        return iter((self.image, self.steps))


def read_picture(source, name: str | None = None) -> tuple[np.ndarray, np.ndarray | None,
                                                           list[str]]:
    """Brightness and transparency of a picture, whatever its file format and mode.

    ``source``: a file path, the file's bytes, a ``PIL.Image.Image``, or an array: (H, W)
    grey, (H, W, 3) RGB or (H, W, 4) RGBA, uint8 / uint16 or floats in [0, 1].
    Photos are turned upright by their EXIF orientation; palette, CMYK, 16-bit and
    greyscale+alpha files are all read to the same form.

    Returns grey (H, W) float32 in [0, 1] (ITU-R 601 luma), alpha (H, W) float32 in [0, 1]
    or None when the picture has none, and notes on what was done.
    """
    from PIL import Image, ImageOps

    if isinstance(source, np.ndarray):
        return _array_picture(source, name or _("the array"))
    img = source if isinstance(source, Image.Image) else open_picture(source, name)
    notes = []
    if _orientation(img) not in (0, 1):  # a phone photo stored sideways, EXIF says how to turn
        notes.append(_("turned upright (EXIF orientation {orientation})",
                       orientation=_orientation(img)))
        img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode.startswith("I") or mode == "F":  # 16-bit or 32-bit grey
        arr = np.asarray(img, dtype=np.float32)
        full = 65535.0 if mode.startswith("I;16") or arr.max(initial=0) > 255 else 255.0
        if mode == "F" and arr.max(initial=0) <= 1.0:
            full = 1.0
        return np.clip(arr / full, 0, 1), None, [*notes, _("read {mode} as grey", mode=mode)]
    has_alpha = mode in ("RGBA", "LA", "La", "RGBa", "PA") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"), dtype=np.float32) / 255.0
        grey = np.asarray(rgba.convert("RGB").convert("L"), dtype=np.float32) / 255.0
        return grey, alpha, notes
    if mode not in ("L", "1"):
        notes.append(_("converted {mode} to grey by luminance", mode=mode))
        img = img.convert("RGB") if mode not in ("RGB", "P") else img
    return np.asarray(img.convert("L"), dtype=np.float32) / 255.0, None, notes


def _orientation(img) -> int:
    try:
        return int(img.getexif().get(0x0112, 1))
    except Exception:  # damaged EXIF: treated as upright (Pillow skips it too)
        return 1


def _array_picture(arr: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray | None,
                                                        list[str]]:
    if arr.dtype.kind not in "uif" or arr.ndim not in (2, 3) or arr.size == 0 or (
            arr.ndim == 3 and arr.shape[-1] not in (1, 3, 4)):
        raise DataError(_("{name}: expected a picture array (H, W), (H, W, 3) or (H, W, 4); got "
                          "{dtype} of shape {shape}", name=name, dtype=arr.dtype, shape=arr.shape))
    a = arr.astype(np.float32)
    if not np.isfinite(a).all():
        raise DataError(_("{name} contains NaN or inf values; it is not a picture", name=name))
    # The scale of white: 65535 for 16-bit pixels that use it, 255 for 8-bit ones (or numbers
    # over 1), else 1 (floats in [0, 1]).
    top = float(a.max(initial=0))
    full = 65535.0 if top > 255 else 255.0 if top > 1 or arr.dtype == np.uint8 else 1.0
    a = np.clip(a / full, 0, 1)
    if a.ndim == 2 or a.shape[-1] == 1:
        return a.reshape(a.shape[:2]), None, []
    grey = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114  # ITU-R 601, as Pillow
    return grey, (a[..., 3] if a.shape[-1] == 4 else None), []


def prepare_digit(image, *, framing: Framing = MNIST_FRAMING, channels: int = 1,
                  skip: Iterable[str] = (), name: str | None = None) -> PreparedDigit:
    """One picture of one digit -> the (C, H, W) input an MNIST model expects, and the steps.

    ``image``: a file path, a file's bytes, a ``PIL.Image.Image`` or an array (see
    :func:`read_picture`). Dark on light or light on dark, any size, with or without
    transparency, drawn on a canvas or photographed on paper under uneven light. The steps
    (each a function in :mod:`tatamu.digits.steps` or :mod:`tatamu.digits.paper`, each
    reported in ``steps``): alpha composited; on a light background, the paper's light
    estimated and divided out (``even_out_light``: a lamp to one side, vignetting, a shadow's
    edge); inverted when light; background level subtracted; the ink's threshold picked from
    the picture (``threshold_ink``, Otsu's); cropped to the ink; stroke width normalised;
    longer side fitted to ``framing.box`` px (anti-aliased, aspect kept) and pasted into the
    frame; shifted by whole pixels so the centre of mass is at the frame's centre.

    ``skip``: names of steps to leave out (see :data:`OPTIONAL_STEPS`), to see what each one
    does. Without ``crop_to_ink`` the whole picture is the crop; without ``fit_longer_side``
    the crop is stretched over the whole frame (what tatamu did before these steps).

    Several separate marks are taken as one digit (a 4 or a 5 is often drawn in two strokes):
    the crop holds them all (``marks`` counts them); specks far smaller than the largest mark
    are ignored, and so are marks touching the picture's edge away from the digit, or far from
    it (the page's edge, a shadow's tip, a dot). A picture whose marks differ from the paper
    by less than :data:`tatamu.digits.paper.BLANK_BELOW` of its light (or six times its
    grain) raises an EmptyPictureError (a DataError) saying what it measured; with
    ``crop_to_ink`` skipped, the blank input is returned. Fainter than
    :data:`tatamu.digits.paper.FAINT_BELOW`, the picture is prepared and ``hint`` says so.

    Shapes: picture (H, W) of any size -> image (channels, *framing.size) float32.

    Examples
    --------
    >>> canvas = np.full((300, 400), 255, np.uint8); canvas[50:250, 100:120] = 0  # a "1"
    >>> x, steps = prepare_digit(canvas)
    >>> x.shape, x.dtype, steps[:2]
    ((1, 28, 28), dtype('float32'), ['even_out_light', 'invert_light_background'])
    """
    skip = set(skip)
    unknown = skip - set(OPTIONAL_STEPS)
    if unknown:
        raise ConfigError(_("unknown preprocessing step {unknown!r}; the steps are: "
                            "{optional_steps}",
                            unknown=sorted(unknown)[0], optional_steps=', '.join(OPTIONAL_STEPS)))
    grey, alpha, notes = read_picture(image, name)
    out = PreparedDigit(np.empty(0, np.float32), [], notes, {"original": grey.copy()})

    def done(step: str, note: str) -> None:
        out.steps.append(step)
        out.notes.append(note)

    if alpha is not None and alpha.min() < 1.0:
        if "composite_alpha" in skip:  # what a reader that drops alpha sees
            out.notes.append(_("transparency ignored"))
        else:
            grey = digits.composite_alpha(grey, alpha)
            out.pictures["original"] = grey.copy()
            done("composite_alpha", _("transparent background laid over a plain one"))
    cropping = bool(framing.box) and "crop_to_ink" not in skip
    ink, mask = _find_ink(grey, skip, out, done, name, cropping)
    crop = ink
    if cropping:
        crop = digits.crop_to_ink(ink, mask)
        marks = (_(", {marks} separate marks taken as one digit", marks=out.marks)
                 if out.marks > 1 else "")
        done("crop_to_ink", _("cropped {width}x{height} to the ink: {crop_width}x{crop_height}"
                              "{marks}", width=ink.shape[1], height=ink.shape[0],
                              crop_width=crop.shape[1], crop_height=crop.shape[0], marks=marks))
    out.pictures["crop"] = crop
    if framing.stroke and framing.box and "normalise_stroke" not in skip:
        crop, before, after = digits.normalise_stroke(crop)
        out.pictures["stroke"] = crop
        scale = framing.box / digits.WORK_SIZE
        done("normalise_stroke", _("stroke width {before:.1f} px -> {after:.1f} px at {box} px "
                                   "(MNIST: about {mnist:.1f})",
                                   before=before * scale, after=after * scale, box=framing.box,
                                   mnist=digits.MNIST_STROKE_FRACTION * framing.box))
    height, width = framing.size
    if framing.box and "fit_longer_side" not in skip:
        fit = digits.resize(crop, *digits.fitted_size(crop.shape, framing.box))
        done("fit_longer_side", _("longer side fitted to {box} px: {width}x{height}",
                                  box=framing.box, width=fit.shape[1], height=fit.shape[0]))
        out.pictures["fit"] = fit
        frame = digits.paste_centred(fit, height, width)
        done("paste_centred", _("pasted into {width}x{height}", width=width, height=height))
    else:
        frame = digits.resize(crop, height, width)
        out.notes.append(_("resized {from_width}x{from_height} to {width}x{height}",
                           from_width=crop.shape[1], from_height=crop.shape[0], width=width,
                           height=height))
        out.pictures["fit"] = frame
    if framing.by_mass and framing.box and "centre_by_mass" not in skip and frame.any():
        frame, (dy, dx) = digits.centre_by_mass(frame)
        done("centre_by_mass", _("shifted {dy:+d} rows, {dx:+d} columns: centre of mass at "
                                 "({row}, {col})",
                                 dy=dy, dx=dx, row=height // 2, col=width // 2))
    # MNIST's files hold 8-bit pixels: round to 1/255 steps, which also clears the 1e-6
    # residue that Lanczos leaves around strokes.
    frame = np.round(frame * 255) / 255
    out.pictures["input"] = frame
    out.image = np.repeat(frame[None].astype(np.float32), channels, axis=0)  # (C, H, W)
    return out


def _find_ink(grey: np.ndarray, skip: set[str], out: PreparedDigit, done, name: str | None,
              cropping: bool) -> tuple[np.ndarray, np.ndarray]:
    """The steps from a grey picture to its ink and the mask of its marks (see prepare_digit):
    the paper's light evened out, inverted, background subtracted, threshold picked. Refuses
    a blank picture (EmptyPictureError, when ``cropping``); flags a faint one (``out.hint``).
    """
    background, noise = digits.border_level(grey)
    light = paper.light_background(grey)  # (a frame half in shadow: the marks say)
    if light and "even_out_light" not in skip:
        paper_light = paper.paper_light(grey)
        grey = paper.even_out_light(grey, paper_light)
        background, noise = paper.paper_level(grey)
        low, high = np.percentile(paper_light, (1, 99))
        if high - low < 0.01:  # a canvas, a scan: nothing to show
            done("even_out_light", _("the paper's light even ({high:.2f}): nothing to even out",
                                     high=high))
        else:
            out.pictures.update(light=paper_light, evened=grey)
            done("even_out_light", _("the paper's light ({low:.2f} to {high:.2f}) evened out",
                                     low=low, high=high))
    inverted = light and "invert_light_background" not in skip
    if inverted:
        grey, background = digits.invert_light_background(grey, background)
        done("invert_light_background", _("inverted (light background: {level:.2f} at the "
                                          "border)", level=1 - background))
    # (with inversion switched off, the model gets the light picture, as it used to)
    ink = grey
    # Subtracting a light background would erase dark ink: only once the picture is light on
    # dark.
    if "subtract_background" not in skip and (inverted or not light):
        ink = digits.subtract_background(grey, background, noise)
        done("subtract_background", _("background level {background:.2f} subtracted",
                                      background=background))
    threshold = digits.INK_THRESHOLD
    if "threshold_ink" not in skip:
        threshold = paper.ink_threshold(ink)
        done("threshold_ink", _("ink over {threshold:.2f} (Otsu's split of this picture)",
                                threshold=threshold))
    mask, out.marks = digits.ink_marks(ink, threshold)
    out.pictures["marks"] = np.where(mask, ink, 0)
    contrast, grain = paper.ink_contrast(grey, mask)  # (unstretched: fractions of the light)
    out.contrast = contrast
    needed = max(paper.BLANK_BELOW, paper.GRAIN_TIMES * grain)
    if cropping and (contrast < needed or not mask.any()):
        # (without the crop, a blank input is what the model gets)
        need = (f"{needed:.0%}" if needed == paper.BLANK_BELOW else
                _("{times:g} times the background's own variation, {grain:.1%}",
                  times=paper.GRAIN_TIMES, grain=grain))
        raise EmptyPictureError(_(
            "{name} has no ink: it is blank (its marks differ from the background by only "
            "{contrast:.1%} of its brightness; a digit needs {need}), or the strokes are as "
            "light as the background; write the digit with a dark pen on light paper (or light "
            "on dark) and photograph it in good, even light", name=name or _("the picture"),
            contrast=contrast, need=need))
    if contrast < paper.FAINT_BELOW and mask.any():
        out.hint = _("the strokes are faint (they differ from the paper by {contrast:.0%} of its "
                     "light): a darker pen, more light or a closer photo would help",
                     contrast=contrast)
    return ink, mask


class EmptyPictureError(DataError):
    """A picture with no ink to classify (a blank canvas)."""
