"""A teacher's adapter: how ``tatamu check`` builds, runs and reads the layers of a course
whose form it does not know (tests/learners/mycourse_layers.py). Passed as
``tatamu check mycourse_layers.py --adapter mycourse_adapter.py``; docs/guide/checker.md shows
it line by line."""

NAME = "mycourse"
CLASSES = {"MyConv": "convolution", "MyConvForgetsBias": "convolution"}  # found without a name


def build(cls, kind, W=None, b=None, stride=1, pad=0, **rest):
    """The layer, holding the checks' W (FN, C, FH, FW) and b (FN,)."""
    fn, c, fh, fw = W.shape
    layer = cls(c, fn, (fh, fw), stride, pad)
    layer.weight, layer.bias = W, b
    return layer


def forward(layer, x):
    return layer(x)


def backward(layer, dout):
    return layer.grad(dout)  # dx


def gradients(layer):
    return {"W": getattr(layer, "weight_grad", None), "b": getattr(layer, "bias_grad", None)}


def parameters(layer):
    """The arrays forward reads (the gradient check nudges them in place)."""
    return {"W": layer.weight, "b": layer.bias}
