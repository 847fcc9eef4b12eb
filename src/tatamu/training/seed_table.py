"""The runs of a sweep as a table: one row per command, its seeds' last-epoch test accuracy as
mean ± sd.

A stand-in for the runs issue's ``tatamu runs DIR`` table (issue 24), kept to what a sweep
prints at its end; each figure is read from the run folder (``last.npz``'s metadata, which every
epoch rewrites), never typed by hand.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from ..errors import TatamuError
from . import run as runs


@dataclass(frozen=True)
class SeedRun:
    """One run's figures: the test accuracy of its last epoch (a fraction), epochs, seconds."""

    command: str
    seed: int
    epochs: int
    accuracy: float | None
    seconds: float


def read_run(command: str, seed: int, folder: Path) -> SeedRun | None:
    """The figures of the run in ``folder`` (None when it has no finished epoch)."""
    try:
        saved = runs.saved_state(folder)
    except (TatamuError, OSError, ValueError):
        return None
    if saved is None or not saved[1].get("epoch"):
        return None
    history = saved[1]
    accuracies = [a for a in history.get("val_accuracy", []) if a is not None]
    return SeedRun(command, seed, int(history["epoch"][-1]),
                   accuracies[-1] if accuracies else None,
                   float(sum(t or 0.0 for t in history.get("epoch_time", []))))


def mean_sd(values: list[float]) -> tuple[float, float | None]:
    """The mean, and the sample standard deviation (None for one value)."""
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None


def format_table(rows: list[SeedRun], planned: dict[str, int]) -> str:
    """One line per command: seeds done of planned, epochs, accuracy mean ± sd, time."""
    lines = [f"{'command':24s} {'seeds':>7s} {'epochs':>7s} {'test accuracy':>17s} "
             f"{'time/run':>9s}"]
    for command, count in planned.items():
        mine = [r for r in rows if r.command == command]
        accuracies = [100 * r.accuracy for r in mine if r.accuracy is not None]
        shown = "-"
        if accuracies:
            mean, sd = mean_sd(accuracies)
            shown = f"{mean:.2f}%" + (f" ± {sd:.2f}" if sd is not None else "")
        epochs = sorted({r.epochs for r in mine})
        epochs_shown = "-" if not epochs else str(epochs[0]) if len(epochs) == 1 else \
            f"{epochs[0]}-{epochs[-1]}"
        seconds = statistics.fmean([r.seconds for r in mine]) if mine else None
        lines.append(f"{command:24s} {f'{len(mine)}/{count}':>7s} {epochs_shown:>7s} "
                     f"{shown:>17s} {_clock(seconds):>9s}")
    return "\n".join(lines)


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
