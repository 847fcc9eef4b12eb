"""``tatamu summary MODEL``: the layer table, output shapes and parameter counts."""

from __future__ import annotations

from pathlib import Path

from ...i18n import _
from .arguments import UserError


def add_parser(sub) -> None:
    p = sub.add_parser("summary", help=_("layer table: output shapes and parameter counts"))
    p.add_argument("model", help=_("a model name (simple, deep, lenet5, conv1d) or a checkpoint"))
    p.add_argument("--input", default=None, metavar="C,H,W", help=_("input shape, e.g. 1,28,28"))
    p.set_defaults(run=run)


def run(args) -> int:
    from ... import models
    from ...checkpoint import store as checkpoint
    from ...training.run import resolve_checkpoint

    if args.model in models.MODELS:
        kwargs = {}
        if args.input:
            try:
                kwargs["input_shape"] = tuple(int(v) for v in args.input.split(","))
            except ValueError:
                raise UserError(_("--input takes numbers like 1,28,28; got {input!r}",
                                  input=args.input)) from None
        model = models.MODELS[args.model](**kwargs)
    elif Path(args.model).exists():
        model = checkpoint.load(resolve_checkpoint(args.model))
    else:
        raise UserError(
            _("{model!r} is neither a model name ({models}) nor a checkpoint file",
              model=args.model, models=', '.join(models.MODELS))
        )
    print(model.summary())
    return 0
