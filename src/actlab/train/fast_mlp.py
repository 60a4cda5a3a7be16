"""The grid's fast path for the MLP: forward and backward written by hand, no autograd.

The stacked weights are those of :class:`actlab.train.grid.GridTrainer`: linear
layers ``(M, in, out)``, biases ``(M, 1, out)``.  What makes it fast:

* **Layer 1 run by run on the batch's nonzero column range, with no copies.**  Each run's first layer is
  one GEMM ``X_s[:, lo:hi] @ W_r[lo:hi]`` written straight into its slab of ``Z`` (M, B, H), and its weight
  gradient one GEMM ``X_s[:, lo:hi]ᵀ dZ_r`` written straight into rows lo:hi of the gradient buffer; ``X_s``
  is the batch of the run's seed.  Input columns outside [lo, hi) are zero in the whole batch (MNIST's top
  and bottom border rows: ~1/9 of 784), so they add nothing to ``Z`` and their gradient rows are exactly 0.
  A range is a view of the stacked weights (no gather, no transpose, no scatter: a shared per-seed-group GEMM
  over the gathered nonzero columns spends as long moving weights as multiplying them).  On a GPU
  layer 1 is one batched GEMM over all runs instead (no host sync, no per-run loop).
* **bfloat16 matmuls** (``precision="bf16"``): GEMM operands in bfloat16, as
  ``torch.autocast`` does; weights, gradients, activations and losses stay float32.
* **Activations per contiguous slice** of runs sharing an activation, backward by
  the spec's analytic derivative: ``spec.vjp(z, g, **p)`` if the spec has one,
  else ``g * spec.derivative(z, **p)`` — the one rule, :meth:`ActivationSpec.input_grad`.
* **Compiled elementwise sections** (training steps whose hidden tensors have at least
  ``COMPILE_MIN_NUMEL`` elements, no dropout): bias + activation *and its slope f'(z)* (one
  pass; the backward pass then only multiplies), loss + output gradient, slope × gradient + bias
  gradient each run as one ``torch.compile`` (inductor) kernel,
  compiled once per process for the batch's shape; evaluation runs everything after layer 1's
  GEMMs as one compiled graph.  Other shapes, and everything after a compile failure (one
  warning), run the same functions eagerly.  ``ACTLAB_COMPILE=0`` turns it off.
* **No fresh big tensors per step**: layer 1's weight gradient goes into a buffer the trainer
  passes every step (``out``) — a new 10 MB tensor per step cost ~2000 page faults (~1–2 ms) a step.
* **Loss gradients by hand**: softmax − one-hot (cross-entropy), sigmoid − y
  (binary cross-entropy), 2(ŷ − y)/n (mean squared error), each divided by the
  batch as the per-model mean loss is.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from actlab.compile_policy import (
    GRID_MIN_NUMEL,
    add_compile_seconds,
    compile_enabled,
    job_compiles,
    own_code,
    warn_once,
)
from actlab.nn.alpha_dropout import alpha_prime, drop_terms

__all__ = ["StackedMLP", "loss_and_output_grad", "SKIP_DTYPES", "COMPILE", "COMPILE_MIN_NUMEL"]

# Compute dtypes whose layer 1 skips the columns outside the batch's nonzero range (all of them since the range
# is read in place; kept for the benchmarks that import it).
SKIP_DTYPES = (torch.float32, torch.float64, torch.bfloat16)
# Fuse the training step's elementwise sections (bias + activations, activation derivatives + bias
# gradient, loss) with torch.compile (inductor), for hidden tensors of at least COMPILE_MIN_NUMEL
# elements: compiled once per process and shape (seconds), eager everywhere else or on any failure.
COMPILE = compile_enabled()
COMPILE_MIN_NUMEL = GRID_MIN_NUMEL


def _graphs_compiled() -> int:
    from torch._dynamo.utils import counters

    return counters["stats"]["unique_graphs"]


def _shapes(args) -> tuple:
    return tuple(a.shape if isinstance(a, Tensor) else _shapes(a) if isinstance(a, (list, tuple)) else a
                 for a in args)


class _Fused:
    """``fn`` compiled per input shape (dynamic=False) for one shape only; eager otherwise or after a failure."""

    def __init__(self, fn: Callable):
        self.fn = own_code(fn)
        self.shape: tuple | None = None
        self.compiled: Callable | None = None
        self.failed = False
        self.compile_seconds = 0.0

    def __call__(self, *args):
        if not self.failed:
            shape = _shapes(args)
            start = time.perf_counter()
            first = self.compiled is None
            if first:
                self.shape = shape
                self.compiled = torch.compile(self.fn, dynamic=False)
            if shape == self.shape:
                graphs = _graphs_compiled()
                try:
                    out = self.compiled(*args)
                except Exception as error:  # noqa: BLE001 — any compiler problem: run eagerly
                    self.failed = True  # (a real bug in the step raises again from the eager run below)
                    warn_once("grid", error, "the MLP fast path runs eagerly")
                    return self.fn(*args)
                if first or _graphs_compiled() != graphs:  # this call compiled (first call, or a recompile)
                    seconds = time.perf_counter() - start
                    self.compile_seconds += seconds
                    add_compile_seconds(seconds)
                return out
        return self.fn(*args)


def _buffer(out: Tensor | None, shape, device, zero: bool = False) -> Tensor:
    """``out`` (zeroed if asked) when given, else a new float32 tensor of ``shape``."""
    if out is None:
        return (torch.zeros if zero else torch.empty)(shape, device=device)
    if out.shape != torch.Size(shape) or out.dtype != torch.float32:
        raise ValueError(f"out must be float32 of shape {tuple(shape)}, got {out.dtype} {tuple(out.shape)}")
    return out.zero_() if zero else out


def loss_and_output_grad(out: Tensor, target: Tensor, kind: str) -> tuple[Tensor, Tensor]:
    """Per-model mean loss (M,) and d(sum of losses)/d out, for outputs (M, B, k).

    Same losses as :func:`actlab.train.metrics.per_model_loss`; ``target`` is
    (M, B) for classes, (B, k) or (M, B, k) for regression.
    """
    batch = out.shape[1]
    if kind == "multiclass":
        log_p = out.log_softmax(-1)
        index = target.expand(out.shape[0], batch).unsqueeze(-1)
        losses = -log_p.gather(-1, index).squeeze(-1).mean(-1)
        grad = log_p.exp_()
        grad.scatter_add_(-1, index, torch.full(index.shape, -1.0, dtype=grad.dtype, device=grad.device))
        return losses, grad.div_(batch)
    if kind == "binary":
        logits = out[..., 0]
        target = target.expand(out.shape[0], batch).to(out.dtype)
        losses = F.binary_cross_entropy_with_logits(logits, target, reduction="none").mean(-1)
        grad = (torch.sigmoid(logits) - target).div_(batch).unsqueeze(-1)
        return losses, grad
    diff = out - target.expand(out.shape[0], *target.shape[-2:])
    losses = diff.square().flatten(-2).mean(-1)
    return losses, diff.mul_(2.0 / (batch * out.shape[2]))


class StackedMLP:
    """Forward/backward of M stacked MLPs with per-slice activations.

    ``groups``: objects with ``spec``, ``start``, ``stop``, ``values`` (activation
    parameter values in ``spec.param_names`` order) and ``alpha_dropout``.
    ``seed_runs``: for each seed, the run indices (LongTensor) that share its batch.
    """

    def __init__(self, groups: Sequence, seed_runs: Sequence[Tensor], compute_dtype: torch.dtype,
                 dropout: float = 0.0, generator: torch.Generator | None = None):
        self.groups = list(groups)
        self.M = self.groups[-1].stop
        self.dtype = compute_dtype
        self.dropout = dropout
        self.generator = generator
        self._params = [(g.spec, dict(zip(g.spec.param_names, g.values))) for g in self.groups]
        self._fused_forward = _Fused(self._train_section)
        self._fused_backward = _Fused(self._backward_section)
        self._fused_loss = _Fused(self._loss_section)
        self._fused_eval = _Fused(self._eval_section)
        self._seed_lists = [runs.tolist() for runs in seed_runs]  # run indices per seed group
        if sorted(r for runs in self._seed_lists for r in runs) != list(range(self.M)):
            # layer 1 writes each run's rows of the reused gradient buffer: a run in no group would keep garbage
            raise ValueError(f"seed_runs must list every run 0..{self.M - 1} exactly once, got {self._seed_lists}")
        self._w_c: Tensor | None = None  # layer 1's weights in the compute dtype (bf16), reused every step
        self._all_lists = [list(range(self.M))]

    @property
    def compile_seconds(self) -> float:
        """Seconds spent compiling the fused sections in this process (0 when eager)."""
        return sum(f.compile_seconds for f in (self._fused_forward, self._fused_backward, self._fused_loss,
                                                  self._fused_eval))

    # ------------------------------------------------------------ fusable sections (eager definitions)
    def _forward_section(self, z: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """Pre-activation ``z + b`` and the activation's output in the compute dtype."""
        z = z + b
        parts = [spec.forward(z[g.start:g.stop], **params) for g, (spec, params) in zip(self.groups, self._params)]
        h = parts[0] if len(parts) == 1 else torch.cat(parts)
        return z, self._cast(h)

    def _train_section(self, z: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
        """For a training step: the slope f'(z + b) (float32, kept for the backward pass) and the
        activation's output in the compute dtype, from one pass over z (the two share their exp, tanh...)."""
        z = z + b
        outs, slopes = [], []
        for g, (spec, params) in zip(self.groups, self._params):
            zg = z[g.start:g.stop]
            outs.append(spec.forward(zg, **params))
            slopes.append(spec.slope(zg, **params))
        h = outs[0] if len(outs) == 1 else torch.cat(outs)
        slope = slopes[0] if len(slopes) == 1 else torch.cat(slopes)
        return slope.float(), self._cast(h)

    def _backward_section(self, slope: Tensor, dh: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """dL/dz = dL/dh · f'(z), its bias gradient (sum over the batch) and dL/dz in the compute dtype."""
        d = dh.float() * slope
        return d, d.sum(1, keepdim=True), self._cast(d)

    def _eval_section(self, z: Tensor, b1: Tensor, rest: list[Tensor]) -> Tensor:
        """:meth:`forward` after layer 1's GEMM: its bias and activations, then the other layers."""
        h = self._forward_section(z, b1)[1]
        for i in range(0, len(rest) - 2, 2):
            h = self._forward_section(torch.bmm(h, self._cast(rest[i])).float(), rest[i + 1])[1]
        return torch.bmm(h, self._cast(rest[-2])).float() + rest[-1]

    def _loss_section(self, z: Tensor, b: Tensor, target: Tensor, kind: str) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        losses, grad = loss_and_output_grad(z + b, target, kind)
        return losses, grad, grad.sum(1, keepdim=True), self._cast(grad)

    def _use_fused(self, numel: int) -> bool:
        return COMPILE and job_compiles() and numel >= COMPILE_MIN_NUMEL

    # ------------------------------------------------------------ pieces
    def _cast(self, x: Tensor) -> Tensor:
        return x if x.dtype == self.dtype else x.to(self.dtype)

    def _activate(self, z: Tensor) -> Tensor:
        if len(self.groups) == 1:
            spec, params = self._params[0]
            return spec.forward(z, **params)
        h = torch.empty_like(z)
        for g, (spec, params) in zip(self.groups, self._params):
            h[g.start:g.stop] = spec.forward(z[g.start:g.stop], **params)
        return h

    def _activation_backward(self, z: Tensor, grad: Tensor) -> Tensor:
        out = grad if len(self.groups) > 1 else None
        for g, (spec, params) in zip(self.groups, self._params):
            zg, gg = z[g.start:g.stop], grad[g.start:g.stop]
            local = spec.input_grad(zg, gg, **params)
            if out is None:
                return local
            out[g.start:g.stop] = local  # in place: this slice of grad is read above, then replaced
        return out

    def _dropout_mask(self, shape: torch.Size, device: torch.device) -> tuple[Tensor, Tensor | None]:
        """Per-element multiplier (and additive term for AlphaDropout slices): h ← h·mult + add."""
        p = self.dropout
        keep = (torch.rand(shape, generator=self.generator, device=device) >= p).float()
        mult = torch.empty(shape, device=device)
        add = None
        for g in self.groups:
            k = keep[g.start:g.stop]
            if not g.alpha_dropout:
                mult[g.start:g.stop] = k * (1.0 / (1.0 - p))
                continue
            if add is None:
                add = torch.zeros(shape, device=device)
            mult[g.start:g.stop], add[g.start:g.stop] = drop_terms(k, p, alpha_prime(g.spec))
        return mult, add

    def _column_range(self, x: Tensor) -> tuple[int, int]:
        """(lo, hi): every input column outside [lo, hi) is zero in the whole batch ``x`` (B, in)."""
        nz = x.abs().amax(0).nonzero()  # 44 µs on a 128×784 batch, (x != 0).any(0) 269 µs; NaN counts as nonzero
        if nz.numel() == 0:
            return 0, 0
        return int(nz[0]), int(nz[-1]) + 1

    def _run_by_run(self, w: Tensor) -> bool:
        """Layer 1 run by run on column ranges: on a CPU (the range test would sync a GPU every step)."""
        return w.device.type == "cpu"

    def _cast_weights(self, w: Tensor) -> Tensor:
        """``w`` in the compute dtype, cast into a buffer the module keeps (a fresh 5–10 MB tensor per step costs
        page faults)."""
        if w.dtype == self.dtype:
            return w
        if self._w_c is None or self._w_c.shape != w.shape or self._w_c.device != w.device:
            self._w_c = torch.empty(w.shape, dtype=self.dtype, device=w.device)
        return self._w_c.copy_(w)

    # ------------------------------------------------------------ layer 1
    def _first_layer(self, w: Tensor, b: Tensor | None, xs: Sequence[Tensor], groups: Sequence[list[int]]
                     ) -> tuple[Tensor, tuple]:
        """Pre-activations (M, B, H) float32 of layer 1 (plus ``b`` if given): run ``r`` of ``groups[k]`` sees
        the batch ``xs[k]``.  Returns them and what :meth:`_first_layer_grad` needs."""
        M, H = self.M, w.shape[2]
        batch = xs[0].shape[0]
        w_c = self._cast_weights(w)
        if self._run_by_run(w):
            z = torch.empty(M, batch, H, dtype=self.dtype, device=w.device)
            ranges, inputs = [], []
            for x, runs in zip(xs, groups):
                x = self._cast(x)
                lo, hi = self._column_range(x)
                part = x[:, lo:hi]
                for r in runs:
                    torch.mm(part, w_c[r, lo:hi], out=z[r])
                ranges.append((lo, hi))
                inputs.append(x)
            z = z.float()
            saved: tuple = (inputs, ranges, groups)
        else:  # one batched GEMM over all runs (GPU: no host sync, no per-run loop)
            which = torch.empty(M, dtype=torch.long)
            for k, runs in enumerate(groups):
                which[runs] = k
            x_all = self._cast(torch.stack(list(xs)) if len(xs) > 1 else xs[0].unsqueeze(0))
            x_all = x_all[which.to(x_all.device)] if len(xs) > 1 else x_all.expand(M, *x_all.shape[1:])
            z = torch.bmm(x_all, w_c).float()
            saved = (x_all, None, groups)
        return (z if b is None else z.add_(b)), saved

    def _first_layer_grad(self, dz: Tensor, w_shape: torch.Size, saved: tuple, out: Tensor | None = None) -> Tensor:
        """Layer 1's weight gradient (M, in, H) float32 from dL/dz (M, B, H) (any dtype): into ``out`` when
        given; rows of columns outside a batch's range exactly 0."""
        grad = _buffer(out, w_shape, dz.device)
        inputs, ranges, groups = saved
        dz = self._cast(dz)
        if ranges is None:
            return grad.copy_(torch.bmm(inputs.transpose(1, 2), dz))
        same = dz.dtype == grad.dtype
        for x, (lo, hi), runs in zip(inputs, ranges, groups):
            part = x[:, lo:hi].t()
            for r in runs:
                if same:
                    torch.mm(part, dz[r], out=grad[r, lo:hi])
                else:  # bf16 product, float32 gradient
                    grad[r, lo:hi].copy_(torch.mm(part, dz[r]))
                if lo > 0:
                    grad[r, :lo].zero_()
                if hi < w_shape[1]:
                    grad[r, hi:].zero_()
        return grad

    # ------------------------------------------------------------ passes
    def forward(self, params: Sequence[Tensor], x: Tensor) -> Tensor:
        """Outputs (M, B, out) for one batch ``x`` (B, in) shared by all runs (evaluation).

        Large batches run everything after layer 1's GEMM as one compiled graph (:meth:`_eval_section`).
        """
        if self._use_fused(self.M * x.shape[0] * params[0].shape[2]):
            z, _ = self._first_layer(params[0], None, [x], self._all_lists)
            return self._fused_eval(z, params[1], list(params[2:]))
        z, _ = self._first_layer(params[0], params[1], [x], self._all_lists)
        h = self._activate(z)
        rest = params[2:]
        for i in range(0, len(rest) - 2, 2):
            h = self._activate(self._linear(h, rest[i], rest[i + 1]))
        return self._linear(h, rest[-2], rest[-1])

    def _linear(self, h: Tensor, w: Tensor, b: Tensor) -> Tensor:
        if self.dtype == torch.float32:
            return torch.baddbmm(b, h, w)
        return torch.bmm(self._cast(h), self._cast(w)).add(b)  # bf16 product, float32 result

    def loss_and_grads(self, params: Sequence[Tensor], xs: Sequence[Tensor], target: Tensor, kind: str,
                       train: bool = True, out: Tensor | None = None) -> tuple[Tensor, list[Tensor]]:
        """Per-model losses (M,) and the gradient of their sum for every parameter (float32).

        ``xs``: one batch (B, in) per seed group, in the order of ``seed_runs``.  ``out``: a
        float32 tensor shaped like ``params[0]`` to write layer 1's weight gradient into (the
        trainer passes the same one every step: a fresh 10 MB tensor per step costs page faults).
        """
        w1, b1 = params[0], params[1]
        rest = [(params[i], params[i + 1]) for i in range(2, len(params), 2)]
        drop = train and self.dropout > 0
        if not drop and self._use_fused(self.M * xs[0].shape[0] * w1.shape[2]):
            return self._fused_loss_and_grads(params, xs, target, kind, out)
        z, saved_first = self._first_layer(w1, b1, xs, self._seed_lists)
        pre, inputs, masks = [z], [], []
        h = self._activate(z)
        for k, (w, b) in enumerate(rest):
            if drop:
                mult, add = self._dropout_mask(h.shape, h.device)
                h = h * mult if add is None else torch.addcmul(add, h, mult)
                masks.append(mult)
            h_c = self._cast(h)
            inputs.append(h_c)
            if self.dtype == torch.float32:
                z = torch.baddbmm(b, h_c, w)
            else:
                z = torch.bmm(h_c, self._cast(w)).add(b)
            if k < len(rest) - 1:
                pre.append(z)
                h = self._activate(z)
        losses, grad_out = loss_and_output_grad(z, target, kind)

        grads: list[Tensor] = [None] * len(params)  # type: ignore[list-item]
        d = grad_out
        for k in range(len(rest) - 1, -1, -1):
            w, _ = rest[k]
            d_c = self._cast(d)
            grads[2 + 2 * k] = torch.bmm(inputs[k].transpose(1, 2), d_c).float()
            grads[3 + 2 * k] = d.sum(1, keepdim=True)
            dh = torch.bmm(d_c, self._cast(w).transpose(1, 2)).float()
            if drop:
                dh.mul_(masks[k])
            d = self._activation_backward(pre[k], dh)
        grads[0] = self._first_layer_grad(d, w1.shape, saved_first, out)
        grads[1] = d.sum(1, keepdim=True)
        return losses, grads

    def _fused_loss_and_grads(self, params: Sequence[Tensor], xs: Sequence[Tensor], target: Tensor,
                              kind: str, out: Tensor | None = None) -> tuple[Tensor, list[Tensor]]:
        """:meth:`loss_and_grads` without dropout, its elementwise sections compiled (:class:`_Fused`)."""
        w1, b1 = params[0], params[1]
        rest = [(params[i], params[i + 1]) for i in range(2, len(params), 2)]
        z, saved_first = self._first_layer(w1, None, xs, self._seed_lists)
        slopes, inputs, weights = [], [], []  # per hidden layer: f'(z), the activation, the weights (compute dtype)
        b = b1
        for w, b_next in rest:
            slope, h_c = self._fused_forward(z, b)
            slopes.append(slope)
            inputs.append(h_c)
            weights.append(self._cast(w))  # cast once, used again in the backward pass
            z = torch.bmm(h_c, weights[-1])
            b = b_next
        losses, d, d_sum, d_c = self._fused_loss(z, b, target, kind)

        grads: list[Tensor] = [None] * len(params)  # type: ignore[list-item]
        for k in range(len(rest) - 1, -1, -1):
            grads[2 + 2 * k] = torch.bmm(inputs[k].transpose(1, 2), d_c).float()
            grads[3 + 2 * k] = d_sum
            dh = torch.bmm(d_c, weights[k].transpose(1, 2))
            d, d_sum, d_c = self._fused_backward(slopes[k], dh)
        grads[0] = self._first_layer_grad(d_c, w1.shape, saved_first, out)
        grads[1] = d_sum
        return losses, grads
