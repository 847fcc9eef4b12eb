"""Saving and loading models: one ``.npz`` of arrays plus JSON metadata, never pickle.

The book saved ``params.pkl`` with pickle, which runs arbitrary code on load and had to be
re-linked to the layers by hand. A tatamu checkpoint is a plain ``.npz`` (read with
``allow_pickle=False``) holding every parameter (``param/conv1.W``), buffer (BatchNorm running
statistics), optimizer state (``optim/m/conv1.W``), and one JSON document (``meta``) with the
architecture, so :func:`load` rebuilds the model from the file alone.

Writes are atomic: the data goes to a temporary file in the same folder, is flushed to disk,
and is renamed over the target only when complete, so a crash or Ctrl-C mid-write leaves the
previous checkpoint whole. An existing file is never replaced unless ``overwrite=True``.
Reading trusts nothing in the file: the checks against hostile files (zip bombs, lying .npy
headers, pickle, oversized architectures) live in :mod:`tatamu.checkpoint.guard`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import CheckpointError, ConfigError, Fix, Name
from ..model import Sequential
from ..validate import all_finite, is_int
from . import guard as guard

FORMAT = "tatamu-checkpoint"
#: Bumped when the layout changes; a file with a newer version is refused with an upgrade hint,
#: and every older version stays loadable (the compatibility promise).
FORMAT_VERSION = 1
META_KEY = "meta"
#: The names atomic_write gives its temporary files (mkstemp: ".NAME." + 8 characters + ".tmp").
_TEMP_NAME = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")


@dataclass
class Checkpoint:
    """What a checkpoint file holds, once read and checked."""

    model: Sequential
    meta: dict[str, Any]
    optimizer_state: dict[str, np.ndarray] = field(default_factory=dict)
    path: Path | None = None


def save(
    model: Sequential,
    path: str | os.PathLike[str],
    *,
    optimizer=None,
    metadata: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` (and optionally the optimizer's state) to ``path`` atomically.

    ``metadata`` is stored in the JSON document (dataset, class names, normalisation, history,
    training state...). Returns the path written. Raises ``CheckpointError`` if ``path`` exists
    and ``overwrite`` is False, or if the folder cannot be written.
    """
    path = Path(path)
    if path.suffix != ".npz":
        raise CheckpointError(f"checkpoint files end in .npz; got {path}")
    if path.exists() and not overwrite:
        raise CheckpointError(
            f"{path} already exists; choose another name or pass ", Fix("overwrite", True),
            " to replace it", param="path", value=str(path)
        )
    from .._version import __version__

    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tatamu_version": __version__,
        "model": model.config(),
        "dtype": str(model.dtype),
        **(metadata or {}),
    }
    if optimizer is not None:
        meta["optimizer"] = optimizer.config()
    arrays = {f"param/{k}": as_numpy(v) for k, v in model.params().items()}
    arrays.update({f"buffer/{k}": as_numpy(v) for k, v in model.buffers().items()})
    if optimizer is not None:
        arrays.update({f"optim/{k}": as_numpy(v) for k, v in optimizer.state_dict().items()})
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"metadata is not JSON-serialisable: {exc}") from exc
    arrays[META_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return path


def atomic_write(path: Path, write) -> None:
    """Call ``write(file)`` on a temporary file beside ``path``, then rename it into place.

    ``write`` may be the bytes to write instead (a JSON document, a CSV table).
    """
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise CheckpointError(
            f"cannot write to folder {folder}: {exc.strerror or exc}. Choose a writable "
            "folder (", Name("path"), ").", param="path", value=str(path)
        ) from exc
    try:
        with os.fdopen(fd, "wb") as f:
            if isinstance(write, bytes):
                f.write(write)
            else:
                write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:  # also Ctrl-C: never leave a half-written file behind
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise CheckpointError(
                f"could not write {path}: {exc.strerror or exc} (is the disk full?); any "
                "previous file there is unchanged"
            ) from exc
        raise


def remove_stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files of writes that never finished (a process killed mid-write).

    ``atomic_write`` removes its temporary file on any exception, Ctrl-C included, but nothing
    runs after SIGKILL or a power cut. Call this only when no other process writes into
    ``folder`` (fit does, before writing a run's first checkpoint). Returns what was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    stale = [p for p in folder.iterdir() if _TEMP_NAME.fullmatch(p.name) and p.is_file()]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read(path: str | os.PathLike[str]) -> Checkpoint:
    """Read and check a checkpoint: the model (with its weights), metadata, optimizer state."""
    path = Path(path)
    arrays, meta = _read_arrays(path)
    stored = sum(a.size for k, a in arrays.items() if k.startswith(("param/", "buffer/")))
    guard.check_architecture_size(path, meta.get("model"), stored)
    try:
        model = Sequential.from_config(meta["model"])
    except (ConfigError, KeyError, TypeError, ValueError, MemoryError) as exc:
        # ValueError/MemoryError: layer sizes too large to allocate (a damaged or forged file)
        raise CheckpointError(f"{path}: invalid architecture in the metadata: {exc}") from exc
    params = {k.removeprefix("param/"): v for k, v in arrays.items() if k.startswith("param/")}
    buffers = {k.removeprefix("buffer/"): v for k, v in arrays.items() if k.startswith("buffer/")}
    copy_into(path, "parameter", model.params(), params)
    copy_into(path, "buffer", model.buffers(), buffers)
    optim = {k.removeprefix("optim/"): v for k, v in arrays.items() if k.startswith("optim/")}
    return Checkpoint(model=model, meta=meta, optimizer_state=optim, path=path)


def read_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Only the JSON document of a checkpoint (a listing of runs): the archive is checked as
    :func:`read` checks it, but no weight is loaded and no model built."""
    path = Path(path)
    return _parse_meta(path, guard.load_npz(path, META_KEY, only_required=True)[META_KEY])


def load(path: str | os.PathLike[str]) -> Sequential:
    """Rebuild the model saved at ``path``, weights included, from the file alone."""
    return read(path).model


def load_weights(model: Sequential, path: str | os.PathLike[str]) -> Sequential:
    """Copy the weights saved at ``path`` into an existing ``model`` of the same architecture."""
    ckpt = read(path)
    check_fits(Path(path), "buffer", model.buffers(), ckpt.model.buffers())
    copy_into(Path(path), "parameter", model.params(), ckpt.model.params())
    copy_into(Path(path), "buffer", model.buffers(), ckpt.model.buffers())
    return model


def check_weights_fit(model: Sequential, saved: Checkpoint, path: str | os.PathLike[str]) -> None:
    """Refuse ``saved``'s weights unless they fit ``model`` exactly (names, shapes, finite)."""
    check_fits(Path(path), "parameter", model.params(), saved.model.params())
    check_fits(Path(path), "buffer", model.buffers(), saved.model.buffers())


def copy_weights(model: Sequential, saved: Checkpoint, path: str | os.PathLike[str]) -> None:
    """Copy ``saved``'s parameters and buffers into ``model``'s arrays in place (checked first)."""
    check_weights_fit(model, saved, path)
    copy_into(Path(path), "parameter", model.params(), saved.model.params())
    copy_into(Path(path), "buffer", model.buffers(), saved.model.buffers())


def copy_into(path: Path, kind: str, targets: dict[str, Any], sources: dict[str, Any]) -> None:
    """Copy ``sources`` into the arrays ``targets`` in place, refusing any mismatch."""
    check_fits(path, kind, targets, sources)  # all checked first: a refusal changes nothing
    for name, target in targets.items():
        target[...] = sources[name]


def check_fits(path: Path, kind: str, targets: dict[str, Any], sources: dict[str, Any]) -> None:
    """Refuse ``sources`` unless they have exactly the names and shapes of ``targets``."""
    missing = sorted(set(targets) - set(sources))
    extra = sorted(set(sources) - set(targets))
    if missing or extra:
        raise CheckpointError(
            f"{path}: {kind}s do not match the architecture (missing: {missing or 'none'}; "
            f"unexpected: {extra or 'none'}); the file is from another model"
        )
    for name, target in targets.items():
        source = sources[name]
        if source.shape != target.shape:
            raise CheckpointError(
                f"{path}: {kind} {name} has shape {source.shape} in the file, but the "
                f"architecture needs {target.shape}; the file is from another model"
            )
        if source.dtype.kind != "f":
            raise CheckpointError(f"{path}: {kind} {name} has non-float dtype {source.dtype}")
        if not all_finite(source):
            raise CheckpointError(f"{path}: {kind} {name} contains NaN or inf; the file is corrupt")


def _read_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every array in the archive and the parsed metadata, with every failure explained."""
    arrays = guard.load_npz(path, META_KEY)
    meta = _parse_meta(path, arrays.pop(META_KEY))
    return arrays, meta


def _parse_meta(path: Path, raw: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise CheckpointError(f"{path}: metadata entry has the wrong type; the file is corrupt")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path}: metadata is not valid JSON ({exc}); corrupt file") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a tatamu checkpoint (format marker missing)")
    version = meta.get("format_version")
    if not is_int(version) or version < 1:
        raise CheckpointError(f"{path}: invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} was written by a newer tatamu ({meta.get('tatamu_version')}, checkpoint "
            f"format {version}); this tatamu reads formats up to {FORMAT_VERSION}. Upgrade "
            "tatamu (pip install -U tatamu)."
        )
    return meta
