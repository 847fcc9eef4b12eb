"""Which argument of a course's ``__init__`` is which: filters, channels, filter height...

DIVE INTO CODE learners name and order their arguments in their own ways
(``Conv2d(F, C, FH, FW, P, S, initializer, optimizer)``, ``Conv2d(in_channels, filter_num,
filter_size, stride=1, pad=0, ...)``). :func:`roles` reads each argument's role from its name,
then takes the rest in the course's order.
"""

from __future__ import annotations

import inspect

import numpy as np

#: The size roles of each kind, in the course's order (what unnamed arguments are taken as).
ORDER = {"convolution": ("FN", "C", "FH", "FW", "stride", "pad"),
         "conv1d": ("FN", "C", "FL", "stride", "pad"),
         "pooling": ("PH", "PW", "stride", "pad"),
         "affine": ("IN", "OUT")}
#: lower-case argument name -> role.
ROLE_NAMES = {
    "FN": {"fn", "f", "n_f", "nf", "filter_num", "num_filter", "num_filters", "n_filter",
           "n_filters", "filters", "n_out", "out_channels", "out_channel", "output_channels",
           "out_ch", "n_output_channels", "oc", "c_out", "m", "filter_n", "n_kernels",
           "output_channel", "output_ch", "out_c"},
    "C": {"c", "ch", "channel", "channels", "in_channels", "in_channel", "input_channels",
          "input_channel", "n_channels", "n_channel", "in_ch", "input_ch", "ic", "c_in", "n_c",
          "n_input_channels", "in_c"},
    "FH": {"fh", "filter_h", "filter_height", "kh", "kernel_h", "kernel_height", "f_h", "hf",
           "h_filter", "filter_height_size"},
    "FW": {"fw", "filter_w", "filter_width", "kw", "kernel_w", "kernel_width", "f_w", "wf",
           "w_filter"},
    "FS": {"filter_size", "kernel_size", "fs", "ks", "f_size", "k_size", "ksize", "k",
           "kernel", "filter_len", "filter_length", "fl", "f_l", "l_filter", "size",
           "filter", "window", "n_filter_size", "kernel_length"},
    "PH": {"pool_h", "ph", "pool_height", "p_h", "kh", "fh", "h", "height", "pool_size_h",
           "filter_h"},
    "PW": {"pool_w", "pw", "pool_width", "p_w", "kw", "fw", "w", "width", "pool_size_w",
           "filter_w"},
    "PS": {"pool_size", "pool", "ps", "size", "kernel_size", "k", "window", "window_size",
           "filter_size", "pool_len", "pooling_size", "f", "n_pool"},
    "IN": {"n_nodes1", "n_in", "n_input", "n_inputs", "input_size", "in_features", "input_dim",
           "in_dim", "d", "n_features", "n_prev", "prev", "in_size", "n_node1", "nodes1",
           "n_nodes_in", "input_nodes", "n_input_nodes", "in_nodes"},
    "OUT": {"n_nodes2", "n_out", "n_output", "n_outputs", "output_size", "out_features",
            "output_dim", "out_dim", "m", "n_nodes", "units", "n_units", "out_size", "n_next",
            "n_node2", "nodes2", "n_nodes_out", "output_nodes", "n_output_nodes", "out_nodes"},
    "stride": {"s", "st", "stride", "strides", "stride_size", "n_stride"},
    "pad": {"p", "pad", "padding", "pad_size", "pa", "zero_pad", "zero_padding", "n_pad",
            "padding_size", "pad_num"},
    "lr": {"lr", "alpha", "learning_rate", "eta"},
    "sigma": {"sigma", "std", "scale", "weight_scale"},
}
def roles(cls: type, kind: str) -> dict[str, str]:
    """argument name -> role, for ``cls.__init__``: by the name, then in the course's order."""
    try:
        params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    except (TypeError, ValueError):
        return {}
    params = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD,
                                              p.KEYWORD_ONLY)]
    wanted = set(ORDER.get(kind, ())) | {"FS", "PS"}
    found: dict[str, str] = {}
    for p in params:
        low = p.name.lower()
        if "init" in low:
            found[p.name] = "initializer"
        elif "opt" in low:
            found[p.name] = "optimizer"
        else:
            for role, names in ROLE_NAMES.items():
                if low in names and (role in wanted or role in ("stride", "pad", "lr",
                                                                "sigma")):
                    if role not in found.values() or role in ("lr", "sigma"):
                        found[p.name] = role
                        break
    _pool_p_is_size(kind, params, found)
    if kind == "conv1d":  # one filter-size argument: the length
        found = {k: ("FL" if v == "FS" else v) for k, v in found.items()}
    left = [r for r in ORDER.get(kind, ()) if r not in found.values()
            and not _covered(r, found.values())]
    for p in params:
        if p.name in found or not left or p.kind == p.KEYWORD_ONLY or not_a_size(p.name):
            continue
        if p.default is p.empty or isinstance(p.default, (int, np.integer)):
            found[p.name] = left.pop(0)
    for p in params:  # required and of no role we know (an activation...): given None
        if p.name not in found and p.default is p.empty:
            found[p.name] = "none"
    return found


#: words in an argument's name that say it is not a size (never given a size by position)
NOT_SIZES = ("activ", "act_", "func", "name", "dtype", "seed", "rng", "random", "verbose",
             "bias", "weight", "mode", "method", "type", "flag", "use_")


def not_a_size(name: str) -> bool:
    low = name.lower()
    return low == "act" or any(word in low for word in NOT_SIZES)


def _covered(role: str, taken) -> bool:
    """FH and FW are covered by one square size FS (PH, PW by PS)."""
    taken = set(taken)
    return (role in ("FH", "FW") and "FS" in taken) or (role in ("PH", "PW") and "PS" in taken)


def _pool_p_is_size(kind: str, params, found: dict) -> None:
    """``MaxPool2D(P)``: a lone P is the pool's size, not a padding."""
    if kind != "pooling":
        return
    sizes = {"PH", "PW", "PS"} & set(found.values())
    for p in params:
        if p.name.lower() == "p" and found.get(p.name) == "pad" and not sizes:
            found[p.name] = "PS"
