"""``tatamu predict RUN IMAGE...``: classify pictures of one digit (PNG, JPEG, ... or NPY).

The policy (framing from the checkpoint, top K, "unsure", one bad picture never hiding the
others) is :mod:`tatamu.digits.recognise`'s; the picture of the steps is
:mod:`tatamu.viz.digit_steps`'. This prints them. Exit status: 0 when every picture was
answered, 1 when some could not be (each said on stderr, one line), 2 for a bad command
(a missing checkpoint, an unknown option or step).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ...i18n import _, ngettext, pgettext
from .arguments import add_device_option, checked_device, positive_int

#: Exit status when some pictures could not be answered (the others were).
EXIT_SOME_PICTURES_FAILED = 1


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help=_("classify image files (PNG, JPEG, NPY)"),
                       description=_("Classify pictures of one digit each. Every picture tatamu "
                                     "can read is answered; one that it cannot (missing, blank, "
                                     "not a picture) gets one line on stderr, and the exit "
                                     "status is then 1."))
    p.add_argument("checkpoint", type=Path, help=_("a .npz checkpoint or a run folder"))
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=positive_int, default=3, help=_("show the top K classes"))
    p.add_argument("--no-invert", action="store_true",
                   help=_("never invert light-background images"))
    p.add_argument("--skip", action="append", default=[], metavar="STEP",
                   help=_("leave out a preprocessing step (repeatable; 'all' for every one)"))
    p.add_argument("--show", type=Path, default=None, metavar="PNG",
                   help=_("write a picture of every step (IMAGE-2.png... for more images)"))
    p.add_argument("--json", action="store_true",
                   help=_("print a JSON list on stdout, one object per picture: its prediction, "
                          "top K and probabilities, or its error"))
    add_device_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...checkpoint import store as checkpoint
    from ...digits import images, recognise
    from ...errors import DataError
    from ...training.run import resolve_checkpoint

    device = checked_device(args)
    saved = checkpoint.read(resolve_checkpoint(args.checkpoint))
    saved.model.to(device)
    skip = set(images.OPTIONAL_STEPS) if "all" in args.skip else set(args.skip)
    skip |= {"invert_light_background"} if args.no_invert else set()
    answers = recognise.recognise_each(saved.model, saved.meta, args.images, top=args.top,
                                       skip=skip)
    records, failed = [], 0
    for k, (image_path, answer) in enumerate(answers):
        if isinstance(answer, DataError):  # said, and the next picture answered
            failed += 1
            print(_("tatamu: error: {message}", message=" ".join(str(answer).split())),
                  file=sys.stderr)
        elif not args.json:
            _print_answer(image_path, answer)
        record = recognise.recognition_record(image_path, answer)
        if args.show is not None and not isinstance(answer, DataError):
            record["show"] = _show(answer, args.show, k, image_path, args.json)
        records.append(record)
    if args.json:
        print("[\n" + ",\n".join(json.dumps(r, allow_nan=False) for r in records) + "\n]")
    if failed and len(records) > 1:
        print(ngettext("tatamu: {answered} of {n} picture answered, {failed} could not be (said "
                       "above)", "tatamu: {answered} of {n} pictures answered, {failed} could not "
                       "be (said above)", len(records), answered=len(records) - failed,
                       failed=failed), file=sys.stderr)
    return EXIT_SOME_PICTURES_FAILED if failed else 0


def _print_answer(image_path: Path, rec) -> None:
    best = ", ".join(f"{name} ({100 * p:.1f}%)" for _class, name, p in rec.top)
    print(f"{image_path}: {_('unsure: ') if rec.unsure else ''}{best}")
    print(f"  {pgettext('notes', '; ').join(rec.prepared.notes) or _('nothing changed')}")
    if rec.hint:
        print(_("  hint: {hint}", hint=rec.hint))


def _show(rec, show: Path, k: int, image_path: Path, quiet_stdout: bool) -> str:
    """Write the steps' picture of the k-th IMAGE (show, show-2.png, ...); say where."""
    from ...viz.digit_steps import plot_digit_steps

    path = show if k == 0 else show.with_stem(f"{show.stem}-{k + 1}")
    written = str(plot_digit_steps(rec, path, str(image_path)))
    print(_("  picture of the steps: {path}", path=written),
          file=sys.stderr if quiet_stdout else sys.stdout)
    return written
