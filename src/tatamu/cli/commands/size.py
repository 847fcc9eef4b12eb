"""``tatamu size H [W] --kernel K``: the output-size formula worked through with your numbers."""

from __future__ import annotations

from ...i18n import _
from .arguments import UserError, positive_int


def add_parser(sub) -> None:
    p = sub.add_parser("size", help=_("the output-size formula worked through with your numbers"))
    p.add_argument("sizes", type=int, nargs="+", metavar="SIZE", help="H [W]")
    p.add_argument("--kernel", type=int, nargs="+", required=True, metavar="K")
    p.add_argument("--stride", type=positive_int, nargs="+", default=[1], metavar="S")
    p.add_argument("--padding", type=int, nargs="+", default=[0], metavar="P")
    p.add_argument("--dilation", type=int, nargs="+", default=[1], metavar="D")
    p.add_argument("--rounding", choices=["strict", "floor", "ceil"], default="strict")
    p.set_defaults(run=run)


def run(args) -> int:
    from ...im2col import conv_output_size
    from ...learn.explain import formula_lines

    sizes = args.sizes
    if len(sizes) > 2:
        raise UserError(_("give one size (H) or two (H W)"))

    def per_axis(values, what):
        if len(values) == 1:
            return values * len(sizes)
        if len(values) != len(sizes):
            raise UserError(_("--{what} takes one value or one per size ({n_sizes})",
                              what=what, n_sizes=len(sizes)))
        return values

    kernel, stride = per_axis(args.kernel, "kernel"), per_axis(args.stride, "stride")
    padding, dilation = per_axis(args.padding, "padding"), per_axis(args.dilation, "dilation")
    outputs = []
    for axis, h, k, s, p, d in zip("HW", sizes, kernel, stride, padding, dilation, strict=False):
        print("\n".join(formula_lines(axis, h, k, s, p, d)))
        # a size that does not divide is refused by the library, its fix in this command's flags
        outputs.append(conv_output_size(h, k, s, p, d, args.rounding, axis=axis))
        print(f"   O{axis} = {outputs[-1]}")
    print(_("output size: {items}", items=' x '.join(str(o) for o in outputs)))
    return 0
