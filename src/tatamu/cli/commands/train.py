"""``tatamu train``: train by a plan into a run folder; ``--resume`` continues that plan.

A new run saves its plan (:class:`tatamu.training.plan.TrainingPlan`) in ``RUN/plan.json`` before
the first epoch. ``tatamu train --resume RUN`` (or ``--out RUN --resume``) reads it back, so the
run continues with its own options whatever the defaults are today; an option given again must
agree with the plan, except more ``--epochs``, which extends the run.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import MISSING, fields, replace
from pathlib import Path

from ...i18n import N_, _, ngettext
from .arguments import (
    UserError,
    add_device_option,
    checked_device,
    positive_float,
    positive_int,
    whole_number,
)

EXIT_INTERRUPTED = 130

EPILOG = N_("""\
resuming:
  tatamu train --resume RUN_DIR      continue the run in RUN_DIR with the plan it was started
                                     with (RUN_DIR/plan.json); same as --out RUN_DIR --resume
  an option given again must agree with the plan; a different value is refused, except:
  tatamu train --resume RUN_DIR --epochs N
                                     with N larger than planned extends the run (also a finished
                                     one) to N epochs; a schedule keeps the span it was planned
                                     with. A run stopped by --early-stopping stays finished.
  resuming a finished run says so and changes nothing.
""")


def _plan_fields():
    from ...training.plan import TrainingPlan

    return [f for f in fields(TrainingPlan) if f.name != "schedule_epochs"]


def add_parser(sub) -> None:
    from ...datasets import DATASETS
    from ...models import MODELS
    from ...optim import OPTIMIZERS
    from ...training.plan import SCHEDULES

    p = sub.add_parser("train", help=_("train a ConvNet (default: SimpleConvNet on MNIST)"),
                       description=_("Train a model; writes into a run folder its checkpoints "
                                     "(one per epoch in epochs/), metrics.csv, TensorBoard event "
                                     "files (tensorboard --logdir runs), history.json and a "
                                     "plot. See docs/guide/runs.md."),
                       epilog=_(EPILOG), formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = {"model": {"choices": list(MODELS)}, "dataset": {"choices": DATASETS},
             "optimizer": {"choices": list(OPTIMIZERS)}, "schedule": {"choices": SCHEDULES},
             "lr": {"type": positive_float}, "weight_decay": {"type": float},
             "seed": {"type": int}, "data_root": {"type": Path, "metavar": "DIR"},
             "early_stopping": {"type": positive_int, "metavar": "PATIENCE"},
             "augment": {"nargs": "?", "const": "default", "metavar": "SPEC"},
             "validation": {"type": whole_number, "metavar": "N"},
             "keep_epochs": {"type": whole_number, "metavar": "N"},
             "test_every_epoch": {"action": "store_true"}}
    for f in _plan_fields():  # the plan's fields, their meaning and default from the library
        kind = kinds.get(f.name, {"type": positive_int, "metavar": "N"})
        default = ("" if f.default in (None, MISSING) or f.default is False
                   else _(" (default: {default})", default=f.default))
        # SUPPRESS: an option not given is absent, so resume can tell it from a default
        p.add_argument("--" + f.name.replace("_", "-"), default=argparse.SUPPRESS,
                       help=_(f.metadata["help"]) + default, **kind)
    p.add_argument("--out", type=Path, default=None, metavar="RUN_DIR",
                   help=_("run folder (default: runs/MODEL-DATASET-TIME); never overwritten"))
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="RUN_DIR",
                   help=_("continue the run in RUN_DIR (or in --out) with its saved plan"))
    p.add_argument("--force", action="store_true", help=_("allow reusing a non-empty --out"))
    p.add_argument("--download", action="store_true", help=_("download Fashion-MNIST if missing"))
    p.add_argument("--no-progress", action="store_true",
                   help=_("no progress bar: one line per epoch instead (for logs, nohup)"))
    p.add_argument("--quiet", action="store_true",
                   help=_("print nothing (errors, and what to type after a Ctrl-C, still print)"))
    # Not part of the plan: a run started on the CPU may continue on a GPU and back (the
    # checkpoints are NumPy); the last bits then differ, as with another machine.
    add_device_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...training import run as runs
    from ...training import shards as parallel
    from ...training.plan import TrainingPlan

    given = {f.name: getattr(args, f.name) for f in _plan_fields() if hasattr(args, f.name)}
    args.device = checked_device(args)  # before any folder is made
    folder = _folder_asked(args)
    if args.resume:
        return _resume(args, folder, given)
    plan = TrainingPlan(**given)  # every option checked before anything is written
    if plan.threads is None:  # the count this run keeps (a bad TATAMU_NUM_THREADS is refused)
        plan = replace(plan, threads=parallel.default_threads())
    folder = folder or runs.default_folder(plan.model, plan.dataset)
    try:
        runs.create(folder, reuse=args.force)
    except runs.RunFolderExists:
        raise UserError(_("run folder {folder} already exists and is not empty; nothing was "
                          "overwritten. Use --resume to continue it, --force to reuse it, or "
                          "another --out.", folder=folder)) from None
    return _train(args, plan, folder, resume=None, write_plan=True)


def _folder_asked(args) -> Path | None:
    if isinstance(args.resume, str):  # tatamu train --resume RUN_DIR
        if args.out is not None and Path(args.resume) != args.out:
            raise UserError(_("--resume {resume} and --out {out} name two runs; give the run "
                              "folder once (tatamu train --resume RUN_DIR)",
                              resume=args.resume, out=args.out))
        return Path(args.resume)
    return args.out


def _resume(args, folder: Path | None, given: dict) -> int:
    from ...training import run as runs
    from ...training.plan import TrainingPlan
    from ...training.saved import read_saved_run

    if folder is None:
        raise UserError(_("--resume needs --out RUN_DIR (the run to continue): tatamu train "
                          "--resume RUN_DIR"))
    saved_plan = runs.read_plan(folder) if folder.is_dir() else None
    if saved_plan is not None and not (folder / runs.LAST).is_file():
        # Stopped before its first checkpoint (killed while loading, say): nothing was
        # trained, so continuing the plan is starting it.
        plan = TrainingPlan.from_json(saved_plan).continued_with(given)
        if not args.quiet:
            print(_("nothing trained yet in {folder}: starting its plan", folder=folder),
                  file=sys.stderr)
        return _train(args, plan, folder, resume=None, write_plan=True)
    saved = read_saved_run(folder)  # last.npz, read once: the trainer restores from it
    plan = TrainingPlan.from_json(saved_plan) if saved_plan else _plan_of_older_run(folder,
                                                                                   saved.meta)
    planned_epochs = plan.epochs
    plan = plan.continued_with(given)
    if plan.finished(saved.state.epoch, saved.history["stop_reason"]):
        if not args.quiet:
            print(_finished_text(folder, plan, saved.history))
        return 0
    return _train(args, plan, folder, resume=saved,
                  write_plan=saved_plan is None or plan.epochs != planned_epochs)


def _plan_of_older_run(folder: Path, meta: dict):
    """The plan of a run started before plan.json existed: the command saved in last.npz."""
    from ...training import run as runs
    from ...training.plan import TrainingPlan
    from ..app import build_parser

    command = meta.get("command")
    if not (isinstance(command, list) and command[:1] == ["train"]):
        raise UserError(_("{folder} has no {plan} and no recorded tatamu train command (was it "
                          "made by fit()?); resume it from Python with fit(..., resume=True)",
                          folder=folder, plan=runs.PLAN))
    args = build_parser().parse_args(command)
    old = {f.name: getattr(args, f.name) for f in _plan_fields() if hasattr(args, f.name)}
    old = {**old, "threads": old.get("threads", (meta.get("train_state") or {}).get("threads"))}
    for name in ("validation", "test_every_epoch"):  # as the run resolved them (if it knew them)
        if name in meta:
            old.setdefault(name, meta[name])
    return TrainingPlan.from_json(old)  # without "validation": a run from before the split


def _finished_text(folder: Path, plan, history: dict) -> str:
    done = history["epoch"][-1] if history["epoch"] else 0
    accuracy = next((a for a in reversed(history["test_accuracy"]) if a is not None), None)
    result = (_(", test accuracy {accuracy:.2f}%", accuracy=100 * accuracy)
              if accuracy is not None else "")
    if history["stop_reason"] == "early_stopping":
        return _("{folder} is finished: it stopped early after epoch {done}{result} ({why}); "
                 "nothing was changed", folder=folder, done=done, result=result,
                 why=history["message"])
    return _("{folder} is finished: {done} of {epochs} epochs trained{result}; nothing was "
             "changed. To train it longer, give more epochs: {command}", folder=folder,
             done=done, epochs=plan.epochs, result=result,
             command=_command(folder, "--epochs", str(2 * plan.epochs)))


def _command(folder: Path, *more: str) -> str:
    return shlex.join(["tatamu", "train", "--resume", str(folder), *more])


def _train(args, plan, folder: Path, *, resume, write_plan: bool) -> int:
    """Train by ``plan`` into ``folder``; ``resume``: the run's SavedRun to continue, or None."""
    from ...training import loop as train
    from ...training import run as runs
    from ...training.progress import ProgressBar
    from ...viz import plots

    say = (lambda *a, **k: None) if args.quiet else print
    say(_("loading {dataset}...", dataset=plan.dataset), file=sys.stderr)
    plan, train_data, val_data, test_data = plan.load_data(download=args.download)
    model = plan.build_model(train_data[0].shape[1:]).to(args.device)
    optimizer = plan.build_optimizer()
    schedule = plan.build_schedule(optimizer)
    if write_plan:
        runs.write_json(folder / runs.PLAN, plan.to_json())
    say(model.summary(), file=sys.stderr)
    callbacks = [] if args.quiet or not args.no_progress else [ProgressBar(interactive=False)]
    history = train.fit(
        model, train_data, val_data if plan.validation else None, test_data=test_data,
        test_every_epoch=plan.test_every_epoch, epochs=plan.epochs, batch_size=plan.batch_size,
        optimizer=optimizer, seed=plan.seed, callbacks=callbacks,
        progress=not (args.quiet or args.no_progress), checkpoint_dir=folder,
        resume=False if resume is None else resume,
        schedule=schedule, early_stopping=plan.early_stopping,
        metadata={**plan.metadata(), "command": args.argv}, threads=plan.threads,
        augment=plan.augment if plan.augment is not None else False,
        keep_epochs=plan.keep_epochs, log_every=plan.log_every)
    runs.write_json(folder / runs.HISTORY, history.to_dict())
    plot_path = None
    if history.epoch:
        plot_path = plots.plot_history(history.to_dict(), folder / runs.CURVES,
                                       title=_("{model} on {dataset}", model=plan.model,
                                               dataset=plan.dataset))
    if history.stop_reason == "diverged":
        raise history.error  # its fix (lr) named as this command's option
    if history.stop_reason == "interrupted":
        print(f"tatamu: {_interrupted_text(folder, history)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if history.message:
        say(history.message)
    for line in _result_lines(history, len(val_data[0]), len(test_data[0])):
        say(line)
    say(_("checkpoint:    {path}", path=folder / runs.LAST))
    if (folder / runs.BEST).is_file():
        say(_("best:          {path} (the epoch with the highest validation accuracy)",
              path=folder / runs.BEST))
    say(_("history:       {path}", path=folder / runs.HISTORY))
    if plot_path:
        say(_("plot:          {path}", path=plot_path))
    return 0


def _result_lines(history, num_val: int, num_test: int) -> list[str]:
    """What the run reached: validation (last, best) and test accuracy, each named for its data.
    """
    lines, epochs = [], history.epoch[-1] if history.epoch else 0
    val = [(a, e) for a, e in zip(history.val_accuracy, history.epoch, strict=True)
           if a is not None]
    if val:
        best = max(val, key=lambda pair: pair[0])
        lines.append(_("validation accuracy: {accuracy:.2f}% on {images:,} held-out training "
                       "images (best {best:.2f}% after epoch {best_epoch})",
                       accuracy=100 * val[-1][0], images=num_val, best=100 * best[0],
                       best_epoch=best[1]))
    if history.test_accuracy and history.test_accuracy[-1] is not None:
        lines.append(ngettext(
            "test accuracy: {accuracy:.2f}% on {images:,} test images after {n} epoch",
            "test accuracy: {accuracy:.2f}% on {images:,} test images after {n} epochs",
            epochs, accuracy=100 * history.test_accuracy[-1], images=num_test))
    return lines


def _interrupted_text(folder: Path, history) -> str:
    """The Ctrl-C line: where the run stands and the exact command that continues it."""
    epoch = (history.epoch[-1] if history.epoch else 0) + 1
    if history.resume_from is None:
        return _("interrupted during epoch {epoch}, before the first checkpoint; start again "
                 "with the same command", epoch=epoch)
    return _("interrupted during epoch {epoch}; it can continue from {checkpoint}. To continue, "
             "type: {command}", epoch=epoch, checkpoint=history.resume_from,
             command=_command(folder))
