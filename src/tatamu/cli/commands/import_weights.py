"""``tatamu import model.safetensors --model NAME|CKPT --out CKPT``: PyTorch's weights in."""

from __future__ import annotations

from pathlib import Path

from ...errors import ConfigError
from ...i18n import _
from .shapes import checkpoint_file, input_shape


def add_parser(sub) -> None:
    p = sub.add_parser(
        "import", help=_("read a safetensors file saved from the matching torch model"),
        description=_("Read weights saved from PyTorch (safetensors of the nn.Sequential that "
                      "'tatamu export --print-torch' prints) into a tatamu checkpoint; every "
                      "name and shape is checked against the architecture given."))
    p.add_argument("weights", type=Path, help=_("a .safetensors file"))
    p.add_argument("--model", required=True, metavar="NAME|CKPT",
                   help=_("the architecture: simple, deep, lenet5, conv1d, or a checkpoint"))
    p.add_argument("--input", type=input_shape, default=None, metavar="CxHxW",
                   help=_("input shape for a named model (default: the model's own)"))
    p.add_argument("--classes", type=int, default=None, metavar="K",
                   help=_("number of classes for a named model (default 10)"))
    p.add_argument("--out", type=Path, required=True, metavar="CKPT", help=_("a .npz to write"))
    p.add_argument("--force", action="store_true", help=_("replace --out if it exists"))
    p.set_defaults(run=run)


def run(args) -> int:
    from ... import models
    from ...checkpoint import store as checkpoint
    from ...interop.safetensors_io import load_safetensors

    meta = {}
    if args.model in models.MODELS:
        kwargs = {"rng": 0}
        if args.input:
            kwargs["input_shape"] = args.input
        if args.classes:
            kwargs["num_classes"] = args.classes
        model = models.MODELS[args.model](**kwargs)
    elif Path(args.model).exists():
        saved = checkpoint.read(checkpoint_file(Path(args.model)))
        model = saved.model
        meta = {k: saved.meta[k] for k in ("dataset", "class_names") if k in saved.meta}
    else:
        raise ConfigError(_("--model {model!r} is neither a model name ({models}) nor a "
                            "checkpoint file", model=args.model, models=', '.join(models.MODELS)))
    load_safetensors(args.weights, model)
    meta["source"] = {"kind": "safetensors", "file": args.weights.name}
    checkpoint.save(model, args.out, metadata=meta, overwrite=args.force)
    print(_("read {weights}: {n_params} parameters and {n_buffers} buffers, names and shapes "
            "checked",
            weights=args.weights, n_params=len(model.params()), n_buffers=len(model.buffers())))
    print(_("wrote {out} ({num_params:,} parameters)", out=args.out, num_params=model.num_params()))
    return 0
