"""``tatamu grade SUBMISSIONS_DIR --kind KIND --out DIR``: a whole class's layers checked, each
submission in its own limited process (see :mod:`tatamu.learn.grading`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ...learn.checker.kinds import KINDS
from ...learn.checker.profiles import PROFILES
from .arguments import positive_float, positive_int

DESCRIPTION = """\
Check every submission in SUBMISSIONS_DIR (a .py file, a .ipynb notebook or a folder per
student) with tatamu check's checks, each in its own process, and write a gradebook to DIR:
grades.csv, feedback/NAME.md for each student, results/NAME.json (Gradescope's results.json
format), summary.md and summary.png (scores, the checks the class failed most).

Each submission runs in a scratch copy (nothing is written in SUBMISSIONS_DIR, DIR or here),
with a scrubbed environment, --timeout seconds of wall-clock and CPU time, --memory MB of
address space, files of at most 64 MB, its output cut to its first and last 64 kB, and no
network where the system allows it (a network namespace of its own; summary.md says if not).
One submission never stops the batch: a crash, an endless loop, a syntax error, a missing class
is that submission's row, with a status and a reason.

WARNING: these limits stop mistakes, not attacks; they are NOT a security boundary. The
submissions' code runs as you. Grade code from strangers inside a container or a virtual
machine (docs/guide/teaching.md shows how).

A rerun with the same DIR grades only what is missing or changed (after a Ctrl-C, or a late
submission); with another --rubric it re-scores everything without running anything.

Exit status: 0 grading completed (whatever the grades), 2 bad arguments, 130 interrupted."""

EPILOG = """\
examples:
  tatamu grade submissions/ --kind convolution,pooling --out grades/
  tatamu grade submissions/ --kind conv --out grades/ --rubric rubric.toml --jobs 4
  tatamu grade submissions/ --kind conv --out grades/ --cluster tcp://10.0.0.5:8786

rubric (TOML, or the same keys in JSON); a check is named "KIND: CHECK" as in grades.csv:
  default = 1                      # points of each check no pattern names
  note = "full"                    # a NOTE earns full points ("none": no points)
  [points]
  "convolution: forward*" = 2      # * matches any text; the first match wins

cluster: --cluster takes a dask.distributed scheduler's address (pip install 'tatamu[cluster]';
'dask scheduler' prints it; 'dask worker ADDRESS' on each machine). Workers need the same tatamu
installed; the submissions travel with the jobs."""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "grade", help="grade a whole class's layers (each submission in its own limited "
                      "process; not a security boundary)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS_DIR",
                   help="folder holding one .py, .ipynb or folder per student")
    p.add_argument("--kind", required=True, metavar="KIND[,KIND...]",
                   help=f"the layers to check in each submission: {', '.join(KINDS)} (or "
                        "conv, pool, linear...), comma-separated")
    p.add_argument("--out", required=True, type=Path, metavar="DIR",
                   help="where the gradebook goes (new, empty, or an earlier grade's DIR)")
    p.add_argument("--profile", choices=list(PROFILES), default=None,
                   help="the course's form of the layers: the book's, DIVE INTO CODE's, "
                        "CS231n's (default: detected in each submission)")
    p.add_argument("--adapter", type=Path, default=None, metavar="FILE.py",
                   help="a course's form described by a teacher's adapter file (see "
                        "docs/guide/checker.md; it runs in each submission's process)")
    p.add_argument("--file", default=None, metavar="NAME",
                   help="in a folder submission, the file holding the layer (default: the file "
                        "that defines it)")
    p.add_argument("--jobs", type=positive_int, default=None, metavar="N",
                   help="submissions checked at once on this machine (default: the cores; with "
                        "--cluster the workers decide)")
    p.add_argument("--timeout", type=positive_float, default=60.0, metavar="SECONDS",
                   help="wall-clock and CPU time for each submission (default: 60)")
    p.add_argument("--memory", type=positive_int, default=2048, metavar="MB",
                   help="address space for each submission (default: 2048)")
    p.add_argument("--cell-timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="a notebook cell running longer is stopped and listed as failed, and "
                        "the other cells are still checked (notebooks that also train; "
                        "default: a quarter of --timeout)")
    p.add_argument("--rubric", type=Path, default=None, metavar="FILE",
                   help="points per check, TOML or JSON (default: 1 point a check; a NOTE "
                        "costs nothing)")
    p.add_argument("--cluster", default=None, metavar="ADDRESS",
                   help="run on a Dask cluster: its scheduler's address, tcp://HOST:8786")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)
    return p


def run(args) -> int:
    from ...learn.grading.grade import GradeSettings, grade_class

    settings = GradeSettings(
        kinds=[k.strip() for k in args.kind.split(",") if k.strip()], profile=args.profile,
        adapter=args.adapter, file=args.file, timeout=args.timeout, memory_mb=args.memory,
        cell_timeout=args.cell_timeout, rubric=args.rubric, jobs=args.jobs,
        cluster=args.cluster)
    bar = _Bar(disabled=args.no_progress)
    try:
        result = grade_class(args.submissions, args.out, settings, on_start=bar.start,
                             on_graded=bar.graded)
    finally:
        bar.close()
    for pattern in result.unused_patterns:
        print(f"tatamu: warning: the rubric's pattern {pattern!r} matches no check",
              file=sys.stderr)
    if result.ignored:
        print(f"not submissions (ignored): {', '.join(result.ignored)}", file=sys.stderr)
    graded = result.graded
    statuses = {}
    for g in graded:
        statuses[g.status] = statuses.get(g.status, 0) + 1
    counts = ", ".join(f"{n} {s}" for s, n in sorted(statuses.items(), key=lambda i: -i[1]))
    print(f"{len(graded)} submission(s) graded ({result.ran} checked now, {result.reused} "
          f"unchanged since the last run): {counts or 'none'}")
    print(f"gradebook: {result.out / 'grades.csv'}; summary: {result.out / 'summary.md'}; "
          f"feedback and Gradescope results in {result.out / 'feedback'}, "
          f"{result.out / 'results'}")
    if result.interrupted:
        print(f"tatamu: interrupted: {len(graded)} graded, {len(result.missing)} not yet; their "
              "rows are kept. Run the same command again to grade the rest.", file=sys.stderr)
        return 130
    return 0


class _Bar:
    """A progress bar over the submissions, on stderr."""

    def __init__(self, disabled: bool) -> None:
        self.disabled, self.bar = disabled, None

    def start(self, total: int) -> None:
        if self.disabled or not total:
            return
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="submission", file=sys.stderr, dynamic_ncols=True)

    def graded(self, record: dict) -> None:
        if self.bar is not None:
            self.bar.set_postfix_str(f"{record['submission']}: {record['status']}", refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
