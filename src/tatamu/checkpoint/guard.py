"""Reading an ``.npz`` that may be hostile: bounded, pickle-free, every failure explained.

A checkpoint is a file from anywhere (a download, a forum post, a damaged disk), so before
tatamu believes it, this module checks what :mod:`tatamu.checkpoint` would otherwise trust:
the zip's declared sizes (a "zip bomb"), every ``.npy`` header against the bytes it holds (a
100-byte entry cannot make ``np.load`` allocate 4 GB), object arrays (pickle: refused, never
run), and the architecture the metadata declares against the weights stored with it (a 1 KB
file cannot ask for a ``Linear(50000, 50000)``). The checkpoint module keeps the format.
"""

from __future__ import annotations

import lzma
import math
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import CheckpointError, TatamuError
from ..layers import LAYER_CLASSES

#: Refuse archives that would unpack to more than this (a "zip bomb"), or that expand more
#: than MAX_RATIO times: model arrays barely compress.
MAX_UNPACKED_BYTES = 4 * 2**30
MAX_RATIO = 200
#: What the zip and .npy layers raise on damaged bytes (zlib/lzma: a flipped compression method).
ARCHIVE_ERRORS = (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError,
                  zlib.error, lzma.LZMAError)


def load_npz(path: Path, required: str, *, only_required: bool = False) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` at ``path``, after the checks; it must hold ``required``.

    ``only_required``: load that one array (a listing that needs only the metadata).

    Raises ``CheckpointError`` saying what is wrong for a missing, truncated, corrupt, oversized,
    pickled or foreign file.
    """
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        zf = zipfile.ZipFile(path)
    except ARCHIVE_ERRORS as exc:
        # NotImplementedError: a damaged header asking for an unknown zip version/compression
        raise CheckpointError(
            f"{path} is not a tatamu checkpoint: not a readable .npz archive ({exc}); it may be "
            "truncated or corrupt"
        ) from exc
    with zf:
        infos = zf.infolist()
        unpacked = sum(i.file_size for i in infos)
        packed = max(1, sum(i.compress_size for i in infos))
        if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_RATIO * packed + 2**20:
            raise CheckpointError(
                f"{path} would unpack to {unpacked:,} bytes from {packed:,}: refused (not a "
                "checkpoint tatamu wrote)"
            )
        check_npy_headers(path, zf, infos)
    try:
        with np.load(path, allow_pickle=False) as npz:
            if required not in npz.files:
                raise CheckpointError(
                    f"{path} is an .npz file but not a tatamu checkpoint (it has no '{required}' "
                    f"entry; its arrays are {npz.files[:5]})"
                )
            return {k: npz[k] for k in ([required] if only_required else npz.files)}
    except CheckpointError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise pickle_refused(path) from exc
        raise CheckpointError(f"{path} is corrupt: {exc}") from exc
    except (*ARCHIVE_ERRORS, KeyError, RuntimeError, MemoryError) as exc:
        raise CheckpointError(f"{path} is corrupt or truncated: {exc}") from exc


def pickle_refused(path: Path) -> CheckpointError:
    return CheckpointError(
        f"{path} holds a pickled object array; tatamu never unpickles (it can run arbitrary "
        "code). Refused."
    )


def check_npy_headers(path: Path, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Refuse any entry whose .npy header does not describe exactly the bytes it holds.

    ``np.load`` allocates the array a header declares before reading a byte of it, so a
    100-byte entry claiming 10**9 floats would cost 4 GB; an object dtype would mean pickle.
    Reading the headers first bounds what loading allocates by the archive's real size.
    """
    for info in infos:
        try:
            with zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
                else:
                    raise ValueError(f".npy format version {version} (tatamu writes 1.0)")
                offset = f.tell()
        except ARCHIVE_ERRORS as exc:
            raise CheckpointError(f"{path} is corrupt or truncated: entry {info.filename}: "
                                  f"{exc}") from exc
        if dtype.hasobject:
            raise pickle_refused(path)
        size = math.prod(shape) * dtype.itemsize
        if offset + size != info.file_size:
            raise CheckpointError(
                f"{path} is corrupt: entry {info.filename} declares a {dtype} array of shape "
                f"{shape} ({size:,} bytes) but holds {info.file_size - offset:,} bytes"
            )


def check_architecture_size(path: Path, model_config: Any, stored: int) -> None:
    """Refuse an architecture far larger than the ``stored`` weights, before building it.

    Building a model allocates (and draws) its weights, so a forged 1 KB file declaring a
    Linear(50000, 50000) would cost 10 GB before any array is compared. A real checkpoint
    stores every parameter and buffer, so what it declares is what it holds. Each layer class
    says what its config allocates (:meth:`tatamu.layers.Layer.param_shapes`), so a new layer
    is bounded here without a line in this module.
    """
    layers = model_config.get("layers") if isinstance(model_config, dict) else None
    if not isinstance(layers, list):
        return  # from_config says what is wrong
    declared = sum(declared_size(spec) for spec in layers)
    if declared > 2 * stored + 2**20:
        raise CheckpointError(
            f"{path}: invalid architecture in the metadata: its layers need {declared:,} "
            f"weights but the file holds {stored:,}; the file is damaged or forged"
        )


def declared_size(spec: Any) -> int:
    """Parameters + buffers one layer spec asks for; 0 where its config cannot work (building
    it then fails with the layer's own message, before allocating anything).
    """
    if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
        return 0
    cls = LAYER_CLASSES.get(spec.get("class")) if isinstance(spec.get("class"), str) else None
    if cls is None:
        return 0
    try:
        shapes = cls.param_shapes(spec["config"])
    except (TatamuError, TypeError, ValueError, OverflowError):
        return 0
    return sum(math.prod(shape) for shape in shapes.values())
