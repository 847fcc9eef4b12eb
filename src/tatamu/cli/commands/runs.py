"""``tatamu runs [DIR...]``: the runs under some folders as a table (or CSV on stdout)."""

from __future__ import annotations

import sys
from pathlib import Path

from ...i18n import _


def add_parser(sub) -> None:
    p = sub.add_parser(
        "runs", help=_("list training runs: accuracy, epochs, wall time, state (mean ± sd over "
                       "seeds)"),
        description=_("List the run folders under DIR (default: runs): model, dataset, epochs "
                      "done/planned, validation accuracy after the last epoch and at its best, "
                      "test accuracy, wall time and state (running, finished, interrupted, "
                      "diverged). Runs whose plans differ only by --seed are one row, mean ± sd "
                      "(sample standard deviation)."))
    p.add_argument("dirs", nargs="*", type=Path, metavar="DIR",
                   help=_("folders holding run folders, or run folders (default: runs)"))
    p.add_argument("--csv", action="store_true",
                   help=_("CSV on stdout (accuracies as fractions, times in seconds)"))
    p.add_argument("--each", action="store_true", help=_("one row per run: no grouping by seed"))
    p.set_defaults(run=run)


def run(args) -> int:
    from ...training.runs import collect, format_table, to_csv
    from .arguments import UserError

    if not args.dirs and not Path("runs").is_dir():
        raise UserError(_("no folder runs here (where tatamu train puts its runs); give the "
                          "folders that hold yours: tatamu runs DIR"))
    groups = collect(args.dirs or [Path("runs")], by_seed=not args.each)
    if args.csv:
        sys.stdout.write(to_csv(groups))
        return 0
    if not groups:
        print(_("no runs under {items}", items=', '.join(str(d) for d in args.dirs or ['runs'])),
              file=sys.stderr)
        return 0
    print(format_table(groups))
    return 0
