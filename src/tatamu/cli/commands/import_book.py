"""``tatamu import-book params.pkl --model simple|deep --out CKPT``: the book's weights in."""

from __future__ import annotations

from pathlib import Path

from ...i18n import _
from .shapes import input_shape


def add_parser(sub) -> None:
    p = sub.add_parser(
        "import-book", help=_("read the book's params.pkl (safely) into a tatamu checkpoint"),
        description=_("Read a params.pkl written by the book's SimpleConvNet or DeepConvNet "
                      "(network.save_params) without running anything in it, and save it as a "
                      "tatamu checkpoint that predicts as the book's network did."))
    p.add_argument("params", type=Path, help=_("the book's params.pkl"))
    p.add_argument("--model", choices=["simple", "deep"], required=True,
                   help=_("simple: ch. 7 SimpleConvNet; deep: ch. 8 DeepConvNet"))
    p.add_argument("--input", type=input_shape, default=None, metavar="CxHxW",
                   help=_("input shape the network was trained on (default: 1x28x28)"))
    p.add_argument("--out", type=Path, required=True, metavar="CKPT", help=_("a .npz to write"))
    p.add_argument("--force", action="store_true", help=_("replace --out if it exists"))
    p.set_defaults(run=run)


def run(args) -> int:
    from ...checkpoint import store as checkpoint
    from ...interop.book_params import BOOK_MODELS, import_book_params

    result = import_book_params(args.params, args.model, input_shape=args.input)
    model = result.model
    metadata = {"source": {"kind": "book-params.pkl", "file": args.params.name,
                           "book_model": BOOK_MODELS[args.model], "names": result.names}}
    if model.input_shape == (1, 28, 28) and model.num_classes == 10:
        metadata |= {"dataset": "mnist", "class_names": [str(i) for i in range(10)]}
    checkpoint.save(model, args.out, metadata=metadata, overwrite=args.force)
    layers = {}
    for key, name in result.names.items():
        layers.setdefault(name.split(".")[0], []).append(key)
    mapping = "; ".join(f"{','.join(keys)} -> {layer}" for layer, keys in layers.items())
    print(_("read {params} (the book's {book_models}): {mapping}",
            params=args.params, book_models=BOOK_MODELS[args.model], mapping=mapping))
    for note in result.notes:
        print(_("note: {note}", note=note))
    print(_("wrote {out} ({num_params:,} parameters, input {map}); try: tatamu summary {out}",
            out=args.out, num_params=model.num_params(),
            map='x'.join(map(str, model.input_shape))))
    return 0
