"""``python -m benchmarks.gpu``: tatamu on CuPy against PyTorch on CUDA, side by side, one run.

Measured (issue 16): a SimpleConvNet epoch over the 60,000 MNIST training images at batch 100
and at batch 1000 (data on the host, each batch moved to the GPU as it is used, as ``fit``
does; PyTorch the same way), DeepConvNet training steps per second at batch 100, and predicting
the 10,000 test images. Each epoch is timed after a warm-up epoch (CuPy compiles its kernels on
first use), tatamu and PyTorch alternating; medians and the ratio tatamu / PyTorch are printed
with the GPU's name, CuPy's and PyTorch's versions. Needs a CUDA GPU, CuPy and torch.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np


def _sync():
    import cupy
    import torch

    cupy.cuda.Device().synchronize()
    torch.cuda.synchronize()


def _timed(fn) -> float:
    _sync()
    start = time.perf_counter()
    fn()
    _sync()
    return time.perf_counter() - start


def _torch_epoch(model, opt, x, y, batch: int, seed: int) -> None:
    import torch
    import torch.nn.functional as F

    order = np.random.default_rng([seed, 0]).permutation(len(x))
    model.train()
    for start in range(0, len(x), batch):
        idx = order[start : start + batch]
        xb = torch.from_numpy(x[idx]).cuda(non_blocking=False)
        yb = torch.from_numpy(y[idx]).cuda()
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        opt.step()
        loss.item(), (logits.argmax(1) == yb).sum().item()  # fit reads both every step


def epoch_case(build, x, y, batch: int, reps: int) -> dict:
    import torch

    from tatamu.optim import Adam
    from tatamu.training.loop import fit

    from .twins import model_twin

    model = build(rng=0)
    twin = model_twin(model).cuda()
    model.to("cuda")
    opt, topt = Adam(lr=1e-3), torch.optim.Adam(twin.parameters(), lr=1e-3)
    seeds = iter(range(1, 10**6))
    warm = slice(0, 10 * batch)
    fit(model, (x[warm], y[warm]), epochs=1, batch_size=batch, optimizer=opt, progress=False)
    _torch_epoch(twin, topt, x[warm], y[warm], batch, 0)
    times = {"tatamu": [], "torch": []}
    for _ in range(reps):
        times["tatamu"].append(_timed(lambda: fit(
            model, (x, y), epochs=1, batch_size=batch, optimizer=opt, seed=next(seeds),
            progress=False)))
        times["torch"].append(_timed(lambda: _torch_epoch(twin, topt, x, y, batch,
                                                          next(seeds))))
    return _summary(times)


def predict_case(build, x, reps: int) -> dict:
    import torch

    from .twins import model_twin

    model = build(rng=0).to("cuda")
    twin = model_twin(model).cuda().eval()

    def run_torch():
        with torch.no_grad():
            out = []
            for start in range(0, len(x), 1000):
                xb = torch.from_numpy(x[start : start + 1000]).cuda()
                out.append(torch.softmax(twin(xb), 1).cpu())
            return torch.cat(out)

    model.predict(x[:1000], batch_size=1000)
    run_torch()
    times = {"tatamu": [], "torch": []}
    for _ in range(reps):
        times["tatamu"].append(_timed(lambda: model.predict(x, batch_size=1000)))
        times["torch"].append(_timed(run_torch))
    return _summary(times)


def _summary(times: dict[str, list[float]]) -> dict:
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"seconds": times, "median": med, "ratio": med["tatamu"] / med["torch"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gpu", description=__doc__)
    parser.add_argument("--reps", type=int, default=3, help="timed epochs per case")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    import cupy
    import torch

    from tatamu.datasets import load_mnist
    from tatamu.models import deep_convnet, simple_convnet

    (x, y), (xt, _) = load_mnist()
    props = cupy.cuda.runtime.getDeviceProperties(0)
    info = {"gpu": props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
            "cupy": cupy.__version__, "torch": torch.__version__, "numpy": np.__version__}
    print(f"GPU: {info['gpu']}; CuPy {info['cupy']}, PyTorch {info['torch']}, "
          f"NumPy {info['numpy']}", flush=True)
    results = {"machine": info}
    for batch in (100, 1000):
        r = epoch_case(simple_convnet, x, y, batch, args.reps)
        results[f"simple_epoch_batch{batch}"] = r
        print(f"SimpleConvNet epoch, batch {batch}: tatamu {r['median']['tatamu']:.3f} s, "
              f"PyTorch {r['median']['torch']:.3f} s, ratio {r['ratio']:.2f}", flush=True)
    steps = 50
    r = epoch_case(deep_convnet, x[: steps * 100], y[: steps * 100], 100, args.reps)
    results["deep_steps_batch100"] = r
    print(f"DeepConvNet, batch 100: tatamu {steps / r['median']['tatamu']:.1f} steps/s, "
          f"PyTorch {steps / r['median']['torch']:.1f} steps/s, time ratio {r['ratio']:.2f}",
          flush=True)
    r = predict_case(simple_convnet, xt, args.reps)
    results["predict_10k"] = r
    print(f"predict 10,000: tatamu {r['median']['tatamu']:.3f} s, PyTorch "
          f"{r['median']['torch']:.3f} s, ratio {r['ratio']:.2f}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
