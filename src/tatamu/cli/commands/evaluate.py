"""``tatamu evaluate RUN``: test accuracy, per-class accuracy and the confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...i18n import _
from .arguments import UserError, add_device_option, checked_device, positive_int


def add_parser(sub) -> None:
    from ...datasets import DATASETS

    p = sub.add_parser("evaluate", help=_("test accuracy, per-class accuracy, confusion matrix"))
    p.add_argument("checkpoint", type=Path, help=_("a .npz checkpoint or a run folder"))
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help=_("default: the dataset the model was trained on"))
    p.add_argument("--batch-size", type=positive_int, default=256)
    p.add_argument("--limit", type=positive_int, default=None, metavar="N")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help=_("threads that split each batch (default: $TATAMU_NUM_THREADS, "
                          "$OMP_NUM_THREADS or every core)"))
    add_device_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from ...checkpoint import store as checkpoint
    from ...datasets import class_names, load_dataset
    from ...training import loop as train
    from ...training.metrics import confusion_matrix, per_class_accuracy
    from ...training.run import resolve_checkpoint

    device = checked_device(args)
    path = resolve_checkpoint(args.checkpoint)
    saved = checkpoint.read(path)
    saved.model.to(device)
    dataset = args.dataset or saved.meta.get("dataset")
    if dataset is None:
        raise UserError(_("{path} does not say which dataset it was trained on; pass --dataset",
                          path=path))
    _train, (xt, yt) = load_dataset(dataset, root=args.data_root)
    xt, yt = xt[: args.limit], yt[: args.limit]
    # One pass over the test set: the loss, the accuracy and each image's predicted class.
    result = train.evaluate(saved.model, (xt, yt), batch_size=args.batch_size,
                            threads=args.threads, predictions=True)
    matrix = confusion_matrix(result["predicted"], yt, saved.model.num_classes)
    names = saved.meta.get("class_names") or list(class_names(dataset))
    print(_("{path}: {dataset} test set, {n:,} images", path=path, dataset=dataset, n=result['n']))
    print(_("accuracy: {value:.2f}% ({correct:,} correct), loss {loss:.4f}",
            value=100 * result['accuracy'], correct=result['correct'], loss=result['loss']))
    print(_("\nper-class accuracy:"))
    for name, acc, total in zip(names, per_class_accuracy(matrix), matrix.sum(axis=1),
                                strict=True):
        print(_("  {name:>12}: {value:6.2f}%  ({total} images)",
                name=name, value=100 * acc, total=total))
    print(_("\nconfusion matrix (rows: true class, columns: predicted):"))
    print(format_matrix(matrix, [n[:6] for n in names]))
    return 0


def format_matrix(matrix: np.ndarray, labels: list[str]) -> str:
    width = max(max(len(str(v)) for v in matrix.ravel()), max(len(s) for s in labels)) + 1
    head = " " * (width + 1) + "".join(s.rjust(width) for s in labels)
    rows = [labels[i].rjust(width) + " " + "".join(str(v).rjust(width) for v in row)
            for i, row in enumerate(matrix)]
    return "\n".join([head, *rows])
