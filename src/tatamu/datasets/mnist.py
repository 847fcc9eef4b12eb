"""MNIST and Fashion-MNIST: find the IDX files, verify them, return training-ready arrays.

This is the book's ``dataset/mnist.py`` (ch. 3.6) without its pickle and its download into the
source tree. MNIST ships inside tatamu, so ``load_mnist()`` works offline. Fashion-MNIST (same
format, 10 clothing classes, harder) is looked for in ``root=``, the user cache and the folder
Debian's ``dataset-fashion-mnist`` package installs, and downloaded only when asked.
Every file is checked against the published sha256 of its uncompressed bytes, once per process.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from ..backend.arrays import resolve_dtype
from ..errors import DataError, Fix
from ..i18n import _
from . import integrity
from .cache import user_cache_dir
from .download import DEFAULT_BACKOFF, DEFAULT_RETRIES, DEFAULT_TIMEOUT, ProgressFn, download_files
from .idx import read_idx
from .preprocess import Normalize, check_normalize, uint8_images_to_float

Arrays = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

#: The four IDX files of MNIST and Fashion-MNIST, in the order train images, train labels,
#: test images, test labels. On disk each is ``NAME.gz`` or the uncompressed ``NAME``.
IDX_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

#: Published sha256 of the uncompressed MNIST files (LeCun, Cortes, Burges).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

#: Published sha256 of the uncompressed Fashion-MNIST files (Zalando Research).
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

#: Where the MNIST copy shipped with tatamu lives (package data; read-only).
SHIPPED_MNIST_DIR = Path(__file__).resolve().parent / "files" / "mnist"

#: Where ``apt-get install dataset-fashion-mnist`` puts the four ``*-ubyte.gz`` files
#: (Debian bookworm, package version 0.0~git20200523.55506a9-1, checked with ``dpkg -c``).
DEBIAN_FASHION_MNIST_DIRS = (Path("/usr/share/datasets/fashion-mnist"),)

#: Mirrors of the ``*-ubyte.gz`` files, tried in order (the sha256 check makes plain http safe).
FASHION_MNIST_MIRRORS = (
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
)

#: Subfolder of the user cache that holds Fashion-MNIST.
FASHION_MNIST_CACHE_SUBDIR = "fashion-mnist"

_IMAGE_SHAPE = (28, 28)
_NUM_CLASSES = 10


def load_mnist(
    root: str | os.PathLike[str] | None = None,
    *,
    normalize: Normalize = False,
    dtype: DTypeLike = np.float32,
) -> Arrays:
    """Load MNIST (60,000 training and 10,000 test digits), the book's ``load_mnist``.

    Parameters
    ----------
    root : path, optional
        A folder holding the four IDX files (``*-ubyte.gz`` or uncompressed). Default: the copy
        shipped inside tatamu. Either way the files must match the published sha256.
    normalize : bool or (float, float)
        False: pixels in [0, 1]. True: standardised with the training set's mean and std.
        ``(mean, std)``: standardised with these (in [0, 1] units, e.g. ``(0.1307, 0.3081)``).
    dtype : float dtype
        Image dtype (float32 default; float64 for gradient checks).

    Returns
    -------
    ((x_train, y_train), (x_test, y_test))
        Images ``dtype``, labels int64 in 0..9.

    Raises
    ------
    DataError
        Files missing, truncated, corrupt, or not matching the published checksums.

    Shapes
    ------
    x_train ``(60000, 1, 28, 28)``, y_train ``(60000,)``, x_test ``(10000, 1, 28, 28)``,
    y_test ``(10000,)``.

    Examples
    --------
    >>> (x_train, y_train), _ = load_mnist()
    >>> x_train.shape, x_train.dtype.name, y_train[:5].tolist()
    ((60000, 1, 28, 28), 'float32', [5, 0, 4, 1, 9])
    """
    dtype = resolve_dtype(dtype)
    check_normalize(normalize)  # fail before reading tens of megabytes
    folder = SHIPPED_MNIST_DIR if root is None else Path(root)
    paths, missing = _locate(folder)
    if missing:
        hint = (_("the tatamu installation is incomplete: reinstall it") if root is None else
                _("point root= at a folder holding all four MNIST files"))
        raise DataError(_("MNIST not found in {folder}: missing {names}; {hint}",
                          folder=folder, names=_names(missing), hint=hint))
    return _load_idx_set(paths, MNIST_SHA256, normalize, dtype)


def load_fashion_mnist(
    root: str | os.PathLike[str] | None = None,
    download: bool = False,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    mirrors: Sequence[str] | None = None,
    normalize: Normalize = False,
    dtype: DTypeLike = np.float32,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    backoff: float = DEFAULT_BACKOFF,
    progress: ProgressFn | None = None,
) -> Arrays:
    """Load Fashion-MNIST (Zalando; 60,000 + 10,000 clothing images in 10 classes).

    Looks in order in ``root``, the user cache (``cache_dir``, else ``$TATAMU_CACHE``, else
    ``$XDG_CACHE_HOME/tatamu``, else ``~/.cache/tatamu``; subfolder ``fashion-mnist``) and
    :data:`DEBIAN_FASHION_MNIST_DIRS`. A folder is used when it holds all four files.

    Parameters
    ----------
    root : path, optional
        A folder holding the four IDX files (``*-ubyte.gz`` or uncompressed).
    download : bool
        If nothing is found, fetch the files from ``mirrors`` into the user cache.
    cache_dir : path, optional
        Overrides the user cache folder.
    mirrors : sequence of str, optional
        Base URLs; default :data:`FASHION_MNIST_MIRRORS`.
    normalize, dtype
        As in :func:`load_mnist`.
    timeout, retries, backoff, progress
        Download settings; see :func:`tatamu.datasets.download.download_files`.

    Returns
    -------
    ((x_train, y_train), (x_test, y_test))
        Images ``dtype``, labels int64 in 0..9 (names in ``class_names("fashion-mnist")``).

    Raises
    ------
    DataError
        Not found and ``download=False`` (the message lists every place looked and the fixes),
        or a file is truncated, corrupt or fails its checksum.
    DownloadError
        ``download=True`` and a file failed on every mirror.

    Shapes
    ------
    As :func:`load_mnist`: ``(60000, 1, 28, 28)``, ``(60000,)``, ``(10000, 1, 28, 28)``,
    ``(10000,)``.
    """
    dtype = resolve_dtype(dtype)
    check_normalize(normalize)  # fail before reading tens of megabytes
    cache = user_cache_dir(cache_dir) / FASHION_MNIST_CACHE_SUBDIR
    places = [] if root is None else [(Path(root), "root=")]
    places.append((cache, _("user cache")))
    places += [(d, _("Debian package dataset-fashion-mnist")) for d in DEBIAN_FASHION_MNIST_DIRS]
    looked = []
    for folder, label in places:
        paths, missing = _locate(folder)
        if not missing:
            return _load_idx_set(paths, FASHION_MNIST_SHA256, normalize, dtype)
        looked.append(f"  {folder} ({label}): " + (
            _("missing {names}", names=_names(missing)) if folder.is_dir() else
            _("no such folder")))
    if not download:
        raise DataError(
            _("Fashion-MNIST not found. Looked in:") + "\n" + "\n".join(looked) + "\n"
            + _("Fix: pass "), Fix("download", True), _(" to fetch it into the user cache {cache}; "
                                                   "or `sudo apt-get install "
                                                   "dataset-fashion-mnist`; or pass ", cache=cache),
            Fix("root"), _(" a folder holding the four *-ubyte.gz (or uncompressed) files."),
            param="root", value=None if root is None else str(root),
        )
    _found, missing = _locate(cache)
    download_files([(name + ".gz", FASHION_MNIST_SHA256[name]) for name in missing], cache,
                   FASHION_MNIST_MIRRORS if mirrors is None else mirrors, timeout=timeout,
                   retries=retries, backoff=backoff, progress=progress)
    paths, _missing = _locate(cache)
    return _load_idx_set(paths, FASHION_MNIST_SHA256, normalize, dtype)


def _locate(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Map each IDX name to ``folder/NAME.gz`` or ``folder/NAME``; also list the missing."""
    found, missing = {}, []
    for name in IDX_NAMES:
        for candidate in (folder / (name + ".gz"), folder / name):
            if candidate.is_file():
                found[name] = candidate
                break
        else:
            missing.append(name)
    return found, missing


def _names(missing: list[str]) -> str:
    return ", ".join(f"{name}[.gz]" for name in missing)


def _read_checked(path: Path, sha256: str) -> np.ndarray:
    """Read an IDX file, checking its sha256 unless this process already did."""
    if integrity.is_verified(path, sha256):
        return read_idx(path)
    array = read_idx(path, sha256=sha256)
    integrity.remember_verified(path, sha256)
    return array


def _load_idx_set(
    paths: dict[str, Path], sha256: dict[str, str], normalize: Normalize, dtype: np.dtype
) -> Arrays:
    train_images, train_labels, test_images, test_labels = (
        _read_checked(paths[name], sha256[name]) for name in IDX_NAMES
    )
    _check_split(train_images, train_labels, paths[IDX_NAMES[0]], paths[IDX_NAMES[1]])
    _check_split(test_images, test_labels, paths[IDX_NAMES[2]], paths[IDX_NAMES[3]])
    x_train, x_test = uint8_images_to_float(train_images, test_images, normalize, dtype)
    return (x_train, train_labels.astype(np.int64)), (x_test, test_labels.astype(np.int64))


def _check_split(images: np.ndarray, labels: np.ndarray, im_path: Path, lb_path: Path) -> None:
    """Reject well-formed IDX files that are not an image/label pair of this dataset."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != _IMAGE_SHAPE:
        raise DataError(_("{im_path}: expected uint8 images of shape (N, 28, 28); got {dtype} "
                          "{shape}", im_path=im_path, dtype=images.dtype, shape=images.shape))
    if labels.dtype != np.uint8 or labels.shape != (len(images),):
        raise DataError(_("{lb_path}: expected {n_images} uint8 labels to match {im_path}; got "
                          "{dtype} {shape}",
                          lb_path=lb_path, n_images=len(images), im_path=im_path,
                          dtype=labels.dtype, shape=labels.shape))
    if labels.size and labels.max() >= _NUM_CLASSES:
        raise DataError(_("{lb_path}: label {max} is out of range 0..9",
                          lb_path=lb_path, max=labels.max()))
