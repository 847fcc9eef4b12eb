"""``tatamu predict RUN IMAGE...``: classify image files (PNG, JPEG, NPY)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .arguments import positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="classify image files (PNG, JPEG, NPY)")
    p.add_argument("checkpoint", type=Path, help="a .npz checkpoint or a run folder")
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=positive_int, default=1, help="show the top K classes")
    p.add_argument("--no-invert", action="store_true",
                   help="never invert light-background images")
    p.set_defaults(run=run)


def run(args) -> int:
    from .. import checkpoint
    from ..images import load_image_for
    from ..run import resolve_checkpoint

    saved = checkpoint.read(resolve_checkpoint(args.checkpoint))
    names = saved.meta.get("class_names") or [str(i) for i in range(saved.model.num_classes)]
    for image_path in args.images:
        x, notes = load_image_for(image_path, saved.model.input_shape, invert=not args.no_invert)
        probs = saved.model.predict(x[None])[0]
        order = np.argsort(probs)[::-1][: args.top]
        best = ", ".join(f"{names[i]} ({100 * probs[i]:.1f}%)" for i in order)
        note = f"  [{'; '.join(notes)}]" if notes else ""
        print(f"{image_path}: {best}{note}")
    return 0
