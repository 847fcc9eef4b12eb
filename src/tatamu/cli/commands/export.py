"""``tatamu export CKPT --format safetensors|onnx OUT [--print-torch]``: weights out."""

from __future__ import annotations

import sys
from pathlib import Path

from ...errors import ConfigError
from .shapes import checkpoint_file

FORMATS = {".safetensors": "safetensors", ".onnx": "onnx"}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help="write a checkpoint as safetensors (PyTorch names) or ONNX",
        description="safetensors: PyTorch's names and layouts, for the nn.Sequential that "
                    "--print-torch prints. onnx: a graph for ONNX Runtime (input 'input' with a "
                    "free batch size, output 'probabilities').")
    p.add_argument("checkpoint", type=Path, help="a .npz checkpoint or a run folder")
    p.add_argument("out", type=Path, metavar="OUT",
                   help="the file to write (.safetensors or .onnx)")
    p.add_argument("--format", choices=sorted(set(FORMATS.values())), default=None,
                   help="default: from OUT's suffix")
    p.add_argument("--print-torch", action="store_true",
                   help="print the matching torch.nn.Sequential definition: only Python on "
                        "stdout (tatamu export ... --print-torch > model.py; python model.py), "
                        "the 'wrote' line on stderr")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")
    p.set_defaults(run=run)


def run(args) -> int:
    from ...checkpoint import store as checkpoint
    from ...interop.torch_names import torch_definition

    fmt = args.format or FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot tell the format from {args.out.name}: pass --format "
                          "safetensors or --format onnx")
    # with --print-torch stdout carries code: the status line goes to stderr
    status = sys.stderr if args.print_torch else sys.stdout
    path = checkpoint_file(args.checkpoint)
    model = checkpoint.load(path)
    model.eval()
    if fmt == "safetensors":
        from ...interop.safetensors_io import save_safetensors

        save_safetensors(model, args.out, overwrite=args.force)
        print(f"wrote {args.out} (PyTorch names and layouts, {model.num_params():,} parameters)",
              file=status)
    elif fmt == "onnx":
        from ...interop.onnx_export import save_onnx

        save_onnx(model, args.out, overwrite=args.force)
        note = "" if model.dtype == "float32" else f"; {model.dtype} weights written as float32"
        print(f"wrote {args.out} (ONNX opset 19; input 'input' (N, "
              f"{', '.join(map(str, model.input_shape))}), output 'probabilities'{note})",
              file=status)
    if args.print_torch:
        weights = str(args.out) if fmt == "safetensors" else "model.safetensors"
        print(torch_definition(model, weights))
    return 0
