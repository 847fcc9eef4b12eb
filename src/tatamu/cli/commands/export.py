"""``tatamu export CKPT --format safetensors|onnx OUT [--print-torch]``: weights out."""

from __future__ import annotations

import sys
from pathlib import Path

from ...errors import ConfigError
from ...i18n import _
from .shapes import checkpoint_file

FORMATS = {".safetensors": "safetensors", ".onnx": "onnx"}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "export", help=_("write a checkpoint as safetensors (PyTorch names) or ONNX"),
        description=_("safetensors: PyTorch's names and layouts, for the nn.Sequential that "
                      "--print-torch prints. onnx: a graph for ONNX Runtime (input 'input' with "
                      "a free batch size, output 'probabilities')."))
    p.add_argument("checkpoint", type=Path, help=_("a .npz checkpoint or a run folder"))
    p.add_argument("out", type=Path, metavar="OUT",
                   help=_("the file to write (.safetensors or .onnx)"))
    p.add_argument("--format", choices=sorted(set(FORMATS.values())), default=None,
                   help=_("default: from OUT's suffix"))
    p.add_argument("--print-torch", action="store_true",
                   help=_("print the matching torch.nn.Sequential definition: only Python on "
                          "stdout (tatamu export ... --print-torch > model.py; python model.py), "
                          "the 'wrote' line on stderr"))
    p.add_argument("--force", action="store_true", help=_("replace OUT if it exists"))
    p.set_defaults(run=run)


def run(args) -> int:
    from ...checkpoint import store as checkpoint
    from ...interop.torch_names import torch_definition

    fmt = args.format or FORMATS.get(args.out.suffix.lower())
    if fmt is None:
        raise ConfigError(_("cannot tell the format from {name}: pass --format safetensors or "
                            "--format onnx", name=args.out.name))
    # with --print-torch stdout carries code: the status line goes to stderr
    status = sys.stderr if args.print_torch else sys.stdout
    path = checkpoint_file(args.checkpoint)
    model = checkpoint.load(path)
    model.eval()
    if fmt == "safetensors":
        from ...interop.safetensors_io import save_safetensors

        save_safetensors(model, args.out, overwrite=args.force)
        print(_("wrote {out} (PyTorch names and layouts, {num_params:,} parameters)",
                out=args.out, num_params=model.num_params()), file=status)
    elif fmt == "onnx":
        from ...interop.onnx_export import save_onnx

        save_onnx(model, args.out, overwrite=args.force)
        note = "" if model.dtype == "float32" else _("; {dtype} weights written as float32",
                                                     dtype=model.dtype)
        print(_("wrote {out} (ONNX opset 19; input 'input' (N, {map}), output "
                "'probabilities'{note})",
                out=args.out, map=', '.join(map(str, model.input_shape)), note=note),
              file=status)
    if args.print_torch:
        weights = str(args.out) if fmt == "safetensors" else "model.safetensors"
        print(torch_definition(model, weights))
    return 0
