"""A small decoder-only transformer (nanoGPT's layout) whose feed-forward activation is the one under test.

Token and position embeddings → ``depth`` pre-norm blocks [x + attn(LN(x)); x + FFN(LN(x))] → LN → a head tied
to the token embedding (logits over the vocabulary for every position).  Attention is causal multi-head
self-attention through ``torch.nn.functional.scaled_dot_product_attention`` (``is_causal=True``).  The FFN is
:class:`actlab.nn.FeedForward`: Linear(d, k·h) → activation → Linear(h, d), k = 2 for a gated unit
(SwiGLU, GEGLU, ...), so the activation is the only thing that differs between the arms of a comparison.

Initialisation as nanoGPT (GPT-2): every Linear and embedding N(0, 0.02²), biases 0, the residual output
projections (attention's and the FFN's last Linear) N(0, (0.02/√(2·depth))²), LayerNorm weight 1 and bias 0 —
drawn from one ``torch.Generator`` seeded by the run's seed, parameter by parameter in registration order.

The defaults (``ModelConfig(kind="gpt")``: 4 layers, 4 heads, 128 dims, context 64 from the dataset, FFN hidden
4·128 = 512) are nanoGPT's CPU recipe for shakespeare_char (n_layer 4, n_head 4, n_embd 128, block_size 64);
on a GPU raise ``--depth`` (layers), ``--width`` (the model dimension), ``--heads``, ``--context`` and
``--batch-size`` (nanoGPT's GPU recipe: 6 layers, 6 heads, 384 dims, context 256, batch 64).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from actlab.nn.gated import FeedForward
from actlab.spec import ActivationSpec

__all__ = ["GPT", "Block", "CausalSelfAttention", "INIT_STD", "FFN_MULTIPLE", "build_gpt", "build_from_config", "gpt_flops_per_token"]

INIT_STD = 0.02  # GPT-2 / nanoGPT
FFN_MULTIPLE = 4  # the FFN's hidden width is 4·d unless set (Vaswani et al. 2017; GPT-2)


class CausalSelfAttention(nn.Module):
    def __init__(self, width: int, heads: int, bias: bool, dropout: float):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width, bias=bias)
        self.proj = nn.Linear(width, width, bias=bias)
        self.dropout = dropout
        self.residual_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        batch, length, width = x.shape
        q, k, v = self.qkv(x).split(width, dim=2)
        shape = (batch, length, self.heads, width // self.heads)
        q, k, v = (t.view(shape).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        return self.residual_dropout(self.proj(y.transpose(1, 2).reshape(batch, length, width)))


class Block(nn.Module):
    def __init__(self, width: int, heads: int, hidden: int, spec: ActivationSpec, bias: bool, dropout: float):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, bias=bias)
        self.attn = CausalSelfAttention(width, heads, bias, dropout)
        self.ln_2 = nn.LayerNorm(width, bias=bias)
        self.mlp = FeedForward(width, hidden, spec, bias, dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """(batch, context) token ids → (batch, context, vocabulary) logits."""

    def __init__(self, vocabulary: int, context: int, depth: int, width: int, heads: int, hidden: int,
                 spec: ActivationSpec, bias: bool = True, dropout: float = 0.0):
        super().__init__()
        self.context = context
        self.token_embedding = nn.Embedding(vocabulary, width)
        self.position_embedding = nn.Embedding(context, width)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList(Block(width, heads, hidden, spec, bias, dropout) for _ in range(depth))
        self.ln_f = nn.LayerNorm(width, bias=bias)
        self.head = nn.Linear(width, vocabulary, bias=False)
        self.head.weight = self.token_embedding.weight  # tied, as GPT-2

    def forward(self, idx: Tensor) -> Tensor:
        positions = torch.arange(idx.shape[1], device=idx.device)
        x = self.dropout(self.token_embedding(idx) + self.position_embedding(positions))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def _initialise(model: GPT, depth: int, seed: int) -> GPT:
    generator = torch.Generator().manual_seed(int(seed))
    residual = INIT_STD / math.sqrt(2 * max(depth, 1))
    with torch.no_grad():
        for name, parameter in model.named_parameters():  # the tied head shares the embedding: drawn once
            if ".ln_" in name or name.startswith("ln_"):
                parameter.fill_(1.0 if name.endswith("weight") else 0.0)
            elif name.endswith("bias"):
                parameter.zero_()
            else:
                std = residual if name.endswith(("attn.proj.weight", "mlp.down.weight")) else INIT_STD
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * std)
    return model


def build_gpt(spec: ActivationSpec, vocabulary: int, context: int, depth: int, width: int, heads: int,
              hidden: int, seed: int, bias: bool = True, dropout: float = 0.0, initialise: bool = True) -> GPT:
    """The model, initialised from ``seed`` (``initialise=False``: torch's default init, for counting)."""
    model = GPT(vocabulary, context, depth, width, heads, hidden, spec, bias, dropout)
    return _initialise(model, depth, seed) if initialise else model


def build_from_config(model, spec: ActivationSpec, input_shape, n_outputs: int, seed: int,
                      initialise: bool = True) -> GPT:
    """:func:`build_gpt` from a :class:`~actlab.models.ModelConfig` (``match_to`` already applied): the vocabulary
    is ``n_outputs``, the context the windows' length ``input_shape[0]``."""
    from actlab.errors import ActlabError

    if len(input_shape) != 1:
        raise ActlabError(f"the gpt model needs token windows of shape (context,), got {tuple(input_shape)}")
    return build_gpt(spec, n_outputs, int(input_shape[0]), model.depth, model.width, model.heads,
                     model.ffn_width or FFN_MULTIPLE * model.width, seed, model.bias, model.dropout, initialise)


def gpt_flops_per_token(n_parameters: int, context: int, depth: int, width: int) -> int:
    """Forward FLOPs per token: 2·N + 4·depth·context·width, N the parameters without the position embedding
    (nanoGPT's ``estimate_mfu``, after PaLM's appendix B; training costs 3× this)."""
    return int(2 * (n_parameters - context * width) + 4 * depth * context * width)
