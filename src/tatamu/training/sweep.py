"""A sweep: training commands x seeds, one run folder each, run side by side; a rerun finishes
what is missing.

    tatamu sweep --seeds 0-2 --out DIR -- --epochs 10 --schedule cosine
        DIR/seed-0, DIR/seed-1, DIR/seed-2          one run folder per seed (tatamu train's)
    tatamu sweep --recipe RECIPE.toml --out DIR
        DIR/NAME/seed-S                             one per command of the recipe and seed
    DIR/logs/...log                                 what each run printed
    DIR/sweep.json                                  the commands and seeds (a rerun must agree)

Each run is ``tatamu train`` in a process of its own with ``threads`` threads (one by default:
N runs on N cores beat one run on N cores), on this machine or a Dask cluster
(:mod:`tatamu.batch.engine`; the cluster's workers need DIR at the same path). Rerunning the
sweep skips finished runs and resumes interrupted ones (``tatamu train --resume``); its table is
``tatamu runs DIR``'s (:mod:`tatamu.training.runs`). Not in the book, which trains one network
once.

A recipe (TOML)::

    seeds = "0-2"                         # every command's seeds, unless it names its own
    [[command]]
    name = "simple-mnist"                 # its folder: DIR/simple-mnist/seed-S
    train = "--epochs 10 --schedule cosine --augment"
    [[command]]
    name = "fashion"
    train = "--dataset fashion-mnist --data-root ${FASHION_ROOT} --epochs 15"
    seeds = "0"

``${VAR}`` is the environment variable's value (an unset one is refused).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..batch import engine
from ..batch.child import run_command
from ..errors import ConfigError, Name
from . import run as run_folder
from .runs import collect, format_table, is_run_folder, run_state

MARKER = "sweep.json"
LOGS = "logs"
#: Options a sweep sets for each run itself.
OWN_OPTIONS = ("--seed", "--out", "--resume", "--force", "--threads")
#: Seconds an interrupted run gets to save its checkpoint before it is killed.
SAVE_GRACE = 30.0
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Command:
    """One training command of a sweep: a name (its folder), its options, its seeds."""

    name: str | None  # None: the sweep's only command (its runs are DIR/seed-S)
    options: tuple[str, ...]
    seeds: tuple[int, ...]


@dataclass
class Run:
    """One (command, seed) run and what the sweep does with it."""

    command: Command
    seed: int
    folder: Path
    action: str = "new"  # new, resume, finished, refused
    reason: str = ""
    outcome: dict[str, Any] | None = None

    @property
    def label(self) -> str:
        return f"{self.command.name}/seed-{self.seed}" if self.command.name else \
            f"seed-{self.seed}"


@dataclass
class SweepResult:
    runs: list[Run] = field(default_factory=list)
    interrupted: bool = False

    def count(self, action: str) -> int:
        return sum(r.action == action for r in self.runs)

    @property
    def failed(self) -> list[Run]:
        return [r for r in self.runs if r.outcome is not None and r.outcome["returncode"] != 0]


# -- what a sweep is -----------------------------------------------------------------------------
def parse_seeds(text: str) -> tuple[int, ...]:
    """``"0-2"`` -> (0, 1, 2); ``"0,5,7-8"`` -> (0, 5, 7, 8)."""
    seeds: list[int] = []
    for part in str(text).replace(" ", "").split(","):
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match or (match[2] is not None and int(match[2]) < int(match[1])):
            raise ConfigError(f"seeds {text!r}: give numbers and ranges such as 0-2 or 0,3,5",
                              param="seeds", value=text)
        last = int(match[2]) if match[2] is not None else int(match[1])
        seeds += [s for s in range(int(match[1]), last + 1) if s not in seeds]
    return tuple(seeds)


def check_options(options: list[str] | tuple[str, ...], where: str = "") -> tuple[str, ...]:
    """The training options, refused if they set what the sweep sets per run."""
    for option in options:
        if option.split("=", 1)[0] in OWN_OPTIONS:
            raise ConfigError(f"{where}{option.split('=', 1)[0]} is the sweep's to set for each "
                              "run (seeds: ", Name("seeds"), "; folders: ", Name("out"),
                              "); leave it out of the training options", param="options")
    return tuple(options)


def load_recipe(path: str | Path) -> list[Command]:
    """The commands of a recipe file (see the module's docstring); one-line errors."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the recipe {path}: {exc.strerror or exc}",
                          param="recipe", value=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the recipe {path} is not valid TOML: {exc}", param="recipe",
                          value=str(path)) from None
    unknown = sorted(set(document) - {"seeds", "command"})
    entries = document.get("command")
    if unknown or not isinstance(entries, list) or not entries:
        raise ConfigError(f"the recipe {path} needs [[command]] tables (name, train, seeds) and "
                          "may give seeds" + (f"; unknown: {', '.join(unknown)}" if unknown
                                              else ""), param="recipe", value=str(path))
    default_seeds = document.get("seeds", "0")
    commands, names = [], set()
    for i, entry in enumerate(entries, 1):
        where = f"the recipe {path}, command {i}: "
        if not isinstance(entry, dict) or set(entry) - {"name", "train", "seeds"}:
            raise ConfigError(f"{where}a command has name, train and seeds only",
                              param="recipe")
        name = str(entry.get("name", ""))
        if not NAME.match(name) or name in names or name == LOGS:
            raise ConfigError(f"{where}name {name!r} must be unique, of letters, digits, "
                              "'.', '_', '-' (it names a folder), and not 'logs'",
                              param="recipe")
        names.add(name)
        train = entry.get("train", "")
        options = shlex.split(_expanded(train, where)) if isinstance(train, str) else \
            [_expanded(str(o), where) for o in train]
        commands.append(Command(name, check_options(options, where),
                                parse_seeds(entry.get("seeds", default_seeds))))
    return commands


def _expanded(text: str, where: str) -> str:
    value = os.path.expandvars(text)
    missing = re.findall(r"\$\{?([A-Za-z_]\w*)", value)
    if missing:
        raise ConfigError(f"{where}uses ${missing[0]}, which is not set; set it (export "
                          f"{missing[0]}=...)", param="recipe")
    return value


def plan_runs(out: str | Path, commands: list[Command]) -> list[Run]:
    """Every (command, seed) run with what the sweep will do: start it, resume it, leave it
    (finished), or refuse (a folder that is not a run). Reads plans and checkpoints' metadata
    only."""
    out = Path(out)
    planned = []
    for command in commands:
        base = out / command.name if command.name else out
        for seed in command.seeds:
            run = Run(command, seed, (base / f"seed-{seed}").resolve())
            run.action, run.reason = _action(run.folder)
            planned.append(run)
    return planned


def _action(folder: Path) -> tuple[str, str]:
    """What a sweep does with the run in ``folder`` (from :func:`tatamu.training.runs.run_state`,
    the state ``tatamu runs`` shows)."""
    if not folder.exists() or (folder.is_dir() and not any(folder.iterdir())):
        return "new", ""
    if not folder.is_dir() or not is_run_folder(folder):
        return "refused", f"{folder} holds something that is not a tatamu run; move it away"
    state = run_state(folder)
    if state == "finished":
        return "finished", ""
    if state == "diverged":
        return "finished", "diverged (its loss became NaN or inf); a rerun would too"
    if state == "running":
        return "refused", (f"{folder} is being trained now ({folder / run_folder.RUNNING}); "
                           "if that process is gone, delete that file")
    return "resume", "interrupted"


# -- running it ----------------------------------------------------------------------------------
def prepare(out: str | Path, commands: list[Command], *, write: bool = True) -> Path:
    """Check ``out`` against an earlier sweep (its commands must agree) and, with ``write``,
    record this one."""
    out = Path(out)
    marker = out / MARKER
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; choose a folder for ", Name("out"), param="out")
    if out.is_dir() and any(out.iterdir()) and not marker.is_file():
        raise ConfigError(f"{out} holds files that tatamu sweep did not write; nothing was "
                          "touched. Choose a new or empty ", Name("out"), param="out",
                          value=str(out))
    recorded: dict[str, list[str]] = {}
    if marker.is_file():
        try:
            recorded = json.loads(marker.read_text(encoding="utf-8")).get("commands", {})
        except (OSError, ValueError, AttributeError):
            recorded = {}
    for command in commands:
        key = command.name or ""
        if key in recorded and list(recorded[key]) != list(command.options):
            shown = f"command {command.name}" if command.name else "its runs"
            raise ConfigError(
                f"{out} has {shown} trained with {shlex.join(recorded[key]) or 'no options'}, "
                f"not {shlex.join(command.options) or 'no options'}: choose another ",
                Name("out"), " for other options (or give the same ones to finish it)",
                param="out", value=str(out))
        recorded[key] = list(command.options)
    if write:
        (out / LOGS).mkdir(parents=True, exist_ok=True)
        run_folder.write_json(marker, {"commands": recorded})
    return out


def train_job(run: Run, threads: int) -> dict[str, Any]:
    """The job (for :func:`tatamu.batch.child.run_command`) that starts or resumes ``run``."""
    if run.action == "resume":
        argv = ["python", "-m", "tatamu", "train", "--resume", str(run.folder)]
    else:
        argv = ["python", "-m", "tatamu", "train", *run.command.options,
                "--seed", str(run.seed), "--threads", str(threads), "--out", str(run.folder)]
    argv.append("--no-progress")
    one = str(threads)  # BLAS and tatamu's own threads alike
    log = run.folder.parents[1 if run.command.name else 0] / LOGS / (
        run.label.replace("/", "-") + ".log")
    return {"argv": argv, "log": str(log),
            "env_add": {"TATAMU_NUM_THREADS": one, "OMP_NUM_THREADS": one,
                        "OPENBLAS_NUM_THREADS": one, "MKL_NUM_THREADS": one}}


def run_sweep(out: str | Path, commands: list[Command], *, threads: int = 1,
              jobs: int | None = None, cluster: str | None = None,
              on_start: Callable[[list[Run]], None] | None = None,
              on_done: Callable[[Run], None] | None = None) -> SweepResult:
    """Start or resume every run not finished, ``jobs`` at a time (or on ``cluster``); a
    Ctrl-C asks each running run to save its checkpoint (``interrupted`` is then True)."""
    out = prepare(out, commands)
    planned = plan_runs(out, commands)
    todo = [r for r in planned if r.action in ("new", "resume")]
    result = SweepResult(planned)
    if on_start:
        on_start(planned)
    job_list = [train_job(r, threads) for r in todo]
    try:
        for outcome in engine.run_jobs(run_command, job_list, jobs_at_once=jobs,
                                       cluster=cluster, stop_grace=SAVE_GRACE):
            run = todo[outcome.index]
            run.outcome = outcome.result if outcome.error is None else {
                "returncode": -1, "stdout": "", "stderr": outcome.error, "seconds": 0.0}
            if on_done:
                on_done(run)
    except KeyboardInterrupt:
        result.interrupted = True
    return result


def table(out: str | Path) -> str:
    """``tatamu runs OUT``'s table: a row per command, its seeds as mean ± sd."""
    return format_table(collect([out]))


def last_line(outcome: dict[str, Any]) -> str:
    """The last line a failed run wrote to stderr (its one-line error)."""
    lines = [line for line in outcome.get("stderr", "").splitlines() if line.strip()]
    return lines[-1].strip() if lines else f"exit status {outcome.get('returncode')}"
