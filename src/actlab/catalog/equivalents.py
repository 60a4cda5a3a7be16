"""Where other frameworks have the same activation, and every default or convention that differs.

Pure data (no torch import): ``actlab show NAME`` prints it.  ``checked`` says how a row is known:
``"measured"`` — the torch op is the record's ``native`` and the conformance check ``native_vs_reference``
compares values and gradients (kinks included) on every test run; ``"documented"`` — read from the
framework's source/documentation (Keras 3, timm are not installed in actlab's test environment).
"""
from __future__ import annotations

__all__ = ["EQUIVALENTS", "equivalents_for"]

_SAME = ()
_MEASURED = "measured"
_DOC = "documented"

# name -> ((framework, class or function, differences, checked), ...)
EQUIVALENTS: dict[str, tuple[tuple[str, str, tuple[str, ...], str], ...]] = {
    "identity": (("torch", "torch.nn.Identity", _SAME, _MEASURED), ("keras", "keras.activations.linear", _SAME, _DOC)),
    "relu": (("torch", "torch.nn.ReLU", _SAME, _MEASURED), ("keras", "keras.layers.ReLU / keras.activations.relu", _SAME, _DOC)),
    "relu6": (("torch", "torch.nn.ReLU6", _SAME, _MEASURED), ("keras", "keras.activations.relu6", _SAME, _DOC)),
    "leaky_relu": (
        ("torch", "torch.nn.LeakyReLU", ("parameter is called negative_slope (actlab: alpha)",), _MEASURED),
        ("keras", "keras.layers.LeakyReLU", ("default negative_slope 0.3 (actlab and torch: 0.01)",), _DOC),
        ("keras", "keras.activations.leaky_relu / keras.ops.leaky_relu", ("default negative_slope 0.2 (the layer: 0.3)",), _DOC),
    ),
    "prelu": (
        ("torch", "torch.nn.PReLU", ("learnable slope named weight (actlab's module uses the same name)",), _MEASURED),
        ("keras", "keras.layers.PReLU", (
            "slope starts at 0 (alpha_initializer='Zeros'; actlab and torch: 0.25)",
            "one slope per input element unless shared_axes is set (actlab/torch: one shared, or one per channel)",
        ), _DOC),
    ),
    "rrelu": (("torch", "torch.nn.RReLU", ("training mode draws slopes with torch's generator (same law, different draws)",), _DOC),),
    "elu": (("torch", "torch.nn.ELU", _SAME, _MEASURED), ("keras", "keras.activations.elu / keras.layers.ELU", _SAME, _DOC)),
    "celu": (("torch", "torch.nn.CELU", _SAME, _MEASURED), ("keras", "keras.activations.celu", _SAME, _DOC)),
    "selu": (("torch", "torch.nn.SELU", _SAME, _MEASURED), ("keras", "keras.activations.selu", _SAME, _DOC)),
    "softplus": (
        ("torch", "torch.nn.Softplus", _SAME, _MEASURED),
        ("keras", "keras.activations.softplus", ("no beta and no threshold: log(1 + exp(x)) everywhere",), _DOC),
    ),
    "sigmoid": (("torch", "torch.nn.Sigmoid", _SAME, _MEASURED), ("keras", "keras.activations.sigmoid", _SAME, _DOC)),
    "hard_sigmoid": (
        ("torch", "torch.nn.Hardsigmoid", ("float64 backward uses a float32 1/6 (relative 1e-8)",), _MEASURED),
        ("keras", "keras.activations.hard_sigmoid", ("Keras 2 used clip(0.2x + 0.5, 0, 1); Keras 3 relu6(x + 3)/6 as here",), _DOC),
        ("timm", "timm.layers.HardSigmoidMe", ("memory-efficient backward has f'(±3) = 1/6 (actlab, torch: 0)",), _DOC),
    ),
    "log_sigmoid": (("torch", "torch.nn.LogSigmoid", _SAME, _MEASURED), ("keras", "keras.activations.log_sigmoid", _SAME, _DOC)),
    "tanh": (("torch", "torch.nn.Tanh", _SAME, _MEASURED), ("keras", "keras.activations.tanh", _SAME, _DOC)),
    "hard_tanh": (("torch", "torch.nn.Hardtanh", _SAME, _MEASURED), ("keras", "keras.activations.hard_tanh", ("no min_val/max_val: fixed to [-1, 1]",), _DOC)),
    "softsign": (("torch", "torch.nn.Softsign", _SAME, _MEASURED), ("keras", "keras.activations.softsign", _SAME, _DOC)),
    "gelu": (
        ("torch", "torch.nn.GELU", _SAME, _MEASURED),
        ("keras", "keras.activations.gelu", ("approximate=False by default, as here",), _DOC),
        ("keras", "keras.ops.gelu", ("defaults to the tanh approximation (approximate=True): up to 4.7e-4 from the exact erf form",), _DOC),
        ("timm", "timm.layers.GELU", _SAME, _DOC),
    ),
    "gelu_tanh": (
        ("torch", "torch.nn.GELU(approximate='tanh')", _SAME, _MEASURED),
        ("keras", "keras.activations.gelu(approximate=True)", _SAME, _DOC),
        ("timm", "timm.layers.GELUTanh", _SAME, _DOC),
    ),
    "quick_gelu": (("timm", "timm.layers.QuickGELU", _SAME, _DOC),),
    "silu": (
        ("torch", "torch.nn.SiLU", ("no beta: only beta = 1",), _MEASURED),
        ("keras", "keras.activations.silu / swish", ("no beta: only beta = 1",), _DOC),
        ("timm", "timm.layers.Swish / SwishMe", ("no beta: only beta = 1",), _DOC),
    ),
    "hard_swish": (
        ("torch", "torch.nn.Hardswish", _SAME, _MEASURED),
        ("keras", "keras.activations.hard_silu / hard_swish", _SAME, _DOC),
        ("timm", "timm.layers.HardSwishMe", ("memory-efficient backward has f'(-3) = -0.5 and f'(3) = 1.5 (actlab, torch: 0 and 1)",), _DOC),
    ),
    "mish": (("torch", "torch.nn.Mish", _SAME, _MEASURED), ("keras", "keras.activations.mish", _SAME, _DOC), ("timm", "timm.layers.Mish / MishMe", _SAME, _DOC)),
    "softshrink": (("torch", "torch.nn.Softshrink", _SAME, _MEASURED), ("keras", "keras.activations.soft_shrink", ("parameter is called threshold (actlab: lambd)",), _DOC)),
    "hardshrink": (("torch", "torch.nn.Hardshrink", _SAME, _MEASURED), ("keras", "keras.activations.hard_shrink", ("parameter is called threshold (actlab: lambd)",), _DOC)),
    "tanhshrink": (("torch", "torch.nn.Tanhshrink", _SAME, _MEASURED), ("keras", "keras.activations.tanh_shrink", _SAME, _DOC)),
    "exponential": (("keras", "keras.activations.exponential", _SAME, _DOC),),
    "softmax": (
        ("torch", "torch.nn.Softmax", ("dim defaults to None (an implicit, deprecated choice); actlab: -1",), _MEASURED),
        ("keras", "keras.activations.softmax", _SAME, _DOC),
    ),
    "log_softmax": (
        ("torch", "torch.nn.LogSoftmax", ("dim defaults to None (an implicit, deprecated choice); actlab: -1",), _MEASURED),
        ("keras", "keras.activations.log_softmax", _SAME, _DOC),
    ),
    "binary_step": (("torch", "torch.heaviside(x, values)", ("the value at 0 is an argument (actlab: 1); no gradient",), _DOC),),
    **{
        "relu2": (
            ("transformers", 'transformers.activations.ACT2FN["relu2"] (ReLUSquaredActivation)', _SAME, _DOC),
            ("torch", "torch.square(torch.relu(x)) (no module)", _SAME, _MEASURED),
        ),
        "star_relu": (("timm", "timm.models.metaformer.StarReLU", (
            "learnable scale and bias start at 1.0 and 0.0 (actlab: the paper's 0.8944 and -0.4472)",
        ), _DOC),),
        "xielu": (("transformers", 'transformers.activations.ACT2FN["xielu"] (XIELUActivation)', (
            "beta and eps are buffers, as here fixed; alpha_p, alpha_n hold the same raw (pre-softplus) values",
            "an optional CUDA kernel (with_vector_loads) computes in bfloat16",
        ), _DOC),),
        "squareplus": (
            ("keras", "keras.activations.squareplus", ("computes (x + sqrt(x^2 + b))/2 directly: "
                                                       "cancellation for x << 0 (actlab: b/(2(sqrt(x^2 + b) - x)))",), _DOC),
            ("jax", "jax.nn.squareplus", _SAME, _DOC),
        ),
        "sparse_plus": (("keras", "keras.activations.sparse_plus", _SAME, _DOC), ("jax", "jax.nn.sparse_plus", _SAME, _DOC)),
        "sparse_sigmoid": (("keras", "keras.activations.sparse_sigmoid", _SAME, _DOC),
                           ("jax", "jax.nn.sparse_sigmoid", _SAME, _DOC)),
        "sparsemax": (("keras", "keras.activations.sparsemax", ("the axis is called axis (actlab: dim)",), _DOC),),
        "threshold": (
            ("torch", "torch.nn.Threshold", ("threshold and value have no defaults (actlab: 0 and 0, i.e. ReLU)",), _MEASURED),
            ("keras", "keras.activations.threshold", ("the replacement is called default_value; no defaults",), _DOC),
        ),
        "softmin": (("torch", "torch.nn.Softmin", ("dim defaults to None (an implicit, deprecated choice); actlab: -1",), _MEASURED),),
    },
}

# the gated linear units (actlab.catalog.glu): value = first half, gate = last half of the last dimension
_HF_ACT2FN = "transformers.activations.ACT2FN[...] inside an MLP"
EQUIVALENTS.update({
    "glu": (
        ("torch", "torch.nn.GLU / torch.nn.functional.glu", ("dim defaults to -1, as here",), _MEASURED),
        ("keras", "keras.activations.glu", ("axis defaults to -1, as here",), _DOC),
    ),
    "reglu": (("torch", "x1 * torch.nn.functional.relu(x2), (x1, x2) = x.chunk(2, -1)", ("no single torch op",), _MEASURED),),
    "geglu": (
        ("torch", "x1 * torch.nn.functional.gelu(x2), (x1, x2) = x.chunk(2, -1)", ("no single torch op",), _MEASURED),
        ("transformers", _HF_ACT2FN, ("the gate and value are two Linear layers (gate_proj, up_proj); "
                                         "ACT2FN['gelu'] on the gate (Gemma: gelu_pytorch_tanh, the tanh form)",), _DOC),
    ),
    "swiglu": (
        ("torch", "x1 * torch.nn.functional.silu(x2), (x1, x2) = x.chunk(2, -1)", ("no single torch op",), _MEASURED),
        ("transformers", "transformers LlamaMLP: down_proj(ACT2FN['silu'](gate_proj(x)) * up_proj(x))",
         ("the two halves are two Linear layers without bias; the hidden width is intermediate_size",), _DOC),
    ),
    "bilinear": (("torch", "x1 * x2, (x1, x2) = x.chunk(2, -1)", ("torch.nn.Bilinear is a different layer (x1ᵀ A x2)",), _MEASURED),),
})


def equivalents_for(name: str) -> list[dict]:
    """The equivalents of the activation ``name`` as JSON-ready rows (empty when none is known)."""
    return [
        {"framework": framework, "name": target, "differences": list(differences) or ["none known"], "checked": checked}
        for framework, target, differences, checked in EQUIVALENTS.get(name, ())
    ]
