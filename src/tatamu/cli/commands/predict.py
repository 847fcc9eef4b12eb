"""``tatamu predict RUN IMAGE...``: classify pictures of one digit (PNG, JPEG, ... or NPY).

The policy (framing from the checkpoint, top K, "unsure") is :mod:`tatamu.digits.recognise`'s; the
picture of the steps is :mod:`tatamu.viz.digit_steps`'. This prints them.
"""

from __future__ import annotations

from pathlib import Path

from ...i18n import _, pgettext
from .arguments import add_device_option, checked_device, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help=_("classify image files (PNG, JPEG, NPY)"))
    p.add_argument("checkpoint", type=Path, help=_("a .npz checkpoint or a run folder"))
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=positive_int, default=3, help=_("show the top K classes"))
    p.add_argument("--no-invert", action="store_true",
                   help=_("never invert light-background images"))
    p.add_argument("--skip", action="append", default=[], metavar="STEP",
                   help=_("leave out a preprocessing step (repeatable; 'all' for every one)"))
    p.add_argument("--show", type=Path, default=None, metavar="PNG",
                   help=_("write a picture of every step (IMAGE-2.png... for more images)"))
    add_device_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...checkpoint import store as checkpoint
    from ...digits import images, recognise
    from ...training.run import resolve_checkpoint
    from ...viz.digit_steps import plot_digit_steps

    device = checked_device(args)
    saved = checkpoint.read(resolve_checkpoint(args.checkpoint))
    saved.model.to(device)
    skip = set(images.OPTIONAL_STEPS) if "all" in args.skip else set(args.skip)
    skip |= {"invert_light_background"} if args.no_invert else set()
    for k, image_path in enumerate(args.images):
        rec = recognise.recognise(saved.model, saved.meta, image_path, top=args.top, skip=skip,
                                  name=str(image_path))
        best = ", ".join(f"{name} ({100 * p:.1f}%)" for _class, name, p in rec.top)
        print(f"{image_path}: {_('unsure: ') if rec.unsure else ''}{best}")
        print(f"  {pgettext('notes', '; ').join(rec.prepared.notes) or _('nothing changed')}")
        if args.show is not None:
            show = args.show if k == 0 else args.show.with_stem(f"{args.show.stem}-{k + 1}")
            print(_("  picture of the steps: {plot_digit_steps}",
                    plot_digit_steps=plot_digit_steps(rec, show, str(image_path))))
    return 0
