"""``tatamu explain TOPIC``: every window, forward or backward, worked through with your numbers.

conv, pool, im2col: the forward pass (``learn/explain.py``); conv-backward, col2im,
pool-backward: the backward pass (``learn/backward.py``, ``adjoint.py``, ``pool_backward.py``).
"""

from __future__ import annotations

from pathlib import Path

from .arguments import UserError, positive_int

TOPICS = {  # topic: (help, default input, kernel, stride (None: the kernel))
    "conv": ("convolution: the size formula and each window's multiply-add", "4x4", "3x3", "1"),
    "pool": ("pooling: the size formula and each window's max (or mean)", "4x4", "2x2", None),
    "im2col": ("im2col: every window becomes a row of a matrix", "8x8", "4x4", "2"),
    "conv-backward": ("convolution backward: db, dW = colᵀ·dout, every dx cell's sum, and dx "
                      "as dout ⊛ the filter turned 180°", "4x4", "3x3", "1"),
    "col2im": ("col2im: why col2im(im2col(x)) is not x, why that is right, and the book's "
               "stride - 1 margin", "8x8", "4x4", "2"),
    "pool-backward": ("pooling backward: each dout sent to its window's maximum (ties as "
                      "MaxPool2D breaks them), overlaps adding", "4x4", "2x2", None),
}


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help="convolution, pooling, im2col and their backward passes "
                                       "worked through with your numbers",
                       description="Work the output-size formula and every window through with "
                                   "your numbers (default: the book's examples); the backward "
                                   "topics work db, dW and dx through the same way.")
    topics = p.add_subparsers(dest="topic", metavar="TOPIC", required=True)
    for topic, (text, size, kernel, stride) in TOPICS.items():
        q = topics.add_parser(topic, help=text, description=text[0].upper() + text[1:] + ".")
        q.add_argument("--input", default=size, metavar="HxW", help=f"input size (default {size})")
        q.add_argument("--kernel", default=kernel, metavar="FHxFW",
                       help=f"filter/window size (default {kernel})")
        q.add_argument("--stride", default=stride, metavar="S",
                       help=f"stride (default {stride or 'the kernel size'})")
        q.add_argument("--padding", default="0", metavar="P", help="padding (default 0)")
        q.add_argument("--values", default=None, metavar="V,V,...",
                       help="the input's numbers, row by row (default: the book's example)")
        if topic in ("conv", "conv-backward"):
            q.add_argument("--filter-values", default=None, metavar="V,V,...",
                           help="the filter's numbers, row by row")
        if topic == "conv":
            q.add_argument("--bias", type=float, default=0.0)
        if topic in ("conv-backward", "pool-backward"):
            q.add_argument("--dout-values", default=None, metavar="V,V,...",
                           help="dout, the gradient from the next layer, row by row (OHxOW "
                                "numbers; default 1, 2, 3, ...)")
        if topic in ("pool", "pool-backward"):
            q.add_argument("--mode", choices=["max", "avg"], default="max")
        if topic == "im2col":
            q.add_argument("--channels", type=positive_int, default=1, metavar="C")
            q.add_argument("--batch", type=positive_int, default=1, metavar="N")
        else:
            roundings = ["strict", "floor"] if topic == "col2im" else ["strict", "floor", "ceil"]
            q.add_argument("--rounding", choices=roundings, default="strict")
        if topic in ("conv", "pool"):
            q.add_argument("--max-windows", type=positive_int, default=16, metavar="N")
        elif topic in ("conv-backward", "pool-backward"):
            q.add_argument("--max-cells", type=positive_int, default=16, metavar="N",
                           help="how many weights, windows and input cells to write out "
                                "(default 16)")
        q.add_argument("--png", action="store_true", help="also draw the picture")
        q.add_argument("--out", type=Path, default=None, metavar="PATH",
                       help="where --png writes (a .png file or a folder; default: here)")
        q.set_defaults(run=run)


def run(args) -> int:
    from ...errors import ConfigError, Name
    from ...im2col import conv_output_size
    from ...learn import explain

    sizes = [explain.parse_size(v, f"--{name}") for v, name in (
        (args.input, "input"), (args.kernel, "kernel"), (args.padding, "padding"))]
    stride = None if args.stride is None else explain.parse_size(args.stride, "--stride")
    if stride is not None and min(stride) < 1:
        raise UserError(f"--stride must be at least 1; got {args.stride}")
    if min(sizes[1]) < 1:
        raise UserError(f"--kernel must be at least 1; got {args.kernel}")
    try:  # the size formula first: if it fails, show its arithmetic before the refusal
        for axis, size, k, s, p in zip("HW", sizes[0], sizes[1], stride or sizes[1], sizes[2],
                                       strict=True):
            conv_output_size(size, k, s, p, rounding=getattr(args, "rounding", "strict"),
                             axis=axis)
    except ConfigError as exc:
        print("\n".join(explain.size_lines(sizes[0], sizes[1], stride or sizes[1], sizes[2])))
        parts = list(exc.parts)  # the library's message, its fixes still data, plus ours
        if parts and isinstance(parts[-1], str):
            parts[-1] = parts[-1].rstrip(".")
        raise ConfigError(*parts, "; or change ", Name("stride"), " or ", Name("kernel"), ".",
                          param=exc.param, value=exc.value) from None
    if args.topic == "conv":
        walk = explain.explain_conv(
            sizes[0], sizes[1], stride, sizes[2], values=args.values,
            weights=args.filter_values, bias=args.bias, rounding=args.rounding,
            max_windows=args.max_windows)
    elif args.topic == "pool":
        walk = explain.explain_pool(
            sizes[0], sizes[1], stride, sizes[2], values=args.values, mode=args.mode,
            rounding=args.rounding, max_windows=args.max_windows)
    elif args.topic == "im2col":
        walk = explain.explain_im2col(sizes[0], sizes[1], stride, sizes[2],
                                      channels=args.channels, batch=args.batch,
                                      values=args.values)
    else:
        walk = _backward_walkthrough(args, sizes, stride)
    print(walk)
    if args.png:
        from ...viz import plot_walkthrough
        from ...viz.show import output_path

        print(plot_walkthrough(walk, output_path(args.out, f"explain-{args.topic}.png")))
    return 0


def _backward_walkthrough(args, sizes, stride):
    """conv-backward, col2im or pool-backward, from the parsed arguments."""
    if args.topic == "conv-backward":
        from ...learn.backward import explain_conv_backward

        return explain_conv_backward(sizes[0], sizes[1], stride, sizes[2], values=args.values,
                                     weights=args.filter_values, dout=args.dout_values,
                                     rounding=args.rounding, max_cells=args.max_cells)
    if args.topic == "col2im":
        from ...learn.adjoint import explain_col2im

        return explain_col2im(sizes[0], sizes[1], stride, sizes[2], values=args.values,
                              rounding=args.rounding)
    from ...learn.pool_backward import explain_pool_backward

    return explain_pool_backward(sizes[0], sizes[1], stride, sizes[2], values=args.values,
                                 dout=args.dout_values, mode=args.mode, rounding=args.rounding,
                                 max_cells=args.max_cells)
