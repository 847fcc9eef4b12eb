"""Command-line arguments shared by the weight commands: an input shape and a checkpoint path."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ...errors import CheckpointError
from ...i18n import _


def input_shape(text: str) -> tuple[int, ...]:
    """``1x28x28``, ``1,28,28`` or ``1×28×28`` -> (1, 28, 28) (``1x40`` for 1-D signals)."""
    parts = re.split(r"[x×,]", text.strip().lower())
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            _("expected a shape like 1x28x28 (C×H×W) or 1x40 (C×L); got {text!r}",
              text=text)) from None
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise argparse.ArgumentTypeError(
            _("expected 2 or 3 positive sizes like 1x28x28; got {text!r}", text=text))
    return shape


def checkpoint_file(path: Path) -> Path:
    """A checkpoint, or a run folder's best.npz (else last.npz)."""
    if path.is_dir():
        for name in ("best.npz", "last.npz"):
            if (path / name).is_file():
                return path / name
        raise CheckpointError(_("{path} is a folder without best.npz or last.npz", path=path))
    return path
