"""Helpers shared by the robustness tests (see docs/robustness.md for the table they prove).

- ``run_cli(*argv)``: tatamu's ``main(argv)`` in-process, returning (status, stdout, stderr);
- ``one_error_line(err, *phrases)``: the CLI's promise for a user error: exactly one
  ``tatamu: error:`` line on stderr, the last one, and no traceback;
- ``tiny_model()`` / ``tiny_data()``: an 8x8 SimpleConvNet and random images with labels.
"""

from __future__ import annotations

import numpy as np

from tatamu import Sequential
from tatamu.models import simple_convnet

SHAPE = (1, 8, 8)


def tiny_model(seed: int = 0) -> Sequential:
    """SimpleConvNet's layers at toy size: conv 4@3x3, pool, Linear 16, Linear 10."""
    return simple_convnet(SHAPE, filters=4, hidden=16, rng=seed)


def tiny_data(n: int = 12, seed: int = 0, classes: int = 10):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE), dtype=np.float32), rng.integers(0, classes, size=n)


def one_error_line(err: str, *phrases: str) -> str:
    """The single ``tatamu: error:`` line of ``err`` (the last line), checked for ``phrases``.

    Progress lines ("loading mnist...", the model summary) may come before it; nothing may
    follow it, and no traceback may appear anywhere.
    """
    assert "Traceback" not in err, err
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith("tatamu: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], err
    for phrase in phrases:
        assert phrase in errors[0], errors[0]
    return errors[0]
