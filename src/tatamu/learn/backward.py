"""The convolution's backward pass worked through with numbers: db, dW and dx (the book's §7.4.3).

The backward pass is where learners get stuck, and the questions they ask are about sums: "why
``+=`` and not ``=`` in col2im?", "why is the kernel rotated 180°?", "what shape is dcol?". This
module answers them with the learner's own numbers: :func:`explain_conv_backward` returns a
:class:`~tatamu.learn.explain.Walkthrough` whose text writes out ``db`` (the sum of dout),
``dW = colᵀ · dout`` term by term, every input cell's ``dx`` with the windows it sits in, and the
same ``dx`` as dout convolved with the filter turned 180°. col2im on its own is worked through
in ``adjoint.py``, pooling's backward in ``pool_backward.py``; ``worked.py`` writes the sums.

Every result comes from tatamu: dW, db and dx from ``Conv2D.backward``, the windows from
``im2col``, the counts from ``col2im``. The sums printed beside them are checked against those
(an ``assert`` per number), never computed instead of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..display import format_number
from ..im2col import col2im, im2col
from ..layers.conv import Conv2D
from .explain import (
    SEED_FILTER,
    SEED_INPUT,
    Walkthrough,
    Window,
    _default,
    _fits,
    _grid,
    _padded,
    _pair,
    _side_by_side,
    _window_grid,
    _wrap,
)
from .worked import (
    MAX_ROWS,
    cell_sentence,
    counting,
    geometry,
    grid,
    more_line,
    say,
    sum_lines,
    windows_holding,
)


# -- the convolution ---------------------------------------------------------------------------
@dataclass
class _ConvCase:
    """One input, one filter, one dout, and what Conv2D.backward made of them."""

    x: np.ndarray  # (H, W)
    f: np.ndarray  # (FH, FW), the filter W
    g: np.ndarray  # (OH, OW), dout
    stride: tuple[int, int]
    padding: tuple[int, int]
    out: np.ndarray  # (OH, OW), the forward output
    col: np.ndarray  # (OH*OW, FH*FW), im2col(x)
    padded: np.ndarray  # (H + 2P, W + 2P) (+ a ceil window's overrun)
    is_pad: np.ndarray
    dW: np.ndarray  # (FH, FW)
    db: float
    dx: np.ndarray  # (H, W)
    counts: np.ndarray  # (H, W): how many windows hold each cell, col2im(ones)

    @property
    def kernel(self) -> tuple[int, int]:
        return self.f.shape

    @property
    def out_hw(self) -> tuple[int, int]:
        return self.g.shape

    def x_name(self, r: int, c: int) -> str:
        """Cell (r, c) of the padded input by its name in x (or 'pad' for the border)."""
        if self.is_pad[r, c]:
            return "pad"
        return f"x[{r - self.padding[0]}, {c - self.padding[1]}]"


def explain_conv_backward(input_size=(4, 4), kernel_size=(3, 3), stride=1, padding=0, *,
                          values=None, weights=None, dout=None, rounding: str = "strict",
                          max_cells: int = 16) -> Walkthrough:
    """The backward pass of a convolution of one 2-D input with one filter, with its numbers.

    Defaults: the seeds' 4x4 input and 3x3 filter (the book's Fig. 7-3, out = [[15, 16],
    [6, 15]]) and dout = 1, 2, 3, ... (every number different, so each can be followed). Other
    sizes: the input counts 0, 1, 2, ... and the filter 1, 2, 3, ... (all different, so the
    180° turn shows). ``values``, ``weights`` and ``dout`` take your numbers (text "1,2;3,4" or
    arrays). ``max_cells`` bounds how many weights and input cells are written out.

    Shapes: input (H, W), filter (FH, FW), dout (OH, OW); the walkthrough's ``output`` is dx
    (H, W); ``extra`` holds dout, dW, db, dcol, counts and the rotation's arrays.
    """
    (h, w), kernel, s, p, (oh, ow) = geometry(input_size, kernel_size, stride, padding, rounding)
    x = _default(values, (h, w), SEED_INPUT, "values")
    f = _default(weights, kernel, SEED_FILTER if kernel == (3, 3) else counting(kernel),
                 "filter values")
    g = _default(dout, (oh, ow), counting((oh, ow)), "dout values")
    conv = Conv2D(1, 1, kernel, s, p, rounding=rounding, dtype=np.float64)
    conv.W[...] = f
    conv.b[...] = 0.0
    out = conv.forward(x[None, None])[0, 0]  # (1, 1, H, W) -> (1, 1, OH, OW) -> (OH, OW)
    dx = conv.backward(g[None, None])[0, 0]  # (1, 1, OH, OW) -> (1, 1, H, W) -> (H, W)
    col = im2col(x[None, None], kernel, s, p, rounding=rounding)  # (OH*OW, FH*FW)
    counts = col2im(np.ones_like(col), (1, 1, h, w), kernel, s, p, rounding=rounding)[0, 0]
    padded, is_pad = _padded(x, kernel, s, p, rounding)
    case = _ConvCase(x, f, g, s, p, out, col, padded, is_pad, conv.dW[0, 0], float(conv.db[0]),
                     dx, counts)
    lines = [f"Convolution backward: a {h}x{w} input ⊛ a {kernel[0]}x{kernel[1]} filter, "
             f"padding {_pair(p)}, stride {_pair(s)} -> a {oh}x{ow} output", ""]
    lines += _conv_intro_lines(case)
    lines += _db_lines(case)
    lines += _dw_lines(case, max_cells)
    lines += _dx_lines(case, max_cells)
    spread, inserted, border = spread_dout(case)
    lines += _rotation_lines(case, spread, inserted, border)
    lines += _shape_lines(case)
    windows = [Window(divmod(r, ow), divmod(r, ow)[0] * s[0], divmod(r, ow)[1] * s[1],
                      row.reshape(kernel), float(out.flat[r])) for r, row in enumerate(col)]
    extra = {"dout": g, "dW": case.dW, "db": case.db, "dx": dx, "forward": out,
             "dcol": np.outer(g.ravel(), f.ravel()), "counts": counts, "stride": s,
             "padding": p, "rotated": f[::-1, ::-1].copy(), "spread": spread,
             "inserted": inserted, "border": border}
    return Walkthrough("conv-backward", lines, padded, is_pad, kernel, windows, dx, f, extra)


def _conv_intro_lines(case: _ConvCase) -> list[str]:
    (h, w), (kh, kw), (oh, ow) = case.x.shape, case.kernel, case.out_hw
    blocks = [[f"input x ({h}x{w})", *grid(case.x)], [f"filter W ({kh}x{kw})", *grid(case.f)],
              [f"output ({oh}x{ow})", *grid(case.out)]]
    lines = ["The forward pass (tatamu explain conv shows each window's multiply-add):"]
    if _fits(case.padded) and _fits(case.out):  # side by side, as the book draws it
        lines += _side_by_side(_side_by_side(blocks[0], blocks[1]), blocks[2])
    else:
        lines += [line for block in blocks for line in block]
    lines.append("")
    lines += say(f"dout is what the next layer sends back: one number per output, ∂L/∂out, how "
                 f"much the loss L grows when that output grows by 1. It has the output's "
                 f"shape ({oh}x{ow}):")
    return [*lines, *grid(case.g), ""]


def _db_lines(case: _ConvCase) -> list[str]:
    terms = [f"dout[{i}, {j}]" for i, j in np.ndindex(case.out_hw)]
    numbers = [format_number(v) for v in case.g.ravel()]
    assert np.isclose(case.g.sum(), case.db), "the worked sum must equal Conv2D's db"
    lines = ["Step 1. db: the sum of dout", *say(
        "The bias is added to every output, so raising it by 1 raises every output by 1: "
        "each output passes its whole dout on to it.", "  ")]
    lines += sum_lines("db", terms, numbers, case.db)
    lines += say("With FN filters there is one such sum per filter, over every image and every "
                 "position: the book's np.sum(dout, axis=0) after dout.transpose(0, 2, 3, 1)"
                 ".reshape(-1, FN).", "  ")
    return [*lines, ""]


def _dw_lines(case: _ConvCase, max_cells: int) -> list[str]:
    (kh, kw), (oh, ow), (s0, s1) = case.kernel, case.out_hw, case.stride
    lines = ["Step 2. dW = colᵀ · dout: which windows made each weight's gradient", *say(
        "In window out[i, j] the weight W[a, b] multiplied the input cell under it, so that "
        "cell is how much out[i, j] moves when W[a, b] moves. Every window used every weight: "
        "a weight's gradient adds, over all windows, the cell it met times that window's dout.",
        "  ")]
    lines += say(f"col = im2col(x) has one row per window ({oh * ow} rows) and one column per "
                 f"weight ({kh * kw} columns); beside each row, its window's dout:", "  ")
    width = max(len(format_number(v)) for v in case.col.ravel())
    for r, row in enumerate(case.col[:MAX_ROWS]):
        i, j = divmod(r, ow)
        numbers = " ".join(format_number(v).rjust(width) for v in row)
        lines.append(f"  row {r:>2} (out[{i}, {j}]): {numbers}   dout "
                     f"{format_number(case.g[i, j])}")
    lines += more_line(min(MAX_ROWS, oh * ow), oh * ow, "a smaller --input")
    for k in range(min(kh * kw, max_cells)):
        a, b = divmod(k, kw)
        cells = [(i * s0 + a, j * s1 + b, i, j) for i, j in np.ndindex(oh, ow)]
        symbols = [f"{case.x_name(r, c)}*dout[{i}, {j}]" for r, c, i, j in cells]
        numbers = [f"{format_number(case.padded[r, c])}*{format_number(case.g[i, j])}"
                   for r, c, i, j in cells]
        worked = sum(case.padded[r, c] * case.g[i, j] for r, c, i, j in cells)
        assert np.isclose(worked, case.dW[a, b]), "the worked sum must equal Conv2D's dW"
        lines += [f"  dW[{a}, {b}]: column {k} of col · dout, one term per window:",
                  *sum_lines(f"dW[{a}, {b}]", symbols, numbers, case.dW[a, b])]
    lines += more_line(min(kh * kw, max_cells), kh * kw, "--max-cells")
    return [*lines, f"  dW ({kh}x{kw}), as Conv2D.backward computes it:", *grid(case.dW), ""]


def _dx_lines(case: _ConvCase, max_cells: int) -> list[str]:
    (h, w), (kh, kw), (oh, ow) = case.x.shape, case.kernel, case.out_hw
    lines = ["Step 3. dx through col2im: every input cell adds what its windows send back", *say(
        f"First dcol = dout · W_colᵀ, ({oh * ow}, 1) @ (1, {kh * kw}) -> ({oh * ow}, "
        f"{kh * kw}), col's shape: row k is window k's dout times the whole filter, the "
        f"gradient of every number that window copied out of x.", "  ")]
    dcol = np.outer(case.g.ravel(), case.f.ravel())  # (OH*OW, 1) @ (1, FH*FW) -> (OH*OW, FH*FW)
    width = max(len(format_number(v)) for v in dcol.ravel())
    for r in range(min(MAX_ROWS, oh * ow)):
        i, j = divmod(r, ow)
        row = " ".join(format_number(v).rjust(width) for v in dcol[r])
        lines.append(f"  row {r:>2} = dout[{i}, {j}] * W = {format_number(case.g[i, j])} * W: "
                     f"{row}")
    lines += more_line(min(MAX_ROWS, oh * ow), oh * ow, "a smaller --input")
    lines += say("col2im then adds each row back onto the cells its window covers. How many "
                 "windows hold each cell of x (col2im of a col full of ones):", "  ")
    lines += [*grid(case.counts), ""]
    shown = 0
    for r, c in np.ndindex(h, w):
        if shown == max_cells:
            break
        shown += 1
        holds = windows_holding(r + case.padding[0], c + case.padding[1], case.kernel,
                                case.stride, case.out_hw)
        symbols = [f"W[{a}, {b}]*dout[{i}, {j}]" for i, j, a, b in holds]
        numbers = [f"{format_number(case.f[a, b])}*{format_number(case.g[i, j])}"
                   for i, j, a, b in holds]
        worked = sum(case.f[a, b] * case.g[i, j] for i, j, a, b in holds)
        assert np.isclose(worked, case.dx[r, c]), "the worked sum must equal Conv2D's dx"
        lines += say(cell_sentence(f"x[{r}, {c}]", [f"out[{i}, {j}]" for i, j, _, _ in holds]),
                     "  ")
        lines += sum_lines(f"dx[{r}, {c}]", symbols, numbers, case.dx[r, c])
    lines += more_line(shown, h * w, "--max-cells")
    r, c = np.unravel_index(np.argmax(case.counts), case.counts.shape)
    most = int(case.counts[r, c])
    if most > 1:
        lines += say(f"That is why col2im adds (+=, not =): x[{r}, {c}] was copied into {most} "
                     f"rows of col, so {most} rows of dcol send a gradient back to it, and every "
                     f"one of them counts. A col2im that wrote (=) would keep only the last.", "  ")
    else:
        lines += say("Here no two windows share a cell (the stride is at least the filter "
                     "size), so each cell gets at most one term; where windows overlap, "
                     "col2im's += adds several.", "  ")
    return [*lines, f"  dx ({h}x{w}), as Conv2D.backward computes it:", *grid(case.dx), ""]


def spread_dout(case: _ConvCase):
    """dout laid out for the turned filter: S - 1 zeros between its numbers (the windows were S
    apart) inside a border of zeros, so that a FH x FW window sliding over it meets, for input
    cell (r, c), exactly the douts of the windows that held x[r, c].

    Returns (spread (H + FH - 1, W + FW - 1), inserted-zero mask, (top, bottom, left, right));
    a side is FH - 1 - P when the size divides; a negative side is cut off instead of padded
    (those douts reached only padding, whose gradient is dropped).
    """
    (h, w), (kh, kw), (oh, ow), (s0, s1) = case.x.shape, case.kernel, case.out_hw, case.stride
    dilated = np.zeros(((oh - 1) * s0 + 1, (ow - 1) * s1 + 1))
    dilated[::s0, ::s1] = case.g
    inserted = np.ones(dilated.shape, dtype=bool)
    inserted[::s0, ::s1] = False
    top, left = kh - 1 - case.padding[0], kw - 1 - case.padding[1]
    bottom, right = h + kh - 1 - dilated.shape[0] - top, w + kw - 1 - dilated.shape[1] - left
    grow = ((max(top, 0), max(bottom, 0)), (max(left, 0), max(right, 0)))
    spread = np.pad(dilated, grow)
    inserted = np.pad(inserted, grow, constant_values=True)
    cut = (slice(max(-top, 0), spread.shape[0] - max(-bottom, 0)),
           slice(max(-left, 0), spread.shape[1] - max(-right, 0)))
    return spread[cut], inserted[cut], (top, bottom, left, right)


def _rotation_lines(case: _ConvCase, spread, inserted, border) -> list[str]:
    (h, w), (kh, kw) = case.x.shape, case.kernel
    rotated = case.f[::-1, ::-1]
    lines = ["Step 4. The same dx as a convolution: dout, spread out, ⊛ the filter turned 180°",
             *say("Why the filter turns: x[r, c] reached out[i, j] through W[a, b] with a = r + "
                  "P - i*S and b = c + P - j*S. Going back from x[r, c], the window one step "
                  "further down (i + 1) used a weight S rows higher up the filter (a - S), and "
                  "the window one step to the right used a weight S columns further left: seen "
                  "from the input, the filter is read backwards in both directions, which is "
                  "the filter turned 180° (W[::-1, ::-1], np.rot90(W, 2)).", "  ")]
    lines += _side_by_side([f"  W ({kh}x{kw})", *grid(case.f)], ["W turned 180°",
                                                                *grid(rotated)])
    top, bottom, left, right = border
    lines += say(f"Slide it over dout spread out ({spread.shape[0]}x{spread.shape[1]}, the "
                 f"zeros put in shown as .): dout's numbers sit S = {_pair(case.stride)} apart, "
                 f"as the windows did (S - 1 zeros between neighbours), inside a border of "
                 f"zeros: {top} above, {bottom} below, {left} on the left, {right} on the right "
                 f"(FH - 1 - P, so that the turned filter reaches the cells that only the first "
                 f"or the last windows held).", "  ")
    if bottom > top or right > left:
        lines += say("The bottom or right border is wider where the rounding left input cells "
                     "out of every window: their dx is 0.", "  ")
    if min(border) < 0:
        lines += say("A negative number means that many rows or columns of dout are cut off "
                     "instead: their windows reached only padding, whose gradient is dropped.",
                     "  ")
    fits = _fits(spread)
    lines += [*(_grid(spread, None, inserted) if fits else grid(spread)), ""]
    r, c = np.unravel_index(np.argmax(case.counts), case.counts.shape)
    for a, b in np.ndindex(h, w):
        assert np.isclose((spread[a : a + kh, b : b + kw] * rotated).sum(), case.dx[a, b]), \
            "dout spread out ⊛ the turned filter must equal Conv2D's dx"
    cell = spread[r : r + kh, c : c + kw]
    terms = " + ".join(f"{format_number(v)}*{format_number(k)}"
                       for v, k in zip(cell.ravel(), rotated.ravel(), strict=True))
    lines += [f"  dx[{r}, {c}]: the turned filter over rows {r}-{r + kh - 1}, columns "
              f"{c}-{c + kw - 1} of the spread dout",
              *_side_by_side(_window_grid(spread, inserted, r, c, kh, kw, fits),
                             _grid(rotated), middle="⊛"),
              *_wrap(f"  {terms} = {format_number(case.dx[r, c])}")]
    kept = int((~inserted[r : r + kh, c : c + kw]).sum())
    if kept == 1:
        lines += say("Every product with an inserted zero (.) is 0; the one that remains is "
                     f"step 3's term for x[{r}, {c}].", "  ")
    else:
        lines += say(f"Every product with an inserted zero (.) is 0; the {kept} that remain are "
                     f"step 3's {kept} terms for x[{r}, {c}], the same sum in another order.",
                     "  ")
    lines += say(f"Each of the {h * w} cells of x, computed this way, equals step 3's dx "
                 f"(checked here for every one): the turned filter sliding over the spread dout "
                 f"is col2im's sum, reordered. Frameworks call this a transposed convolution; "
                 f"the book's col2im gets the same numbers by adding rows back, with nothing "
                 f"turned.", "  ")
    return [*lines, ""]


def _shape_lines(case: _ConvCase) -> list[str]:
    (h, w), (kh, kw), (oh, ow) = case.x.shape, case.kernel, case.out_hw
    rows, cols = oh * ow, kh * kw
    return ["The shapes, as in the book's Convolution.backward (N = 1 image, C = 1 channel, "
            "FN = 1 filter here):",
            f"  dout (N, FN, OH, OW) = (1, 1, {oh}, {ow})",
            f"    -> transpose(0, 2, 3, 1).reshape(-1, FN) -> (N*OH*OW, FN) = ({rows}, 1)",
            "  db = np.sum(dout, axis=0) -> (FN,) = (1,)",
            f"  dW = np.dot(col.T, dout): (C*FH*FW, N*OH*OW) @ (N*OH*OW, FN) = ({cols}, {rows}) "
            f"@ ({rows}, 1)",
            f"    -> ({cols}, 1) -> transpose(1, 0).reshape(FN, C, FH, FW) = (1, 1, {kh}, {kw})",
            f"  dcol = np.dot(dout, col_W.T): (N*OH*OW, FN) @ (FN, C*FH*FW) = ({rows}, 1) @ "
            f"(1, {cols})",
            f"    -> ({rows}, {cols}), col's shape: one row per window, as col2im wants it",
            f"  dx = col2im(dcol, x.shape, FH, FW, stride, pad) -> (N, C, H, W) = (1, 1, {h}, "
            f"{w})"]
