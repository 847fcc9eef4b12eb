"""The printed tables: medians, min-max spread and the ratio tatamu / PyTorch."""

from __future__ import annotations

MiB = 2**20

#: Issue 25's targets, tatamu / PyTorch at or below: (name prefix, pass) -> ratio. Checked in
#: the tables with a tick or a cross at 1 and at 2 threads.
LAYER_TARGETS = {("Conv2D", "3x3", "forward"): 1.3, ("Conv2D", "3x3", "backward"): 1.3,
                 ("MaxPool2D", "", "backward"): 1.5}
STEP_TARGETS = {"simple_plain": 0.8, "deep": 1.2, "predict": 0.7}


def layer_target(name: str, step: str) -> float | None:
    for (kind, kernel, pass_), limit in LAYER_TARGETS.items():
        if name.startswith(kind) and kernel in name and step == pass_:
            return limit
    return None


def mark(ratio: float, limit: float | None) -> str:
    """``<= 1.3 ✓`` or ``<= 1.3 ✗``; empty without a target."""
    if limit is None:
        return ""
    return f"<= {limit:g} {'✓' if ratio <= limit else '✗'}"


def _cell(s: dict) -> str:
    """``median unit (min-max)``, all in the median's unit (ms below a second, else s)."""
    scale, unit = (1e3, "ms") if s["median"] < 1 else (1.0, "s")
    lo, mid, hi = (s[k] * scale for k in ("min", "median", "max"))
    digits = 1 if unit == "ms" else 2
    return f"{mid:.{digits}f} {unit} ({lo:.{digits}f}-{hi:.{digits}f})"


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * len(max(lines, key=len)))
    return "\n".join(lines)


def header(run: dict) -> str:
    blas, tor, env = run["blas"], run["torch"], run["env"]
    kernel = next((p.get("architecture") for p in run.get("threadpools", [])
                   if p.get("user_api") == "blas"), None) or blas.get("kernel", "?")
    return (
        f"== {run['threads']} thread(s) == {run['machine']['cpu']}, {run['machine']['cores']} "
        f"cores\nNumPy {blas.get('numpy')} BLAS: {blas.get('name')} {blas.get('version')}, "
        f"kernel {kernel} (threadpoolctl), {blas.get('threads', '?')} thread(s) "
        f"(OPENBLAS_NUM_THREADS={env['OPENBLAS_NUM_THREADS']}; OPENBLAS_CORETYPE and "
        f"OPENBLAS_L2_SIZE unset for this process)\nPyTorch {tor['version']}, "
        f"{tor['threads']} thread(s) (torch.set_num_threads), oneDNN {tor['mkldnn']}"
        + (f"\nload average {run['load'][0]:.1f} / {run['load'][1]:.1f} / {run['load'][2]:.1f}"
           " (1 / 5 / 15 min) when the worker started" if run.get("load") else "")
    )


def _epochs_cell(side: dict, per: float = 1.0) -> str:
    """Mean of the timed epochs (median over processes), min-max over processes; ``per``
    divides (steps per epoch: a step time in ms)."""
    means = [m / per for m in side["epoch_means"]]
    if per == 1.0:
        spread = f" ({min(means):.2f}-{max(means):.2f})" if len(means) > 1 else ""
        return f"{side['epoch_mean']:.2f} s{spread}, last/first {side['slowdown']:.2f}"
    spread = f" ({min(means) * 1e3:.1f}-{max(means) * 1e3:.1f})" if len(means) > 1 else ""
    return f"{side['epoch_mean'] / per * 1e3:.1f} ms{spread}"


def _load(t: dict) -> str:
    return f", load {t['load'][0]:.1f}" if t.get("load") else ""


def train_rows(t: dict) -> list[tuple[str, ...]]:
    """SimpleConvNet: mean epoch after the first, per fresh process, against the twin and the
    plain PyTorch loop; DeepConvNet (``deep``): the same, as ms per step."""
    deep = t.get("net") == "deep"
    per = t["steps_per_epoch"] if deep else 1.0
    if deep:
        what = (f"DeepConvNet step, b100 (mean of {t['steps_per_epoch'] * (t['epochs'] - 1)} "
                f"steps after {t['steps_per_epoch']}, {t['processes']} fresh process(es) each"
                f"{_load(t)})")
    else:
        what = (f"SimpleConvNet epoch ({t['images']:,} MNIST, b100, Adam; mean of epochs "
                f"2-{t['epochs']}, {t['processes']} fresh process(es) each{_load(t)})")
    rows = [(what, _epochs_cell(t["tatamu"], per), _epochs_cell(t["torch"], per),
             f"{t['ratio']:.2f}", mark(t["ratio"], STEP_TARGETS["deep"] if deep else None),
             "twin: same weights and order, loss and #correct read per step")]
    if "torch-plain" in t:
        limit = STEP_TARGETS["deep" if deep else "simple_plain"]
        rows.append(("", "", _epochs_cell(t["torch-plain"], per), f"{t['ratio_plain']:.2f}",
                     mark(t["ratio_plain"], limit),
                     "plain loop: own init, randperm, int64 labels, nothing else per step"))
    return rows


def main_table(run: dict) -> str:
    rows = [("benchmark", "tatamu median (min-max)", "PyTorch median (min-max)",
             "tatamu/PyTorch", "target", "PyTorch side")]
    if "train" in run:
        rows.extend(train_rows(run["train"]))
    if "deep" in run:
        rows.extend(train_rows(run["deep"]))
    if "predict" in run:
        p = run["predict"]
        if "fresh" in p:
            f = p["fresh"]
            rows.append((f"predict 10k test images (chunks of {p['chunk']}; each library in its "
                         f"own processes, 2 x {f['tatamu']['n'] // 2} runs)",
                         _cell(f["tatamu"]), _cell(f["torch"]), f"{f['ratio']:.2f}",
                         mark(f["ratio"], STEP_TARGETS["predict"]),
                         "inference_mode, same chunks"))
        rows.append((f"predict 10k test images (chunks of {p['chunk']}; both in one process)",
                     _cell(p["tatamu"]), _cell(p["torch"]), f"{p['ratio']:.2f}",
                     "" if "fresh" in p else mark(p["ratio"], STEP_TARGETS["predict"]),
                     "the same, interleaved in one process"))
        rss = p["rss"]
        # from the level before the warm-up chunk where measured (memory the allocator keeps
        # after the warm-up is part of predict's footprint; see memory.rss_predict)
        key = "peak_above_loaded" if "peak_above_loaded" in rss["tatamu"] else "peak_above"
        rows.append(("  predict peak above model: RSS (anonymous, sampled"
                     + (", warm-up included)" if key == "peak_above_loaded" else ")"),
                     f"{rss['tatamu'][key] / MiB:.1f} MiB",
                     f"{rss['torch'][key] / MiB:.1f} MiB",
                     f"{rss['tatamu'][key] / max(rss['torch'][key], 1):.2f}",
                     "", ""))
        rows.append(("  predict peak above model: tracemalloc",
                     f"{p['traced_peak'] / MiB:.1f} MiB", "-", "", "", ""))
    return _table(rows)


def layers_table(run: dict) -> str:
    peak = run.get("gemm", {}).get("numpy", {}).get("gflops")
    rows = [("layer (batch 100)", "pass", "tatamu", "PyTorch", "ratio", "target",
             "tatamu GFLOP/s", "of GEMM peak")]
    for name, r in run["layers"].items():
        for step in ("forward", "backward"):
            c = r[step]
            gf = c["tatamu"].get("gflops")
            rows.append((name if step == "forward" else "", step, _cell(c["tatamu"]),
                         _cell(c["torch"]), f"{c['ratio']:.2f}",
                         mark(c["ratio"], layer_target(name, step)),
                         f"{gf:.1f}" if gf else "", f"{gf / peak:.0%}" if gf and peak else ""))
    return _table(rows)


def gemm_line(run: dict) -> str:
    g = run["gemm"]
    return (f"float32 GEMM {g['n']}x{g['n']}: NumPy {g['numpy']['gflops']:.1f} GFLOP/s, "
            f"PyTorch {g['torch']['gflops']:.1f} GFLOP/s (best of several)")


def memory_tables(run: dict) -> str:
    m = run["memory"]
    rows = [("training memory per step, batch 100 (tracemalloc)", "parameters", "gradients",
             "Adam state", "layer caches", "held between steps", "peak in a step")]
    for net, t in m["training"].items():
        rows.append((net, *(f"{t[k] / MiB:.1f} MiB" for k in (
            "params", "grads", "optimizer_state", "caches", "held_between_steps",
            "peak_in_step_above_params"))))
    out = [_table(rows)]
    rows = [("predict SimpleConvNet from an np.memmap", "peak above model", "result array",
             "working memory", "time")]
    for n, p in m["predict"].items():
        rows.append((f"{int(n):,} images (chunks of {p['chunk']})", f"{p['peak'] / MiB:.1f} MiB",
                     f"{p['output'] / MiB:.1f} MiB", f"{p['working'] / MiB:.1f} MiB",
                     f"{p['seconds']:.1f} s"))
    out.append(_table(rows))
    return "\n\n".join(out)


def render(run: dict) -> str:
    parts = [header(run)]
    if any(k in run for k in ("train", "deep", "predict")):
        parts.append(main_table(run))
    if "gemm" in run:
        parts.append(gemm_line(run))
    if "layers" in run:
        parts.append(layers_table(run))
    if "memory" in run:
        parts.append(memory_tables(run))
    return "\n\n".join(parts)
