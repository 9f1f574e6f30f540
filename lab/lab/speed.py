"""Training throughput of the loop's batch layouts on real data, measured side by side.

    python -m lab.speed --task summarize --data dialogsum-names --examples 8 --rounds 3 --threads 1

Loads the base with a rank-16 LoRA, encodes `--examples` seeded training examples and times one
training step over them (forward, target-only loss, backward; no optimizer) in each layout of
`--layouts` ("1x8,4x2" = batch size x micro-batches; the micro-batches are what lab.loop.StepBatches
makes, length-bucketed when the batch size is above 1), alternating the layouts every round so that
load from other processes falls on all alike. Prints all-tokens/s and target-tokens/s per layout
and round as JSON lines, then the medians. Real tokens only: padding counts as cost, not as tokens.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from lab.batching import collate, example_losses
from lab.loop import LoopConfig, StepBatches, autocast
from lab.train_lora import encode_split


def layouts(spec: str, examples: int) -> list[tuple[int, int, str]]:
    """ "1x8,4x2,1x8:bf16" -> [(1, 8, "fp32"), (4, 2, "fp32"), (1, 8, "bf16")]."""
    out = []
    for part in spec.split(","):
        shape, _, precision = part.lower().partition(":")
        b, m = (int(x) for x in shape.split("x"))
        if b * m != examples:
            raise SystemExit(f"layout {part}: {b} x {m} is not the {examples} examples")
        out.append((b, m, precision or "fp32"))
    return out


def step_time(model, data, batch: int, micro: int, pad_id: int, precision: str) -> tuple[float, int, float]:
    """Seconds for one step of the loop over `data` in this layout, its padded token count, and the
    step's mean example loss."""
    cfg = LoopConfig(batch_size=batch, grad_accum=micro, bucket_steps=1, precision=precision)
    batches = StepBatches([len(e.input_ids) for e in data], cfg).of_step(0)
    t0 = time.perf_counter()
    padded, loss = 0, 0.0
    for idx in batches:
        chunk = [data[i] for i in idx]
        with autocast(cfg):
            losses, _ = example_losses(model, collate(chunk, pad_id))
        (losses.sum() / len(data)).backward()
        padded += len(chunk) * max(len(e.input_ids) for e in chunk)
        loss += float(losses.detach().sum()) / len(data)
    dt = time.perf_counter() - t0
    model.zero_grad(set_to_none=True)
    return dt, padded, loss


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="summarize")
    ap.add_argument("--data", default=None, help="a named data set (default: the shipped data)")
    ap.add_argument("--examples", type=int, default=8)
    ap.add_argument("--layouts", default="1x8,4x2,1x8:bf16", help="batch x micro-batches[:fp32|bf16], ...")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-len", type=int, default=320)
    ap.add_argument("--max-target", type=int, default=96)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--base", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    wanted = layouts(args.layouts, args.examples)

    from peft import LoraConfig, get_peft_model

    from lab.base import load_base
    from lab.lora import PEFT_TARGETS

    base = load_base(args.base)
    tok = base.tokenizer
    data = encode_split(
        tok, args.task, "train", args.examples, args.seed, args.max_len, args.max_target, args.data
    )
    model = get_peft_model(base.model, LoraConfig(r=16, lora_alpha=32, target_modules=PEFT_TARGETS))
    model.train()
    tokens = sum(len(e.input_ids) for e in data)
    targets = sum(e.n_target for e in data)
    runs: dict[str, list[float]] = {f"{b}x{m}:{p}": [] for b, m, p in wanted}
    losses: dict[str, float] = {}
    for p in {p for _, _, p in wanted}:
        step_time(model, data[:1], 1, 1, tok.pad_token_id, p)  # warm-up
    for r in range(args.rounds):
        for b, m, p in wanted if r % 2 == 0 else wanted[::-1]:
            dt, padded, loss = step_time(model, data, b, m, tok.pad_token_id, p)
            key = f"{b}x{m}:{p}"
            runs[key].append(dt)
            losses[key] = round(loss, 4)
            row = {"round": r, "layout": key, "s": round(dt, 2), "tok_s": round(tokens / dt, 1)}
            row |= {"target_tok_s": round(targets / dt, 1), "padding": round(1 - tokens / padded, 3)}
            print(json.dumps(row | {"loss": round(loss, 4)}), flush=True)
    summary = {
        "task": args.task,
        "data": args.data or "shipped",
        "examples": args.examples,
        "tokens": tokens,
        "target_tokens": targets,
        "threads": args.threads,
        "median": {
            k: {
                "tok_s": round(tokens / statistics.median(v), 1),
                "target_tok_s": round(targets / statistics.median(v), 1),
            }
            for k, v in runs.items()
        },
        "loss": losses,
    }
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
