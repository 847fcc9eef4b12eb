"""The ``tatamu`` command: parse arguments, call the library, report.

Every error a user can cause (a ``TatamuError``, a bad argument, a missing file) is printed as
one line saying what was wrong and how to fix it, with exit status 2 and no traceback. Anything
else is a bug in tatamu: one line saying where to report it, exit status 1 (set TATAMU_DEBUG=1
to see the traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import errno
import json
import os
import re
import sys
from pathlib import Path

import numpy as np

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command stopped by SIGPIPE
REPORT_URL = "https://github.com/tatamu/tatamu/issues"


#: OSError numbers that mean the machine refused (disk full, no permission), not a bug.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_ENVIRONMENT_ERRNOS = _FULL | {errno.EROFS, errno.EACCES, errno.EPERM}


def one_line(message: str) -> str:
    """A multi-line message (a list of places looked in, of mirrors tried) as one line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else message
    for line in lines[1:]:
        text += (" " if text.endswith(":") else "; ") + line
    return text


class UserError(Exception):
    """An error in how the command was used (printed as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse reporting a bad argument like every other user error: one line, status 2."""

    def error(self, message: str):
        raise UserError(f"{message} (see '{self.prog} --help')")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = parser.parse_args(argv)
    except UserError as exc:
        print(f"tatamu: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except SystemExit as exc:  # --help / --version: main returns the status, never exits
        return exc.code if isinstance(exc.code, int) else 0
    args.argv = argv  # the command as given (recorded in checkpoints)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USER_ERROR
    from .errors import TatamuError

    try:
        status = args.run(args) or 0
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return status
    except (TatamuError, UserError) as exc:
        print(f"tatamu: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("tatamu: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader stopped reading (`tatamu evaluate RUN | head`): not a bug, nothing to say.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except MemoryError as exc:  # sizes asked for that this machine cannot hold
        print(f"tatamu: error: not enough memory ({exc or 'MemoryError'}); ask for less: smaller "
              "sizes (--input, --channels, --batch), a smaller --batch-size or --limit",
              file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # a bug in tatamu, not the user's fault...
        if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
            # ...unless the machine said no: a full disk, a read-only or forbidden folder.
            where = f"{exc.filename}: " if exc.filename else ""
            fix = ("free some space or choose another folder (--out)" if exc.errno in _FULL
                   else "choose a folder you can write to (--out) or change its permissions")
            print(f"tatamu: error: {where}{exc.strerror or exc}; {fix}", file=sys.stderr)
            return EXIT_USER_ERROR
        if os.environ.get("TATAMU_DEBUG"):
            raise
        print(
            f"tatamu: internal error: {type(exc).__name__}: {exc}. This is a bug in tatamu; "
            f"please report it at {REPORT_URL} with the command you ran "
            "(TATAMU_DEBUG=1 shows the traceback).",
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tatamu",
        description="Convolutional neural networks from scratch on NumPy.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("train", help="train a ConvNet (default: SimpleConvNet on MNIST)",
                       description="Train a model; writes checkpoints, history.json and a plot.")
    p.add_argument("--model", choices=["simple", "deep", "lenet5", "conv1d"], default=None,
                   help="architecture (default: simple, or conv1d for mnist1d)")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist", "mnist1d"], default="mnist")
    p.add_argument("--epochs", type=_positive_int, default=5)
    p.add_argument("--batch-size", type=_positive_int, default=100)
    p.add_argument("--optimizer", default="adam",
                   choices=["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"])
    p.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default: the optimizer's, 0.001 for adam)")
    p.add_argument("--weight-decay", type=float, default=None)
    p.add_argument("--schedule", choices=["none", "step", "cosine"], default="none")
    p.add_argument("--augment", nargs="?", const="default", default=None, metavar="SPEC",
                   help="disturb each training batch (shift/rotate/scale; tatamu.datasets.Augment)"
                   ", e.g. --augment or --augment shift=2,rotation=10,scale=0.1,flip=0")
    p.add_argument("--early-stopping", type=_positive_int, default=None, metavar="PATIENCE")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, metavar="RUN_DIR",
                   help="run folder (default: runs/MODEL-DATASET-TIME); never overwritten")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--force", action="store_true", help="allow reusing a non-empty --out")
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                   help="train on the first N training samples only (quick runs)")
    p.add_argument("--test-limit", type=_positive_int, default=None, metavar="N",
                   help="evaluate on the first N test samples only")
    p.add_argument("--data-root", type=Path, default=None, help="folder with the dataset files")
    p.add_argument("--download", action="store_true", help="download Fashion-MNIST if missing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="threads that split each batch (default: $TATAMU_NUM_THREADS, "
                        "$OMP_NUM_THREADS or every core)")
    p.set_defaults(run=cmd_train)

    p = sub.add_parser("evaluate", help="test accuracy, per-class accuracy, confusion matrix")
    p.add_argument("checkpoint", type=Path, help="a .npz checkpoint or a run folder")
    p.add_argument("--dataset", choices=["mnist", "fashion-mnist", "mnist1d"], default=None,
                   help="default: the dataset the model was trained on")
    p.add_argument("--batch-size", type=_positive_int, default=256)
    p.add_argument("--limit", type=_positive_int, default=None, metavar="N")
    p.add_argument("--data-root", type=Path, default=None)
    p.add_argument("--threads", type=_positive_int, default=None, metavar="N",
                   help="threads that split each batch (default: $TATAMU_NUM_THREADS, "
                        "$OMP_NUM_THREADS or every core)")
    p.set_defaults(run=cmd_evaluate)

    p = sub.add_parser("predict", help="classify image files (PNG, JPEG, NPY)")
    p.add_argument("checkpoint", type=Path, help="a .npz checkpoint or a run folder")
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    p.add_argument("--top", type=_positive_int, default=1, help="show the top K classes")
    p.add_argument("--no-invert", action="store_true",
                   help="never invert light-background images")
    p.set_defaults(run=cmd_predict)

    p = sub.add_parser("summary", help="layer table: output shapes and parameter counts")
    p.add_argument("model", help="a model name (simple, deep, lenet5, conv1d) or a checkpoint")
    p.add_argument("--input", default=None, metavar="C,H,W", help="input shape, e.g. 1,28,28")
    p.set_defaults(run=cmd_summary)

    p = sub.add_parser("size", help="the output-size formula worked through with your numbers")
    p.add_argument("sizes", type=int, nargs="+", metavar="SIZE", help="H [W]")
    p.add_argument("--kernel", type=int, nargs="+", required=True, metavar="K")
    p.add_argument("--stride", type=_positive_int, nargs="+", default=[1], metavar="S")
    p.add_argument("--padding", type=int, nargs="+", default=[0], metavar="P")
    p.add_argument("--dilation", type=int, nargs="+", default=[1], metavar="D")
    p.add_argument("--rounding", choices=["strict", "floor", "ceil"], default="strict")
    p.set_defaults(run=cmd_size)

    _add_show_parser(sub)
    _add_explain_parser(sub)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


# -- train -----------------------------------------------------------------------------------
def cmd_train(args) -> int:
    from . import checkpoint, models, optim, parallel, plots, train
    from .datasets import class_names, load_dataset
    from .datasets.augment import resolve as resolve_augment

    if args.threads is None:  # a bad TATAMU_NUM_THREADS is refused before a run folder is made
        parallel.default_threads()
    model_name = args.model or ("conv1d" if args.dataset == "mnist1d" else "simple")
    if (model_name == "conv1d") != (args.dataset == "mnist1d"):
        raise UserError(
            f"--model {model_name} does not fit --dataset {args.dataset}: conv1d is for the "
            "1-D signals of mnist1d, the others for 28x28 images"
        )
    augment = resolve_augment(args.augment)  # a bad SPEC is refused before a run folder is made
    out = _run_folder(args, model_name)
    print(f"loading {args.dataset}...", file=sys.stderr)
    (x, y), (xt, yt) = load_dataset(args.dataset, root=args.data_root, download=args.download)
    x, y = x[: args.limit], y[: args.limit]
    xt, yt = xt[: args.test_limit], yt[: args.test_limit]
    model = models.MODELS[model_name](input_shape=x.shape[1:], rng=args.seed)
    opt_kwargs = {}
    if args.lr is not None:
        opt_kwargs["lr"] = args.lr
    if args.weight_decay is not None:
        opt_kwargs["weight_decay"] = args.weight_decay
    optimizer = optim.make_optimizer(args.optimizer, **opt_kwargs)
    schedule = None
    if args.schedule == "step":
        schedule = optim.StepLR(optimizer, step_size=max(1, args.epochs // 3), gamma=0.1)
    elif args.schedule == "cosine":
        schedule = optim.CosineLR(optimizer, T_max=args.epochs)
    metadata = {
        "dataset": args.dataset,
        "class_names": list(class_names(args.dataset)),
        "normalization": "x / 255 (pixels scaled to [0, 1])",
        "model_name": model_name,
        "command": args.argv,
    }
    print(model.summary(), file=sys.stderr)
    history = train.fit(
        model, (x, y), (xt, yt), epochs=args.epochs, batch_size=args.batch_size,
        optimizer=optimizer, seed=args.seed, progress=not args.no_progress,
        checkpoint_dir=out, resume=args.resume, schedule=schedule,
        early_stopping=args.early_stopping, metadata=metadata, threads=args.threads,
        augment=augment,
    )
    history_path = out / "history.json"
    checkpoint.atomic_write(history_path,
                            lambda f: f.write(json.dumps(history.to_dict(), indent=2).encode()))
    plot_path = None
    if history.epoch:
        plot_path = plots.plot_history(history.to_dict(), out / "curves.png",
                                       title=f"{model_name} on {args.dataset}")
    if history.stop_reason == "diverged":
        raise UserError(history.message)
    if history.stop_reason == "interrupted":
        print(f"tatamu: {history.message}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if history.message:
        print(history.message)
    if history.val_accuracy and history.val_accuracy[-1] is not None:
        print(f"test accuracy: {100 * history.val_accuracy[-1]:.2f}% on {len(xt):,} test "
              f"images after {history.epoch[-1]} epoch{'s' if history.epoch[-1] != 1 else ''}")
    print(f"checkpoint:    {out / train.LAST}")
    print(f"best:          {out / train.BEST}")
    print(f"history:       {history_path}")
    if plot_path:
        print(f"plot:          {plot_path}")
    return 0


def _run_folder(args, model_name: str) -> Path:
    if args.out is None:
        if args.resume:
            raise UserError("--resume needs --out RUN_DIR (the run to continue)")
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{model_name}-{args.dataset}-{stamp}"
    else:
        out = args.out
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not (args.resume or args.force):
        raise UserError(
            f"run folder {out} already exists and is not empty; nothing was overwritten. "
            "Use --resume to continue it, --force to reuse it, or another --out."
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".tatamu-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError(
            f"cannot write to {out}: {exc.strerror or exc}; choose another --out"
        ) from None
    return out


# -- evaluate / predict / summary ------------------------------------------------------------
def _checkpoint_path(path: Path) -> Path:
    if path.is_dir():
        for name in ("best.npz", "last.npz"):
            if (path / name).is_file():
                return path / name
        raise UserError(f"{path} is a folder without best.npz or last.npz")
    return path


def cmd_evaluate(args) -> int:
    from . import checkpoint, train
    from .datasets import class_names, load_dataset
    from .metrics import confusion_matrix, per_class_accuracy

    path = _checkpoint_path(args.checkpoint)
    saved = checkpoint.read(path)
    dataset = args.dataset or saved.meta.get("dataset")
    if dataset is None:
        raise UserError(f"{path} does not say which dataset it was trained on; pass --dataset")
    _, (xt, yt) = load_dataset(dataset, root=args.data_root)
    xt, yt = xt[: args.limit], yt[: args.limit]
    result = train.evaluate(saved.model, (xt, yt), batch_size=args.batch_size,
                            threads=args.threads)
    probs = saved.model.predict(xt, batch_size=args.batch_size, threads=args.threads)
    matrix = confusion_matrix(probs, yt, saved.model.num_classes)
    names = saved.meta.get("class_names") or list(class_names(dataset))
    print(f"{path}: {dataset} test set, {result['n']:,} images")
    print(f"accuracy: {100 * result['accuracy']:.2f}% ({result['correct']:,} correct), "
          f"loss {result['loss']:.4f}")
    print("\nper-class accuracy:")
    for name, acc, total in zip(names, per_class_accuracy(matrix), matrix.sum(axis=1),
                                strict=True):
        print(f"  {name:>12}: {100 * acc:6.2f}%  ({total} images)")
    print("\nconfusion matrix (rows: true class, columns: predicted):")
    print(format_matrix(matrix, [n[:6] for n in names]))
    return 0


def format_matrix(matrix: np.ndarray, labels: list[str]) -> str:
    width = max(max(len(str(v)) for v in matrix.ravel()), max(len(s) for s in labels)) + 1
    head = " " * (width + 1) + "".join(s.rjust(width) for s in labels)
    rows = [labels[i].rjust(width) + " " + "".join(str(v).rjust(width) for v in row)
            for i, row in enumerate(matrix)]
    return "\n".join([head, *rows])


def cmd_predict(args) -> int:
    from . import checkpoint
    from .images import load_image_for

    path = _checkpoint_path(args.checkpoint)
    saved = checkpoint.read(path)
    names = saved.meta.get("class_names") or [str(i) for i in range(saved.model.num_classes)]
    for image_path in args.images:
        x, notes = load_image_for(image_path, saved.model.input_shape, invert=not args.no_invert)
        probs = saved.model.predict(x[None])[0]
        order = np.argsort(probs)[::-1][: args.top]
        best = ", ".join(f"{names[i]} ({100 * probs[i]:.1f}%)" for i in order)
        note = f"  [{'; '.join(notes)}]" if notes else ""
        print(f"{image_path}: {best}{note}")
    return 0


def cmd_summary(args) -> int:
    from . import checkpoint, models

    if args.model in models.MODELS:
        kwargs = {}
        if args.input:
            try:
                kwargs["input_shape"] = tuple(int(v) for v in args.input.split(","))
            except ValueError:
                raise UserError(f"--input takes numbers like 1,28,28; got {args.input!r}") from None
        model = models.MODELS[args.model](**kwargs)
    elif Path(args.model).exists():
        model = checkpoint.load(_checkpoint_path(Path(args.model)))
    else:
        raise UserError(
            f"{args.model!r} is neither a model name ({', '.join(models.MODELS)}) nor a "
            "checkpoint file"
        )
    print(model.summary())
    return 0


def cmd_size(args) -> int:
    from .errors import ConfigError
    from .im2col import conv_output_size

    sizes = args.sizes
    if len(sizes) > 2:
        raise UserError("give one size (H) or two (H W)")

    def per_axis(values, what):
        if len(values) == 1:
            return values * len(sizes)
        if len(values) != len(sizes):
            raise UserError(f"--{what} takes one value or one per size ({len(sizes)})")
        return values

    kernel, stride = per_axis(args.kernel, "kernel"), per_axis(args.stride, "stride")
    padding, dilation = per_axis(args.padding, "padding"), per_axis(args.dilation, "dilation")
    outputs = []
    for axis, h, k, s, p, d in zip("HW", sizes, kernel, stride, padding, dilation, strict=False):
        span = d * (k - 1) + 1
        kernel_text = f"{k}" if d == 1 else f"{span} (= {d}*({k}-1)+1, dilated)"
        print(f"{axis}: O{axis} = ({axis} + 2P - K) / S + 1 with {axis}={h}, P={p}, "
              f"K={kernel_text}, S={s}")
        print(f"   = ({h} + 2*{p} - {span}) / {s} + 1 = {h + 2 * p - span} / {s} + 1 "
              f"= {(h + 2 * p - span) / s + 1:g}")
        try:
            out = conv_output_size(h, k, s, p, d, args.rounding, axis=axis)
        except ConfigError as exc:  # the library's advice, in the words of this command's flags
            text = str(exc).replace('rounding="floor"', "--rounding floor")
            raise UserError(text.replace('rounding="ceil"', "--rounding ceil")) from None
        outputs.append(out)
        print(f"   O{axis} = {out}")
    print(f"output size: {' x '.join(str(o) for o in outputs)}")
    return 0


# -- show / explain: looking at a model, and at the arithmetic -------------------------------
_SHOW_HELP = {
    "filters": "the first conv layer's filters before/after training (or --layer's, per channel)",
    "feature-maps": "the input and every conv/pool layer's output channels for one image",
    "errors": "misclassified test images, the most confident mistakes first",
    "confusion": "the confusion matrix on the test set",
    "curves": "loss and accuracy per epoch, train and test",
    "saliency": "which pixels the predicted class score is most sensitive to",
    "dream": "inputs optimised to excite each channel of a layer (what a filter looks for)",
}


def _add_show_parser(sub) -> None:
    p = sub.add_parser("show", help="draw a picture of a trained model (a PNG file)",
                       description="Draw a picture of a trained model into a PNG file and "
                                   "print its path.")
    whats = p.add_subparsers(dest="what", metavar="WHAT", required=True)
    for what, text in _SHOW_HELP.items():
        q = whats.add_parser(what, help=text, description=text[0].upper() + text[1:] + ".")
        q.add_argument("checkpoint", type=Path, help="a .npz checkpoint or a run folder")
        q.add_argument("--out", type=Path, default=None, metavar="PATH",
                       help="a .png file or a folder (default: the current folder)")
        if what in ("feature-maps", "saliency"):
            q.add_argument("--image", default="0", metavar="N|FILE",
                           help="a test-set index (default 0) or an image file")
        if what in ("filters", "dream"):
            q.add_argument("--layer", default=None, help="layer name (default: the first conv)")
        if what in ("errors", "confusion", "feature-maps", "saliency"):
            q.add_argument("--dataset", choices=["mnist", "fashion-mnist", "mnist1d"],
                           default=None, help="default: the dataset the model was trained on")
            q.add_argument("--data-root", type=Path, default=None)
        if what in ("errors", "confusion"):
            q.add_argument("--limit", type=_positive_int, default=None, metavar="N",
                           help="use the first N test images only")
        if what == "errors":
            q.add_argument("--count", type=_positive_int, default=25, help="mistakes to draw")
        if what == "saliency":
            q.add_argument("--class", dest="target", type=int, default=None, metavar="K",
                           help="the class whose score to explain (default: the predicted one)")
            q.add_argument("--smooth", type=int, default=0, metavar="N",
                           help="average over N noisy copies (SmoothGrad; less speckle)")
        if what == "dream":
            q.add_argument("--channel", type=int, nargs="+", default=None, metavar="K",
                           help="channel(s) to excite (default: all of the layer's)")
            q.add_argument("--steps", type=_positive_int, default=100,
                           help="gradient ascent steps (default 100)")
            q.add_argument("--seed", type=int, default=0, help="seed of the starting noise")
        q.set_defaults(run=cmd_show)


def cmd_show(args) -> int:
    from .viz import show

    options = {name: getattr(args, name) for name in (
        "image", "layer", "limit", "count", "dataset", "data_root", "target", "smooth", "steps",
        "seed") if hasattr(args, name)}
    path = show(args.what, args.checkpoint, out=args.out,
                channels=getattr(args, "channel", None), **options)
    print(path)
    return 0


def _add_explain_parser(sub) -> None:
    p = sub.add_parser("explain", help="convolution, pooling and im2col worked through with "
                                       "your numbers",
                       description="Work the output-size formula and every window through with "
                                   "your numbers (default: the book's examples).")
    topics = p.add_subparsers(dest="topic", metavar="TOPIC", required=True)
    defaults = {"conv": ("4x4", "3x3", "1"), "pool": ("4x4", "2x2", None),
                "im2col": ("8x8", "4x4", "2")}
    for topic, text in (("conv", "convolution: the size formula and each window's multiply-add"),
                        ("pool", "pooling: the size formula and each window's max (or mean)"),
                        ("im2col", "im2col: every window becomes a row of a matrix")):
        size, kernel, stride = defaults[topic]
        q = topics.add_parser(topic, help=text, description=text[0].upper() + text[1:] + ".")
        q.add_argument("--input", default=size, metavar="HxW", help=f"input size (default {size})")
        q.add_argument("--kernel", default=kernel, metavar="FHxFW",
                       help=f"filter/window size (default {kernel})")
        q.add_argument("--stride", default=stride, metavar="S",
                       help=f"stride (default {stride or 'the kernel size'})")
        q.add_argument("--padding", default="0", metavar="P", help="padding (default 0)")
        q.add_argument("--values", default=None, metavar="V,V,...",
                       help="the input's numbers, row by row (default: the book's example)")
        if topic == "conv":
            q.add_argument("--filter-values", default=None, metavar="V,V,...",
                           help="the filter's numbers, row by row")
            q.add_argument("--bias", type=float, default=0.0)
        if topic == "pool":
            q.add_argument("--mode", choices=["max", "avg"], default="max")
        if topic == "im2col":
            q.add_argument("--channels", type=_positive_int, default=1, metavar="C")
            q.add_argument("--batch", type=_positive_int, default=1, metavar="N")
        else:
            q.add_argument("--rounding", choices=["strict", "floor", "ceil"], default="strict")
            q.add_argument("--max-windows", type=_positive_int, default=16, metavar="N")
        q.add_argument("--png", action="store_true", help="also draw the sliding window")
        q.add_argument("--out", type=Path, default=None, metavar="PATH",
                       help="where --png writes (a .png file or a folder; default: here)")
        q.set_defaults(run=cmd_explain)


def cmd_explain(args) -> int:
    from . import explain
    from .errors import ConfigError

    sizes = [explain.parse_size(v, f"--{name}") for v, name in (
        (args.input, "input"), (args.kernel, "kernel"), (args.padding, "padding"))]
    stride = None if args.stride is None else explain.parse_size(args.stride, "--stride")
    if stride is not None and min(stride) < 1:
        raise UserError(f"--stride must be at least 1; got {args.stride}")
    try:
        if args.topic == "conv":
            walk = explain.explain_conv(
                sizes[0], sizes[1], stride, sizes[2], values=args.values,
                weights=args.filter_values, bias=args.bias, rounding=args.rounding,
                max_windows=args.max_windows)
        elif args.topic == "pool":
            walk = explain.explain_pool(
                sizes[0], sizes[1], stride, sizes[2], values=args.values, mode=args.mode,
                rounding=args.rounding, max_windows=args.max_windows)
        else:
            walk = explain.explain_im2col(sizes[0], sizes[1], stride, sizes[2],
                                          channels=args.channels, batch=args.batch,
                                          values=args.values)
    except ConfigError as exc:
        if "does not divide" not in str(exc) and "larger than the padded input" not in str(exc):
            raise
        # Show the arithmetic that failed, then the one-line refusal with the fix.
        print("\n".join(explain.size_lines(sizes[0], sizes[1], stride or sizes[1], sizes[2])))
        message = re.sub(r"\bpadding=(\d+)", r"--padding \1", str(exc))
        message = re.sub(r'\brounding="(\w+)"', r"--rounding \1", message)
        raise UserError(f"{message.rstrip('.')}; or change --stride or --kernel.") from None
    print(walk)
    if args.png:
        from .viz import plot_walkthrough
        from .viz.show import output_path

        print(plot_walkthrough(walk, output_path(args.out, f"explain-{args.topic}.png")))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
