"""Weights to and from PyTorch through safetensors, the ecosystem's safe weights format.

A ``.safetensors`` file is a JSON header (names, dtypes, shapes) and raw bytes: reading it runs
no code, and it needs no torch (the ``safetensors`` package has a NumPy API). The names and
layouts are PyTorch's (:mod:`tatamu.interop.torch_names`), so the file loads with
``model.load_state_dict(load_file(path))`` into the ``nn.Sequential`` that
:func:`torch_definition` prints, and a file saved from that torch model loads back here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..checkpoint.store import atomic_write
from ..errors import CheckpointError
from ..i18n import _
from ..model import Sequential
from .optional import require
from .torch_names import torch_modules, torch_state_dict


def save_safetensors(model: Sequential, path: str | os.PathLike[str], *,
                     overwrite: bool = False) -> Path:
    """Write ``model``'s weights with PyTorch's names and layouts; returns the path written."""
    st = require("safetensors.numpy")
    path = Path(path)
    _refuse_existing(path, overwrite)
    state = torch_state_dict(model)
    data = st.save(state, metadata={"format": "pt", "written_by": "tatamu"})
    atomic_write(path, lambda f: f.write(data))
    return path


def load_safetensors(path: str | os.PathLike[str], model: Sequential) -> Sequential:
    """Copy the weights of a PyTorch ``state_dict`` saved as safetensors into ``model``.

    The keys are the names of the ``nn.Sequential`` :func:`torch_definition` prints for
    ``model`` (``conv1.weight``), or the same modules by position (``0.weight``, as a
    ``nn.Sequential`` built from a plain list names them). Every name and shape is checked
    against ``model`` before anything is copied; a mismatch names the tensor and both shapes.
    """
    st = require("safetensors.numpy")
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(_("no file at {path}", path=path))
    try:
        tensors = st.load_file(str(path))
    except Exception as exc:  # SafetensorError, OSError: a damaged or foreign file
        raise CheckpointError(
            _("{path} is not a readable safetensors file ({splitlines})",
              path=path, splitlines=str(exc).splitlines()[0])
        ) from None
    modules = torch_modules(model)
    expected = {f"{m.name}.{t}": (m, t) for m in modules for t in m.tensors}
    if tensors and all(re.match(r"\d+\.", k) for k in tensors):
        tensors = _by_position(path, tensors, modules)
    missing = sorted(k for k in set(expected) - set(tensors) if not k.endswith("batches_tracked"))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise CheckpointError(
            _("{path}: tensors do not match the architecture (missing: {missing}; unexpected: "
              "{extra}); print the matching torch model with tatamu export CKPT --print-torch",
              path=path, missing=missing or 'none', extra=extra or 'none')
        )
    targets = {**model.params(), **model.buffers()}
    converted = {}
    for key, (module, torch_name) in expected.items():
        ours, convert = module.tensors[torch_name]
        if ours is None or key not in tensors:
            continue  # num_batches_tracked: tatamu does not count steps
        value = convert(tensors[key])
        if value.shape != targets[ours].shape:
            raise CheckpointError(
                _("{path}: {key} has shape {shape}, but {ours} needs {expected} in PyTorch's "
                  "layout",
                  path=path, key=key, shape=tensors[key].shape, ours=ours,
                  expected=convert(np.empty(targets[ours].shape)).shape)
            )
        if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
            raise CheckpointError(_("{path}: {key} is not finite floating-point numbers",
                                    path=path, key=key))
        converted[ours] = value
    for name, value in converted.items():
        targets[name][...] = value
    return model


def _by_position(path: Path, tensors: dict[str, np.ndarray], modules) -> dict[str, np.ndarray]:
    """``0.weight`` -> ``conv1.weight``: the n-th module of the printed ``nn.Sequential``."""
    renamed = {}
    for key, value in tensors.items():
        index, _dot, rest = key.partition(".")
        if int(index) >= len(modules):
            raise CheckpointError(_("{path}: {key} refers to module {index}, but the matching "
                                    "nn.Sequential has {n_modules} modules",
                                    path=path, key=key, index=index, n_modules=len(modules)))
        renamed[f"{modules[int(index)].name}.{rest}"] = value
    return renamed


def _refuse_existing(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise CheckpointError(_("{path} already exists; choose another name or pass --force",
                                path=path))
