"""``tatamu show WHAT RUN``: draw a picture of a trained model into a PNG file."""

from __future__ import annotations

from pathlib import Path

from ...i18n import N_, _
from .arguments import positive_int, sentence

_SHOW_HELP = {
    "filters": N_("the first conv layer's filters before/after training (or --layer's, per "
                  "channel)"),
    "feature-maps": N_("the input and every conv/pool layer's output channels for one image"),
    "errors": N_("misclassified test images, the most confident mistakes first"),
    "confusion": N_("the confusion matrix on the test set"),
    "curves": N_("loss and accuracy per epoch: train, validation, test; given several runs, "
                 "their accuracy overlaid"),
    "saliency": N_("which pixels the predicted class score is most sensitive to"),
    "dream": N_("inputs optimised to excite each channel of a layer (what a filter looks for)"),
}


def add_parser(sub) -> None:
    from ...datasets import DATASETS

    p = sub.add_parser("show", help=_("draw a picture of a trained model (a PNG file)"),
                       description=_("Draw a picture of a trained model into a PNG file and "
                                     "print its path."))
    whats = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    for what, english in _SHOW_HELP.items():
        text = _(english)
        q = whats.add_parser(what, help=text, description=sentence(text))
        if what == "curves":
            q.add_argument("checkpoint", type=Path, nargs="+", metavar="RUN",
                           help=_("a run folder or .npz checkpoint; several: overlaid"))
        else:
            q.add_argument("checkpoint", type=Path, help=_("a .npz checkpoint or a run folder"))
        q.add_argument("--out", type=Path, default=None, metavar="PATH",
                       help=_("a .png file or a folder (default: the current folder)"))
        if what in ("feature-maps", "saliency"):
            q.add_argument("--image", default="0", metavar="N|FILE",
                           help=_("a test-set index (default 0) or an image file"))
        if what in ("filters", "dream"):
            q.add_argument("--layer", default=None, help=_("layer name (default: the first conv)"))
        if what in ("errors", "confusion", "feature-maps", "saliency"):
            q.add_argument("--dataset", choices=DATASETS,
                           default=None, help=_("default: the dataset the model was trained on"))
            q.add_argument("--data-root", type=Path, default=None)
        if what in ("errors", "confusion"):
            q.add_argument("--limit", type=positive_int, default=None, metavar="N",
                           help=_("use the first N test images only"))
        if what == "errors":
            q.add_argument("--count", type=positive_int, default=25, help=_("mistakes to draw"))
        if what == "saliency":
            q.add_argument("--class", dest="target", type=int, default=None, metavar="K",
                           help=_("the class whose score to explain (default: the predicted one)"))
            q.add_argument("--smooth", type=int, default=0, metavar="N",
                           help=_("average over N noisy copies (SmoothGrad; less speckle)"))
        if what == "dream":
            q.add_argument("--channel", type=int, nargs="+", default=None, metavar="K",
                           help=_("channel(s) to excite (default: all of the layer's)"))
            q.add_argument("--steps", type=positive_int, default=100,
                           help=_("gradient ascent steps (default 100)"))
            q.add_argument("--seed", type=int, default=0, help=_("seed of the starting noise"))
        q.set_defaults(run=run)


def run(args) -> int:
    from ...viz import show
    from ...viz.show import show_runs

    if args.what == "curves":
        if len(args.checkpoint) > 1:
            print(show_runs(args.checkpoint, out=args.out))
            return 0
        args.checkpoint = args.checkpoint[0]
    options = {name: getattr(args, name) for name in (
        "image", "layer", "limit", "count", "dataset", "data_root", "target", "smooth", "steps",
        "seed") if hasattr(args, name)}
    path = show(args.what, args.checkpoint, out=args.out,
                channels=getattr(args, "channel", None), **options)
    print(path)
    return 0
