"""``tatamu sweep --seeds 0-2 --out DIR -- TRAIN_OPTIONS``: training runs x seeds side by side
(see :mod:`tatamu.training.sweep`)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from .arguments import UserError, positive_int

DESCRIPTION = """\
Train one command (the options after --, as tatamu train takes them) for several seeds, or every
command of a recipe file for its seeds: one run folder per (command, seed), each run a tatamu
train process of its own with --threads threads (default 1: N runs on N cores go faster than one
run on N cores), --jobs at a time. Rerunning the same sweep skips the finished runs and resumes
the interrupted ones (tatamu train --resume); a Ctrl-C asks each running run to save its
checkpoint first. At the end, tatamu runs DIR's table: a row per command, its seeds' accuracies
(the last epoch's test accuracy among them) as mean ± sd.

Folders: DIR/seed-S (one command) or DIR/NAME/seed-S (a recipe); DIR/logs/ holds what each run
printed. With --cluster, the runs go to a Dask cluster's workers: each needs tatamu installed
and DIR at the same path (a shared folder)."""

EPILOG = """\
examples:
  tatamu sweep --seeds 0-2 --out runs/cosine -- --epochs 10 --schedule cosine
  tatamu sweep --seeds 0,1 --out runs/tiny --jobs 2 -- --epochs 1 --limit 500 --test-limit 200
  tatamu sweep --recipe scripts/reproduce.toml --out runs/sweeps/reproduce
  tatamu sweep --seeds 0-9 --out /shared/runs/lr --cluster tcp://10.0.0.5:8786 -- --lr 0.01

a recipe (TOML):
  seeds = "0-2"                          # every command's seeds unless it names its own
  [[command]]
  name = "simple-mnist"                  # DIR/simple-mnist/seed-S
  train = "--epochs 10 --schedule cosine --augment"
  [[command]]
  name = "fashion"
  train = "--dataset fashion-mnist --data-root ${FASHION_ROOT} --epochs 15"
  seeds = "0"                            # ${VAR}: an environment variable"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "sweep", help="train runs x seeds side by side (a recipe, a cluster); reruns resume",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="the sweep's folder (new, empty, or an earlier sweep's to finish it)")
    p.add_argument("--seeds", default=None, metavar="SEEDS",
                   help="seeds such as 0-2 or 0,3,5 (default: 0; a recipe may give its own)")
    p.add_argument("--recipe", type=Path, default=None, metavar="FILE.toml",
                   help="several commands, each with a name and its seeds (instead of the "
                        "options after --)")
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                   help="runs at once on this machine (default: the cores; with --cluster the "
                        "workers decide)")
    p.add_argument("--threads", type=positive_int, default=1, metavar="N",
                   help="threads of each run (default: 1)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster: its scheduler's address, tcp://HOST:8786 "
                        "(pip install 'tatamu[cluster]')")
    p.add_argument("--dry-run", action="store_true",
                   help="say what each run would do (start, resume, leave) and stop")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("train_options", nargs="*", metavar="-- TRAIN_OPTIONS",
                   help="tatamu train's options for every run (after --)")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from ...training import sweep

    commands = _commands(args)
    for command in commands:
        _check_train_options(command)
    if args.dry_run:
        sweep.prepare(args.out, commands, write=False)
        for r in sweep.plan_runs(args.out, commands):
            print(f"{r.label:32s} {r.action:9s} {_command_text(r, args.threads)}"
                  + (f"  ({r.reason})" if r.reason else ""))
        return 0
    bar = _Bar(args.no_progress)
    try:
        result = sweep.run_sweep(args.out, commands, threads=args.threads, jobs=args.jobs,
                                 cluster=args.cluster, on_start=bar.start, on_done=bar.done)
    finally:
        bar.close()
    for r in result.runs:
        if r.action == "refused":
            print(f"tatamu: {r.label} not run: {r.reason}", file=sys.stderr)
    for r in result.failed:
        print(f"tatamu: {r.label} failed: {sweep.last_line(r.outcome)} (log: "
              f"{sweep.train_job(r, args.threads)['log']})", file=sys.stderr)
    print(sweep.table(args.out))
    ran = sum(r.outcome is not None for r in result.runs)
    print(f"{ran} run(s) trained now, {result.count('finished')} already finished; folders in "
          f"{args.out}, logs in {args.out / sweep.LOGS}", file=sys.stderr)
    if result.interrupted:
        print("tatamu: interrupted: each run saved where it was; run the same command again to "
              "resume them", file=sys.stderr)
        return 130
    return 1 if result.failed or result.count("refused") else 0


def _commands(args):
    from ...training import sweep

    if args.recipe is not None:
        if args.train_options:
            raise UserError("give either --recipe FILE or training options after --, not both")
        commands = sweep.load_recipe(args.recipe)
        if args.seeds is not None:  # the command line's seeds win over the recipe's
            seeds = sweep.parse_seeds(args.seeds)
            commands = [sweep.Command(c.name, c.options, seeds) for c in commands]
        return commands
    options = sweep.check_options(args.train_options)
    return [sweep.Command(None, options, sweep.parse_seeds(args.seeds or "0"))]


class _TrainParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise UserError(message)


def _check_train_options(command) -> None:
    """The options as tatamu train reads them, and its plan built from them: a mistake is
    refused now, not in every run."""
    from ...training.plan import TrainingPlan
    from . import train

    parser = _TrainParser(prog="tatamu")
    train.add_parser(parser.add_subparsers())
    where = f"recipe command {command.name}: " if command.name else "training options: "
    try:
        parsed = parser.parse_args(["train", *command.options])
    except UserError as exc:
        raise UserError(f"{where}{exc}") from None
    TrainingPlan(**{f.name: getattr(parsed, f.name) for f in train._plan_fields()
                    if hasattr(parsed, f.name)})


def _command_text(r, threads: int) -> str:
    from ...training import sweep

    if r.action in ("finished", "refused"):
        return ""
    return shlex.join(["tatamu", *sweep.train_job(r, threads)["argv"][3:]])


class _Bar:
    def __init__(self, disabled: bool) -> None:
        self.disabled, self.bar = disabled, None

    def start(self, runs) -> None:
        todo = sum(r.action in ("new", "resume") for r in runs)
        if self.disabled or not todo:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=todo, unit="run", file=sys.stderr, dynamic_ncols=True)

    def done(self, run) -> None:
        if self.bar is not None:
            ok = run.outcome and run.outcome["returncode"] == 0
            self.bar.set_postfix_str(f"{run.label}: {'done' if ok else 'failed'}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
