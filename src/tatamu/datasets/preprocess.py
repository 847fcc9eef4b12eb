"""Turn stored dataset arrays into what a network eats: float images, optionally standardised.

The book's ``load_mnist(normalize=True)`` means "divide by 255". tatamu always scales uint8
images to [0, 1]; ``normalize`` additionally standardises them (zero mean, unit variance) with
statistics taken from the *training* split only, so no test information leaks into training.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError
from ..i18n import _

#: ``False`` / ``None`` (off), ``True`` (training-set mean/std), or an explicit ``(mean, std)``.
Normalize = bool | tuple[float, float] | None

_BLOCK = 1 << 20  # elements per block when accumulating statistics in float64


def check_normalize(normalize: Normalize) -> bool | tuple[float, float]:
    """Validate ``normalize`` before any file is read: False, True, or a checked (mean, std)."""
    if normalize is None or isinstance(normalize, bool | np.bool_):
        return bool(normalize)
    try:
        mean, std = (float(v) for v in normalize)
    except (TypeError, ValueError) as e:
        raise ConfigError(_("normalize must be False, True or a (mean, std) pair; got "
                            "{normalize!r}", normalize=normalize)) from e
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise ConfigError(_("normalize needs a finite mean and a positive std; got mean={mean}, "
                            "std={std}", mean=mean, std=std))
    return mean, std


def uint8_images_to_float(
    train: np.ndarray, test: np.ndarray, normalize: Normalize, dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Scale uint8 images to [0, 1] in ``dtype`` (and standardise if asked), adding a channel.

    ``normalize=True`` takes the training mean/std exactly, from a histogram of the 256
    possible pixel values; then ``(v / 255 - mean) / std`` is one multiply and one add per
    pixel in ``dtype`` (no float64 temporaries: 60,000 images are 188 MB in float32).

    Shapes
    ------
    ``(N, H, W)`` uint8 -> ``(N, 1, H, W)`` dtype, for each split.
    """
    spec = check_normalize(normalize)
    if spec is not False:
        if spec is True:
            levels = np.arange(256) / 255  # float64: pixel value v -> v / 255
            counts = sum(np.bincount(block, minlength=256) for block in _blocks(train))
            mean = float(counts @ levels) / train.size
            std = math.sqrt(float(counts @ (levels - mean) ** 2) / train.size)
        else:
            mean, std = spec
        if not std > 0:
            raise ConfigError(_("normalize=True needs training images that are not constant"))
        scale, offset = dtype.type(1 / (255 * std)), dtype.type(-mean / std)
    out = []
    for images in (train, test):
        x = images.astype(dtype)  # computed in dtype: float32 stays float32
        if spec is False:
            x /= dtype.type(255)
        else:
            x *= scale
            x += offset
        out.append(x[:, np.newaxis])  # (N, H, W) -> (N, 1, H, W)
    return out[0], out[1]


def _blocks(x: np.ndarray) -> list[np.ndarray]:
    flat = x.reshape(-1)  # (N, ...) -> (N*...,), a view for contiguous arrays
    return [flat[i:i + _BLOCK] for i in range(0, flat.size, _BLOCK)] or [flat]


def mean_std(x: np.ndarray) -> tuple[float, float]:
    """Scalar mean and (population) std of ``x``, accumulated in float64 block by block.

    Two passes over blocks keep it accurate without a float64 copy of the whole array.
    """
    blocks = _blocks(x)
    mean = sum(float(b.sum(dtype=np.float64)) for b in blocks) / x.size
    sq = sum(float(np.square(b.astype(np.float64) - mean).sum()) for b in blocks)
    return mean, math.sqrt(sq / x.size)


def standardize(
    x_train: np.ndarray, x_test: np.ndarray, normalize: Normalize
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``normalize`` in place to both splits and return them (dtype unchanged).

    ``True`` uses the scalar mean and standard deviation of ``x_train``; a pair
    ``(mean, std)`` is used as given, in the units of ``x_train``.

    Shapes
    ------
    Any; ``x_train`` and ``x_test`` keep their shapes.
    """
    spec = check_normalize(normalize)
    if spec is False:
        return x_train, x_test
    mean, std = mean_std(x_train) if spec is True else spec
    if not std > 0:
        raise ConfigError(_("normalize=True needs training data that is not constant (std = 0)"))
    for x in (x_train, x_test):
        x -= x.dtype.type(mean)
        x /= x.dtype.type(std)
    return x_train, x_test
