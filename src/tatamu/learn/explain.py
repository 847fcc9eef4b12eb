"""Worked examples for learners: convolution, pooling and im2col with *their* numbers.

"実際にプログラムを実行して、中のデータを見てみないと理解できませんね" (one of the seeds): the
book's formulas make sense once you watch the numbers slide. Each function here returns a
:class:`Walkthrough` whose text (``str(walk)``) works the output-size formula through with the
given sizes, then shows every window with its multiply-add (積和演算), and the result.

Every number comes from tatamu itself: sizes from ``conv_output_size``, windows from
``im2col``, results from the ``Conv2D`` / ``MaxPool2D`` / ``AvgPool2D`` layers; the sums
printed beside them are checked against the layers, never computed instead of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from ..display import format_number as format_number  # public here too (draw app, viz)
from ..errors import ConfigError
from ..i18n import N_, _, pad_columns, text_width
from ..im2col import im2col
from ..layers.conv import Conv2D
from ..layers.pooling import AvgPool2D, MaxPool2D
from ..layers.window import WindowGeometry
from ..padding import pad
from ..validate import positive_int

#: The seeds' worked example (the book's Fig. 7-3): this input ⊛ this filter = [[15, 16], [6, 15]].
SEED_INPUT = np.array([[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]], dtype=np.float64)
SEED_FILTER = np.array([[2, 0, 1], [0, 1, 2], [1, 0, 2]], dtype=np.float64)
#: The book's max-pooling example (Fig. 7-14): 2x2 windows, stride 2 -> [[2, 3], [4, 2]].
POOL_INPUT = np.array([[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]], dtype=np.float64)
TOO_BIG = N_("  (too large to print whole: each window's numbers are shown below)")


@dataclass
class Window:
    """One position of the sliding window: output index, top-left corner in the padded input."""

    out: tuple[int, int]
    top: int
    left: int
    values: np.ndarray  # (FH, FW): what the window sees (padding included)
    result: float


@dataclass
class Walkthrough:
    """A worked example: its text, and the arrays behind it (for ``tatamu.viz`` pictures)."""

    kind: str  # "conv", "pool", "im2col"; backward: "conv-backward", "col2im", "pool-backward"
    lines: list[str]
    padded: np.ndarray  # (H + 2P, W + 2P): the input as the windows see it
    is_pad: np.ndarray  # (H + 2P, W + 2P) bool: True where padding
    kernel_size: tuple[int, int]
    windows: list[Window]
    output: np.ndarray  # (OH, OW); the im2col matrix; dx (H, W); col2im(im2col(x)) (H, W)
    weights: np.ndarray | None = None  # the filter (FH, FW) of a convolution
    extra: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return "\n".join(self.lines)

    # -- in a notebook: the worked text as printed, the picture when asked ------------------
    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """IPython (terminal or notebook) shows the worked text, not the arrays behind it."""
        printer.text(str(self))

    def _repr_html_(self) -> str:
        from ..display import text_html

        return text_html(str(self))

    def figure(self, max_windows: int = 9):
        """The picture of this walkthrough (``tatamu explain --png``) as a matplotlib Figure;
        the last line of a notebook cell shows it."""
        from ..viz.windows import plot_walkthrough

        return plot_walkthrough(self, max_windows=max_windows)


# -- parsing what a learner types --------------------------------------------------------------
def parse_size(text: str | int | tuple, what: str = "size") -> tuple[int, int]:
    """``"4x4"``, ``"4"`` or ``(4, 4)`` -> (4, 4); anything else is refused with an example."""
    if isinstance(text, int):
        return text, text
    if isinstance(text, (tuple, list)) and len(text) == 2:
        return int(text[0]), int(text[1])
    match = re.fullmatch(r"\s*(\d+)\s*(?:[x×X*,]\s*(\d+))?\s*", str(text))
    if not match:
        raise ConfigError(_("{what} takes a size like 4x4 (height x width) or 4 (a square); got "
                            "{text!r}", what=what, text=text))
    h = int(match.group(1))
    return h, int(match.group(2) or h)


def parse_values(text: str, shape: tuple[int, ...], what: str = "values") -> np.ndarray:
    """Numbers separated by commas, spaces or semicolons, row by row, into ``shape``."""
    parts = [p for p in re.split(r"[\s,;]+", str(text).strip()) if p]
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        raise ConfigError(_("{what} takes numbers separated by commas, e.g. 1,2,3,0; got "
                            "{text!r}", what=what, text=text)) from None
    need = int(np.prod(shape))
    if len(numbers) != need:
        raise ConfigError(_("{what}: a {map} array needs {need} numbers (row by row); got "
                            "{n_numbers}",
                            what=what, map='x'.join(map(str, shape)), need=need,
                            n_numbers=len(numbers)))
    return np.array(numbers, dtype=np.float64).reshape(shape)


# -- the walkthroughs ------------------------------------------------------------------------
def explain_conv(input_size=(4, 4), kernel_size=(3, 3), stride=1, padding=0, *, values=None,
                 weights=None, bias: float = 0.0, rounding: str = "strict",
                 max_windows: int = 16) -> Walkthrough:
    """Convolution of one 2-D input with one filter, worked through window by window.

    Defaults: the seeds' 4x4 input and 3x3 filter (when those are the sizes; otherwise the
    input counts 0, 1, 2, ... and the filter is all ones, so each output is a window's sum).
    """
    (h, w), (kh, kw) = parse_size(input_size, "input"), parse_size(kernel_size, "kernel")
    s, p = parse_size(stride, "stride"), parse_size(padding, "padding")
    lines = [_("Convolution: a {h}x{w} input ⊛ a {kh}x{kw} filter, padding {padding}, "
               "stride {stride}", h=h, w=w, kh=kh, kw=kw, padding=_pair(p), stride=_pair(s)), ""]
    lines += [_("Step 1. The output size: how many positions the filter fits in"), *size_lines(
        (h, w), (kh, kw), s, p), ""]
    oh, ow = _sizes((h, w), (kh, kw), s, p, rounding)
    x = _default(values, (h, w), SEED_INPUT, "values")
    f = _default(weights, (kh, kw), SEED_FILTER if (kh, kw) == (3, 3) else np.ones((kh, kw)),
                 _("filter values"))
    conv = Conv2D(1, 1, (kh, kw), s, p, rounding=rounding, dtype=np.float64)
    conv.W[...] = f
    conv.b[...] = bias
    out = conv.forward(x[None, None])[0, 0]  # (1, 1, H, W) -> (1, 1, OH, OW) -> (OH, OW)
    col = im2col(x[None, None], (kh, kw), s, p, rounding=rounding)  # (OH*OW, FH*FW)
    padded, is_pad = _padded(x, (kh, kw), s, p, rounding)
    fits = _fits(padded)  # else show each window's numbers only, not the whole input
    lines += _side_by_side([_("input ({h}x{w})", h=h, w=w), *(_grid(x) if fits else [_(TOO_BIG)])],
                           [_("filter ({kh}x{kw})", kh=kh, kw=kw), *_grid(f)])
    if padded.shape != x.shape:
        lines += ["", _("with padding {padding}: a border of zeros (shown as .) around the input",
                        padding=_pair(p))]
    lines += ["", *_("Step 2. Slide the filter; at each position multiply the numbers on top of\n"
                     "each other and add them up (積和演算, multiply-add)").splitlines(), ""]
    windows = []
    for r, row in enumerate(col):
        i, j = divmod(r, ow)
        top, left = i * s[0], j * s[1]
        total = float(row @ f.ravel()) + bias
        assert np.isclose(total, out[i, j]), "the worked sum must equal the layer's output"
        windows.append(Window((i, j), top, left, row.reshape(kh, kw), float(out[i, j])))
        if r < max_windows:
            terms = " + ".join(f"{format_number(a)}*{format_number(b)}"
                               for a, b in zip(row, f.ravel(), strict=True))
            with_bias = f" + {format_number(bias)}" if bias else ""
            where = _("of the padded input") if p != (0, 0) else _("of the input")
            lines += [_("out[{i}, {j}]: the window at rows {top}-{bottom}, columns {left}-{right} "
                        "{where}", i=i, j=j, top=top, bottom=top + kh - 1, left=left,
                        right=left + kw - 1, where=where),
                      *_side_by_side(_window_grid(padded, is_pad, top, left, kh, kw, fits),
                                     _grid(f), middle="⊛"),
                      *_wrap(f"  {terms}{with_bias} = {format_number(out[i, j])}"), ""]
    if len(col) > max_windows:
        lines += [_("... and {count} more windows, the same way (--max-windows shows more)",
                    count=len(col) - max_windows), ""]
    lines += [_("Step 3. The output ({oh}x{ow}), computed by tatamu.layers.Conv2D:", oh=oh, ow=ow),
              *_grid(out)]
    return Walkthrough("conv", lines, padded, is_pad, (kh, kw), windows, out, f)


def explain_pool(input_size=(4, 4), kernel_size=(2, 2), stride=None, padding=0, *,
                 values=None, mode: str = "max", rounding: str = "strict",
                 max_windows: int = 16) -> Walkthrough:
    """Max (or average) pooling of one 2-D input, worked through window by window.

    Defaults: the book's 4x4 example (Fig. 7-14) with 2x2 windows, stride 2 -> [[2, 3], [4, 2]].
    ``stride=None`` means stride = kernel size (windows side by side, no overlap).
    """
    if mode not in ("max", "avg"):
        raise ConfigError(_("pooling mode is 'max' or 'avg'; got {mode!r}", mode=mode))
    (h, w), (kh, kw) = parse_size(input_size, "input"), parse_size(kernel_size, "kernel")
    s = (kh, kw) if stride is None else parse_size(stride, "stride")
    p = parse_size(padding, "padding")
    title = (_("Max pooling: a {h}x{w} input, {kh}x{kw} windows, stride {stride}, padding "
               "{padding}") if mode == "max" else
             _("Average pooling: a {h}x{w} input, {kh}x{kw} windows, stride {stride}, padding "
               "{padding}"))
    lines = [title.format(h=h, w=w, kh=kh, kw=kw, stride=_pair(s), padding=_pair(p)), ""]
    lines += [_("Step 1. The output size (the same formula as convolution)"),
              *size_lines((h, w), (kh, kw), s, p), ""]
    oh, ow = _sizes((h, w), (kh, kw), s, p, rounding)
    x = _default(values, (h, w), POOL_INPUT, "values")
    layer = (MaxPool2D if mode == "max" else AvgPool2D)((kh, kw), s, p, rounding=rounding)
    out = layer.forward(x[None, None])[0, 0]  # (1, 1, H, W) -> (OH, OW)
    fill = -np.inf if mode == "max" else 0.0  # padding never wins a max
    col = im2col(x[None, None], (kh, kw), s, p, rounding=rounding, pad_value=fill)
    padded, is_pad = _padded(x, (kh, kw), s, p, rounding, fill)
    fits = _fits(padded)
    lines += [_("input ({h}x{w})", h=h, w=w), *(_grid(x) if fits else [_(TOO_BIG)]), ""]
    lines += [_("Step 2. Each window gives its largest value (no weights to learn)")
              if mode == "max" else
              _("Step 2. Each window gives its mean value (no weights to learn)"), ""]
    windows = []
    for r, row in enumerate(col):
        i, j = divmod(r, ow)
        top, left = i * s[0], j * s[1]
        windows.append(Window((i, j), top, left, row.reshape(kh, kw), float(out[i, j])))
        if r < max_windows:
            seen = ", ".join("." if np.isinf(v) else format_number(v) for v in row)
            how = (f"max({seen})" if mode == "max" else
                   f"({' + '.join(format_number(v) for v in row)}) / {row.size}")
            lines += [_("out[{i}, {j}]: rows {top}-{bottom}, columns {left}-{right}", i=i, j=j,
                        top=top, bottom=top + kh - 1, left=left, right=left + kw - 1),
                      *_window_grid(padded, is_pad, top, left, kh, kw, fits),
                      f"  {how} = {format_number(out[i, j])}", ""]
    if len(col) > max_windows:
        lines += [_("... and {count} more windows", count=len(col) - max_windows), ""]
    lines += [_("Step 3. The output ({oh}x{ow}), computed by tatamu.layers.{layer}:", oh=oh,
                ow=ow, layer=type(layer).__name__), *_grid(out)]
    return Walkthrough("pool", lines, padded, is_pad, (kh, kw), windows, out,
                       extra={"mode": mode})


def explain_im2col(input_size=(8, 8), kernel_size=(4, 4), stride=2, padding=0, *,
                   channels: int = 1, batch: int = 1, values=None,
                   max_rows: int = 36) -> Walkthrough:
    """im2col on a small input: every window becomes one row of a matrix.

    Defaults: the seed's ``np.arange(64).reshape(1, 1, 8, 8)`` with a 4x4 filter and stride
    2 -> a 9x16 matrix whose row 0 is 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27.
    """
    (h, w), (kh, kw) = parse_size(input_size, "input"), parse_size(kernel_size, "kernel")
    s, p = parse_size(stride, "stride"), parse_size(padding, "padding")
    for value, what in ((channels, "channels"), (batch, "batch")):
        positive_int(value, what)
    shape = (batch, channels, h, w)
    lines = [_("im2col: each {kh}x{kw} window of a {shape} input (N x C x H x W) becomes a row; "
               "stride {stride}, padding {padding}", kh=kh, kw=kw, shape="x".join(map(str, shape)),
               stride=_pair(s), padding=_pair(p)), ""]
    lines += [_("Step 1. How many windows: the output size"), *size_lines((h, w), (kh, kw), s, p)]
    oh, ow = _sizes((h, w), (kh, kw), s, p, "strict")
    n_rows, n_cols = batch * oh * ow, channels * kh * kw
    lines += [_("  -> N*OH*OW = {batch}*{oh}*{ow} = {rows} rows, one per window (per image of "
                "the batch)", batch=batch, oh=oh, ow=ow, rows=n_rows),
              _("  and C*FH*FW = {channels}*{kh}*{kw} = {cols} columns, one per filter weight",
                channels=channels, kh=kh, kw=kw, cols=n_cols),
              ""]
    x = (np.arange(np.prod(shape), dtype=np.float64).reshape(shape) if values is None
         else parse_values(values, shape, "values"))
    col = im2col(x, (kh, kw), s, p)  # (N*OH*OW, C*FH*FW)
    for n in range(batch):
        for c in range(channels):
            lines += [f"x[{n}, {c}] ({h}x{w}):", *_grid(x[n, c]), ""]
    lines += [_("Step 2. col = im2col(x, {kh}x{kw}, stride {stride}): shape {shape}", kh=kh,
                kw=kw, stride=_pair(s), shape=col.shape), ""]
    width = max(len(format_number(v)) for v in col.ravel())
    for r, row in enumerate(col[:max_rows]):
        n, rest = divmod(r, oh * ow)
        i, j = divmod(rest, ow)
        where = (_("image {n}, ", n=n) if batch > 1 else "") + _(
            "rows {top}-{bottom}, cols {left}-{right}", top=i * s[0], bottom=i * s[0] + kh - 1,
            left=j * s[1], right=j * s[1] + kw - 1)
        numbers = " ".join(format_number(v).rjust(width) for v in row)
        lines.append(_("  row {r:>2} ({where}): {numbers}", r=r, where=where, numbers=numbers))
    if len(col) > max_rows:
        lines.append(_("  ... {count} more rows", count=len(col) - max_rows))
    lines += ["", *_("Step 3. Why: with FN filters W of shape (FN, C, FH, FW) the whole "
                     "convolution is\none matrix product:").splitlines(),
              f"  col {col.shape} @ W.reshape(FN, {n_cols}).T ({n_cols}, FN) -> "
              f"({n_rows}, FN)",
              f"  -> reshape (N, OH, OW, FN) = ({batch}, {oh}, {ow}, FN)",
              f"  -> transpose(0, 3, 1, 2) -> (N, FN, OH, OW) = ({batch}, FN, {oh}, {ow})",
              *_("col holds {col_size:,} numbers for an input of {x_size:,} ({ratio:.2f}x as "
                 "many): where windows\noverlap, a pixel is copied into several rows. That is the "
                 "price of one big matrix\nproduct (and where the seeds' MemoryError on 10,000 "
                 "images came from).", col_size=col.size, x_size=x.size,
                 ratio=col.size / x.size).splitlines()]
    padded, is_pad = _padded(x[0, 0], (kh, kw), s, p, "strict")
    windows = [Window(divmod(r, ow), divmod(r, ow)[0] * s[0], divmod(r, ow)[1] * s[1],
                      col[r, :kh * kw].reshape(kh, kw), float("nan"))
               for r in range(oh * ow)]
    return Walkthrough("im2col", lines, padded, is_pad, (kh, kw), windows, col,
                       extra={"input_shape": shape})


# -- helpers ---------------------------------------------------------------------------------
def size_lines(input_hw, kernel_hw, stride, padding) -> list[str]:
    """The output-size formula worked through for H and W (no judgement: just arithmetic)."""
    lines = []
    for axis, size, k, s, p in zip("HW", input_hw, kernel_hw, stride, padding, strict=True):
        room = size + 2 * p - k
        value = room / s + 1
        note = ""
        if room < 0:
            note = _("  <- the filter does not fit")
        elif room % s:
            note = _("  <- not a whole number")
        lines.append(f"  O{axis} = ({axis} + 2P - F{axis}) / S + 1 = ({size} + 2*{p} - {k}) / "
                     f"{s} + 1 = {room} / {s} + 1 = {format_number(value)}{note}")
    return lines


def formula_lines(axis: str, size: int, kernel: int, stride: int, padding: int,
                  dilation: int = 1) -> list[str]:
    """``tatamu size``'s working for one axis: the formula, then it with these numbers.

    >>> print("\\n".join(formula_lines("H", 7, 3, 2, 0)))
    H: OH = (H + 2P - K) / S + 1 with H=7, P=0, K=3, S=2
       = (7 + 2*0 - 3) / 2 + 1 = 4 / 2 + 1 = 3
    """
    span = dilation * (kernel - 1) + 1  # a dilated kernel covers this many inputs
    shown = f"{kernel}" if dilation == 1 else _("{span} (= {dilation}*({kernel}-1)+1, dilated)",
                                                span=span, dilation=dilation, kernel=kernel)
    room = size + 2 * padding - span
    return [_("{axis}: O{axis} = ({axis} + 2P - K) / S + 1 with {axis}={size}, P={padding}, "
              "K={kernel}, S={stride}", axis=axis, size=size, padding=padding, kernel=shown,
              stride=stride),
            f"   = ({size} + 2*{padding} - {span}) / {stride} + 1 = {room} / {stride} + 1 "
            f"= {room / stride + 1:g}"]


def _window(kernel_hw, stride, padding, rounding) -> WindowGeometry:
    """The window a Conv2D or MaxPool2D of these arguments has (``layer.window``)."""
    return WindowGeometry(tuple(kernel_hw), tuple(stride), ((padding[0],) * 2, (padding[1],) * 2),
                          rounding=rounding)


def _sizes(input_hw, kernel_hw, stride, padding, rounding) -> tuple[int, int]:
    """(OH, OW) from the one formula; a size that does not divide raises its ConfigError."""
    return _window(kernel_hw, stride, padding, rounding).output_size(input_hw)


def _default(values, shape, seed_example: np.ndarray, what: str) -> np.ndarray:
    """The user's values, else the book's example when the shape fits, else 0, 1, 2, ..."""
    if values is not None:
        if isinstance(values, np.ndarray):
            if values.shape != tuple(shape):
                raise ConfigError(_("{what}: expected shape {shape}; got {got}",
                                    what=what, shape=shape, got=values.shape))
            return values.astype(np.float64)
        return parse_values(values, shape, what)
    if seed_example.shape == tuple(shape):
        return seed_example.copy()
    return np.arange(np.prod(shape), dtype=np.float64).reshape(shape)


def _padded(x, kernel_hw, stride, padding, rounding, fill: float = 0.0):
    """The input as the windows see it, and a mask of where that is padding."""
    pads = _window(kernel_hw, stride, padding, rounding).applied_padding(x.shape)
    padded = pad(x[None, None], pads, "zeros", fill)[0, 0]
    is_pad = pad(np.zeros((1, 1, *x.shape)), pads, "zeros", 1.0)[0, 0] > 0
    return padded, is_pad


def _pair(p: tuple[int, int]) -> str:
    return str(p[0]) if p[0] == p[1] else f"{p[0]}x{p[1]}"


def _grid(a: np.ndarray, window=None, is_pad=None) -> list[str]:
    """Rows of ``a`` as text; ``window`` = (top, left, h, w) is framed with [ ]; padding is '.'."""
    cells = [["." if is_pad is not None and is_pad[r, c] else format_number(a[r, c])
              for c in range(a.shape[1])] for r in range(a.shape[0])]
    width = max(len(cell) for row in cells for cell in row)
    lines = []
    for r, row in enumerate(cells):
        inside = window is not None and window[0] <= r < window[0] + window[2]
        text = ""
        for c in range(len(row) + 1):
            if inside and c == window[1] + window[3]:
                sep = "] "
            elif inside and c == window[1]:
                sep = " ["
            else:
                sep = "  "
            text += sep + (row[c].rjust(width) if c < len(row) else "")
        lines.append(text.rstrip())
    return lines


def _fits(a: np.ndarray) -> bool:
    """Whether a grid of ``a`` fits a terminal (80 columns, a screenful of rows)."""
    return a.shape[0] <= 14 and len(_grid(a)[0]) <= 64


def _window_grid(padded, is_pad, top, left, kh, kw, whole: bool) -> list[str]:
    """The window framed inside the whole input, or (for a large input) just the window."""
    if whole:
        return _grid(padded, (top, left, kh, kw), is_pad)
    part = (slice(top, top + kh), slice(left, left + kw))
    return _grid(padded[part], (0, 0, kh, kw), is_pad[part])


def _side_by_side(left: list[str], right: list[str], middle: str = "") -> list[str]:
    """Two blocks of lines next to each other; ``middle`` between them on the centre line."""
    width = max(text_width(line) for line in left)  # a Japanese label is 2 columns a character
    centre = (min(len(left), len(right)) - 1) // 2
    out = []
    for k in range(max(len(left), len(right))):
        a = left[k] if k < len(left) else ""
        b = right[k] if k < len(right) else ""
        gap = f"  {middle}  " if middle and k == centre else " " * (len(middle) + 4)
        out.append((pad_columns(a, width) + gap + b).rstrip())
    return out


def _wrap(text: str, width: int = 96) -> list[str]:
    """Break a long sum at ' + ' so it stays readable in an 80-100 column terminal."""
    lines, current = [], ""
    for part in text.split(" + "):
        piece = part if not current else " + " + part
        if current and len(current) + len(piece) > width:
            lines.append(current + " +")
            current = "    " + part
        else:
            current += piece
    return [*lines, current]
