"""``tatamu check FILE.py:ClassName``: check a learner's own layer (see
:mod:`tatamu.learn.checker`).

Prints each check as PASS/FAIL with the first mismatch in numbers and the likely mistake.
Exit status 0 when every check passes, 1 when any fails, 2 when the file cannot be imported
(one line, with the learner's own exception).
"""

from __future__ import annotations

import argparse

from ...i18n import N_, _
from ...learn.checker import KINDS, LearnerCodeError, check_all, resolve_kind
from ...learn.checker.harness import ROUNDINGS

DESCRIPTION = N_("""\
Check your own layer class, written with the book's interface, against the seeds' worked
examples, the output-size formula, tatamu's layers and numerical gradients.

WARNING: this imports and so RUNS the given file's code (its top-level statements, as
'python FILE.py' would, but not its 'if __name__ == "__main__":' block). Check only code
you trust.

Kinds and the interface expected (detected from __init__'s arguments, or give --kind):
""")
INTERFACE = N_("""\
Each has forward(x) and backward(dout) and keeps its gradients in dW, db (SoftmaxWithLoss:
forward(x, t), backward(dout=1)). The file may import the book's helpers: if no 'common'
package sits next to it, 'from common.util import im2col, col2im' (and common.functions,
common.layers) resolve to tatamu's book-compatible versions.

Exit status: 0 all checks pass, 1 a check fails, 2 the file or class cannot be loaded.""")

EPILOG = N_("""examples:
  tatamu check my_layers.py:Convolution
  tatamu check common/layers.py                    (every layer class it recognises)
  tatamu check ch07/simple_layers.py:MyPool --kind pooling
  tatamu check tatamu.layers.book:Convolution      (a module's dotted name works too)""")


def description() -> str:
    """The help's description in the current language (the kinds' interfaces listed)."""
    kinds = "\n".join(f"  {kind:12s} {_(what)}" for kind, (what, *_rest) in KINDS.items())
    return _(DESCRIPTION) + kinds + "\n" + _(INTERFACE)


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "check", help=_("check your own Convolution/Pooling/Affine/Relu/SoftmaxWithLoss class "
                        "(runs the file's code)"),
        description=description(), epilog=_(EPILOG),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("target", metavar="FILE.py:ClassName",
                   help=_("the file and the class in it (runs the file); FILE.py alone checks "
                          "every class named Convolution, Pooling, Affine, Relu, "
                          "SoftmaxWithLoss (or the other usual names)"))
    p.add_argument("--kind", type=_kind, default=None, metavar="KIND",
                   help=_("what the class is: {kinds} (or conv, pool, linear); default: "
                          "detected from its arguments and name", kinds=', '.join(KINDS)))
    p.add_argument("--rounding", choices=list(ROUNDINGS), default="strict",
                   help=_("a size that does not divide must be refused (strict, tatamu's rule, "
                          "default) or floored as the book's int() does (floor)"))
    p.set_defaults(run=run)
    return p


def _kind(text: str) -> str:
    try:
        return resolve_kind(text)
    except LearnerCodeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args) -> int:
    reports = check_all(args.target, kind=args.kind, rounding=args.rounding)
    print("\n\n".join(str(r) for r in reports))
    if len(reports) > 1:
        failed = [r.target.rpartition(":")[2] for r in reports if not r.passed]
        print("\n" + (_("{count} classes checked: {failed} failed", count=len(reports),
                         failed=", ".join(failed)) if failed else
                       _("{count} classes checked: all good", count=len(reports))))
    return 0 if all(r.passed for r in reports) else 1
