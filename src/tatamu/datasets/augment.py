"""Data augmentation: each training batch slightly moved, turned and resized, on the fly.

The book (ch. 8.1) mentions augmentation only in words: a network that sees every digit a
little shifted, rotated or scaled each epoch cannot memorise pixel positions, so it generalises
better. Here each image of a batch gets its own random affine map (and, optionally, a smooth
random "elastic" displacement, Simard et al. 2003), applied by one batched computation: every
output pixel asks where it comes from in the input (``source = A @ (row, col, 1)``) and reads
that point by bilinear interpolation; points outside the image read 0, the background of
MNIST-style images. No Python loop runs per image.

Exactness: the random numbers of batch ``b`` of epoch ``e`` come from a Generator derived from
``(seed, e, b)`` alone (as Dropout's masks do in :mod:`tatamu.training.shards`), so a run resumed in
the middle of an epoch augments the remaining batches exactly as an uninterrupted run does.
Labels are never touched: the transformations are small enough to keep a digit's class.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import ConfigError, Fix, Name, ShapeError
from ..i18n import _

#: Mixed into every batch's seed so augmentation never draws Dropout's random numbers.
_STREAM = 0x61756720  # "aug "


@dataclass(frozen=True)
class Augment:
    """How much to disturb each training image; every amplitude 0 is the identity.

    Parameters
    ----------
    shift : largest shift in pixels along each axis (uniform in ``[-shift, shift]``).
    rotation : largest rotation in degrees (uniform in ``[-rotation, rotation]``; a positive
        angle turns the picture clockwise as displayed, rows pointing down).
    scale : largest relative change of size (zoom uniform in ``[1 - scale, 1 + scale]``).
    elastic : root-mean-square length, in pixels, of a smooth random displacement field
        (0: off); ``elastic_sigma`` is the width in pixels of the Gaussian that smooths it.
        Off by default: on MNIST (SimpleConvNet, 10 epochs, cosine) 1.5 px cost 0.17 points
        and 0.75 px gained nothing (docs/guide/results.md, "tatamu's recipes").
    flip : mirror left-right with probability 1/2 (for clothes, not for digits).

    Shapes
    ------
    x: (N, C, H, W) float -> (N, C, H, W) same dtype (every channel moved alike)

    Examples
    --------
    >>> x = np.zeros((2, 1, 5, 5), np.float32); x[:, 0, 2, 2] = 1
    >>> Augment(shift=0, rotation=0, scale=0)(x, np.random.default_rng(0)).sum()
    np.float32(2.0)
    """

    shift: float = 2.0
    rotation: float = 10.0
    scale: float = 0.1
    elastic: float = 0.0
    elastic_sigma: float = 4.0
    flip: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "flip":
                if not isinstance(value, bool):
                    raise ConfigError(_("augment flip must be True or False; got {value!r}",
                                        value=value))
            elif (isinstance(value, bool) or not isinstance(value, int | float)
                  or not math.isfinite(value) or value < 0):
                raise ConfigError(_("augment {name} must be a number >= 0; got {value!r}",
                                    name=f.name, value=value))
        if self.scale >= 1:
            raise ConfigError(_("augment scale must be below 1 (a zoom of 1 ± scale); got "
                                "{scale}", scale=self.scale))
        if self.elastic_sigma <= 0:
            raise ConfigError(_("augment elastic_sigma must be > 0; got {elastic_sigma}",
                                elastic_sigma=self.elastic_sigma))

    # -- applying ------------------------------------------------------------------------------
    def __call__(self, x, rng: np.random.Generator) -> np.ndarray:
        """Return a disturbed copy of the images ``x`` (N, C, H, W), drawing from ``rng``."""
        x = as_numpy(x)
        self.check_input(x)
        if x.ndim == 3:
            return roll(x, rng.integers(-int(self.shift), int(self.shift) + 1, len(x)))
        n, _, h, w = x.shape
        theta = self.random_matrices(n, h, w, rng)
        displacement = (elastic_displacements(n, h, w, self.elastic, self.elastic_sigma, rng)
                        if self.elastic > 0 else None)
        return warp(x, theta, displacement)

    def check_input(self, x) -> None:
        """Refuse data this augmentation cannot move, saying what would fit."""
        if x.ndim == 3 and (self.rotation or self.scale or self.elastic or self.flip):
            raise ConfigError(
                _("1-D signals (N, C, L) are only shifted (circularly, as MNIST-1D's own "
                  "generator does): set the other amplitudes to 0, e.g. "),
                Fix("augment", "shift=5,rotation=0,scale=0"), param="augment", value=self.spec())
        if x.ndim not in (3, 4):
            raise ShapeError(_("augmentation moves images (N, C, H, W) or signals (N, C, L); "
                               "got an array of shape {shape}", shape=x.shape))

    def for_batch(self, x, seed: int, epoch: int, batch: int) -> np.ndarray:
        """Augment batch ``batch`` of ``epoch``: its random numbers depend on these alone."""
        return self(x, np.random.default_rng([seed, epoch, batch, _STREAM]))

    def random_matrices(self, n: int, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
        """One random map per image, from output (row, col, 1) to source (row, col): (n, 2, 3).

        The image is turned by ``a``, zoomed by ``s`` about its centre ``c``, then shifted by
        ``t``; the map sends each output pixel back, ``src = R(-a) (dst - c - t) / s + c``.
        """
        angle = np.deg2rad(rng.uniform(-self.rotation, self.rotation, n))
        zoom = rng.uniform(1 - self.scale, 1 + self.scale, n)
        t = rng.uniform(-self.shift, self.shift, (n, 2))  # (n, 2): row, col
        mirror = np.where(rng.random(n) < 0.5, -1.0, 1.0) if self.flip else np.ones(n)
        cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
        # Inverse rotation in (row, col) coordinates; a mirror negates the column it reads.
        linear = np.stack([np.stack([cos, -sin * mirror], 1),
                           np.stack([sin, cos * mirror], 1)], 1)  # (n, 2, 2)
        c = np.array([(h - 1) / 2, (w - 1) / 2])
        offset = c - np.einsum("nij,nj->ni", linear, c + t)  # (n, 2)
        return np.concatenate([linear, offset[:, :, None]], axis=2)  # (n, 2, 3)

    # -- saving and parsing --------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        return asdict(self)

    def spec(self) -> str:
        """The settings as :meth:`parse` reads them, every one spelled out (a run's plan)."""
        return ",".join(f"{k}={int(v)}" if isinstance(v, bool) else f"{k}={v:g}"
                        for k, v in self.config().items())

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Augment:
        unknown = set(config) - {f.name for f in fields(cls)}
        if unknown:
            raise ConfigError(_("unknown augmentation settings {unknown}; known: {items}",
                                unknown=sorted(unknown),
                                items=', '.join(f.name for f in fields(cls))))
        return cls(**config)

    @classmethod
    def parse(cls, text: str) -> Augment:
        """``"default"`` or ``"shift=2,rotation=0,flip=1"`` (others keep their defaults)."""
        if text.strip() in ("", "default", "on"):
            return cls()
        settings: dict[str, Any] = {}
        for item in text.split(","):
            name, sep, value = (part.strip() for part in item.partition("="))
            try:
                if not sep:
                    raise ValueError
                settings[name] = bool(int(value)) if name == "flip" else float(value)
            except ValueError:
                raise ConfigError(Name("augment"), _(": cannot read {item!r}; write "
                                                     "NAME=NUMBER, e.g. "
                                                     "shift=2,rotation=10,scale=0.1,elastic=0,flip=0",
                                                     item=item),
                                  param="augment", value=text) from None
        return cls.from_config(settings)


def warp(x: np.ndarray, theta: np.ndarray, displacement: np.ndarray | None = None) -> np.ndarray:
    """Resample each image ``x[i]`` at ``theta[i] @ (row, col, 1)`` (+ ``displacement[i]``).

    Bilinear interpolation; points outside the image read 0. ``theta`` (N, 2, 3) maps output
    pixel coordinates to source coordinates, so ``[[1, 0, -1], [0, 1, 0]]`` reads each pixel
    from the row above: the image moves one pixel down.

    Shapes
    ------
    x: (N, C, H, W), theta: (N, 2, 3), displacement: (N, 2, H, W) -> (N, C, H, W), x's dtype
    """
    n, c, h, w = x.shape
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    grid = np.stack([rows.ravel(), cols.ravel(), np.ones(h * w)])  # (3, H*W)
    source = theta @ grid  # (N, 2, 3) @ (3, H*W) -> (N, 2, H*W)
    if displacement is not None:
        source = source + displacement.reshape(n, 2, h * w)
    # One pixel of zeros round the image; coordinates beyond it read the zeros too.
    padded = np.zeros((n, c, h + 2, w + 2), dtype=x.dtype)
    padded[:, :, 1:-1, 1:-1] = x
    size = (h + 2) * (w + 2)
    flat = padded.reshape(n * c * size)  # every pixel of the batch behind one flat index
    image_start = (np.arange(n * c) * size).reshape(n, c, 1)  # (N, C, 1)
    r = np.clip(source[:, 0], -1, h) + 1  # (N, H*W) in padded rows
    q = np.clip(source[:, 1], -1, w) + 1
    r0, q0 = np.floor(r), np.floor(q)
    fr, fq = (r - r0).astype(x.dtype), (q - q0).astype(x.dtype)  # bilinear weights
    r0, q0 = r0.astype(np.intp), q0.astype(np.intp)
    r1, q1 = np.minimum(r0 + 1, h + 1), np.minimum(q0 + 1, w + 1)

    def read(rr, qq):  # (N, H*W) rows and columns -> (N, C, H*W) values
        # np.take on the flat array: several times faster than take_along_axis here
        return flat.take(image_start + (rr * (w + 2) + qq)[:, None, :])

    fr, fq = fr[:, None, :], fq[:, None, :]  # (N, 1, H*W): the same weights for every channel
    top = read(r0, q0) * (1 - fq) + read(r0, q1) * fq
    bottom = read(r1, q0) * (1 - fq) + read(r1, q1) * fq
    out = top * (1 - fr) + bottom * fr
    return out.reshape(n, c, h, w).astype(x.dtype, copy=False)


def roll(x: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Shift each signal ``x[i]`` circularly by ``shifts[i]`` samples (to the right if > 0).

    Shapes
    ------
    x: (N, C, L), shifts: (N,) int -> (N, C, L)
    """
    n, _, length = x.shape
    source = (np.arange(length)[None, :] - shifts[:, None]) % length  # (N, L)
    return np.take_along_axis(x, source[:, None, :], axis=2)


def elastic_displacements(n: int, h: int, w: int, rms: float, sigma: float,
                          rng: np.random.Generator) -> np.ndarray:
    """Smooth random displacement fields (Simard et al. 2003), ``rms`` pixels long on average.

    White noise in [-1, 1] is blurred by a Gaussian of width ``sigma`` (two matrix products,
    one per axis) and rescaled so its root-mean-square (away from the border) is ``rms``.

    Shapes
    ------
    -> (n, 2, h, w): row and column displacement of each output pixel
    """
    def blur_matrix(size):  # (size, size): row i holds the Gaussian centred on i
        d = np.arange(size)[:, None] - np.arange(size)[None, :]
        return np.exp(-0.5 * (d / sigma) ** 2)

    gh, gw = blur_matrix(h), blur_matrix(w)
    noise = rng.uniform(-1, 1, (n, 2, h, w))
    field = gh @ noise @ gw.T  # (h, h) @ (n, 2, h, w) @ (w, w) -> (n, 2, h, w)
    # The std of blurred uniform noise: sqrt(1/3) times the kernel's norm along each axis.
    kernel = np.exp(-0.5 * (np.arange(-3 * math.ceil(sigma), 3 * math.ceil(sigma) + 1)
                            / sigma) ** 2)
    std = math.sqrt(1 / 3) * float(kernel @ kernel)
    return field * (rms / std)


def resolve(augment, x=None) -> Augment | None:
    """What ``fit(augment=...)`` accepts: None/False (off), True (defaults), an Augment, a dict
    or a string for :meth:`Augment.parse`; refused up front when ``x`` is not a batch of images.
    """
    if augment is None or augment is False:
        return None
    augment = _resolve(augment)
    if x is not None:
        augment.check_input(x)
    return augment


def _resolve(augment) -> Augment:
    if augment is True:
        return Augment()
    if isinstance(augment, Augment):
        return augment
    if isinstance(augment, dict):
        return Augment.from_config(augment)
    if isinstance(augment, str):
        return Augment.parse(augment)
    raise ConfigError(_("augment must be an Augment, True/False, a dict or a string like "
                        "'shift=2,rotation=10'; got {type}", type=type(augment).__name__))
