"""The grid's fast path for the MLP: forward and backward written by hand, no autograd.

The stacked weights are those of :class:`actlab.train.grid.GridTrainer`: linear
layers ``(M, in, out)``, biases ``(M, 1, out)``.  What makes it fast:

* **Layer 1 per seed group.**  Runs with the same seed see the same mini-batch
  ``X`` (B, in), so their first layer is one GEMM ``X @ [W_1 … W_m]`` of shape
  (B, in) @ (in, m·H), and its weight gradient one GEMM ``Xᵀ dZ``.
* **Zero columns skipped, exactly.**  Input columns that are zero in the whole
  batch (MNIST's border pixels: ~1/3 of 784) add nothing to ``Z`` and give a
  zero weight gradient, so both GEMMs run on the nonzero columns only and the
  gradient rows of the zero columns are exactly 0.
* **bfloat16 matmuls** (``precision="bf16"``): GEMM operands in bfloat16, as
  ``torch.autocast`` does; weights, gradients, activations and losses stay float32.
* **Activations per contiguous slice** of runs sharing an activation, backward by
  the spec's analytic derivative: ``spec.vjp(z, g, **p)`` if the spec has one,
  else ``g * spec.derivative(z, **p)`` — the one rule, :meth:`ActivationSpec.input_grad`.
* **Compiled elementwise sections** (training steps whose hidden tensors have at least
  ``COMPILE_MIN_NUMEL`` elements, no dropout): bias + activation *and its slope f'(z)* (one
  pass; the backward pass then only multiplies), loss + output gradient, slope × gradient + bias
  gradient (and layer 1's seed-group layout) each run as one ``torch.compile`` (inductor) kernel,
  compiled once per process for the batch's shape; evaluation runs everything after layer 1's
  GEMM as one compiled graph.  Other shapes, and everything after a compile failure (one
  warning), run the same functions eagerly.  ``ACTLAB_COMPILE=0`` turns it off.
* **No fresh big tensors per step**: layer 1's weight gradient goes into a buffer the trainer
  passes every step (``out``), its cast weights into one the module keeps — a new 10 MB tensor
  per step cost ~2000 page faults (~1–2 ms) a step.
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

__all__ = ["StackedMLP", "loss_and_output_grad", "SKIP_FRACTION", "SKIP_DTYPES", "COMPILE", "COMPILE_MIN_NUMEL"]

SKIP_FRACTION = 0.9  # gather the nonzero columns only when they are fewer than this share of the input
# Skip zero columns in these compute dtypes.  Measured on Zen 4 (2 threads): fp32 layer 1 ~30 % faster;
# with bf16 the gathers and scatters cost what the smaller GEMMs save, so bf16 multiplies all columns.
SKIP_DTYPES = (torch.float32, torch.float64)
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


def _progression(index: Tensor) -> slice | None:
    """``index`` as a slice (start, stop, step) when it is an arithmetic progression, else None."""
    values = index.tolist()
    if len(values) == 1:
        return slice(values[0], values[0] + 1, 1)
    step = values[1] - values[0]
    if step <= 0 or any(b - a != step for a, b in zip(values, values[1:])):
        return None
    return slice(values[0], values[-1] + 1, step)


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
        self.seed_runs = [(runs, _progression(runs)) for runs in seed_runs]
        self.all_runs = [(torch.arange(self.M, device=seed_runs[0].device), slice(0, self.M, 1))]
        self.dtype = compute_dtype
        self.dropout = dropout
        self.generator = generator
        self._params = [(g.spec, dict(zip(g.spec.param_names, g.values))) for g in self.groups]
        self._fused_forward = _Fused(self._train_section)
        self._fused_backward = _Fused(self._backward_section)
        self._fused_loss = _Fused(self._loss_section)
        self._fused_first = _Fused(self._first_section)
        self._fused_first_backward = _Fused(self._first_backward_section)
        self._fused_eval = _Fused(self._eval_section)
        self._w_c: Tensor | None = None  # layer 1's weights in the compute dtype, laid out per seed group
        S = len(self.seed_runs)
        # runs ordered (activation, seed): seed s holds runs s, s + S, ... (the grid's usual order)
        self._interleaved = self.M % S == 0 and all(
            where == slice(s, self.M, S) or (where is not None and (where.start, where.step) == (s, S)
                                             and len(runs) == self.M // S)
            for s, (runs, where) in enumerate(self.seed_runs))

    @property
    def compile_seconds(self) -> float:
        """Seconds spent compiling the fused sections in this process (0 when eager)."""
        return sum(f.compile_seconds for f in (self._fused_forward, self._fused_backward, self._fused_loss,
                                                  self._fused_first, self._fused_first_backward, self._fused_eval))

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

    def _first_section(self, outs: list[Tensor], b: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`_train_section` of layer 1 from the per-seed GEMM outputs (B, M/S·H), interleaved runs."""
        batch, H = outs[0].shape[0], b.shape[2]
        z = torch.stack([o.view(batch, -1, H).transpose(0, 1) for o in outs], 1).reshape(self.M, batch, H)
        return self._train_section(z.float(), b)

    def _first_backward_section(self, slope: Tensor, dh: Tensor) -> tuple[Tensor, Tensor]:
        """Layer 1's bias gradient and dL/dz per seed as (S, B, M/S·H) in the compute dtype (interleaved runs)."""
        d, d_sum, _ = self._backward_section(slope, dh)
        S, (M, batch, H) = len(self.seed_runs), d.shape
        per_seed = d.view(M // S, S, batch, H).permute(1, 2, 0, 3).reshape(S, batch, -1)
        return d_sum, self._cast(per_seed)

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

    def _nonzero_columns(self, x: Tensor) -> Tensor | None:
        """The batch's nonzero input columns, or None to multiply all of them."""
        if self.dtype not in SKIP_DTYPES or x.device.type != "cpu":  # on a GPU the test would sync every step
            return None
        nz = (x != 0).any(0).nonzero().flatten()
        return None if nz.numel() >= SKIP_FRACTION * x.shape[1] else nz

    # ------------------------------------------------------------ layer 1
    def _first_layer(self, w: Tensor, b: Tensor | None, xs: Sequence[Tensor], groups) -> tuple[Tensor, list]:
        M, H = self.M, w.shape[2]
        batch = xs[0].shape[0]
        z = torch.empty(M, batch, H, device=w.device)
        saved = []
        for x, (runs, where) in zip(xs, groups):
            nz = self._nonzero_columns(x)
            runs_w = w[where] if where is not None else w.index_select(0, runs)  # (m, in, H), maybe a view
            if nz is None:
                x_used = self._cast(x)
                w_used = torch.empty(w.shape[1], len(runs), H, dtype=self.dtype, device=w.device)
                w_used.copy_(runs_w.transpose(0, 1))  # one pass: transpose and cast
                w_used = w_used.view(w.shape[1], -1)
            else:
                x_used = self._cast(x.index_select(1, nz))
                w_used = self._cast(runs_w.transpose(0, 1)[nz].reshape(len(nz), -1))
            out = (x_used @ w_used).view(batch, len(runs), H).transpose(0, 1)
            if where is not None:
                z[where] = out
            else:
                z.index_copy_(0, runs, out.float())
            saved.append((x_used, nz))
        return (z if b is None else z.add_(b)), saved

    def _first_layer_grad(self, dz: Tensor, w_shape: torch.Size, saved: list, groups,
                          out: Tensor | None = None) -> Tensor:
        covered = all(where is not None and nz is None for (_, nz), (_, where) in zip(saved, groups))
        # every run's rows are written below when each seed group is a slice and no column is skipped
        grad = _buffer(out, w_shape, dz.device, zero=not covered)
        H = w_shape[2]
        for (x_used, nz), (runs, where) in zip(saved, groups):
            part = dz[where] if where is not None else dz.index_select(0, runs)  # (m, B, H)
            d = torch.empty(part.shape[1], len(runs), H, dtype=self.dtype, device=dz.device)
            d.copy_(part.transpose(0, 1))
            dw = (x_used.t() @ d.view(part.shape[1], -1)).view(-1, len(runs), H)  # (cols, m, H)
            if where is not None:
                target = grad[where].transpose(0, 1)  # (in, m, H) view
                if nz is None:
                    target.copy_(dw)
                else:
                    target[nz] = dw.float()
            else:
                full = dw.float()
                if nz is not None:
                    full = torch.zeros(w_shape[1], len(runs), H, device=dz.device).index_copy_(0, nz, full)
                grad.index_copy_(0, runs, full.transpose(0, 1))
        return grad

    # ------------------------------------------------------------ passes
    def forward(self, params: Sequence[Tensor], x: Tensor) -> Tensor:
        """Outputs (M, B, out) for one batch ``x`` (B, in) shared by all runs (evaluation).

        Large batches run everything after layer 1's GEMM as one compiled graph (:meth:`_eval_section`).
        """
        if self._use_fused(self.M * x.shape[0] * params[0].shape[2]):
            z, _ = self._first_layer(params[0], None, [x], self.all_runs)
            return self._fused_eval(z, params[1], list(params[2:]))
        z, _ = self._first_layer(params[0], params[1], [x], self.all_runs)
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
        z, saved_first = self._first_layer(w1, b1, xs, self.seed_runs)
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
        grads[0] = self._first_layer_grad(d, w1.shape, saved_first, self.seed_runs, out)
        grads[1] = d.sum(1, keepdim=True)
        return losses, grads

    def _first_gemms(self, w1: Tensor, xs: Sequence[Tensor]) -> tuple[list[Tensor], list]:
        """Layer 1 per seed group (interleaved runs): ``X_s @ [W_s,1 … W_s,m]`` (B, m·H) on the batch's nonzero columns.

        The weights are transposed and cast in one pass (gathering the nonzero rows where columns are skipped).
        """
        M, (inputs_, H), S = self.M, w1.shape[1:], len(xs)
        per_seed = w1.view(M // S, S, inputs_, H)
        full = (S, inputs_, M // S, H)
        columns = [self._nonzero_columns(x) for x in xs]
        dense = all(nz is None for nz in columns)
        if dense:  # one pass for all seeds: transpose and cast
            if self._w_c is None or self._w_c.shape != full or self._w_c.device != w1.device:
                self._w_c = torch.empty(full, dtype=self.dtype, device=w1.device)  # kept: no page faults
            self._w_c.copy_(per_seed.detach().permute(1, 2, 0, 3))
        outs, saved = [], []
        for s, (x, nz) in enumerate(zip(xs, columns)):
            if dense:
                w_c = self._w_c[s]
            elif nz is None:  # this seed's batch has no zero column, another one's has
                w_c = torch.empty(full[1:], dtype=self.dtype, device=w1.device)
                w_c.copy_(per_seed[:, s].transpose(0, 1))
            else:
                x = x.index_select(1, nz)
                w_c = self._cast(per_seed[:, s].transpose(0, 1).index_select(0, nz))  # (cols, m, H)
            x_c = self._cast(x)
            outs.append(x_c @ w_c.view(len(w_c), -1))
            saved.append((x_c, nz))
        return outs, saved

    def _first_grads(self, shape: torch.Size, saved: list, per_seed: Tensor, out: Tensor | None) -> Tensor:
        """Layer 1's weight gradient (M, in, H) float32 from dL/dz per seed (S, B, m·H); skipped rows exactly 0."""
        M, inputs_, H = shape
        S = len(saved)
        grad = _buffer(out, shape, per_seed.device, zero=any(nz is not None for _, nz in saved))
        view = grad.view(M // S, S, inputs_, H)
        for s, (x_c, nz) in enumerate(saved):
            dw = (x_c.t() @ per_seed[s]).view(-1, M // S, H)  # (columns, m, H)
            if nz is None:
                view[:, s].copy_(dw.transpose(0, 1))
            else:
                view[:, s].transpose(0, 1).index_copy_(0, nz, dw.float())
        return grad

    def _fused_loss_and_grads(self, params: Sequence[Tensor], xs: Sequence[Tensor], target: Tensor,
                              kind: str, out: Tensor | None = None) -> tuple[Tensor, list[Tensor]]:
        """:meth:`loss_and_grads` without dropout, its elementwise sections compiled (:class:`_Fused`)."""
        w1, b1 = params[0], params[1]
        rest = [(params[i], params[i + 1]) for i in range(2, len(params), 2)]
        first = self._interleaved
        if first:  # layer 1's GEMM outputs go straight into the compiled section
            outs, saved = self._first_gemms(w1, xs)
        else:
            z, saved_first = self._first_layer(w1, None, xs, self.seed_runs)
        slopes, inputs, weights = [], [], []  # per hidden layer: f'(z), the activation, the weights (compute dtype)
        b = b1
        for k, (w, b_next) in enumerate(rest):
            slope, h_c = self._fused_first(outs, b) if first and k == 0 else self._fused_forward(z, b)
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
            if first and k == 0:
                grads[1], per_seed = self._fused_first_backward(slopes[0], dh)
                grads[0] = self._first_grads(w1.shape, saved, per_seed, out)
                return losses, grads
            d, d_sum, d_c = self._fused_backward(slopes[k], dh)
        grads[0] = self._first_layer_grad(d, w1.shape, saved_first, self.seed_runs, out)
        grads[1] = d_sum
        return losses, grads
