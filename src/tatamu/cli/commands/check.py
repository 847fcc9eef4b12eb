"""``tatamu check FILE.py[:Name]``: check a learner's own layer (see :mod:`tatamu.learn.checker`).

Prints each check as PASS/FAIL/NOTE with the first mismatch in numbers and the likely mistake,
or with ``--json`` one JSON object on stdout (words go to stderr). The learner's code runs in
a child process with a time and memory limit (:mod:`tatamu.learn.checker.isolated`). Exit
status 0 when nothing fails, 1 when a check fails, 2 when the code cannot be loaded or run.
"""

from __future__ import annotations

import argparse
import json
import sys

from ...learn.checker.harness import ROUNDINGS
from ...learn.checker.kinds import KINDS, resolve_kind
from ...learn.checker.loading import LearnerCodeError
from ...learn.checker.profiles import PROFILES
from ...learn.isolate import Limits
from .arguments import positive_float

DEFAULT_TIMEOUT = 60.0
DEFAULT_MEMORY_MB = 2048

DESCRIPTION = """\
Check your own layer, written along the book or another course, against the seeds' worked
examples, the output-size formula, tatamu's layers and numerical gradients. Each check ends
PASS, FAIL (wrong numbers, with the first mismatch and the likely mistake) or NOTE (something
the book itself does, such as flooring a size that does not divide: right by the book, not by
tatamu's conventions; --strict makes notes fail).

The file's code RUNS (its top-level statements, as 'python FILE.py' would, but not its
'if __name__ == "__main__":' block; a notebook's code cells in order). It runs in a separate
process, in a scratch folder, with a scrubbed environment, a time limit (--timeout) and a
memory limit (--memory), so a loop that never ends or a huge array stops cleanly. These limits
are NOT a security boundary: the code runs as you and can read and change your files. Check
only code you would run yourself.

Forms (profiles), detected from the code or given with --profile:
  book     Convolution(W, b, stride, pad), Pooling(pool_h, pool_w, stride, pad), Affine(W, b),
           Relu(), SoftmaxWithLoss(); gradients in dW, db
  dic      DIVE INTO CODE: Conv2d(FN, C, FH, FW, stride, padding, initializer, optimizer),
           Conv1d, MaxPool2D, FC(n_nodes1, n_nodes2, initializer, optimizer); W/B, dW/dB
  cs231n   conv_forward_naive(x, w, b, conv_param) / conv_backward_naive(dout, cache),
           max_pool_*_naive, affine_*, relu_*: every forward/backward pair in the file
A course of your own: --adapter FILE.py (build, forward, backward, gradients; see
docs/guide/checker.md).

Kinds (detected from __init__'s arguments and the name, or give --kind):
""" + "\n".join(f"  {kind:12s} {what}" for kind, (what, _, _) in KINDS.items()) + """
A file may import the book's helpers: if no 'common' package sits next to it,
'from common.util import im2col, col2im' (and common.functions, common.layers) resolve to
tatamu's book-compatible versions.

Exit status: 0 nothing failed (notes allowed), 1 a check failed, 2 the file or layer cannot be
loaded, or the code ran out of time or memory (one line saying where it was)."""

EPILOG = """examples:
  tatamu check my_layers.py:Convolution
  tatamu check common/layers.py                    (every layer it recognises)
  tatamu check work.ipynb:Conv2d                   (a notebook: its code cells run in order)
  tatamu check layers.py --profile cs231n          (every *_forward/*_backward pair)
  tatamu check my_layers.py --json > report.json   (one JSON object on stdout)
  tatamu check ch07/simple_layers.py:MyPool --kind pooling --strict"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "check", help="check your own layer (the book's, DIVE INTO CODE's, CS231n's form; runs "
                      "the file's code in a separate process)",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="FILE[:Name]",
                   help="a .py file or .ipynb notebook and, after a colon, the class (or "
                        "function) in it; alone, every layer found in it is checked")
    p.add_argument("--kind", type=_kind, default=None, metavar="KIND",
                   help=f"what the layer is: {', '.join(KINDS)} (or conv, pool, linear); "
                        "default: detected from its arguments and name")
    p.add_argument("--profile", choices=list(PROFILES), default=None,
                   help="the course's form; default: detected from the code")
    p.add_argument("--adapter", metavar="FILE.py", default=None,
                   help="a course's adapter file (build, forward, backward, gradients): how "
                        "its layers are built and read (it runs too)")
    p.add_argument("--strict", action="store_true",
                   help="notes fail too (tatamu's conventions, not the book's)")
    p.add_argument("--rounding", choices=list(ROUNDINGS), default="strict",
                   help="a size that does not divide: refused or floored as the book does "
                        "(strict, default: a refusal passes, the book's flooring is a note) or "
                        "floored only (floor: the flooring passes)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object on stdout (the schema: docs/guide/checker.md)")
    p.add_argument("--timeout", type=positive_float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                   help=f"stop the code after this many seconds, loading and checks together "
                        f"(default {DEFAULT_TIMEOUT:g})")
    p.add_argument("--memory", type=_memory, default=DEFAULT_MEMORY_MB, metavar="MB",
                   help=f"the most memory (address space) the code may take, in MB; 0: no "
                        f"limit (default {DEFAULT_MEMORY_MB})")
    p.add_argument("--cell-timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="a notebook cell running longer than this is stopped and reported as "
                        "failed, and the rest goes on (for notebooks that also train); default: "
                        "no limit per cell")
    p.set_defaults(run=run)
    return p


def _kind(text: str) -> str:
    try:
        return resolve_kind(text)
    except LearnerCodeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _memory(text: str) -> int | None:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of MB, got {text!r}") from None
    if value == 0:
        return None
    if value < 64:
        raise argparse.ArgumentTypeError(f"must be at least 64 (MB; Python alone needs that) or "
                                         f"0 for no limit, got {value}")
    return value


def run(args) -> int:
    from ...learn.checker.isolated import check_isolated

    report = check_isolated(args.target, kind=args.kind, profile=args.profile,
                            adapter=args.adapter, rounding=args.rounding, strict=args.strict,
                            cell_timeout=args.cell_timeout,
                            limits=Limits(args.timeout, args.memory))
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    elif report.status == "ok":
        print(str(report))
        printed = report.output or {}
        lines = sum(len(v.splitlines()) for v in printed.values() if v)
        if lines:
            print(f"(your code printed {lines} line{'s' if lines > 1 else ''}; --json shows "
                  f"them under \"output\")", file=sys.stderr)
    if report.status != "ok":
        print(f"tatamu: error: {report.reason}", file=sys.stderr)
    return report.exit_status()
