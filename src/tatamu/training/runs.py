"""The runs under some folders, side by side: what ``tatamu runs`` prints (and ``tatamu sweep``).

Not in the book. A results table (mean ± sd over seeds, wall time) used to be typed by hand
from run folders; here it is read from them. Nothing heavy is loaded: a run is its
``plan.json``, the history in ``last.npz``'s metadata (written after every epoch, so a run in
progress is current), ``history.json`` (how it ended) and ``running.json`` (a run in progress).

    find_runs(["runs"])  ->  [Path, ...]            every run folder under the folders given
    summarise(folder)    ->  RunSummary             one run's figures and state
    group_by_seed(runs)  ->  [RunGroup, ...]        runs whose plans differ only by seed
    format_table(groups) ->  str                    the table; to_csv(groups) the same as CSV

Accuracies are fractions (0..1) here and in the CSV; the table prints percent.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import socket
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import store as ckpt
from ..errors import ConfigError, TatamuError
from .history import upgrade_history
from .run import HISTORY, INITIAL, LAST, PLAN, RUNNING

#: A run's state: training now, done (all epochs, or stopped early), stopped before its end
#: (Ctrl-C, killed, a full disk), stopped by a NaN/inf loss, or files that cannot be read.
STATES = ("running", "finished", "interrupted", "diverged", "unreadable")
#: Plan fields that do not make two runs different experiments (grouping ignores them).
NOT_THE_EXPERIMENT = ("seed", "threads", "data_root")


@dataclass(frozen=True)
class RunSummary:
    """One run folder's figures. Accuracies are fractions; None where nothing was measured."""

    folder: Path
    name: str
    model: str | None
    dataset: str | None
    seed: int | None
    epochs_done: int
    epochs_planned: int | None
    last_val_accuracy: float | None
    best_val_accuracy: float | None
    best_epoch: int | None
    test_accuracy: float | None
    wall_seconds: float | None
    state: str
    plan: dict[str, Any] | None = None

    def experiment(self) -> str:
        """What the run tried, seed aside: equal for runs that differ only by seed."""
        if self.plan is None:
            return f"folder:{self.folder}"
        return json.dumps({k: v for k, v in self.plan.items() if k not in NOT_THE_EXPERIMENT},
                          sort_keys=True)


def find_runs(dirs: list[str | Path]) -> list[Path]:
    """Every run folder at or under ``dirs`` (a folder with a plan or a checkpoint of a run),
    sorted; a folder that does not exist is a ConfigError. Hidden folders are skipped."""
    found: set[Path] = set()
    for top in map(Path, dirs):
        if not top.is_dir():
            raise ConfigError(f"{top} is not a folder; give folders that hold run folders "
                              "(default: runs)")
        for here, subdirs, files in os.walk(top):
            if is_run_folder(Path(here), files):
                found.add(Path(here))
                subdirs[:] = []  # its epochs/ and events are not runs
            else:
                subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
    return sorted(found)


def is_run_folder(folder: Path, files: list[str] | None = None) -> bool:
    names = set(os.listdir(folder) if files is None else files)
    return bool(names & {PLAN, LAST, INITIAL})


def summarise(folder: str | Path, name: str | None = None) -> RunSummary:
    """Read one run folder (no weights loaded); a damaged file is a TatamuError naming it."""
    folder = Path(folder)
    plan = _read_json(folder / PLAN)
    meta = ckpt.read_meta(folder / LAST) if (folder / LAST).is_file() else {}
    history = upgrade_history(meta.get("history") or {}, meta)
    epochs = list(history.get("epoch") or [])
    val = _figures(history, "val_accuracy", len(epochs))
    measured = [(a, e) for a, e in zip(val, epochs, strict=True) if a is not None]
    best = max(measured, key=lambda pair: pair[0], default=(None, None))  # first of equals
    tests = [a for a in _figures(history, "test_accuracy", len(epochs)) if a is not None]
    wall = [w if w is not None else t for w, t in zip(
        _figures(history, "wall_time", len(epochs)), _figures(history, "epoch_time", len(epochs)),
        strict=True)]
    plan = plan if isinstance(plan, dict) else None
    seed = (plan or {}).get("seed", (meta.get("train_state") or {}).get("seed"))
    return RunSummary(
        folder=folder, name=name or folder.name,
        model=(plan or {}).get("model") or meta.get("model_name"),
        dataset=(plan or {}).get("dataset") or meta.get("dataset"),
        seed=seed if isinstance(seed, int) else None, epochs_done=len(epochs),
        epochs_planned=(plan or {}).get("epochs"),
        last_val_accuracy=measured[-1][0] if measured else None, best_val_accuracy=best[0],
        best_epoch=best[1], test_accuracy=tests[-1] if tests else None,
        wall_seconds=sum(w for w in wall if w is not None) if epochs else None,
        state=run_state(folder), plan=plan)


def run_state(folder: Path) -> str:
    """One of :data:`STATES`, from ``running.json`` and ``history.json``'s stop reason."""
    marker = _read_json(folder / RUNNING)
    if isinstance(marker, dict):
        # A marker left by a process that is gone: killed (SIGKILL, a crash, a power cut).
        return "running" if _alive(marker) else "interrupted"
    ended = _read_json(folder / HISTORY)
    stop = ended.get("stop_reason") if isinstance(ended, dict) else None
    if stop in ("completed", "early_stopping"):
        return "finished"
    return "diverged" if stop == "diverged" else "interrupted"


def _alive(marker: dict[str, Any]) -> bool:
    """Whether the process a ``running.json`` names still runs (on another host: assume so)."""
    pid = marker.get("pid")
    if marker.get("host") != socket.gethostname():
        return True
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: asks whether the process exists, sends nothing
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    return True


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # a damaged plan or history: the run is listed with what can be read


def _figures(history: dict[str, Any], key: str, count: int) -> list[float | None]:
    values = history.get(key)
    if not isinstance(values, list) or len(values) != count:
        return [None] * count
    return [v if isinstance(v, int | float) and not isinstance(v, bool) else None
            for v in values]


# -- groups of seeds ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunGroup:
    """Runs whose plans differ only by seed (one run is a group of one)."""

    runs: tuple[RunSummary, ...]

    @property
    def name(self) -> str:
        first = self.runs[0].name
        if len(self.runs) == 1:
            return first
        seeds = ",".join(str(r.seed) for r in self.runs)
        return f"{first} ({len(self.runs)} seeds: {seeds})"

    def mean_sd(self, field: str) -> tuple[float | None, float | None]:
        """Mean and sample standard deviation (n - 1) of a figure over the runs that have it."""
        values = [getattr(r, field) for r in self.runs if getattr(r, field) is not None]
        if not values:
            return None, None
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else None

    def epochs(self) -> str:
        done = sorted({r.epochs_done for r in self.runs})
        planned = sorted({r.epochs_planned for r in self.runs if r.epochs_planned is not None})
        text = str(done[0]) if len(done) == 1 else f"{done[0]}-{done[-1]}"
        return text + (f"/{planned[-1]}" if planned else "")

    def state(self) -> str:
        counts = {s: sum(r.state == s for r in self.runs) for s in STATES}
        present = [s for s in STATES if counts[s]]
        if len(present) == 1:
            return present[0]
        return ", ".join(f"{counts[s]} {s}" for s in present)


def group_by_seed(runs: list[RunSummary]) -> list[RunGroup]:
    """Runs that differ only by seed (and threads, data folder) as one group each, in the
    order their first run comes; a run without a plan is a group of its own."""
    groups: dict[str, list[RunSummary]] = {}
    for summary in runs:
        groups.setdefault(summary.experiment(), []).append(summary)
    return [RunGroup(tuple(sorted(members, key=lambda r: (r.seed is None, r.seed or 0))))
            for members in groups.values()]


def collect(dirs: list[str | Path], *, by_seed: bool = True) -> list[RunGroup]:
    """The runs under ``dirs``, summarised and (``by_seed``) grouped: the table's rows.

    Names are paths relative to the folder given (``lr0.1/seed0``), or the folder's own name.
    A run whose checkpoint cannot be read is listed as "unreadable", never dropped silently.
    """
    summaries = []
    for top in map(Path, dirs):
        for folder in find_runs([top]):
            name = str(folder.relative_to(top)) if folder != top else folder.name
            try:
                summaries.append(summarise(folder, name))
            except TatamuError:  # a damaged last.npz: listed as such
                summaries.append(RunSummary(folder, name, None, None, None, 0, None, None,
                                            None, None, None, None, "unreadable"))
    return group_by_seed(summaries) if by_seed else [RunGroup((s,)) for s in summaries]


# -- the table ---------------------------------------------------------------------------------
COLUMNS = ("run", "model", "dataset", "epochs", "val acc (last)", "val acc (best)", "test acc",
           "wall time", "state")
CSV_FIELDS = ("name", "runs", "seeds", "model", "dataset", "epochs_done", "epochs_planned",
              "last_val_accuracy", "last_val_accuracy_sd", "best_val_accuracy",
              "best_val_accuracy_sd", "test_accuracy", "test_accuracy_sd", "wall_seconds",
              "wall_seconds_sd", "state", "folders")


def format_table(groups: list[RunGroup]) -> str:
    """A plain-text table, one row per group: accuracies in percent (mean ± sd for groups)."""
    rows = [COLUMNS]
    for g in groups:
        first = g.runs[0]
        rows.append((g.name, first.model or "?", first.dataset or "?", g.epochs(),
                     _percent(*g.mean_sd("last_val_accuracy")),
                     _percent(*g.mean_sd("best_val_accuracy")),
                     _percent(*g.mean_sd("test_accuracy")), _duration(*g.mean_sd("wall_seconds")),
                     g.state()))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def to_csv(groups: list[RunGroup]) -> str:
    """The table as CSV (fractions and seconds, sd empty for a single run)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for g in groups:
        first = g.runs[0]
        figures = []
        for field in ("last_val_accuracy", "best_val_accuracy", "test_accuracy",
                      "wall_seconds"):
            figures += [_number(v) for v in g.mean_sd(field)]
        done = sorted({r.epochs_done for r in g.runs})
        writer.writerow([g.name, len(g.runs), ";".join(str(r.seed) for r in g.runs),
                         first.model or "", first.dataset or "",
                         done[0] if len(done) == 1 else f"{done[0]}-{done[-1]}",
                         first.epochs_planned or "", *figures, g.state(),
                         ";".join(str(r.folder) for r in g.runs)])
    return out.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else repr(round(value, 6))


def _percent(mean: float | None, sd: float | None) -> str:
    if mean is None:
        return "-"
    return f"{100 * mean:.2f}" + (f" ± {100 * sd:.2f}" if sd is not None else "")


def _duration(mean: float | None, sd: float | None) -> str:
    if mean is None:
        return "-"
    return _clock(mean) + (f" ± {_clock(sd)}" if sd is not None else "")


def _clock(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``2 h 04 min``: a wall time as README writes it."""
    seconds = max(0, math.floor(seconds + 0.5))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
