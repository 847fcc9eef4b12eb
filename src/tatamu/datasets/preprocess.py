"""Turn stored dataset arrays into what a network eats: float images, optionally standardised.

The book's ``load_mnist(normalize=True)`` means "divide by 255". tatamu always scales uint8
images to [0, 1]; ``normalize`` additionally standardises them (zero mean, unit variance) with
statistics taken from the *training* split only, so no test information leaks into training.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ConfigError

#: ``False`` / ``None`` (off), ``True`` (training-set mean/std), or an explicit ``(mean, std)``.
Normalize = bool | tuple[float, float] | None


def uint8_to_unit(images: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Return ``images`` (uint8) as ``dtype`` scaled to [0, 1], adding a channel axis.

    Shapes
    ------
    ``(N, H, W)`` uint8 -> ``(N, 1, H, W)`` dtype.
    """
    x = images.astype(dtype)  # computed in dtype: float32 stays float32
    x /= 255
    return x[:, np.newaxis]  # (N, H, W) -> (N, 1, H, W)


def standardize(
    x_train: np.ndarray, x_test: np.ndarray, normalize: Normalize
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``normalize`` in place to both splits and return them (dtype unchanged).

    ``True`` uses the scalar mean and standard deviation of ``x_train`` (accumulated in
    float64); a pair ``(mean, std)`` is used as given, in the units of ``x_train``.
    """
    if normalize is None or (isinstance(normalize, bool | np.bool_) and not normalize):
        return x_train, x_test
    if isinstance(normalize, bool | np.bool_):
        mean = float(x_train.mean(dtype=np.float64))
        std = float(x_train.std(dtype=np.float64))
    else:
        try:
            mean, std = (float(v) for v in normalize)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"normalize must be False, True or a (mean, std) pair; "
                              f"got {normalize!r}") from e
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise ConfigError(f"normalize needs a finite mean and a positive std; got "
                          f"mean={mean}, std={std}")
    for x in (x_train, x_test):
        x -= x.dtype.type(mean)
        x /= x.dtype.type(std)
    return x_train, x_test
