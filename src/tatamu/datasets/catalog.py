"""The datasets tatamu knows by name: one place for names, class names and dispatch.

The CLI and the examples say ``--dataset fashion-mnist``; this module turns that string into
the right loader call and into human-readable class names for confusion matrices and plots.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import DTypeLike

from ..errors import ConfigError
from ..i18n import _
from .mnist import Arrays, load_fashion_mnist, load_mnist
from .mnist1d import load_mnist1d
from .preprocess import Normalize

#: Canonical dataset names, as ``load_dataset`` and the CLI accept them.
DATASETS = ("mnist", "fashion-mnist", "mnist1d")

_DIGITS = tuple(str(d) for d in range(10))

#: Class names by dataset, indexed by label.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "mnist": _DIGITS,
    "fashion-mnist": (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
    "mnist1d": _DIGITS,
}


def canonical_name(name: str) -> str:
    """Return the canonical spelling of a dataset name (case, ``_`` and ``-`` are forgiven).

    Examples
    --------
    >>> canonical_name("Fashion_MNIST"), canonical_name("mnist-1d")
    ('fashion-mnist', 'mnist1d')
    """
    key = str(name).strip().lower().replace("_", "-")
    key = {"fashionmnist": "fashion-mnist", "mnist-1d": "mnist1d"}.get(key, key)
    if key not in DATASETS:
        raise ConfigError(_("unknown dataset {name!r}; choose one of {datasets}",
                            name=name, datasets=', '.join(DATASETS)))
    return key


def class_names(name: str) -> tuple[str, ...]:
    """Return the class names of dataset ``name``, indexed by label.

    Examples
    --------
    >>> class_names("fashion-mnist")[9]
    'Ankle boot'
    """
    return CLASS_NAMES[canonical_name(name)]


def load_dataset(
    name: str,
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    cache_dir: str | os.PathLike[str] | None = None,
    normalize: Normalize = False,
    dtype: DTypeLike = np.float32,
) -> Arrays:
    """Load dataset ``name`` ("mnist", "fashion-mnist" or "mnist1d").

    ``root`` is passed to the MNIST and Fashion-MNIST loaders; ``download`` and ``cache_dir``
    only matter for Fashion-MNIST (MNIST and MNIST-1D ship with tatamu). MNIST-1D takes no
    ``root``.

    Returns
    -------
    ((x_train, y_train), (x_test, y_test))
        As the dataset's own loader.

    Shapes
    ------
    mnist, fashion-mnist: images ``(N, 1, 28, 28)``; mnist1d: signals ``(N, 1, 40)``; labels
    ``(N,)`` int64.
    """
    key = canonical_name(name)
    if key == "mnist":
        return load_mnist(root, normalize=normalize, dtype=dtype)
    if key == "fashion-mnist":
        return load_fashion_mnist(root, download, cache_dir=cache_dir, normalize=normalize,
                                  dtype=dtype)
    if root is not None:
        raise ConfigError(_("mnist1d ships with tatamu and takes no root="))
    return load_mnist1d(normalize=normalize, dtype=dtype)
