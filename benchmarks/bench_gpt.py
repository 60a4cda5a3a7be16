"""The gpt arm (actlab's sequential engine) vs a plain nanoGPT-style PyTorch loop, tokens/s side by side.

    PYTHONPATH=src python benchmarks/bench_gpt.py [--act gelu] [--steps 10] [--rounds 5] [--json OUT]

Both sides train the same configuration on the kjv corpus: 4 layers, 4 heads, 128 dims, context 64, batch 12,
Adam 1e-3, float32, the FFN's activation ``--act`` (gated units as Linear(d, 2h) → value·act(gate)), one thread
unless OMP_NUM_THREADS says otherwise.  actlab's side is :class:`actlab.train.sequential.SingleRun` — the model
from the one builder, its batches from ``lm_batch`` (random contiguous windows), the step the engine takes under
the driver.  The plain side is the loop nanoGPT's ``train.py`` runs: its own GPT module written out here (the
same layers, torch's native activation), ``torch.randint`` windows, ``zero_grad`` / ``backward`` / ``step``.
Rounds alternate the two sides (``--steps`` steps each after a warm-up), so a change of load touches both alike;
printed: tokens/s of each side per round and the median of the per-round ratios actlab / plain (≥ 1: actlab is
at least as fast).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

import actlab.data
from actlab.train import RunSpec, TrainConfig
from actlab.train.prepared import prepare
from actlab.train.sequential import SingleRun

DEPTH, WIDTH, HEADS, CONTEXT, BATCH, LR = 4, 128, 4, 64, 12, 1e-3
NATIVE = {"gelu": F.gelu, "relu": F.relu, "silu": F.silu}
GATED = {"swiglu": F.silu, "geglu": F.gelu, "reglu": F.relu}


class PlainBlock(nn.Module):
    """nanoGPT's Block with the FFN activation as a plain function (gated: value · act(gate))."""

    def __init__(self, act: str, hidden: int):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(WIDTH), nn.LayerNorm(WIDTH)
        self.c_attn, self.c_proj = nn.Linear(WIDTH, 3 * WIDTH), nn.Linear(WIDTH, WIDTH)
        self.gated = act in GATED
        self.act = GATED.get(act) or NATIVE[act]
        self.c_fc = nn.Linear(WIDTH, hidden * (2 if self.gated else 1))
        self.c_out = nn.Linear(hidden, WIDTH)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, HEADS, c // HEADS).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, c)
        x = x + self.c_proj(y)
        h = self.c_fc(self.ln_2(x))
        if self.gated:
            value, gate = h.chunk(2, dim=-1)
            h = value * self.act(gate)
        else:
            h = self.act(h)
        return x + self.c_out(h)


class PlainGPT(nn.Module):
    def __init__(self, act: str, vocabulary: int, hidden: int):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocabulary, WIDTH), nn.Embedding(CONTEXT, WIDTH)
        self.blocks = nn.ModuleList(PlainBlock(act, hidden) for _ in range(DEPTH))
        self.ln_f = nn.LayerNorm(WIDTH)
        self.lm_head = nn.Linear(WIDTH, vocabulary, bias=False)
        self.lm_head.weight = self.wte.weight

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.blocks:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


def plain_steps(model, optimizer, tokens, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        ix = torch.randint(len(tokens) - CONTEXT, (BATCH,))
        x = torch.stack([tokens[i:i + CONTEXT] for i in ix])
        y = torch.stack([tokens[i + 1:i + 1 + CONTEXT] for i in ix])
        loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--act", default="gelu", choices=sorted({*NATIVE, *GATED}))
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the result here (docs/benchmarks/gpt.json)")
    args = parser.parse_args()
    torch.manual_seed(0)
    dataset = actlab.data.load("kjv", context=CONTEXT)
    config = TrainConfig(model="gpt", depth=DEPTH, width=WIDTH, heads=HEADS, batch_size=BATCH, lr=LR, steps=10**6,
                         precision="fp32", match_to="gelu")
    data = prepare(dataset, "gpt")
    engine = SingleRun(data, config, RunSpec(args.act, 0))
    hidden = engine.model.blocks[0].mlp.down.in_features  # the parameter-matched FFN width the builder chose
    plain = PlainGPT(args.act, dataset.num_classes, hidden)
    optimizer = torch.optim.Adam(plain.parameters(), lr=LR)
    tokens = torch.as_tensor(dataset.extra["train_tokens"]).long()
    counts = {"actlab": sum(p.numel() for p in engine.model.parameters()),
              "plain": sum(p.numel() for p in plain.parameters())}
    engine.train_steps(2)  # warm-up both
    plain_steps(plain, optimizer, tokens, 2)
    per_step = BATCH * CONTEXT
    rows, ratios = [], []
    for r in range(args.rounds):
        order = ("actlab", "plain") if r % 2 == 0 else ("plain", "actlab")
        seconds = {}
        for side in order:
            if side == "actlab":
                start = time.perf_counter()
                engine.train_steps(args.steps)
                seconds[side] = time.perf_counter() - start
            else:
                seconds[side] = plain_steps(plain, optimizer, tokens, args.steps)
        speed = {side: args.steps * per_step / seconds[side] for side in seconds}
        ratios.append(speed["actlab"] / speed["plain"])
        rows.append([str(r + 1), f"{speed['actlab']:,.0f}", f"{speed['plain']:,.0f}", f"{ratios[-1]:.3f}"])
        print(f"round {r + 1}: actlab {speed['actlab']:,.0f} tokens/s, plain {speed['plain']:,.0f} tokens/s, "
              f"ratio {ratios[-1]:.3f}", flush=True)
    median = statistics.median(ratios)
    print(f"median ratio actlab / plain: {median:.3f} ({args.act}; parameters {counts['actlab']:,} vs "
          f"{counts['plain']:,}; FFN hidden {hidden})")
    if args.json:
        load = os.getloadavg() if hasattr(os, "getloadavg") else None
        result = {
            "order": 18, "title": "The gpt arm against a plain nanoGPT-style loop",
            "date": time.strftime("%Y-%m-%d", time.gmtime()),
            "machine": f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} torch thread(s)",
            "load": None if load is None else f"{load[0]:.1f} (1-minute load average at the end)",
            "torch": torch.__version__,
            "command": f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')} PYTHONPATH=src python "
                       f"benchmarks/bench_gpt.py --act {args.act} --steps {args.steps} --rounds {args.rounds}",
            "what": (f"{DEPTH} layers, {HEADS} heads, {WIDTH} dims, context {CONTEXT}, batch {BATCH}, Adam {LR:g}, "
                     f"float32, FFN activation {args.act} (hidden {hidden}); actlab's sequential engine step against "
                     "nanoGPT's loop written out in plain PyTorch, alternating rounds of "
                     f"{args.steps} steps; tokens/s = steps × batch × context / seconds."),
            "tables": [{"columns": ["round", "actlab tokens/s", "plain tokens/s", "actlab / plain"], "rows": rows}],
            "notes": f"median ratio actlab / plain: {median:.3f}; parameters {counts['actlab']:,} (actlab) vs "
                     f"{counts['plain']:,} (plain).",
        }
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1, ensure_ascii=False)
            handle.write("\n")


if __name__ == "__main__":
    main()
